"""The Lorentzian classifier's normalised features: its RSI, WaveTrend, CCI and ADX.

Justin Dehorty's "Machine Learning: Lorentzian Classification" (TradingView, 2022) feeds its nearest-neighbour
classifier with features from his MLExtensions library: ``n_rsi``, ``n_wt``, ``n_cci`` and ``n_adx``. Each
squeezes a classic oscillator into [0, 1], either by a fixed ``rescale`` (RSI and ADX, from 0-100) or by
``normalize``, which divides by the range of every value seen so far (WaveTrend and CCI): that makes those two
depend on where the history starts, as they do in the script, although each value still depends only on the
bars up to its own. They are written once as updates over a small float64 state, from the published Pine
definitions, with the conventions stated in each ``definition``. Exponential averages are seeded with the mean
of their first inputs (``_composite._ema``), the RSI is the `rsi` indicator's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._common import true_range
from neurotrade.indicators._composite import _ema
from neurotrade.indicators._ehlers import FLAT
from neurotrade.indicators._momentum import rsi_next
from neurotrade.indicators._params import MAX_PERIOD, Param, period
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []

_SPAN = 1e-9  # normalize()'s floor on the range, 10e-10 in the script
_SIGNAL = 4  # n_wt's SMA of wt1


@njit(cache=True, error_model="numpy", inline="always")
def _normalize(value, low, high):
    """MLExtensions' ``normalize(src, 0, 1)``: the value within the range of all values so far."""
    low = min(low, value)
    high = max(high, value)
    return (value - low) / max(high - low, _SPAN), low, high


# --- n_rsi ----------------------------------------------------------------------------------------
# State: bars seen, previous close, Wilder's average gain and loss, (seen, sum, value) of the EMA.
_NR_COUNT = 0
_NR_PREV = 1
_NR_GAIN = 2
_NR_LOSS = 3
_NR_EMA = 4


@njit(cache=True, error_model="numpy")
def _n_rsi_init(params):
    return np.zeros(_NR_EMA + 3)


@njit(cache=True, error_model="numpy")
def _n_rsi_update(state, params, bars, out):
    n, m = params[0], params[1]
    inverse, alpha = 1.0 / n, 2.0 / (m + 1.0)
    count, prev, gain, loss = state[_NR_COUNT], state[_NR_PREV], state[_NR_GAIN], state[_NR_LOSS]
    e_seen, e_sum, e_value = state[_NR_EMA], state[_NR_EMA + 1], state[_NR_EMA + 2]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        if t == 0.0:
            prev = x
            continue
        prev, gain, loss, rsi = rsi_next(t, n, inverse, prev, gain, loss, x)
        if np.isnan(rsi):
            continue
        e_seen, e_sum, e_value, smooth = _ema(e_seen, e_sum, e_value, m, alpha, rsi)
        out[row, 0] = smooth / 100.0
    state[_NR_COUNT], state[_NR_PREV], state[_NR_GAIN], state[_NR_LOSS] = count, prev, gain, loss
    state[_NR_EMA], state[_NR_EMA + 1], state[_NR_EMA + 2] = e_seen, e_sum, e_value


# --- n_cci ----------------------------------------------------------------------------------------
# State: bars seen, ring head, (seen, sum, value) of the EMA, the lowest and highest smoothed CCI so
# far, then a ring of the last `period` closes.
_NC_COUNT = 0
_NC_HEAD = 1
_NC_EMA = 2
_NC_LOW = 5
_NC_HIGH = 6
_NC_RING = 7


@njit(cache=True, error_model="numpy")
def _n_cci_init(params):
    state = np.zeros(_NC_RING + int(params[0]))
    state[_NC_LOW], state[_NC_HIGH] = np.inf, -np.inf
    return state


@njit(cache=True, error_model="numpy")
def _n_cci_update(state, params, bars, out):
    n, m = params[0], params[1]
    size = int(n)
    alpha = 2.0 / (m + 1.0)
    ring = state[_NC_RING:]
    count, head = state[_NC_COUNT], int(state[_NC_HEAD])
    e_seen, e_sum, e_value = state[_NC_EMA], state[_NC_EMA + 1], state[_NC_EMA + 2]
    low, high = state[_NC_LOW], state[_NC_HIGH]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1.0
        ring[head] = x
        head = head + 1 if head + 1 < size else 0
        out[row, 0] = np.nan
        if t < n - 1.0:
            continue
        total = 0.0
        for i in range(size):
            slot = head + i
            total += ring[slot - size if slot >= size else slot]
        mean = total / n
        spread = 0.0
        for i in range(size):
            slot = head + i
            spread += np.abs(ring[slot - size if slot >= size else slot] - mean)
        deviation = spread / n
        # A flat window leaves only rounding in x - mean and its deviation: its CCI is 0.
        cci = (x - mean) / (0.015 * deviation) if deviation > FLAT * np.abs(mean) else 0.0
        e_seen, e_sum, e_value, smooth = _ema(e_seen, e_sum, e_value, m, alpha, cci)
        if np.isnan(smooth):
            continue
        out[row, 0], low, high = _normalize(smooth, low, high)
    state[_NC_COUNT], state[_NC_HEAD] = count, head
    state[_NC_EMA], state[_NC_EMA + 1], state[_NC_EMA + 2] = e_seen, e_sum, e_value
    state[_NC_LOW], state[_NC_HIGH] = low, high


