"""The deflated Sharpe ratio is honest: measured against buy-and-hold, with every trial on the data counted."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurotrade._folds import _deflated
from neurotrade.cli import main
from neurotrade.config import parse_strategy
from neurotrade.pipeline import run
from neurotrade.store import TrialLedger

SPEC = """
name: counted
data: {{source: synthetic, bars: 500}}
indicators: {{rsi_14: {{}}}}
nn_inputs: {{indicators: [rsi_14]}}
split: {{folds: 2}}
training: {{epochs: 2, learning_rate: {rate}}}  # the synthetic bars follow the seed: keep it
backtest: {{{backtest}}}
"""


def _equity(returns: np.ndarray) -> pd.Series:
    index = pd.date_range("2020-01-01", periods=len(returns) + 1, freq="D", tz="UTC")
    return pd.Series(100.0 * np.cumprod(np.r_[1.0, 1.0 + returns]), index=index)


def test_riding_the_trend_is_not_skill() -> None:
    """A strategy that is buy-and-hold plus noise scores high against zero, and near a coin flip against the
    benchmark it merely copies."""
    rng = np.random.default_rng(1)
    market = rng.normal(0.002, 0.01, 1000)  # a strong up-trend
    copy = market + rng.normal(0.0, 0.001, 1000)
    absolute = _deflated(_equity(copy), 1)
    excess = _deflated(_equity(copy), 1, benchmark=_equity(market))
    assert absolute > 0.99
    assert 0.05 < excess < 0.95
    assert _deflated(_equity(market), 1, benchmark=_equity(market)) is None  # no excess at all: nothing to test


def test_the_ledger_counts_configurations_per_dataset(tmp_path: Path) -> None:
    ledger = TrialLedger(tmp_path)
    assert ledger.trials("a") == 0
    assert ledger.record("a", {"name": "x", "seed": 1}, strategy="x") == 1
    assert ledger.record("a", {"name": "x", "seed": 1}, strategy="x") == 1  # the same configuration again
    assert ledger.record("a", {"name": "renamed", "seed": 1}, strategy="renamed") == 1
    assert ledger.record("a", {"name": "x", "seed": 2}, strategy="x") == 2
    assert ledger.record("b", {"name": "x", "seed": 2}, strategy="x") == 1
    assert ledger.trials("a") == 2


def test_concurrent_records_are_all_kept(tmp_path: Path) -> None:
    ledger = TrialLedger(tmp_path)
    threads = [
        threading.Thread(target=ledger.record, args=("d", {"seed": i}), kwargs={"strategy": "s"}) for i in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ledger.trials("d") == 16


def test_runs_count_their_trials_and_say_where_from(tmp_path: Path, capsys) -> None:
    first = run(parse_strategy(SPEC.format(rate=0.001, backtest="")), home=tmp_path)
    second = run(parse_strategy(SPEC.format(rate=0.002, backtest="")), home=tmp_path)
    assert first.metrics["aggregate"]["strategy"]["trials"] == 1
    strategy = second.metrics["aggregate"]["strategy"]
    assert strategy["trials"] == 2 and strategy["trials_source"].startswith("workspace ledger")
    assert {"deflated_sharpe_excess", "deflated_sharpe_absolute"} <= set(strategy)
    stated = run(parse_strategy(SPEC.format(rate=0.003, backtest="trials: 50")), home=tmp_path)
    assert stated.metrics["aggregate"]["strategy"]["trials"] == 50
    assert "ledger counts 3" in stated.metrics["aggregate"]["strategy"]["trials_source"]
    smaller = run(parse_strategy(SPEC.format(rate=0.004, backtest="trials: 2")), home=tmp_path)
    assert smaller.metrics["aggregate"]["strategy"]["trials"] == 4  # the ledger knows better
    page = (smaller.run_dir / "report.html").read_text()
    assert "Deflated Sharpe ratio of the excess return over buy-and-hold" in page and "counting 4 trial(s)" in page

    path = tmp_path / "counted.yaml"
    path.write_text(SPEC.format(rate=0.005, backtest=""))
    with pytest.raises(SystemExit) as done:
        main(["--home", str(tmp_path), "run", str(path)])
    out = capsys.readouterr().out
    assert done.value.code in (0, None)
    assert "deflated Sharpe ratio of the excess over buy & hold" in out
    assert "Trials counted: 5 (workspace ledger: 5 configuration(s) evaluated on these bars)" in " ".join(out.split())
    assert (
        json.loads((tmp_path / "runs" / "counted" / "1d_v5" / "metrics.json").read_text())["aggregate"]["strategy"][
            "trials"
        ]
        == 5
    )


def test_only_what_can_change_the_numbers_makes_a_new_trial(tmp_path: Path) -> None:
    from neurotrade.pipeline import count_trials

    base = parse_strategy(SPEC.format(rate=0.001, backtest="")).model_dump(mode="json")
    cosmetic = [
        {**base, "description": "fixed a typo"},
        {**base, "training": {**base["training"], "device": "cpu"}},
        {**base, "backtest": {**base["backtest"], "trials": 1}},
    ]
    assert count_trials(tmp_path, "d", base, "x", stated=None)[0] == 1
    for spec in cosmetic:
        assert count_trials(tmp_path, "d", spec, "x", stated=None)[0] == 1
    seeds = {**base, "training": {**base["training"], "seeds": [7, 8]}}
    assert count_trials(tmp_path, "d", seeds, "x", stated=None)[0] == 3  # each seed of a list is a trial
    alone = {**base, "seed": 8}
    assert count_trials(tmp_path, "d", alone, "x", stated=None)[0] == 3  # seed 8 alone: already counted


def test_trials_on_other_versions_of_the_data_are_named(tmp_path: Path) -> None:
    from neurotrade.pipeline import count_trials

    spec = parse_strategy(SPEC.format(rate=0.001, backtest="")).model_dump(mode="json")
    other = {**spec, "seed": 99}
    count_trials(tmp_path, "old", other, "x", stated=None, instrument="file:X 1d")
    trials, source = count_trials(tmp_path, "new", spec, "x", stated=None, instrument="file:X 1d")
    assert trials == 1 and "1 more were tried on other data holding the symbols of file:X 1d" in source
