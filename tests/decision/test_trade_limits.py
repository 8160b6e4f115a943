"""max_trades_per_day: position changes per UTC calendar day, counted bar by bar, reset at midnight UTC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.decision import BarView, DecisionRules, RuleState
from neurotrade.errors import ConfigError

BUY_ROW, SELL_ROW = [0.1, 0.1, 0.8], [0.8, 0.1, 0.1]


def flip_flop(n: int) -> np.ndarray:
    """BUY, SELL, BUY, ...: every bar asks for a change of position."""
    return np.array([BUY_ROW if i % 2 == 0 else SELL_ROW for i in range(n)])


def test_changes_stop_at_the_limit_and_resume_after_midnight_utc() -> None:
    times = pd.date_range("2024-05-01 21:00", periods=8, freq="1h", tz="UTC")  # 21:00 .. 04:00 next day
    signals, targets, sizes, reasons = DecisionRules(allow_short=True, max_trades_per_day=2).apply_all(
        flip_flop(8), times=times
    )
    # 21:00 and 22:00 trade; 23:00's BUY is vetoed; midnight's SELL keeps the short (no change); a new day, so
    # 01:00 and 02:00 trade; 03:00's BUY is vetoed again.
    assert targets.tolist() == [1, -1, -1, -1, 1, -1, -1, -1]
    assert signals.tolist() == [2, 0, 1, 0, 2, 0, 1, 0]
    assert reasons[2] == reasons[6] == "vetoed: 2 trades today (max 2)" and sizes[2] == sizes[6] == 0.0
    assert reasons[3] == reasons[7] == "fixed 1.00" and sizes[3] == 1.0  # held: the size it would give


def test_the_day_is_the_utc_day_whatever_the_time_zone() -> None:
    # 18:00 and 20:00 in New York on the same local day straddle midnight UTC (22:00 and 00:00 UTC).
    times = pd.DatetimeIndex(["2024-05-01 18:00", "2024-05-01 20:00"]).tz_localize("America/New_York")
    _, targets, _, _ = DecisionRules(allow_short=True, max_trades_per_day=1).apply_all(flip_flop(2), times=times)
    assert targets.tolist() == [1, -1]
    naive = pd.DatetimeIndex(["2024-05-01 22:00", "2024-05-01 23:00"])  # naive times are UTC
    _, targets, _, _ = DecisionRules(allow_short=True, max_trades_per_day=1).apply_all(flip_flop(2), times=naive)
    assert targets.tolist() == [1, 1]


def test_vetoes_and_non_changes_are_not_counted() -> None:
    times = pd.date_range("2024-05-01 10:00", periods=5, freq="1h", tz="UTC")
    proba = np.array([BUY_ROW, BUY_ROW, BUY_ROW, SELL_ROW, BUY_ROW])
    rules = DecisionRules(allow_short=True, max_trades_per_day=2)
    _, targets, _, _ = rules.apply_all(proba, times=times)
    assert targets.tolist() == [1, 1, 1, -1, -1]  # two changes (bars 0 and 3); the third is vetoed
    state = RuleState()
    for i, row in enumerate(proba):
        state = rules.decide(BarView(row, time=times[i]), state).state
    assert state == RuleState(position=-1, bars_since_change=1, day=times[0].date(), changes_today=2)


def test_a_veto_never_creates_a_change() -> None:
    rng = np.random.default_rng(11)
    n = 500
    proba = rng.dirichlet([1, 1, 1], size=n)
    times = pd.date_range("2024-01-01", periods=n, freq="37min", tz="UTC")
    rules = DecisionRules(confidence_threshold=0.4, allow_short=True, max_trades_per_day=3, min_bars_between_signals=2)
    signals, targets, _, reasons = rules.apply_all(proba, times=times, position=-1)
    held = np.concatenate([[-1], targets[:-1]])
    vetoed = np.array([r.startswith("vetoed") for r in reasons])
    assert vetoed.any() and (targets[vetoed] == held[vetoed]).all() and (signals[vetoed] == 1).all()
    changed = targets != held
    days = times.floor("D")
    assert pd.Series(changed).groupby(days).sum().max() <= 3


def test_without_times_the_limit_cannot_count() -> None:
    rules = DecisionRules(max_trades_per_day=1)
    with pytest.raises(ConfigError, match="every bar needs its time"):
        rules.apply_all(flip_flop(2))
    with pytest.raises(ConfigError, match="every bar needs its time"):
        rules.step(np.array(BUY_ROW), position=0)
    with pytest.raises(ConfigError, match="max_trades_per_day must be >= 1"):
        DecisionRules(max_trades_per_day=0)


def test_holding_another_position_restarts_the_spacing_not_the_day_count() -> None:
    state = RuleState(position=1, bars_since_change=5, changes_today=2)
    assert state.holding(1) is state
    assert state.holding(0) == RuleState(position=0, bars_since_change=0, changes_today=2)
