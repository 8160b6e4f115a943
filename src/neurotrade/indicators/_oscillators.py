"""Oscillators: PPO, APO, stochastics, Williams %R, CCI, CMO, ROC (and ROCP, ROCR, ROCR100), momentum,
ultimate oscillator, BOP.

Each is written once as an update over a small float64 state and follows TA-Lib 0.8's arithmetic
operation by operation (found by testing against it), so values agree with TA-Lib to the last bit.

Speed (measured against TA-Lib on a million bars): the warm-up bars, which must ask at every bar
which stage they are in, run apart from the later bars, which do the same arithmetic without those
checks (that cost several times the arithmetic). Both paths share the state, so one bar per call
(streaming) and the whole series in one call (batch) agree bit for bit.

Rolling highs and lows use a streaming form of the van Herk / Gil-Werman algorithm (see
`_extremes_step`): O(1) per bar whatever the window, without the data-dependent branches of a
monotonic deque, which measured four to five times slower on random-walk prices.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._common import fma, is_zero, true_range
from neurotrade.indicators._momentum import rsi_next
from neurotrade.indicators._params import MAX_PERIOD, Greater, Param, period
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []


def _span(name: str, default: int, description: str) -> Param:
    """A window that may be a single bar (TA-Lib accepts 1 wherever the maths does)."""
    return Param(name, int, default, 1, MAX_PERIOD, description)


# --- shared pieces --------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy", inline="always")
def _negligible(diff, a, b):
    """TA-Lib 0.8's test for a difference of ``a`` and ``b`` that is only rounding: relative, not absolute."""
    return np.abs(diff) <= 1e-14 * (np.abs(a) + np.abs(b))


@njit(cache=True, error_model="numpy", inline="always")
def _range_percent(x, highest, lowest):
    """Where ``x`` sits between the window's extremes, 0 to 100; TA-Lib's 0 when they coincide."""
    diff = highest - lowest
    if _negligible(diff, highest, lowest):
        return 0.0
    return 100.0 * ((x - lowest) / diff)


# Rolling extremes over windows of `p` bars, by a streaming form of the van Herk / Gil-Werman
# algorithm: the bars are cut into blocks of `p`; the extreme of a window is that of the current
# block's bars so far (a running max or min) merged with the previous block's suffix extreme from
# the window's start. Each block's suffix extremes are computed once, backwards, when it is
# complete: at most three comparisons per bar whatever the window. The kernels run whole blocks
# in one loop that merges straight into their outputs; a block fed partly (a stream, the end of a
# batch, the warm-up) goes bar by bar through `_extremes_step`, which keeps the block's values to
# compute its suffix extremes at its end. In the state (`ext`): the block's highs and lows, then
# the previous block's suffix maxima of the highs and suffix minima of the lows, `p` slots each.
# (Writing the extremes to scratch arrays in the state first, and the outputs from those, measured
# two to three times slower: LLVM cannot tell views of one array apart, so it reloads them.)
@njit(cache=True, error_model="numpy", inline="always")
def _suffixes(highs, lows, suffix_hi, suffix_lo):
    """Suffix maxima of a block's highs and suffix minima of its lows."""
    size = suffix_hi.shape[0]
    hi, lo = highs[size - 1], lows[size - 1]
    suffix_hi[size - 1], suffix_lo[size - 1] = hi, lo
    for j in range(size - 2, -1, -1):
        value = highs[j]
        hi = value if value > hi else hi
        suffix_hi[j] = hi
        value = lows[j]
        lo = value if value < lo else lo
        suffix_lo[j] = lo


@njit(cache=True, error_model="numpy", inline="always")
def _block_suffixes(bars, row, suffix_hi, suffix_lo):
    """`_suffixes` of the block of bars starting at ``row`` (high in column 0, low in column 1)."""
    size = suffix_hi.shape[0]
    hi, lo = bars[row + size - 1, 0], bars[row + size - 1, 1]
    suffix_hi[size - 1], suffix_lo[size - 1] = hi, lo
    for j in range(size - 2, -1, -1):
        value = bars[row + j, 0]
        hi = value if value > hi else hi
        suffix_hi[j] = hi
        value = bars[row + j, 1]
        lo = value if value < lo else lo
        suffix_lo[j] = lo


@njit(cache=True, error_model="numpy", inline="always")
def _extremes_step(ext, pos, top, bottom, high, low):
    """Add one bar; return ``(pos, top, bottom, highest, lowest)`` over the last ``p`` bars.

    Until ``p`` bars were added, ``highest`` and ``lowest`` cover only the bars so far and are
    meaningful only at the ``p``-th bar, which is all a warm-up asks of them.
    """
    size = ext.shape[0] // 4
    ext[pos] = high
    ext[size + pos] = low
    if pos == 0:
        top, bottom = high, low
    else:
        top = high if high > top else top
        bottom = low if low < bottom else bottom
    highest, lowest = top, bottom
    pos += 1
    if pos < size:
        # The window's older part: the previous block from this position on.
        earlier = ext[2 * size + pos]
        highest = earlier if earlier > highest else highest
        earlier = ext[3 * size + pos]
        lowest = earlier if earlier < lowest else lowest
    else:
        pos = 0
        _suffixes(ext[:size], ext[size : 2 * size], ext[2 * size : 3 * size], ext[3 * size :])
    return pos, top, bottom, highest, lowest


# --- APO / PPO ------------------------------------------------------------------------------------
# TA-Lib's default (matype 1): two independent EMAs of the close, each seeded with the SMA of its
# own first bars (unlike MACD, which seeds the fast one later) and then updated with one fused
# multiply-add. State: bars seen, then (seeding sum, value) of the fast and of the slow EMA.
_PO_COUNT = 0
_PO_FAST_SUM = 1
_PO_FAST = 2
_PO_SLOW_SUM = 3
_PO_SLOW = 4


