"""Channels and trailing levels beyond TA-Lib: Keltner, Donchian, VWAP, SuperTrend, Ichimoku, ...

Every indicator here is written once as an update over a small float64 state, like the TA-Lib twins
in ``_trend`` and ``_volatility``, and reuses their arithmetic where it shares their building blocks:
an EMA is TA-Lib's (seeded with the SMA of its first inputs, one fused multiply-add per bar) and an
ATR is Wilder's as TA-Lib computes it (true ranges from the second bar, seeded with their mean,
first value at bar ``period``), so a Keltner middle line equals ``talib.EMA`` and its width
``talib.ATR`` bit for bit.

Windows keep their last values in a ring inside the state. Rolling extremes use a causal van
Herk / Gil-Werman block scheme (O(1) per bar whatever the window, no data-dependent loop). Rolling
sums are updated in O(1) and re-summed exactly each time the ring wraps, so rounding never
accumulates beyond one window: a long series that falls from 10,000 to 1 keeps full precision. A
window whose inputs are all identical (a halted market) is recognised by counting the run of
identical inputs, so its mean is that input exactly and its deviation exactly 0; comparisons such
as SSL's switch and TTM's squeeze then do not flip on rounding noise.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._common import fma, true_range
from neurotrade.indicators._params import MAX_PERIOD, Greater, Param, period
from neurotrade.indicators._registry import IndicatorInfo, register
from neurotrade.indicators._trend import _ema_next

__all__: list[str] = []


# --- building blocks ------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy", inline="always")
def _atr_next(t, n, keep, total, atr, tr):
    """Feed bar ``t``'s true range (``t >= 1``) to Wilder's ATR as TA-Lib computes it.

    Returns the new ``(total, atr)`` and the output, NaN until bar ``n``. ``keep`` is ``(n - 1) / n``.
    """
    if t < n:
        return total + tr, atr, np.nan
    if t == n:
        total += tr
        atr = total / n
        return total, atr, atr
    atr = fma(keep, atr, tr * (1.0 - keep))
    return total, atr, atr


@njit(cache=True, error_model="numpy", inline="always")
def _smma_next(seen, total, value, n, keep, x):
    """Feed ``x`` to Williams' smoothed moving average (Wilder's average), ``keep = (n - 1) / n``.

    Seeded with the SMA of its first ``n`` inputs, then ``keep * value + (1 - keep) * x``, the
    same value as ``(value * (n - 1) + x) / n`` but in one fused multiply-add (as TA-Lib's ATR),
    which keeps the division out of the bar-to-bar dependency chain. Returns
    ``(seen, total, value, out)``.
    """
    if seen < n:
        total += x
        seen += 1.0
        if seen < n:
            return seen, total, value, np.nan
        value = total / n
        return seen, total, value, value
    value = fma(keep, value, x * (1.0 - keep))
    return seen, total, value, value


@njit(cache=True, error_model="numpy", inline="always")
def _window_max(ring, suffix, pos, prefix, x):
    """Add ``x`` at ``pos`` (the bar's index modulo the window) and return the window's maximum.

    The van Herk / Gil-Werman scheme, made causal: bars fall in blocks of ``size``; the window
    ending at ``pos`` is the tail of the previous block, whose suffix maxima ``suffix`` holds, plus
    the current block so far, whose maximum is ``prefix``. When a block is complete its suffix
    maxima are computed once, so each bar costs two comparisons plus one amortised, with no
    data-dependent loop. Returns ``(pos, prefix, maximum)``; push ``-x`` and negate for a minimum.
    The maximum is meaningless until ``size`` bars have been added.
    """
    size = ring.shape[0]
    ring[pos] = x
    if pos == 0 or x > prefix:
        prefix = x
    if pos == size - 1:
        best = x
        suffix[pos] = best
        for j in range(size - 2, -1, -1):
            if ring[j] > best:
                best = ring[j]
            suffix[j] = best
        return 0, prefix, prefix
    tail = suffix[pos + 1]
    return pos + 1, prefix, tail if tail > prefix else prefix


@njit(cache=True, error_model="numpy", inline="always")
def _sum_push(ring, head, total, x):
    """Put ``x`` in place of the window's oldest input (at ``head``) and update its sum.

    The ring starts as zeros, so the sum is right while it fills. Each time ``head`` wraps, the
    sum is recomputed from the ring, which bounds the rounding error to one window's worth.
    Returns the new ``(head, total)``.
    """
    size = ring.shape[0]
    total += x - ring[head]
    ring[head] = x
    head += 1
    if head == size:
        head = 0
        total = 0.0
        for i in range(size):
            total += ring[i]
    return head, total


@njit(cache=True, error_model="numpy", inline="always")
def _moments_push(ring, head, shift, dev, dev_sq, x):
    """Like :func:`_sum_push`, for the sums of ``x - shift`` and ``(x - shift) ** 2``.

    Sums of deviations from a value inside the window keep the variance accurate at any price
    level; at each wrap ``shift`` moves to the newest input and both sums are recomputed. (With a
    zero ring the first shift must be 0.) Returns ``(head, shift, dev, dev_sq)``.
    """
    size = ring.shape[0]
    d_old = ring[head] - shift
    d_new = x - shift
    dev += d_new - d_old
    dev_sq += d_new * d_new - d_old * d_old
    ring[head] = x
    head += 1
    if head == size:
        head = 0
        shift = x
        dev = 0.0
        dev_sq = 0.0
        for i in range(size):
            d = ring[i] - shift
            dev += d
            dev_sq += d * d
    return head, shift, dev, dev_sq


@njit(cache=True, error_model="numpy", inline="always")
def _mean_std(n, shift, dev, dev_sq, run, last):
    """The window's mean and population standard deviation from :func:`_moments_push`'s sums.

    Exactly ``(last, 0)`` when its ``n`` inputs are one value repeated (``run >= n``).
    """
    if run >= n:
        return last, 0.0
    mean_dev = dev / n
    variance = dev_sq / n - mean_dev * mean_dev
    return shift + mean_dev, np.sqrt(variance) if variance > 0.0 else 0.0


# --- Keltner --------------------------------------------------------------------------------------
# State: bars seen, previous close, the EMA's (seen, sum, value), the ATR's (sum, value).
_KC_COUNT = 0
_KC_CLOSE = 1
_KC_EMA = 2
_KC_ATR_SUM = 5
_KC_ATR = 6


@njit(cache=True, error_model="numpy")
def _keltner_init(params):
    return np.zeros(_KC_ATR + 1)


@njit(cache=True, error_model="numpy")
def _keltner_update(state, params, bars, out):
    n, m, mult = params[0], params[1], params[2]
    keep = (m - 1.0) / m
    count, prev_close = state[_KC_COUNT], state[_KC_CLOSE]
    seen, total, value = state[_KC_EMA], state[_KC_EMA + 1], state[_KC_EMA + 2]
    atr_sum, atr = state[_KC_ATR_SUM], state[_KC_ATR]
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        seen, total, value, middle = _ema_next(seen, total, value, n, close)
        width = np.nan
        if t > 0.0:
            atr_sum, atr, width = _atr_next(t, m, keep, atr_sum, atr, true_range(high, low, prev_close))
        prev_close = close
        if np.isnan(middle) or np.isnan(width):
            out[row, 0] = np.nan
            out[row, 1] = np.nan
            out[row, 2] = np.nan
            continue
        width *= mult
        out[row, 0] = middle + width
        out[row, 1] = middle
        out[row, 2] = middle - width
    state[_KC_COUNT], state[_KC_CLOSE] = count, prev_close
    state[_KC_EMA], state[_KC_EMA + 1], state[_KC_EMA + 2] = seen, total, value
    state[_KC_ATR_SUM], state[_KC_ATR] = atr_sum, atr


# --- Donchian -------------------------------------------------------------------------------------
# State: bars seen, position in the block, the block maxima of the highs and of the negated lows,
# then the ring and suffix maxima of each.
_DC_COUNT = 0
_DC_POS = 1
_DC_HIGH = 2
_DC_LOW = 3
_DC_RINGS = 4


@njit(cache=True, error_model="numpy")
def _donchian_init(params):
    return np.zeros(_DC_RINGS + 4 * int(params[0]))


@njit(cache=True, error_model="numpy")
def _donchian_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    rings = state[_DC_RINGS:]
    hi_ring, hi_suffix = rings[:size], rings[size : 2 * size]
    lo_ring, lo_suffix = rings[2 * size : 3 * size], rings[3 * size :]
    count, pos = state[_DC_COUNT], int(state[_DC_POS])
    hi_prefix, lo_prefix = state[_DC_HIGH], state[_DC_LOW]
    for row in range(bars.shape[0]):
        t = count
        count += 1.0
        _, hi_prefix, upper = _window_max(hi_ring, hi_suffix, pos, hi_prefix, bars[row, 0])
        pos, lo_prefix, lower = _window_max(lo_ring, lo_suffix, pos, lo_prefix, -bars[row, 1])
        if t < n - 1.0:
            out[row, 0] = np.nan
            out[row, 1] = np.nan
            out[row, 2] = np.nan
            continue
        lower = -lower
        out[row, 0] = upper
        out[row, 1] = (upper + lower) / 2.0
        out[row, 2] = lower
    state[_DC_COUNT], state[_DC_POS] = count, pos
    state[_DC_HIGH], state[_DC_LOW] = hi_prefix, lo_prefix


# --- VWAP -----------------------------------------------------------------------------------------
# State: bars seen, ring head, sums of traded value, volume and typical price, the run of bars
# without volume, then rings of traded value, volume and typical price.
_VWAP_COUNT = 0
_VWAP_HEAD = 1
_VWAP_TRADED = 2
_VWAP_VOLUME = 3
_VWAP_TYPICAL = 4
_VWAP_IDLE = 5
_VWAP_RINGS = 6


@njit(cache=True, error_model="numpy")
def _vwap_init(params):
    return np.zeros(_VWAP_RINGS + 3 * int(params[0]))


@njit(cache=True, error_model="numpy")
def _vwap_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    rings = state[_VWAP_RINGS:]
    traded_ring, volume_ring, typical_ring = rings[:size], rings[size : 2 * size], rings[2 * size :]
    count, head = state[_VWAP_COUNT], int(state[_VWAP_HEAD])
    traded, volume, typical_sum = state[_VWAP_TRADED], state[_VWAP_VOLUME], state[_VWAP_TYPICAL]
    idle = state[_VWAP_IDLE]
    for row in range(bars.shape[0]):
        high, low, close, v = bars[row, 0], bars[row, 1], bars[row, 2], bars[row, 3]
        t = count
        count += 1.0
        typical = (high + low + close) / 3.0
        _, traded = _sum_push(traded_ring, head, traded, typical * v)
        _, volume = _sum_push(volume_ring, head, volume, v)
        head, typical_sum = _sum_push(typical_ring, head, typical_sum, typical)
        idle = idle + 1.0 if v == 0.0 else 0.0
        if t < n - 1.0:
            out[row, 0] = np.nan
        elif idle >= n:
            # Nothing traded in the window: every bar weighs the same.
            out[row, 0] = typical_sum / n
        else:
            out[row, 0] = traded / volume
    state[_VWAP_COUNT], state[_VWAP_HEAD] = count, head
    state[_VWAP_TRADED], state[_VWAP_VOLUME], state[_VWAP_TYPICAL] = traded, volume, typical_sum
    state[_VWAP_IDLE] = idle


# --- CMF ------------------------------------------------------------------------------------------
# State: bars seen, ring head, sums of money-flow volume and volume, the run of bars without
# volume, then rings of money-flow volume and volume.
_CMF_COUNT = 0
_CMF_HEAD = 1
_CMF_FLOW = 2
_CMF_VOLUME = 3
_CMF_IDLE = 4
_CMF_RINGS = 5


@njit(cache=True, error_model="numpy")
def _cmf_init(params):
    return np.zeros(_CMF_RINGS + 2 * int(params[0]))


@njit(cache=True, error_model="numpy")
def _cmf_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    rings = state[_CMF_RINGS:]
    flow_ring, volume_ring = rings[:size], rings[size:]
    count, head = state[_CMF_COUNT], int(state[_CMF_HEAD])
    flow, volume, idle = state[_CMF_FLOW], state[_CMF_VOLUME], state[_CMF_IDLE]
    for row in range(bars.shape[0]):
        high, low, close, v = bars[row, 0], bars[row, 1], bars[row, 2], bars[row, 3]
        t = count
        count += 1.0
        spread = high - low
        # A bar without a range moves no money (TA-Lib's AD skips it the same way).
        bar_flow = (((close - low) - (high - close)) / spread) * v if spread > 0.0 else 0.0
        _, flow = _sum_push(flow_ring, head, flow, bar_flow)
        head, volume = _sum_push(volume_ring, head, volume, v)
        idle = idle + 1.0 if v == 0.0 else 0.0
        if t < n - 1.0:
            out[row, 0] = np.nan
        elif idle >= n:
            out[row, 0] = 0.0
        else:
            out[row, 0] = flow / volume
    state[_CMF_COUNT], state[_CMF_HEAD] = count, head
    state[_CMF_FLOW], state[_CMF_VOLUME], state[_CMF_IDLE] = flow, volume, idle


# --- SuperTrend -----------------------------------------------------------------------------------
# State: bars seen, previous close, the ATR's (sum, value), the final upper and lower bands, the
# direction (+1 up, -1 down).
_ST_COUNT = 0
_ST_CLOSE = 1
_ST_ATR_SUM = 2
_ST_ATR = 3
_ST_UPPER = 4
_ST_LOWER = 5
_ST_DIRECTION = 6


@njit(cache=True, error_model="numpy")
def _supertrend_init(params):
    return np.zeros(_ST_DIRECTION + 1)


@njit(cache=True, error_model="numpy")
def _supertrend_update(state, params, bars, out):
    n, mult = params[0], params[1]
    keep = (n - 1.0) / n
    count, prev_close = state[_ST_COUNT], state[_ST_CLOSE]
    atr_sum, atr = state[_ST_ATR_SUM], state[_ST_ATR]
    upper, lower, direction = state[_ST_UPPER], state[_ST_LOWER], state[_ST_DIRECTION]
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        width = np.nan
        if t > 0.0:
            atr_sum, atr, width = _atr_next(t, n, keep, atr_sum, atr, true_range(high, low, prev_close))
        if np.isnan(width):
            prev_close = close
            out[row, 0] = np.nan
            out[row, 1] = np.nan
            continue
        middle = (high + low) / 2.0
        basic_upper = middle + mult * width
        basic_lower = middle - mult * width
        if t == n:
            # TradingView's ta.supertrend starts in a downtrend, the line on the upper band.
            upper, lower, direction = basic_upper, basic_lower, -1.0
        else:
            # A band only tightens, unless the previous close went through it.
            if basic_lower > lower or prev_close < lower:
                lower = basic_lower
            if basic_upper < upper or prev_close > upper:
                upper = basic_upper
            if direction < 0.0 and close > upper:
                direction = 1.0
            elif direction > 0.0 and close < lower:
                direction = -1.0
        prev_close = close
        out[row, 0] = lower if direction > 0.0 else upper
        out[row, 1] = direction
    state[_ST_COUNT], state[_ST_CLOSE] = count, prev_close
    state[_ST_ATR_SUM], state[_ST_ATR] = atr_sum, atr
    state[_ST_UPPER], state[_ST_LOWER], state[_ST_DIRECTION] = upper, lower, direction


# --- Ichimoku -------------------------------------------------------------------------------------
# State: bars seen, the position in the block of the tenkan, kijun and senkou windows, the block
# maxima of the highs and of the negated lows over each window, then the rings and suffix maxima.
_ICHI_COUNT = 0
_ICHI_POS = 1
_ICHI_PREFIX = 4
_ICHI_RINGS = 10


@njit(cache=True, error_model="numpy")
def _ichimoku_init(params):
    return np.zeros(_ICHI_RINGS + 4 * (int(params[0]) + int(params[1]) + int(params[2])))


@njit(cache=True, error_model="numpy")
def _ichimoku_update(state, params, bars, out):
    a, b, c = int(params[0]), int(params[1]), int(params[2])
    ready = params[2] - 1.0
    # Per window: the highs' ring and suffix maxima, then the negated lows' ring and suffix maxima.
    r = state[_ICHI_RINGS:]
    a_hr, a_hs, a_lr, a_ls = r[:a], r[a : 2 * a], r[2 * a : 3 * a], r[3 * a : 4 * a]
    r = r[4 * a :]
    b_hr, b_hs, b_lr, b_ls = r[:b], r[b : 2 * b], r[2 * b : 3 * b], r[3 * b : 4 * b]
    r = r[4 * b :]
    c_hr, c_hs, c_lr, c_ls = r[:c], r[c : 2 * c], r[2 * c : 3 * c], r[3 * c : 4 * c]
    count = state[_ICHI_COUNT]
    a_pos, b_pos, c_pos = int(state[_ICHI_POS]), int(state[_ICHI_POS + 1]), int(state[_ICHI_POS + 2])
    q = _ICHI_PREFIX
    a_hi, a_lo, b_hi, b_lo = state[q], state[q + 1], state[q + 2], state[q + 3]
    c_hi, c_lo = state[q + 4], state[q + 5]
    for row in range(bars.shape[0]):
        high, low = bars[row, 0], -bars[row, 1]
        t = count
        count += 1.0
        _, a_hi, a_high = _window_max(a_hr, a_hs, a_pos, a_hi, high)
        a_pos, a_lo, a_low = _window_max(a_lr, a_ls, a_pos, a_lo, low)
        _, b_hi, b_high = _window_max(b_hr, b_hs, b_pos, b_hi, high)
        b_pos, b_lo, b_low = _window_max(b_lr, b_ls, b_pos, b_lo, low)
        _, c_hi, c_high = _window_max(c_hr, c_hs, c_pos, c_hi, high)
        c_pos, c_lo, c_low = _window_max(c_lr, c_ls, c_pos, c_lo, low)
        if t < ready:
            out[row, 0] = np.nan
            out[row, 1] = np.nan
            out[row, 2] = np.nan
            out[row, 3] = np.nan
            continue
        # The lows are negated, so highest + lowest is a difference here.
        tenkan = (a_high - a_low) / 2.0
        kijun = (b_high - b_low) / 2.0
        out[row, 0] = tenkan
        out[row, 1] = kijun
        out[row, 2] = (tenkan + kijun) / 2.0
        out[row, 3] = (c_high - c_low) / 2.0
    state[_ICHI_COUNT] = count
    state[_ICHI_POS], state[_ICHI_POS + 1], state[_ICHI_POS + 2] = a_pos, b_pos, c_pos
    state[q], state[q + 1], state[q + 2], state[q + 3] = a_hi, a_lo, b_hi, b_lo
    state[q + 4], state[q + 5] = c_hi, c_lo


# --- Chandelier exit ------------------------------------------------------------------------------
# State: bars seen, previous close, the ATR's (sum, value), position in the block, the block maxima
# of the highs and of the negated lows, then the ring and suffix maxima of each.
_CE_COUNT = 0
_CE_CLOSE = 1
_CE_ATR_SUM = 2
_CE_ATR = 3
_CE_POS = 4
_CE_HIGH = 5
_CE_LOW = 6
_CE_RINGS = 7


@njit(cache=True, error_model="numpy")
def _chandelier_init(params):
    return np.zeros(_CE_RINGS + 4 * int(params[0]))


@njit(cache=True, error_model="numpy")
def _chandelier_update(state, params, bars, out):
    n, m, mult = params[0], params[1], params[2]
    size = int(n)
    keep = (m - 1.0) / m
    rings = state[_CE_RINGS:]
    hi_ring, hi_suffix = rings[:size], rings[size : 2 * size]
    lo_ring, lo_suffix = rings[2 * size : 3 * size], rings[3 * size :]
    count, prev_close = state[_CE_COUNT], state[_CE_CLOSE]
    atr_sum, atr = state[_CE_ATR_SUM], state[_CE_ATR]
    pos, hi_prefix, lo_prefix = int(state[_CE_POS]), state[_CE_HIGH], state[_CE_LOW]
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        _, hi_prefix, highest = _window_max(hi_ring, hi_suffix, pos, hi_prefix, high)
        pos, lo_prefix, lowest = _window_max(lo_ring, lo_suffix, pos, lo_prefix, -low)
        width = np.nan
        if t > 0.0:
            atr_sum, atr, width = _atr_next(t, m, keep, atr_sum, atr, true_range(high, low, prev_close))
        prev_close = close
        if t < n - 1.0 or np.isnan(width):
            out[row, 0] = np.nan
            out[row, 1] = np.nan
            continue
        width *= mult
        out[row, 0] = highest - width
        out[row, 1] = -lowest + width
    state[_CE_COUNT], state[_CE_CLOSE] = count, prev_close
    state[_CE_ATR_SUM], state[_CE_ATR] = atr_sum, atr
    state[_CE_POS], state[_CE_HIGH], state[_CE_LOW] = pos, hi_prefix, lo_prefix


# --- SSL channel ----------------------------------------------------------------------------------
# State: bars seen, ring head, sums of the highs and lows, the runs of identical highs and lows
# and the last of each, the switch (hlv), then rings of highs and lows.
_SSL_COUNT = 0
_SSL_HEAD = 1
_SSL_HIGH_SUM = 2
_SSL_LOW_SUM = 3
_SSL_HIGH_RUN = 4
_SSL_LOW_RUN = 5
_SSL_HIGH_LAST = 6
_SSL_LOW_LAST = 7
_SSL_HLV = 8
_SSL_RINGS = 9


@njit(cache=True, error_model="numpy")
def _ssl_init(params):
    return np.zeros(_SSL_RINGS + 2 * int(params[0]))


@njit(cache=True, error_model="numpy")
def _ssl_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    rings = state[_SSL_RINGS:]
    high_ring, low_ring = rings[:size], rings[size:]
    count, head = state[_SSL_COUNT], int(state[_SSL_HEAD])
    high_sum, low_sum = state[_SSL_HIGH_SUM], state[_SSL_LOW_SUM]
    high_run, low_run = state[_SSL_HIGH_RUN], state[_SSL_LOW_RUN]
    high_last, low_last = state[_SSL_HIGH_LAST], state[_SSL_LOW_LAST]
    hlv = state[_SSL_HLV]
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        _, high_sum = _sum_push(high_ring, head, high_sum, high)
        head, low_sum = _sum_push(low_ring, head, low_sum, low)
        high_run = high_run + 1.0 if high == high_last else 1.0
        low_run = low_run + 1.0 if low == low_last else 1.0
        high_last, low_last = high, low
        if t < n - 1.0:
            out[row, 0] = np.nan
            out[row, 1] = np.nan
            continue
        sma_high = high if high_run >= n else high_sum / n
        sma_low = low if low_run >= n else low_sum / n
        # Between the two averages the switch keeps its last side. (A select, not a branch: the
        # close's side is unpredictable and mispredictions tripled this kernel's time.)
        hlv = 1.0 if close > sma_high else (-1.0 if close < sma_low else hlv)
        if hlv < 0.0:
            out[row, 0] = sma_low
            out[row, 1] = sma_high
        else:
            out[row, 0] = sma_high
            out[row, 1] = sma_low
    state[_SSL_COUNT], state[_SSL_HEAD] = count, head
    state[_SSL_HIGH_SUM], state[_SSL_LOW_SUM] = high_sum, low_sum
    state[_SSL_HIGH_RUN], state[_SSL_LOW_RUN] = high_run, low_run
    state[_SSL_HIGH_LAST], state[_SSL_LOW_LAST] = high_last, low_last
    state[_SSL_HLV] = hlv


# --- TTM squeeze ----------------------------------------------------------------------------------
# State: bars seen, ring head, previous close; the closes' shift and sums of deviations, their run
# and the last close; the sum of true ranges and the run of zero ones; the sums of the detrended
# closes y and of j * y (j = 0 for the oldest); the block maxima of the highs and of the negated
# lows; then rings of closes, true ranges and y, and the rings and suffix maxima of the extremes.
# Every window has `period` bars, so one head is every ring's position.
_TTM_COUNT = 0
_TTM_HEAD = 1
_TTM_CLOSE = 2
_TTM_SHIFT = 3
_TTM_DEV = 4
_TTM_DEV_SQ = 5
_TTM_RUN = 6
_TTM_TR_SUM = 7
_TTM_TR_RUN = 8
_TTM_Y_SUM = 9
_TTM_JY_SUM = 10
_TTM_HIGH = 11
_TTM_LOW = 12
_TTM_RINGS = 13


@njit(cache=True, error_model="numpy")
def _ttm_squeeze_init(params):
    return np.zeros(_TTM_RINGS + 7 * int(params[0]))


@njit(cache=True, error_model="numpy")
def _ttm_squeeze_update(state, params, bars, out):
    n, bb_mult, kc_mult = params[0], params[1], params[2]
    size = int(n)
    # Least squares over j = 0 .. n-1: the line's value at the newest bar is
    # mean(y) + slope * (n - 1) / 2, with slope = (sum(j y) - (n - 1) / 2 * sum(y)) / (n (n^2 - 1) / 12).
    half = (n - 1.0) / 2.0
    spread_j = n * (n * n - 1.0) / 12.0
    ready = 2.0 * n - 2.0
    rings = state[_TTM_RINGS:]
    close_ring, tr_ring, y_ring = rings[:size], rings[size : 2 * size], rings[2 * size : 3 * size]
    hi_ring, hi_suffix = rings[3 * size : 4 * size], rings[4 * size : 5 * size]
    lo_ring, lo_suffix = rings[5 * size : 6 * size], rings[6 * size :]
    count, head, prev_close = state[_TTM_COUNT], int(state[_TTM_HEAD]), state[_TTM_CLOSE]
    shift, dev, dev_sq, run = state[_TTM_SHIFT], state[_TTM_DEV], state[_TTM_DEV_SQ], state[_TTM_RUN]
    tr_sum, tr_run = state[_TTM_TR_SUM], state[_TTM_TR_RUN]
    y_sum, jy_sum = state[_TTM_Y_SUM], state[_TTM_JY_SUM]
    hi_prefix, lo_prefix = state[_TTM_HIGH], state[_TTM_LOW]
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        # The first bar has no true range; a 0 holds its slot, and no output's window reaches it.
        tr = true_range(high, low, prev_close) if t > 0.0 else 0.0
        run = run + 1.0 if close == prev_close and t > 0.0 else 1.0
        tr_run = tr_run + 1.0 if tr == 0.0 else 0.0
        prev_close = close
        _, hi_prefix, highest = _window_max(hi_ring, hi_suffix, head, hi_prefix, high)
        _, lo_prefix, lowest = _window_max(lo_ring, lo_suffix, head, lo_prefix, -low)
        _, shift, dev, dev_sq = _moments_push(close_ring, head, shift, dev, dev_sq, close)
        _, tr_sum = _sum_push(tr_ring, head, tr_sum, tr)

        y = basis = deviation = 0.0
        if t >= n - 1.0:
            basis, deviation = _mean_std(n, shift, dev, dev_sq, run, close)
            y = close - ((highest - lowest) / 2.0 + basis) / 2.0
        # Sliding the window drops the oldest y and lowers every other j by one.
        oldest = y_ring[head]
        jy_sum += (n - 1.0) * y - (y_sum - oldest)
        y_sum += y - oldest
        y_ring[head] = y
        head += 1
        if head == size:
            head = 0
            y_sum = 0.0
            jy_sum = 0.0
            for j in range(size):
                y_sum += y_ring[j]
                jy_sum += j * y_ring[j]

        if t < ready:
            out[row, 0] = np.nan
            out[row, 1] = np.nan
            continue
        deviation *= bb_mult
        keltner = (0.0 if tr_run >= n else tr_sum / n) * kc_mult
        inside = basis - deviation > basis - keltner and basis + deviation < basis + keltner
        out[row, 0] = 1.0 if inside else 0.0
        out[row, 1] = y_sum / n + half * ((jy_sum - half * y_sum) / spread_j)
    state[_TTM_COUNT], state[_TTM_HEAD], state[_TTM_CLOSE] = count, head, prev_close
    state[_TTM_SHIFT], state[_TTM_DEV], state[_TTM_DEV_SQ], state[_TTM_RUN] = shift, dev, dev_sq, run
    state[_TTM_TR_SUM], state[_TTM_TR_RUN] = tr_sum, tr_run
    state[_TTM_Y_SUM], state[_TTM_JY_SUM] = y_sum, jy_sum
    state[_TTM_HIGH], state[_TTM_LOW] = hi_prefix, lo_prefix


# --- Alligator ------------------------------------------------------------------------------------
# State: (seen, sum, value) of the jaw's, the teeth's and the lips' SMMAs.
_AL_JAW = 0
_AL_TEETH = 3
_AL_LIPS = 6


@njit(cache=True, error_model="numpy")
def _alligator_init(params):
    return np.zeros(_AL_LIPS + 3)


@njit(cache=True, error_model="numpy")
def _alligator_update(state, params, bars, out):
    jaw_n, teeth_n, lips_n = params[0], params[1], params[2]
    jaw_keep, teeth_keep, lips_keep = (jaw_n - 1.0) / jaw_n, (teeth_n - 1.0) / teeth_n, (lips_n - 1.0) / lips_n
    j_seen, j_sum, j_value = state[_AL_JAW], state[_AL_JAW + 1], state[_AL_JAW + 2]
    t_seen, t_sum, t_value = state[_AL_TEETH], state[_AL_TEETH + 1], state[_AL_TEETH + 2]
    l_seen, l_sum, l_value = state[_AL_LIPS], state[_AL_LIPS + 1], state[_AL_LIPS + 2]
    for row in range(bars.shape[0]):
        median = (bars[row, 0] + bars[row, 1]) / 2.0
        j_seen, j_sum, j_value, jaw = _smma_next(j_seen, j_sum, j_value, jaw_n, jaw_keep, median)
        t_seen, t_sum, t_value, teeth = _smma_next(t_seen, t_sum, t_value, teeth_n, teeth_keep, median)
        l_seen, l_sum, l_value, lips = _smma_next(l_seen, l_sum, l_value, lips_n, lips_keep, median)
        if np.isnan(jaw) or np.isnan(teeth) or np.isnan(lips):
            out[row, 0] = np.nan
            out[row, 1] = np.nan
            out[row, 2] = np.nan
            continue
        out[row, 0] = jaw
        out[row, 1] = teeth
        out[row, 2] = lips
    state[_AL_JAW], state[_AL_JAW + 1], state[_AL_JAW + 2] = j_seen, j_sum, j_value
    state[_AL_TEETH], state[_AL_TEETH + 1], state[_AL_TEETH + 2] = t_seen, t_sum, t_value
    state[_AL_LIPS], state[_AL_LIPS + 1], state[_AL_LIPS + 2] = l_seen, l_sum, l_value


# --- Vortex ---------------------------------------------------------------------------------------
# State: bars seen, ring head, previous high, low and close, sums of VM+, VM- and the true range,
# the run of zero true ranges, then rings of VM+, VM- and the true range.
_VX_COUNT = 0
_VX_HEAD = 1
_VX_HIGH = 2
_VX_LOW = 3
_VX_CLOSE = 4
_VX_PLUS = 5
_VX_MINUS = 6
_VX_TR = 7
_VX_STILL = 8
_VX_RINGS = 9


@njit(cache=True, error_model="numpy")
def _vortex_init(params):
    return np.zeros(_VX_RINGS + 3 * int(params[0]))


@njit(cache=True, error_model="numpy")
def _vortex_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    rings = state[_VX_RINGS:]
    plus_ring, minus_ring, tr_ring = rings[:size], rings[size : 2 * size], rings[2 * size :]
    count, head = state[_VX_COUNT], int(state[_VX_HEAD])
    prev_high, prev_low, prev_close = state[_VX_HIGH], state[_VX_LOW], state[_VX_CLOSE]
    plus, minus, tr_sum, still = state[_VX_PLUS], state[_VX_MINUS], state[_VX_TR], state[_VX_STILL]
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        # The first bar has no previous bar; zeros hold its slots, and no output's window reaches it.
        vm_plus = vm_minus = tr = 0.0
        if t > 0.0:
            vm_plus = np.abs(high - prev_low)
            vm_minus = np.abs(low - prev_high)
            tr = true_range(high, low, prev_close)
        prev_high, prev_low, prev_close = high, low, close
        _, plus = _sum_push(plus_ring, head, plus, vm_plus)
        _, minus = _sum_push(minus_ring, head, minus, vm_minus)
        head, tr_sum = _sum_push(tr_ring, head, tr_sum, tr)
        still = still + 1.0 if tr == 0.0 else 0.0
        if t < n:
            out[row, 0] = np.nan
            out[row, 1] = np.nan
        elif still >= n:
            # No true range in the window: report no vortex, as TA-Lib's +DI/-DI report 0.
            out[row, 0] = 0.0
            out[row, 1] = 0.0
        else:
            out[row, 0] = plus / tr_sum
            out[row, 1] = minus / tr_sum
    state[_VX_COUNT], state[_VX_HEAD] = count, head
    state[_VX_HIGH], state[_VX_LOW], state[_VX_CLOSE] = prev_high, prev_low, prev_close
    state[_VX_PLUS], state[_VX_MINUS], state[_VX_TR], state[_VX_STILL] = plus, minus, tr_sum, still


# --- Chaikin volatility ---------------------------------------------------------------------------
# State: bars seen, the EMA's (seen, sum, value), ring head, then a ring of the last `roc_period`
# EMA values.
_CV_COUNT = 0
_CV_EMA = 1
_CV_HEAD = 4
_CV_RING = 5


@njit(cache=True, error_model="numpy")
def _chaikin_volatility_init(params):
    return np.zeros(_CV_RING + int(params[1]))


@njit(cache=True, error_model="numpy")
def _chaikin_volatility_update(state, params, bars, out):
    n, r = params[0], params[1]
    size = int(r)
    ready = n - 1.0 + r
    ring = state[_CV_RING:]
    count, head = state[_CV_COUNT], int(state[_CV_HEAD])
    seen, total, value = state[_CV_EMA], state[_CV_EMA + 1], state[_CV_EMA + 2]
    for row in range(bars.shape[0]):
        t = count
        count += 1.0
        seen, total, value, ema = _ema_next(seen, total, value, n, bars[row, 0] - bars[row, 1])
        out[row, 0] = np.nan
        if np.isnan(ema):
            continue
        before = ring[head]
        ring[head] = ema
        head += 1
        if head == size:
            head = 0
        if t >= ready:
            # TA-Lib's ROC: the ratio minus one, and 0 rather than a division by zero.
            out[row, 0] = ((ema / before) - 1.0) * 100.0 if before != 0.0 else 0.0
    state[_CV_COUNT], state[_CV_HEAD] = count, head
    state[_CV_EMA], state[_CV_EMA + 1], state[_CV_EMA + 2] = seen, total, value


# --- Damiani volatmeter ---------------------------------------------------------------------------
# State: bars seen, previous close and the run of identical closes, (sum, value) of the short and
# the long ATR, vol one, two and three bars ago, then for the short and the long window of closes
# (head, shift, sum of deviations, sum of squared deviations), then the two rings of closes.
_DV_COUNT = 0
_DV_CLOSE = 1
_DV_RUN = 2
_DV_ATR_VIS = 3
_DV_ATR_SED = 5
_DV_VOL = 7
_DV_STD_VIS = 10
_DV_STD_SED = 14
_DV_RINGS = 18


@njit(cache=True, error_model="numpy")
def _damiani_init(params):
    return np.zeros(_DV_RINGS + int(params[1]) + int(params[3]))


@njit(cache=True, error_model="numpy")
def _damiani_update(state, params, bars, out):
    vis_atr, vis_std, sed_atr, sed_std = params[0], params[1], params[2], params[3]
    level, lag = params[4], params[5]
    keep_vis = (vis_atr - 1.0) / vis_atr
    keep_sed = (sed_atr - 1.0) / sed_atr
    ready = max(sed_atr, sed_std - 1.0)
    rings = state[_DV_RINGS:]
    vis_ring, sed_ring = rings[: int(vis_std)], rings[int(vis_std) :]
    count, prev_close, run = state[_DV_COUNT], state[_DV_CLOSE], state[_DV_RUN]
    vis_sum, vis = state[_DV_ATR_VIS], state[_DV_ATR_VIS + 1]
    sed_sum, sed = state[_DV_ATR_SED], state[_DV_ATR_SED + 1]
    vol1, vol2, vol3 = state[_DV_VOL], state[_DV_VOL + 1], state[_DV_VOL + 2]
    s = _DV_STD_VIS
    vis_head, vis_shift, vis_dev, vis_dev_sq = int(state[s]), state[s + 1], state[s + 2], state[s + 3]
    s = _DV_STD_SED
    sed_head, sed_shift, sed_dev, sed_dev_sq = int(state[s]), state[s + 1], state[s + 2], state[s + 3]
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        short = long = np.nan
        if t > 0.0:
            tr = true_range(high, low, prev_close)
            vis_sum, vis, short = _atr_next(t, vis_atr, keep_vis, vis_sum, vis, tr)
            sed_sum, sed, long = _atr_next(t, sed_atr, keep_sed, sed_sum, sed, tr)
        run = run + 1.0 if close == prev_close and t > 0.0 else 1.0
        prev_close = close
        vis_head, vis_shift, vis_dev, vis_dev_sq = _moments_push(
            vis_ring, vis_head, vis_shift, vis_dev, vis_dev_sq, close
        )
        sed_head, sed_shift, sed_dev, sed_dev_sq = _moments_push(
            sed_ring, sed_head, sed_shift, sed_dev, sed_dev_sq, close
        )
        vol = np.nan
        if not np.isnan(long):
            # A market that has not moved has no volatility to trade: 0 rather than 0 / 0.
            ratio = short / long if long > 0.0 else 0.0
            # The lag suppressor reads vol one and three bars back, 0 before its first value.
            vol = ratio + lag * (vol1 - vol3)
            vol1, vol2, vol3 = vol, vol1, vol2
        if t < ready:
            out[row, 0] = np.nan
            out[row, 1] = np.nan
            continue
        std_vis = _mean_std(vis_std, vis_shift, vis_dev, vis_dev_sq, run, close)[1]
        std_sed = _mean_std(sed_std, sed_shift, sed_dev, sed_dev_sq, run, close)[1]
        out[row, 0] = vol
        out[row, 1] = level - (std_vis / std_sed if std_sed > 0.0 else 0.0)
    state[_DV_COUNT], state[_DV_CLOSE], state[_DV_RUN] = count, prev_close, run
    state[_DV_ATR_VIS], state[_DV_ATR_VIS + 1] = vis_sum, vis
    state[_DV_ATR_SED], state[_DV_ATR_SED + 1] = sed_sum, sed
    state[_DV_VOL], state[_DV_VOL + 1], state[_DV_VOL + 2] = vol1, vol2, vol3
    s = _DV_STD_VIS
    state[s], state[s + 1], state[s + 2], state[s + 3] = vis_head, vis_shift, vis_dev, vis_dev_sq
    s = _DV_STD_SED
    state[s], state[s + 1], state[s + 2], state[s + 3] = sed_head, sed_shift, sed_dev, sed_dev_sq


# --- declarations ---------------------------------------------------------------------------------
def _multiplier(default: float, description: str, name: str = "multiplier") -> Param:
    return Param(name, float, default, 0.0, None, description, exclusive_minimum=True)


_WILDER_ATR = "Wilder's ATR exactly as TA-Lib's ATR computes it (first value at bar `{}`)"
_TALIB_EMA = "TA-Lib's EMA (seeded with the SMA of its first `{0}` inputs, then alpha = 2 / ({0} + 1))"

register(
    IndicatorInfo(
        name="keltner",
        description="Keltner channel: EMA of the close plus/minus a multiple of the ATR.",
        params=(
            period(20, "bars in the EMA of the close (the middle line)"),
            period(10, "bars in the ATR", name="atr_period"),
            _multiplier(2.0, "ATRs from the middle line to each band"),
        ),
        inputs=("high", "low", "close"),
        outputs=("upper", "middle", "lower"),
        talib=None,
        definition=(
            "middle = EMA(close, period); upper/lower = middle +/- multiplier * ATR(atr_period). The EMA is "
            + _TALIB_EMA.format("period")
            + " and the ATR "
            + _WILDER_ATR.format("atr_period")
            + ", so the middle line equals talib.EMA. Linda Bradford Raschke's modern form of the channel "
            "of Chester W. Keltner, 'How to Make Money in Commodities' (1960), which used a 10-day SMA "
            "of the typical price and the average daily range."
        ),
    ),
    init=_keltner_init,
    update=_keltner_update,
    lookback=lambda p: max(int(p["period"]) - 1, int(p["atr_period"])),
)

register(
    IndicatorInfo(
        name="donchian",
        description="Donchian channel: highest high and lowest low of the last `period` bars, and their mid.",
        params=(period(20, "bars in the window, the current bar included"),),
        inputs=("high", "low"),
        outputs=("upper", "middle", "lower"),
        talib=None,
        definition=(
            "upper = max(high) and lower = min(low) over the last `period` bars including the current "
            "one; middle = (upper + lower) / 2. Richard D. Donchian's price channel ('High Finance in "
            "Copper', Financial Analysts Journal, 1960; the 4-week rule). A breakout test compares a "
            "bar with the previous bar's channel (use a lag of 1)."
        ),
    ),
    init=_donchian_init,
    update=_donchian_update,
    lookback=lambda p: int(p["period"]) - 1,
)

register(
    IndicatorInfo(
        name="vwap",
        description="Rolling volume-weighted average of the typical price over the last `period` bars.",
        params=(period(20, "bars in the rolling window"),),
        inputs=("high", "low", "close", "volume"),
        outputs=("vwap",),
        talib=None,
        definition=(
            "sum(typical * volume) / sum(volume) over the last `period` bars, typical = (high + low + "
            "close) / 3. A rolling window, never anchored to a session or to the future; a window with "
            "no volume at all gives the plain mean of its typical prices. VWAP as defined by "
            "Berkowitz, Logue and Noser, 'The Total Cost of Transactions on the NYSE', Journal of "
            "Finance (1988)."
        ),
    ),
    init=_vwap_init,
    update=_vwap_update,
    lookback=lambda p: int(p["period"]) - 1,
)

register(
    IndicatorInfo(
        name="cmf",
        description="Chaikin money flow: money-flow volume over volume in the last `period` bars, -1 to 1.",
        params=(period(20, "bars in the window"),),
        inputs=("high", "low", "close", "volume"),
        outputs=("cmf",),
        talib=None,
        definition=(
            "sum(mfm * volume) / sum(volume) over the last `period` bars, with the money-flow "
            "multiplier mfm = ((close - low) - (high - close)) / (high - low), 0 for a bar whose high "
            "equals its low (as TA-Lib's AD treats it); 0 when the window has no volume. Marc "
            "Chaikin's Chaikin Money Flow (1980s; StockCharts' 20-bar default, Chaikin used 21)."
        ),
    ),
    init=_cmf_init,
    update=_cmf_update,
    lookback=lambda p: int(p["period"]) - 1,
)

register(
    IndicatorInfo(
        name="supertrend",
        description="SuperTrend: a trailing ATR band that flips sides when the close crosses it.",
        params=(
            period(10, "bars in the ATR"),
            _multiplier(3.0, "ATRs from the median price to each band"),
        ),
        inputs=("high", "low", "close"),
        outputs=("supertrend", "direction"),
        talib=None,
        definition=(
            "Bands (high + low) / 2 +/- multiplier * ATR(period), the ATR "
            + _WILDER_ATR.format("period")
            + ". The upper band only falls and the lower band only rises, unless the previous close "
            "crossed it. In a downtrend (direction -1) the line is the upper band until a close above "
            "it turns the trend up; in an uptrend (+1) it is the lower band until a close below it. "
            "The first bar starts in a downtrend, as TradingView's ta.supertrend does (whose direction "
            "has the opposite sign: -1 there is an uptrend); the trend is tracked explicitly rather "
            "than read from which band the line equals. The SuperTrend attributed to the French "
            "trader Olivier Seban."
        ),
    ),
    init=_supertrend_init,
    update=_supertrend_update,
    lookback=lambda p: int(p["period"]),
)

register(
    IndicatorInfo(
        name="ichimoku",
        description="Ichimoku kinko hyo lines in causal form: tenkan, kijun, senkou A and B, undisplaced.",
        params=(
            period(9, "bars in the conversion line (tenkan-sen)", name="tenkan"),
            period(26, "bars in the base line (kijun-sen); must exceed tenkan", name="kijun"),
            period(52, "bars in leading span B (senkou span B); must exceed kijun", name="senkou"),
        ),
        inputs=("high", "low"),
        outputs=("tenkan", "kijun", "senkou_a", "senkou_b"),
        talib=None,
        definition=(
            "Each line is a midpoint (max(high) + min(low)) / 2: tenkan over `tenkan` bars, kijun over "
            "`kijun`, senkou_b over `senkou`; senkou_a = (tenkan + kijun) / 2. Causal form: every "
            "line is reported at the bar whose data it uses. A chart displaces both senkou spans "
            "`kijun` bars forward; their value under bar t there is this indicator's at t - kijun (a "
            "lag of `kijun` in the features). The chikou span (the close plotted `kijun` bars back) "
            "is left out: reading it at any bar needs the future. Goichi Hosoda (Ichimoku Sanjin), "
            "'Ichimoku Kinko Hyo' (1969)."
        ),
    ),
    init=_ichimoku_init,
    update=_ichimoku_update,
    lookback=lambda p: int(p["senkou"]) - 1,
    constraints=(Greater("kijun", "tenkan"), Greater("senkou", "kijun")),
)

register(
    IndicatorInfo(
        name="chandelier",
        description="Chandelier exit: stops a multiple of the ATR from the highest high and lowest low.",
        params=(
            period(22, "bars in the highest high and lowest low"),
            period(22, "bars in the ATR", name="atr_period"),
            _multiplier(3.0, "ATRs between the extreme and the stop"),
        ),
        inputs=("high", "low", "close"),
        outputs=("long_stop", "short_stop"),
        talib=None,
        definition=(
            "long_stop = max(high over `period` bars) - multiplier * ATR(atr_period); short_stop = "
            "min(low over `period` bars) + multiplier * ATR(atr_period); the ATR "
            + _WILDER_ATR.format("atr_period")
            + ". Chuck LeBeau's chandelier exit, as described in Alexander Elder, 'Come Into My "
            "Trading Room' (2002); the stops are the plain levels, not ratcheted."
        ),
    ),
    init=_chandelier_init,
    update=_chandelier_update,
    lookback=lambda p: max(int(p["period"]) - 1, int(p["atr_period"])),
)

register(
    IndicatorInfo(
        name="ssl",
        description="SSL channel: SMAs of the highs and lows, swapped when the close breaks out of them.",
        params=(period(10, "bars in the SMAs of the highs and of the lows"),),
        inputs=("high", "low", "close"),
        outputs=("up", "down"),
        talib=None,
        definition=(
            "hlv = +1 when close > SMA(high, period), -1 when close < SMA(low, period), else its "
            "previous value (0 at first, which counts as +1); up = SMA(high) and down = SMA(low) while "
            "hlv >= 0, swapped while hlv < 0, so up crossing above down marks a turn up. The SSL "
            "(Semaphore Signal Level) channel as published in the TradingView script 'SSL channel' "
            "by ErwinBeckers."
        ),
    ),
    init=_ssl_init,
    update=_ssl_update,
    lookback=lambda p: int(p["period"]) - 1,
)

register(
    IndicatorInfo(
        name="ttm_squeeze",
        description="TTM squeeze: 1 while the Bollinger Bands lie inside the Keltner channel, and momentum.",
        params=(
            period(20, "bars in the bands, the channel and the momentum regression"),
            _multiplier(2.0, "standard deviations in the Bollinger Bands", name="bb_mult"),
            _multiplier(1.5, "average true ranges in the Keltner channel", name="kc_mult"),
        ),
        inputs=("high", "low", "close"),
        outputs=("squeeze_on", "momentum"),
        talib=None,
        definition=(
            "With basis = SMA(close, period): squeeze_on = 1.0 when basis -/+ bb_mult * std(close) "
            "(population) lies strictly inside basis -/+ kc_mult * SMA(true range, period), else "
            "0.0. The channel's width is the simple average of the true range (as in LazyBear's "
            "script), not Wilder's ATR; the Bollinger width uses bb_mult (that script used the "
            "channel's multiplier for both by mistake). momentum = the value at the "
            "newest bar of the least-squares line through the last `period` values of close - "
            "((max(high) + min(low)) / 2 + basis) / 2. John F. Carter, 'Mastering the Trade' (2005), "
            "with the momentum of LazyBear's 'Squeeze Momentum Indicator' (TradingView, 2014)."
        ),
    ),
    init=_ttm_squeeze_init,
    update=_ttm_squeeze_update,
    lookback=lambda p: 2 * int(p["period"]) - 2,
)

register(
    IndicatorInfo(
        name="alligator",
        description="Williams' alligator in causal form: SMMAs of the median price, not shifted forward.",
        params=(
            period(13, "bars in the jaw's SMMA; must exceed teeth", name="jaw"),
            period(8, "bars in the teeth's SMMA; must exceed lips", name="teeth"),
            period(5, "bars in the lips' SMMA", name="lips"),
        ),
        inputs=("high", "low"),
        outputs=("jaw", "teeth", "lips"),
        talib=None,
        definition=(
            "jaw, teeth and lips = SMMA((high + low) / 2) over `jaw`, `teeth` and `lips` bars; the "
            "SMMA (Wilder's average) is seeded with the SMA of its first n inputs, then (smma * (n - 1) "
            "+ x) / n. Causal form: each line is reported at the bar whose data it uses. Williams' "
            "chart shifts the jaw 8, the teeth 5 and the lips 3 bars forward; the value under bar t "
            "there is this indicator's at t - 8 (t - 5, t - 3), i.e. a lag in the features. Bill "
            "Williams, 'New Trading Dimensions' (1998)."
        ),
    ),
    init=_alligator_init,
    update=_alligator_update,
    lookback=lambda p: int(p["jaw"]) - 1,
    constraints=(Greater("jaw", "teeth"), Greater("teeth", "lips")),
)

register(
    IndicatorInfo(
        name="vortex",
        description="Vortex indicator: upward and downward vortex movement over the true range.",
        params=(period(14, "bars in the sums"),),
        inputs=("high", "low", "close"),
        outputs=("vi_plus", "vi_minus"),
        talib=None,
        definition=(
            "vi_plus = sum(|high - previous low|) / sum(true range) and vi_minus = sum(|low - "
            "previous high|) / sum(true range) over the last `period` bars; both 0 when every true "
            "range in the window is 0 (as TA-Lib's +DI/-DI). Etienne Botes and Douglas Siepman, 'The "
            "Vortex Indicator', Technical Analysis of Stocks & Commodities (January 2010)."
        ),
    ),
    init=_vortex_init,
    update=_vortex_update,
    lookback=lambda p: int(p["period"]),
)

register(
    IndicatorInfo(
        name="chaikin_volatility",
        description="Chaikin volatility: percentage change of the EMA of high - low over `roc_period` bars.",
        params=(
            period(10, "bars in the EMA of high - low"),
            Param("roc_period", int, 10, 1, MAX_PERIOD, "bars over which its change is measured"),
        ),
        inputs=("high", "low"),
        outputs=("chaikin_volatility",),
        talib=None,
        definition=(
            "100 * (ema_t / ema_{t - roc_period} - 1) with ema = EMA(high - low, period), the EMA "
            + _TALIB_EMA.format("period")
            + "; 0 when the earlier EMA is 0, as TA-Lib's ROC. Marc Chaikin's volatility, as given "
            "in Steven B. Achelis, 'Technical Analysis from A to Z' (1995)."
        ),
    ),
    init=_chaikin_volatility_init,
    update=_chaikin_volatility_update,
    lookback=lambda p: int(p["period"]) - 1 + int(p["roc_period"]),
)

register(
    IndicatorInfo(
        name="damiani",
        description="Damiani volatmeter: short/long ATR ratio (vol) against a std-ratio threshold.",
        params=(
            period(13, "bars in the short (viscosity) ATR", name="vis_atr"),
            period(20, "bars in the short standard deviation of the close", name="vis_std"),
            period(40, "bars in the long (sedimentation) ATR; must exceed vis_atr", name="sed_atr"),
            period(100, "bars in the long standard deviation; must exceed vis_std", name="sed_std"),
            Param("level", float, 1.4, 0.0, None, "the threshold level the std ratio is taken from"),
            Param("lag", float, 0.5, 0.0, 0.7, "the lag suppressor's weight; 0 turns it off"),
        ),
        inputs=("high", "low", "close"),
        outputs=("vol", "threshold"),
        talib=None,
        definition=(
            "vol_t = ATR(vis_atr) / ATR(sed_atr) + lag * (vol_{t-1} - vol_{t-3}), earlier vol counting "
            "as 0 before its first value; threshold = level - std(close, vis_std) / std(close, "
            "sed_std), population standard deviations (called anti in ports). A market is volatile "
            "enough to trade while vol > threshold. The ATRs are Wilder's, exactly as TA-Lib's ATR "
            "computes them (first values at bars `vis_atr` and `sed_atr`); a ratio whose denominator "
            "is 0 (no movement at all) is 0. Above lag = 0.7 the recursion is unstable. Luis "
            "Guilherme Damiani, 'Damiani Volatmeter' (MetaTrader 4, 2006), in the form and defaults "
            "of RicardoSantos' TradingView port (close, not typical price; separate ATR and std "
            "windows)."
        ),
    ),
    init=_damiani_init,
    update=_damiani_update,
    lookback=lambda p: max(int(p["sed_atr"]), int(p["sed_std"]) - 1),
    constraints=(Greater("sed_atr", "vis_atr"), Greater("sed_std", "vis_std")),
)
