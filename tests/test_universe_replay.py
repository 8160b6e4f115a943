"""A universe's saved model replayed through the universe engine trades exactly the run's portfolio."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurotrade import run
from neurotrade._replay import BundleBacktest, UniverseBacktest, backtest_bundle, compare_with_run
from neurotrade.cli import main
from neurotrade.config import Strategy, parse_strategy
from neurotrade.data import DataStore, synthetic_ohlcv
from neurotrade.errors import BacktestError
from neurotrade.training import REPLAY_ATOL

UNIVERSE = """\
name: replayed
data: {{source: store, symbols: [{symbols}]}}
indicators: {{rsi_14: {{}}, adx_14: {{}}}}
nn_inputs:
  indicators: [rsi_14, adx_14]
  context: {{returns: [5]}}
  cross_section: {{rank: [rsi_14], zscore: [ret_5]}}
  symbol_embedding: true
split: {{folds: 2}}
training: {{epochs: 3, class_weights: balanced}}
decisions: {{confidence_threshold: 0.34, allow_short: true, sizing: confidence}}
"""
_PROBA = ["p_sell", "p_hold", "p_buy"]


@pytest.fixture(scope="module")
def universe(tmp_path_factory: pytest.TempPathFactory) -> tuple[Strategy, Path, object]:
    """A finished run of three symbols on one time axis: AAA whole, BBB delisted early, CCC listed inside the last
    fold's window."""
    home = tmp_path_factory.mktemp("universe_replay")
    store = DataStore(home)
    bars = {
        "AAA": synthetic_ohlcv(800, seed=11),
        "BBB": synthetic_ohlcv(800, seed=12).iloc[:700],
        "CCC": synthetic_ohlcv(800, seed=13).iloc[600:],
    }
    for symbol, frame in bars.items():
        store.put(frame, symbol, "1d", source="synthetic")
    spec = parse_strategy(UNIVERSE.format(symbols="AAA, BBB, CCC"))
    return spec, home, run(spec, home=home, progress=False)


def _last_fold(result) -> tuple[dict, str, str]:
    fold = result.metrics["folds"][-1]
    return fold, fold["window"]["first"][:10], fold["window"]["last"][:10]


def test_the_portfolio_replays_the_runs_trades_exactly(universe: tuple) -> None:
    """Symbols, entry and exit times and sides exactly; quantities and P&L to 1e-9 relative once the replay,
    which starts from the initial cash, carries the growth the run's chained equity brought into the fold."""
    spec, home, result = universe
    fold, first, last = _last_fold(result)
    out = backtest_bundle(spec, home=home, start=first, end=last)
    assert isinstance(out, UniverseBacktest)
    theirs = result.trades[result.trades["fold"] == fold["fold"]].reset_index(drop=True)
    ours = out.result.trades.reset_index(drop=True)
    assert len(ours) == len(theirs) > 10 and set(ours["symbol"]) == {"AAA", "BBB", "CCC"}
    for column in ("symbol", "entry_time", "exit_time", "side"):
        assert ours[column].tolist() == theirs[column].tolist(), column
    equity = pd.read_parquet(result.run_dir / "equity.parquet")["strategy"]
    growth = equity[equity.index < pd.Timestamp(first, tz="UTC")].iloc[-1] / out.result.initial_cash
    for column in ("quantity", "pnl"):
        np.testing.assert_allclose(ours[column] * growth, theirs[column], rtol=1e-9, atol=0)
    assert out.metrics["run"] == {
        "compared": True,
        "fold": fold["fold"],
        "trades": len(theirs),
        "replayed": len(ours),
        "difference": None,
        "matches": True,
    }
    for name in ("strategy", "buy_and_hold"):  # the fold's own performance, measured from its start
        assert out.metrics[name]["final_equity"] == pytest.approx(fold[name]["final_equity"], rel=1e-9)
    assert not out.metrics["in_sample"]


def test_the_replayed_decisions_are_the_runs(universe: tuple) -> None:
    spec, home, result = universe
    fold, first, last = _last_fold(result)
    out = backtest_bundle(spec, home=home, start=first, end=last)
    batch = pd.read_parquet(result.run_dir / "decisions.parquet")
    batch = batch[batch["fold"] == fold["fold"]]
    ready = out.decisions[out.decisions["signal"] != "WARMUP"]
    for symbol in ("AAA", "BBB", "CCC"):
        mine, theirs = ready[ready["symbol"] == symbol], batch[batch["symbol"] == symbol]
        assert mine.index.equals(theirs.index)
        np.testing.assert_allclose(mine[_PROBA], theirs[_PROBA], rtol=0, atol=REPLAY_ATOL)
        for column in ("signal", "target", "portfolio_target"):
            assert mine[column].tolist() == theirs[column].tolist(), (symbol, column)
        # Confidence sizing reads the probabilities: the sizes carry their last-bit differences.
        np.testing.assert_allclose(mine["size"], theirs["size"], rtol=1e-9, atol=0)
    # CCC is listed inside the window: its warm-up bars are in the trace, not traded.
    warming = out.decisions[(out.decisions["signal"] == "WARMUP")]
    assert set(warming["symbol"]) == {"CCC"} and (warming["portfolio_target"] == 0).all()


