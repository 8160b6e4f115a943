"""From class probabilities to a target position, one bar at a time.

The same :meth:`DecisionRules.step` serves the backtest (looped over a window by :meth:`DecisionRules.apply`)
and a live engine (called once per new bar), so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurotrade.labels import BUY, HOLD, SELL


@dataclass(frozen=True)
class DecisionRules:
    """Signal rules: a class counts only when its probability reaches ``confidence_threshold``.

    BUY targets a long position; SELL targets flat, or short when ``allow_short``; HOLD (or no class confident
    enough) keeps the current position.

    Examples
    --------
    >>> rules = DecisionRules(confidence_threshold=0.6)
    >>> rules.step(np.array([0.1, 0.2, 0.7]), position=0)
    (2, 1)
    >>> rules.step(np.array([0.5, 0.1, 0.4]), position=1)  # SELL at 0.5 is not confident enough
    (1, 1)
    """

    confidence_threshold: float = 0.5
    allow_short: bool = False

    def step(self, proba: np.ndarray, position: int) -> tuple[int, int]:
        """One bar: ``(signal class, target position)`` given the probabilities and the current position."""
        best = int(np.argmax(proba))
        signal = best if proba[best] >= self.confidence_threshold else HOLD
        if signal == BUY:
            return signal, 1
        if signal == SELL:
            return signal, -1 if self.allow_short else 0
        return signal, position

    def apply(self, proba: np.ndarray, *, position: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Run :meth:`step` over ``(bars, classes)`` probabilities; returns the signals and target positions.

        Examples
        --------
        >>> p = np.array([[0.1, 0.1, 0.8], [0.3, 0.4, 0.3], [0.8, 0.1, 0.1]])
        >>> [a.tolist() for a in DecisionRules().apply(p)]
        [[2, 1, 0], [1, 1, 0]]
        """
        signals = np.empty(len(proba), dtype=np.int64)
        targets = np.empty(len(proba), dtype=np.int64)
        for i, row in enumerate(proba):
            signals[i], position = self.step(row, position)
            targets[i] = position
        return signals, targets