@njit(cache=True, error_model="numpy")
def _po_init(params):
    return np.zeros(_PO_SLOW + 1)


@njit(cache=True, error_model="numpy", inline="always")
def _po_value(fast_ema, slow_ema, percent):
    if not percent:
        return fast_ema - slow_ema
    if is_zero(slow_ema):
        return 0.0
    return ((fast_ema - slow_ema) / slow_ema) * 100.0


@njit(cache=True, error_model="numpy")
def _po_run(state, params, bars, out, percent):
    fast, slow = params[0], params[1]
    k_fast = 2.0 / (fast + 1.0)
    k_slow = 2.0 / (slow + 1.0)
    count = state[_PO_COUNT]
    f_sum, f_ema = state[_PO_FAST_SUM], state[_PO_FAST]
    s_sum, s_ema = state[_PO_SLOW_SUM], state[_PO_SLOW]
    rows = bars.shape[0]
    row = 0
    while row < rows and count < slow:
        x = bars[row, 0]
        if count < fast:
            f_sum += x
            if count == fast - 1.0:
                f_ema = f_sum / fast
        else:
            f_ema = fma(x - f_ema, k_fast, f_ema)
        s_sum += x
        out[row, 0] = np.nan
        if count == slow - 1.0:
            s_ema = s_sum / slow
            out[row, 0] = _po_value(f_ema, s_ema, percent)
        count += 1.0
        row += 1
    for r in range(row, rows):
        x = bars[r, 0]
        f_ema = fma(x - f_ema, k_fast, f_ema)
        s_ema = fma(x - s_ema, k_slow, s_ema)
        out[r, 0] = _po_value(f_ema, s_ema, percent)
    state[_PO_COUNT] = count + (rows - row)
    state[_PO_FAST_SUM], state[_PO_FAST] = f_sum, f_ema
    state[_PO_SLOW_SUM], state[_PO_SLOW] = s_sum, s_ema


@njit(cache=True, error_model="numpy")
def _apo_update(state, params, bars, out):
    _po_run(state, params, bars, out, False)


@njit(cache=True, error_model="numpy")
def _ppo_update(state, params, bars, out):
    _po_run(state, params, bars, out, True)


# --- STOCH / STOCHF -------------------------------------------------------------------------------
# Raw %K over `k` bars, its SMA over `a` bars and (STOCH) that SMA's SMA over `b` bars, each SMA a
# running sum as TA-Lib adds it up (the oldest input subtracted after the mean is taken). State:
# bars seen, the extremes' (position in the block, running max, running min), the SMAs' (head,
# sum), then the extremes' rings and the two SMA windows.
_ST_COUNT = 0
_ST_POS = 1
_ST_TOP = 2
_ST_BOTTOM = 3
_ST_A_HEAD = 4
_ST_A_SUM = 5
_ST_B_HEAD = 6
_ST_B_SUM = 7
_ST_RINGS = 8


@njit(cache=True, error_model="numpy")
def _stoch_init(params):
    k, a, b = int(params[0]), int(params[1]), int(params[2])
    return np.zeros(_ST_RINGS + 4 * k + a + b)


@njit(cache=True, error_model="numpy")
def _stochf_init(params):
    # The slow stochastic's layout with a one-slot second SMA that is never used.
    k, a = int(params[0]), int(params[1])
    return np.zeros(_ST_RINGS + 4 * k + a + 1)


@njit(cache=True, error_model="numpy", inline="always")
def _sma_step(ring, head, total, x, a):
    """Feed a full SMA window; return ``(head, total, mean)`` (TA-Lib's order of operations)."""
    ring[head] = x
    head = head + 1 if head + 1 < ring.shape[0] else 0
    total += x
    mean = total / a
    # The oldest input of the window sits where the next one will be written.
    total -= ring[head]
    return head, total, mean


@njit(cache=True, error_model="numpy", inline="always")
def _stoch_block(bars, row, suffix_hi, suffix_lo, a_ring, a_head, a_sum, a, b_ring, b_head, b_sum, b, out):
    """STOCH over the block of bars from ``row``: slowk and slowd into ``out``; return the SMAs' state."""
    size = suffix_hi.shape[0]
    top, bottom = bars[row, 0], bars[row, 1]
    for i in range(size - 1):
        earlier = suffix_hi[i + 1]
        highest = earlier if earlier > top else top
        earlier = suffix_lo[i + 1]
        lowest = earlier if earlier < bottom else bottom
        fastk = _range_percent(bars[row + i, 2], highest, lowest)
        a_head, a_sum, first = _sma_step(a_ring, a_head, a_sum, fastk, a)
        b_head, b_sum, second = _sma_step(b_ring, b_head, b_sum, first, b)
        out[row + i, 0] = first
        out[row + i, 1] = second
        value = bars[row + i + 1, 0]
        top = value if value > top else top
        value = bars[row + i + 1, 1]
        bottom = value if value < bottom else bottom
    fastk = _range_percent(bars[row + size - 1, 2], top, bottom)
    a_head, a_sum, first = _sma_step(a_ring, a_head, a_sum, fastk, a)
    b_head, b_sum, second = _sma_step(b_ring, b_head, b_sum, first, b)
    out[row + size - 1, 0] = first
    out[row + size - 1, 1] = second
    return a_head, a_sum, b_head, b_sum


