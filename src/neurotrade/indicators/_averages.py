"""Moving averages beyond SMA and EMA: WMA, DEMA, TEMA, TRIMA, KAMA, T3, Hull, ZLEMA, and the linear regression
(slope, intercept, angle, its end point LINEARREG and its one-bar forecast TSF).

Each is written once as an update over a small float64 state. The TA-Lib twins follow TA-Lib 0.8
operation by operation, including what its source does not show: the EMA chains and KAMA/T3's
smoothing use fused multiply-adds (TA-Lib's FMA build, see ``_common.fma``), and the windowed
running sums (WMA, the regression slope) are recomputed from the window on TA-Lib's schedule, so
values agree to the last bit on series of any length. Hull and the zero-lag EMA, which TA-Lib
lacks, reuse the WMA and EMA steps.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from neurotrade.indicators._common import fma
from neurotrade.indicators._params import Param, period
from neurotrade.indicators._registry import IndicatorInfo, register
from neurotrade.indicators._trend import _ema_next

__all__: list[str] = []


# --- WMA ------------------------------------------------------------------------------------------
# TA-Lib keeps two running sums: `total` = sum of x_i * weight_i and `plain` = the plain sum of the
# window. Each bar adds `n * x` to `total` and then takes `plain` off it, which shifts every weight
# down by one. Every `8 * n` values it recomputes both sums from the window so rounding cannot
# accumulate; the countdown below reproduces that schedule exactly. Layout of a WMA block: bars
# seen, `total`, `plain`, countdown to the next recomputation, ring head, then a ring of `n` inputs.
_WMA_COUNT = 0
_WMA_TOTAL = 1
_WMA_PLAIN = 2
_WMA_COUNTDOWN = 3
_WMA_HEAD = 4
_WMA_RING = 5
_WMA_EVERY = 8


@njit(cache=True, error_model="numpy", inline="always")
def _wma_steady(total, plain, countdown, head, ring, n, x):
    """Feed ``x`` to a WMA past its warm-up (window ``ring``); return the new scalars and its value."""
    size = ring.shape[0]
    # Before it is overwritten, the slot holds the input that left the window one bar ago (0.0
    # at the first value, as in TA-Lib).
    trailing = ring[head]
    ring[head] = x
    head += 1
    if head == size:
        head = 0
    countdown -= 1
    if countdown == 0:
        plain = 0.0
        total = 0.0
        for i in range(size):
            slot = head + i
            value = ring[slot - size if slot >= size else slot]
            plain += value
            total += value * (i + 1.0)
        countdown = _WMA_EVERY * size
    else:
        plain += x
        plain -= trailing
        total = x * n + total
    result = total / (n * (n + 1.0) * 0.5)
    total -= plain
    return total, plain, countdown, head, result


@njit(cache=True, error_model="numpy", inline="always")
def _wma_next(count, total, plain, countdown, head, ring, n, x):
    """Feed ``x`` to a WMA whose window is ``ring``; return the new scalars and its value (NaN while warming up)."""
    if count < n - 1.0:
        ring[head] = x
        head += 1
        if head == ring.shape[0]:
            head = 0
        return count + 1.0, total + x * (count + 1.0), plain + x, countdown, head, np.nan
    total, plain, countdown, head, result = _wma_steady(total, plain, countdown, head, ring, n, x)
    return count + 1.0, total, plain, countdown, head, result


@njit(cache=True, error_model="numpy")
def _wma_init(params):
    state = np.zeros(_WMA_RING + int(params[0]))
    state[_WMA_COUNTDOWN] = _WMA_EVERY * params[0]
    return state


@njit(cache=True, error_model="numpy")
def _wma_update(state, params, bars, out):
    n = params[0]
    count, total, plain = state[_WMA_COUNT], state[_WMA_TOTAL], state[_WMA_PLAIN]
    countdown, head = int(state[_WMA_COUNTDOWN]), int(state[_WMA_HEAD])
    ring = state[_WMA_RING:]
    rows = bars.shape[0]
    row = 0
    while row < rows and count < n - 1.0:
        count, total, plain, countdown, head, out[row, 0] = _wma_next(
            count, total, plain, countdown, head, ring, n, bars[row, 0]
        )
        row += 1
    for r in range(row, rows):
        total, plain, countdown, head, out[r, 0] = _wma_steady(total, plain, countdown, head, ring, n, bars[r, 0])
    count += rows - row
    state[_WMA_COUNT], state[_WMA_TOTAL], state[_WMA_PLAIN] = count, total, plain
    state[_WMA_COUNTDOWN], state[_WMA_HEAD] = countdown, head


# --- DEMA and TEMA --------------------------------------------------------------------------------
# Chains of EMAs, each seeded (as in TA-Lib) with the mean of the first `period` values of the one
# before it, so the k-th EMA starts at bar k * (period - 1); once all are seeded, each update is
# `_ema_next`'s fused multiply-add. State: (seen, sum, value) per EMA.
@njit(cache=True, error_model="numpy")
def _ema_chain_init(params):
    return np.zeros(9)


@njit(cache=True, error_model="numpy")
def _dema_update(state, params, bars, out):
    n = params[0]
    k = 2.0 / (n + 1.0)
    a_seen, a_sum, a_value = state[0], state[1], state[2]
    b_seen, b_sum, b_value = state[3], state[4], state[5]
    rows = bars.shape[0]
    row = 0
    while row < rows and b_seen < n:
        a_seen, a_sum, a_value, first = _ema_next(a_seen, a_sum, a_value, n, bars[row, 0])
        result = np.nan
        if not np.isnan(first):
            b_seen, b_sum, b_value, second = _ema_next(b_seen, b_sum, b_value, n, first)
            result = 2.0 * first - second
        out[row, 0] = result
        row += 1
    # Both EMAs are seeded: the same updates without the checks.
    for r in range(row, rows):
        a_value = fma(bars[r, 0] - a_value, k, a_value)
        b_value = fma(a_value - b_value, k, b_value)
        out[r, 0] = 2.0 * a_value - b_value
    state[0], state[1], state[2] = a_seen, a_sum, a_value
    state[3], state[4], state[5] = b_seen, b_sum, b_value


@njit(cache=True, error_model="numpy")
def _tema_update(state, params, bars, out):
    n = params[0]
    k = 2.0 / (n + 1.0)
    a_seen, a_sum, a_value = state[0], state[1], state[2]
    b_seen, b_sum, b_value = state[3], state[4], state[5]
    c_seen, c_sum, c_value = state[6], state[7], state[8]
    rows = bars.shape[0]
    row = 0
    while row < rows and c_seen < n:
        a_seen, a_sum, a_value, first = _ema_next(a_seen, a_sum, a_value, n, bars[row, 0])
        result = np.nan
        if not np.isnan(first):
            b_seen, b_sum, b_value, second = _ema_next(b_seen, b_sum, b_value, n, first)
            if not np.isnan(second):
                c_seen, c_sum, c_value, third = _ema_next(c_seen, c_sum, c_value, n, second)
                result = 3.0 * first - 3.0 * second + third
        out[row, 0] = result
        row += 1
    for r in range(row, rows):
        a_value = fma(bars[r, 0] - a_value, k, a_value)
        b_value = fma(a_value - b_value, k, b_value)
        c_value = fma(b_value - c_value, k, c_value)
        # TA-Lib's order: (3 * e1 - 3 * e2) + e3, three roundings.
        out[r, 0] = 3.0 * a_value - 3.0 * b_value + c_value
    state[0], state[1], state[2] = a_seen, a_sum, a_value
    state[3], state[4], state[5] = b_seen, b_sum, b_value
    state[6], state[7], state[8] = c_seen, c_sum, c_value


# --- TRIMA ----------------------------------------------------------------------------------------
# A triangular average is an SMA of an SMA; TA-Lib computes it in one pass from three running sums:
# `total` (the weighted sum), `falling` (the inputs of the older half, whose weights drop by one each
# bar) and `rising` (the newer half, whose weights grow by one). Odd and even periods split the
# window differently and update in a different order; both orders are reproduced.
_TRIMA_COUNT = 0
_TRIMA_TOTAL = 1
_TRIMA_FALLING = 2
_TRIMA_RISING = 3
_TRIMA_HEAD = 4
_TRIMA_RING = 5


@njit(cache=True, error_model="numpy")
def _trima_init(params):
    return np.zeros(_TRIMA_RING + int(params[0]))


@njit(cache=True, error_model="numpy")
def _trima_update(state, params, bars, out):
    size = int(params[0])
    half = size >> 1
    odd = size % 2 == 1
    factor = 1.0 / ((half + 1.0) * (half + 1.0)) if odd else 1.0 / ((half + 1.0) * half)
    # Offset, from the oldest input of the window, of the input that moves from `rising` to `falling`.
    middle = half + 1 if odd else half
    count = state[_TRIMA_COUNT]
    total, falling, rising = state[_TRIMA_TOTAL], state[_TRIMA_FALLING], state[_TRIMA_RISING]
    head = int(state[_TRIMA_HEAD])
    ring = state[_TRIMA_RING:]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        if count < size:
            ring[head] = x
            head += 1
            if head == size:
                head = 0
            count += 1.0
            if count < size:
                out[row, 0] = np.nan
                continue
            # The window is full for the first time: build the sums as TA-Lib does, the older
            # half from its newest input backwards, the newer half forwards.
            last_falling = half if odd else half - 1
            total = 0.0
            falling = 0.0
            for i in range(last_falling, -1, -1):
                falling += ring[i]
                total += falling
            rising = 0.0
            for i in range(last_falling + 1, size):
                rising += ring[i]
                total += rising
            out[row, 0] = total * factor
            continue
        # Before being overwritten, ring[head] is the input that left the window one bar ago.
        gone = ring[head]
        slot = head + middle
        moving = ring[slot - size if slot >= size else slot]
        ring[head] = x
        head += 1
        if head == size:
            head = 0
        total -= falling
        falling -= gone
        if odd:
            total += rising
            falling += moving
            rising -= moving
        else:
            falling += moving
            rising -= moving
            total += rising
        rising += x
        total += x
        out[row, 0] = total * factor
        count += 1.0
    state[_TRIMA_COUNT] = count
    state[_TRIMA_TOTAL], state[_TRIMA_FALLING], state[_TRIMA_RISING] = total, falling, rising
    state[_TRIMA_HEAD] = head


# --- KAMA -----------------------------------------------------------------------------------------
# Kaufman's efficiency ratio er = |close - close[n]| / sum(|close - close[1]|) over `period` moves
# picks a smoothing constant between a 2-bar and a 30-bar EMA: sc = (er * (2/3 - 2/31) + 2/31)**2.
# TA-Lib 0.8 keeps the sum of moves as a running sum, resets it to exactly 0 once `period` moves in
# a row were 0 (so a flat stretch cannot leave rounding residue behind), and treats a ratio it
# cannot form (sum <= 0, or a net move at least the sum) as 1. State: bars seen, the sum of moves,
# the KAMA, the run of zero moves, the previous close, close[t - period] (the window's oldest), ring
# head, then a ring of the last `period` closes.
_KAMA_FAST = 2.0 / (2.0 + 1.0)
_KAMA_SLOW = 2.0 / (30.0 + 1.0)
_KAMA_DIFF = _KAMA_FAST - _KAMA_SLOW
_KAMA_COUNT = 0
_KAMA_SUM = 1
_KAMA_VALUE = 2
_KAMA_ZEROS = 3
_KAMA_PREV = 4
_KAMA_TRAILING = 5
_KAMA_HEAD = 6
_KAMA_RING = 7


@njit(cache=True, error_model="numpy")
def _kama_init(params):
    return np.zeros(_KAMA_RING + int(params[0]))


@njit(cache=True, error_model="numpy", inline="always")
def _kama_step(kama, total, x, net):
    """Smooth ``kama`` toward ``x`` given the sum of moves and the net move over the window."""
    ratio = 1.0
    if total > 0.0 and net < total:
        ratio = min(1.0, np.abs(net / total))
    sc = fma(ratio, _KAMA_DIFF, _KAMA_SLOW)
    sc = sc * sc
    return fma(sc, x - kama, kama)


@njit(cache=True, error_model="numpy")
def _kama_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    count, total, kama = state[_KAMA_COUNT], state[_KAMA_SUM], state[_KAMA_VALUE]
    zeros, prev, trailing = state[_KAMA_ZEROS], state[_KAMA_PREV], state[_KAMA_TRAILING]
    head = int(state[_KAMA_HEAD])
    ring = state[_KAMA_RING:]
    rows = bars.shape[0]
    row = 0
    # Warm-up: sum the first `period` moves; the first value starts from the previous close.
    while row < rows and count <= n:
        x = bars[row, 0]
        out[row, 0] = np.nan
        if count > 0.0:
            move = x - prev
            zeros = zeros + 1.0 if move == 0.0 else 0.0
            total += np.abs(move)
        if count == n:
            trailing = ring[head]
            kama = _kama_step(prev, total, x, x - trailing)
            out[row, 0] = kama
        ring[head] = x
        head += 1
        if head == size:
            head = 0
        prev = x
        count += 1.0
        row += 1
    run = int(zeros)
    for r in range(row, rows):
        x = bars[r, 0]
        # Before it is overwritten, ring[head] is close[t - period].
        gone = trailing
        trailing = ring[head]
        ring[head] = x
        head += 1
        if head == size:
            head = 0
        move = x - prev
        prev = x
        if move == 0.0:
            run += 1
            if run >= size:
                run = size
                total = 0.0
                kama = _kama_step(kama, 0.0, x, 0.0)
                out[r, 0] = kama
                continue
        else:
            run = 0
        total = np.abs(move) + (total - np.abs(gone - trailing))
        kama = _kama_step(kama, total, x, x - trailing)
        out[r, 0] = kama
    if row < rows:
        zeros = float(run)
    count += rows - row
    state[_KAMA_COUNT], state[_KAMA_SUM], state[_KAMA_VALUE] = count, total, kama
    state[_KAMA_ZEROS], state[_KAMA_PREV], state[_KAMA_TRAILING] = zeros, prev, trailing
    state[_KAMA_HEAD] = head


# --- T3 -------------------------------------------------------------------------------------------
# Tillson's T3 runs six EMAs in a chain and mixes the last four with weights from the volume factor
# v. Each EMA is seeded with the mean of its first `period` inputs; TA-Lib 0.8 updates them as
# fma(1 - k, e, k * x) and mixes them as fma(c4, e3, fma(c3, e4, fma(c1, e6, c2 * e5))).
_T3_SEEN = 0
_T3_SUMS = 1
_T3_VALUES = 7


@njit(cache=True, error_model="numpy")
def _t3_init(params):
    return np.zeros(_T3_VALUES + 6)


@njit(cache=True, error_model="numpy")
def _t3_update(state, params, bars, out):
    n, v = params[0], params[1]
    k = 2.0 / (n + 1.0)
    keep = 1.0 - k
    v2 = v * v
    c1 = 0.0 - v2 * v
    c2 = (v2 - c1) * 3.0
    c3 = v2 * -6.0 - (v - c1) * 3.0
    c4 = fma(3.0, v2, fma(3.0, v, 1.0) - c1)
    seeded = 6.0 * (n - 1.0)
    seen = state[_T3_SEEN]
    sums = state[_T3_SUMS:_T3_VALUES]
    e = state[_T3_VALUES:]
    row = 0
    rows = bars.shape[0]
    # Warm-up: EMA j (0-based) takes its first input at seen == j * (n - 1) and is seeded with the
    # mean of its first n inputs.
    while row < rows and seen <= seeded:
        value = bars[row, 0]
        out[row, 0] = np.nan
        for j in range(6):
            start = j * (n - 1.0)
            if seen < start:
                break
            if seen < start + n:
                sums[j] += value
                if seen < start + n - 1.0:
                    break
                e[j] = sums[j] / n
            else:
                e[j] = fma(keep, e[j], k * value)
            value = e[j]
        else:
            out[row, 0] = fma(c4, e[2], fma(c3, e[3], fma(c1, e[5], c2 * e[4])))
        seen += 1.0
        row += 1
    # Every EMA is running: the chain in registers.
    e1, e2, e3, e4, e5, e6 = e[0], e[1], e[2], e[3], e[4], e[5]
    for r in range(row, rows):
        e1 = fma(keep, e1, k * bars[r, 0])
        e2 = fma(keep, e2, k * e1)
        e3 = fma(keep, e3, k * e2)
        e4 = fma(keep, e4, k * e3)
        e5 = fma(keep, e5, k * e4)
        e6 = fma(keep, e6, k * e5)
        out[r, 0] = fma(c4, e3, fma(c3, e4, fma(c1, e6, c2 * e5)))
    seen += rows - row
    e[0], e[1], e[2], e[3], e[4], e[5] = e1, e2, e3, e4, e5, e6
    state[_T3_SEEN] = seen


# --- LINEARREG_SLOPE ------------------------------------------------------------------------------
# Least-squares slope of the last `period` closes, with x counting bars back from the newest (0)
# to the oldest (period - 1); TA-Lib's divisor sum(x)**2 - n * sum(x**2) is negative, which turns
# that back into the change per bar forward, so a rising series has a positive slope. TA-Lib 0.8
# keeps the sums of y and x * y as running sums: each bar ages every weight by one (add the sum of
# y), drops the oldest input (weight `period`) and adds the newest (weight 0). It recomputes them
# from the window every 32 * period bars, and at once when the input leaving the window is large
# against the window's sum of |y| (cancellation would eat the digits). State: bars seen, the sums of
# y, x * y and |y|, the countdown, ring head, then a ring of `period` closes.
_LRS_COUNT = 0
_LRS_SUM_Y = 1
_LRS_SUM_XY = 2
_LRS_SUM_ABS = 3
_LRS_COUNTDOWN = 4
_LRS_HEAD = 5
_LRS_RING = 6
_LRS_EVERY = 32
_LRS_CANCELLATION = 100.0


@njit(cache=True, error_model="numpy")
def _linearreg_slope_init(params):
    state = np.zeros(_LRS_RING + int(params[0]))
    state[_LRS_COUNTDOWN] = _LRS_EVERY * params[0]
    return state


@njit(cache=True, error_model="numpy", inline="always")
def _lrs_sums(ring, head, n):
    """The window's sums of y, x * y and |y|, the oldest input (at ``head``) weighted ``n - 1``."""
    size = ring.shape[0]
    sum_y = 0.0
    sum_xy = 0.0
    sum_abs = 0.0
    weight = n - 1.0
    for i in range(size):
        slot = head + i
        y = ring[slot - size if slot >= size else slot]
        sum_y += y
        sum_abs += np.abs(y)
        sum_xy += y * weight
        weight -= 1.0
    return sum_y, sum_xy, sum_abs


