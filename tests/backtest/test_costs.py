"""Cost arithmetic worked out by hand on five bars (opens 100 110 120 90 100, closes 105 115 95 98 102)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.backtest import CostModel, simulate

COSTS = CostModel(commission_pct=1.0, commission_fixed=2.0, slippage_pct=0.5)


def test_long_then_reversal_to_short_then_flat(five_bars: pd.DataFrame) -> None:
    # Decisions at the closes of bars 0..4; fills at the next open.
    result = simulate(five_bars, np.array([1, -1, -1, 0, 0]), costs=COSTS, initial_cash=10_000.0)

    # Bar 1 open 110: buy, slipped up to 110.55; notional + 1 % commission + 2 = 10,000.
    buy = 110 * 1.005
    q_long = (10_000 - 2) / (buy * 1.01)
    comm_buy = 0.01 * q_long * buy + 2
    assert q_long * buy + comm_buy == pytest.approx(10_000.0, rel=1e-12)
    cash = 0.0
    # Bar 2 open 120: sell the long at 119.4 and go short at 119.4 in the same step.
    sell = 120 * 0.995
    comm_sell = 0.01 * q_long * sell + 2
    cash = q_long * sell - comm_sell
    q_short = (cash - 2) / (sell * 1.01)
    comm_short = 0.01 * q_short * sell + 2
    cash = cash + q_short * sell - comm_short
    # Bar 4 open 100: buy the short back at 100.5.
    cover = 100 * 1.005
    comm_cover = 0.01 * q_short * cover + 2
    final = cash - q_short * cover - comm_cover

    expected_equity = [
        10_000.0,
        q_long * 115,
        cash - q_short * 95,
        cash - q_short * 98,
        final,
    ]
    np.testing.assert_allclose(result.equity.to_numpy(), expected_equity, rtol=1e-12)
    np.testing.assert_allclose(result.position.to_numpy(), [0, q_long, -q_short, -q_short, 0], rtol=1e-12)

    fills = result.fills
    assert fills["side"].tolist() == ["buy", "sell", "sell", "buy"]
    assert fills["time"].tolist() == list(five_bars.index[[1, 2, 2, 4]])
    np.testing.assert_allclose(fills["price"], [buy, sell, sell, cover], rtol=1e-12)
    np.testing.assert_allclose(fills["quantity"], [q_long, q_long, q_short, q_short], rtol=1e-12)
    np.testing.assert_allclose(fills["commission"], [comm_buy, comm_sell, comm_short, comm_cover], rtol=1e-12)
    assert not fills["closed_at_end"].any()

    trades = result.trades
    assert trades["side"].tolist() == ["long", "short"]
    assert trades["entry_time"].tolist() == list(five_bars.index[[1, 2]])
    assert trades["exit_time"].tolist() == list(five_bars.index[[2, 4]])
    assert trades["bars_held"].tolist() == [1, 2]
    long_pnl = q_long * (sell - buy) - comm_buy - comm_sell
    short_pnl = q_short * (sell - cover) - comm_short - comm_cover
    np.testing.assert_allclose(trades["pnl"], [long_pnl, short_pnl], rtol=1e-12)
    np.testing.assert_allclose(
        trades["return_pct"],
        [100 * long_pnl / 10_000.0, 100 * short_pnl / (q_short * sell + comm_short)],
        rtol=1e-12,
    )
    # Costs: both commissions plus the slippage paid against the unslipped open on both fills.
    long_costs = comm_buy + comm_sell + q_long * 110 * 0.005 + q_long * 120 * 0.005
    short_costs = comm_short + comm_cover + q_short * 120 * 0.005 + q_short * 100 * 0.005
    np.testing.assert_allclose(trades["costs"], [long_costs, short_costs], rtol=1e-12)
    # Gross result at unslipped opens, less costs, is the pnl.
    np.testing.assert_allclose(
        trades["pnl"] + trades["costs"], [q_long * (120 - 110), q_short * (120 - 100)], rtol=1e-12
    )
    assert result.equity.iloc[-1] == pytest.approx(10_000.0 + trades["pnl"].sum(), rel=1e-12)


def test_slippage_is_against_the_trader_on_every_side(five_bars: pd.DataFrame) -> None:
    slip = CostModel(slippage_pct=1.0)
    long = simulate(five_bars, np.array([1, 0, 0, 0, 0]), costs=slip).fills
    short = simulate(five_bars, np.array([-1, 0, 0, 0, 0]), costs=slip).fills
    # Long: buy above the open, sell below it. Short: sell below, buy back above.
    np.testing.assert_allclose(long["price"], [110 * 1.01, 120 * 0.99], rtol=1e-12)
    np.testing.assert_allclose(short["price"], [110 * 0.99, 120 * 1.01], rtol=1e-12)
    assert long["side"].tolist() == ["buy", "sell"]
    assert short["side"].tolist() == ["sell", "buy"]


def test_short_sizing_and_marking(five_bars: pd.DataFrame) -> None:
    costs = CostModel(commission_pct=0.5, commission_fixed=1.0)
    result = simulate(five_bars, np.array([-1, -1, 0, 0, 0]), costs=costs, initial_cash=1_000.0, fraction=0.5)
    q = (500 - 1) / (110 * 1.005)
    comm_open = 0.005 * q * 110 + 1
    cash = 1_000 + q * 110 - comm_open
    comm_close = 0.005 * q * 90 + 1
    np.testing.assert_allclose(
        result.equity.to_numpy(),
        [1_000, cash - q * 115, cash - q * 95, cash - q * 90 - comm_close, cash - q * 90 - comm_close],
        rtol=1e-12,
    )
    assert result.trades["pnl"].iloc[0] == pytest.approx(q * (110 - 90) - comm_open - comm_close, rel=1e-12)


def test_open_position_is_closed_at_the_last_close_with_costs(five_bars: pd.DataFrame) -> None:
    result = simulate(five_bars, np.array([0, 1, 1, 1, 1]), costs=COSTS, initial_cash=10_000.0)
    buy = 120 * 1.005
    q = (10_000 - 2) / (buy * 1.01)
    sell = 102 * 0.995
    comm_sell = 0.01 * q * sell + 2
    assert result.equity.iloc[-2] == pytest.approx(q * 98, rel=1e-12)
    assert result.equity.iloc[-1] == pytest.approx(q * sell - comm_sell, rel=1e-12)
    # The position series keeps what was held into the last close; the closing is bookkeeping.
    assert result.position.iloc[-1] == pytest.approx(q, rel=1e-12)
    trade = result.trades.iloc[0]
    assert bool(trade["closed_at_end"])
    assert trade["exit_time"] == five_bars.index[-1]
    assert trade["exit_price"] == pytest.approx(sell, rel=1e-12)
    assert trade["bars_held"] == 3
    last_fill = result.fills.iloc[-1]
    assert bool(last_fill["closed_at_end"])
    assert last_fill["side"] == "sell"
    assert last_fill["commission"] == pytest.approx(comm_sell, rel=1e-12)


def test_entry_the_equity_cannot_pay_is_skipped_and_logged(
    five_bars: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="neurotrade.backtest"):
        result = simulate(
            five_bars, np.ones(5), costs=CostModel(commission_fixed=50.0), initial_cash=40.0, fraction=1.0
        )
    assert result.fills.empty
    assert (result.equity == 40.0).all()
    assert "entries were skipped" in caplog.text
    assert "commission_fixed" in caplog.text


def test_bars_held_counts_closes_held_over_for_both_fill_modes(five_bars: pd.DataFrame) -> None:
    # Regression: a same_close position closed at the end was counted one bar too long.
    same = simulate(five_bars, np.array([1, 1, 1, 1, 1]), fill="same_close").trades.iloc[0]
    assert (same["entry_time"], same["exit_time"]) == (five_bars.index[0], five_bars.index[-1])
    assert same["bars_held"] == 4  # held from close 0 over closes 1, 2, 3 and 4
    nxt = simulate(five_bars, np.array([1, 1, 1, 1, 1]), fill="next_open").trades.iloc[0]
    assert nxt["entry_time"] == five_bars.index[1]
    assert nxt["bars_held"] == 4  # from open 1 over closes 1, 2, 3 and 4