@njit(cache=True, error_model="numpy", inline="always")
def _stochf_block(bars, row, suffix_hi, suffix_lo, a_ring, a_head, a_sum, a, out):
    """STOCHF over the block of bars from ``row``: fastk and fastd into ``out``; return the SMA's state."""
    size = suffix_hi.shape[0]
    top, bottom = bars[row, 0], bars[row, 1]
    for i in range(size - 1):
        earlier = suffix_hi[i + 1]
        highest = earlier if earlier > top else top
        earlier = suffix_lo[i + 1]
        lowest = earlier if earlier < bottom else bottom
        fastk = _range_percent(bars[row + i, 2], highest, lowest)
        a_head, a_sum, first = _sma_step(a_ring, a_head, a_sum, fastk, a)
        out[row + i, 0] = fastk
        out[row + i, 1] = first
        value = bars[row + i + 1, 0]
        top = value if value > top else top
        value = bars[row + i + 1, 1]
        bottom = value if value < bottom else bottom
    fastk = _range_percent(bars[row + size - 1, 2], top, bottom)
    a_head, a_sum, first = _sma_step(a_ring, a_head, a_sum, fastk, a)
    out[row + size - 1, 0] = fastk
    out[row + size - 1, 1] = first
    return a_head, a_sum


@njit(cache=True, error_model="numpy")
def _stoch_run(state, k, a, b, bars, out, full):
    """Write ``(first SMA, second SMA)`` when ``full`` (STOCH), else ``(%K, its SMA)`` (STOCHF)."""
    size, a_size, b_size = int(k), int(a), int(b)
    start = _ST_RINGS + 4 * size
    ext = state[_ST_RINGS:start]
    suffix_hi, suffix_lo = ext[2 * size : 3 * size], ext[3 * size :]
    a_ring = state[start : start + a_size]
    b_ring = state[start + a_size : start + a_size + b_size]
    count = state[_ST_COUNT]
    pos, top, bottom = int(state[_ST_POS]), state[_ST_TOP], state[_ST_BOTTOM]
    a_head, a_sum = int(state[_ST_A_HEAD]), state[_ST_A_SUM]
    b_head, b_sum = int(state[_ST_B_HEAD]), state[_ST_B_SUM]
    first_a = k + a - 2.0
    lookback = first_a + b - 1.0 if full else first_a
    rows = bars.shape[0]
    row = 0
    while row < rows:
        if pos == 0 and rows - row >= size and count >= lookback:
            # A whole block, past every warm-up; STOCH and STOCHF in separate loops, since one
            # loop that tests which it is runs at half the speed.
            if full:
                a_head, a_sum, b_head, b_sum = _stoch_block(
                    bars, row, suffix_hi, suffix_lo, a_ring, a_head, a_sum, a, b_ring, b_head, b_sum, b, out
                )
            else:
                a_head, a_sum = _stochf_block(bars, row, suffix_hi, suffix_lo, a_ring, a_head, a_sum, a, out)
            _block_suffixes(bars, row, suffix_hi, suffix_lo)
            count += size
            row += size
            continue
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        pos, top, bottom, highest, lowest = _extremes_step(ext, pos, top, bottom, high, low)
        t = count
        count += 1.0
        out[row, 0] = np.nan
        out[row, 1] = np.nan
        row += 1
        if t < k - 1.0:
            continue
        fastk = _range_percent(close, highest, lowest)
        if t < first_a:
            a_ring[a_head] = fastk
            a_head = a_head + 1 if a_head + 1 < a_size else 0
            a_sum += fastk
            continue
        a_head, a_sum, first = _sma_step(a_ring, a_head, a_sum, fastk, a)
        if not full:
            out[row - 1, 0] = fastk
            out[row - 1, 1] = first
            continue
        if t < lookback:
            b_ring[b_head] = first
            b_head = b_head + 1 if b_head + 1 < b_size else 0
            b_sum += first
            continue
        b_head, b_sum, second = _sma_step(b_ring, b_head, b_sum, first, b)
        out[row - 1, 0] = first
        out[row - 1, 1] = second
    state[_ST_COUNT] = count
    state[_ST_POS], state[_ST_TOP], state[_ST_BOTTOM] = pos, top, bottom
    state[_ST_A_HEAD], state[_ST_A_SUM] = a_head, a_sum
    state[_ST_B_HEAD], state[_ST_B_SUM] = b_head, b_sum


@njit(cache=True, error_model="numpy")
def _stoch_update(state, params, bars, out):
    _stoch_run(state, params[0], params[1], params[2], bars, out, True)


@njit(cache=True, error_model="numpy")
def _stochf_update(state, params, bars, out):
    _stoch_run(state, params[0], params[1], 1.0, bars, out, False)


# --- STOCHRSI -------------------------------------------------------------------------------------
# TA-Lib's STOCHRSI is STOCHF with the RSI as high, low and close; the extremes' blocks count RSI
# values, not bars. State: bars seen, the RSI's previous close and average gain and loss, the
# extremes' (position in the block, running max, running min), the SMA's (head, sum), then the
# extremes' rings and the SMA window.
_SR_COUNT = 0
_SR_PREV = 1
_SR_GAIN = 2
_SR_LOSS = 3
_SR_POS = 4
_SR_TOP = 5
_SR_BOTTOM = 6
_SR_HEAD = 7
_SR_SUM = 8
_SR_RINGS = 9


@njit(cache=True, error_model="numpy")
def _stochrsi_init(params):
    k, d = int(params[1]), int(params[2])
    return np.zeros(_SR_RINGS + 4 * k + d)


