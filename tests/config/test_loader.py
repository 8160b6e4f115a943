"""The strategy loader: every example validates, and every error names file, line and key path."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurotrade.config import load_strategy, parse_strategy
from neurotrade.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
BASE = "name: t\nindicators:\n  rsi_14: {period: 14}\nnn_inputs: {indicators: [rsi_14]}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_strategy(text, source="x.yaml")
    return info.value.problems


@pytest.mark.parametrize("path", sorted((REPO / "strategies").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_strategy_validates(path: Path) -> None:
    strategy = load_strategy(path)
    assert strategy.name
    assert all(spec.type for spec in strategy.indicators.values())


def test_wrong_parameter_type_names_file_line_and_path() -> None:
    text = "name: t\nindicators:\n  rsi_14:\n    period: fourteen\nnn_inputs: {indicators: [rsi_14]}\n"
    assert problems(text) == ["x.yaml:4 indicators.rsi_14.period: must be an integer from 2 to 100000, got 'fourteen'"]


def test_unknown_keys_suggest_the_close_match() -> None:
    found = problems(BASE + "trainng: {epochs: 3}\ndata: {symbl: MSFT}\n")
    assert "x.yaml:5 trainng: unknown key 'trainng'; did you mean 'training'?" in found
    assert "x.yaml:6 data.symbl: unknown key 'symbl'; did you mean 'symbol'?" in found


def test_unknown_key_without_close_match_lists_the_allowed_ones() -> None:
    (problem,) = problems(BASE + "split: {zzz: 1}\n")
    assert problem == (
        "x.yaml:5 split.zzz: unknown key 'zzz'; allowed keys: embargo, first_train, folds, method, scheme, "
        "train_window, validation"
    )


def test_every_error_is_reported_at_once_in_line_order() -> None:
    text = BASE + "model: {activation: relux}\ntraining: {optimizer: adamx, epochs: 0}\n"
    found = problems(text)
    assert found == [
        "x.yaml:5 model.activation: must be one of 'relu', 'tanh', 'sigmoid', 'leaky_relu', got 'relux'; "
        "did you mean 'relu'?",
        "x.yaml:6 training.optimizer: must be one of 'adam', 'adamw', 'sgd', got 'adamx'; did you mean 'adam'?",
        "x.yaml:6 training.epochs: must be an integer from 1 to 100000, got 0",
    ]


def test_list_items_are_described_by_their_declaration() -> None:
    (problem,) = problems(BASE + "model:\n  hidden: [32, 0]\n")
    assert problem == "x.yaml:6 model.hidden[1]: must be an integer from 1 to 65536, got 0"


def test_yaml_syntax_error_names_the_line() -> None:
    (problem,) = problems("name: t\ndata:\n  symbol: [AAPL\n")
    assert problem.startswith("x.yaml:4: not valid YAML")


def test_duplicate_keys_are_errors_not_silently_overwritten() -> None:
    (problem,) = problems(BASE + "seed: 1\nseed: 2\n")
    assert problem == "x.yaml:6 seed: duplicate key (first given at line 5); keep only one"


def test_missing_name() -> None:
    assert problems("indicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n") == [
        "x.yaml:1 name: this key is required"
    ]


def test_indicator_type_is_inferred_from_the_name_or_given() -> None:
    s = parse_strategy(BASE.replace("rsi_14: {period: 14}", "rsi_14: {period: 14}\n  fast: {type: ema, period: 5}"))
    assert (s.indicators["rsi_14"].type, s.indicators["rsi_14"].params) == ("rsi", {"period": 14})
    assert (s.indicators["fast"].type, s.indicators["fast"].params) == ("ema", {"period": 5})


def test_indicator_defaults_are_filled_in() -> None:
    s = parse_strategy("name: t\nindicators: {macd: {}}\nnn_inputs: {indicators: [macd.hist]}\n")
    assert s.indicators["macd"].params == {"fast": 12, "slow": 26, "signal": 9}


def test_unknown_indicator_and_uninferable_name() -> None:
    found = problems("name: t\nindicators:\n  a: {type: rsii}\n  foo_3: {}\n")
    assert found[1] == "x.yaml:3 indicators.a.type: unknown indicator 'rsii'; did you mean 'rsi'?"
    assert found[2].startswith("x.yaml:4 indicators.foo_3: cannot tell which indicator 'foo_3' is; add `type:")


def test_references_to_outputs_and_sets_are_checked() -> None:
    text = (
        "name: t\nindicators: {rsi_14: {}, macd: {}}\n"
        "fuzzy_sets:\n  rsi_15: {low: [0, 0, 30]}\n  rsi_14: {low: [0, 0, 30]}\n"
        "nn_inputs:\n  fuzzy: [rsi_14.lo]\n  indicators: [macd.hst]\n"
    )
    assert problems(text) == [
        "x.yaml:4 fuzzy_sets.rsi_15: 'rsi_15' is not an indicator output; did you mean 'rsi_14'?",
        "x.yaml:7 nn_inputs.fuzzy[0]: 'rsi_14' has no fuzzy set 'lo'; did you mean 'low'?",
        "x.yaml:8 nn_inputs.indicators[0]: 'macd.hst' is not an indicator output; did you mean 'macd.hist'?",
    ]


def test_a_strategy_needs_inputs() -> None:
    (problem,) = problems("name: t\nindicators: {rsi_14: {}}\n")
    assert problem.startswith("x.yaml:1 nn_inputs: the network has no inputs")


def test_fuzzy_shorthand_and_breakpoint_order() -> None:
    s = parse_strategy(
        "name: t\nindicators: {rsi_14: {}}\n"
        "fuzzy_sets:\n  rsi_14.rsi:\n    low: [0, 0, 30, 40]\n    mid: [30, 50, 70]\n    hi: {mean: 70, sigma: 5}\n"
    )
    sets = s.fuzzy_sets["rsi_14"]  # 'rsi_14.rsi' is the canonical 'rsi_14'
    assert [sets[n].shape for n in ("low", "mid", "hi")] == ["trapezoidal", "triangular", "gaussian"]
    (problem,) = problems("name: t\nindicators: {rsi_14: {}}\nfuzzy_sets:\n  rsi_14:\n    low: [30, 20, 40]\n")
    assert problem == "x.yaml:5 fuzzy_sets.rsi_14.low: breakpoints must be in increasing order, got [30.0, 20.0, 40.0]"


def test_split_fractions_must_add_up() -> None:
    (problem,) = problems(BASE + "split: {method: chronological, train: 0.7, validation: 0.2, test: 0.2}\n")
    assert problem == "x.yaml:5 split: train + validation + test must add up to 1, got 1.1"
    (problem,) = problems(BASE + "split: {train: 0.6, validation: 0.2, test: 0.2}\n")
    assert problem == (
        "x.yaml:5 split: train/validation/test fractions need `method: chronological` "
        "(the default method is walk_forward, with folds)"
    )


def test_file_source_path_is_relative_to_the_strategy(tmp_path: Path) -> None:
    (tmp_path / "bars.csv").write_text("time,open,high,low,close,volume\n")
    (tmp_path / "s.yaml").write_text(BASE + "data: {source: file, path: bars.csv}\n")
    assert load_strategy(tmp_path / "s.yaml").data.path == str((tmp_path / "bars.csv").resolve())
    (tmp_path / "t.yaml").write_text(BASE + "data: {source: file, path: nope.csv}\n")
    with pytest.raises(ConfigError, match=r"t.yaml:5 data.path: no such file"):
        load_strategy(tmp_path / "t.yaml")


def test_missing_strategy_file_suggests_a_close_name(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text(BASE)
    with pytest.raises(ConfigError, match=r"no such strategy file; did you mean 'default.yaml'\?"):
        load_strategy(tmp_path / "defualt.yaml")


@given(
    st.sampled_from(["seed", "data", "split", "model", "training", "decisions", "backtest"]), st.text("xyz", min_size=1)
)
def test_any_unknown_key_in_a_section_is_rejected(section: str, key: str) -> None:
    body = "{" + key + ": 1}" if section != "seed" else "1\n" + key + "_: 1"
    with pytest.raises(ConfigError) as info:
        parse_strategy(BASE + f"{section}: {body}\n", source="x.yaml")
    assert any("unknown key" in p for p in info.value.problems)


def test_a_resolved_spec_loads_again() -> None:
    # Regression: a bundle's spec.json (indicator parameters nested under `params`) was refused.
    spec = parse_strategy(BASE + "fuzzy_sets: {rsi_14: {low: [0, 0, 30, 40]}}\n")
    again = parse_strategy(spec.model_dump_json(), source="spec.json")
    assert again == spec


def test_a_name_whose_number_is_not_its_period_is_refused() -> None:
    """sma_50: {} used to compute a 20-bar average under a name that says 50."""
    with pytest.raises(ConfigError, match=r"indicators\.sma_50: the name says 50 but sma's period would be 20"):
        parse_strategy("name: x\nindicators: {sma_50: {}}\nnn_inputs: {indicators: [sma_50]}\n")
    ok = parse_strategy("name: x\nindicators: {sma_50: {period: 50}, rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n")
    assert ok.indicators["sma_50"].params["period"] == 50