# --- n_wt -----------------------------------------------------------------------------------------
# LazyBear's WaveTrend of the typical price (as `wavetrend`), wt1 - SMA(wt1, 4), normalised. State:
# bars seen, (seen, sum, value) of the three EMAs, the number of wt1 values, ring head, the lowest
# and highest difference so far, then a ring of the last 4 wt1 values.
_NW_COUNT = 0
_NW_ESA = 1
_NW_D = 4
_NW_TCI = 7
_NW_SEEN = 10
_NW_HEAD = 11
_NW_LOW = 12
_NW_HIGH = 13
_NW_RING = 14


@njit(cache=True, error_model="numpy")
def _n_wt_init(params):
    state = np.zeros(_NW_RING + _SIGNAL)
    state[_NW_LOW], state[_NW_HIGH] = np.inf, -np.inf
    return state


@njit(cache=True, error_model="numpy")
def _n_wt_update(state, params, bars, out):
    channel, average = params[0], params[1]
    a_channel, a_average = 2.0 / (channel + 1.0), 2.0 / (average + 1.0)
    ring = state[_NW_RING:]
    count, seen, head = state[_NW_COUNT], state[_NW_SEEN], int(state[_NW_HEAD])
    e_seen, e_sum, esa = state[_NW_ESA], state[_NW_ESA + 1], state[_NW_ESA + 2]
    d_seen, d_sum, d = state[_NW_D], state[_NW_D + 1], state[_NW_D + 2]
    c_seen, c_sum, tci = state[_NW_TCI], state[_NW_TCI + 1], state[_NW_TCI + 2]
    low, high = state[_NW_LOW], state[_NW_HIGH]
    for row in range(bars.shape[0]):
        ap = (bars[row, 0] + bars[row, 1] + bars[row, 2]) / 3.0
        count += 1.0
        out[row, 0] = np.nan
        e_seen, e_sum, esa, esa_out = _ema(e_seen, e_sum, esa, channel, a_channel, ap)
        if np.isnan(esa_out):
            continue
        d_seen, d_sum, d, d_out = _ema(d_seen, d_sum, d, channel, a_channel, np.abs(ap - esa))
        if np.isnan(d_out):
            continue
        ci = (ap - esa) / (0.015 * d) if d > FLAT * np.abs(esa) else 0.0
        c_seen, c_sum, tci, wt1 = _ema(c_seen, c_sum, tci, average, a_average, ci)
        if np.isnan(wt1):
            continue
        ring[head] = wt1
        head = head + 1 if head + 1 < _SIGNAL else 0
        seen += 1.0
        if seen < _SIGNAL:
            continue
        total = 0.0
        for i in range(_SIGNAL):
            slot = head + i
            total += ring[slot - _SIGNAL if slot >= _SIGNAL else slot]
        out[row, 0], low, high = _normalize(wt1 - total / _SIGNAL, low, high)
    state[_NW_COUNT], state[_NW_SEEN], state[_NW_HEAD] = count, seen, head
    state[_NW_ESA], state[_NW_ESA + 1], state[_NW_ESA + 2] = e_seen, e_sum, esa
    state[_NW_D], state[_NW_D + 1], state[_NW_D + 2] = d_seen, d_sum, d
    state[_NW_TCI], state[_NW_TCI + 1], state[_NW_TCI + 2] = c_seen, c_sum, tci
    state[_NW_LOW], state[_NW_HIGH] = low, high


# --- n_adx ----------------------------------------------------------------------------------------
# The script's own ADX: Wilder's running sums (s - s / n + x, from 0) of the true range and of the
# directional movements, DX from them, and Pine's ta.rma of DX (the mean of its first n values, then
# x / n + (1 - 1 / n) * rma). State: bars seen, previous high, low and close, the three sums, the
# RMA and its seeding sum.
_NA_COUNT = 0
_NA_HIGH = 1
_NA_LOW = 2
_NA_CLOSE = 3
_NA_TR = 4
_NA_PLUS = 5
_NA_MINUS = 6
_NA_RMA = 7
_NA_SUM = 8


@njit(cache=True, error_model="numpy")
def _n_adx_init(params):
    return np.zeros(_NA_SUM + 1)