@njit(cache=True, error_model="numpy")
def _stochrsi_update(state, params, bars, out):
    n, k, d = params[0], params[1], params[2]
    size, d_size = int(k), int(d)
    inverse = 1.0 / n
    steady = n + 1.0  # any bar number past the warm-up selects Wilder's smoothing in rsi_next
    start = _SR_RINGS + 4 * size
    ext = state[_SR_RINGS:start]
    values = ext[:size]
    suffix_hi, suffix_lo = ext[2 * size : 3 * size], ext[3 * size :]
    d_ring = state[start : start + d_size]
    count, prev = state[_SR_COUNT], state[_SR_PREV]
    avg_gain, avg_loss = state[_SR_GAIN], state[_SR_LOSS]
    pos, top, bottom = int(state[_SR_POS]), state[_SR_TOP], state[_SR_BOTTOM]
    head, total = int(state[_SR_HEAD]), state[_SR_SUM]
    lookback = n + k + d - 2.0
    rows = bars.shape[0]
    row = 0
    while row < rows:
        if pos == 0 and rows - row >= size and count >= lookback:
            # A whole block of RSI values, past every warm-up.
            prev, avg_gain, avg_loss, rsi = rsi_next(steady, n, inverse, prev, avg_gain, avg_loss, bars[row, 0])
            values[0] = rsi
            top, bottom = rsi, rsi
            for i in range(size - 1):
                earlier = suffix_hi[i + 1]
                highest = earlier if earlier > top else top
                earlier = suffix_lo[i + 1]
                lowest = earlier if earlier < bottom else bottom
                fastk = _range_percent(rsi, highest, lowest)
                head, total, fastd = _sma_step(d_ring, head, total, fastk, d)
                out[row + i, 0] = fastk
                out[row + i, 1] = fastd
                prev, avg_gain, avg_loss, rsi = rsi_next(
                    steady, n, inverse, prev, avg_gain, avg_loss, bars[row + i + 1, 0]
                )
                values[i + 1] = rsi
                top = rsi if rsi > top else top
                bottom = rsi if rsi < bottom else bottom
            fastk = _range_percent(rsi, top, bottom)
            head, total, fastd = _sma_step(d_ring, head, total, fastk, d)
            out[row + size - 1, 0] = fastk
            out[row + size - 1, 1] = fastd
            _suffixes(values, values, suffix_hi, suffix_lo)
            count += size
            row += size
            continue
        x = bars[row, 0]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        out[row, 1] = np.nan
        row += 1
        if t == 0.0:
            prev = x
            continue
        # The RSI exactly as the `rsi` indicator computes it.
        prev, avg_gain, avg_loss, rsi = rsi_next(t, n, inverse, prev, avg_gain, avg_loss, x)
        if t < n:
            continue
        pos, top, bottom, highest, lowest = _extremes_step(ext, pos, top, bottom, rsi, rsi)
        # The RSI's own bar number: its first value is bar 0 of the stochastic.
        if t - n < k - 1.0:
            continue
        fastk = _range_percent(rsi, highest, lowest)
        if t < lookback:
            d_ring[head] = fastk
            head = head + 1 if head + 1 < d_size else 0
            total += fastk
            continue
        head, total, fastd = _sma_step(d_ring, head, total, fastk, d)
        out[row - 1, 0] = fastk
        out[row - 1, 1] = fastd
    state[_SR_COUNT], state[_SR_PREV] = count, prev
    state[_SR_GAIN], state[_SR_LOSS] = avg_gain, avg_loss
    state[_SR_POS], state[_SR_TOP], state[_SR_BOTTOM] = pos, top, bottom
    state[_SR_HEAD], state[_SR_SUM] = head, total


# --- WILLR ----------------------------------------------------------------------------------------
# State: bars seen, the extremes' (position in the block, running max, running min), then their
# rings.
_WR_COUNT = 0
_WR_POS = 1
_WR_TOP = 2
_WR_BOTTOM = 3
_WR_RINGS = 4


@njit(cache=True, error_model="numpy")
def _willr_init(params):
    return np.zeros(_WR_RINGS + 4 * int(params[0]))


@njit(cache=True, error_model="numpy", inline="always")
def _willr_value(close, highest, lowest):
    diff = highest - lowest
    # TA-Lib reports 0 (the top of the range) when the window has no range at all.
    if _negligible(diff, highest, lowest):
        return 0.0
    # Clipped to [-100, 0] like TA-Lib, for closes outside the bars' range.
    value = -100.0 * ((highest - close) / diff)
    return 0.0 if value > 0.0 else max(value, -100.0)


@njit(cache=True, error_model="numpy")
def _willr_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    ext = state[_WR_RINGS:]
    suffix_hi, suffix_lo = ext[2 * size : 3 * size], ext[3 * size :]
    count = state[_WR_COUNT]
    pos, top, bottom = int(state[_WR_POS]), state[_WR_TOP], state[_WR_BOTTOM]
    rows = bars.shape[0]
    row = 0
    while row < rows:
        if pos == 0 and rows - row >= size and count >= n - 1.0:
            # A whole block, past the warm-up.
            top, bottom = bars[row, 0], bars[row, 1]
            for i in range(size - 1):
                earlier = suffix_hi[i + 1]
                highest = earlier if earlier > top else top
                earlier = suffix_lo[i + 1]
                lowest = earlier if earlier < bottom else bottom
                out[row + i, 0] = _willr_value(bars[row + i, 2], highest, lowest)
                value = bars[row + i + 1, 0]
                top = value if value > top else top
                value = bars[row + i + 1, 1]
                bottom = value if value < bottom else bottom
            out[row + size - 1, 0] = _willr_value(bars[row + size - 1, 2], top, bottom)
            _block_suffixes(bars, row, suffix_hi, suffix_lo)
            count += size
            row += size
            continue
        pos, top, bottom, highest, lowest = _extremes_step(ext, pos, top, bottom, bars[row, 0], bars[row, 1])
        out[row, 0] = _willr_value(bars[row, 2], highest, lowest) if count >= n - 1.0 else np.nan
        count += 1.0
        row += 1
    state[_WR_COUNT] = count
    state[_WR_POS], state[_WR_TOP], state[_WR_BOTTOM] = pos, top, bottom


