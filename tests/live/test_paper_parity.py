"""Paper trading a replayed history gives exactly the trades, fills and equity of ``neurotrade backtest`` over the
same bars (a paper trade is a backtest trade): one symbol with sizes, shorts and every kind of stop, and a universe
of three synthetic symbols through one shared-cash portfolio. The session folder holds the backtest's own decision
trace, and ``neurotrade report`` shows it beside the backtest of the same bars."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from neurotrade import run
from neurotrade._replay import backtest_bundle
from neurotrade.cli import main
from neurotrade.config import parse_strategy
from neurotrade.live import PaperSession, ReplayFeed

#: Prices, quantities, cash and probabilities: the same float64 operations on the same inputs (any x86-64 is far
#: closer than this); times, sides, signals, targets and reasons are compared exactly.
RTOL = 1e-12

SINGLE = """\
name: parity
seed: 5
data: {source: synthetic, bars: 600}
indicators: {rsi_14: {}, adx_14: {}}
nn_inputs: {indicators: [rsi_14, adx_14], context: {returns: [5]}}
labels: {threshold_pct: 2, lookahead: 10}
split: {folds: 2}
model: {hidden: [8]}
training: {epochs: 1, class_weights: balanced}
decisions: {confidence_threshold: 0.34, allow_short: true, sizing: confidence}
backtest: {commission_pct: 0.1, commission_fixed: 1.0, slippage_pct: 0.05, stop_loss_pct: 3, take_profit_pct: 6,
           trailing_stop_pct: 5, atr_stop: {period: 14, multiple: 1.5}}
"""

UNIVERSE = """\
name: uparity
seed: 3
data: {source: synthetic, bars: 900, symbols: 3}
indicators: {rsi_14: {}, adx_14: {}}
nn_inputs:
  indicators: [rsi_14, adx_14]
  context: {returns: [5]}
  cross_section: {rank: [rsi_14], zscore: [ret_5]}
  symbol_embedding: true