@njit(cache=True, error_model="numpy")
def _n_adx_update(state, params, bars, out):
    n = params[0]
    alpha = 1.0 / n
    count, prev_high, prev_low, prev_close = state[_NA_COUNT], state[_NA_HIGH], state[_NA_LOW], state[_NA_CLOSE]
    tr_sum, plus_sum, minus_sum = state[_NA_TR], state[_NA_PLUS], state[_NA_MINUS]
    rma, seed = state[_NA_RMA], state[_NA_SUM]
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        if t > 0.0:
            up, down = high - prev_high, prev_low - low
            plus = max(up, 0.0) if up > down else 0.0
            minus = max(down, 0.0) if down > up else 0.0
            tr_sum = tr_sum - tr_sum / n + true_range(high, low, prev_close)
            plus_sum = plus_sum - plus_sum / n + plus
            minus_sum = minus_sum - minus_sum / n + minus
            di_plus = plus_sum / tr_sum * 100.0 if tr_sum > 0.0 else 0.0
            di_minus = minus_sum / tr_sum * 100.0 if tr_sum > 0.0 else 0.0
            both = di_plus + di_minus
            dx = np.abs(di_plus - di_minus) / both * 100.0 if both > 0.0 else 0.0
            if t <= n:
                seed += dx
                if t == n:
                    rma = seed / n
                    out[row, 0] = rma / 100.0
            else:
                rma = alpha * dx + (1.0 - alpha) * rma
                out[row, 0] = rma / 100.0
        prev_high, prev_low, prev_close = high, low, close
    state[_NA_COUNT], state[_NA_HIGH], state[_NA_LOW], state[_NA_CLOSE] = count, prev_high, prev_low, prev_close
    state[_NA_TR], state[_NA_PLUS], state[_NA_MINUS] = tr_sum, plus_sum, minus_sum
    state[_NA_RMA], state[_NA_SUM] = rma, seed


def _smooth(default: int) -> Param:
    return Param("smooth", int, default, 1, MAX_PERIOD, "bars in the EMA over the oscillator (1: none)")


_SOURCE = (
    "Justin Dehorty, Machine Learning: Lorentzian Classification, TradingView, 2022, features from his "
    "MLExtensions library"
)

register(
    IndicatorInfo(
        name="lorentzian_rsi",
        description="The Lorentzian classifier's RSI feature: an EMA of the RSI rescaled to 0-1.",
        params=(period(14, "bars in the RSI"), _smooth(1)),
        inputs=("close",),
        outputs=("rsi",),
        bounds={"rsi": (0.0, 1.0)},
        talib=None,
        definition=f"n_rsi: EMA(RSI(close, period), smooth) / 100, the RSI being the `rsi` indicator's ({_SOURCE}; "
        "the script's defaults are RSI(14, 1) and RSI(9, 1)).",
    ),
    init=_n_rsi_init,
    update=_n_rsi_update,
    lookback=lambda p: int(p["period"]) + int(p["smooth"]) - 1,
)

register(
    IndicatorInfo(
        name="lorentzian_cci",
        description="The Lorentzian classifier's CCI feature: an EMA of the close's CCI within its range so far.",
        params=(period(20, "bars in the CCI"), _smooth(1)),
        inputs=("close",),
        outputs=("cci",),
        bounds={"cci": (0.0, 1.0)},
        talib=None,
        definition="n_cci: v = EMA(CCI(close, period), smooth), with CCI = (close - SMA) / (0.015 * mean absolute "
        "deviation) over `period` closes (0 for a flat window), then (v - min) / max(max - min, 1e-9) over every "
        f"v so far ({_SOURCE}; the script's default is CCI(20, 1)).",
    ),
    init=_n_cci_init,
    update=_n_cci_update,
    lookback=lambda p: int(p["period"]) + int(p["smooth"]) - 2,
)

register(
    IndicatorInfo(
        name="lorentzian_wt",
        description="The Lorentzian classifier's WaveTrend feature: wt1 - wt2 within its range so far.",
        params=(
            period(10, "bars in the channel EMAs", name="channel"),
            period(11, "bars in the EMA of the channel index", name="average"),
        ),
        inputs=("high", "low", "close"),
        outputs=("wt",),
        bounds={"wt": (0.0, 1.0)},
        talib=None,
        definition="n_wt: d = wt1 - SMA(wt1, 4) of LazyBear's WaveTrend of (high + low + close) / 3 (as "
        "`wavetrend`), then (d - min) / max(max - min, 1e-9) over every d so far "
        f"({_SOURCE}; the script's default is WT(10, 11)).",
    ),
    init=_n_wt_init,
    update=_n_wt_update,
    lookback=lambda p: 2 * int(p["channel"]) + int(p["average"]),
)

register(
    IndicatorInfo(
        name="lorentzian_adx",
        description="The Lorentzian classifier's ADX feature: its own ADX rescaled to 0-1.",
        params=(period(20, "bars in the smoothing"),),
        inputs=("high", "low", "close"),
        outputs=("adx",),
        bounds={"adx": (0.0, 1.0)},
        talib=None,
        definition="n_adx: ADX / 100 where DI+- = 100 * S(DM+-) / S(TR) with Wilder's running sums S (s - s/n + x "
        "from 0, from the second bar: the script's first bar compares with 0 through nz()), DX = 100 * |DI+ - DI-| "
        "/ (DI+ + DI-) (0 where both are 0) and ADX = Pine's ta.rma(DX, period), seeded with the mean of the first "
        f"`period` DX ({_SOURCE}; the script's default is ADX(20)).",
    ),
    init=_n_adx_init,
    update=_n_adx_update,
    lookback=lambda p: int(p["period"]),
)