def test_a_different_trade_list_is_reported_as_a_mismatch(universe: tuple, tmp_path: Path) -> None:
    spec, home, result = universe
    fold, first, last = _last_fold(result)
    out = backtest_bundle(spec, home=home, start=first, end=last)
    copy = tmp_path / "run"
    shutil.copytree(result.run_dir, copy)
    trades = pd.read_parquet(copy / "trades.parquet")
    mine = np.flatnonzero(trades["fold"] == fold["fold"])
    trades.loc[mine[3], "pnl"] *= 1 + 1e-6  # beyond the tolerance
    trades.to_parquet(copy / "trades.parquet")
    found = compare_with_run(out.result, copy)
    assert found["compared"] and not found["matches"] and found["difference"].startswith("trade 4: pnl")
    trades.loc[mine[0], "side"] = "short" if trades.loc[mine[0], "side"] == "long" else "long"
    trades.to_parquet(copy / "trades.parquet")
    assert compare_with_run(out.result, copy)["difference"].startswith("trade 1: side")
    shorter = trades.drop(index=mine[-1])
    shorter.to_parquet(copy / "trades.parquet")
    assert compare_with_run(out.result, copy)["difference"] == (
        f"the replay made {len(mine)} trades, the run {len(mine) - 1}"
    )


def test_another_window_is_not_compared_and_says_which_would_be(universe: tuple) -> None:
    spec, home, result = universe
    _, first, last = _last_fold(result)
    out = backtest_bundle(spec, home=home, start="2001-01-01", end=last)
    assert out.metrics["in_sample"]
    assert not out.metrics["run"]["compared"]
    assert f"replay --from {first} --to {last} to compare" in out.metrics["run"]["reason"]


def test_the_cli_prints_the_portfolio_and_the_match(universe: tuple, tmp_path: Path, capsys) -> None:
    spec, home, result = universe
    _, first, last = _last_fold(result)
    path = tmp_path / "replayed.yaml"
    path.write_text(spec.model_dump_json())  # JSON is YAML
    with pytest.raises(SystemExit) as done:
        main(["--home", str(home), "backtest", str(path), "--from", first, "--to", last])
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines at the terminal's width
    assert done.value.code in (0, None)
    for text in ("3 symbols, one shared-cash portfolio", "portfolio", "equal-weight buy & hold", "per symbol: AAA"):
        assert text in out, text
    assert "the replay traded exactly the run's" in out


def test_a_universe_bundle_refuses_another_symbol_and_a_single_symbol_spec(universe: tuple) -> None:
    _, home, _ = universe
    DataStore(home).put(synthetic_ohlcv(300, seed=4), "AAB", "1d", source="synthetic")
    other = parse_strategy(UNIVERSE.format(symbols="AAA, AAB"))
    with pytest.raises(BacktestError, match=r"lists \['AAB'\], not in bundle replayed/1d_v1's universe"):
        backtest_bundle(other, home=home)
    alone = parse_strategy(
        "name: replayed\ndata: {source: store, symbol: AAA}\nindicators: {rsi_14: {}}\n"
        "nn_inputs: {indicators: [rsi_14]}\n"
    )
    with pytest.raises(BacktestError, match=r"is a universe's \(AAA, BBB, CCC\), but replayed's data names one"):
        backtest_bundle(alone, home=home)


# --- one symbol: a one-symbol universe's bundle trades as a single symbol's -----------------------------------------

SMALL = """\
name: {name}
data: {{source: synthetic, bars: 700{data}}}
indicators: {{rsi_14: {{}}, adx_14: {{}}}}
nn_inputs: {{indicators: [rsi_14, adx_14]}}
split: {{folds: 2}}
training: {{epochs: 3, class_weights: balanced}}
decisions: {{confidence_threshold: 0.34, allow_short: true}}
"""


def test_a_one_symbol_universe_bundle_replays_as_the_single_symbol_bundle(tmp_path_factory) -> None:
    specs = {
        "alone": parse_strategy(SMALL.format(name="one", data="")),
        "universe": parse_strategy(SMALL.format(name="one", data=", symbols: [X]")),
    }
    results, outs = {}, {}
    for key, spec in specs.items():
        home = tmp_path_factory.mktemp(key)
        results[key] = run(spec, home=home, progress=False)
        _, first, last = _last_fold(results[key])
        outs[key] = backtest_bundle(spec, home=home, start=first, end=last)
    alone, universe = outs["alone"], outs["universe"]
    assert isinstance(alone, BundleBacktest) and isinstance(universe, UniverseBacktest)
    ready = universe.decisions[universe.decisions["signal"] != "WARMUP"]
    assert ready.index.equals(alone.decisions.index)
    np.testing.assert_allclose(ready[_PROBA], alone.decisions[_PROBA], rtol=0, atol=REPLAY_ATOL)
    for column in ("signal", "target", "size"):
        assert ready[column].tolist() == alone.decisions[column].tolist(), column  # fixed sizes: exact
    ours, theirs = universe.result.trades, alone.result.trades
    assert len(ours) == len(theirs) > 0
    for column in ("entry_time", "exit_time", "side"):
        assert ours[column].tolist() == theirs[column].tolist(), column
    for column in ("quantity", "pnl"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-9, atol=0)
    for name in ("strategy", "buy_and_hold"):
        assert universe.metrics[name]["final_equity"] == pytest.approx(alone.metrics[name]["final_equity"], rel=1e-9)
    assert universe.metrics["run"]["matches"]
