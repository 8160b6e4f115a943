"""Drift and calibration of a paper session's model, watched bar by bar over a rolling window.

Feature drift. A bundle keeps its training statistics as the scaler's mean and standard deviation per feature (not
the training distribution itself), so each live value is standardised with them and binned on fixed bins of the
standard normal: its quintiles (edges at the normal's 20 %, 40 %, 60 % and 80 % quantiles), each expected to hold
a fifth of the values. The population stability index of a feature's values over the last ``window`` bars (every
symbol's, in a universe) is
``sum((live - expected) * ln(live / expected))`` over the bins (a bin's live share floored at 1e-4). A feature far
from normal in training (skewed volume ratios, bounded oscillators) reads a little drift even when nothing moved;
the default threshold (0.25, "a major shift" in the usual reading of PSI) leaves room for that.

Calibration. Once a decision's label horizon (``labels.lookahead``, ``horizon`` or ``max_holding``) has passed, its
outcome is known: the close moved up or not. The model's directional confidence at the decision is
``p_buy / (p_buy + p_sell)``, the probability it gives an up move among the moves it calls; the calibration gap is
``|mean confidence - share of up moves|`` over the decisions whose outcome became known in the last ``window``
bars that had one (calibration in
the large of the direction; it needs no labeller, so it is causal and simple).

A flag is raised when a measure crosses its threshold from below (once per crossing, not on every bar it stays
above); the session commits it with its bar in the ``drift`` table and logs a warning.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurotrade.config._live import DriftSpec

log = logging.getLogger(__name__)

#: Inner edges of the quintiles of the standard normal. Five bins, not ten: over a window of 250 bars the noise
#: of an unmoved feature's PSI is about (bins - 1) / window, 0.016 with five.
NORMAL_QUINTILES = (-0.8416212336, -0.2533471031, 0.2533471031, 0.8416212336)
_FLOOR = 1e-4


def psi(values: np.ndarray) -> float:
    """The population stability index of standardised ``values`` against the standard normal's quintiles.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> psi(rng.standard_normal(5000)) < 0.01, psi(rng.standard_normal(5000) + 1.5) > 0.25
    (True, True)
    """
    values = np.asarray(values, dtype=np.float64)
    return _psi(_quintile_counts(values[np.isfinite(values)][:, None])[0])


def _quintile_counts(table: np.ndarray) -> np.ndarray:
    """``(features, 5)``: how many of each column's (finite, standardised) values fall in each normal quintile."""
    bins = np.searchsorted(NORMAL_QUINTILES, table, side="right")  # (rows, features)
    return np.stack([np.bincount(bins[:, i], minlength=5) for i in range(table.shape[1])]) if table.size else (
        np.zeros((table.shape[1], 5), dtype=np.int64))  # fmt: skip


def _psi(counts: np.ndarray) -> float:
    total = counts.sum()
    if total == 0:
        return math.nan
    live = np.maximum(counts / total, _FLOOR)
    return float(np.sum((live - 0.2) * np.log(live / 0.2)))


@dataclass(frozen=True)
class DriftFlag:
    """A measure that crossed its threshold at a bar: ``kind`` is ``psi`` (``feature`` names the feature) or
    ``calibration`` (``feature`` is ``""``)."""

    kind: str
    feature: str
    value: float
    threshold: float

    def row(self) -> dict[str, Any]:
        """As the session's ``drift`` table stores it."""
        return {"kind": self.kind, "feature": self.feature, "value": self.value, "threshold": self.threshold}


