"""Swing measures: Wilder's accumulative swing index and Fibonacci retracement levels of a rolling swing.

Each is written once as an update over a small float64 state, from the published definition cited in its
``definition``; neither is in TA-Lib.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._params import Param, period
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []


# --- ASI ------------------------------------------------------------------------------------------
# Wilder's swing index of each bar against the previous one, summed. Wilder's T is the futures
# contract's daily limit move, in price; markets without one (and a scale-free feature) take it as
# `limit` percent of the previous close. State: bars seen, the previous open and close, the sum.
_ASI_COUNT = 0
_ASI_OPEN = 1
_ASI_CLOSE = 2
_ASI_SUM = 3


@njit(cache=True, error_model="numpy")
def _asi_init(params):
    return np.zeros(_ASI_SUM + 1)


@njit(cache=True, error_model="numpy", inline="always")
def _swing_index(o, h, lo, c, prev_open, prev_close, limit):
    to_high = np.abs(h - prev_close)
    to_low = np.abs(lo - prev_close)
    span = h - lo
    body = np.abs(prev_close - prev_open)
    if to_high >= to_low and to_high >= span:
        r = to_high - 0.5 * to_low + 0.25 * body
    elif to_low >= to_high and to_low >= span:
        r = to_low - 0.5 * to_high + 0.25 * body
    else:
        r = span + 0.25 * body
    t = limit / 100.0 * prev_close
    if r <= 0.0 or t <= 0.0:
        return 0.0
    k = max(to_high, to_low)
    return 50.0 * (c - prev_close + 0.5 * (c - o) + 0.25 * (prev_close - prev_open)) / r * k / t


@njit(cache=True, error_model="numpy")
def _asi_update(state, params, bars, out):
    limit = params[0]
    count, prev_open, prev_close, total = state[_ASI_COUNT], state[_ASI_OPEN], state[_ASI_CLOSE], state[_ASI_SUM]
    for row in range(bars.shape[0]):
        o, h, lo, c = bars[row, 0], bars[row, 1], bars[row, 2], bars[row, 3]
        if count > 0.0:
            total += _swing_index(o, h, lo, c, prev_open, prev_close, limit)
            out[row, 0] = total
        else:
            out[row, 0] = np.nan
        count += 1.0
        prev_open, prev_close = o, c
    state[_ASI_COUNT], state[_ASI_OPEN], state[_ASI_CLOSE], state[_ASI_SUM] = count, prev_open, prev_close, total


# --- Fibonacci retracement levels -----------------------------------------------------------------
# The swing is the highest high and the lowest low of the last `period` bars. When the high came
# after the low (an up-swing) the levels retrace down from the high, else up from the low. State:
# bars seen, ring head, then rings of the last `period` highs and lows.
_FIB_COUNT = 0
_FIB_HEAD = 1
_FIB_RINGS = 2
_RATIOS = (0.236, 0.382, 0.5, 0.618, 0.786)


@njit(cache=True, error_model="numpy")
def _fib_init(params):
    return np.zeros(_FIB_RINGS + 2 * int(params[0]))


@njit(cache=True, error_model="numpy")
def _fib_update(state, params, bars, out):
    size = int(params[0])
    highs, lows = state[_FIB_RINGS : _FIB_RINGS + size], state[_FIB_RINGS + size :]
    count, head = state[_FIB_COUNT], int(state[_FIB_HEAD])
    for row in range(bars.shape[0]):
        t = count
        count += 1.0
        highs[head], lows[head] = bars[row, 0], bars[row, 1]
        head = head + 1 if head + 1 < size else 0
        for col in range(6):
            out[row, col] = np.nan
        if t < size - 1.0:
            continue
        # Oldest to newest; `>=` and `<=` keep the latest bar of a tied extreme.
        highest, lowest = -np.inf, np.inf
        at_high = at_low = 0
        for i in range(size):
            slot = head + i
            slot = slot - size if slot >= size else slot
            if highs[slot] >= highest:
                highest, at_high = highs[slot], i
            if lows[slot] <= lowest:
                lowest, at_low = lows[slot], i
        swing = highest - lowest
        up = at_high >= at_low
        for j in range(5):
            ratio = _RATIOS[j]
            out[row, j] = highest - ratio * swing if up else lowest + ratio * swing
        out[row, 5] = 1.0 if up else -1.0
    state[_FIB_COUNT], state[_FIB_HEAD] = count, head


register(
    IndicatorInfo(
        name="asi",
        description="Accumulative swing index: Wilder's running total of each bar's swing index.",
        params=(Param("limit", float, 10.0, 0.0, None, "limit move T, in percent of the previous close", True),),
        inputs=("open", "high", "low", "close"),
        outputs=("asi",),
        talib=None,
        definition="The sum from the second bar of SI = 50 * (C - Cy + (C - O) / 2 + (Cy - Oy) / 4) / R * K / T "
        "with K = max(|H - Cy|, |L - Cy|), R = |H - Cy| - |L - Cy| / 2 + |Cy - Oy| / 4 when |H - Cy| is the "
        "largest of |H - Cy|, |L - Cy|, H - L, |L - Cy| - |H - Cy| / 2 + |Cy - Oy| / 4 when |L - Cy| is, else "
        "H - L + |Cy - Oy| / 4 (SI = 0 where R is 0), y marking the previous bar (J. Welles Wilder, New Concepts "
        "in Technical Trading Systems, 1978). T, the limit move, is `limit` percent of the previous close.",
    ),
    init=_asi_init,
    update=_asi_update,
    lookback=lambda p: 1,
)

register(
    IndicatorInfo(
        name="fib_retracement",
        description="Fibonacci retracement levels of the swing between the highest high and lowest low of a window.",
        params=(period(50, "bars in the swing's window"),),
        inputs=("high", "low"),
        outputs=("level_236", "level_382", "level_500", "level_618", "level_786", "direction"),
        talib=None,
        definition="Over the last `period` bars, H = highest high and L = lowest low (their latest bars when tied); "
        "when H's bar is not before L's (an up-swing, direction +1) level_r = H - r (H - L), else (direction -1) "
        "level_r = L + r (H - L), for r = 0.236, 0.382, 0.5, 0.618, 0.786 (Fibonacci retracements, e.g. Robert "
        "Fischer, Fibonacci Applications and Strategies for Traders, 1993).",
        bounds={"direction": (-1.0, 1.0)},
    ),
    init=_fib_init,
    update=_fib_update,
    lookback=lambda p: int(p["period"]) - 1,
)
