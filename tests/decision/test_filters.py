"""The optional filters of DecisionRules: spacing between position changes and a minimum expected edge."""

from __future__ import annotations

import numpy as np
import pytest

from neurotrade.decision import DecisionRules
from neurotrade.errors import ConfigError

BUY_ROW, SELL_ROW, HOLD_ROW = [0.1, 0.1, 0.8], [0.8, 0.1, 0.1], [0.2, 0.6, 0.2]


def test_defaults_change_nothing() -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=200)
    plain = DecisionRules(0.4, True).apply(p)
    explicit = DecisionRules(0.4, True, min_bars_between_signals=0, min_edge_pct=None).apply(p)
    assert all(np.array_equal(a, b) for a, b in zip(plain, explicit, strict=True))


def test_min_bars_between_changes() -> None:
    p = np.array([BUY_ROW, SELL_ROW, HOLD_ROW, SELL_ROW, BUY_ROW, BUY_ROW])
    signals, targets = DecisionRules(allow_short=True, min_bars_between_signals=2).apply(p)
    # bar 1's SELL comes 1 bar after the BUY: vetoed; bar 3's SELL, 3 bars after: acted on; bar 4's BUY, 1 bar
    # after that: vetoed; bar 5's, 2 bars after: acted on.
    assert targets.tolist() == [1, 1, 1, -1, -1, 1]
    assert signals.tolist() == [2, 1, 1, 0, 1, 2]


def test_min_edge_counts_probability_margin_move_and_costs() -> None:
    rules = DecisionRules(min_edge_pct=0.5, expected_move_pct=2.0, round_trip_cost_pct=0.3)
    assert rules.expected_edge_pct(np.array([0.1, 0.3, 0.6]), 2) == pytest.approx(0.7)
    assert rules.step(np.array([0.1, 0.3, 0.6]), 0) == (2, 1)
    assert rules.step(np.array([0.25, 0.15, 0.6]), 0) == (1, 0)  # (0.35 * 2) - 0.3 = 0.4 < 0.5
    # An exit is never vetoed by the edge filter (review of issue 10): the model says leave, so the long closes.
    assert rules.step(np.array([0.6, 0.15, 0.25]), 1) == (0, 0)
    assert rules.step(np.array([0.25, 0.15, 0.6]), 1) == (2, 1)  # no change of position, nothing to veto


def test_invalid_filters_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="min_bars_between_signals must be >= 0, got -1"):
        DecisionRules(min_bars_between_signals=-1)
    with pytest.raises(ConfigError, match="min_edge_pct needs expected_move_pct > 0"):
        DecisionRules(min_edge_pct=0.1)
