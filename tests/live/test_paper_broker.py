"""The paper broker fills exactly as the backtest: the same fills, trades and equity, bar by bar, as
``simulate`` (one symbol: sizes, leverage, shorts, every stop, margin calls) and ``simulate_portfolio`` (a
universe: shared cash, missing bars, sizes), over random targets on random bars."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neurotrade.backtest import CostModel, simulate, simulate_portfolio
from neurotrade.data import synthetic_ohlcv
from neurotrade.errors import BacktestError
from neurotrade.live import PaperBroker, TargetOrder

#: Prices, quantities and cash: the same float64 operations in numba and Python; any x86-64 meets this.
RTOL = 1e-12


def _fills(broker_fills: list) -> pd.DataFrame:
    return pd.DataFrame([{k: getattr(f, k) for k in ("time", "side", "price", "quantity", "commission",
                                                      "closed_at_end")} for f in broker_fills])  # fmt: skip


def _trade_rows(trades: list) -> pd.DataFrame:
    columns = ("entry_time", "exit_time", "side", "entry_price", "exit_price", "quantity", "pnl", "return_pct",
               "bars_held", "costs", "closed_at_end", "exit_reason")  # fmt: skip
    return pd.DataFrame([{k: getattr(t, k) for k in columns} for t in trades])


def _same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert len(ours) == len(theirs)
    for column in theirs.columns:
        mine, expected = ours[column].to_numpy(), theirs[column].to_numpy()
        if theirs[column].dtype.kind == "f":
            np.testing.assert_allclose(mine.astype(float), expected.astype(float), rtol=RTOL, atol=0, err_msg=column)
        else:
            assert list(mine) == list(expected), column


COSTS = CostModel(0.1, 1.0, 0.05)


def _run_single(bars: pd.DataFrame, target: np.ndarray, size: np.ndarray, atr: np.ndarray | None, **stops):
    broker = PaperBroker(["X"], COSTS, 10_000.0, **stops)
    equity, fills, trades = [], [], []
    for i, (time, row) in enumerate(bars.iterrows()):
        events = broker.on_bar(time, {"X": row.to_dict()})
        equity.append(events.equity)
        fills += events.fills
        trades += events.trades
        distance = math.nan if atr is None else stops["atr_stop_multiple"] * atr[i]
        broker.submit(time, {"X": TargetOrder(int(target[i]), float(size[i]), distance)})
    cash, end_fills, end_trades = broker.closing()
    equity[-1] = cash
    return np.array(equity), fills + end_fills, trades + end_trades


@pytest.mark.parametrize("seed", range(6))
def test_one_symbol_matches_simulate(seed: int) -> None:
    rng = np.random.default_rng(seed)
    bars = synthetic_ohlcv(400, seed=seed + 20)
    target = rng.choice([-1, 0, 1], size=len(bars), p=[0.2, 0.3, 0.5])
    target = np.repeat(target[::5], 5)[: len(bars)]  # held a few bars at a time
    size = rng.choice([0.0, 0.5, 1.0, 2.5, 6.0], size=len(bars))
    stops = [
        {},
        {"stop_loss_pct": 2.0, "take_profit_pct": 4.0},
        {"trailing_stop_pct": 3.0},
        {"stop_loss_pct": 5.0, "atr_stop_multiple": 1.5},
        {"take_profit_pct": 1.0, "trailing_stop_pct": 1.5},
        {"atr_stop_multiple": 0.8},
    ][seed]
    atr = None
    if "atr_stop_multiple" in stops:
        from neurotrade.backtest import atr_for_stops

        atr = atr_for_stops(bars, 14)
    theirs = simulate(bars, target, costs=COSTS, initial_cash=10_000.0, size=size, atr=atr,
                      **stops)  # fmt: skip
    equity, fills, trades = _run_single(bars, target, size, atr, **stops)
    np.testing.assert_allclose(equity, theirs.equity.to_numpy(), rtol=RTOL, atol=0)
    _same(_fills(fills), theirs.fills)
    _same(_trade_rows(trades), theirs.trades)
    assert len(theirs.trades) > 10


def test_margin_calls_and_ruin_match() -> None:
    """Nine times the equity short on a market that rises 3 % a bar: liquidated, ruined, nothing opened after."""
    bars = synthetic_ohlcv(60, seed=4)
    drift = 1.03 ** np.arange(len(bars))
    bars[["open", "high", "low", "close"]] = bars[["open", "high", "low", "close"]].to_numpy() * drift[:, None]
    target = np.tile([-1, -1, -1, -1, -1, -1, -1, -1, 1, 0], 6)
    size = np.full(len(bars), 9.0)
    theirs = simulate(bars, target, costs=COSTS, initial_cash=10_000.0, size=size)
    equity, fills, trades = _run_single(bars, target, size, None)
    assert "margin_call" in set(theirs.trades["exit_reason"])
    np.testing.assert_allclose(equity, theirs.equity.to_numpy(), rtol=RTOL, atol=1e-9)
    _same(_fills(fills), theirs.fills)
    _same(_trade_rows(trades), theirs.trades)


@pytest.mark.parametrize("seed", range(3))
def test_portfolio_matches_simulate_portfolio(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    index = synthetic_ohlcv(n, seed=1).index
    bars = {}
    for k, s in enumerate(["A", "B", "C"]):
        frame = synthetic_ohlcv(n, seed=seed * 10 + k).set_axis(index)
        missing = rng.random(n) < 0.1  # halted bars, and C listed late
        if s == "C":
            missing[: n // 3] = True
        frame.loc[missing, ["open", "high", "low", "close"]] = np.nan
        bars[s] = frame
    targets = {s: np.where(bars[s]["close"].isna(), 0, rng.choice([-1, 0, 1], size=n)) for s in bars}
    sizes = {s: rng.choice([0.0, 0.5, 1.0, 1.5], size=n) for s in bars}
    costs = CostModel(0.1, 1.0, 0.05)
    theirs = simulate_portfolio(bars, targets, size=sizes, fraction=0.4, costs=costs, initial_cash=10_000.0)
    broker = PaperBroker(list(bars), costs, 10_000.0, fraction=0.4)
    equity, cash, fills, trades = [], [], [], []
    for i, time in enumerate(index):
        present = {s: f.iloc[i].to_dict() for s, f in bars.items() if not np.isnan(f["close"].iloc[i])}
        events = broker.on_bar(time, present)
        equity.append(events.equity)
        cash.append(events.cash)
        fills += events.fills
        trades += events.trades
        broker.submit(time, {s: TargetOrder(int(targets[s][i]), float(sizes[s][i])) for s in present})
    final, end_fills, end_trades = broker.closing()
    equity[-1] = cash[-1] = final
    np.testing.assert_allclose(equity, theirs.equity.to_numpy(), rtol=RTOL, atol=0)
    np.testing.assert_allclose(cash, theirs.cash.to_numpy(), rtol=RTOL, atol=0)
    ours = _fills(fills + end_fills).assign(symbol=[f.symbol for f in fills + end_fills])
    ours = ours.iloc[np.argsort(ours["time"].to_numpy(), kind="stable")].reset_index(drop=True)
    _same(ours, theirs.fills)
    _same(_trade_rows(trades + end_trades).assign(symbol=[t.symbol for t in trades + end_trades]), theirs.trades)
    assert len(theirs.trades) > 20


def test_state_round_trip_goes_on_identically() -> None:
    """Stopped halfway, written as JSON and restored into a new broker, the account trades on as if never stopped."""
    import json

    bars = synthetic_ohlcv(200, seed=9)
    rng = np.random.default_rng(1)
    target = rng.choice([-1, 0, 1], size=len(bars))
    stops = {"stop_loss_pct": 2.0, "trailing_stop_pct": 3.0, "atr_stop_multiple": None}

    def run(split: int | None) -> list[float]:
        broker = PaperBroker(["X"], CostModel(0.1, 0.0, 0.05), 10_000.0, **stops)
        out = []
        for i, (time, row) in enumerate(bars.iterrows()):
            if i == split:
                state = json.loads(json.dumps(broker.state(), allow_nan=False))
                broker = PaperBroker(["X"], CostModel(0.1, 0.0, 0.05), 10_000.0, **stops)
                broker.restore(state)
            out.append(broker.on_bar(time, {"X": row.to_dict()}).equity)
            broker.submit(time, {"X": TargetOrder(int(target[i]), 1.0)})
        return out

    assert run(None) == run(77)


def test_same_close_is_refused_with_the_fix() -> None:
    from neurotrade.config import parse_strategy

    spec = parse_strategy("name: sc\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"
                          "backtest: {fill: same_close}\n")  # fmt: skip
    with pytest.raises(BacktestError, match=r"Set backtest\.fill: next_open"):
        PaperBroker.for_strategy(spec, ["AAPL"], universe=False)
