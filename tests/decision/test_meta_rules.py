"""Meta-labelling decisions: the position is exactly the primary side times the meta model's act, and the filters
and sizing see p(act); apply_all is a loop of decide, bit for bit, with or without a side."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade.decision import BarView, DecisionRules, RuleState, Sizer
from neurotrade.errors import ModelError
from neurotrade.labels import BUY, HOLD, SELL

probability = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    p_act=st.lists(probability, min_size=1, max_size=40),
    sides=st.lists(st.sampled_from([-1, 0, 1]), min_size=40, max_size=40),
    threshold=probability,
    allow_short=st.booleans(),
    start=st.sampled_from([-1, 0, 1]),
)
def test_meta_position_is_side_times_act(
    p_act: list[float], sides: list[int], threshold: float, allow_short: bool, start: int
) -> None:
    n = len(p_act)
    proba = np.column_stack([1 - np.array(p_act), np.zeros(n), np.array(p_act)])
    side = np.array(sides[:n])
    rules = DecisionRules(confidence_threshold=threshold, allow_short=allow_short)
    signals, targets, sizes, _ = rules.apply_all(proba, side=side, position=start)
    act = proba[:, BUY] >= threshold
    allowed = (side == 1) | ((side == -1) & allow_short)
    expected = np.where(act & allowed, side, 0)
    assert targets.tolist() == expected.tolist()
    assert signals.tolist() == [{1: BUY, -1: SELL, 0: HOLD}[t] for t in expected]
    assert ((sizes > 0) == (expected != 0)).all()  # fixed sizing: every bet is sized, a flat one is not


def test_a_pass_goes_flat_unlike_the_plain_rules() -> None:
    passing = np.array([0.6, 0.0, 0.4])
    meta = DecisionRules(confidence_threshold=0.5).decide(BarView(passing, side=1), RuleState(position=1))
    assert (meta.signal, meta.target) == (HOLD, 0)
    plain = DecisionRules(confidence_threshold=0.7).decide(BarView(passing), RuleState(position=1))
    assert (plain.signal, plain.target) == (HOLD, 1)


def test_meta_changes_are_filtered_like_any_other() -> None:
    rules = DecisionRules(confidence_threshold=0.5, allow_short=True, min_bars_between_signals=2)
    proba = np.tile([0.2, 0.0, 0.8], (4, 1))
    _, targets, _, reasons = rules.apply_all(proba, side=np.array([1, -1, -1, -1]))
    assert targets.tolist() == [1, 1, -1, -1]
    assert reasons[1] == "vetoed: 1 bars since the last change (min 2)"


def test_meta_edge_uses_the_act_margin_or_the_predicted_return() -> None:
    rules = DecisionRules(
        confidence_threshold=0.5, allow_short=True, min_edge_pct=0.5, expected_move_pct=2.0, round_trip_cost_pct=0.2
    )
    # (2 * 0.6 - 1) * 2 - 0.2 = 0.2 < 0.5: vetoed; (2 * 0.9 - 1) * 2 - 0.2 = 1.4: taken
    assert rules.decide(BarView(np.array([0.4, 0.0, 0.6]), side=-1)).reason.startswith("vetoed: expected edge 0.20%")
    assert rules.decide(BarView(np.array([0.1, 0.0, 0.9]), side=-1)).target == -1
    # A predicted return of -1 % on a short side: 1.0 - 0.2 = 0.8 >= 0.5
    with_return = rules.decide(BarView(np.array([0.4, 0.0, 0.6]), side=-1, pred_return=-0.01))
    assert with_return.target == -1


def test_the_plain_edge_prefers_a_predicted_return() -> None:
    rules = DecisionRules(min_edge_pct=0.5, expected_move_pct=4.0, round_trip_cost_pct=0.2)
    row = np.array([0.1, 0.1, 0.8])  # from the probabilities: 0.7 * 4 - 0.2 = 2.6
    assert rules.decide(BarView(row)).target == 1
    assert rules.decide(BarView(row, pred_return=0.008)).target == 1  # 0.8 - 0.2 = 0.6 >= 0.5
    assert rules.decide(BarView(row, pred_return=0.005)).reason == "vetoed: expected edge 0.30% < 0.50%"


def test_bad_sides_are_model_errors() -> None:
    rules = DecisionRules()
    with pytest.raises(ModelError, match="primary side at bar 1 is 2"):
        rules.apply_all(np.tile([0.2, 0.0, 0.8], (2, 1)), side=np.array([1, 2]))
    with pytest.raises(ModelError, match="primary side at bar 0 is nan"):
        rules.apply_all(np.tile([0.2, 0.0, 0.8], (1, 1)), side=np.array([np.nan]))
    with pytest.raises(ModelError, match="side has 1 values for 2 bars"):
        rules.apply_all(np.tile([0.2, 0.0, 0.8], (2, 1)), side=np.array([1]))


@pytest.mark.parametrize("meta", [False, True])
@pytest.mark.parametrize("mode", ["fixed", "confidence", "volatility_target", "kelly"])
def test_apply_all_is_a_loop_of_decide(mode: str, meta: bool) -> None:
    rng = np.random.default_rng(7)
    n = 400
    proba = rng.dirichlet([1, 1, 1], size=n)
    times = pd.date_range("2024-03-01 20:00", periods=n, freq="1h", tz="UTC")  # 17 days: many midnights
    side = rng.choice([-1, 0, 1], size=n) if meta else None
    pred_return = np.where(rng.random(n) < 0.3, np.nan, rng.normal(0, 0.01, n))
    pred_vol = np.where(rng.random(n) < 0.5, np.nan, rng.uniform(0.001, 0.03, n))
    realised = np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0.001, 0.03, n))
    rules = DecisionRules(
        confidence_threshold=0.4,
        allow_short=True,
        min_bars_between_signals=2,
        min_edge_pct=0.1,
        expected_move_pct=2.0,
        round_trip_cost_pct=0.1,
        max_trades_per_day=3,
        sizer=Sizer(mode, periods_per_year=252 * 7, max_leverage=3.0, horizon=5),
    )
    signals, targets, sizes, reasons = rules.apply_all(
        proba, times=times, side=side, pred_return=pred_return, pred_vol=pred_vol, realised_vol=realised, position=1
    )
    state = RuleState(position=1)
    for i in range(n):
        view = BarView(
            proba[i],
            time=times[i],
            side=None if side is None else int(side[i]),
            pred_return=float(pred_return[i]),
            pred_vol=float(pred_vol[i]),
            realised_vol=float(realised[i]),
        )
        step = rules.decide(view, state)
        assert (step.signal, step.target, step.reason) == (signals[i], targets[i], reasons[i])
        assert np.float64(step.size).tobytes() == sizes[i].tobytes()
        state = step.state
    assert len(set(targets.tolist())) > 1 and (sizes > 0).any()  # the example exercises changes and sizes


def test_a_refused_reversal_goes_flat_never_keeps_the_old_side() -> None:
    # Regression (review of issue 10): a side flip whose new bet Kelly cannot size used to keep the old side, so
    # the engine stayed long while the primary said short.
    rules = DecisionRules(confidence_threshold=0.5, allow_short=True, sizer=Sizer("kelly", payoff=0.1))
    proba = np.tile([0.0, 0.2, 0.8], (4, 1))  # act every bar; p 0.8 with payoff 0.1: 0.8 - 0.2 / 0.1 < 0
    _, targets, sizes, reasons = rules.apply_all(proba, side=np.array([1, 1, -1, -1]), position=1)
    assert targets.tolist() == [1, 1, 0, 0]  # the long already held stays; the short cannot be sized: flat
    assert reasons[2].startswith("vetoed entry: kelly") and reasons[2].endswith("; flat")
    assert reasons[3].startswith("vetoed: kelly") and sizes[2:].tolist() == [0.0, 0.0]
    # every target is side x act, or flat: never a side the primary does not hold
    sides = np.array([1, 1, -1, -1])
    assert all(t in (0, s) for t, s in zip(targets, sides, strict=True))


def test_enabling_shorts_can_no_longer_keep_a_long_through_a_sell() -> None:
    proba = np.array([0.55, 0.15, 0.30])  # SELL; Kelly with payoff 0.5 cannot size a short: 0.65 - 0.35 / 0.5 < 0
    for allow_short in (False, True):
        rules = DecisionRules(allow_short=allow_short, sizer=Sizer("kelly", payoff=0.5))
        step = rules.decide(BarView(proba), RuleState(position=1))
        assert step.target == 0, allow_short
