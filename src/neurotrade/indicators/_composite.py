"""Composite indicators beyond TA-Lib: WaveTrend, QQE, Schaff trend cycle, TSI, KST, Hurst, ...

Each is written once as an update over a small float64 state. Their exponential averages are the
usual ones (smoothing ``2 / (n + 1)``, seeded with the mean of the first ``n`` inputs, as TA-Lib and
TradingView's ``ta.ema`` do) in the form ``ema += alpha * (x - ema)``, which keeps a constant input
exactly constant. Simple averages are running sums over a ring of the window. Rolling extremes
come from :func:`neurotrade.indicators._ehlers.rolling_max` (amortised O(1) per bar).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._ehlers import FLAT, rolling_max
from neurotrade.indicators._momentum import rsi_next
from neurotrade.indicators._params import MAX_PERIOD, Greater, Param, period
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []


@njit(cache=True, error_model="numpy", inline="always")
def _ema(seen, total, value, n, alpha, x):
    """Feed ``x`` to an EMA of ``n`` bars (``alpha = 2 / (n + 1)``) seeded with its first ``n`` inputs' mean.

    Returns the new ``(seen, total, value)`` and the output, NaN while seeding; ``seen`` stops at
    ``n`` and ``total`` is the seeding sum.
    """
    if seen < n:
        total += x
        seen += 1.0
        if seen < n:
            return seen, total, value, np.nan
        value = total / n
        return seen, total, value, value
    value = value + alpha * (x - value)
    return seen, total, value, value


# --- WaveTrend ----------------------------------------------------------------------------------
# State: bars seen, (seen, sum, value) of the EMAs of the typical price, of its absolute deviation
# and of the channel index, the running sum of the last `signal` wt1 values, the ring position, the
# ring of those values.
_WT_COUNT = 0
_WT_ESA = 1
_WT_D = 4
_WT_TCI = 7
_WT_SUM = 10
_WT_HEAD = 11
_WT_RING = 12


@njit(cache=True, error_model="numpy")
def _wavetrend_init(params):
    return np.zeros(_WT_RING + int(params[2]))


@njit(cache=True, error_model="numpy")
def _wavetrend_update(state, params, bars, out):
    channel, average, signal = params[0], params[1], params[2]
    a_channel = 2.0 / (channel + 1.0)
    a_average = 2.0 / (average + 1.0)
    size = int(signal)
    count = state[_WT_COUNT]
    e_seen, e_sum, esa = state[_WT_ESA], state[_WT_ESA + 1], state[_WT_ESA + 2]
    d_seen, d_sum, d = state[_WT_D], state[_WT_D + 1], state[_WT_D + 2]
    c_seen, c_sum, tci = state[_WT_TCI], state[_WT_TCI + 1], state[_WT_TCI + 2]
    total, head = state[_WT_SUM], int(state[_WT_HEAD])
    ring = state[_WT_RING:]
    first_wt1 = 2.0 * channel + average - 3.0
    for row in range(bars.shape[0]):
        ap = (bars[row, 0] + bars[row, 1] + bars[row, 2]) / 3.0
        t = count
        count += 1.0
        out[row, 0] = np.nan
        out[row, 1] = np.nan
        e_seen, e_sum, esa, esa_out = _ema(e_seen, e_sum, esa, channel, a_channel, ap)
        if np.isnan(esa_out):
            continue
        d_seen, d_sum, d, d_out = _ema(d_seen, d_sum, d, channel, a_channel, np.abs(ap - esa))
        if np.isnan(d_out):
            continue
        # A flat market leaves only rounding in ap - esa and d: its channel index is 0.
        ci = (ap - esa) / (0.015 * d) if d > FLAT * np.abs(esa) else 0.0
        c_seen, c_sum, tci, wt1 = _ema(c_seen, c_sum, tci, average, a_average, ci)
        if np.isnan(wt1):
            continue
        ring[head] = wt1
        head += 1
        if head == size:
            head = 0
        total += wt1
        if t - first_wt1 >= signal - 1.0:
            out[row, 0] = wt1
            out[row, 1] = total / signal
            # The oldest value of the window sits where the next one will be written.
            total -= ring[head]
    state[_WT_COUNT] = count
    state[_WT_ESA], state[_WT_ESA + 1], state[_WT_ESA + 2] = e_seen, e_sum, esa
    state[_WT_D], state[_WT_D + 1], state[_WT_D + 2] = d_seen, d_sum, d
    state[_WT_TCI], state[_WT_TCI + 1], state[_WT_TCI + 2] = c_seen, c_sum, tci
    state[_WT_SUM], state[_WT_HEAD] = total, head


# --- QQE ----------------------------------------------------------------------------------------
# State: bars seen, previous close, Wilder's average gain and loss, (seen, sum, value) of the EMAs
# of the RSI, of its absolute change and of that average, the previous smoothed RSI, the trailing
# level.
_QQE_COUNT = 0
_QQE_PREV = 1
_QQE_GAIN = 2
_QQE_LOSS = 3
_QQE_RSI_MA = 4
_QQE_ATR = 7
_QQE_DAR = 10
_QQE_LAST = 13
_QQE_TRAIL = 14


@njit(cache=True, error_model="numpy")
def _qqe_init(params):
    return np.zeros(_QQE_TRAIL + 1)


@njit(cache=True, error_model="numpy")
def _qqe_update(state, params, bars, out):
    n, smooth, factor = params[0], params[1], params[2]
    wilder = 2.0 * n - 1.0
    inverse = 1.0 / n
    a_smooth = 2.0 / (smooth + 1.0)
    a_wilder = 2.0 / (wilder + 1.0)
    first_atr = n + smooth
    first_trail = first_atr + 2.0 * wilder - 2.0
    count, prev = state[_QQE_COUNT], state[_QQE_PREV]
    avg_gain, avg_loss = state[_QQE_GAIN], state[_QQE_LOSS]
    m_seen, m_sum, rsi_ma = state[_QQE_RSI_MA], state[_QQE_RSI_MA + 1], state[_QQE_RSI_MA + 2]
    a_seen, a_sum, ma_atr = state[_QQE_ATR], state[_QQE_ATR + 1], state[_QQE_ATR + 2]
    s_seen, s_sum, dar = state[_QQE_DAR], state[_QQE_DAR + 1], state[_QQE_DAR + 2]
    last, trail = state[_QQE_LAST], state[_QQE_TRAIL]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        out[row, 1] = np.nan
        if t == 0.0:
            prev = x
            continue
        # Wilder's RSI exactly as the `rsi` indicator computes it.
        prev, avg_gain, avg_loss, rsi = rsi_next(t, n, inverse, prev, avg_gain, avg_loss, x)
        if t < n:
            continue

        rsi_prev = rsi_ma
        m_seen, m_sum, rsi_ma, smoothed = _ema(m_seen, m_sum, rsi_ma, smooth, a_smooth, rsi)
        if t < first_atr:
            continue
        a_seen, a_sum, ma_atr, atr_out = _ema(a_seen, a_sum, ma_atr, wilder, a_wilder, np.abs(smoothed - rsi_prev))
        if np.isnan(atr_out):
            continue
        s_seen, s_sum, dar, dar_out = _ema(s_seen, s_sum, dar, wilder, a_wilder, ma_atr)
        if np.isnan(dar_out):
            continue
        width = dar * factor
        if t == first_trail:
            # The first level starts below the smoothed RSI (the MT4 original starts from a zero
            # buffer, which the RSI is above).
            trail = smoothed - width
        else:
            level = trail
            if smoothed < level:
                trail = smoothed + width
                if last < level and trail > level:
                    trail = level
            elif smoothed > level:
                trail = smoothed - width
                if last > level and trail < level:
                    trail = level
        last = smoothed
        out[row, 0] = smoothed
        out[row, 1] = trail
    state[_QQE_COUNT], state[_QQE_PREV] = count, prev
    state[_QQE_GAIN], state[_QQE_LOSS] = avg_gain, avg_loss
    state[_QQE_RSI_MA], state[_QQE_RSI_MA + 1], state[_QQE_RSI_MA + 2] = m_seen, m_sum, rsi_ma
    state[_QQE_ATR], state[_QQE_ATR + 1], state[_QQE_ATR + 2] = a_seen, a_sum, ma_atr
    state[_QQE_DAR], state[_QQE_DAR + 1], state[_QQE_DAR + 2] = s_seen, s_sum, dar
    state[_QQE_LAST], state[_QQE_TRAIL] = last, trail


# --- Schaff trend cycle -------------------------------------------------------------------------
# State: bars seen, (seen, sum, value) of the fast and slow EMAs, the last %K of each stochastic
# (kept while its window has no range) and its smoothed value, (position, prefix) of the four
# rolling maxima (of the MACD, of -MACD, of pf, of -pf), then their buffers (`cycle` each).
_STC_COUNT = 0
_STC_FAST = 1
_STC_SLOW = 4
_STC_K1 = 7
_STC_PF = 8
_STC_K2 = 9
_STC_PFF = 10
_STC_ROLLING = 11
_STC_BUFFERS = 19


@njit(cache=True, error_model="numpy")
def _stc_init(params):
    state = np.zeros(_STC_BUFFERS + 4 * int(params[2]))
    state[_STC_K1] = 50.0
    state[_STC_K2] = 50.0
    state[_STC_BUFFERS:] = -np.inf
    return state


@njit(cache=True, error_model="numpy")
def _stc_update(state, params, bars, out):
    fast, slow, cycle, factor = params[0], params[1], params[2], params[3]
    a_fast = 2.0 / (fast + 1.0)
    a_slow = 2.0 / (slow + 1.0)
    size = int(cycle)
    first_k1 = slow + cycle - 2.0
    first_k2 = first_k1 + cycle - 1.0
    count = state[_STC_COUNT]
    f_seen, f_sum, f_value = state[_STC_FAST], state[_STC_FAST + 1], state[_STC_FAST + 2]
    s_seen, s_sum, s_value = state[_STC_SLOW], state[_STC_SLOW + 1], state[_STC_SLOW + 2]
    k1, pf, k2, pff = state[_STC_K1], state[_STC_PF], state[_STC_K2], state[_STC_PFF]
    rolling = state[_STC_ROLLING:_STC_BUFFERS]
    m_hi_at, m_hi = int(rolling[0]), rolling[1]
    m_lo_at, m_lo = int(rolling[2]), rolling[3]
    p_hi_at, p_hi = int(rolling[4]), rolling[5]
    p_lo_at, p_lo = int(rolling[6]), rolling[7]
    buffers = state[_STC_BUFFERS:]
    macd_highs, macd_lows = buffers[:size], buffers[size : 2 * size]
    pf_highs, pf_lows = buffers[2 * size : 3 * size], buffers[3 * size :]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        f_seen, f_sum, f_value, fast_ema = _ema(f_seen, f_sum, f_value, fast, a_fast, x)
        s_seen, s_sum, s_value, slow_ema = _ema(s_seen, s_sum, s_value, slow, a_slow, x)
        if np.isnan(slow_ema):
            continue
        macd = fast_ema - slow_ema
        m_hi_at, m_hi, highest = rolling_max(macd_highs, m_hi_at, m_hi, macd)
        m_lo_at, m_lo, negated = rolling_max(macd_lows, m_lo_at, m_lo, -macd)
        if t < first_k1:
            continue
        spread = highest + negated
        # No range (or only rounding's, on a flat market): keep the last %K, as published.
        if spread > FLAT * x:
            k1 = ((macd + negated) / spread) * 100.0
        pf = k1 if t == first_k1 else pf + factor * (k1 - pf)
        p_hi_at, p_hi, highest = rolling_max(pf_highs, p_hi_at, p_hi, pf)
        p_lo_at, p_lo, negated = rolling_max(pf_lows, p_lo_at, p_lo, -pf)
        if t < first_k2:
            continue
        spread = highest + negated
        if spread > FLAT * 100.0:
            k2 = ((pf + negated) / spread) * 100.0
        pff = k2 if t == first_k2 else pff + factor * (k2 - pff)
        out[row, 0] = pff
    state[_STC_COUNT] = count
    state[_STC_FAST], state[_STC_FAST + 1], state[_STC_FAST + 2] = f_seen, f_sum, f_value
    state[_STC_SLOW], state[_STC_SLOW + 1], state[_STC_SLOW + 2] = s_seen, s_sum, s_value
    state[_STC_K1], state[_STC_PF], state[_STC_K2], state[_STC_PFF] = k1, pf, k2, pff
    rolling[0], rolling[1], rolling[2], rolling[3] = m_hi_at, m_hi, m_lo_at, m_lo
    rolling[4], rolling[5], rolling[6], rolling[7] = p_hi_at, p_hi, p_lo_at, p_lo


# --- Awesome oscillator -------------------------------------------------------------------------
# State: bars seen, running sums over the fast and slow windows, ring position, ring of the last
# `slow` median prices.
_AO_COUNT = 0
_AO_FAST = 1
_AO_SLOW = 2
_AO_HEAD = 3
_AO_RING = 4


@njit(cache=True, error_model="numpy")
def _ao_init(params):
    return np.zeros(_AO_RING + int(params[1]))


@njit(cache=True, error_model="numpy")
def _ao_update(state, params, bars, out):
    fast, slow = params[0], params[1]
    size = int(slow)
    lag = int(fast)
    count, sum_fast, sum_slow = state[_AO_COUNT], state[_AO_FAST], state[_AO_SLOW]
    head = int(state[_AO_HEAD])
    ring = state[_AO_RING:]
    for row in range(bars.shape[0]):
        median = (bars[row, 0] + bars[row, 1]) / 2.0
        t = count
        count += 1.0
        leaving_slow = ring[head]
        slot = head - lag
        if slot < 0:
            slot += size
        leaving_fast = ring[slot]
        ring[head] = median
        head += 1
        if head == size:
            head = 0
        sum_fast += median
        if t >= fast:
            sum_fast -= leaving_fast
        sum_slow += median
        if t >= slow:
            sum_slow -= leaving_slow
        out[row, 0] = sum_fast / fast - sum_slow / slow if t >= slow - 1.0 else np.nan
    state[_AO_COUNT], state[_AO_FAST], state[_AO_SLOW] = count, sum_fast, sum_slow
    state[_AO_HEAD] = head


# --- True strength index ------------------------------------------------------------------------
# State: bars seen, previous close, then (seen, sum, value) of the five EMAs: momentum and its
# absolute value over `long`, both again over `short`, and the signal.
_TSI_COUNT = 0
_TSI_PREV = 1
_TSI_EMAS = 2


@njit(cache=True, error_model="numpy")
def _tsi_init(params):
    return np.zeros(_TSI_EMAS + 15)


@njit(cache=True, error_model="numpy")
def _tsi_update(state, params, bars, out):
    first, second, signal = params[0], params[1], params[2]
    a_first = 2.0 / (first + 1.0)
    a_second = 2.0 / (second + 1.0)
    a_signal = 2.0 / (signal + 1.0)
    count, prev = state[_TSI_COUNT], state[_TSI_PREV]
    e = state[_TSI_EMAS:]
    m1_seen, m1_sum, m1 = e[0], e[1], e[2]
    a1_seen, a1_sum, a1 = e[3], e[4], e[5]
    m2_seen, m2_sum, m2 = e[6], e[7], e[8]
    a2_seen, a2_sum, a2 = e[9], e[10], e[11]
    g_seen, g_sum, g = e[12], e[13], e[14]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        out[row, 1] = np.nan
        if t == 0.0:
            prev = x
            continue
        momentum = x - prev
        prev = x
        m1_seen, m1_sum, m1, once = _ema(m1_seen, m1_sum, m1, first, a_first, momentum)
        a1_seen, a1_sum, a1, once_abs = _ema(a1_seen, a1_sum, a1, first, a_first, np.abs(momentum))
        if np.isnan(once):
            continue
        m2_seen, m2_sum, m2, twice = _ema(m2_seen, m2_sum, m2, second, a_second, once)
        a2_seen, a2_sum, a2, twice_abs = _ema(a2_seen, a2_sum, a2, second, a_second, once_abs)
        if np.isnan(twice):
            continue
        # Only a start without a single move leaves the denominator at 0: no strength either way.
        tsi = 100.0 * (twice / twice_abs) if twice_abs > 0.0 else 0.0
        g_seen, g_sum, g, line = _ema(g_seen, g_sum, g, signal, a_signal, tsi)
        if np.isnan(line):
            continue
        out[row, 0] = tsi
        out[row, 1] = line
    state[_TSI_COUNT], state[_TSI_PREV] = count, prev
    e[0], e[1], e[2] = m1_seen, m1_sum, m1
    e[3], e[4], e[5] = a1_seen, a1_sum, a1
    e[6], e[7], e[8] = m2_seen, m2_sum, m2
    e[9], e[10], e[11] = a2_seen, a2_sum, a2
    e[12], e[13], e[14] = g_seen, g_sum, g


# --- KST ----------------------------------------------------------------------------------------
# Parameters: roc1..roc4, sma1..sma4, signal. State: bars seen, the signal's running sum and ring
# position, the close ring's position, each component's ring position and running sum, then the
# ring of the reciprocals of the last max(roc) + 1 closes, the four rings of rates of change
# (sma_i each) and the ring of the last `signal` KST values.
_KST_COUNT = 0
_KST_SUM = 1
_KST_HEAD = 2
_KST_CLOSE_HEAD = 3
_KST_COMPONENTS = 4  # (ring position, running sum) x 4
_KST_RINGS = 12


@njit(cache=True, error_model="numpy")
def _kst_closes(params):
    """Length of the close ring: the longest rate of change needs the close that many bars back."""
    return int(max(max(params[0], params[1]), max(params[2], params[3]))) + 1


@njit(cache=True, error_model="numpy")
def _kst_init(params):
    size = _KST_RINGS + _kst_closes(params)
    for i in range(4):
        size += int(params[4 + i])
    return np.zeros(size + int(params[8]))


@njit(cache=True, error_model="numpy", inline="always")
def _window_mean(state, start, width, head, total, pushed, x):
    """Push ``x`` into the ring ``state[start:start + width]`` holding a running sum ``total``.

    ``pushed`` counts the values pushed before ``x``. Returns the new ``(head, total)`` and the mean
    of the last ``width`` values, NaN until there are that many.
    """
    state[start + head] = x
    head += 1
    if head == width:
        head = 0
    total += x
    if pushed < width - 1:
        return head, total, np.nan
    mean = total / width
    # The oldest value of the window sits where the next one will be written.
    total -= state[start + head]
    return head, total, mean


@njit(cache=True, error_model="numpy", inline="always")
def _kst_component(state, closes, n_closes, close_head, x, t, lag, start, width, head, total):
    """Advance one smoothed rate of change by a bar; its mean is NaN until it has `width` rates."""
    if t < lag:
        return head, total, np.nan
    slot = close_head - 1 - lag
    if slot < 0:
        slot += n_closes
    rate = ((x * state[closes + slot]) - 1.0) * 100.0
    return _window_mean(state, start, width, head, total, t - lag, rate)


@njit(cache=True, error_model="numpy")
def _kst_update(state, params, bars, out):
    lag1, lag2, lag3, lag4 = int(params[0]), int(params[1]), int(params[2]), int(params[3])
    w1, w2, w3, w4 = int(params[4]), int(params[5]), int(params[6]), int(params[7])
    signal = int(params[8])
    n_closes = _kst_closes(params)
    first_kst = max(max(lag1 + w1, lag2 + w2), max(lag3 + w3, lag4 + w4)) - 1
    closes = _KST_RINGS
    start1 = closes + n_closes
    start2 = start1 + w1
    start3 = start2 + w2
    start4 = start3 + w3
    start_signal = start4 + w4
    count, total, head = int(state[_KST_COUNT]), state[_KST_SUM], int(state[_KST_HEAD])
    close_head = int(state[_KST_CLOSE_HEAD])
    c = state[_KST_COMPONENTS:_KST_RINGS]
    h1, s1, h2, s2 = int(c[0]), c[1], int(c[2]), c[3]
    h3, s3, h4, s4 = int(c[4]), c[5], int(c[6]), c[7]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1
        # The ring keeps 1/close: one division per bar instead of one per rate of change (a third
        # of the kernel's time), at the cost of one rounding (1e-16 relative) in each rate.
        state[closes + close_head] = 1.0 / x
        close_head += 1
        if close_head == n_closes:
            close_head = 0
        h1, s1, m1 = _kst_component(state, closes, n_closes, close_head, x, t, lag1, start1, w1, h1, s1)
        h2, s2, m2 = _kst_component(state, closes, n_closes, close_head, x, t, lag2, start2, w2, h2, s2)
        h3, s3, m3 = _kst_component(state, closes, n_closes, close_head, x, t, lag3, start3, w3, h3, s3)
        h4, s4, m4 = _kst_component(state, closes, n_closes, close_head, x, t, lag4, start4, w4, h4, s4)
        out[row, 0] = np.nan
        out[row, 1] = np.nan
        if t < first_kst:
            continue
        kst = m1 + 2.0 * m2 + 3.0 * m3 + 4.0 * m4
        head, total, line = _window_mean(state, start_signal, signal, head, total, t - first_kst, kst)
        if not np.isnan(line):
            out[row, 0] = kst
            out[row, 1] = line
    state[_KST_COUNT], state[_KST_SUM], state[_KST_HEAD] = count, total, head
    state[_KST_CLOSE_HEAD] = close_head
    c[0], c[1], c[2], c[3] = h1, s1, h2, s2
    c[4], c[5], c[6], c[7] = h3, s3, h4, s4


# --- Detrended price oscillator (causal) --------------------------------------------------------
# State: bars seen, running sum of the last `period` closes, ring position, ring of the last
# `period + 1` closes (the displaced close is at most `period` bars back).
_DPO_COUNT = 0
_DPO_SUM = 1
_DPO_HEAD = 2
_DPO_RING = 3


@njit(cache=True, error_model="numpy")
def _dpo_init(params):
    return np.zeros(_DPO_RING + int(params[0]) + 1)


@njit(cache=True, error_model="numpy")
def _dpo_update(state, params, bars, out):
    n = params[0]
    size = int(n) + 1
    shift = int(n) // 2 + 1
    first = max(n - 1.0, float(shift))
    count, total, head = state[_DPO_COUNT], state[_DPO_SUM], int(state[_DPO_HEAD])
    ring = state[_DPO_RING:]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1.0
        ring[head] = x
        head += 1
        if head == size:
            head = 0
        total += x
        if t >= n:
            # After the write, the oldest slot holds the close that just left the window.
            total -= ring[head]
        if t < first:
            out[row, 0] = np.nan
            continue
        slot = head - 1 - shift
        if slot < 0:
            slot += size
        out[row, 0] = ring[slot] - total / n
    state[_DPO_COUNT], state[_DPO_SUM], state[_DPO_HEAD] = count, total, head


# --- Hurst exponent -----------------------------------------------------------------------------
# Every chunk's mean moves with each new bar, so each bar re-examines its window: O(period * number
# of chunk sizes) per bar, about 1 s per million bars at period 100 (a rolling pandas definition
# takes minutes). State: bars seen, previous close, ring position, ring of the last `period` log
# returns, a scratch copy of the window in time order and its prefix sums (`period + 1`).
_HURST_COUNT = 0
_HURST_PREV = 1
_HURST_HEAD = 2
_HURST_RING = 3
# Smallest chunk whose rescaled range is averaged; below it R/S is mostly small-sample bias.
_HURST_MIN_CHUNK = 8
# A chunk whose returns' standard deviation is below this (returns are dimensionless) did not move.
_HURST_FLAT = 1e-12


@njit(cache=True, error_model="numpy")
def _hurst_init(params):
    return np.zeros(_HURST_RING + 3 * int(params[0]) + 1)


@njit(cache=True, error_model="numpy")
def _hurst_window(window, prefix):
    """Hurst exponent of one window of returns: slope of ln(mean R/S) on ln(chunk size).

    ``prefix[i]`` is the sum of ``window[:i]``, so that each chunk's mean costs O(1) and its
    cumulative deviations, their range and its variance take one pass.
    """
    n_total = window.shape[0]
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    sxy = 0.0
    points = 0.0
    size = n_total
    while size >= _HURST_MIN_CHUNK:
        ratio_sum = 0.0
        valid = 0
        for c in range(n_total // size):
            # Chunks end at the newest return, so every scale sees the latest bars.
            stop = n_total - c * size
            start = stop - size
            mean = (prefix[stop] - prefix[start]) / size
            cumulative = 0.0
            highest = 0.0
            lowest = 0.0
            squares = 0.0
            for i in range(start, stop):
                d = window[i] - mean
                cumulative += d
                squares += d * d
                highest = max(highest, cumulative)
                lowest = min(lowest, cumulative)
            deviation = np.sqrt(squares / size)
            if deviation > _HURST_FLAT:
                ratio_sum += (highest - lowest) / deviation
                valid += 1
        if valid > 0:
            lx = np.log(float(size))
            ly = np.log(ratio_sum / valid)
            sx += lx
            sy += ly
            sxx += lx * lx
            sxy += lx * ly
            points += 1.0
        size //= 2
    if points < 2.0:
        # Fewer than two scales that moved: no evidence either way, a random walk's 0.5.
        return 0.5
    return (points * sxy - sx * sy) / (points * sxx - sx * sx)


@njit(cache=True, error_model="numpy")
def _hurst_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    count, prev, head = state[_HURST_COUNT], state[_HURST_PREV], int(state[_HURST_HEAD])
    ring = state[_HURST_RING : _HURST_RING + size]
    window = state[_HURST_RING + size : _HURST_RING + 2 * size]
    prefix = state[_HURST_RING + 2 * size :]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        if t == 0.0:
            prev = x
            continue
        ring[head] = np.log(x / prev)
        prev = x
        head += 1
        if head == size:
            head = 0
        if t < n:
            continue
        running = 0.0
        for i in range(size):
            slot = head + i
            r = ring[slot - size if slot >= size else slot]
            window[i] = r
            prefix[i] = running
            running += r
        prefix[size] = running
        out[row, 0] = _hurst_window(window, prefix)
    state[_HURST_COUNT], state[_HURST_PREV], state[_HURST_HEAD] = count, prev, head


# --- Heikin-Ashi --------------------------------------------------------------------------------
# State: bars seen, the previous Heikin-Ashi open and close.
_HA_COUNT = 0
_HA_OPEN = 1
_HA_CLOSE = 2


@njit(cache=True, error_model="numpy")
def _heikin_ashi_init(params):
    return np.zeros(_HA_CLOSE + 1)


@njit(cache=True, error_model="numpy")
def _heikin_ashi_update(state, params, bars, out):
    count, ha_open, ha_close = state[_HA_COUNT], state[_HA_OPEN], state[_HA_CLOSE]
    for row in range(bars.shape[0]):
        o, h, lo, c = bars[row, 0], bars[row, 1], bars[row, 2], bars[row, 3]
        ha_open = (o + c) / 2.0 if count == 0.0 else (ha_open + ha_close) / 2.0
        ha_close = (o + h + lo + c) / 4.0
        out[row, 0] = ha_open
        out[row, 1] = max(h, max(ha_open, ha_close))
        out[row, 2] = min(lo, min(ha_open, ha_close))
        out[row, 3] = ha_close
        count += 1.0
    state[_HA_COUNT], state[_HA_OPEN], state[_HA_CLOSE] = count, ha_open, ha_close


_EMA_NOTE = (
    "Every EMA has smoothing 2/(n + 1), is seeded with the mean of its first n inputs and then "
    "updated as ema += alpha*(x - ema)."
)

register(
    IndicatorInfo(
        name="wavetrend",
        description="LazyBear's WaveTrend: an EMA of the typical price's channel index, and its SMA.",
        params=(
            period(10, "bars in the EMAs of the typical price and of its deviation", name="channel"),
            period(21, "bars in the EMA of the channel index (wt1)", name="average"),
            period(4, "bars in the SMA of wt1 (wt2)", name="signal"),
        ),
        inputs=("high", "low", "close"),
        outputs=("wt1", "wt2"),
        talib=None,
        definition=(
            "LazyBear, 'Indicator: WaveTrend Oscillator [WT]', TradingView, 2014 (after the MetaTrader "
            "WaveTrend). ap = (high + low + close)/3; esa = EMA(ap, channel); d = EMA(|ap - esa|, "
            "channel); ci = (ap - esa)/(0.015*d); wt1 = EMA(ci, average); wt2 = SMA(wt1, signal). "
            + _EMA_NOTE
            + " Each EMA starts on the first bar its input exists, so wt1 starts at bar "
            "2*channel + average - 3 and both outputs at 2*channel + average + signal - 4. Where d is 0 "
            "or below 1e-12 of esa (a flat market, where the ratio would measure rounding) ci is 0."
        ),
    ),
    init=_wavetrend_init,
    update=_wavetrend_update,
    lookback=lambda p: 2 * int(p["channel"]) + int(p["average"]) + int(p["signal"]) - 4,
)

register(
    IndicatorInfo(
        name="qqe",
        description="QQE: a smoothed RSI and its trailing level at a multiple of the RSI's average move.",
        params=(
            period(14, "bars in Wilder's RSI; the ATR of the RSI uses 2*period - 1"),
            period(5, "bars in the EMA of the RSI", name="smooth"),
            Param(
                "factor",
                float,
                4.236,
                0.0,
                None,
                "width of the trailing level in ATRs of the RSI",
                exclusive_minimum=True,
            ),
        ),
        inputs=("close",),
        outputs=("qqe", "trail"),
        talib=None,
        definition=(
            "QQE (Quantitative Qualitative Estimation), Roman Ignatov's MetaTrader 4 indicator QQE.mq4 "
            "(2006). qqe = EMA(RSI(close, period), smooth) with Wilder's RSI as TA-Lib computes it; "
            "with W = 2*period - 1, dar = factor*EMA(EMA(|qqe - qqe[1]|, W), W). The trailing level "
            "follows the MT4 code: if qqe < trail[1] it becomes qqe + dar, held at trail[1] when "
            "qqe[1] < trail[1] and it would rise; if qqe > trail[1] it becomes qqe - dar, held at "
            "trail[1] when qqe[1] > trail[1] and it would fall; if equal it stays. "
            + _EMA_NOTE
            + " Seed: the level starts at qqe - dar on the first bar with dar (the MT4 code starts from a "
            "zero buffer, below any RSI), bar 5*period + smooth - 4, where both outputs start."
        ),
    ),
    init=_qqe_init,
    update=_qqe_update,
    lookback=lambda p: 5 * int(p["period"]) + int(p["smooth"]) - 4,
)

register(
    IndicatorInfo(
        name="stc",
        description="Schaff trend cycle: a twice-applied, smoothed stochastic of MACD, from 0 to 100.",
        params=(
            period(23, "bars in the fast EMA", name="fast"),
            period(50, "bars in the slow EMA; must exceed fast", name="slow"),
            period(10, "bars in each stochastic's window", name="cycle"),
            Param("factor", float, 0.5, 0.0, 1.0, "smoothing of each stochastic (1 = none)", exclusive_minimum=True),
        ),
        inputs=("close",),
        outputs=("stc",),
        talib=None,
        definition=(
            "Doug Schaff, the Schaff Trend Cycle (1999; 'Schaff Trend Cycle', 2008), as commonly "
            "published (LazyBear's TradingView 'Schaff Trend Cycle (STC)'). macd = EMA(close, fast) - "
            "EMA(close, slow); %K1 = 100*(macd - lowest(macd, cycle))/(highest - lowest) over `cycle` "
            "bars; pf = pf[1] + factor*(%K1 - pf[1]), starting at %K1; %K2 is the same stochastic of "
            "pf and stc = pff = pff[1] + factor*(%K2 - pff[1]), starting at %K2. "
            + _EMA_NOTE
            + " Where a window has no range (or under 1e-12 of the close, resp. of 100: rounding only) "
            "the previous %K is kept, as published; 50 before there is one (the published code uses 0). "
            "Output starts at bar slow + 2*cycle - 3."
        ),
    ),
    init=_stc_init,
    update=_stc_update,
    lookback=lambda p: int(p["slow"]) + 2 * int(p["cycle"]) - 3,
    constraints=(Greater("slow", "fast"),),
)

register(
    IndicatorInfo(
        name="ao",
        description="Bill Williams' awesome oscillator: fast SMA minus slow SMA of the median price.",
        params=(
            period(5, "bars in the fast SMA", name="fast"),
            period(34, "bars in the slow SMA; must exceed fast", name="slow"),
        ),
        inputs=("high", "low"),
        outputs=("ao",),
        talib=None,
        definition=(
            "Bill Williams, Trading Chaos (2nd ed., Wiley 2004): AO = SMA((high + low)/2, 5) - "
            "SMA((high + low)/2, 34); both lengths are parameters here. Output starts at bar slow - 1."
        ),
    ),
    init=_ao_init,
    update=_ao_update,
    lookback=lambda p: int(p["slow"]) - 1,
    constraints=(Greater("slow", "fast"),),
)

register(
    IndicatorInfo(
        name="tsi",
        description="Blau's true strength index: double-smoothed momentum over its absolute value, and a signal.",
        params=(
            period(25, "bars in the first EMA of the momentum", name="long"),
            period(13, "bars in the second EMA", name="short"),
            period(13, "bars in the signal EMA of the TSI", name="signal"),
        ),
        inputs=("close",),
        outputs=("tsi", "signal"),
        talib=None,
        definition=(
            "William Blau, 'True Strength Index', Technical Analysis of Stocks & Commodities, November "
            "1991, and Momentum, Direction, and Divergence (Wiley, 1995). With m = close - close[1]: "
            "tsi = 100*EMA(EMA(m, long), short)/EMA(EMA(|m|, long), short) (0 while the denominator is "
            "0, i.e. before any move); signal = EMA(tsi, signal). "
            + _EMA_NOTE
            + " Each EMA starts on the first bar its input exists; both outputs start at bar "
            "long + short + signal - 2."
        ),
    ),
    init=_tsi_init,
    update=_tsi_update,
    lookback=lambda p: int(p["long"]) + int(p["short"]) + int(p["signal"]) - 2,
)

register(
    IndicatorInfo(
        name="kst",
        description="Pring's know sure thing: a weighted sum of four smoothed rates of change, and its SMA.",
        params=(
            period(10, "bars in the first rate of change", name="roc1"),
            period(15, "bars in the second rate of change", name="roc2"),
            period(20, "bars in the third rate of change", name="roc3"),
            period(30, "bars in the fourth rate of change", name="roc4"),
            period(10, "bars in the SMA of the first rate of change", name="sma1"),
            period(10, "bars in the SMA of the second rate of change", name="sma2"),
            period(10, "bars in the SMA of the third rate of change", name="sma3"),
            period(15, "bars in the SMA of the fourth rate of change", name="sma4"),
            period(9, "bars in the SMA of the KST (signal)", name="signal"),
        ),
        inputs=("close",),
        outputs=("kst", "signal"),
        talib=None,
        definition=(
            "Martin J. Pring, 'Summed Rate of Change (KST)', Technical Analysis of Stocks & Commodities, "
            "September 1992. ROCn = 100*(close/close[n] - 1); kst = SMA(ROC(roc1), sma1) + "
            "2*SMA(ROC(roc2), sma2) + 3*SMA(ROC(roc3), sma3) + 4*SMA(ROC(roc4), sma4); signal = "
            "SMA(kst, signal). Both outputs start at bar max(roc_i + sma_i) + signal - 2."
        ),
    ),
    init=_kst_init,
    update=_kst_update,
    lookback=lambda p: max(int(p[f"roc{i}"]) + int(p[f"sma{i}"]) for i in range(1, 5)) + int(p["signal"]) - 2,
)

register(
    IndicatorInfo(
        name="dpo",
        description="Detrended price oscillator, causal: the close period//2 + 1 bars ago minus today's SMA.",
        params=(period(20, "bars in the SMA; the close compared is period//2 + 1 bars back"),),
        inputs=("close",),
        outputs=("dpo",),
        talib=None,
        definition=(
            "The detrended price oscillator in its causal form, as StockCharts defines it: "
            "dpo = close[t - (period//2 + 1)] - SMA(close, period)[t]; it starts at bar "
            "max(period - 1, period//2 + 1). The classic centred DPO (close[t] - SMA(t + period//2 + 1), "
            "or the causal value plotted period//2 + 1 bars earlier) reads later bars and is not "
            "provided: no value here depends on a bar after its own."
        ),
    ),
    init=_dpo_init,
    update=_dpo_update,
    lookback=lambda p: max(int(p["period"]) - 1, int(p["period"]) // 2 + 1),
)

register(
    IndicatorInfo(
        name="hurst",
        description="Rolling Hurst exponent of the log returns by rescaled-range (R/S) analysis.",
        params=(
            Param(
                "period",
                int,
                100,
                2 * _HURST_MIN_CHUNK,
                MAX_PERIOD,
                "log returns in the window; chunks of period, period//2, ... down to 8 returns",
            ),
        ),
        inputs=("close",),
        outputs=("hurst",),
        talib=None,
        definition=(
            "Rescaled-range analysis (H. E. Hurst, 'Long-term storage capacity of reservoirs', Trans. "
            "ASCE 116, 1951; B. Mandelbrot and J. Wallis, Water Resources Research 5, 1969; E. Peters, "
            "Fractal Market Analysis, Wiley 1994) over the last `period` log returns ln(close/close[1]). "
            "For chunk sizes n = period, period//2, period//4, ... while n >= 8, the window's newest "
            "period//n*n returns are cut into chunks of n; each chunk's R/S is the range of the "
            "cumulative deviations from its mean (0 included) over their population standard "
            "deviation, and chunks whose deviation is below 1e-12 (no move) are skipped. The exponent "
            "is the least-squares slope of ln(mean R/S) on ln(n); 0.5 when fewer than two sizes have a "
            "moving chunk. Starts at bar period (the first full window of returns)."
        ),
    ),
    init=_hurst_init,
    update=_hurst_update,
    lookback=lambda p: int(p["period"]),
)

register(
    IndicatorInfo(
        name="heikin_ashi",
        description="Heikin-Ashi candles: averaged open, high, low and close.",
        params=(),
        inputs=("open", "high", "low", "close"),
        outputs=("ha_open", "ha_high", "ha_low", "ha_close"),
        talib=None,
        definition=(
            "Dan Valcu, 'Using the Heikin-Ashi Technique', Technical Analysis of Stocks & Commodities, "
            "February 2004. ha_close = (open + high + low + close)/4; ha_open = (ha_open[1] + "
            "ha_close[1])/2; ha_high = max(high, ha_open, ha_close); ha_low = min(low, ha_open, "
            "ha_close). Seed: the first ha_open is (open + close)/2 of the first bar, so there is no "
            "warm-up."
        ),
    ),
    init=_heikin_ashi_init,
    update=_heikin_ashi_update,
    lookback=lambda p: 0,
)
