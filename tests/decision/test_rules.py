"""Decision rules: thresholds, shorting, and HOLD keeping the position."""

from __future__ import annotations

import numpy as np

from neurotrade.decision import DecisionRules
from neurotrade.labels import BUY, HOLD, SELL

P_SELL, P_HOLD, P_BUY = [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]


def test_long_flat_by_default_and_hold_keeps_the_position() -> None:
    signals, targets = DecisionRules().apply(np.array([P_BUY, P_HOLD, P_SELL, P_HOLD, P_BUY]))
    assert signals.tolist() == [BUY, HOLD, SELL, HOLD, BUY]
    assert targets.tolist() == [1, 1, 0, 0, 1]


def test_short_when_enabled() -> None:
    _, targets = DecisionRules(allow_short=True).apply(np.array([P_SELL, P_HOLD, P_BUY]))
    assert targets.tolist() == [-1, -1, 1]


def test_below_threshold_is_hold() -> None:
    signals, targets = DecisionRules(confidence_threshold=0.9).apply(np.array([P_BUY, [0.05, 0.0, 0.95]]))
    assert signals.tolist() == [HOLD, BUY] and targets.tolist() == [0, 1]


def test_step_and_apply_agree() -> None:
    rules = DecisionRules(confidence_threshold=0.4, allow_short=True)
    proba = np.random.default_rng(0).dirichlet([1, 1, 1], size=200)
    signals, targets = rules.apply(proba)
    position = 0
    for row, signal, target in zip(proba, signals, targets, strict=True):
        got_signal, position = rules.step(row, position)
        assert (got_signal, position) == (signal, target)