# --- CCI ------------------------------------------------------------------------------------------
# The mean absolute deviation has no running form: like TA-Lib, each bar sums the ring of typical
# prices twice, slot by slot in ring order (bar i in slot i % period), which fixes the rounding.
# Distances within rounding of the mean (relative to it) count as 0, so that a flat window gives
# 0 rather than noise over noise. State: bars seen, position of the next write, then the ring.
_CCI_COUNT = 0
_CCI_HEAD = 1
_CCI_RING = 2


@njit(cache=True, error_model="numpy")
def _cci_init(params):
    return np.zeros(_CCI_RING + int(params[0]))


@njit(cache=True, error_model="numpy")
def _cci_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    ring = state[_CCI_RING:]
    count, head = state[_CCI_COUNT], int(state[_CCI_HEAD])
    rows = bars.shape[0]
    row = 0
    while row < rows and count < n - 1.0:
        ring[head] = (bars[row, 0] + bars[row, 1] + bars[row, 2]) / 3.0
        head += 1
        out[row, 0] = np.nan
        count += 1.0
        row += 1
    for r in range(row, rows):
        typical = (bars[r, 0] + bars[r, 1] + bars[r, 2]) / 3.0
        ring[head] = typical
        head = head + 1 if head + 1 < size else 0
        average = 0.0
        for i in range(size):
            average += ring[i]
        average /= n
        deviation = 0.0
        for i in range(size):
            deviation += np.abs(ring[i] - average)
        distance = typical - average
        mean_deviation = deviation / n
        tolerance = np.abs(average) * 1e-14
        scaled = 0.015 * mean_deviation
        if np.abs(distance) <= tolerance or np.abs(mean_deviation) <= tolerance or scaled == 0.0:
            out[r, 0] = 0.0
        else:
            out[r, 0] = distance / scaled
    state[_CCI_COUNT], state[_CCI_HEAD] = count + (rows - row), head


# --- CMO ------------------------------------------------------------------------------------------
# TA-Lib's CMO smooths gains and losses the way its RSI does (Wilder), not with Chande's plain
# sums, but divides by `period` where the RSI multiplies by its inverse. State: bars seen, previous
# close, average gain, average loss.
_CMO_COUNT = 0
_CMO_PREV = 1
_CMO_GAIN = 2
_CMO_LOSS = 3


@njit(cache=True, error_model="numpy")
def _cmo_init(params):
    return np.zeros(_CMO_LOSS + 1)


@njit(cache=True, error_model="numpy", inline="always")
def _cmo_value(avg_gain, avg_loss):
    move = avg_loss + avg_gain
    return ((avg_gain - avg_loss) / move) * 100.0 if move > 0.0 else 0.0


@njit(cache=True, error_model="numpy")
def _cmo_update(state, params, bars, out):
    n = params[0]
    keep = n - 1.0
    count, prev = state[_CMO_COUNT], state[_CMO_PREV]
    avg_gain, avg_loss = state[_CMO_GAIN], state[_CMO_LOSS]
    rows = bars.shape[0]
    row = 0
    while row < rows and count <= n:
        x = bars[row, 0]
        t = count
        count += 1.0
        row += 1
        out[row - 1, 0] = np.nan
        if t == 0.0:
            prev = x
            continue
        change = x - prev
        prev = x
        gain = change if change > 0.0 else 0.0
        avg_gain += gain
        avg_loss += gain - change
        if t == n:
            avg_gain /= n
            avg_loss /= n
            out[row - 1, 0] = _cmo_value(avg_gain, avg_loss)
    for r in range(row, rows):
        x = bars[r, 0]
        change = x - prev
        prev = x
        gain = change if change > 0.0 else 0.0
        avg_gain = (avg_gain * keep + gain) / n
        avg_loss = (avg_loss * keep + (gain - change)) / n
        out[r, 0] = _cmo_value(avg_gain, avg_loss)
    state[_CMO_COUNT], state[_CMO_PREV] = count + (rows - row), prev
    state[_CMO_GAIN], state[_CMO_LOSS] = avg_gain, avg_loss


# --- ROC / ROCP / ROCR / ROCR100 / MOM ------------------------------------------------------------
# State: bars seen, position of the oldest input in the ring, then a ring of the last `period`
# inputs. Within one call the input `period` bars back is read straight from `bars` (through flat
# 1-D views); the ring supplies it only for the first `period` bars of a call. `mode` picks the
# comparison of the close with the one `period` bars back (a constant per kernel, so each kernel
# compiles to its own loop).
_MOM = 0
_ROC = 1
_ROCP = 2
_ROCR = 3
_ROCR100 = 4
_LAG_COUNT = 0
_LAG_HEAD = 1
_LAG_RING = 2


@njit(cache=True, error_model="numpy")
def _lag_init(params):
    return np.zeros(_LAG_RING + int(params[0]))


@njit(cache=True, error_model="numpy", inline="always")
def _roc_value(x, before, mode):
    """TA-Lib's ROC family: each is 0 where the earlier close is 0.

    The quotient is formed in every case and then discarded where the earlier close is 0 (a select,
    not a branch), which lets the compiler vectorise the loop over the bars.
    """
    if mode == _ROC:
        value = ((x / before) - 1.0) * 100.0
    elif mode == _ROCP:
        value = (x - before) / before
    elif mode == _ROCR:
        value = x / before
    else:
        value = (x / before) * 100.0
    return 0.0 if before == 0.0 else value


