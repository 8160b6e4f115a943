"""Baselines every run trains beside the network: logistic regression and a causal Lorentzian kNN.

A network earns its place only by beating what simple models do on the same features. Both baselines follow the
scikit-learn estimator contract (parameters in the constructor, work in ``fit``, learned state ending in ``_``,
a clear error when used unfitted) and give ``(samples, classes)`` probabilities in float64.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numba
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from neurotrade.errors import ModelError

logger = logging.getLogger(__name__)


class LogisticBaseline:
    """Multinomial logistic regression (scikit-learn, lbfgs: deterministic) fitted on the training rows.

    Parameters
    ----------
    C
        Inverse strength of the L2 penalty.
    class_weight
        ``"balanced"`` weighs classes inversely to their frequency, as ``training.class_weights: balanced``.
    max_iter
        lbfgs iterations.
    n_classes
        Columns of :meth:`predict_proba`; a class absent from the training rows gets probability 0.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(200, 2)); y = (x[:, 0] > 0).astype(int) * 2
    >>> base = LogisticBaseline().fit(x, y)
    >>> base.predict_proba(np.array([[3.0, 0.0]])).round(2).tolist()
    [[0.0, 0.0, 1.0]]
    """

    def __init__(
        self,
        C: float = 1.0,
        *,
        class_weight: Literal["balanced"] | None = None,
        max_iter: int = 1000,
        n_classes: int = 3,
    ) -> None:
        if not C > 0:
            raise ModelError(f"C must be a positive number, got {C}")
        if max_iter < 1 or n_classes < 2:
            raise ModelError(f"max_iter must be >= 1 and n_classes >= 2, got {max_iter} and {n_classes}")
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.n_classes = n_classes

    def fit(self, x: np.ndarray, y: np.ndarray) -> LogisticBaseline:
        """Fit on the training rows ``x`` ``(samples, features)`` with class indices ``y``."""
        x = _rows(x, "x")
        y = _labels(y, len(x), self.n_classes)
        self.classes_ = np.unique(y)
        if len(self.classes_) == 1:
            # lbfgs needs two classes; with one, the maximum-likelihood model is that class with certainty.
            logger.warning("LogisticBaseline: the training rows hold only class %d", self.classes_[0])
            self.model_: LogisticRegression | None = None
        else:
            model = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter)
            self.model_ = model.fit(x, y)
        self.n_features_in_ = x.shape[1]
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """``(samples, n_classes)`` probabilities of the rows ``x``."""
        if not hasattr(self, "classes_"):
            raise ModelError("this LogisticBaseline is not fitted yet; call fit(x, y) with the training rows first")
        x = _rows(x, "x", self.n_features_in_)
        proba = np.zeros((len(x), self.n_classes))
        if self.model_ is None:
            proba[:, self.classes_[0]] = 1.0
        else:
            proba[:, self.classes_] = self.model_.predict_proba(x)
        return proba


class LorentzianKNN:
    """k nearest neighbours under the Lorentzian distance, drawing only on recent labels already known.

    The distance between two feature rows is ``sum(log(1 + |x - y|))``: like L1 near zero, but a single extreme
    feature (a volatility burst) cannot dominate it. A bar at time ``t`` is classified by the majority of its
    ``k`` nearest training rows **whose label was known at t**, i.e. whose ``t1`` (the last bar the label depends
    on) is strictly before ``t``. Training rows therefore never see their own label, and a model fitted on a
    whole history can be scored on any part of it without look-ahead.

    Only a bounded, thinned window of those known rows is searched: the ``max_back`` most recently known ones
    (the last ``max_back`` in ``t1`` order) and, of those, every ``stride``-th counting back from the most recent.
    Why: a search over every earlier row costs time quadratic in the history (100,000 hourly bars did not finish
    in 15 minutes), while a bounded window makes each query cost ``max_back / stride`` distances, so a run grows
    linearly with its bars. The defaults follow the published Lorentzian classifier (jdehorty, "Machine Learning:
    Lorentzian Classification", TradingView), which looks back at most 2000 bars and only at every 4th: spaced
    neighbours are not near-copies of adjacent, overlapping bars, and old market regimes do not vote. Unlike the
    published loop (an approximate, running "farther than the last kept" filter) the search within the window is
    exact. ``max_back=None, stride=1`` searches every known row (the exact brute force).

    The probabilities are the neighbours' class shares. A bar with fewer than ``k`` candidate rows uses those it
    has; one with none gets the uniform distribution (nothing is known yet).

    Parameters
    ----------
    k
        Neighbours per vote.
    n_classes
        Columns of :meth:`predict_proba`.
    max_back
        How many of the most recently known training rows a query may draw on; ``None``: all of them.
    stride
        Of those, every ``stride``-th counting back from the most recently known one (1: every row).

    Examples
    --------
    >>> t = pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC")
    >>> x = np.array([[0.0], [0.1], [5.0], [5.1], [0.05], [5.05]]); y = np.array([0, 0, 2, 2, 0, 2])
    >>> knn = LorentzianKNN(k=2, stride=1).fit(x[:4], y[:4], t[:4], t[:4] + pd.Timedelta("1D"))
    >>> knn.predict_proba(x[4:], t[4:]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]

    With ``stride=2`` the bar of 2024-01-06 (which knows rows 0..3) only considers rows 3 and 1:

    >>> LorentzianKNN(k=2, stride=2).fit(x[:4], y[:4], t[:4], t[:4] + pd.Timedelta("1D")).neighbours(
    ...     x[5:], t[5:]).tolist()
    [[3, 1]]
    """

    def __init__(self, k: int = 8, *, n_classes: int = 3, max_back: int | None = 2000, stride: int = 4) -> None:
        if not _whole(k) or k < 1 or not _whole(n_classes) or n_classes < 2:
            raise ModelError(f"k must be a whole number >= 1 and n_classes >= 2, got k={k} and n_classes={n_classes}")
        if max_back is not None and (not _whole(max_back) or max_back < 1):
            raise ModelError(
                f"max_back must be a whole number >= 1 (how many recent known rows to search) or None for all of "
                f"them, got {max_back!r}"
            )
        if not _whole(stride) or stride < 1:
            raise ModelError(f"stride must be a whole number >= 1 (1 searches every row), got {stride!r}")
        if max_back is not None and max_back < k * stride:
            # Fewer candidates than neighbours would make every vote a vote of the whole window.
            raise ModelError(
                f"max_back={max_back} leaves fewer than k={k} candidates at stride={stride}; "
                f"use max_back >= k * stride = {k * stride}"
            )
        self.k = k
        self.n_classes = n_classes
        self.max_back = max_back
        self.stride = stride

    def fit(self, x: np.ndarray, y: np.ndarray, times: Any, t1: Any) -> LorentzianKNN:
        """Keep the training rows, their labels and when each label became known.

        Parameters
        ----------
        x
            ``(samples, features)`` training rows.
        y
            Class indices.
        times
            Each row's bar time (datetime-like); kept for the caller's checks, the vote reads ``t1``.
        t1
            When each label became known: the last bar it depends on.
        """
        x = _rows(x, "x")
        y = _labels(y, len(x), self.n_classes)
        _, tz = _nanoseconds(times, "times", len(x))
        known, tz_t1 = _nanoseconds(t1, "t1", len(x))
        if tz != tz_t1:
            raise ModelError(f"times are in {tz} but t1 in {tz_t1}; pass both in the same time zone")
        order = np.argsort(known, kind="stable")
        self.order_ = order  # sorted position -> training row
        self.x_ = np.ascontiguousarray(x[order])
        self.y_ = y[order]
        self.t1_ = known[order]
        self.tz_ = tz
        self.n_features_in_ = x.shape[1]
        return self

    def neighbours(self, x: np.ndarray, times: Any) -> np.ndarray:
        """``(samples, k)`` training rows (as indexed in ``fit``) nearest to each row of ``x`` among the candidates
        (recent, spaced rows whose label was known before its time), nearest first; -1 where fewer than ``k``."""
        nearest = self._nearest(x, times)
        return np.where(nearest >= 0, self.order_[np.maximum(nearest, 0)], -1)

    def predict_proba(self, x: np.ndarray, times: Any) -> np.ndarray:
        """``(samples, n_classes)`` shares of each class among the known nearest neighbours of each row."""
        nearest = self._nearest(x, times)  # (n, k) positions in t1 order
        found = nearest >= 0
        labels = np.where(found, self.y_[np.maximum(nearest, 0)], -1)  # (n, k)
        counts = np.stack([(labels == c).sum(axis=1) for c in range(self.n_classes)], axis=1).astype(np.float64)
        total = found.sum(axis=1)
        return np.where(total[:, None] > 0, counts / np.maximum(total, 1)[:, None], 1.0 / self.n_classes)

    def _nearest(self, x: np.ndarray, times: Any) -> np.ndarray:
        """Nearest known neighbours as positions in the t1-sorted training rows, -1 where missing."""
        if not hasattr(self, "x_"):
            raise ModelError("this LorentzianKNN is not fitted yet; call fit(x, y, times, t1) first")
        x = _rows(x, "x", self.n_features_in_)
        query_times, tz = _nanoseconds(times, "times", len(x))
        if tz != self.tz_:
            raise ModelError(f"times are in {tz} but the model was fitted on {self.tz_}; pass the same time zone")
        # The labels known at time t are the training rows with t1 < t: a prefix of the rows sorted by t1.
        available = np.searchsorted(self.t1_, query_times, side="left").astype(np.int64)
        # 0 stands for "no bound": the kernel then searches the whole known prefix.
        max_back = 0 if self.max_back is None else int(self.max_back)
        return _lorentzian_knn(self.x_, np.ascontiguousarray(x), available, self.k, max_back, int(self.stride))


@numba.njit(cache=True, parallel=True)
def _lorentzian_knn(
    train: np.ndarray, query: np.ndarray, available: np.ndarray, k: int, max_back: int, stride: int
) -> np.ndarray:
    """For each query row, the ``k`` nearest of its candidates (nearest first, ties to the earlier row).

    Query ``i`` knows ``train[:available[i]]``; its candidates are the last ``max_back`` of those (all when
    ``max_back`` is 0), every ``stride``-th counting back from ``available[i] - 1``.
    """
    n, f = query.shape
    out = np.full((n, k), -1, dtype=np.int64)
    for i in numba.prange(n):
        best = np.full(k, np.inf)
        index = np.full(k, -1, dtype=np.int64)
        last = available[i] - 1
        lowest = 0 if max_back == 0 else max(0, available[i] - max_back)
        # Walk the candidates oldest first (same rows as counting back from the last), so that the strict
        # comparison below keeps the earlier row ahead at equal distance.
        start = last - ((last - lowest) // stride) * stride if last >= lowest else available[i]
        for j in range(start, available[i], stride):
            d = 0.0
            for c in range(f):
                d += np.log1p(abs(query[i, c] - train[j, c]))
            if d < best[k - 1]:
                # Insert in order; a strict comparison keeps an earlier row ahead of a later one at equal distance.
                m = k - 1
                while m > 0 and best[m - 1] > d:
                    best[m] = best[m - 1]
                    index[m] = index[m - 1]
                    m -= 1
                best[m] = d
                index[m] = j
        out[i] = index
    return out


def _whole(value: Any) -> bool:
    """An int (not a bool, not a float that happens to be whole): parameters that count rows."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _rows(x: np.ndarray, name: str, n_features: int | None = None) -> np.ndarray:
    rows = np.asarray(x, dtype=np.float64)
    if rows.ndim != 2:
        raise ModelError(f"{name} must be a (samples, features) matrix, got shape {rows.shape}")
    if n_features is not None and rows.shape[1] != n_features:
        raise ModelError(f"{name} has {rows.shape[1]} features, but the model was fitted on {n_features}")
    bad = np.argwhere(~np.isfinite(rows))
    if len(bad):
        row, col = bad[0]
        raise ModelError(f"{name} is not finite at row {row}, feature {col}; features must be complete (no NaN)")
    return rows


def _labels(y: np.ndarray, n: int, n_classes: int) -> np.ndarray:
    values = np.asarray(y)
    if values.shape != (n,):
        raise ModelError(f"y must hold one class index per row ({n}), got shape {values.shape}")
    if np.issubdtype(values.dtype, np.floating) and not np.all(np.isfinite(values) & (values == np.round(values))):
        raise ModelError("y must hold whole class indices; leave unlabelled rows (NaN) out")
    labels = values.astype(np.int64)
    if n == 0:
        raise ModelError("a baseline needs at least one training row")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ModelError(f"y holds classes {labels.min()}..{labels.max()}, but n_classes is {n_classes}")
    return labels


def _nanoseconds(times: Any, name: str, n: int) -> tuple[np.ndarray, str | None]:
    """Datetime-likes as int64 nanoseconds since the epoch, and their time zone (None if naive)."""
    try:
        index = pd.DatetimeIndex(times)
    except (TypeError, ValueError) as e:
        raise ModelError(f"{name} must be datetime-like (one timestamp per row): {e}") from e
    if len(index) != n:
        raise ModelError(f"{name} has {len(index)} timestamps for {n} rows")
    if index.hasnans:
        raise ModelError(f"{name} is missing (NaT) at row {int(np.flatnonzero(index.isna())[0])}")
    return index.as_unit("ns").asi8, None if index.tz is None else str(index.tz)
