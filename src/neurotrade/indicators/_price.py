"""Price transforms and midpoints: AVGPRICE, MEDPRICE, TYPPRICE, WCLPRICE, MIDPOINT, MIDPRICE, ACCBANDS.

Each is written once as an update over a small float64 state and follows TA-Lib 0.8's arithmetic to the
last bit: the per-bar prices sum their terms in TA-Lib's order, the midpoints take the rolling extremes
by blocks (van Herk / Gil-Werman, as ``donchian``), and the acceleration bands are three SMAs with the
SMA's running sum.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._channels import _window_max
from neurotrade.indicators._params import period
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []


# --- AVGPRICE / MEDPRICE / TYPPRICE / WCLPRICE ----------------------------------------------------
# No state: each bar's value is a fixed mean of its own prices.
@njit(cache=True, error_model="numpy")
def _no_state(params):
    return np.zeros(1)


@njit(cache=True, error_model="numpy")
def _avgprice_update(state, params, bars, out):
    for row in range(bars.shape[0]):
        o, h, lo, c = bars[row, 0], bars[row, 1], bars[row, 2], bars[row, 3]
        out[row, 0] = (h + lo + c + o) / 4.0


@njit(cache=True, error_model="numpy")
def _medprice_update(state, params, bars, out):
    for row in range(bars.shape[0]):
        out[row, 0] = (bars[row, 0] + bars[row, 1]) / 2.0


@njit(cache=True, error_model="numpy")
def _typprice_update(state, params, bars, out):
    for row in range(bars.shape[0]):
        out[row, 0] = (bars[row, 0] + bars[row, 1] + bars[row, 2]) / 3.0


@njit(cache=True, error_model="numpy")
def _wclprice_update(state, params, bars, out):
    for row in range(bars.shape[0]):
        out[row, 0] = (bars[row, 0] + bars[row, 1] + bars[row, 2] * 2.0) / 4.0


# --- MIDPOINT / MIDPRICE --------------------------------------------------------------------------
# (highest + lowest) / 2 over `period` bars: of the close (MIDPOINT) or of the high and the low
# (MIDPRICE). State: bars seen, position in the block, the block maxima of the highs and of the
# negated lows, then the ring and suffix maxima of each (the layout of `donchian`).
_MP_COUNT = 0
_MP_POS = 1
_MP_HIGH = 2
_MP_LOW = 3
_MP_RINGS = 4


@njit(cache=True, error_model="numpy")
def _midpoint_init(params):
    return np.zeros(_MP_RINGS + 4 * int(params[0]))


@njit(cache=True, error_model="numpy", inline="always")
def _midpoint_run(state, params, bars, out, high_col, low_col):
    n = params[0]
    size = int(n)
    rings = state[_MP_RINGS:]
    hi_ring, hi_suffix = rings[:size], rings[size : 2 * size]
    lo_ring, lo_suffix = rings[2 * size : 3 * size], rings[3 * size :]
    count, pos = state[_MP_COUNT], int(state[_MP_POS])
    hi_prefix, lo_prefix = state[_MP_HIGH], state[_MP_LOW]
    for row in range(bars.shape[0]):
        t = count
        count += 1.0
        _, hi_prefix, highest = _window_max(hi_ring, hi_suffix, pos, hi_prefix, bars[row, high_col])
        pos, lo_prefix, lowest = _window_max(lo_ring, lo_suffix, pos, lo_prefix, -bars[row, low_col])
        out[row, 0] = (highest - lowest) / 2.0 if t >= n - 1.0 else np.nan
    state[_MP_COUNT], state[_MP_POS] = count, pos
    state[_MP_HIGH], state[_MP_LOW] = hi_prefix, lo_prefix


@njit(cache=True, error_model="numpy")
def _midpoint_update(state, params, bars, out):
    _midpoint_run(state, params, bars, out, 0, 0)


@njit(cache=True, error_model="numpy")
def _midprice_update(state, params, bars, out):
    _midpoint_run(state, params, bars, out, 0, 1)


# --- ACCBANDS -------------------------------------------------------------------------------------
# Headley's acceleration bands: SMAs of high * (1 + 4 (h - l) / (h + l)), of the close and of
# low * (1 - 4 (h - l) / (h + l)), each with the `sma` kernel's running sum. State: bars seen, ring
# head, the three sums, then the three rings.
_AB_COUNT = 0
_AB_HEAD = 1
_AB_SUMS = 2
_AB_RINGS = 5


@njit(cache=True, error_model="numpy")
def _accbands_init(params):
    return np.zeros(_AB_RINGS + 3 * int(params[0]))


@njit(cache=True, error_model="numpy")
def _accbands_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    rings = state[_AB_RINGS:]
    count, head = state[_AB_COUNT], int(state[_AB_HEAD])
    sum_up, sum_mid, sum_low = state[_AB_SUMS], state[_AB_SUMS + 1], state[_AB_SUMS + 2]
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        spread = 4.0 * (high - low) / (high + low)
        up, low_band = high * (1.0 + spread), low * (1.0 - spread)
        rings[head], rings[size + head], rings[2 * size + head] = up, close, low_band
        head = head + 1 if head + 1 < size else 0
        sum_up += up
        sum_mid += close
        sum_low += low_band
        if count < n - 1.0:
            out[row, 0] = np.nan
            out[row, 1] = np.nan
            out[row, 2] = np.nan
        else:
            out[row, 0] = sum_up / n
            out[row, 1] = sum_mid / n
            out[row, 2] = sum_low / n
            # The window's oldest values sit where the next bar will be written.
            sum_up -= rings[head]
            sum_mid -= rings[size + head]
            sum_low -= rings[2 * size + head]
        count += 1.0
    state[_AB_COUNT], state[_AB_HEAD] = count, head
    state[_AB_SUMS], state[_AB_SUMS + 1], state[_AB_SUMS + 2] = sum_up, sum_mid, sum_low


_PER_BAR = "each bar's own prices, so it has no warm-up"

register(
    IndicatorInfo(
        name="avgprice",
        description="Average price: the mean of the bar's open, high, low and close.",
        params=(),
        inputs=("open", "high", "low", "close"),
        outputs=("avgprice",),
        talib="AVGPRICE",
        definition=f"(high + low + close + open) / 4 of {_PER_BAR}.",
    ),
    init=_no_state,
    update=_avgprice_update,
    lookback=lambda p: 0,
    talib_args={},
)

register(
    IndicatorInfo(
        name="medprice",
        description="Median price: the middle of the bar's range.",
        params=(),
        inputs=("high", "low"),
        outputs=("medprice",),
        talib="MEDPRICE",
        definition=f"(high + low) / 2 of {_PER_BAR}.",
    ),
    init=_no_state,
    update=_medprice_update,
    lookback=lambda p: 0,
    talib_args={},
)

register(
    IndicatorInfo(
        name="typprice",
        description="Typical price: the mean of the bar's high, low and close.",
        params=(),
        inputs=("high", "low", "close"),
        outputs=("typprice",),
        talib="TYPPRICE",
        definition=f"(high + low + close) / 3 of {_PER_BAR}.",
    ),
    init=_no_state,
    update=_typprice_update,
    lookback=lambda p: 0,
    talib_args={},
)

register(
    IndicatorInfo(
        name="wclprice",
        description="Weighted close price: the bar's high, low and twice its close, averaged.",
        params=(),
        inputs=("high", "low", "close"),
        outputs=("wclprice",),
        talib="WCLPRICE",
        definition=f"(high + low + 2 * close) / 4 of {_PER_BAR}.",
    ),
    init=_no_state,
    update=_wclprice_update,
    lookback=lambda p: 0,
    talib_args={},
)

register(
    IndicatorInfo(
        name="midpoint",
        description="Midpoint: halfway between the highest and the lowest close of the last `period` bars.",
        params=(period(14),),
        inputs=("close",),
        outputs=("midpoint",),
        talib="MIDPOINT",
        definition="(max(close) + min(close)) / 2 over the last `period` bars.",
    ),
    init=_midpoint_init,
    update=_midpoint_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="midprice",
        description="Midpoint price: halfway between the highest high and the lowest low of the last `period` bars.",
        params=(period(14),),
        inputs=("high", "low"),
        outputs=("midprice",),
        talib="MIDPRICE",
        definition="(max(high) + min(low)) / 2 over the last `period` bars.",
    ),
    init=_midpoint_init,
    update=_midprice_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="accbands",
        description="Acceleration bands: SMAs of the high and the low pushed apart by the bar's relative range.",
        params=(period(20),),
        inputs=("high", "low", "close"),
        outputs=("upper", "middle", "lower"),
        talib="ACCBANDS",
        definition="upper = SMA(high * (1 + 4 (high - low) / (high + low))), middle = SMA(close), lower = "
        "SMA(low * (1 - 4 (high - low) / (high + low))) over `period` bars (Price Headley, Big Trends in "
        "Trading, 2002).",
    ),
    init=_accbands_init,
    update=_accbands_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)