def label_horizon(labels: Any) -> int:
    """The bars after which a decision's outcome counts as known: the labels' ``lookahead``, ``horizon`` or
    ``max_holding`` (10 when the labels name none).

    Examples
    --------
    >>> from neurotrade.config._spec import ZigZagLabels
    >>> label_horizon(ZigZagLabels(lookahead=7))
    7
    """
    for key in ("lookahead", "horizon", "max_holding"):
        value = getattr(labels, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return 10


class DriftMonitor:
    """Watches one bundle's live features and calibration (pooled over the symbols of a universe).

    Parameters
    ----------
    spec
        The ``live.drift`` section.
    documents
        The bundle's documents (its ``scaler`` statistics and ``features``).
    horizon
        Bars after which a decision's outcome is known.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> docs = {"scaler": {"features": ["x"], "mean": [0.0], "scale": [1.0]}}
    >>> m = DriftMonitor(DriftSpec(window=50), docs, horizon=1)
    >>> flags = [m.observe({"A": NS(features=np.array([3.0]), proba=None)}, {"A": 1.0}) for _ in range(60)]
    >>> [f.feature for fl in flags for f in fl], round(m.state()["psi"]["x"], 2)
    (['x'], 7.37)
    """

    def __init__(self, spec: DriftSpec, documents: Mapping[str, Any], horizon: int) -> None:
        self.spec = spec
        self.horizon = horizon
        self.names: list[str] = []
        self.rebase(documents)
        self.waiting: dict[str, deque[tuple[float, float]]] = {}  # symbol -> (close, confidence) awaiting outcome
        # The outcomes that became known at each of the last `window` bars that had any: (confidence, went up).
        self.known: deque[list[tuple[float, float]]] = deque(maxlen=spec.window)
        self.gap = math.nan

    def rebase(self, documents: Mapping[str, Any]) -> None:
        """Measure against another bundle's training statistics (a switch): the window of live values is kept (it
        holds raw values), and so are the flags still above their thresholds (a flag is raised on a crossing)."""
        before = self.names
        scaler = documents.get("scaler") or {}
        names = list(scaler.get("features") or documents.get("features", {}).get("resolved_features") or [])
        mean, scale = scaler.get("mean"), scaler.get("scale")
        flat = isinstance(mean, list) and len(mean) == len(names) and all(isinstance(v, int | float) for v in mean)
        if flat:
            self.names = names
            self.mean = np.asarray(mean, dtype=np.float64)
            self.scale = np.where(np.asarray(scale, dtype=np.float64) > 0, np.asarray(scale, dtype=np.float64), 1.0)
        else:  # a scaler of another shape (per symbol): calibration only
            log.warning("the bundle's scaler is not one mean/std per feature: feature drift is not watched")
            self.names, self.mean, self.scale = [], np.zeros(0), np.ones(0)
        if self.names != before or not hasattr(self, "values"):  # other features: another window
            # Each of the last `window` bars that had any complete row: its rows, one per symbol (raw values), and
            # their quintile counts under the statistics in use (summed in `counts`, so a bar costs its own rows).
            self.values: deque[np.ndarray] = deque()
            self.above: set[tuple[str, str]] = set()
            self.latest: dict[str, float] = {}
        self.bar_counts: deque[np.ndarray] = deque(self._counts(v) for v in self.values)
        self.counts = sum(self.bar_counts, np.zeros((len(self.names), 5), dtype=np.int64))

    def observe(
        self, decisions: Mapping[str, Any], closes: Mapping[str, float], *, trading: bool = True
    ) -> list[DriftFlag]:
        """Take one bar's decisions (their ``features`` and ``proba``) and closes; return the flags raised.

        Warm-up bars (``trading=False``) fill the features' window, so drift is measured from the first trading
        bar; flags and calibration outcomes count from the trading bars only.
        """
        n = len(self.names)
        rows: list[np.ndarray] = []
        known: list[tuple[float, float]] = []
        for symbol, decision in decisions.items():
            row = np.asarray(decision.features, dtype=np.float64).reshape(-1)
            if n and len(row) >= n and np.isfinite(row[-n:]).all():
                rows.append(row[-n:])
            if not trading:
                continue
            close = float(closes[symbol])
            waiting = self.waiting.setdefault(symbol, deque())
            proba = decision.proba
            waiting.append((close, _confidence(proba)))
            if len(waiting) > self.horizon:
                then, confidence = waiting.popleft()
                if math.isfinite(confidence):
                    known.append((confidence, 1.0 if close > then else 0.0))
        # The window counts bars, each holding every symbol's values at that bar: a universe's window spans as much
        # time as one symbol's (a count of values would shrink it to window / symbols bars, one day's cross-section
        # for a large universe, whose values move together and read as drift).
        if rows:
            self.values.append(np.asarray(rows))
            self.bar_counts.append(self._counts(self.values[-1]))
            self.counts += self.bar_counts[-1]
            if len(self.values) > self.spec.window:
                self.values.popleft()
                self.counts -= self.bar_counts.popleft()
        if known:
            self.known.append(known)
        flags: list[DriftFlag] = []
        if not trading:
            return flags
        if len(self.values) >= self.spec.window:
            for i, name in enumerate(self.names):
                value = _psi(self.counts[i])
                self.latest[name] = value
                flags += self._cross("psi", name, value, self.spec.psi)
        if len(self.known) >= self.spec.window:
            outcomes = np.asarray([o for bar in self.known for o in bar])
            self.gap = float(abs(outcomes[:, 0].mean() - outcomes[:, 1].mean()))
            flags += self._cross("calibration", "", self.gap, self.spec.calibration)
        return flags

    def _counts(self, rows: np.ndarray) -> np.ndarray:
        return _quintile_counts((rows - self.mean) / self.scale)

    def _cross(self, kind: str, feature: str, value: float, threshold: float) -> list[DriftFlag]:
        key = (kind, feature)
        if value > threshold and key not in self.above:
            self.above.add(key)
            return [DriftFlag(kind, feature, value, threshold)]
        if value <= threshold:
            self.above.discard(key)
        return []

    def state(self) -> dict[str, Any]:
        """The latest measures: ``psi`` per feature, the calibration ``gap`` and the outcomes it rests on."""
        return {"psi": dict(self.latest), "calibration": None if math.isnan(self.gap) else self.gap,
                "outcomes": len(self.known)}  # fmt: skip


def _confidence(proba: Any) -> float:
    """``p_buy / (p_buy + p_sell)``: NaN while warming up, or without directional mass."""
    if proba is None:
        return math.nan
    p = np.asarray(proba, dtype=np.float64).reshape(-1)
    if len(p) < 3 or not np.isfinite(p[[0, 2]]).all() or p[0] + p[2] <= 0:
        return math.nan
    return float(p[2] / (p[0] + p[2]))
