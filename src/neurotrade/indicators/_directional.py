"""Directional movement and trend direction: ADXR, +DI, -DI, +DM, -DM, DX, Aroon, SAR, TRIX.

Each is written once as an update over a small float64 state and follows TA-Lib 0.8's arithmetic
operation by operation: Wilder's sums of the directional movements and the true range
(``x - x / n + new``, a DI of 0 where the range sum is not positive), Aroon's latest extreme of
the last ``period + 1`` bars (rolling extremes by blocks, O(1) per bar where TA-Lib rescans the
window whenever its extreme leaves it), the parabolic SAR's ``sar + af * (ep - sar)`` as one fused
multiply-add, and TRIX's chain of three EMAs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._common import fma, is_zero, true_range
from neurotrade.indicators._params import Param, period
from neurotrade.indicators._registry import IndicatorInfo, register
from neurotrade.indicators._trend import _ema_next

__all__: list[str] = []


# --- Directional movement -------------------------------------------------------------------------
# Shared by +DI, -DI, DX and ADXR. Over the first `period - 1` moves the movements and true ranges
# are summed; from then on each sum becomes Wilder's running sum `s - s / n + new`. Layout: bars
# seen, previous high, low and close, then the sums of +DM, -DM and the true range.
_DM_COUNT = 0
_DM_HIGH = 1
_DM_LOW = 2
_DM_CLOSE = 3
_DM_PLUS = 4
_DM_MINUS = 5
_DM_TR = 6
_DM_SIZE = 7


@njit(cache=True, error_model="numpy", inline="always")
def _dm_next(t, n, high, low, prev_high, prev_low, prev_close, plus_dm, minus_dm, tr_sum):
    """Advance the sums by the bar ``t`` (``t >= 1``); return them (the previous bar is the caller's)."""
    diff_plus = high - prev_high
    diff_minus = prev_low - low
    tr = true_range(high, low, prev_close)
    if t >= n:
        plus_dm -= plus_dm / n
        minus_dm -= minus_dm / n
        tr_sum = tr_sum - tr_sum / n + tr
    else:
        tr_sum += tr
    # A bar counts for at most one side: the larger positive move.
    if diff_minus > 0.0 and diff_plus < diff_minus:
        minus_dm += diff_minus
    elif diff_plus > 0.0 and diff_plus > diff_minus:
        plus_dm += diff_plus
    return plus_dm, minus_dm, tr_sum


@njit(cache=True, error_model="numpy")
def _dm_init(params):
    return np.zeros(_DM_SIZE)


@njit(cache=True, error_model="numpy", inline="always")
def _di_update(state, params, bars, out, plus):
    """+DI (``plus``) or -DI over the rows of ``bars``: 100 * DM / TR, 0 where the TR sum is not positive."""
    n = params[0]
    count = state[_DM_COUNT]
    prev_high, prev_low, prev_close = state[_DM_HIGH], state[_DM_LOW], state[_DM_CLOSE]
    plus_dm, minus_dm, tr_sum = state[_DM_PLUS], state[_DM_MINUS], state[_DM_TR]
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        if t > 0.0:
            plus_dm, minus_dm, tr_sum = _dm_next(
                t, n, high, low, prev_high, prev_low, prev_close, plus_dm, minus_dm, tr_sum
            )
            if t >= n:
                dm = plus_dm if plus else minus_dm
                out[row, 0] = dm / tr_sum * 100.0 if tr_sum > 0.0 else 0.0
        prev_high, prev_low, prev_close = high, low, close
    state[_DM_COUNT] = count
    state[_DM_HIGH], state[_DM_LOW], state[_DM_CLOSE] = prev_high, prev_low, prev_close
    state[_DM_PLUS], state[_DM_MINUS], state[_DM_TR] = plus_dm, minus_dm, tr_sum


@njit(cache=True, error_model="numpy")
def _plus_di_update(state, params, bars, out):
    _di_update(state, params, bars, out, True)


@njit(cache=True, error_model="numpy")
def _minus_di_update(state, params, bars, out):
    _di_update(state, params, bars, out, False)


@njit(cache=True, error_model="numpy", inline="always")
def _dx_value(plus_dm, minus_dm, tr_sum, last):
    """DX from the sums, or ``last`` where TA-Lib cannot form it (no range, or both DIs 0)."""
    if tr_sum > 0.0:
        minus_di = minus_dm / tr_sum * 100.0
        plus_di = plus_dm / tr_sum * 100.0
        total = minus_di + plus_di
        if not is_zero(total):
            return np.abs(minus_di - plus_di) / total * 100.0, True
    return last, False


# DX state: the directional-movement block, then the last DX (repeated where it cannot be formed).
_DX_LAST = _DM_SIZE


@njit(cache=True, error_model="numpy")
def _dx_init(params):
    return np.zeros(_DX_LAST + 1)


@njit(cache=True, error_model="numpy")
def _dx_update(state, params, bars, out):
    n = params[0]
    count = state[_DM_COUNT]
    prev_high, prev_low, prev_close = state[_DM_HIGH], state[_DM_LOW], state[_DM_CLOSE]
    plus_dm, minus_dm, tr_sum = state[_DM_PLUS], state[_DM_MINUS], state[_DM_TR]
    last = state[_DX_LAST]
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        if t > 0.0:
            plus_dm, minus_dm, tr_sum = _dm_next(
                t, n, high, low, prev_high, prev_low, prev_close, plus_dm, minus_dm, tr_sum
            )
            if t >= n:
                # The first DX falls back to 0, later ones to the DX before them.
                last, _ = _dx_value(plus_dm, minus_dm, tr_sum, 0.0 if t == n else last)
                out[row, 0] = last
        prev_high, prev_low, prev_close = high, low, close
    state[_DM_COUNT] = count
    state[_DM_HIGH], state[_DM_LOW], state[_DM_CLOSE] = prev_high, prev_low, prev_close
    state[_DM_PLUS], state[_DM_MINUS], state[_DM_TR] = plus_dm, minus_dm, tr_sum
    state[_DX_LAST] = last


# --- +DM / -DM ------------------------------------------------------------------------------------
# Wilder's running sum of one side's directional movement alone: the first value (bar `period - 1`)
# is the plain sum of the first `period - 1` movements, then `s - s / n + dm`, as TA-Lib's
# PLUS_DM / MINUS_DM. State: bars seen, previous high and low, the sum.
_SDM_COUNT = 0
_SDM_HIGH = 1
_SDM_LOW = 2
_SDM_SUM = 3


@njit(cache=True, error_model="numpy")
def _sdm_init(params):
    return np.zeros(_SDM_SUM + 1)


@njit(cache=True, error_model="numpy", inline="always")
def _sdm_update(state, params, bars, out, plus):
    n = params[0]
    count, prev_high, prev_low, total = state[_SDM_COUNT], state[_SDM_HIGH], state[_SDM_LOW], state[_SDM_SUM]
    for row in range(bars.shape[0]):
        high, low = bars[row, 0], bars[row, 1]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        if t > 0.0:
            diff_plus = high - prev_high
            diff_minus = prev_low - low
            dm = 0.0
            # A bar counts for at most one side: the larger positive move (as in `_dm_next`).
            if plus:
                if diff_plus > 0.0 and diff_plus > diff_minus:
                    dm = diff_plus
            elif diff_minus > 0.0 and diff_plus < diff_minus:
                dm = diff_minus
            if t >= n:
                total = total - total / n + dm
            else:
                total += dm
            if t >= n - 1.0:
                out[row, 0] = total
        prev_high, prev_low = high, low
    state[_SDM_COUNT], state[_SDM_HIGH], state[_SDM_LOW], state[_SDM_SUM] = count, prev_high, prev_low, total


@njit(cache=True, error_model="numpy")
def _plus_dm_update(state, params, bars, out):
    _sdm_update(state, params, bars, out, True)


@njit(cache=True, error_model="numpy")
def _minus_dm_update(state, params, bars, out):
    _sdm_update(state, params, bars, out, False)


# --- ADXR -----------------------------------------------------------------------------------------
# (ADX + ADX `period - 1` bars ago) / 2. The ADX is the one of `adx` (Wilder's average of DX,
# seeded with the mean of the first `period` DX values that can be formed), so the state holds the
# directional-movement block, the DX sum and the ADX, then a ring of the last `period - 1` ADXs.
_ADXR_SUM_DX = _DM_SIZE
_ADXR_ADX = _DM_SIZE + 1
_ADXR_HEAD = _DM_SIZE + 2
_ADXR_RING = _DM_SIZE + 3


@njit(cache=True, error_model="numpy")
def _adxr_init(params):
    return np.zeros(_ADXR_RING + int(params[0]) - 1)


@njit(cache=True, error_model="numpy")
def _adxr_update(state, params, bars, out):
    n = params[0]
    size = int(n) - 1
    count = state[_DM_COUNT]
    prev_high, prev_low, prev_close = state[_DM_HIGH], state[_DM_LOW], state[_DM_CLOSE]
    plus_dm, minus_dm, tr_sum = state[_DM_PLUS], state[_DM_MINUS], state[_DM_TR]
    sum_dx, adx, head = state[_ADXR_SUM_DX], state[_ADXR_ADX], int(state[_ADXR_HEAD])
    ring = state[_ADXR_RING:]
    first_adx = 2.0 * n - 1.0
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        if t > 0.0:
            plus_dm, minus_dm, tr_sum = _dm_next(
                t, n, high, low, prev_high, prev_low, prev_close, plus_dm, minus_dm, tr_sum
            )
        prev_high, prev_low, prev_close = high, low, close
        if t < n:
            continue
        dx, has_dx = _dx_value(plus_dm, minus_dm, tr_sum, 0.0)
        if t <= first_adx:
            if has_dx:
                sum_dx += dx
            if t < first_adx:
                continue
            adx = sum_dx / n
        elif has_dx:
            adx = (adx * (n - 1.0) + dx) / n
        # ring[head] holds the ADX of `period - 1` bars ago once that many have been stored.
        before = ring[head]
        ring[head] = adx
        head += 1
        if head == size:
            head = 0
        if t >= first_adx + size:
            out[row, 0] = (adx + before) * 0.5
    state[_DM_COUNT] = count
    state[_DM_HIGH], state[_DM_LOW], state[_DM_CLOSE] = prev_high, prev_low, prev_close
    state[_DM_PLUS], state[_DM_MINUS], state[_DM_TR] = plus_dm, minus_dm, tr_sum
    state[_ADXR_SUM_DX], state[_ADXR_ADX], state[_ADXR_HEAD] = sum_dx, adx, head


# --- Aroon ----------------------------------------------------------------------------------------
# Bars since the highest high and the lowest low of the last `period + 1` bars (ties go to the
# latest bar, as in TA-Lib). The window's extremes come from blocks of w = period + 1 bars (van Herk
# and Gil-Werman): the window ending at position p of the current block is positions p + 1 .. w - 1
# of the previous block plus 0 .. p of this one, so its extreme is the better of the previous
# block's suffix extreme at p + 1 and this block's running (prefix) extreme. The suffix extremes of
# a block are built once, when it completes: O(1) per bar amortised, and with far fewer
# unpredictable branches than a monotonic deque (which measured 2.5x slower than TA-Lib's scan).
# Layout: bars seen, position in the block, then for highs and lows the prefix extreme and its bar;
# then the current block's highs and lows, and the previous block's suffix extremes and their bars.
_AROON_COUNT = 0
_AROON_POS = 1
_AROON_HIGH = 2
_AROON_HIGH_BAR = 3
_AROON_LOW = 4
_AROON_LOW_BAR = 5
_AROON_BLOCKS = 6


@njit(cache=True, error_model="numpy")
def _aroon_init(params):
    size = int(params[0]) + 1
    state = np.zeros(_AROON_BLOCKS + 6 * size)
    # No previous block yet: suffix extremes that never win.
    state[_AROON_BLOCKS + 2 * size : _AROON_BLOCKS + 3 * size] = -np.inf
    state[_AROON_BLOCKS + 4 * size : _AROON_BLOCKS + 5 * size] = np.inf
    return state


@njit(cache=True, error_model="numpy", inline="always")
def _suffix_extremes(block, values, bars_of, first_bar, lowest):
    """Fill ``values[i]``/``bars_of[i]`` with the extreme of ``block[i:]`` and its latest bar."""
    size = block.shape[0]
    best = block[size - 1]
    best_bar = first_bar + (size - 1)
    values[size - 1] = best
    bars_of[size - 1] = best_bar
    for i in range(size - 2, -1, -1):
        x = block[i]
        # Strictly better only: on a tie the later bar, already held, stays.
        if (x < best) if lowest else (x > best):
            best = x
            best_bar = first_bar + i
        values[i] = best
        bars_of[i] = best_bar


@njit(cache=True, error_model="numpy", inline="always")
def _aroon_extremes(state, params, bars, out, oscillator):
    n = params[0]
    size = int(n) + 1
    factor = 100.0 / n
    count, pos = state[_AROON_COUNT], int(state[_AROON_POS])
    high, high_bar = state[_AROON_HIGH], state[_AROON_HIGH_BAR]
    low, low_bar = state[_AROON_LOW], state[_AROON_LOW_BAR]
    base = _AROON_BLOCKS
    block_high = state[base : base + size]
    block_low = state[base + size : base + 2 * size]
    suffix_high = state[base + 2 * size : base + 3 * size]
    suffix_high_bar = state[base + 3 * size : base + 4 * size]
    suffix_low = state[base + 4 * size : base + 5 * size]
    suffix_low_bar = state[base + 5 * size : base + 6 * size]
    for row in range(bars.shape[0]):
        t = count
        count += 1.0
        h, lo = bars[row, 0], bars[row, 1]
        block_high[pos] = h
        block_low[pos] = lo
        if pos == 0 or h >= high:
            high, high_bar = h, t
        if pos == 0 or lo <= low:
            low, low_bar = lo, t
        if t >= n:
            highest, lowest = high_bar, low_bar
            if pos + 1 < size:
                # The current block's bars are later: they win ties.
                if suffix_high[pos + 1] > high:
                    highest = suffix_high_bar[pos + 1]
                if suffix_low[pos + 1] < low:
                    lowest = suffix_low_bar[pos + 1]
            if oscillator:
                out[row, 0] = factor * (highest - lowest)
            else:
                out[row, 0] = factor * (n - (t - lowest))
                out[row, 1] = factor * (n - (t - highest))
        else:
            for j in range(out.shape[1]):
                out[row, j] = np.nan
        pos += 1
        if pos == size:
            first_bar = t - (size - 1)
            _suffix_extremes(block_high, suffix_high, suffix_high_bar, first_bar, False)
            _suffix_extremes(block_low, suffix_low, suffix_low_bar, first_bar, True)
            pos = 0
    state[_AROON_COUNT], state[_AROON_POS] = count, pos
    state[_AROON_HIGH], state[_AROON_HIGH_BAR] = high, high_bar
    state[_AROON_LOW], state[_AROON_LOW_BAR] = low, low_bar


@njit(cache=True, error_model="numpy")
def _aroon_update(state, params, bars, out):
    _aroon_extremes(state, params, bars, out, False)


@njit(cache=True, error_model="numpy")
def _aroonosc_update(state, params, bars, out):
    _aroon_extremes(state, params, bars, out, True)


# --- SAR ------------------------------------------------------------------------------------------
# Wilder's parabolic stop and reverse. The first trend is short when bar 1's -DM is positive (its
# low fell more than its high rose), long otherwise; the first SAR is bar 0's extreme against that
# trend. The acceleration starts at `acceleration` (capped at `maximum`), grows by it at each new
# extreme, and resets on a reversal. State: bars seen, long (1) or short (0), the acceleration,
# the extreme point, the SAR, the previous bar's high and low.
_SAR_COUNT = 0
_SAR_LONG = 1
_SAR_AF = 2
_SAR_EP = 3
_SAR_VALUE = 4
_SAR_HIGH = 5
_SAR_LOW = 6


@njit(cache=True, error_model="numpy")
def _sar_init(params):
    return np.zeros(_SAR_LOW + 1)


@njit(cache=True, error_model="numpy")
def _sar_update(state, params, bars, out):
    maximum = params[1]
    step = min(params[0], maximum)
    count, long, af = state[_SAR_COUNT], state[_SAR_LONG] == 1.0, state[_SAR_AF]
    ep, sar = state[_SAR_EP], state[_SAR_VALUE]
    prev_high, prev_low = state[_SAR_HIGH], state[_SAR_LOW]
    for row in range(bars.shape[0]):
        high, low = bars[row, 0], bars[row, 1]
        t = count
        count += 1.0
        if t == 0.0:
            out[row, 0] = np.nan
            prev_high, prev_low = high, low
            continue
        if t == 1.0:
            diff_plus = high - prev_high
            diff_minus = prev_low - low
            long = not (diff_minus > 0.0 and diff_plus < diff_minus)
            af = step
            if long:
                ep, sar = high, prev_low
            else:
                ep, sar = low, prev_high
            # TA-Lib's first step compares the bar with itself, not with bar 0.
            prev_high, prev_low = high, low
        if long:
            if low <= sar:
                long = False
                sar = max(ep, prev_high, high)
                out[row, 0] = sar
                af = step
                ep = low
                sar = max(fma(ep - sar, af, sar), prev_high, high)
            else:
                out[row, 0] = sar
                if high > ep:
                    ep = high
                    af = min(af + step, maximum)
                sar = min(fma(ep - sar, af, sar), prev_low, low)
        elif high >= sar:
            long = True
            sar = min(ep, prev_low, low)
            out[row, 0] = sar
            af = step
            ep = high
            sar = min(fma(ep - sar, af, sar), prev_low, low)
        else:
            out[row, 0] = sar
            if low < ep:
                ep = low
                af = min(af + step, maximum)
            sar = max(fma(ep - sar, af, sar), prev_high, high)
        prev_high, prev_low = high, low
    state[_SAR_COUNT], state[_SAR_LONG], state[_SAR_AF] = count, 1.0 if long else 0.0, af
    state[_SAR_EP], state[_SAR_VALUE] = ep, sar
    state[_SAR_HIGH], state[_SAR_LOW] = prev_high, prev_low


# --- TRIX -----------------------------------------------------------------------------------------
# One-bar rate of change, in percent, of a triple EMA (each EMA seeded with the mean of its first
# `period` inputs); 0 where the previous triple EMA is 0. State: (seen, sum, value) of each EMA,
# then the previous triple EMA.
_TRIX_PREV = 9


@njit(cache=True, error_model="numpy")
def _trix_init(params):
    state = np.zeros(_TRIX_PREV + 1)
    state[_TRIX_PREV] = np.nan
    return state


@njit(cache=True, error_model="numpy")
def _trix_update(state, params, bars, out):
    n = params[0]
    k = 2.0 / (n + 1.0)
    a_seen, a_sum, a_value = state[0], state[1], state[2]
    b_seen, b_sum, b_value = state[3], state[4], state[5]
    c_seen, c_sum, c_value = state[6], state[7], state[8]
    prev = state[_TRIX_PREV]
    rows = bars.shape[0]
    row = 0
    # Until the first TRIX, one bar after the triple EMA is seeded.
    while row < rows and np.isnan(prev):
        a_seen, a_sum, a_value, first = _ema_next(a_seen, a_sum, a_value, n, bars[row, 0])
        if not np.isnan(first):
            b_seen, b_sum, b_value, second = _ema_next(b_seen, b_sum, b_value, n, first)
            if not np.isnan(second):
                c_seen, c_sum, c_value, third = _ema_next(c_seen, c_sum, c_value, n, second)
                if not np.isnan(third):
                    prev = third
        out[row, 0] = np.nan
        row += 1
    # `_ema_next`'s fused multiply-adds, without the checks.
    for r in range(row, rows):
        a_value = fma(bars[r, 0] - a_value, k, a_value)
        b_value = fma(a_value - b_value, k, b_value)
        c_value = fma(b_value - c_value, k, c_value)
        out[r, 0] = (c_value / prev - 1.0) * 100.0 if prev != 0.0 else 0.0
        prev = c_value
    state[0], state[1], state[2] = a_seen, a_sum, a_value
    state[3], state[4], state[5] = b_seen, b_sum, b_value
    state[6], state[7], state[8] = c_seen, c_sum, c_value
    state[_TRIX_PREV] = prev


_WILDER = "bars in Wilder's smoothing"

register(
    IndicatorInfo(
        name="plus_di",
        description="Plus directional indicator: Wilder's share of the range made by up-moves, 0 to 100.",
        params=(period(14, _WILDER),),
        inputs=("high", "low", "close"),
        outputs=("plus_di",),
        talib="PLUS_DI",
        definition="100 * S(+DM) / S(TR), S being Wilder's running sum over `period` bars; +DM is the rise of "
        "the high when it exceeds the fall of the low (else 0) (J. Welles Wilder, New Concepts in "
        "Technical Trading Systems, 1978).",
    ),
    init=_dm_init,
    update=_plus_di_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="minus_di",
        description="Minus directional indicator: Wilder's share of the range made by down-moves, 0 to 100.",
        params=(period(14, _WILDER),),
        inputs=("high", "low", "close"),
        outputs=("minus_di",),
        talib="MINUS_DI",
        definition="100 * S(-DM) / S(TR), S being Wilder's running sum over `period` bars; -DM is the fall of "
        "the low when it exceeds the rise of the high (else 0) (J. Welles Wilder, 1978).",
    ),
    init=_dm_init,
    update=_minus_di_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="plus_dm",
        description="Plus directional movement: Wilder's running sum of the up-moves of the high.",
        params=(period(14, _WILDER),),
        inputs=("high", "low"),
        outputs=("plus_dm",),
        talib="PLUS_DM",
        definition="S(+DM), S being Wilder's running sum (the sum of the first `period - 1` moves, then "
        "s - s / period + dm); +DM is the rise of the high when it exceeds the fall of the low (else 0) "
        "(J. Welles Wilder, New Concepts in Technical Trading Systems, 1978).",
    ),
    init=_sdm_init,
    update=_plus_dm_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="minus_dm",
        description="Minus directional movement: Wilder's running sum of the down-moves of the low.",
        params=(period(14, _WILDER),),
        inputs=("high", "low"),
        outputs=("minus_dm",),
        talib="MINUS_DM",
        definition="S(-DM), S being Wilder's running sum (the sum of the first `period - 1` moves, then "
        "s - s / period + dm); -DM is the fall of the low when it exceeds the rise of the high (else 0) "
        "(J. Welles Wilder, New Concepts in Technical Trading Systems, 1978).",
    ),
    init=_sdm_init,
    update=_minus_dm_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="dx",
        description="Directional movement index: |+DI - -DI| / (+DI + -DI), 0 to 100, unsmoothed ADX.",
        params=(period(14, _WILDER),),
        inputs=("high", "low", "close"),
        outputs=("dx",),
        talib="DX",
        definition="100 * |+DI - -DI| / (+DI + -DI); where it cannot be formed (no range, or both DIs 0) "
        "the previous value is repeated, 0 at the first (J. Welles Wilder, 1978).",
    ),
    init=_dx_init,
    update=_dx_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="adxr",
        description="Average directional movement rating: the mean of the ADX now and `period - 1` bars ago.",
        params=(period(14, _WILDER),),
        inputs=("high", "low", "close"),
        outputs=("adxr",),
        talib="ADXR",
        definition="(ADX[t] + ADX[t - (period - 1)]) / 2 (J. Welles Wilder, 1978).",
    ),
    init=_adxr_init,
    update=_adxr_update,
    lookback=lambda p: 3 * int(p["period"]) - 2,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="aroon",
        description="Aroon down and up: how recent the lowest low and highest high are, 0 to 100.",
        params=(period(14, "bars looked back (the window holds period + 1 bars)"),),
        inputs=("high", "low"),
        outputs=("down", "up"),
        talib="AROON",
        definition="up = 100 * (period - bars since the highest high) / period over the last period + 1 bars, "
        "down the same for the lowest low; ties go to the latest bar (Tushar Chande, 1995).",
    ),
    init=_aroon_init,
    update=_aroon_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="aroonosc",
        description="Aroon oscillator: Aroon up minus Aroon down, -100 to 100.",
        params=(period(14, "bars looked back (the window holds period + 1 bars)"),),
        inputs=("high", "low"),
        outputs=("aroonosc",),
        talib="AROONOSC",
        definition="100 * (bar of the highest high - bar of the lowest low) / period over the last period + 1 "
        "bars, i.e. Aroon up - Aroon down (Tushar Chande, 1995).",
    ),
    init=_aroon_init,
    update=_aroonosc_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="sar",
        description="Parabolic SAR: a trailing stop that accelerates toward the price, flipping on a cross.",
        params=(
            Param(
                "acceleration",
                float,
                0.02,
                0.0,
                1.0,
                "step of the acceleration factor (capped at maximum)",
                exclusive_minimum=True,
            ),
            Param("maximum", float, 0.2, 0.0, 1.0, "largest acceleration factor", exclusive_minimum=True),
        ),
        inputs=("high", "low"),
        outputs=("sar",),
        talib="SAR",
        definition="sar += af * (ep - sar), kept beyond the last two bars' extremes; ep is the trend's extreme, "
        "af starts at `acceleration`, grows by it at each new extreme up to `maximum`, and the trend "
        "reverses when the price crosses the SAR (J. Welles Wilder, 1978).",
    ),
    init=_sar_init,
    update=_sar_update,
    lookback=lambda p: 1,
    talib_args={"acceleration": "acceleration", "maximum": "maximum"},
)

register(
    IndicatorInfo(
        name="trix",
        description="TRIX: one-bar rate of change, in percent, of a triple EMA of the close.",
        params=(period(30, "bars in each EMA"),),
        inputs=("close",),
        outputs=("trix",),
        talib="TRIX",
        definition="100 * (e3[t] / e3[t-1] - 1) with e3 = EMA(EMA(EMA(close))), each over `period` bars "
        "(Jack Hutson, Technical Analysis of Stocks & Commodities, 1983).",
    ),
    init=_trix_init,
    update=_trix_update,
    lookback=lambda p: 3 * (int(p["period"]) - 1) + 1,
    talib_args={"period": "timeperiod"},
)
