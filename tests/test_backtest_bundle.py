"""A saved model replayed through the decision engine gives the run's own backtest, and says when it is in sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurotrade._replay import backtest_bundle
from neurotrade.cli import main
from neurotrade.config import parse_strategy
from neurotrade.errors import BacktestError
from neurotrade.pipeline import run
from neurotrade.store import load_bundle
from neurotrade.training import REPLAY_ATOL

SPEC = parse_strategy(
    "name: replay\ndata: {source: synthetic, bars: 900}\nindicators: {rsi_14: {}, adx_14: {}}\n"
    "fuzzy_sets: {rsi_14: {low: [0, 0, 30, 40], high: [60, 70, 100, 100]}}\n"
    "nn_inputs: {indicators: [rsi_14, adx_14], lookback_periods: 1}\nsplit: {folds: 2}\n"
    "training: {epochs: 3}\ndecisions: {confidence_threshold: 0.34, allow_short: true}\n"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    home = tmp_path_factory.mktemp("replay")
    return run(SPEC, home=home), home


def test_the_engine_replays_the_last_folds_backtest_exactly(trained: tuple) -> None:
    result, home = trained
    last = result.metrics["folds"][-1]
    out = backtest_bundle(SPEC, home=home, start=last["window"]["first"][:10], end=last["window"]["last"][:10])
    batch = pd.read_parquet(result.run_dir / "decisions.parquet")
    batch = batch[batch["fold"] == last["fold"]]
    assert out.decisions.index.equals(batch.index)
    assert (out.decisions["target"].to_numpy() == batch["target"].to_numpy()).all()
    assert (out.decisions["signal"].to_numpy() == batch["signal"].to_numpy()).all()
    # Probabilities to the float64 inference tolerance, not bit for bit: see neurotrade.training._inference.
    columns = ["p_sell", "p_hold", "p_buy"]
    np.testing.assert_allclose(out.decisions[columns], batch[columns], rtol=0, atol=REPLAY_ATOL)
    assert out.metrics["strategy"]["final_equity"] == pytest.approx(last["strategy"]["final_equity"], rel=1e-12)
    assert not out.metrics["in_sample"]


def test_a_window_inside_the_training_data_is_flagged_in_sample(trained: tuple, caplog) -> None:
    _, home = trained
    with caplog.at_level("WARNING"):
        out = backtest_bundle(SPEC, home=home, start="2001-01-01", end="2001-12-31")
    assert out.metrics["in_sample"] and "these numbers are in sample" in caplog.text
    with pytest.raises(BacktestError, match=r"holds 0 bar\(s\)"):
        backtest_bundle(SPEC, home=home, start="1990-01-01", end="1990-02-01")


def test_cli(trained: tuple, tmp_path: Path, capsys) -> None:
    _, home = trained
    path = tmp_path / "replay.yaml"
    path.write_text(SPEC.model_dump_json())  # JSON is YAML
    with pytest.raises(SystemExit) as done:
        main(["--home", str(home), "backtest", str(path), "--from", "2001-01-01", "--to", "2001-12-31"])
    out = capsys.readouterr().out
    assert done.value.code in (0, None) and "buy & hold" in out and "in sample" in out


def test_a_window_inside_the_last_labels_reach_is_in_sample(trained: tuple) -> None:
    """The bar after the last validation sample is still inside that sample's label (t1 lies further on)."""
    result, home = trained
    documents = load_bundle(home / "models", "replay").documents
    validation_last = pd.Timestamp(documents["split"]["folds"][-1]["validation"]["last"])
    trained_until = pd.Timestamp(documents["split"]["trained_until"])
    assert trained_until > validation_last
    bars = pd.read_parquet(result.run_dir / "equity.parquet").index
    start = validation_last + pd.Timedelta(days=1)
    assert start <= trained_until
    out = backtest_bundle(SPEC, home=home, start=str(start.date()), end=str(bars[-1].date()))
    assert out.metrics["in_sample"]
    assert out.metrics["trained_until"] == trained_until.isoformat()
