"""Momentum and strength oscillators from the neural-trading handbook that TA-Lib lacks: RMI, DV2, PGO, TTF,
the inverse Fisher transform of the RSI, the absolute strength histogram and Waddah Attar's explosion.

Each is written once as an update over a small float64 state, from the published definition cited in its
``definition``. Windowed sums and means are recomputed from a ring of the window each bar, oldest value first,
rather than kept as running sums: the windows are short, and the value then depends only on the window (no
drift over long series) and equals its plain definition operation for operation. Exponential averages are the
usual ones (``2 / (n + 1)``, seeded with the mean of the first ``n`` inputs, see ``_composite._ema``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from neurotrade.indicators._common import true_range
from neurotrade.indicators._composite import _ema
from neurotrade.indicators._momentum import rsi_next
from neurotrade.indicators._params import MAX_PERIOD, Greater, Param, period
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []


@njit(cache=True, error_model="numpy", inline="always")
def _window_sum(ring, head):
    """The sum of a ring's values in time order, the oldest at ``head``."""
    size = ring.shape[0]
    total = 0.0
    for i in range(size):
        slot = head + i
        total += ring[slot - size if slot >= size else slot]
    return total


# --- RMI ------------------------------------------------------------------------------------------
# Altman's relative momentum index: the RSI of the `momentum`-bar change instead of the one-bar
# change. State: bars seen, ring head, the two Wilder averages, then a ring of the last `momentum`
# closes.
_RMI_COUNT = 0
_RMI_HEAD = 1
_RMI_UP = 2
_RMI_DOWN = 3
_RMI_RING = 4


@njit(cache=True, error_model="numpy")
def _rmi_init(params):
    return np.zeros(_RMI_RING + int(params[1]))


@njit(cache=True, error_model="numpy")
def _rmi_update(state, params, bars, out):
    n, lag = params[0], params[1]
    size = int(lag)
    ring = state[_RMI_RING:]
    count, head, up, down = state[_RMI_COUNT], int(state[_RMI_HEAD]), state[_RMI_UP], state[_RMI_DOWN]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1.0
        before = ring[head]  # the close `momentum` bars back, once the ring is full
        ring[head] = x
        head = head + 1 if head + 1 < size else 0
        out[row, 0] = np.nan
        if t < lag:
            continue
        change = x - before
        gain = change if change > 0.0 else 0.0
        loss = gain - change
        k = t - lag + 1.0  # changes seen
        if k <= n:
            up += gain
            down += loss
            if k < n:
                continue
            up = up / n
            down = down / n
        else:
            up = (up * (n - 1.0) + gain) / n
            down = (down * (n - 1.0) + loss) / n
        total = up + down
        out[row, 0] = 100.0 * up / total if total > 0.0 else 50.0
    state[_RMI_COUNT], state[_RMI_HEAD], state[_RMI_UP], state[_RMI_DOWN] = count, head, up, down


# --- DV2 ------------------------------------------------------------------------------------------
# State: bars seen, heads of the two rings, then a ring of the last `period` ratios and a ring of the
# last `lookback` means.
_DV2_COUNT = 0
_DV2_RATIO_HEAD = 1
_DV2_MEAN_HEAD = 2
_DV2_RINGS = 3


@njit(cache=True, error_model="numpy")
def _dv2_init(params):
    return np.zeros(_DV2_RINGS + int(params[0]) + int(params[1]))


@njit(cache=True, error_model="numpy")
def _dv2_update(state, params, bars, out):
    n, lookback = params[0], params[1]
    size, depth = int(n), int(lookback)
    ratios = state[_DV2_RINGS : _DV2_RINGS + size]
    means = state[_DV2_RINGS + size :]
    count, ratio_head, mean_head = state[_DV2_COUNT], int(state[_DV2_RATIO_HEAD]), int(state[_DV2_MEAN_HEAD])
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        ratios[ratio_head] = close / ((high + low) / 2.0) - 1.0
        ratio_head = ratio_head + 1 if ratio_head + 1 < size else 0
        if t < n - 1.0:
            continue
        mean = _window_sum(ratios, ratio_head) / n
        if t >= n - 1.0 + lookback:
            below = 0.0
            for i in range(depth):
                if means[i] < mean:
                    below += 1.0
            out[row, 0] = 100.0 * below / lookback
        means[mean_head] = mean
        mean_head = mean_head + 1 if mean_head + 1 < depth else 0
    state[_DV2_COUNT], state[_DV2_RATIO_HEAD], state[_DV2_MEAN_HEAD] = count, ratio_head, mean_head