@njit(cache=True, error_model="numpy", inline="always")
def _lag_run(state, params, bars, out, mode):
    n = params[0]
    size = int(n)
    ring = state[_LAG_RING:]
    count, head = state[_LAG_COUNT], int(state[_LAG_HEAD])
    rows = bars.shape[0]
    x = bars.reshape(rows)
    y = out.reshape(rows)
    early = min(rows, size)
    start = min(int(n - count), rows) if count < n else 0
    for row in range(start):
        y[row] = np.nan
    for row in range(start, early):
        slot = head + row
        before = ring[slot - size if slot >= size else slot]
        y[row] = _roc_value(x[row], before, mode) if mode != _MOM else x[row] - before
    start = max(start, early)
    if mode != _MOM:
        # Unsigned indices: numba then adds no wrap-around test for negative ones, the addresses are
        # plain strides, and the compiler vectorises the loop (about 4x faster than with signed ones).
        lag = np.uintp(size)
        for row in range(np.uintp(start), np.uintp(rows)):
            y[row] = _roc_value(x[row], x[row - lag], mode)
    elif start < rows:
        # A whole-array ufunc: numba vectorises it, not the same subtraction written as a loop (it
        # cannot rule out that `out` overlaps `bars`).
        np.subtract(x[start:], x[start - size : rows - size], y[start:])
    # Keep the last `period` inputs, oldest at `head`.
    for row in range(rows - early, rows):
        ring[head] = x[row]
        head = head + 1 if head + 1 < size else 0
    state[_LAG_COUNT], state[_LAG_HEAD] = count + rows, head


@njit(cache=True, error_model="numpy")
def _mom_update(state, params, bars, out):
    _lag_run(state, params, bars, out, _MOM)


@njit(cache=True, error_model="numpy")
def _roc_update(state, params, bars, out):
    _lag_run(state, params, bars, out, _ROC)


@njit(cache=True, error_model="numpy")
def _rocp_update(state, params, bars, out):
    _lag_run(state, params, bars, out, _ROCP)


@njit(cache=True, error_model="numpy")
def _rocr_update(state, params, bars, out):
    _lag_run(state, params, bars, out, _ROCR)


@njit(cache=True, error_model="numpy")
def _rocr100_update(state, params, bars, out):
    _lag_run(state, params, bars, out, _ROCR100)


# --- ULTOSC ---------------------------------------------------------------------------------------
# TA-Lib sorts the three periods, so the shortest window always weighs 4 and the longest 1. Each
# window's sums start from zero `period - 1` bars before the first output (as TA-Lib primes them),
# which fixes their rounding. A window whose bars all have zero terms (a flat stretch) has its sums
# set to exactly 0, as TA-Lib 0.8 does, instead of keeping the rounding residue of adding and
# subtracting the same terms. State: bars seen, previous close, the three (buying pressure, range)
# sums, position of the next write, bars in the current run of zero terms, then a ring of the last
# `longest` terms, pressure and range interleaved.
_UO_COUNT = 0
_UO_CLOSE = 1
_UO_SUMS = 2
_UO_HEAD = 8
_UO_ZEROS = 9
_UO_RING = 10


@njit(cache=True, error_model="numpy")
def _ultosc_init(params):
    longest = max(params[0], params[1], params[2])
    return np.zeros(_UO_RING + 2 * int(longest))


@njit(cache=True, error_model="numpy")
def _ultosc_update(state, params, bars, out):
    p0, p1, p2 = params[0], params[1], params[2]
    short = min(p0, p1, p2)
    long = max(p0, p1, p2)
    middle = p0 + p1 + p2 - short - long
    size = int(long)
    s_lag, m_lag = int(short) - 1, int(middle) - 1
    ring = state[_UO_RING:]
    count, prev_close = state[_UO_COUNT], state[_UO_CLOSE]
    a1, b1 = state[_UO_SUMS], state[_UO_SUMS + 1]
    a2, b2 = state[_UO_SUMS + 2], state[_UO_SUMS + 3]
    a3, b3 = state[_UO_SUMS + 4], state[_UO_SUMS + 5]
    head, zeros = int(state[_UO_HEAD]), state[_UO_ZEROS]
    rows = bars.shape[0]
    row = 0
    # Priming: bar t enters a window's sums from bar `long - period + 1` on.
    while row < rows and count < long:
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        row += 1
        if t == 0.0:
            prev_close = close
            continue
        true_low = low if low < prev_close else prev_close
        pressure = close - true_low
        span = true_range(high, low, prev_close)
        prev_close = close
        ring[2 * head] = pressure
        ring[2 * head + 1] = span
        head = head + 1 if head + 1 < size else 0
        zeros = zeros + 1.0 if pressure == 0.0 and span == 0.0 else 0.0
        if t > long - short:
            a1 += pressure
            b1 += span
        if t > long - middle:
            a2 += pressure
            b2 += span
        a3 += pressure
        b3 += span
    for r in range(row, rows):
        high, low, close = bars[r, 0], bars[r, 1], bars[r, 2]
        true_low = low if low < prev_close else prev_close
        pressure = close - true_low
        span = true_range(high, low, prev_close)
        prev_close = close
        ring[2 * head] = pressure
        ring[2 * head + 1] = span
        slot = head
        head = head + 1 if head + 1 < size else 0
        a1 += pressure
        b1 += span
        a2 += pressure
        b2 += span
        a3 += pressure
        b3 += span
        if pressure == 0.0 and span == 0.0:
            zeros += 1.0
            if zeros >= short:
                a1 = 0.0
                b1 = 0.0
                if zeros >= middle:
                    a2 = 0.0
                    b2 = 0.0
                    if zeros >= long:
                        a3 = 0.0
                        b3 = 0.0
                        zeros = long
        else:
            zeros = 0.0
        total = 0.0
        if b1 > 0.0:
            total += 4.0 * (a1 / b1)
        if b2 > 0.0:
            total += 2.0 * (a2 / b2)
        if b3 > 0.0:
            total += a3 / b3
        out[r, 0] = 100.0 * (total / 7.0)
        # The terms of the bar `period - 1` back leave each window.
        old = slot - s_lag
        old = old + size if old < 0 else old
        a1 -= ring[2 * old]
        b1 -= ring[2 * old + 1]
        old = slot - m_lag
        old = old + size if old < 0 else old
        a2 -= ring[2 * old]
        b2 -= ring[2 * old + 1]
        a3 -= ring[2 * head]
        b3 -= ring[2 * head + 1]
    state[_UO_COUNT], state[_UO_CLOSE] = count + (rows - row), prev_close
    state[_UO_SUMS], state[_UO_SUMS + 1] = a1, b1
    state[_UO_SUMS + 2], state[_UO_SUMS + 3] = a2, b2
    state[_UO_SUMS + 4], state[_UO_SUMS + 5] = a3, b3
    state[_UO_HEAD], state[_UO_ZEROS] = head, zeros