# What the regression kernel reports: the slope m, the intercept b (the fitted value at the oldest
# bar of the window), the fitted value at the newest bar (LINEARREG), the forecast one bar ahead
# (TSF) and the slope as an angle in degrees. TA-Lib 0.8 forms the last two as fused multiply-adds.
_LR_SLOPE = 0
_LR_INTERCEPT = 1
_LR_END = 2
_LR_FORECAST = 3
_LR_ANGLE = 4
_DEGREES = 180.0 / math.pi


@njit(cache=True, error_model="numpy", inline="always")
def _linreg_value(mode, n, sum_x, divisor, sum_y, sum_xy):
    m = (n * sum_xy - sum_y * sum_x) / divisor
    if mode == _LR_SLOPE:
        return m
    if mode == _LR_ANGLE:
        return math.atan(m) * _DEGREES
    b = (sum_y - m * sum_x) / n
    if mode == _LR_INTERCEPT:
        return b
    return fma(m, n - 1.0 if mode == _LR_END else n, b)


@njit(cache=True, error_model="numpy", inline="always")
def _linreg_run(state, params, bars, out, mode):
    n = params[0]
    size = int(n)
    sum_x = 0.5 * ((n - 1.0) * n)
    divisor = sum_x * sum_x - ((2.0 * n - 1.0) * ((n - 1.0) * n)) / 6.0 * n
    count, sum_y, sum_xy = state[_LRS_COUNT], state[_LRS_SUM_Y], state[_LRS_SUM_XY]
    sum_abs, head = state[_LRS_SUM_ABS], int(state[_LRS_HEAD])
    countdown = int(state[_LRS_COUNTDOWN])
    ring = state[_LRS_RING:]
    rows = bars.shape[0]
    row = 0
    while row < rows and count < n:
        ring[head] = bars[row, 0]
        head += 1
        if head == size:
            head = 0
        count += 1.0
        out[row, 0] = np.nan
        if count == n:
            sum_y, sum_xy, sum_abs = _lrs_sums(ring, head, n)
            out[row, 0] = _linreg_value(mode, n, sum_x, divisor, sum_y, sum_xy)
        row += 1
    for r in range(row, rows):
        x = bars[r, 0]
        oldest = ring[head]
        ring[head] = x
        head += 1
        if head == size:
            head = 0
        countdown -= 1
        recompute = countdown == 0
        if not recompute:
            sum_abs = sum_abs - np.abs(oldest) + np.abs(x)
            recompute = np.abs(n * oldest) > sum_abs * _LRS_CANCELLATION
        if recompute:
            sum_y, sum_xy, sum_abs = _lrs_sums(ring, head, n)
            countdown = _LRS_EVERY * size
        else:
            sum_xy += sum_y
            sum_y -= oldest
            sum_xy -= n * oldest
            sum_y += x
        out[r, 0] = _linreg_value(mode, n, sum_x, divisor, sum_y, sum_xy)
    count += rows - row
    state[_LRS_COUNT], state[_LRS_SUM_Y], state[_LRS_SUM_XY] = count, sum_y, sum_xy
    state[_LRS_SUM_ABS], state[_LRS_COUNTDOWN], state[_LRS_HEAD] = sum_abs, countdown, head