# --- PGO ------------------------------------------------------------------------------------------
# State: bars seen, previous close, ring head, (seen, sum, value) of the EMA of the true range, then
# a ring of the last `period` closes.
_PGO_COUNT = 0
_PGO_CLOSE = 1
_PGO_HEAD = 2
_PGO_EMA = 3
_PGO_RING = 6


@njit(cache=True, error_model="numpy")
def _pgo_init(params):
    return np.zeros(_PGO_RING + int(params[0]))


@njit(cache=True, error_model="numpy")
def _pgo_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    alpha = 2.0 / (n + 1.0)
    ring = state[_PGO_RING:]
    count, prev_close, head = state[_PGO_COUNT], state[_PGO_CLOSE], int(state[_PGO_HEAD])
    e_seen, e_sum, e_value = state[_PGO_EMA], state[_PGO_EMA + 1], state[_PGO_EMA + 2]
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        ring[head] = close
        head = head + 1 if head + 1 < size else 0
        if t > 0.0:
            e_seen, e_sum, e_value, average_range = _ema(
                e_seen, e_sum, e_value, n, alpha, true_range(high, low, prev_close)
            )
            if not np.isnan(average_range):
                gap = close - _window_sum(ring, head) / n
                out[row, 0] = gap / average_range if average_range > 0.0 else 0.0
        prev_close = close
    state[_PGO_COUNT], state[_PGO_CLOSE], state[_PGO_HEAD] = count, prev_close, head
    state[_PGO_EMA], state[_PGO_EMA + 1], state[_PGO_EMA + 2] = e_seen, e_sum, e_value


# --- TTF ------------------------------------------------------------------------------------------
# State: bars seen, ring head, then rings of the last 2 * `period` highs and lows.
_TTF_COUNT = 0
_TTF_HEAD = 1
_TTF_RINGS = 2


@njit(cache=True, error_model="numpy")
def _ttf_init(params):
    return np.zeros(_TTF_RINGS + 4 * int(params[0]))


@njit(cache=True, error_model="numpy", inline="always")
def _extremes(highs, lows, head, start, n):
    """Highest high and lowest low of ``n`` bars, ``start`` bars after the oldest in the rings."""
    size = highs.shape[0]
    slot = head + start
    slot = slot - size if slot >= size else slot
    highest, lowest = highs[slot], lows[slot]
    for _ in range(n - 1):
        slot = slot + 1 if slot + 1 < size else 0
        highest = max(highest, highs[slot])
        lowest = min(lowest, lows[slot])
    return highest, lowest


@njit(cache=True, error_model="numpy")
def _ttf_update(state, params, bars, out):
    n = params[0]
    size = int(n)
    highs = state[_TTF_RINGS : _TTF_RINGS + 2 * size]
    lows = state[_TTF_RINGS + 2 * size :]
    count, head = state[_TTF_COUNT], int(state[_TTF_HEAD])
    for row in range(bars.shape[0]):
        t = count
        count += 1.0
        highs[head], lows[head] = bars[row, 0], bars[row, 1]
        head = head + 1 if head + 1 < 2 * size else 0
        out[row, 0] = np.nan
        if t < 2.0 * n - 1.0:
            continue
        old_high, old_low = _extremes(highs, lows, head, 0, size)
        new_high, new_low = _extremes(highs, lows, head, size, size)
        buy_power = new_high - old_low
        sell_power = old_high - new_low
        total = buy_power + sell_power
        out[row, 0] = (buy_power - sell_power) / (0.5 * total) * 100.0 if total > 0.0 else 0.0
    state[_TTF_COUNT], state[_TTF_HEAD] = count, head


# --- Inverse Fisher transform of the RSI ----------------------------------------------------------
# State: bars seen, previous close, Wilder's average gain and loss, the number of RSI values, ring
# head, then a ring of the last `wma` values of 0.1 * (RSI - 50).
_IF_COUNT = 0
_IF_PREV = 1
_IF_GAIN = 2
_IF_LOSS = 3
_IF_SEEN = 4
_IF_HEAD = 5
_IF_RING = 6


@njit(cache=True, error_model="numpy")
def _ifisher_init(params):
    return np.zeros(_IF_RING + int(params[1]))


