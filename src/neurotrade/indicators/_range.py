"""Range indicators: true range, normalised ATR, the rolling standard deviation and variance.

Each is written once as an update over a small float64 state and follows TA-Lib 0.8's arithmetic
to the last bit: NATR is the ATR of ``atr`` (Wilder's average, one fused multiply-add per bar) as a
percentage of the close, and STDDEV is the population standard deviation that the Bollinger Bands
use, computed from running sums of deviations from a shift that is re-centred whenever cancellation
would cost precision.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._common import true_range
from neurotrade.indicators._params import nbdev, period
from neurotrade.indicators._registry import IndicatorInfo, register
from neurotrade.indicators._volatility import _atr_init, _bbands_recentre, wilder_atr

__all__: list[str] = []

# --- TRANGE ---------------------------------------------------------------------------------------
# State: bars seen, previous close.
_TR_COUNT = 0
_TR_CLOSE = 1


@njit(cache=True, error_model="numpy")
def _trange_init(params):
    return np.zeros(_TR_CLOSE + 1)


@njit(cache=True, error_model="numpy")
def _trange_update(state, params, bars, out):
    count, prev_close = state[_TR_COUNT], state[_TR_CLOSE]
    rows = bars.shape[0]
    if rows == 0:
        return
    # The first bar has no previous close, hence no true range (TA-Lib's lookback of 1).
    out[0, 0] = true_range(bars[0, 0], bars[0, 1], prev_close) if count > 0.0 else np.nan
    for row in range(1, rows):
        high, low, prev = bars[row, 0], bars[row, 1], bars[row - 1, 2]
        # `true_range` as nested max(), the same value in a form the compiler vectorises.
        out[row, 0] = max(max(high - low, abs(prev - high)), abs(prev - low))
    state[_TR_COUNT], state[_TR_CLOSE] = count + rows, bars[rows - 1, 2]


# --- NATR -----------------------------------------------------------------------------------------
# ATR's kernel (see _volatility.wilder_atr) with each value divided by the close.
@njit(cache=True, error_model="numpy")
def _natr_init(params):
    return _atr_init(params)


@njit(cache=True, error_model="numpy")
def _natr_update(state, params, bars, out):
    wilder_atr(state, params, bars, out, True)


# --- STDDEV ---------------------------------------------------------------------------------------
# TA-Lib's variance, step for step the one inside `bbands` (see _volatility): running sums of the
# deviations from a shift K and of their squares, K moved to the window's mean whenever the
# variance would lose more than 1e-6 of the mean square to cancellation, the leaving bar dominates
# the sum of squares, or 32 * period bars have passed. State: bars seen, K, the two sums, bars left
# before the next re-centring, position of the next write, then a ring of the last `period` inputs.
_SD_COUNT = 0
_SD_SHIFT = 1
_SD_DEV = 2
_SD_DEV_SQ = 3
_SD_COUNTDOWN = 4
_SD_HEAD = 5
_SD_RING = 6

_SD_LOSS = 1e-6
_SD_DOMINANCE = 1e6
_SD_FLAT = 1e-12
_SD_EVERY = 32.0


@njit(cache=True, error_model="numpy")
def _stddev_init(params):
    state = np.zeros(_SD_RING + int(params[0]))
    state[_SD_COUNTDOWN] = _SD_EVERY * params[0]
    return state


@njit(cache=True, error_model="numpy", inline="always")
def _variance_run(state, params, bars, out, root):
    """The rolling variance, or (``root``) its square root times ``params[1]``."""
    n = params[0]
    size = int(n)
    inverse = 1.0 / n
    count, shift = state[_SD_COUNT], state[_SD_SHIFT]
    dev, dev_sq, countdown = state[_SD_DEV], state[_SD_DEV_SQ], state[_SD_COUNTDOWN]
    head = int(state[_SD_HEAD])
    ring = state[_SD_RING:]
    rows = bars.shape[0]
    row = 0
    while row < rows and count < n - 1.0:
        x = bars[row, 0]
        if count == 0.0:
            shift = x
        ring[head] = x
        head += 1
        d = x - shift
        dev += d
        dev_sq += d * d
        out[row, 0] = np.nan
        count += 1.0
        row += 1
    for r in range(row, rows):
        x = bars[r, 0]
        ring[head] = x
        head = head + 1 if head + 1 < size else 0
        d = x - shift
        dev += d
        dev_sq += d * d
        mean_dev = inverse * dev
        variance = inverse * dev_sq - mean_dev * mean_dev
        # The first value of the window sits where the next bar will be written.
        oldest = ring[head]
        d_old = oldest - shift
        dev_sq -= d_old * d_old
        if inverse * dev_sq * _SD_LOSS > variance or d_old * d_old > dev_sq * _SD_DOMINANCE:
            recentre = True
        else:
            countdown -= 1.0
            recentre = countdown == 0.0
        if recentre:
            shift, dev, dev_sq = _bbands_recentre(ring, head, n)
            countdown = _SD_EVERY * n
            mean_dev = inverse * dev
            mean_sq = inverse * dev_sq
            variance = mean_sq - mean_dev * mean_dev
            if mean_sq * _SD_FLAT > variance:
                variance = 0.0
            d_old = oldest - shift
            dev_sq -= d_old * d_old
        dev -= d_old
        out[r, 0] = np.sqrt(variance) * params[1] if root else variance
    state[_SD_COUNT], state[_SD_SHIFT] = count + (rows - row), shift
    state[_SD_DEV], state[_SD_DEV_SQ], state[_SD_COUNTDOWN] = dev, dev_sq, countdown
    state[_SD_HEAD] = head


register(
    IndicatorInfo(
        name="trange",
        description="True range: the bar's range widened to include a gap from the previous close.",
        params=(),
        inputs=("high", "low", "close"),
        outputs=("trange",),
        talib="TRANGE",
        definition="Wilder's true range: max(high - low, |high - prev close|, |low - prev close|).",
    ),
    init=_trange_init,
    update=_trange_update,
    lookback=lambda p: 1,
    talib_args={},
)

register(
    IndicatorInfo(
        name="natr",
        description="Normalised ATR: the average true range as a percentage of the close.",
        # From 2, like `atr`: TA-Lib's NATR with period 1 returns the true range without normalising it.
        params=(period(14, "bars in Wilder's smoothing"),),
        inputs=("high", "low", "close"),
        outputs=("natr",),
        talib="NATR",
        definition="100 * ATR(period) / close, the ATR being Wilder's average of the true range seeded with "
        "the mean of its first `period` values (as `atr`).",
    ),
    init=_natr_init,
    update=_natr_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)


@njit(cache=True, error_model="numpy")
def _stddev_update(state, params, bars, out):
    _variance_run(state, params, bars, out, True)


@njit(cache=True, error_model="numpy")
def _var_update(state, params, bars, out):
    _variance_run(state, params, bars, out, False)


register(
    IndicatorInfo(
        name="stddev",
        description="Rolling population standard deviation of the close, times `nbdev`.",
        params=(
            period(5),
            nbdev("nbdev", 1.0, "multiple of the standard deviation to report"),
        ),
        inputs=("close",),
        outputs=("stddev",),
        talib="STDDEV",
        definition="nbdev * sqrt(mean(x**2) - mean(x)**2) over `period` bars (population, not sample), "
        "computed as TA-Lib's VAR does; 0 when the window's variance is below 1e-12 of its mean square.",
    ),
    init=_stddev_init,
    update=_stddev_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod", "nbdev": "nbdev"},
)

register(
    IndicatorInfo(
        name="var",
        description="Rolling population variance of the close.",
        params=(period(5),),
        inputs=("close",),
        outputs=("var",),
        talib="VAR",
        definition="mean(x**2) - mean(x)**2 over `period` bars (population, not sample), from TA-Lib's running "
        "sums of deviations from a re-centred shift (as `stddev`); 0 when it is below 1e-12 of the mean square. "
        "TA-Lib's VAR takes an `nbdev` that it ignores; it is left out here.",
    ),
    init=_stddev_init,
    update=_var_update,
    lookback=lambda p: int(p["period"]) - 1,
    talib_args={"period": "timeperiod"},
    talib_fixed={"nbdev": 1.0},
)