split: {folds: 2}
model: {hidden: [8]}
training: {epochs: 1, class_weights: balanced}
decisions: {confidence_threshold: 0.34, allow_short: true, sizing: confidence}
backtest: {commission_pct: 0.1, slippage_pct: 0.05}
"""


def _same_frame(ours: pd.DataFrame, theirs: pd.DataFrame, what: str) -> None:
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=RTOL, atol=0.0, obj=what)


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("parity_single")
    spec = parse_strategy(SINGLE)
    run(spec, home=home, progress=False)
    torch.set_num_threads(1)  # training may size the pool to the machine; one bar at a time wants one thread
    return spec, home


@pytest.fixture(scope="module")
def universe(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("parity_universe")
    spec = parse_strategy(UNIVERSE)
    run(spec, home=home, progress=False)
    torch.set_num_threads(1)  # training may size the pool to the machine; one bar at a time wants one thread
    return spec, home


def test_one_symbol_trades_exactly_the_backtest(single) -> None:
    spec, home = single
    start = "2001-03-01"
    out = PaperSession(spec, ReplayFeed.from_strategy(spec, home=home), home=home, session="whole", start=start).run()
    bt = backtest_bundle(spec, home=home, start=start)
    folder = out.session_dir
    _same_frame(pd.read_parquet(folder / "decisions.parquet"), bt.decisions, "decisions")
    _same_frame(pd.read_parquet(folder / "trades.parquet"), bt.result.trades, "trades")
    _same_frame(pd.read_parquet(folder / "fills.parquet"), bt.result.fills, "fills")
    equity = pd.read_parquet(folder / "equity.parquet")
    np.testing.assert_allclose(equity["strategy"], bt.result.equity, rtol=RTOL, atol=0)
    np.testing.assert_allclose(equity["position"], bt.result.position, rtol=RTOL, atol=0)
    np.testing.assert_allclose(equity["buy_and_hold"], bt.benchmark.equity, rtol=RTOL, atol=0)
    reasons = set(bt.result.trades["exit_reason"])
    assert len(bt.result.trades) > 30 and {"signal", "stop_loss", "take_profit", "trailing_stop", "atr_stop"} <= reasons
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["aggregate"]["strategy"] == bt.metrics["strategy"]
    assert metrics["aggregate"]["backtest"] == bt.metrics["strategy"]
    assert metrics["paper"]["parity"] == {"matches": True, "difference": None, "trades": len(bt.result.trades),
                                          "note": ""}  # fmt: skip


def test_a_session_stopped_and_resumed_ends_as_one_run(single) -> None:
    """Stopped at --to, then run again without it: the same tables as one run."""
    spec, home = single
    start, middle = "2001-03-01", "2001-09-14"
    for stop in (middle, None):
        out = PaperSession(spec, ReplayFeed.from_strategy(spec, home=home), home=home, session="halves",
                           start=start, end=stop).run()  # fmt: skip
    assert out.resumed and out.new_steps > 100
    whole = out.session_dir.parent / "whole"
    for name in ("decisions.parquet", "trades.parquet", "fills.parquet", "equity.parquet", "orders.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(out.session_dir / name), pd.read_parquet(whole / name))


def test_a_universe_trades_exactly_the_backtest_portfolio(universe) -> None:
    spec, home = universe
    start = "2002-01-01"
    out = PaperSession(spec, ReplayFeed.from_strategy(spec, home=home), home=home, start=start).run()
    bt = backtest_bundle(spec, home=home, start=start)
    folder = out.session_dir
    decisions = pd.read_parquet(folder / "decisions.parquet")
    _same_frame(decisions, bt.decisions, "decisions")
    _same_frame(pd.read_parquet(folder / "trades.parquet"), bt.result.trades, "trades")
    _same_frame(pd.read_parquet(folder / "fills.parquet"), bt.result.fills, "fills")
    equity = pd.read_parquet(folder / "equity.parquet")
    np.testing.assert_allclose(equity["strategy"], bt.result.equity, rtol=RTOL, atol=0)
    np.testing.assert_allclose(equity["cash"], bt.result.cash, rtol=RTOL, atol=0)
    np.testing.assert_allclose(equity["buy_and_hold"], bt.benchmark.equity, rtol=RTOL, atol=0)
    assert len(bt.result.trades) > 20 and set(bt.result.trades["symbol"]) == {"S001", "S002", "S003"}
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["aggregate"]["strategy"] == bt.metrics["strategy"]
    assert metrics["paper"]["parity"]["matches"] is True


def test_a_universe_with_missing_bars_trades_exactly_the_backtest(tmp_path: Path) -> None:
    """Symbols with their own histories (one delisted, one listed late, one halted on some days): each time is
    decided once every symbol that has a bar then has sent it, and the portfolio is the backtest's."""
    from neurotrade.data import DataStore, synthetic_ohlcv

    store = DataStore(tmp_path)
    whole = synthetic_ohlcv(700, seed=11)
    frames = {"AAA": whole.drop(whole.index[[300, 301, 450, 620]]), "BBB": synthetic_ohlcv(700, seed=12).iloc[:560],
              "CCC": synthetic_ohlcv(700, seed=13).iloc[350:]}  # fmt: skip
    for symbol, frame in frames.items():
        store.put(frame, symbol, "1d", source="synthetic")
    spec = parse_strategy(UNIVERSE.replace("{source: synthetic, bars: 900, symbols: 3}",
                                           "{source: store, symbols: [AAA, BBB, CCC]}"))  # fmt: skip
    run(spec, home=tmp_path, progress=False)
    torch.set_num_threads(1)
    start = "2001-01-01"
    out = PaperSession(spec, ReplayFeed.from_strategy(spec, home=tmp_path), home=tmp_path, start=start).run()
    bt = backtest_bundle(spec, home=tmp_path, start=start)
    folder = out.session_dir
    _same_frame(pd.read_parquet(folder / "decisions.parquet"), bt.decisions, "decisions")
    _same_frame(pd.read_parquet(folder / "trades.parquet"), bt.result.trades, "trades")
    equity = pd.read_parquet(folder / "equity.parquet")
    np.testing.assert_allclose(equity["strategy"], bt.result.equity, rtol=RTOL, atol=0)
    assert set(bt.result.trades["symbol"]) == {"AAA", "BBB", "CCC"} and out.rejected == 0


def test_the_report_shows_the_session_beside_the_backtest(single, universe, capsys) -> None:
    for spec, home in (single, universe):
        session = home / "paper" / ("whole" if spec.name == "parity" else spec.name)
        (session / "decisions.parquet").unlink()  # the report rewrites the folder from the database first
        with pytest.raises(SystemExit) as done:
            main(["--home", str(home), "report", str(session)])
        assert done.value.code in (0, None)
        page = (session / "report.html").read_text()
        assert (session / "decisions.parquet").is_file()
        assert "backtest, same bars" in page and f"paper session {session.name}" in page
        assert "are exactly the" in page and "Price and trades" in page