@njit(cache=True, error_model="numpy")
def _ifisher_update(state, params, bars, out):
    n, m = params[0], params[1]
    size = int(m)
    inverse = 1.0 / n
    weights = m * (m + 1.0) / 2.0
    ring = state[_IF_RING:]
    count, prev, gain, loss = state[_IF_COUNT], state[_IF_PREV], state[_IF_GAIN], state[_IF_LOSS]
    seen, head = state[_IF_SEEN], int(state[_IF_HEAD])
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
        ring[head] = 0.1 * (rsi - 50.0)
        head = head + 1 if head + 1 < size else 0
        seen += 1.0
        if seen < m:
            continue
        total = 0.0
        for i in range(size):  # weights 1 (oldest) to m (newest)
            slot = head + i
            total += (i + 1.0) * ring[slot - size if slot >= size else slot]
        e = math.exp(2.0 * (total / weights))
        out[row, 0] = (e - 1.0) / (e + 1.0)
    state[_IF_COUNT], state[_IF_PREV], state[_IF_GAIN], state[_IF_LOSS] = count, prev, gain, loss
    state[_IF_SEEN], state[_IF_HEAD] = seen, head


# --- ASH ------------------------------------------------------------------------------------------
# State: bars seen, previous close, then (seen, sum, value) of the four EMAs: of the bulls, of the
# bears, and of those two averages.
_ASH_COUNT = 0
_ASH_PREV = 1
_ASH_EMAS = 2


@njit(cache=True, error_model="numpy")
def _ash_init(params):
    return np.zeros(_ASH_EMAS + 12)


@njit(cache=True, error_model="numpy")
def _ash_update(state, params, bars, out):
    n, m = params[0], params[1]
    a_n, a_m = 2.0 / (n + 1.0), 2.0 / (m + 1.0)
    e = state[_ASH_EMAS:]
    count, prev = state[_ASH_COUNT], state[_ASH_PREV]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1.0
        out[row, 0] = np.nan
        out[row, 1] = np.nan
        if t == 0.0:
            prev = x
            continue
        move = x - prev
        prev = x
        bulls = 0.5 * (np.abs(move) + move)
        bears = 0.5 * (np.abs(move) - move)
        e[0], e[1], e[2], avg_bulls = _ema(e[0], e[1], e[2], n, a_n, bulls)
        e[3], e[4], e[5], avg_bears = _ema(e[3], e[4], e[5], n, a_n, bears)
        if np.isnan(avg_bulls):
            continue
        e[6], e[7], e[8], smooth_bulls = _ema(e[6], e[7], e[8], m, a_m, avg_bulls)
        e[9], e[10], e[11], smooth_bears = _ema(e[9], e[10], e[11], m, a_m, avg_bears)
        out[row, 0] = smooth_bulls
        out[row, 1] = smooth_bears
    state[_ASH_COUNT], state[_ASH_PREV] = count, prev


# --- Waddah Attar explosion -----------------------------------------------------------------------
# State: bars seen, previous close, the previous MACD, ring head, (seen, sum, value) of the fast and
# slow EMAs, the true range's Wilder average and its seeding sum, then a ring of the last `channel`
# closes.
_WAE_COUNT = 0
_WAE_CLOSE = 1
_WAE_MACD = 2
_WAE_HEAD = 3
_WAE_FAST = 4
_WAE_SLOW = 7
_WAE_RMA = 10
_WAE_RMA_SUM = 11
_WAE_RING = 12
_WAE_DEAD_PERIOD = 100.0  # the published script's fixed dead-zone ATR
_WAE_DEAD_FACTOR = 3.7


@njit(cache=True, error_model="numpy")
def _wae_init(params):
    return np.zeros(_WAE_RING + int(params[3]))


