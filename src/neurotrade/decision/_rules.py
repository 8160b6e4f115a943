"""From class probabilities to a target position, one bar at a time.

The same :meth:`DecisionRules.step` serves the backtest (looped over a window by :meth:`DecisionRules.apply`)
and the live :class:`~neurotrade.decision.DecisionEngine` (called once per new bar), so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurotrade.errors import ConfigError
from neurotrade.labels import BUY, HOLD, SELL


@dataclass(frozen=True)
class DecisionRules:
    """Signal rules: a class counts only when its probability reaches ``confidence_threshold``.

    BUY targets a long position; SELL targets flat, or short when ``allow_short``; HOLD (or no class confident
    enough) keeps the current position. Two optional filters (both off by default) may then veto a signal that
    would change the position, turning it into HOLD:

    - ``min_bars_between_signals``: fewer bars than this have passed since the position last changed;
    - ``min_edge_pct``: the expected edge is below this. The expected edge of a move, in percent, is
      ``(p[signal] - p[opposite]) * expected_move_pct - round_trip_cost_pct``: the probability margin of the
      signalled direction over the opposite one, times the size of the move the labels stand for (a zigzag's
      ``threshold_pct``), less the cost of getting in and out (twice commission plus slippage, in percent).

    Examples
    --------
    >>> rules = DecisionRules(confidence_threshold=0.6)
    >>> rules.step(np.array([0.1, 0.2, 0.7]), position=0)
    (2, 1)
    >>> rules.step(np.array([0.5, 0.1, 0.4]), position=1)  # SELL at 0.5 is not confident enough
    (1, 1)
    >>> picky = DecisionRules(min_edge_pct=1.0, expected_move_pct=4.0, round_trip_cost_pct=0.2)
    >>> picky.step(np.array([0.2, 0.2, 0.6]), position=0)  # (0.6 - 0.2) * 4 - 0.2 = 1.4 >= 1
    (2, 1)
    >>> picky.step(np.array([0.3, 0.1, 0.6]), position=0)  # (0.6 - 0.3) * 4 - 0.2 = 1.0 ... just enough
    (2, 1)
    >>> picky.step(np.array([0.35, 0.05, 0.6]), position=0)  # 0.8 < 1: vetoed
    (1, 0)
    """

    confidence_threshold: float = 0.5
    allow_short: bool = False
    min_bars_between_signals: int = 0
    min_edge_pct: float | None = None
    expected_move_pct: float = 0.0
    round_trip_cost_pct: float = 0.0

    def __post_init__(self) -> None:
        if self.min_bars_between_signals < 0:
            raise ConfigError(
                f"min_bars_between_signals must be >= 0, got {self.min_bars_between_signals}; 0 turns the filter off"
            )
        if self.min_edge_pct is not None and self.expected_move_pct <= 0:
            raise ConfigError(
                "min_edge_pct needs expected_move_pct > 0 (the size, in percent, of the move a BUY or SELL label "
                f"stands for), got {self.expected_move_pct}; set it, or leave min_edge_pct unset"
            )

    def expected_edge_pct(self, proba: np.ndarray, signal: int) -> float:
        """The expected edge, in percent after round-trip costs, of acting on ``signal`` (see the class doc).

        Examples
        --------
        >>> DecisionRules(expected_move_pct=2.0, round_trip_cost_pct=0.1).expected_edge_pct(
        ...     np.array([0.1, 0.3, 0.6]), 2)
        0.9
        """
        opposite = SELL if signal == BUY else BUY
        return float((proba[signal] - proba[opposite]) * self.expected_move_pct - self.round_trip_cost_pct)

    def step(self, proba: np.ndarray, position: int, bars_since_change: int | None = None) -> tuple[int, int]:
        """One bar: ``(signal class, target position)`` given the probabilities and the current position.

        ``bars_since_change`` counts the bars since the position last changed (1 on the bar after a change;
        ``None``: never), for ``min_bars_between_signals``: two changes are at least that many bars apart.
        """
        best = int(np.argmax(proba))
        signal = best if proba[best] >= self.confidence_threshold else HOLD
        if signal == BUY:
            target = 1
        elif signal == SELL:
            target = -1 if self.allow_short else 0
        else:
            return signal, position
        if target != position and self._vetoed(proba, signal, bars_since_change):
            return HOLD, position
        return signal, target

    def _vetoed(self, proba: np.ndarray, signal: int, bars_since_change: int | None) -> bool:
        if (
            self.min_bars_between_signals
            and bars_since_change is not None
            and bars_since_change < self.min_bars_between_signals
        ):
            return True
        return self.min_edge_pct is not None and self.expected_edge_pct(proba, signal) < self.min_edge_pct

    def apply(self, proba: np.ndarray, *, position: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Run :meth:`step` over ``(bars, classes)`` probabilities; returns the signals and target positions.

        Examples
        --------
        >>> p = np.array([[0.1, 0.1, 0.8], [0.3, 0.4, 0.3], [0.8, 0.1, 0.1]])
        >>> [a.tolist() for a in DecisionRules().apply(p)]
        [[2, 1, 0], [1, 1, 0]]
        >>> [a.tolist() for a in DecisionRules(min_bars_between_signals=3).apply(p)]
        [[2, 1, 1], [1, 1, 1]]
        """
        signals = np.empty(len(proba), dtype=np.int64)
        targets = np.empty(len(proba), dtype=np.int64)
        since: int | None = None
        for i, row in enumerate(proba):
            since = None if since is None else since + 1
            signals[i], target = self.step(row, position, since)
            if target != position:
                since = 0
            position = targets[i] = target
        return signals, targets
