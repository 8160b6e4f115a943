"""Price transforms and midpoints: AVGPRICE, MEDPRICE, TYPPRICE, WCLPRICE, MIDPOINT, MIDPRICE, ACCBANDS.

Each is written once as an update over a small float64 state and follows TA-Lib 0.8's arithmetic to the
last bit: the per-bar prices sum their terms in TA-Lib's order, the midpoints take the rolling extremes
by blocks (van Herk / Gil-Werman, as ``donchian``, in a loop without data-dependent branches), and the
acceleration bands are three SMAs with the SMA's running sum.
"""

from __future__ import annotations

import numpy as np
from numba import njit

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
# (MIDPRICE). The rolling extremes by blocks of `period` bars (van Herk / Gil-Werman, made causal): the
# window ending at a bar is the current block up to that bar, whose running extremes are kept, plus the
# tail of the previous block, whose suffix extremes are computed once when that block completes. The
# loop runs block by block, so a bar costs a few comparisons with no branch on the data or on its place
# in the block (the running extremes restart from -inf / +inf at each block, and a sentinel after the
# suffixes stands for the empty tail at a block's last bar). A block that begins within a call is read
# from the bars themselves; only one left unfinished at the end of a call is copied to the state, where
# the next call finds it. Any order of comparisons finds the same extremes, so the values are TA-Lib's
# exactly. State: bars seen, position in the block, the running highest and lowest, then the block's
# highs, their suffix maxima (+ sentinel), its lows and their suffix minima (+ sentinel).
_MP_COUNT = 0
_MP_POS = 1
_MP_HIGH = 2
_MP_LOW = 3
_MP_RINGS = 4


@njit(cache=True, error_model="numpy")
def _midpoint_init(params):
    size = int(params[0])
    state = np.zeros(_MP_RINGS + 4 * size + 2)
    rings = state[_MP_RINGS:]
    state[_MP_HIGH] = -np.inf
    state[_MP_LOW] = np.inf
    rings[size : 2 * size + 1] = -np.inf  # no previous block yet: its tail holds nothing
    rings[3 * size + 1 :] = np.inf
    return state


@njit(cache=True, error_model="numpy", inline="always")
def _midpoint_bar(high, low, highest, lowest, tail_high, tail_low):
    """One bar: the block's running extremes with it, and the window's midpoint."""
    highest = high if high > highest else highest
    lowest = low if low < lowest else lowest
    top = tail_high if tail_high > highest else highest
    bottom = tail_low if tail_low < lowest else lowest
    return highest, lowest, (top + bottom) / 2.0


@njit(cache=True, error_model="numpy", inline="always")
def _midpoint_run(state, params, bars, out, high_col, low_col):
    n = params[0]
    size = int(n)
    rings = state[_MP_RINGS:]
    hi_block, hi_suffix = rings[:size], rings[size : 2 * size + 1]
    lo_block, lo_suffix = rings[2 * size + 1 : 3 * size + 1], rings[3 * size + 1 :]
    count, pos = state[_MP_COUNT], int(state[_MP_POS])
    highest, lowest = state[_MP_HIGH], state[_MP_LOW]
    rows = bars.shape[0]
    row = 0
    if pos > 0:  # finish the block an earlier call began: its first bars are in the state
        stop = min(rows, size - pos)
        for r in range(stop):
            high, low = bars[r, high_col], bars[r, low_col]
            hi_block[pos], lo_block[pos] = high, low
            highest, lowest, out[r, 0] = _midpoint_bar(
                high, low, highest, lowest, hi_suffix[pos + 1], lo_suffix[pos + 1]
            )
            pos += 1
        row = stop
        if pos == size:
            top, bottom = -np.inf, np.inf
            for j in range(size - 1, -1, -1):
                top = max(top, hi_block[j])
                bottom = min(bottom, lo_block[j])
                hi_suffix[j], lo_suffix[j] = top, bottom
            pos = 0
            highest, lowest = -np.inf, np.inf
    while row < rows:  # blocks that begin in this call, read where they are
        stop = min(rows, row + size)
        for r in range(row, stop):
            p = r - row + 1
            highest, lowest, out[r, 0] = _midpoint_bar(
                bars[r, high_col], bars[r, low_col], highest, lowest, hi_suffix[p], lo_suffix[p]
            )
        if stop - row == size:
            top, bottom = -np.inf, np.inf
            for r in range(stop - 1, row - 1, -1):
                top = max(top, bars[r, high_col])
                bottom = min(bottom, bars[r, low_col])
                hi_suffix[r - row], lo_suffix[r - row] = top, bottom
            highest, lowest = -np.inf, np.inf
        else:  # unfinished: kept for the next call
            for r in range(row, stop):
                hi_block[r - row], lo_block[r - row] = bars[r, high_col], bars[r, low_col]
            pos = stop - row
        row = stop
    # Warm-up bars were computed over the bars so far like any other; their values are replaced here.
    for r in range(min(rows, max(0, int(n - 1.0 - count)))):
        out[r, 0] = np.nan
    state[_MP_COUNT], state[_MP_POS] = count + rows, pos
    state[_MP_HIGH], state[_MP_LOW] = highest, lowest


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