@njit(cache=True, error_model="numpy")
def _wae_update(state, params, bars, out):
    sensitivity, fast, slow, channel, mult = params[0], params[1], params[2], params[3], params[4]
    a_fast, a_slow = 2.0 / (fast + 1.0), 2.0 / (slow + 1.0)
    size = int(channel)
    ring = state[_WAE_RING:]
    count, prev_close, prev_macd, head = state[_WAE_COUNT], state[_WAE_CLOSE], state[_WAE_MACD], int(state[_WAE_HEAD])
    f_seen, f_sum, f_value = state[_WAE_FAST], state[_WAE_FAST + 1], state[_WAE_FAST + 2]
    s_seen, s_sum, s_value = state[_WAE_SLOW], state[_WAE_SLOW + 1], state[_WAE_SLOW + 2]
    rma, rma_sum = state[_WAE_RMA], state[_WAE_RMA_SUM]
    first = max(slow, channel - 1.0, _WAE_DEAD_PERIOD - 1.0)
    for row in range(bars.shape[0]):
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        t = count
        count += 1.0
        for col in range(4):
            out[row, col] = np.nan
        ring[head] = close
        head = head + 1 if head + 1 < size else 0
        f_seen, f_sum, f_value, fast_ema = _ema(f_seen, f_sum, f_value, fast, a_fast, close)
        s_seen, s_sum, s_value, slow_ema = _ema(s_seen, s_sum, s_value, slow, a_slow, close)
        # Pine's ta.tr(true): the first bar's range is its high - low.
        tr = high - low if t == 0.0 else true_range(high, low, prev_close)
        prev_close = close
        if t < _WAE_DEAD_PERIOD:
            rma_sum += tr
            rma = rma_sum / _WAE_DEAD_PERIOD
        else:
            rma = rma + (tr - rma) / _WAE_DEAD_PERIOD
        macd = fast_ema - slow_ema
        trend = (macd - prev_macd) * sensitivity
        prev_macd = macd
        if t < first:
            continue
        mean = _window_sum(ring, head) / channel
        squares = 0.0
        for i in range(size):
            slot = head + i
            d = ring[slot - size if slot >= size else slot] - mean
            squares += d * d
        deviation = np.sqrt(squares / channel)
        out[row, 0] = trend if trend >= 0.0 else 0.0
        out[row, 1] = -trend if trend < 0.0 else 0.0
        out[row, 2] = (mean + mult * deviation) - (mean - mult * deviation)
        out[row, 3] = rma * _WAE_DEAD_FACTOR
    state[_WAE_COUNT], state[_WAE_CLOSE], state[_WAE_MACD], state[_WAE_HEAD] = count, prev_close, prev_macd, head
    state[_WAE_FAST], state[_WAE_FAST + 1], state[_WAE_FAST + 2] = f_seen, f_sum, f_value
    state[_WAE_SLOW], state[_WAE_SLOW + 1], state[_WAE_SLOW + 2] = s_seen, s_sum, s_value
    state[_WAE_RMA], state[_WAE_RMA_SUM] = rma, rma_sum


def _bars_back(name: str, default: int, description: str) -> Param:
    return Param(name, int, default, 1, MAX_PERIOD, description)


register(
    IndicatorInfo(
        name="rmi",
        description="Relative momentum index: the RSI of the `momentum`-bar change, 0 to 100.",
        params=(
            period(20, "bars in Wilder's smoothing"),
            _bars_back("momentum", 5, "bars back to the close compared with"),
        ),
        inputs=("close",),
        outputs=("rmi",),
        bounds={"rmi": (0.0, 100.0)},
        talib=None,
        definition="100 * U / (U + D) where U and D are Wilder's averages (the mean of the first `period`, then "
        "(avg * (period - 1) + x) / period) of the rises and falls of close - close[t - momentum]; 50 where both "
        "are 0 (Roger Altman, Relative Momentum Index: Modifying RSI, Technical Analysis of Stocks & Commodities, "
        "February 1993).",
    ),
    init=_rmi_init,
    update=_rmi_update,
    lookback=lambda p: int(p["momentum"]) + int(p["period"]) - 1,
)

register(
    IndicatorInfo(
        name="dv2",
        description="DV2: percent rank of the close's short mean position within its bar's range, 0 to 100.",
        params=(
            _bars_back("period", 2, "bars in the mean of close / midpoint - 1"),
            period(252, "bars of history the mean is ranked against", name="lookback"),
        ),
        inputs=("high", "low", "close"),
        outputs=("dv2",),
        bounds={"dv2": (0.0, 100.0)},
        talib=None,
        definition="100 * (the share of the previous `lookback` values below the current one) of the `period`-bar "
        "mean of close / ((high + low) / 2) - 1 (David Varadi, DV2, CSS Analytics, 2009).",
    ),
    init=_dv2_init,
    update=_dv2_update,
    lookback=lambda p: int(p["period"]) - 1 + int(p["lookback"]),
)