@njit(cache=True, error_model="numpy")
def _linearreg_slope_update(state, params, bars, out):
    _linreg_run(state, params, bars, out, _LR_SLOPE)


@njit(cache=True, error_model="numpy")
def _linearreg_intercept_update(state, params, bars, out):
    _linreg_run(state, params, bars, out, _LR_INTERCEPT)


@njit(cache=True, error_model="numpy")
def _linearreg_update(state, params, bars, out):
    _linreg_run(state, params, bars, out, _LR_END)


@njit(cache=True, error_model="numpy")
def _tsf_update(state, params, bars, out):
    _linreg_run(state, params, bars, out, _LR_FORECAST)


@njit(cache=True, error_model="numpy")
def _linearreg_angle_update(state, params, bars, out):
    _linreg_run(state, params, bars, out, _LR_ANGLE)


# --- HMA ------------------------------------------------------------------------------------------
# Three WMAs (the same running-sum kernel as `wma`): over period // 2 and period bars of the close,
# and over isqrt(period) bars of 2 * WMA(period // 2) - WMA(period). State: the five scalars of each
# WMA, then their rings.
_HMA_HALF = 0
_HMA_FULL = 5
_HMA_ROOT = 10
_HMA_RINGS = 15


@njit(cache=True, error_model="numpy", inline="always")
def _hma_lengths(n):
    size = int(n)
    return size // 2, size, int(np.sqrt(n))


