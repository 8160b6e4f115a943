"""Volatility indicators: ATR and Bollinger Bands, each written once as an update over a small state.

Both follow TA-Lib 0.8's arithmetic to the last bit. ATR is Wilder's average of the true range,
seeded with the mean of the first ``period`` ranges and updated as ``k * atr + (1 - k) * tr`` in
one fused multiply-add. The bands' population standard deviation comes from running sums of the
inputs' deviations from a shift ``K``; whenever those sums lose too much precision to cancellation
(or every ``32 * period`` bars) ``K`` moves to the window's mean and the sums are recomputed, which
keeps the variance accurate on long series at any price level.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._common import fma, true_range
from neurotrade.indicators._params import nbdev, period
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []

# --- ATR ------------------------------------------------------------------------------------------
# State: bars seen, previous close, sum of the first true ranges, the ATR.
_ATR_COUNT = 0
_ATR_CLOSE = 1
_ATR_SUM = 2
_ATR_VALUE = 3


@njit(cache=True, error_model="numpy")
def _atr_init(params):
    return np.zeros(_ATR_VALUE + 1)


@njit(cache=True, error_model="numpy", inline="always")
def wilder_atr(state, params, bars, out, normalised):
    """TA-Lib's ATR over ``bars`` (high, low, close), or NATR (100 * ATR / close) when ``normalised``.

    The warm-up (the first bar has no previous close, then `period` true ranges are summed) runs in its own
    loop, so the long steady-state loop has no branches: about twice as fast on a million bars. Inlined, the
    constant ``normalised`` folds away.
    """
    n = params[0]
    keep = (n - 1.0) / n
    weight = 1.0 - keep
    count, prev_close = state[_ATR_COUNT], state[_ATR_CLOSE]
    total, atr = state[_ATR_SUM], state[_ATR_VALUE]
    rows = bars.shape[0]
    row = 0
    while row < rows and count <= n:
        high, low, close = bars[row, 0], bars[row, 1], bars[row, 2]
        out[row, 0] = np.nan
        if count > 0.0:
            total += true_range(high, low, prev_close)
            if count == n:
                atr = total / n
                out[row, 0] = _normalise(atr, close) if normalised else atr
        prev_close = close
        count += 1.0
        row += 1
    for r in range(row, rows):
        high, low, close = bars[r, 0], bars[r, 1], bars[r, 2]
        atr = fma(keep, atr, true_range(high, low, prev_close) * weight)
        prev_close = close
        out[r, 0] = _normalise(atr, close) if normalised else atr
    state[_ATR_COUNT], state[_ATR_CLOSE] = count + (rows - row), prev_close
    state[_ATR_SUM], state[_ATR_VALUE] = total, atr


@njit(cache=True, error_model="numpy", inline="always")
def _normalise(atr, close):
    # A zero close is outside the OHLCV contract; TA-Lib's answer for it is 0.
    return (atr / close) * 100.0 if close != 0.0 else 0.0


@njit(cache=True, error_model="numpy")
def _atr_update(state, params, bars, out):
    wilder_atr(state, params, bars, out, False)


# --- BBANDS ---------------------------------------------------------------------------------------
# State: bars seen, running sum (for the middle band), the shift K, running sums of (x - K) and of
# (x - K)**2, bars left before the next re-centring, position of the next write in the ring, then a
# ring of the last `period` inputs.
_BB_COUNT = 0
_BB_SUM = 1
_BB_SHIFT = 2
_BB_DEV = 3
_BB_DEV_SQ = 4
_BB_COUNTDOWN = 5
_BB_HEAD = 6
_BB_RING = 7

# TA-Lib's thresholds: re-centre when the variance is below 1e-6 of the mean square (or the bar
# leaving the window dominates the sum of squares by 1e6); after re-centring, call a variance below
# 1e-12 of the mean square zero.
_BB_LOSS = 1e-6
_BB_DOMINANCE = 1e6
_BB_FLAT = 1e-12
_BB_EVERY = 32.0


@njit(cache=True, error_model="numpy")
def _bbands_init(params):
    state = np.zeros(_BB_RING + int(params[0]))
    state[_BB_COUNTDOWN] = _BB_EVERY * params[0]
    return state


@njit(cache=True, error_model="numpy")
def _bbands_recentre(ring, head, n):
    """Return a new shift (the window's mean) and the window's sums of deviations from it."""
    size = ring.shape[0]
    total = 0.0
    for i in range(size):
        slot = head + i
        total += ring[slot - size if slot >= size else slot]
    shift = total * (1.0 / n)
    dev = 0.0
    dev_sq = 0.0
    for i in range(size):
        slot = head + i
        d = ring[slot - size if slot >= size else slot] - shift
        dev += d
        dev_sq += d * d
    return shift, dev, dev_sq


@njit(cache=True, error_model="numpy")
def _bbands_update(state, params, bars, out):
    n, up, down = params[0], params[1], params[2]
    size = int(n)
    inverse = 1.0 / n
    count, total, shift = state[_BB_COUNT], state[_BB_SUM], state[_BB_SHIFT]
    dev, dev_sq, countdown = state[_BB_DEV], state[_BB_DEV_SQ], state[_BB_COUNTDOWN]
    head = int(state[_BB_HEAD])
    ring = state[_BB_RING:]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        if count == 0.0:
            shift = x
        ring[head] = x
        head += 1
        if head == size:
            head = 0
        total += x
        d = x - shift
        dev += d
        dev_sq += d * d
        count += 1.0
        if count < n:
            out[row, 0] = np.nan
            out[row, 1] = np.nan
            out[row, 2] = np.nan
            continue

        mean_dev = inverse * dev
        variance = inverse * dev_sq - mean_dev * mean_dev
        middle = total / n
        # The first value of the window sits where the next bar will be written.
        oldest = ring[head]
        total -= oldest
        d_old = oldest - shift
        dev_sq -= d_old * d_old
        if inverse * dev_sq * _BB_LOSS > variance or d_old * d_old > dev_sq * _BB_DOMINANCE:
            recentre = True
        else:
            countdown -= 1.0
            recentre = countdown == 0.0
        flat = False
        if recentre:
            shift, dev, dev_sq = _bbands_recentre(ring, head, n)
            countdown = _BB_EVERY * n
            mean_dev = inverse * dev
            mean_sq = inverse * dev_sq
            variance = mean_sq - mean_dev * mean_dev
            flat = mean_sq * _BB_FLAT > variance
            d_old = oldest - shift
            dev_sq -= d_old * d_old
        dev -= d_old

        deviation = 0.0 if flat or variance == 0.0 else np.sqrt(variance)
        if up == down:
            width = deviation * up
            out[row, 0] = middle + width
            out[row, 2] = middle - width
        else:
            out[row, 0] = fma(up, deviation, middle)
            out[row, 2] = middle - deviation * down
        out[row, 1] = middle
    state[_BB_COUNT], state[_BB_SUM], state[_BB_SHIFT] = count, total, shift
    state[_BB_DEV], state[_BB_DEV_SQ], state[_BB_COUNTDOWN] = dev, dev_sq, countdown
    state[_BB_HEAD] = head


register(
    IndicatorInfo(
        name="atr",
        description="Average true range: Wilder's average of the true range over `period` bars.",
        params=(period(14, "bars in Wilder's smoothing"),),
        inputs=("high", "low", "close"),
        outputs=("atr",),
        talib="ATR",
    ),
    init=_atr_init,
    update=_atr_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)

register(
    IndicatorInfo(
        name="bbands",
        description="Bollinger Bands: SMA of the close plus/minus multiples of its population std.",
        params=(
            period(20, "bars in the moving average and the standard deviation"),
            nbdev("nbdev_up", 2.0, "standard deviations from the middle to the upper band"),
            nbdev("nbdev_down", 2.0, "standard deviations from the middle to the lower band"),
        ),
        inputs=("close",),
        outputs=("upper", "middle", "lower"),
        talib="BBANDS",
    ),
    init=_bbands_init,
    update=_bbands_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod", "nbdev_up": "nbdevup", "nbdev_down": "nbdevdn"},
    talib_fixed={"matype": 0},
)