# --- BOP ------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _bop_init(params):
    return np.zeros(0)


@njit(cache=True, error_model="numpy")
def _bop_update(state, params, bars, out):
    for row in range(bars.shape[0]):
        span = bars[row, 1] - bars[row, 2]
        # A bar without range has no balance of power to report.
        value = (bars[row, 3] - bars[row, 0]) / span
        out[row, 0] = value if span > 0.0 else 0.0


# --- registrations --------------------------------------------------------------------------------
_FAST_SLOW = (
    period(12, "bars in the fast EMA", name="fast"),
    period(26, "bars in the slow EMA; must exceed fast", name="slow"),
)

register(
    IndicatorInfo(
        name="apo",
        description="Absolute price oscillator: fast EMA minus slow EMA of the close.",
        params=_FAST_SLOW,
        inputs=("close",),
        outputs=("apo",),
        talib="APO",
        definition="EMA(close, fast) - EMA(close, slow), each EMA seeded with the SMA of its own first bars "
        "(TA-Lib's default matype 1).",
    ),
    init=_po_init,
    update=_apo_update,
    lookback=lambda p: int(p["slow"]) - 1,
    constraints=(Greater("slow", "fast"),),
    talib_args={"fast": "fastperiod", "slow": "slowperiod"},
    talib_fixed={"matype": 1},
)

register(
    IndicatorInfo(
        name="ppo",
        description="Percentage price oscillator: the fast-slow EMA gap as a percentage of the slow EMA.",
        params=_FAST_SLOW,
        inputs=("close",),
        outputs=("ppo",),
        talib="PPO",
        definition="100 * (EMA(close, fast) - EMA(close, slow)) / EMA(close, slow), with the EMAs of `apo` "
        "(TA-Lib's default matype 1; Appel's PPO); 0 where the slow EMA is 0.",
    ),
    init=_po_init,
    update=_ppo_update,
    lookback=lambda p: int(p["slow"]) - 1,
    constraints=(Greater("slow", "fast"),),
    talib_args={"fast": "fastperiod", "slow": "slowperiod"},
    talib_fixed={"matype": 1},
)

register(
    IndicatorInfo(
        name="stoch",
        description="Slow stochastic: %K smoothed by an SMA (slowk) and that smoothed again (slowd), 0 to 100.",
        params=(
            _span("fastk", 5, "bars in the high-low window of the raw %K"),
            _span("slowk", 3, "bars in the SMA of the raw %K"),
            _span("slowd", 3, "bars in the SMA of slowk"),
        ),
        inputs=("high", "low", "close"),
        outputs=("slowk", "slowd"),
        talib="STOCH",
        definition="Lane's stochastic: raw %K = 100 * (close - lowest low) / (highest high - lowest low) over "
        "`fastk` bars (0 when the window has no range), slowk = SMA(%K, slowk), slowd = SMA(slowk, slowd).",
    ),
    init=_stoch_init,
    update=_stoch_update,
    lookback=lambda p: int(p["fastk"]) + int(p["slowk"]) + int(p["slowd"]) - 3,
    talib_args={"fastk": "fastk_period", "slowk": "slowk_period", "slowd": "slowd_period"},
    talib_fixed={"slowk_matype": 0, "slowd_matype": 0},
)

register(
    IndicatorInfo(
        name="stochf",
        description="Fast stochastic: raw %K (fastk) and its SMA (fastd), 0 to 100.",
        params=(
            _span("fastk", 5, "bars in the high-low window of %K"),
            _span("fastd", 3, "bars in the SMA of %K"),
        ),
        inputs=("high", "low", "close"),
        outputs=("fastk", "fastd"),
        talib="STOCHF",
        definition="fastk = 100 * (close - lowest low) / (highest high - lowest low) over `fastk` bars (0 when "
        "the window has no range), fastd = SMA(fastk, fastd).",
    ),
    init=_stochf_init,
    update=_stochf_update,
    lookback=lambda p: int(p["fastk"]) + int(p["fastd"]) - 2,
    talib_args={"fastk": "fastk_period", "fastd": "fastd_period"},
    talib_fixed={"fastd_matype": 0},
)