@njit(cache=True, error_model="numpy")
def _hma_init(params):
    half, full, root = _hma_lengths(params[0])
    state = np.zeros(_HMA_RINGS + half + full + root)
    state[_HMA_HALF + _WMA_COUNTDOWN] = _WMA_EVERY * half
    state[_HMA_FULL + _WMA_COUNTDOWN] = _WMA_EVERY * full
    state[_HMA_ROOT + _WMA_COUNTDOWN] = _WMA_EVERY * root
    return state


@njit(cache=True, error_model="numpy")
def _hma_update(state, params, bars, out):
    half, full, root = _hma_lengths(params[0])
    ring_half = state[_HMA_RINGS : _HMA_RINGS + half]
    ring_full = state[_HMA_RINGS + half : _HMA_RINGS + half + full]
    ring_root = state[_HMA_RINGS + half + full :]
    h0, h1, h2, h3, h4 = state[0], state[1], state[2], int(state[3]), int(state[4])
    f0, f1, f2, f3, f4 = state[5], state[6], state[7], int(state[8]), int(state[9])
    r0, r1, r2, r3, r4 = state[10], state[11], state[12], int(state[13]), int(state[14])
    rows = bars.shape[0]
    row = 0
    # Until the last WMA has its first value; from then on all three are past their warm-up.
    while row < rows and r0 < root:
        x = bars[row, 0]
        h0, h1, h2, h3, h4, fast = _wma_next(h0, h1, h2, h3, h4, ring_half, half, x)
        f0, f1, f2, f3, f4, slow = _wma_next(f0, f1, f2, f3, f4, ring_full, full, x)
        result = np.nan
        if not np.isnan(slow):
            r0, r1, r2, r3, r4, result = _wma_next(r0, r1, r2, r3, r4, ring_root, root, 2.0 * fast - slow)
        out[row, 0] = result
        row += 1
    for r in range(row, rows):
        x = bars[r, 0]
        h1, h2, h3, h4, fast = _wma_steady(h1, h2, h3, h4, ring_half, half, x)
        f1, f2, f3, f4, slow = _wma_steady(f1, f2, f3, f4, ring_full, full, x)
        r1, r2, r3, r4, out[r, 0] = _wma_steady(r1, r2, r3, r4, ring_root, root, 2.0 * fast - slow)
    h0 += rows - row
    f0 += rows - row
    r0 += rows - row
    state[0], state[1], state[2], state[3], state[4] = h0, h1, h2, h3, h4
    state[5], state[6], state[7], state[8], state[9] = f0, f1, f2, f3, f4
    state[10], state[11], state[12], state[13], state[14] = r0, r1, r2, r3, r4


