"""Entry sizes: each sizing mode on hand-computed examples, the max_leverage cap, and the vetoes of unsizable entries;
the causal realised volatility, streamed and batched bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurotrade.config import Strategy
from neurotrade.decision import BarView, DecisionRules, RealisedVolatility, RuleState, Sizer, realised_volatility
from neurotrade.errors import ConfigError, DataError
from neurotrade.labels import BUY, HOLD

BUY_ROW = np.array([0.1, 0.2, 0.7])
SELL_ROW = np.array([0.7, 0.2, 0.1])


def rules(mode: str, **sizing: float) -> DecisionRules:
    return DecisionRules(allow_short=True, sizer=Sizer(mode, **sizing))


def test_fixed_is_the_fraction_capped_at_max_leverage() -> None:
    step = rules("fixed", fraction=0.4).decide(BarView(BUY_ROW))
    assert (step.signal, step.target, step.size, step.reason) == (BUY, 1, 0.4, "fixed 0.40")
    capped = rules("fixed", fraction=0.8, max_leverage=0.5).decide(BarView(BUY_ROW))
    assert capped.size == 0.5 and "capped from 0.80" in capped.reason


def test_confidence_grows_from_a_uniform_guess_to_max_leverage() -> None:
    sized = rules("confidence", max_leverage=3.0)
    # (0.7 - 1/3) / (2/3) = 0.55, times 3
    assert sized.decide(BarView(BUY_ROW)).size == pytest.approx(1.65, abs=1e-12)
    short = sized.decide(BarView(SELL_ROW))
    assert short.target == -1 and short.size == pytest.approx(1.65, abs=1e-12)
    assert sized.decide(BarView(np.array([0.0, 0.0, 1.0]))).size == 3.0
    # Meta: the base is 1/2: (0.7 - 0.5) / 0.5 = 0.4
    meta = sized.decide(BarView(np.array([0.3, 0.0, 0.7]), side=-1))
    assert meta.target == -1 and meta.size == pytest.approx(1.2, abs=1e-12)


def test_confidence_at_or_below_a_uniform_guess_vetoes_the_entry() -> None:
    # A meta model acting at 0.45 (threshold 0.4) is less sure than a coin toss: size 0, no entry.
    sized = DecisionRules(confidence_threshold=0.4, sizer=Sizer("confidence"))
    step = sized.decide(BarView(np.array([0.55, 0.0, 0.45]), side=1))
    assert (step.signal, step.target, step.size) == (HOLD, 0, 0.0)
    assert step.reason.startswith("vetoed: confidence 0.00")


def test_volatility_target_over_predicted_else_realised_volatility() -> None:
    sized = rules("volatility_target", target_volatility_pct=16.0, periods_per_year=256, max_leverage=5.0)
    # 0.16 / 16 = 0.01 per bar
    assert sized.decide(BarView(BUY_ROW, realised_vol=0.005)).size == pytest.approx(2.0, abs=1e-12)
    predicted = sized.decide(BarView(BUY_ROW, pred_vol=0.02, realised_vol=0.005))
    assert predicted.size == pytest.approx(0.5, abs=1e-12) and "predicted" in predicted.reason
    assert sized.decide(BarView(BUY_ROW, realised_vol=0.001)).size == 5.0  # 10x capped at 5


@pytest.mark.parametrize("vol", [math.nan, 0.0])
def test_volatility_target_without_an_estimate_vetoes_the_entry(vol: float) -> None:
    sized = rules("volatility_target", periods_per_year=252)
    step = sized.decide(BarView(BUY_ROW, realised_vol=vol))
    assert (step.signal, step.target, step.size) == (HOLD, 0, 0.0)
    assert step.reason == "vetoed: no volatility estimate (predicted or realised)"
    # Held already: nothing to veto; the step still says why it could not size the position.
    held = sized.decide(BarView(BUY_ROW, realised_vol=vol), RuleState(position=1))
    assert (held.signal, held.target, held.size) == (BUY, 1, 0.0)


def test_kelly_from_probabilities_uses_the_labels_payoff() -> None:
    # p = 0.7 / 0.8 = 0.875; payoff 2: f = 0.875 - 0.125 / 2 = 0.8125; half Kelly 0.40625
    step = rules("kelly", kelly_fraction=0.5, payoff=2.0).decide(BarView(BUY_ROW))
    assert step.size == pytest.approx(0.40625, abs=1e-12)
    assert step.reason == "kelly 0.41 (p 0.88, payoff 2.00)"
    # Meta: p = p[BUY] = 0.6; payoff 1: f = 0.2; full Kelly
    meta = rules("kelly", kelly_fraction=1.0).decide(BarView(np.array([0.4, 0.0, 0.6]), side=1))
    assert meta.size == pytest.approx(0.2, abs=1e-12)


def test_kelly_without_an_edge_vetoes_the_entry() -> None:
    # p = 0.5 / 0.9 = 0.556 with payoff 0.5: f = 0.556 - 0.444 / 0.5 < 0
    sized = DecisionRules(confidence_threshold=0.5, sizer=Sizer("kelly", payoff=0.5))
    step = sized.decide(BarView(np.array([0.4, 0.1, 0.5])))
    assert (step.signal, step.target, step.size) == (HOLD, 0, 0.0)
    assert step.reason.startswith("vetoed: kelly 0.00") and "no bet" in step.reason


def test_continuous_kelly_from_a_predicted_return_and_volatility() -> None:
    sized = rules("kelly", kelly_fraction=0.5, horizon=10, max_leverage=10.0)
    # 0.5 * 0.01 / (0.01**2 * 10) = 5
    long = sized.decide(BarView(BUY_ROW, pred_return=0.01, pred_vol=0.01))
    assert long.size == pytest.approx(5.0, rel=1e-12) and "horizon 10" in long.reason
    # The realised volatility stands in for a missing prediction; a short wins on a negative return.
    short = sized.decide(BarView(SELL_ROW, pred_return=-0.004, realised_vol=0.02))  # 0.5 * 0.004 / 0.004
    assert short.target == -1 and short.size == pytest.approx(0.5, rel=1e-12)
    # A predicted return against the signal: no entry.
    against = sized.decide(BarView(BUY_ROW, pred_return=-0.01, pred_vol=0.01))
    assert (against.target, against.size) == (0, 0.0) and against.reason.startswith("vetoed: kelly")
    # No volatility at all: back to the probabilities.
    fallback = sized.decide(BarView(BUY_ROW, pred_return=0.01))
    assert "payoff" in fallback.reason


def test_flat_targets_have_no_size() -> None:
    step = DecisionRules().decide(BarView(SELL_ROW), RuleState(position=1))
    assert (step.target, step.size, step.reason) == (0, 0.0, "flat")


def test_from_spec_reads_decisions_backtest_and_labels() -> None:
    spec = Strategy.model_validate(
        {
            "name": "s",
            "labels": {"type": "triple_barrier", "profit_take": 3, "stop_loss": 2},
            "decisions": {
                "confidence_threshold": 0.45,
                "allow_short": True,
                "sizing": "volatility_target",
                "max_leverage": 2.5,
                "target_volatility_pct": 20,
                "kelly_fraction": 0.25,
                "min_bars_between_signals": 3,
                "min_expected_edge_pct": 0.2,
                "max_trades_per_day": 4,
            },
            "backtest": {"commission_pct": 0.1, "slippage_pct": 0.05, "fraction": 0.5},
        }
    )
    got = DecisionRules.from_spec(spec, expected_move_pct=1.5, periods_per_year=252 * 7, horizon=20)
    assert got.confidence_threshold == 0.45 and got.allow_short
    assert (got.min_bars_between_signals, got.min_edge_pct, got.max_trades_per_day) == (3, 0.2, 4)
    assert got.expected_move_pct == 1.5 and got.round_trip_cost_pct == pytest.approx(0.3, abs=1e-12)
    assert got.sizer == Sizer(
        "volatility_target",
        fraction=0.5,
        max_leverage=2.5,
        target_volatility_pct=20.0,
        periods_per_year=252 * 7,
        kelly_fraction=0.25,
        payoff=1.5,
        payoff_short=2 / 3,  # a plain triple-barrier short wins at the stop-loss barrier, loses at the profit-take
        horizon=20,
    )
    plain = DecisionRules.from_spec(Strategy(name="z"), expected_move_pct=5.0, periods_per_year=252, horizon=20)
    assert plain.sizer.payoff == 1.0 and plain.sizer.mode == "fixed"


def test_invalid_sizing_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown sizing 'half'"):
        Sizer("half")
    with pytest.raises(ConfigError, match="volatility_target sizing needs periods_per_year"):
        Sizer("volatility_target")
    with pytest.raises(ConfigError, match="max_leverage > 0"):
        Sizer(max_leverage=0.0)
    with pytest.raises(ConfigError, match="kelly_fraction must be in"):
        Sizer("kelly", kelly_fraction=1.5)


def test_realised_volatility_by_hand() -> None:
    close = np.array([100.0, 110.0, 99.0, 99.0])
    r1, r2, r3 = math.log(1.1), math.log(0.9), 0.0
    alpha = 2 / 3
    var2 = (1 - alpha) * r1**2 + alpha * r2**2
    var3 = (1 - alpha) * var2 + alpha * r3**2
    got = realised_volatility(close, span=2)
    assert math.isnan(got[0]) and math.isnan(got[1])
    assert got[2] == pytest.approx(math.sqrt(var2), rel=1e-15) and got[3] == pytest.approx(math.sqrt(var3), rel=1e-15)


def test_realised_volatility_streamed_and_batched_are_bit_identical() -> None:
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 2000)))
    batch = realised_volatility(close, span=20)
    stream = RealisedVolatility(20)
    streamed = np.array([stream.update(c) for c in close])
    assert np.isnan(batch[:20]).all() and np.isfinite(batch[20:]).all()
    assert np.array_equal(batch, streamed, equal_nan=True)
    assert batch.tobytes() == streamed.tobytes()


def test_realised_volatility_refuses_bad_prices() -> None:
    with pytest.raises(DataError, match="close at position 2"):
        realised_volatility(np.array([1.0, 2.0, np.nan]), span=2)
    with pytest.raises(ConfigError, match="span"):
        RealisedVolatility(0)


def test_kelly_sizes_a_plain_triple_barrier_short_with_its_own_payoff() -> None:
    # Regression (review of issue 10): with profit_take 3 and stop_loss 1.5 a SELL label is the lower barrier
    # (1.5 vol away) and a short loses at the upper one (3 vol away): payoff 0.5, not 2.
    spec = Strategy.model_validate(
        {
            "name": "s",
            "labels": {"type": "triple_barrier", "profit_take": 3, "stop_loss": 1.5},
            "decisions": {"sizing": "kelly", "allow_short": True, "confidence_threshold": 0.4},
        }
    )
    rules = DecisionRules.from_spec(spec, expected_move_pct=2.0, periods_per_year=252, horizon=10)
    short = rules.decide(BarView(np.array([0.5, 0.2, 0.3])))  # p = 0.625: 0.625 - 0.375 / 0.5 < 0
    assert (short.target, short.size) == (0, 0.0) and "no bet" in short.reason
    long = rules.decide(BarView(np.array([0.3, 0.2, 0.5])))  # the long's payoff is 2: 0.625 - 0.375 / 2 > 0
    assert long.target == 1 and long.size == pytest.approx(0.5 * (0.625 - 0.375 / 2))
