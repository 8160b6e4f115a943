"""Momentum indicators: RSI, written once as an update over a small float64 state.

Wilder's averages follow TA-Lib 0.8's order of operations (``avg = (avg * (n - 1) + x) * (1 / n)``)
so that values agree with TA-Lib to the last bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotrade.indicators._params import period
from neurotrade.indicators._registry import IndicatorInfo, register

__all__: list[str] = []

# --- RSI ------------------------------------------------------------------------------------------
# State: bars seen, previous close, average gain, average loss. The first averages are plain means
# of the first `period` changes; Wilder smoothing starts after them.
_RSI_COUNT = 0
_RSI_PREV = 1
_RSI_GAIN = 2
_RSI_LOSS = 3


@njit(cache=True, error_model="numpy")
def _rsi_init(params):
    return np.zeros(_RSI_LOSS + 1)


@njit(cache=True, error_model="numpy", inline="always")
def rsi_next(t, n, inverse, prev, avg_gain, avg_loss, x):
    """One bar of TA-Lib's RSI at bar number ``t`` (>= 1): ``(prev, avg_gain, avg_loss, rsi)``.

    Plain means of the first ``n`` gains and losses, Wilder's smoothing after them, in TA-Lib's order of
    operations; ``rsi`` is NaN until ``t == n``, and 0 (not 50) when the price has not moved over the window.
    Every indicator built on the RSI (rsi, stochrsi, qqe) steps it here, so they all equal the `rsi` indicator.
    """
    change = x - prev
    gain = change if change > 0.0 else 0.0
    loss = gain - change
    if t <= n:
        avg_gain += gain
        avg_loss += loss
        if t < n:
            return x, avg_gain, avg_loss, np.nan
        avg_gain *= inverse
        avg_loss *= inverse
    else:
        avg_gain = (avg_gain * (n - 1.0) + gain) * inverse
        avg_loss = (avg_loss * (n - 1.0) + loss) * inverse
    total = avg_gain + avg_loss
    return x, avg_gain, avg_loss, 100.0 * (avg_gain / total) if total > 0.0 else 0.0


@njit(cache=True, error_model="numpy")
def _rsi_update(state, params, bars, out):
    n = params[0]
    inverse = 1.0 / n
    count, prev = state[_RSI_COUNT], state[_RSI_PREV]
    avg_gain, avg_loss = state[_RSI_GAIN], state[_RSI_LOSS]
    for row in range(bars.shape[0]):
        x = bars[row, 0]
        t = count
        count += 1.0
        if t == 0.0:
            prev = x
            out[row, 0] = np.nan
            continue
        prev, avg_gain, avg_loss, out[row, 0] = rsi_next(t, n, inverse, prev, avg_gain, avg_loss, x)
    state[_RSI_COUNT], state[_RSI_PREV] = count, prev
    state[_RSI_GAIN], state[_RSI_LOSS] = avg_gain, avg_loss


register(
    IndicatorInfo(
        name="rsi",
        description="Relative strength index: Wilder's average gain over average move, 0 to 100.",
        params=(period(14, "bars in Wilder's smoothing"),),
        inputs=("close",),
        outputs=("rsi",),
        talib="RSI",
        bounds={"rsi": (0.0, 100.0)},
    ),
    init=_rsi_init,
    update=_rsi_update,
    lookback=lambda p: int(p["period"]),
    talib_args={"period": "timeperiod"},
)
