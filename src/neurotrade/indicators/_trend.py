"""Trend indicators: SMA, EMA, MACD and ADX, each written once as an update over a small state.

The arithmetic follows TA-Lib 0.8 operation by operation (running sums from 0.0, the EMA seeded
with the SMA of its first ``period`` inputs and updated with one fused multiply-add, Wilder's
``x -= x / n`` smoothing in ADX), so values agree with TA-Lib to the last bit rather than drifting
apart over long series.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._common import fma, is_zero, true_range
from neurotrade.indicators._params import Greater, period
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []


# --- SMA ------------------------------------------------------------------------------------------
# State: bars seen, running sum, position of the next write in the ring, then a ring of the last
# `period` inputs (streaming has to know which value leaves the window).
_SMA_COUNT = 0
_SMA_SUM = 1
_SMA_HEAD = 2
_SMA_RING = 3


@njit(cache=True, error_model="numpy")
def _sma_init(params):
    return np.zeros(_SMA_RING + int(params[0]))


@njit(cache=True, error_model="numpy")
def _sma_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    count, total, head = state[_SMA_COUNT], state[_SMA_SUM], int(state[_SMA_HEAD])
    ring = state[_SMA_RING:]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        ring[head] = x
        head += 1
        if head == size:
            head = 0
        total += x
        if count < n - 1.0:
            out[row, 0] = np.nan
        else:
            out[row, 0] = total / n
            # The first value of the window sits where the next bar will be written.
            total -= ring[head]
        count += 1.0
    state[_SMA_COUNT], state[_SMA_SUM], state[_SMA_HEAD] = count, total, head


# --- EMA ------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _ema_next(seen, total, value, n, x):
    """Feed ``x`` to an EMA seeded with the mean of its first ``n`` inputs.

    Returns the new ``(seen, total, value)`` and the output (NaN while seeding). ``seen`` stops at
    ``n``; ``total`` is the seeding sum.
    """
    if seen < n:
        total += x
        seen += 1.0
        if seen < n:
            return seen, total, value, np.nan
        value = total / n
        return seen, total, value, value
    value = fma(x - value, 2.0 / (n + 1.0), value)
    return seen, total, value, value


# State: inputs seen (capped at `period`), their sum while seeding, the EMA.
_EMA_SEEN = 0
_EMA_SUM = 1
_EMA_VALUE = 2


@njit(cache=True, error_model="numpy")
def _ema_init(params):
    return np.zeros(3)


@njit(cache=True, error_model="numpy")
def _ema_update(state, params, bars, out):
    n = params[0]
    seen, total, value = state[_EMA_SEEN], state[_EMA_SUM], state[_EMA_VALUE]
    for row in range(bars.shape[0]):
        seen, total, value, result = _ema_next(seen, total, value, n, bars[row, 0])
        out[row, 0] = result
    state[_EMA_SEEN], state[_EMA_SUM], state[_EMA_VALUE] = seen, total, value


# --- MACD -----------------------------------------------------------------------------------------
# TA-Lib seeds the fast EMA over the `fast` bars that end where the slow EMA's first value is, not
# from bar 0, and the signal EMA over the first `signal` MACD values. State: bars seen, then
# (seen, sum, value) of the slow, fast and signal EMAs.
_MACD_COUNT = 0
_MACD_SLOW = 1
_MACD_FAST = 4
_MACD_SIGNAL = 7


@njit(cache=True, error_model="numpy")
def _macd_init(params):
    return np.zeros(_MACD_SIGNAL + 3)


@njit(cache=True, error_model="numpy")
def _macd_update(state, params, bars, out):
    fast, slow, signal = params[0], params[1], params[2]
    count = state[_MACD_COUNT]
    s_seen, s_sum, s_value = state[_MACD_SLOW], state[_MACD_SLOW + 1], state[_MACD_SLOW + 2]
    f_seen, f_sum, f_value = state[_MACD_FAST], state[_MACD_FAST + 1], state[_MACD_FAST + 2]
    g_seen, g_sum, g_value = state[_MACD_SIGNAL], state[_MACD_SIGNAL + 1], state[_MACD_SIGNAL + 2]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        s_seen, s_sum, s_value, slow_ema = _ema_next(s_seen, s_sum, s_value, slow, x)
        line = np.nan
        signal_ema = np.nan
        if count >= slow - fast:
            f_seen, f_sum, f_value, fast_ema = _ema_next(f_seen, f_sum, f_value, fast, x)
            if count >= slow - 1.0:
                line = fast_ema - slow_ema
                g_seen, g_sum, g_value, signal_ema = _ema_next(g_seen, g_sum, g_value, signal, line)
        if np.isnan(signal_ema):
            out[row, 0] = np.nan
            out[row, 1] = np.nan
            out[row, 2] = np.nan
        else:
            out[row, 0] = line
            out[row, 1] = signal_ema
            out[row, 2] = line - signal_ema
        count += 1.0
    state[_MACD_COUNT] = count
    state[_MACD_SLOW], state[_MACD_SLOW + 1], state[_MACD_SLOW + 2] = s_seen, s_sum, s_value
    state[_MACD_FAST], state[_MACD_FAST + 1], state[_MACD_FAST + 2] = f_seen, f_sum, f_value
    state[_MACD_SIGNAL], state[_MACD_SIGNAL + 1], state[_MACD_SIGNAL + 2] = g_seen, g_sum, g_value


# --- ADX ------------------------------------------------------------------------------------------
# State: bars seen, previous high/low/close, Wilder sums of +DM, -DM and the true range, the sum of
# the first `period` DX values, and the ADX.
_ADX_COUNT = 0
_ADX_HIGH = 1
_ADX_LOW = 2
_ADX_CLOSE = 3
_ADX_PLUS_DM = 4
_ADX_MINUS_DM = 5
_ADX_TR = 6
_ADX_SUM_DX = 7
_ADX_VALUE = 8


@njit(cache=True, error_model="numpy")
def _adx_init(params):
    return np.zeros(_ADX_VALUE + 1)


@njit(cache=True, error_model="numpy")
def _adx_update(state, params, bars, out):
    n = params[0]
    count = state[_ADX_COUNT]
    prev_high, prev_low, prev_close = state[_ADX_HIGH], state[_ADX_LOW], state[_ADX_CLOSE]
    plus_dm, minus_dm, tr_sum = state[_ADX_PLUS_DM], state[_ADX_MINUS_DM], state[_ADX_TR]
    sum_dx, adx = state[_ADX_SUM_DX], state[_ADX_VALUE]
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        if t == 0.0:
            prev_high, prev_low, prev_close = high, low, close
            continue
        diff_plus = high - prev_high
        diff_minus = prev_low - low
        tr = true_range(high, low, prev_close)
        prev_high, prev_low, prev_close = high, low, close
        if t >= n:
            # Past the first `period - 1` moves, the sums become Wilder averages (times `period`).
            minus_dm -= minus_dm / n
            plus_dm -= plus_dm / n
        if diff_minus > 0.0 and diff_plus < diff_minus:
            minus_dm += diff_minus
        elif diff_plus > 0.0 and diff_plus > diff_minus:
            plus_dm += diff_plus
        if t < n:
            tr_sum += tr
            continue
        tr_sum = tr_sum - tr_sum / n + tr

        # TA-Lib leaves the running values untouched when the range or the DI sum is (nearly) 0.
        has_dx = False
        dx = 0.0
        if tr_sum > 0.0:
            minus_di = 100.0 * (minus_dm / tr_sum)
            plus_di = 100.0 * (plus_dm / tr_sum)
            di_sum = minus_di + plus_di
            if not is_zero(di_sum):
                has_dx = True
                dx = 100.0 * (np.abs(minus_di - plus_di) / di_sum)
        if t < 2.0 * n - 1.0:
            if has_dx:
                sum_dx += dx
            continue
        if t == 2.0 * n - 1.0:
            if has_dx:
                sum_dx += dx
            adx = sum_dx / n
        elif has_dx:
            adx = (adx * (n - 1.0) + dx) / n
        out[row, 0] = adx
    state[_ADX_COUNT] = count
    state[_ADX_HIGH], state[_ADX_LOW], state[_ADX_CLOSE] = prev_high, prev_low, prev_close
    state[_ADX_PLUS_DM], state[_ADX_MINUS_DM], state[_ADX_TR] = plus_dm, minus_dm, tr_sum
    state[_ADX_SUM_DX], state[_ADX_VALUE] = sum_dx, adx


register(
    IndicatorInfo(
        name="sma",
        description="Simple moving average of the close over `period` bars.",
        params=(period(20),),
        inputs=("close",),
        outputs=("sma",),
        talib="SMA",
    ),
    init=_sma_init,
    update=_sma_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="ema",
        description="Exponential moving average of the close, seeded with the SMA of its first bars.",
        params=(period(20, "bars in the window; the smoothing factor is 2 / (period + 1)"),),
        inputs=("close",),
        outputs=("ema",),
        talib="EMA",
    ),
    init=_ema_init,
    update=_ema_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="macd",
        description="MACD line (fast EMA - slow EMA), its signal EMA, and their difference.",
        params=(
            period(12, "bars in the fast EMA", name="fast"),
            period(26, "bars in the slow EMA; must exceed fast", name="slow"),
            period(9, "bars in the signal EMA of the MACD line", name="signal"),
        ),
        inputs=("close",),
        outputs=("macd", "signal", "hist"),
        talib="MACD",
    ),
    init=_macd_init,
    update=_macd_update,
    lookback=lambda p: int(p["slow"]) + int(p["signal"]) - 2,
    talib_args={"fast": "fastperiod", "slow": "slowperiod", "signal": "signalperiod"},
    constraints=(Greater("slow", "fast"),),
)

register(
    IndicatorInfo(
        name="adx",
        description="Average directional index: Wilder's trend strength from 0 to 100.",
        params=(period(14, "bars in Wilder's smoothing"),),
        inputs=("high", "low", "close"),
        outputs=("adx",),
        talib="ADX",
        bounds={"adx": (0.0, 100.0)},
    ),
    init=_adx_init,
    update=_adx_update,
    lookback=lambda p: 2 * int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)