register(
    IndicatorInfo(
        name="stochrsi",
        description="Stochastic RSI: the fast stochastic of the RSI, 0 to 100.",
        params=(
            period(14, "bars in the RSI's Wilder smoothing"),
            _span("fastk", 5, "RSI values in the high-low window of %K"),
            _span("fastd", 3, "bars in the SMA of %K"),
        ),
        inputs=("close",),
        outputs=("fastk", "fastd"),
        talib="STOCHRSI",
        definition="STOCHF applied to RSI(close, period) as high, low and close (TA-Lib's form of Chande and "
        "Kroll's StochRSI): fastk = 100 * (rsi - min rsi) / (max rsi - min rsi), fastd = SMA(fastk, fastd).",
    ),
    init=_stochrsi_init,
    update=_stochrsi_update,
    lookback=lambda p: int(p["period"]) + int(p["fastk"]) + int(p["fastd"]) - 2,
    talib_args={"period": "timeperiod", "fastk": "fastk_period", "fastd": "fastd_period"},
    talib_fixed={"fastd_matype": 0},
)

register(
    IndicatorInfo(
        name="willr",
        description="Williams %R: the close's distance below the window's high, 0 (top) to -100 (bottom).",
        params=(period(14),),
        inputs=("high", "low", "close"),
        outputs=("willr",),
        talib="WILLR",
        definition="-100 * (highest high - close) / (highest high - lowest low) over `period` bars; 0 when "
        "the window has no range.",
    ),
    init=_willr_init,
    update=_willr_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="cci",
        description="Commodity channel index: typical price's distance from its SMA in mean deviations.",
        params=(period(14),),
        inputs=("high", "low", "close"),
        outputs=("cci",),
        talib="CCI",
        definition="Lambert's CCI: tp = (high + low + close) / 3, (tp - SMA(tp)) / (0.015 * mean |tp - SMA(tp)|) "
        "over `period` bars; 0 when either is 0.",
    ),
    init=_cci_init,
    update=_cci_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="cmo",
        description="Chande momentum oscillator: (gains - losses) / (gains + losses), -100 to 100.",
        params=(period(14, "bars in Wilder's smoothing"),),
        inputs=("close",),
        outputs=("cmo",),
        talib="CMO",
        definition="100 * (avg gain - avg loss) / (avg gain + avg loss) with the averages of the RSI "
        "(TA-Lib's Wilder-smoothed form); 0 when the price has not moved.",
    ),
    init=_cmo_init,
    update=_cmo_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="roc",
        description="Rate of change: percentage change of the close over `period` bars.",
        params=(_span("period", 10, "bars back to the close compared with"),),
        inputs=("close",),
        outputs=("roc",),
        talib="ROC",
        definition="100 * (close / close[t - period] - 1); 0 where the earlier close is 0.",
    ),
    init=_lag_init,
    update=_roc_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="rocp",
        description="Rate of change as a fraction: (close - close `period` bars back) / that close.",
        params=(_span("period", 10, "bars back to the close compared with"),),
        inputs=("close",),
        outputs=("rocp",),
        talib="ROCP",
        definition="(close - close[t - period]) / close[t - period]; 0 where the earlier close is 0.",
    ),
    init=_lag_init,
    update=_rocp_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="rocr",
        description="Rate of change as a ratio: the close over the close `period` bars back.",
        params=(_span("period", 10, "bars back to the close compared with"),),
        inputs=("close",),
        outputs=("rocr",),
        talib="ROCR",
        definition="close / close[t - period]; 0 where the earlier close is 0.",
    ),
    init=_lag_init,
    update=_rocr_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="rocr100",
        description="Rate of change as a ratio on a 100 scale: 100 * close / close `period` bars back.",
        params=(_span("period", 10, "bars back to the close compared with"),),
        inputs=("close",),
        outputs=("rocr100",),
        talib="ROCR100",
        definition="(close / close[t - period]) * 100; 0 where the earlier close is 0.",
    ),
    init=_lag_init,
    update=_rocr100_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="mom",
        description="Momentum: the close minus the close `period` bars earlier.",
        params=(_span("period", 10, "bars back to the close compared with"),),
        inputs=("close",),
        outputs=("mom",),
        talib="MOM",
        definition="close - close[t - period].",
    ),
    init=_lag_init,
    update=_mom_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="ultosc",
        description="Ultimate oscillator: buying pressure over true range in three windows, weighted 4:2:1.",
        params=(
            _span("fast", 7, "bars in the shortest window (weight 4)"),
            _span("medium", 14, "bars in the middle window (weight 2)"),
            _span("slow", 28, "bars in the longest window (weight 1)"),
        ),
        inputs=("high", "low", "close"),
        outputs=("ultosc",),
        talib="ULTOSC",
        definition="Williams' ultimate oscillator: 100 * (4 A1 + 2 A2 + A3) / 7 where Ai = sum(close - "
        "min(low, prev close)) / sum(true range) over each window (a term is left out when its range sum "
        "is 0). Like TA-Lib, the periods are sorted, so the shortest window always weighs 4.",
    ),
    init=_ultosc_init,
    update=_ultosc_update,
    lookback=lambda p: max(int(p["fast"]), int(p["medium"]), int(p["slow"])),
    talib_args={"fast": "timeperiod1", "medium": "timeperiod2", "slow": "timeperiod3"},
)

register(
    IndicatorInfo(
        name="bop",
        description="Balance of power: (close - open) / (high - low), -1 to 1.",
        params=(),
        inputs=("open", "high", "low", "close"),
        outputs=("bop",),
        talib="BOP",
        definition="(close - open) / (high - low) of each bar; 0 for a bar without range.",
    ),
    init=_bop_init,
    update=_bop_update,
    lookback=lambda p: 0,
    talib_args={},
)