register(
    IndicatorInfo(
        name="pgo",
        description="Pretty good oscillator: the close's distance from its SMA in average true ranges.",
        params=(period(14),),
        inputs=("high", "low", "close"),
        outputs=("pgo",),
        talib=None,
        definition="(close - SMA(close, period)) / EMA(true range, period), the EMA seeded with the mean of its "
        "first `period` true ranges (from the second bar); 0 where that average is 0 (Mark Johnson, the Pretty "
        "Good Oscillator, as described in Technical Analysis of Stocks & Commodities, 1994).",
    ),
    init=_pgo_init,
    update=_pgo_update,
    lookback=lambda p: int(p["period"]),
)

register(
    IndicatorInfo(
        name="ttf",
        description="Trend trigger factor: buying against selling power over two consecutive windows, in percent.",
        params=(period(15),),
        inputs=("high", "low"),
        outputs=("ttf",),
        talib=None,
        definition="100 * (BP - SP) / (0.5 * (BP + SP)) with BP = highest high of the last n bars - lowest low of "
        "the n bars before them and SP = highest high of the earlier n bars - lowest low of the last n; 0 where "
        "BP + SP is 0 (M. H. Pee, Trend Trigger Factor, Technical Analysis of Stocks & Commodities, December 2004).",
    ),
    init=_ttf_init,
    update=_ttf_update,
    lookback=lambda p: 2 * int(p["period"]) - 1,
)

register(
    IndicatorInfo(
        name="ifisher_rsi",
        description="Inverse Fisher transform of a smoothed RSI: a fast oscillator from -1 to 1.",
        params=(
            period(5, "bars in the RSI"),
            period(9, "bars in the WMA of the rescaled RSI", name="wma"),
        ),
        inputs=("close",),
        outputs=("ifisher",),
        bounds={"ifisher": (-1.0, 1.0)},
        talib=None,
        definition="v = WMA(0.1 * (RSI(period) - 50), wma), then (exp(2v) - 1) / (exp(2v) + 1); the RSI is the "
        "`rsi` indicator's (John Ehlers, The Inverse Fisher Transform, Technical Analysis of Stocks & "
        "Commodities, May 2004).",
    ),
    init=_ifisher_init,
    update=_ifisher_update,
    lookback=lambda p: int(p["period"]) + int(p["wma"]) - 1,
)

register(
    IndicatorInfo(
        name="ash",
        description="Absolute strength histogram: smoothed bull and bear strength of the one-bar moves.",
        params=(
            period(9, "bars in the first EMA of the bulls and bears"),
            period(6, "bars in the second EMA", name="smooth"),
        ),
        inputs=("close",),
        outputs=("bulls", "bears"),
        talib=None,
        definition="bulls = (|d| + d) / 2 and bears = (|d| - d) / 2 of d = close - previous close, each smoothed "
        "by an EMA of `period` bars and then of `smooth` bars (the RSI mode of Tudor Marcu's Absolute Strength "
        "indicator for MetaTrader, 2006, with EMA smoothing; republished on TradingView as the Absolute Strength "
        "Histogram). Their difference is the histogram.",
    ),
    init=_ash_init,
    update=_ash_update,
    lookback=lambda p: int(p["period"]) + int(p["smooth"]) - 1,
)

register(
    IndicatorInfo(
        name="waddah_attar",
        description="Waddah Attar explosion: MACD momentum against Bollinger band width and a dead zone.",
        params=(
            Param("sensitivity", float, 150.0, 0.0, None, "multiplier of the MACD's one-bar change", True),
            period(20, "bars in the fast EMA", name="fast"),
            period(40, "bars in the slow EMA", name="slow"),
            period(20, "bars in the Bollinger bands", name="channel"),
            Param("mult", float, 2.0, 0.0, None, "band width in standard deviations", True),
        ),
        inputs=("high", "low", "close"),
        outputs=("trend_up", "trend_down", "explosion", "dead_zone"),
        talib=None,
        definition="t = (MACD - previous MACD) * sensitivity with MACD = EMA(fast) - EMA(slow) of the close; "
        "trend_up = max(t, 0), trend_down = max(-t, 0); explosion = upper - lower Bollinger band (SMA +- mult "
        "population standard deviations over `channel` bars); dead_zone = 3.7 * Wilder's 100-bar average of the "
        "true range, the first bar's being its high - low (Waddah Attar, Waddah Attar Explosion for MetaTrader, "
        "2006, as published on TradingView by LazyBear, 2014).",
    ),
    init=_wae_init,
    update=_wae_update,
    lookback=lambda p: max(int(p["slow"]), int(p["channel"]) - 1, 99),
    constraints=(Greater("slow", "fast"),),
)
