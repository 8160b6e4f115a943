"""A causal per-bar volatility estimate for sizing positions: known at each bar's close, from closes up to it.

The batch function and the streaming estimator run the very same update on the same floats in the same order,
so a backtest and a live engine size the same bar with bit-identical volatilities.
"""

from __future__ import annotations

import math

import numpy as np

from neurotrade.errors import ConfigError, DataError


class RealisedVolatility:
    """Streaming EWM estimate of the per-bar standard deviation of one-bar log returns.

    Each close after the first gives a return ``r = log(close / previous close)``; the variance follows
    ``var = (1 - alpha) * var + alpha * r**2`` with ``alpha = 2 / (span + 1)``, starting from the first squared
    return (no mean is removed: over one bar the drift is negligible next to the noise, and removing an estimated
    mean would add noise of its own). The estimate is ``sqrt(var)``, NaN until ``span`` returns have been seen.

    Parameters
    ----------
    span
        The EWM span in bars (>= 1).

    Examples
    --------
    >>> vol = RealisedVolatility(span=2)
    >>> [round(vol.update(c), 6) for c in (100.0, 101.0, 100.0, 102.0)]
    [nan, nan, 0.00995, 0.017159]
    """

    def __init__(self, span: int) -> None:
        if int(span) != span or span < 1:
            raise ConfigError(f"the volatility span must be a whole number of bars >= 1, got {span}")
        self.span = int(span)
        self.alpha = 2.0 / (self.span + 1.0)
        self._previous: float | None = None
        self._variance = math.nan
        self._returns = 0

    def update(self, close: float) -> float:
        """Add the next close; return the estimate known at that close (NaN during the warm-up).

        Raises
        ------
        DataError
            If the close is not a finite positive price.
        """
        close = float(close)
        if not (math.isfinite(close) and close > 0):
            raise DataError(
                f"realised volatility needs finite positive closes, got {close}; neurotrade does not fill prices: "
                "fix the data"
            )
        if self._previous is not None:
            squared = math.log(close / self._previous) ** 2
            if self._returns == 0:
                self._variance = squared
            else:
                self._variance = (1.0 - self.alpha) * self._variance + self.alpha * squared
            self._returns += 1
        self._previous = close
        return math.sqrt(self._variance) if self._returns >= self.span else math.nan


def realised_volatility(close: np.ndarray, span: int) -> np.ndarray:
    """The :class:`RealisedVolatility` estimate at every bar of ``close``, bit-identical to streaming it.

    Parameters
    ----------
    close
        Closing prices, oldest first (finite and positive).
    span
        The EWM span in bars.

    Returns
    -------
    numpy.ndarray
        Per-bar volatility of log returns, float64, NaN for the first ``span`` bars.

    Raises
    ------
    DataError
        If a close is not a finite positive price (located by its position).

    Examples
    --------
    >>> realised_volatility(np.array([100.0, 101.0, 100.0, 102.0]), span=2).round(6).tolist()
    [nan, nan, 0.00995, 0.017159]
    """
    estimator = RealisedVolatility(span)
    out = np.empty(len(close), dtype=np.float64)
    for i, c in enumerate(np.asarray(close, dtype=np.float64)):
        try:
            out[i] = estimator.update(c)
        except DataError as e:
            raise DataError(f"close at position {i}: {e}") from e
    return out
