"""Forward returns as labels, and their discretisation into classes by quantiles of the training window.

A forward return looks ``horizon`` bars ahead, so its ``t1`` is t + horizon. Cutting returns into classes needs
thresholds; they are quantiles of the *training* returns only, learned by :class:`QuantileClasses`, because
quantiles taken over the whole sample would tell the training window where the later returns lie.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from neurotrade.errors import DataError, FeatureError

log = logging.getLogger(__name__)


def _check_close(close: pd.Series, where: str) -> np.ndarray:
    """The closes as float64, after the checks that log returns need (no NaN, prices > 0)."""
    values = close.to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(values) | (values <= 0))
    if bad.size:
        rows = ", ".join(f"{close.index[i]} ({values[i]})" for i in bad[:3])
        raise DataError(
            f"{where}: close must be > 0 and not NaN (the OHLCV contract); {bad.size} bad row(s), first: {rows}. "
            "Validate or repair the bars with neurotrade.data before labelling."
        )
    return values


def _times_at(index: pd.Index, positions: np.ndarray) -> pd.Index:
    """The index entries at ``positions``; a position of -1 (undecided) becomes NaT."""
    return index.take(positions, allow_fill=True)


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def forward_returns(close: pd.Series, *, horizon: int) -> pd.DataFrame:
    """The log return from each bar's close to the close ``horizon`` bars later.

    ``ret`` at bar t is ``log(close[t + horizon] / close[t])`` and ``t1`` is bar t + horizon, the last bar the
    value depends on. The last ``horizon`` bars have no such future bar: their ``ret`` is NaN and ``t1`` NaT.

    Parameters
    ----------
    close
        Closing prices (> 0, no NaN) with the bars' DatetimeIndex.
    horizon
        How many bars ahead, >= 1.

    Returns
    -------
    pandas.DataFrame
        ``ret`` (float) and ``t1`` (timestamp) on ``close``'s index.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC", name="time")
    >>> out = forward_returns(pd.Series([100.0, 110.0, 121.0, 100.0], index=idx), horizon=2)
    >>> out["ret"].round(4).tolist()
    [0.1906, -0.0953, nan, nan]
    >>> [str(t.date()) if pd.notna(t) else None for t in out["t1"]]
    ['2024-01-03', '2024-01-04', None, None]
    """
    horizon = _check_int("horizon", horizon, 1)
    values = _check_close(close, "forward_returns")
    n = values.shape[0]
    ret = np.full(n, np.nan)
    positions = np.full(n, -1, dtype=np.int64)
    if n > horizon:
        ret[:-horizon] = np.log(values[horizon:] / values[:-horizon])
        positions[:-horizon] = np.arange(horizon, n)
    return pd.DataFrame({"ret": ret, "t1": _times_at(close.index, positions)}, index=close.index)


class QuantileClasses:
    """Cut returns into ``n_classes`` ordered classes at quantiles of the training returns.

    Follows the scikit-learn estimator contract: ``fit`` learns ``thresholds_``, the ``n_classes - 1`` inner
    quantiles (at 1/n, 2/n, ...) of the returns it is given, which must be the training window's only. A return
    ``r`` gets class ``c`` when ``thresholds_[c - 1] < r <= thresholds_[c]`` (the first class takes everything up
    to and including the first threshold, as a quantile q holds P(R <= q) of the data). NaN stays NaN. With 3
    classes, 0, 1 and 2 mean SELL, HOLD and BUY.

    Returns that are too discrete (many equal values) can make two thresholds equal; the class between them is
    then empty, and ``fit`` logs a warning naming it.

    Parameters
    ----------
    n_classes
        How many classes, >= 2.

    Examples
    --------
    >>> q = QuantileClasses(3).fit(np.array([-0.02, -0.01, 0.0, 0.01, 0.02, 0.03]))
    >>> q.thresholds_.round(4).tolist()
    [-0.0033, 0.0133]
    >>> q.transform(np.array([-0.05, 0.0, 0.05, np.nan])).tolist()
    [0.0, 1.0, 2.0, nan]
    >>> QuantileClasses.from_dict(q.to_dict()).thresholds_.round(4).tolist()
    [-0.0033, 0.0133]
    """

    def __init__(self, n_classes: int = 3) -> None:
        self.n_classes = _check_int("n_classes", n_classes, 2)

    def fit(self, train_returns: pd.Series | np.ndarray) -> QuantileClasses:
        """Learn the thresholds from the training returns (NaN ones are ignored)."""
        values = self._as_1d(train_returns, "fit")
        finite = values[~np.isnan(values)]
        if np.isinf(finite).any():
            raise FeatureError(
                f"QuantileClasses.fit: the training returns hold {int(np.isinf(finite).sum())} infinite value(s); "
                "a log return is infinite only when a price is 0, which the OHLCV contract forbids"
            )
        if finite.size < self.n_classes:
            raise FeatureError(
                f"cannot fit QuantileClasses(n_classes={self.n_classes}) on {finite.size} non-NaN return(s); "
                f"need at least {self.n_classes}: use a longer training window or fewer classes"
            )
        levels = np.arange(1, self.n_classes) / self.n_classes
        self.thresholds_ = np.quantile(finite, levels)
        self._warn_empty_classes()
        return self

    def transform(self, returns: pd.Series | np.ndarray) -> np.ndarray:
        """The class of each return, as floats (NaN where the return is NaN)."""
        self._check_fitted("transform")
        values = self._as_1d(returns, "transform")
        classes = np.searchsorted(self.thresholds_, values, side="left").astype(np.float64)
        classes[np.isnan(values)] = np.nan
        return classes

    def fit_transform(self, train_returns: pd.Series | np.ndarray) -> np.ndarray:
        """``fit`` then ``transform`` the same (training) returns."""
        return self.fit(train_returns).transform(train_returns)

    def to_dict(self) -> dict[str, Any]:
        """The fitted state as JSON-ready values."""
        self._check_fitted("to_dict")
        return {"n_classes": self.n_classes, "thresholds": self.thresholds_.tolist()}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> QuantileClasses:
        """Rebuild a fitted object from :meth:`to_dict`'s output."""
        missing = sorted({"n_classes", "thresholds"} - set(state))
        if missing:
            raise FeatureError(f"QuantileClasses.from_dict: missing key(s) {missing}; expected to_dict()'s output")
        out = cls(state["n_classes"])
        thresholds = np.asarray(state["thresholds"], dtype=np.float64)
        if thresholds.shape != (out.n_classes - 1,) or not np.isfinite(thresholds).all():
            raise FeatureError(
                f"QuantileClasses.from_dict: 'thresholds' must be {out.n_classes - 1} finite numbers for "
                f"n_classes={out.n_classes}, got {state['thresholds']!r}"
            )
        if (np.diff(thresholds) < 0).any():
            raise FeatureError(
                f"QuantileClasses.from_dict: 'thresholds' must be in increasing order, got {thresholds.tolist()}"
            )
        out.thresholds_ = thresholds
        return out

    def __repr__(self) -> str:
        return f"QuantileClasses(n_classes={self.n_classes})"

    def _check_fitted(self, method: str) -> None:
        if not hasattr(self, "thresholds_"):
            raise FeatureError(
                f"this QuantileClasses is not fitted yet; call fit() on the training returns before {method}()"
            )

    def _as_1d(self, returns: pd.Series | np.ndarray, method: str) -> np.ndarray:
        values = np.asarray(returns, dtype=np.float64)
        if values.ndim != 1:
            raise FeatureError(f"QuantileClasses.{method}: expected a 1-D array of returns, got shape {values.shape}")
        return values

    def _warn_empty_classes(self) -> None:
        tied = np.flatnonzero(np.diff(self.thresholds_) == 0) + 1
        if tied.size:
            log.warning(
                "QuantileClasses: thresholds %s are tied, so class(es) %s can never occur; the training returns "
                "are too discrete for %d classes",
                self.thresholds_.tolist(),
                tied.tolist(),
                self.n_classes,
            )