# --- ZLEMA ----------------------------------------------------------------------------------------
# An EMA (seeded with the mean of its first `period` inputs, like `ema`) of the de-lagged close
# close + (close - close[lag]), lag = (period - 1) // 2. State: bars seen, the EMA's (seen, sum,
# value), ring head, then a ring of the last `lag` closes.
_ZLEMA_COUNT = 0
_ZLEMA_EMA = 1
_ZLEMA_HEAD = 4
_ZLEMA_RING = 5


@njit(cache=True, error_model="numpy")
def _zlema_init(params):
    return np.zeros(_ZLEMA_RING + (int(params[0]) - 1) // 2)


@njit(cache=True, error_model="numpy")
def _zlema_update(state, params, bars, out):
    n = params[0]
    k = 2.0 / (n + 1.0)
    lag = (int(n) - 1) // 2
    count, head = state[_ZLEMA_COUNT], int(state[_ZLEMA_HEAD])
    seen, total, value = state[_ZLEMA_EMA], state[_ZLEMA_EMA + 1], state[_ZLEMA_EMA + 2]
    ring = state[_ZLEMA_RING:]
    rows = bars.shape[0]
    row = 0
    # Until the EMA has its seed.
    while row < rows and seen < n:
        x = bars[row, 0]
        lagged = x
        if lag > 0:
            # The slot about to be overwritten holds close[t - lag].
            lagged = ring[head]
            ring[head] = x
            head += 1
            if head == lag:
                head = 0
        result = np.nan
        if count >= lag:
            seen, total, value, result = _ema_next(seen, total, value, n, x + (x - lagged))
        out[row, 0] = result
        count += 1.0
        row += 1
    if lag == 0:
        for r in range(row, rows):
            value = fma(bars[r, 0] - value, k, value)
            out[r, 0] = value
    else:
        for r in range(row, rows):
            x = bars[r, 0]
            lagged = ring[head]
            ring[head] = x
            head += 1
            if head == lag:
                head = 0
            value = fma(x + (x - lagged) - value, k, value)
            out[r, 0] = value
    count += rows - row
    state[_ZLEMA_COUNT], state[_ZLEMA_HEAD] = count, head
    state[_ZLEMA_EMA], state[_ZLEMA_EMA + 1], state[_ZLEMA_EMA + 2] = seen, total, value


register(
    IndicatorInfo(
        name="wma",
        description="Weighted moving average of the close: weights 1..period, the newest bar heaviest.",
        params=(period(30),),
        inputs=("close",),
        outputs=("wma",),
        talib="WMA",
        definition="sum(w_i * close_i) / sum(w_i) over the last `period` bars, with w = 1 for the oldest "
        "and w = period for the newest (TA-Lib's running-sum form, recomputed every 8 * period bars).",
    ),
    init=_wma_init,
    update=_wma_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="dema",
        description="Double exponential moving average: 2 * EMA - EMA(EMA), less lag than an EMA.",
        params=(period(30, "bars in each EMA"),),
        inputs=("close",),
        outputs=("dema",),
        talib="DEMA",
        definition="2 * e1 - e2 with e1 = EMA(close, period) and e2 = EMA(e1, period), each EMA seeded with "
        "the mean of its first `period` inputs (Patrick Mulloy, Technical Analysis of Stocks & "
        "Commodities, 1994).",
    ),
    init=_ema_chain_init,
    update=_dema_update,
    lookback=lambda p: 2 * (int(p["period"]) - 1),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="tema",
        description="Triple exponential moving average: 3 * EMA - 3 * EMA(EMA) + EMA(EMA(EMA)).",
        params=(period(30, "bars in each EMA"),),
        inputs=("close",),
        outputs=("tema",),
        talib="TEMA",
        definition="3 * e1 - 3 * e2 + e3 with e1 = EMA(close), e2 = EMA(e1), e3 = EMA(e2), each over "
        "`period` bars and seeded with the mean of its first `period` inputs (Patrick Mulloy, 1994).",
    ),
    init=_ema_chain_init,
    update=_tema_update,
    lookback=lambda p: 3 * (int(p["period"]) - 1),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="trima",
        description="Triangular moving average: an SMA of an SMA, weights rising then falling.",
        params=(period(30),),
        inputs=("close",),
        outputs=("trima",),
        talib="TRIMA",
        definition="SMA(SMA(close, ceil(period / 2)), floor(period / 2) + 1): weights 1, 2, ... up to the "
        "middle of the window and back down, computed in one pass from three running sums as TA-Lib does.",
    ),
    init=_trima_init,
    update=_trima_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="kama",
        description="Kaufman adaptive moving average: fast when the price trends, slow when it chops.",
        params=(period(30, "bars in the efficiency ratio"),),
        inputs=("close",),
        outputs=("kama",),
        talib="KAMA",
        definition="er = |close - close[period]| / sum of |close - close[1]| over `period` bars; "
        "sc = (er * (2/3 - 2/31) + 2/31)**2; kama += sc * (close - kama), started from the previous "
        "close (Perry Kaufman, Smarter Trading, 1995).",
    ),
    init=_kama_init,
    update=_kama_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="t3",
        description="Tillson T3: six chained EMAs blended by a volume factor, smooth with little lag.",
        params=(
            period(5, "bars in each of the six EMAs"),
            Param("vfactor", float, 0.7, 0.0, 1.0, "volume factor: 0 gives a triple EMA, 1 the most lead"),
        ),
        inputs=("close",),
        outputs=("t3",),
        talib="T3",
        definition="c1*e6 + c2*e5 + c3*e4 + c4*e3 with e1..e6 chained EMAs of `period` bars and "
        "c1 = -v**3, c2 = 3v**2 + 3v**3, c3 = -6v**2 - 3v - 3v**3, c4 = 1 + 3v + v**3 + 3v**2 (Tim Tillson, "
        "Smoothing Techniques for More Accurate Signals, Technical Analysis of Stocks & Commodities, 1998).",
    ),
    init=_t3_init,
    update=_t3_update,
    lookback=lambda p: 6 * (int(p["period"]) - 1),
    talib_args={"period": "timeperiod", "vfactor": "vfactor"},
)

