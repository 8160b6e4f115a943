"""No equity below zero: a margin call liquidates a position at the price where its equity is zero, and a
ruined account trades no more, reports no ratios and ends a chain of windows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neurotrade.backtest import BacktestResult, CostModel, ExitTracker, chain, performance, simulate
from neurotrade.errors import BacktestError

CASH = 1_000.0


def _bars(opens, highs=None, lows=None, closes=None) -> pd.DataFrame:
    """Daily bars; a price list alone gives flat bars (open = high = low = close)."""
    opens = [float(p) for p in opens]
    closes = opens if closes is None else [float(p) for p in closes]
    highs = [max(o, c) for o, c in zip(opens, closes, strict=True)] if highs is None else highs
    lows = [min(o, c) for o, c in zip(opens, closes, strict=True)] if lows is None else lows
    index = pd.date_range("2024-01-01", periods=len(opens), freq="D", tz="UTC", name="time")
    return pd.DataFrame({"open": opens, "high": highs, "low": lows, "close": closes, "volume": 1.0}, index=index)


def _liquidation_costs(result: BacktestResult) -> float:
    """Commission plus slippage in cash of the margin call's fill (the trade's last fill)."""
    trade = result.trades[result.trades["exit_reason"] == "margin_call"].iloc[0]
    fill = result.fills[result.fills["time"] == trade["exit_time"]].iloc[0]
    slippage = result.costs.slippage_rate
    market = fill["price"] / (1.0 + slippage) if fill["side"] == "buy" else fill["price"] / (1.0 - slippage)
    return float(fill["commission"] + fill["quantity"] * market * slippage)


def test_the_reviewers_ten_times_short_is_called_where_the_equity_would_cross_zero() -> None:
    # 10x short from 100 with 1,000: 100 units sold, cash 11,000, so the equity is zero at 110. The flat bars
    # jump from 105 to 112: a gap through 110, filled at the open. Before the margin call the equity went to
    # -200 and then -1,000; now it stays at what the liquidation left, and the later long is never taken.
    bars = _bars([100, 100, 105, 112, 120, 120])
    target = np.array([-1, -1, -1, -1, 1, 1], dtype=np.float64)
    result = simulate(bars, target, initial_cash=CASH, size=np.full(6, 10.0))
    assert result.equity.tolist() == [1_000.0, 1_000.0, 500.0, -200.0, -200.0, -200.0]
    assert result.trades["exit_reason"].tolist() == ["margin_call"]
    trade = result.trades.iloc[0]
    assert trade["exit_time"] == bars.index[3] and trade["exit_price"] == 112.0
    assert len(result.fills) == 2 and result.position.iloc[3:].eq(0.0).all()


@pytest.mark.parametrize("fill", ["next_open", "same_close"])
def test_a_bar_reaching_the_margin_level_liquidates_at_it_and_costs_alone_go_below_zero(fill: str) -> None:
    # The short's equity is zero at p* = -cash / units; the third bar's high (111) passes it without a gap.
    # Entered at the open (next_open) or at the close (same_close) of 100, the level sits near 110.
    costs = CostModel(commission_pct=0.1, slippage_pct=0.05)
    bars = _bars([100, 100, 104, 104, 104], highs=[100, 100, 111, 104, 104], closes=[100, 100, 104, 104, 104])
    target = np.array([-1, -1, -1, 1, 1], dtype=np.float64)
    result = simulate(bars, target, fill=fill, costs=costs, initial_cash=CASH, size=np.full(5, 10.0))
    trades = result.trades
    assert trades["exit_reason"].tolist() == ["margin_call"], "no entry after the margin call"
    entry = result.fills.iloc[0]
    units = entry["quantity"]
    cash = CASH + units * entry["price"] - entry["commission"]
    level = cash / units
    assert 109.0 < level < 110.0
    assert trades["exit_time"].iloc[0] == bars.index[2]
    # The fill is at the level, with the buy's slippage on top.
    assert trades["exit_price"].iloc[0] == pytest.approx(level * (1 + costs.slippage_rate), rel=1e-12)
    equity = result.equity.to_numpy()
    assert (equity[2:] == equity[2]).all() and equity[2] <= 0.0
    assert equity.min() >= -_liquidation_costs(result) - 1e-9


def test_a_gap_through_the_margin_level_fills_at_the_open() -> None:
    # Level near 110; the third bar opens at 118 (a gap), its range 115-125: filled at the open, 118.
    bars = _bars(
        [100, 100, 118, 120], highs=[100, 100, 125, 120], lows=[100, 100, 115, 120], closes=[100, 100, 120, 120]
    )
    result = simulate(bars, -np.ones(4), initial_cash=CASH, size=np.full(4, 10.0))
    trade = result.trades.iloc[0]
    assert (trade["exit_reason"], trade["exit_price"], trade["exit_time"]) == ("margin_call", 118.0, bars.index[2])
    assert result.equity.iloc[2] == pytest.approx(11_000.0 - 100 * 118.0)  # -800: the gap's loss beyond zero


@pytest.mark.parametrize("fill", ["next_open", "same_close"])
def test_a_two_times_long_is_liquidated_on_a_crash(fill: str) -> None:
    # 2x long at 100: 20 units, cash -1,000, equity zero at 50. The crash bar opens at 90 and trades down to
    # 40 before closing at 60: liquidated at 50, not at the low, and not carried to the recovery.
    bars = _bars(
        [100, 100, 90, 80, 150],
        highs=[100, 100, 90, 80, 150],
        lows=[100, 100, 40, 80, 150],
        closes=[100, 100, 60, 80, 150],
    )
    result = simulate(bars, np.ones(5), fill=fill, initial_cash=CASH, size=np.full(5, 2.0))
    trade = result.trades.iloc[0]
    assert (trade["exit_reason"], trade["exit_price"], trade["exit_time"]) == ("margin_call", 50.0, bars.index[2])
    assert len(result.trades) == 1
    assert result.equity.iloc[2:].eq(0.0).all()  # no costs: exactly nothing left


def test_an_unlevered_long_is_never_margin_called_even_on_a_99_percent_crash() -> None:
    costs = CostModel(commission_pct=0.1, slippage_pct=0.05, commission_fixed=1.0)
    bars = _bars(
        [100, 100, 1, 1, 50], highs=[100, 100, 100, 1, 50], lows=[100, 100, 1, 1, 1], closes=[100, 100, 1, 1, 50]
    )
    for fill in ("next_open", "same_close"):
        result = simulate(bars, np.ones(5), fill=fill, costs=costs, initial_cash=CASH, size=np.ones(5))
        assert "margin_call" not in set(result.trades["exit_reason"])
        assert (result.equity > 0).all()


def test_a_stop_nearer_than_the_margin_level_fills_first_and_one_beyond_it_never_comes() -> None:
    # 10x short from 100, equity zero at 110; the third bar trades up to 112 without a gap.
    bars = _bars([100, 100, 101, 101], highs=[100, 100, 112, 101], closes=[100, 100, 101, 101])
    kwargs = {"initial_cash": CASH, "size": np.full(4, 10.0)}
    near = simulate(bars, -np.ones(4), stop_loss_pct=5.0, **kwargs)
    assert near.trades[["exit_reason", "exit_price"]].to_numpy().tolist() == [["stop_loss", 105.0]]
    assert near.equity.iloc[-1] == pytest.approx(500.0)
    beyond = simulate(bars, -np.ones(4), stop_loss_pct=11.0, **kwargs)
    assert beyond.trades[["exit_reason", "exit_price"]].to_numpy().tolist() == [["margin_call", 110.0]]


def test_a_target_and_the_margin_level_in_one_bar_take_the_margin_call() -> None:
    # Both the 2 % target (98) and the margin level (110) of the short lie in the third bar's range: their
    # order is unknown, so the worse outcome is taken.
    bars = _bars(
        [100, 100, 101, 101], highs=[100, 100, 111, 101], lows=[100, 100, 97, 101], closes=[100, 100, 101, 101]
    )
    result = simulate(bars, -np.ones(4), take_profit_pct=2.0, initial_cash=CASH, size=np.full(4, 10.0))
    assert result.trades["exit_reason"].tolist() == ["margin_call"]


def test_a_margin_call_at_the_open_comes_before_the_decisions_fill() -> None:
    # The decision of bar 2 closes the short at bar 3's open, but that open (112) is beyond the level (110):
    # the account is ruined there, so the exit is a margin call, and the long decided with it is not taken.
    bars = _bars([100, 100, 105, 112, 112])
    target = np.array([-1, -1, 1, 1, 1], dtype=np.float64)
    result = simulate(bars, target, initial_cash=CASH, size=np.full(5, 10.0))
    assert result.trades[["exit_reason", "exit_price"]].to_numpy().tolist() == [["margin_call", 112.0]]
    assert len(result.fills) == 2


def test_shorts_and_leverage_need_ranges_that_hold_the_open_and_close() -> None:
    bars = _bars([100, 100, 100], highs=[100, 99, 100])
    simulate(bars, np.ones(3))  # an unlevered long reads no range
    with pytest.raises(
        BacktestError, match=r"bars row 1 .* stops need low <= open, close <= high \(so does the margin"
    ):
        simulate(bars, -np.ones(3))
    with pytest.raises(BacktestError, match=r"bars row 1"):
        simulate(bars, np.ones(3), size=np.full(3, 2.0))


def test_performance_of_a_ruined_path_reports_the_loss_and_no_ratios() -> None:
    bars = _bars([100, 100, 105, 112, 120, 120])
    result = simulate(bars, -np.ones(6), initial_cash=CASH, size=np.full(6, 10.0))
    stats = performance(result, periods_per_year=252)
    assert stats["ruined"] == "2024-01-04T00:00:00+00:00"
    assert stats["total_return"] == pytest.approx(-1.2) and stats["annual_return"] == -1.0
    assert stats["max_drawdown"] == pytest.approx(-1.2)
    assert stats["sharpe"] is None and stats["sortino"] is None and stats["calmar"] is None
    assert stats["volatility"] is None
    assert stats["trades"] == 1 and stats["final_equity"] == pytest.approx(-200.0)


def test_performance_of_the_reviewers_unchecked_path_is_ruined_at_its_first_negative_close() -> None:
    # The equity the backtest gave before the margin call: through zero and back to it. Sharpe 1.49, Sortino 3.98
    # and a max drawdown of -2.0 were reported for this total loss.
    index = pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC", name="time")
    equity = pd.Series([1_000.0, 1_000.0, 500.0, -200.0, -1_000.0, 0.0], index=index, name="equity")
    flat = simulate(_bars([100] * 6), np.zeros(6))  # no trades, no fills
    result = BacktestResult(
        equity=equity,
        position=pd.Series(0.0, index=index),
        trades=flat.trades,
        fills=flat.fills,
        initial_cash=CASH,
        fill="next_open",
        costs=CostModel(),
    )
    stats = performance(result, periods_per_year=252)
    assert stats["ruined"] == "2024-01-04T00:00:00+00:00"
    assert stats["total_return"] == -1.0 and stats["max_drawdown"] == -2.0 and stats["annual_return"] == -1.0
    assert stats["sharpe"] is None and stats["sortino"] is None and stats["calmar"] is None
    for value in stats.values():
        assert not (isinstance(value, float) and not math.isfinite(value))


def test_performance_of_a_healthy_path_has_no_ruined_key() -> None:
    bars = _bars([100, 101, 102, 103])
    stats = performance(simulate(bars, np.ones(4), initial_cash=CASH), periods_per_year=252)
    assert "ruined" not in stats


def test_a_chain_stops_trading_after_a_ruined_window() -> None:
    ruined = simulate(_bars([100, 100, 105, 112, 120, 120]), -np.ones(6), initial_cash=CASH, size=np.full(6, 10.0))
    later = _bars([100, 101, 102, 103, 104])
    later.index = later.index + pd.Timedelta(days=10)
    good = simulate(later, np.ones(5), initial_cash=CASH)
    assert good.equity.iloc[-1] > CASH
    whole = chain([ruined, good])
    tail = whole.equity.iloc[len(ruined.equity) :]
    assert (tail == ruined.equity.iloc[-1]).all(), "the equity stays at the ruined value, never flipped in sign"
    assert (whole.position.iloc[len(ruined.equity) :] == 0.0).all()
    assert whole.trades["exit_reason"].tolist() == ["margin_call"] and len(whole.fills) == 2
    stats = performance(whole, periods_per_year=252)
    assert stats["ruined"] == "2024-01-04T00:00:00+00:00" and stats["sharpe"] is None
    assert stats["final_equity"] == pytest.approx(-200.0)


def test_a_chain_of_healthy_windows_compounds_as_before() -> None:
    first = simulate(_bars([100, 100, 110, 110]), np.ones(4), initial_cash=CASH)
    later = _bars([100, 100, 120, 120])
    later.index = later.index + pd.Timedelta(days=10)
    second = simulate(later, np.ones(4), initial_cash=CASH)
    whole = chain([first, second])
    assert whole.equity.iloc[-1] == pytest.approx(CASH * 1.1 * 1.2)


def test_the_tracker_reports_the_margin_call_and_trades_no_more() -> None:
    costs = CostModel(commission_pct=0.1, slippage_pct=0.05)
    bars = _bars([100, 100, 104, 104, 104], highs=[100, 100, 111, 104, 104], closes=[100, 100, 104, 104, 104])
    target = [-1, -1, -1, 1, 1]
    for fill in ("next_open", "same_close"):
        result = simulate(
            bars, np.asarray(target, float), fill=fill, costs=costs, initial_cash=CASH, size=np.full(5, 10.0)
        )
        tracker = ExitTracker(fill, costs=costs, initial_cash=CASH)
        seen = [
            tracker.update(o, h, lo, c, t, size=10.0)
            for (o, h, lo, c), t in zip(bars[["open", "high", "low", "close"]].to_numpy(), target, strict=True)
        ]
        assert seen[2] == (0, "margin_call") and tracker.ruined
        assert seen[3:] == [(0, None), (0, None)]
        assert tracker.equity == result.equity.iloc[-1]


def test_the_tracker_refuses_bad_costs_and_cash() -> None:
    with pytest.raises(BacktestError, match=r"costs must be a CostModel"):
        ExitTracker(costs=0.1)
    with pytest.raises(BacktestError, match=r"initial_cash must be > 0"):
        ExitTracker(initial_cash=0.0)
