"""The ``search:`` section, ``data.end`` and ``split.test_start``: what a study varies and how it locks the holdout."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade._stages import load_bars, make_splits
from neurotrade.config import parse_strategy
from neurotrade.config._search import with_values
from neurotrade.errors import ConfigError, DataError

BASE = "name: x\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"


def searching(space: str, extra: str = "") -> str:
    return f"{BASE}search:\n  space:\n    {space}\n{extra}"


def test_a_search_names_spec_keys_and_how_to_draw_them() -> None:
    spec = parse_strategy(
        BASE
        + "search:\n  objective: sharpe\n  trials: 7\n  space:\n"
        + "    training.learning_rate: {loguniform: [1.0e-4, 1.0e-2]}\n"
        + "    model.hidden: {choice: [[32, 16], [64, 32]]}\n"
        + "    indicators.rsi_14.period: {int: [5, 30]}\n"
        + "    labels.threshold_pct: {uniform: [2, 8]}\n"
    )
    assert spec.search is not None and spec.search.trials == 7 and spec.search.direction == "maximize"
    assert list(spec.search.space) == [
        "training.learning_rate",
        "model.hidden",
        "indicators.rsi_14.period",
        "labels.threshold_pct",
    ]
    trial = with_values(spec, {"indicators.rsi_14.period": 9, "model.hidden": [8], "labels.threshold_pct": 3.5})
    assert trial.indicators["rsi_14"].params["period"] == 9 and trial.model.hidden == [8]
    assert trial.labels.threshold_pct == 3.5 and trial.search is None


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ("training.learning_rate: {uniform: [-1, 1]}", "search.space.training.learning_rate: the value -1.0"),
        ("indicators.rsi_99.period: {int: [5, 30]}", "'rsi_99' is not a section or name in indicators; did you"),
        ("indicators.rsi_14.period: {int: [0, 30]}", "indicators.rsi_14.period: must be an integer from 2"),
        ("training.learning_rte: {uniform: [0.1, 0.2]}", "unknown key 'learning_rte'; did you mean 'learning_rate'"),
        ("model.hidden: {choice: [3]}", "search.space.model.hidden: the value 3 makes an invalid strategy"),
        ("training.epochs: {uniform: [2, 8]}", "training.epochs: must be an integer"),
        ("training.learning_rate: {loguniform: [0.1, 0.01]}", "loguniform needs 0 < low < high"),
        ("training: {int: [1, 2]}", "search.space.training"),
        ("data.timeframe: {choice: [1h, 1d]}", "data.timeframe: a search cannot vary the data"),
    ],
)
def test_every_dimension_is_checked_at_load_with_its_key_path(space: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_strategy(searching(space))


def test_a_search_does_not_change_what_a_configuration_is() -> None:
    from neurotrade.store._ledger import configuration_hash

    plain = parse_strategy(BASE)
    searched = parse_strategy(searching("training.learning_rate: {uniform: [0.001, 0.01]}"))
    assert "search" not in plain.model_dump(mode="json")
    assert configuration_hash(plain.model_dump(mode="json")) == configuration_hash(searched.model_dump(mode="json"))


def test_data_end_cuts_the_history_before_every_stage(tmp_path: Path) -> None:
    spec = parse_strategy(BASE.replace("name: x", "name: x\ndata: {source: sample, end: 2010-01-01}"))
    bars = load_bars(spec.data, home=tmp_path, seed=1)
    assert bars.index[-1] < pd.Timestamp("2010-01-01", tz="UTC") <= bars.index[-1] + pd.Timedelta(days=5)
    assert spec.data.end == "2010-01-01T00:00:00+00:00" and "end" not in parse_strategy(BASE).data.model_dump()
    early = parse_strategy(BASE.replace("name: x", "name: x\ndata: {source: sample, end: 1900-01-01}"))
    with pytest.raises(DataError, match=r"data\.end 1900-01-01T00:00:00\+00:00 is before the first bar"):
        load_bars(early.data, home=tmp_path, seed=1)
    with pytest.raises(ConfigError, match=r"data\.end: 'soon' is not a date or time"):
        parse_strategy(BASE.replace("name: x", "name: x\ndata: {end: soon}"))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(20, 3000), share=st.floats(0.05, 0.95))
def test_test_start_begins_the_test_window_exactly_there(n: int, share: float) -> None:
    times = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC")
    k = min(max(int(n * share), 3), n - 1)
    spec = parse_strategy(
        BASE + f"split: {{method: chronological, test_start: '{times[k].isoformat()}', embargo: 0}}\n"
    )
    split = make_splits(times, pd.Series(times), spec)[0]
    assert split.starts["test"] == k
    assert split.starts["validation"] < k


def test_a_test_start_outside_the_samples_is_refused() -> None:
    times = pd.date_range("2020-01-01", periods=50, freq="D", tz="UTC")
    spec = parse_strategy(BASE + "split: {method: chronological, test_start: 2030-01-01}\n")
    with pytest.raises(ConfigError, match=r"split\.test_start 2030-01-01T00:00:00\+00:00 leaves no samples after"):
        make_splits(times, pd.Series(times), spec)