register(
    IndicatorInfo(
        name="linearreg_slope",
        description="Slope of the least-squares line through the last `period` closes, per bar.",
        params=(period(14, "bars in the regression"),),
        inputs=("close",),
        outputs=("slope",),
        talib="LINEARREG_SLOPE",
        definition="(n * sum(x*y) - sum(x) * sum(y)) / (sum(x)**2 - n * sum(x**2)) over the last n = `period` "
        "bars, x counting bars back from the newest (0) to the oldest (n - 1), as TA-Lib computes it.",
    ),
    init=_linearreg_slope_init,
    update=_linearreg_slope_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

_REGRESSION = (
    "the least-squares line y = b + m * x through the last n = `period` closes, x counting bars from the oldest of "
    "the window (0) to the newest (n - 1): m = (n * sum(x*y) - sum(x) * sum(y)) / (n * sum(x**2) - sum(x)**2) and "
    "b = (sum(y) - m * sum(x)) / n (computed as TA-Lib does, from running sums with x counted back from the newest)"
)

register(
    IndicatorInfo(
        name="linearreg",
        description="Linear regression: the least-squares line's value at the newest of the last `period` closes.",
        params=(period(14, "bars in the regression"),),
        inputs=("close",),
        outputs=("linearreg",),
        talib="LINEARREG",
        definition=f"b + m * (n - 1) for {_REGRESSION}.",
    ),
    init=_linearreg_slope_init,
    update=_linearreg_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="linearreg_intercept",
        description="Intercept of the least-squares line through the last `period` closes (its oldest bar).",
        params=(period(14, "bars in the regression"),),
        inputs=("close",),
        outputs=("intercept",),
        talib="LINEARREG_INTERCEPT",
        definition=f"b for {_REGRESSION}.",
    ),
    init=_linearreg_slope_init,
    update=_linearreg_intercept_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="linearreg_angle",
        description="Angle of the least-squares line through the last `period` closes, in degrees.",
        params=(period(14, "bars in the regression"),),
        inputs=("close",),
        outputs=("angle",),
        talib="LINEARREG_ANGLE",
        definition=f"atan(m) * 180 / pi for {_REGRESSION}. The slope is in price per bar, so the angle depends "
        "on the price scale.",
    ),
    init=_linearreg_slope_init,
    update=_linearreg_angle_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="tsf",
        description="Time series forecast: the least-squares line through the last `period` closes, one bar on.",
        params=(period(14, "bars in the regression"),),
        inputs=("close",),
        outputs=("tsf",),
        talib="TSF",
        definition=f"b + m * n for {_REGRESSION}.",
    ),
    init=_linearreg_slope_init,
    update=_tsf_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="hma",
        description="Hull moving average: a WMA of 2 * WMA(n/2) - WMA(n) over sqrt(n) bars, fast and smooth.",
        params=(period(20, "bars in the slow WMA; the fast one has period // 2, the final one isqrt(period)"),),
        inputs=("close",),
        outputs=("hma",),
        talib=None,
        definition="WMA(2 * WMA(close, period // 2) - WMA(close, period), floor(sqrt(period))), the WMAs "
        "weighting the newest bar most (Alan Hull, 'Hull Moving Average', alanhull.com, 2005).",
    ),
    init=_hma_init,
    update=_hma_update,
    lookback=lambda p: int(p["period"]) + math.isqrt(int(p["period"])) - 2,
)

register(
    IndicatorInfo(
        name="zlema",
        description="Zero-lag EMA: an EMA of close + (close - close[lag]), lag = (period - 1) // 2.",
        params=(period(20, "bars in the EMA; the lag removed is (period - 1) // 2"),),
        inputs=("close",),
        outputs=("zlema",),
        talib=None,
        definition="EMA(close + (close - close[lag]), period) with lag = (period - 1) // 2 and smoothing "
        "2 / (period + 1), the EMA seeded with the mean of its first `period` inputs (John Ehlers and "
        "Ric Way, 'Zero Lag (Well, Almost)', Technical Analysis of Stocks & Commodities, 2010).",
    ),
    init=_zlema_init,
    update=_zlema_update,
    lookback=lambda p: (int(p["period"]) - 1) // 2 + int(p["period"]) - 1,
)
