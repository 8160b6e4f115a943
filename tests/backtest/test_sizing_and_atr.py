"""Per-bar position sizes (leverage included) and the ATR stop of the single-symbol backtest."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from neurotrade.backtest import CostModel, atr_for_stops, simulate
from neurotrade.data import synthetic_ohlcv
from neurotrade.errors import BacktestError
from neurotrade.indicators import compute


def _ohlc(rows: Sequence[tuple[float, float, float, float]]) -> pd.DataFrame:
    """Bars from (open, high, low, close) rows, daily from 2024-01-01 UTC."""
    data = np.asarray(rows, dtype=np.float64)
    index = pd.date_range("2024-01-01", periods=len(data), freq="D", tz="UTC", name="time")
    frame = pd.DataFrame(data, columns=["open", "high", "low", "close"], index=index)
    frame["volume"] = 1.0
    return frame


def _flat(price: float) -> tuple[float, float, float, float]:
    return (price, price, price, price)


# --- sizes -------------------------------------------------------------------------------------------


def test_size_two_borrows_the_cash_and_doubles_the_move() -> None:
    bars = _ohlc([_flat(100.0), _flat(100.0), _flat(110.0), _flat(110.0)])
    target = np.array([1, 1, 0, 0])
    result = simulate(bars, target, initial_cash=1_000.0, size=np.full(4, 2.0))
    trade = result.trades.iloc[0]
    # 2,000 at 100 is 20 units, bought with 1,000 of cash and 1,000 of margin loan (cash -1,000).
    assert trade["quantity"] == 20.0
    assert result.position.tolist() == [0.0, 20.0, 20.0, 0.0]
    assert result.equity.tolist() == [1_000.0, 1_000.0, 1_200.0, 1_200.0]
    assert trade["pnl"] == 200.0
    cash_while_held = result.equity.iloc[1] - result.position.iloc[1] * bars["close"].iloc[1]
    assert cash_while_held == -1_000.0


def test_size_two_doubles_a_long_pnl_net_of_proportional_costs() -> None:
    bars = _ohlc([_flat(100.0), (100.0, 104.0, 99.0, 103.0), (103.0, 106.0, 101.0, 105.0), _flat(105.0)])
    target = np.array([1, 1, 0, 0])
    costs = CostModel(commission_pct=0.1, slippage_pct=0.05)
    one = simulate(bars, target, costs=costs, initial_cash=1_000.0, size=np.ones(4)).trades.iloc[0]
    two = simulate(bars, target, costs=costs, initial_cash=1_000.0, size=np.full(4, 2.0)).trades.iloc[0]
    # Proportional costs scale with the quantity, so everything in cash doubles and the prices do not move.
    assert two["quantity"] == pytest.approx(2.0 * one["quantity"], rel=1e-12)
    assert two["pnl"] == pytest.approx(2.0 * one["pnl"], rel=1e-12)
    assert two["costs"] == pytest.approx(2.0 * one["costs"], rel=1e-12)
    assert (two["entry_price"], two["exit_price"]) == (one["entry_price"], one["exit_price"])
    # By hand: bought at 100 * 1.0005 with 2,000 less a 0.1 % commission, sold at 105 * 0.9995.
    qty = 2_000.0 / (100.0 * 1.0005 * 1.001)
    sell = 105.0 * 0.9995
    expected = qty * (sell - 100.0 * 1.0005) - 0.001 * qty * 100.0 * 1.0005 - 0.001 * qty * sell
    assert two["pnl"] == pytest.approx(expected, rel=1e-12)


def test_size_is_set_at_entry_and_later_sizes_do_not_rebalance() -> None:
    bars = _ohlc([_flat(100.0), _flat(100.0), _flat(120.0), _flat(80.0), _flat(90.0)])
    target = np.array([1, 1, 1, 1, 1])
    size = np.array([0.5, 2.0, 0.1, 3.0, 1.0])
    result = simulate(bars, target, initial_cash=1_000.0, size=size)
    assert len(result.trades) == 1 and len(result.fills) == 2
    # Decided at bar 0 with size 0.5: 500 at bar 1's open, 5 units, kept whatever the sizes say later.
    assert result.position.tolist() == [0.0, 5.0, 5.0, 5.0, 5.0]
    assert result.trades.iloc[0]["exit_reason"] == "end"


def test_size_of_the_decision_bar_is_used_with_same_close() -> None:
    bars = _ohlc([_flat(100.0), _flat(100.0), _flat(110.0)])
    result = simulate(bars, np.array([0, 1, 1]), fill="same_close", initial_cash=1_000.0, size=np.array([9, 2, 0.5]))
    assert result.position.tolist() == [0.0, 20.0, 20.0]


def test_size_zero_opens_nothing_and_warns_of_nothing(caplog: pytest.LogCaptureFixture) -> None:
    bars = _ohlc([_flat(100.0)] * 5)
    with caplog.at_level(logging.WARNING, logger="neurotrade.backtest"):
        result = simulate(bars, np.array([1, 1, -1, 1, 0]), initial_cash=1_000.0, size=np.zeros(5))
    assert result.trades.empty and result.fills.empty
    assert (result.position == 0.0).all()
    assert caplog.records == []


def test_a_size_zero_entry_is_taken_once_a_size_comes_while_the_target_stays() -> None:
    bars = _ohlc([_flat(100.0)] * 5)
    result = simulate(bars, np.array([1, 1, 1, 1, 0]), initial_cash=1_000.0, size=np.array([0, 0, 1, 0, 0]))
    trade = result.trades.iloc[0]
    # Decided with a size at bar 2, filled at bar 3's open.
    assert trade["entry_time"] == bars.index[3] and trade["exit_time"] == bars.index[4]
    assert result.position.tolist() == [0.0, 0.0, 0.0, 10.0, 10.0]


def test_a_leveraged_short_sells_units_worth_the_size_times_the_equity() -> None:
    bars = _ohlc([_flat(100.0), _flat(100.0), _flat(90.0), _flat(90.0)])
    result = simulate(bars, np.array([-1, -1, 0, 0]), initial_cash=1_000.0, size=np.full(4, 3.0))
    trade = result.trades.iloc[0]
    # 3,000 sold at 100: 30 units short, cash 4,000; at 90 the equity is 4,000 - 2,700.
    assert trade["side"] == "short" and trade["quantity"] == 30.0
    assert result.position.tolist() == [0.0, -30.0, -30.0, 0.0]
    assert result.equity.tolist() == [1_000.0, 1_000.0, 1_300.0, 1_300.0]
    assert trade["pnl"] == 300.0


def test_size_given_as_a_series_on_the_bars_index() -> None:
    bars = _ohlc([_flat(100.0)] * 3)
    size = pd.Series([0.25, 1.0, 1.0], index=bars.index)
    assert simulate(bars, np.ones(3), initial_cash=1_000.0, size=size).position.tolist() == [0.0, 2.5, 2.5]


def test_without_size_the_fraction_still_sizes_every_entry() -> None:
    bars = _ohlc([_flat(100.0)] * 3)
    plain = simulate(bars, np.ones(3), initial_cash=1_000.0, fraction=0.4)
    sized = simulate(bars, np.ones(3), initial_cash=1_000.0, size=np.full(3, 0.4))
    assert plain.position.tolist() == sized.position.tolist() == [0.0, 4.0, 4.0]


# --- ATR stop ----------------------------------------------------------------------------------------


def test_atr_stop_sits_a_multiple_of_the_decision_bars_atr_below_the_entry() -> None:
    # Entry at bar 1's open (100); ATR at the decision bar 0 is 2, so the stop is 100 - 1.5 * 2 = 97.
    bars = _ohlc([_flat(100.0), (100.0, 101.0, 98.0, 99.0), (99.0, 99.5, 96.0, 97.5), _flat(97.0)])
    atr = np.array([2.0, 10.0, 10.0, 10.0])  # later ATRs do not move the stop
    result = simulate(bars, np.ones(4), initial_cash=1_000.0, atr=atr, atr_stop_multiple=1.5)
    trade = result.trades.iloc[0]
    assert trade["exit_reason"] == "atr_stop"
    assert trade["exit_time"] == bars.index[2]
    assert trade["exit_price"] == 97.0
    # Stopped, it stays flat while the target stays long.
    assert result.position.tolist() == [0.0, 10.0, 0.0, 0.0]


def test_atr_stop_of_a_short_sits_above_and_same_close_uses_the_entry_bars_atr() -> None:
    bars = _ohlc([_flat(100.0), _flat(100.0), (100.0, 103.5, 99.0, 101.0), _flat(101.0)])
    atr = np.array([9.0, 2.0, 9.0, 9.0])
    result = simulate(
        bars, np.array([0, -1, -1, -1]), fill="same_close", initial_cash=1_000.0, atr=atr, atr_stop_multiple=1.5
    )
    trade = result.trades.iloc[0]
    assert (trade["side"], trade["exit_reason"], trade["exit_price"]) == ("short", "atr_stop", 103.0)
    assert trade["entry_time"] == bars.index[1] and trade["exit_time"] == bars.index[2]


def test_a_gap_through_the_atr_stop_fills_at_the_open() -> None:
    bars = _ohlc([_flat(100.0), (100.0, 100.5, 99.5, 100.0), (95.0, 96.0, 94.0, 95.0), _flat(95.0)])
    result = simulate(bars, np.ones(4), initial_cash=1_000.0, atr=np.full(4, 2.0), atr_stop_multiple=1.5)
    trade = result.trades.iloc[0]
    assert (trade["exit_reason"], trade["exit_price"]) == ("atr_stop", 95.0)


def test_the_nearer_of_the_atr_stop_and_the_stop_loss_is_in_force() -> None:
    bars = _ohlc([_flat(100.0), (100.0, 100.5, 99.5, 100.0), (99.0, 99.5, 90.0, 92.0), _flat(92.0)])
    atr = np.full(4, 2.0)  # ATR stop at 97
    atr_nearer = simulate(bars, np.ones(4), initial_cash=1_000.0, stop_loss_pct=5.0, atr=atr, atr_stop_multiple=1.5)
    assert tuple(atr_nearer.trades.iloc[0][["exit_reason", "exit_price"]]) == ("atr_stop", 97.0)
    loss_nearer = simulate(bars, np.ones(4), initial_cash=1_000.0, stop_loss_pct=2.0, atr=atr, atr_stop_multiple=1.5)
    assert tuple(loss_nearer.trades.iloc[0][["exit_reason", "exit_price"]]) == ("stop_loss", 98.0)


def test_a_trailing_stop_tighter_than_the_atr_stop_takes_over() -> None:
    # Bar 1's high of 110 lifts a 5 % trail to 104.5, above the ATR stop at 97.
    bars = _ohlc([_flat(100.0), (100.0, 110.0, 99.0, 108.0), (108.0, 109.0, 104.0, 105.0), _flat(105.0)])
    result = simulate(
        bars, np.ones(4), initial_cash=1_000.0, trailing_stop_pct=5.0, atr=np.full(4, 2.0), atr_stop_multiple=1.5
    )
    assert tuple(result.trades.iloc[0][["exit_reason", "exit_price"]]) == ("trailing_stop", 104.5)


def test_nan_atr_means_no_atr_stop_for_entries_decided_then() -> None:
    bars = _ohlc([_flat(100.0), (100.0, 100.5, 90.0, 95.0), _flat(95.0)])
    result = simulate(bars, np.ones(3), initial_cash=1_000.0, atr=np.full(3, np.nan), atr_stop_multiple=1.5)
    assert tuple(result.trades.iloc[0][["exit_reason", "exit_price"]]) == ("end", 95.0)


def test_atr_for_stops_is_the_causal_wilder_atr_of_the_indicators() -> None:
    bars = synthetic_ohlcv(300, seed=3)
    atr = atr_for_stops(bars, 14)
    expected = compute(bars, "atr", period=14)["atr"].to_numpy()
    np.testing.assert_array_equal(atr, expected)
    assert np.isnan(atr[:14]).all() and np.isfinite(atr[14:]).all() and (atr[14:] > 0).all()
    # Causal: the bars after a point do not change the values up to it.
    np.testing.assert_array_equal(atr_for_stops(bars.iloc[:100], 14), atr[:100])


def test_atr_stops_over_synthetic_bars_exit_at_reachable_prices() -> None:
    bars = synthetic_ohlcv(400, seed=5)
    rng = np.random.default_rng(5)
    target = np.repeat(rng.choice([-1, 0, 1], size=40), 10).astype(float)
    result = simulate(bars, target, atr=atr_for_stops(bars, 14), atr_stop_multiple=1.0)
    stopped = result.trades[result.trades["exit_reason"] == "atr_stop"]
    assert len(stopped) > 0
    rows = bars.loc[stopped["exit_time"]]
    assert (stopped["exit_price"].to_numpy() <= rows["high"].to_numpy()).all()
    assert (stopped["exit_price"].to_numpy() >= rows["low"].to_numpy()).all()


# --- input errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "message"),
    [
        (np.array([1.0, 1.0, -0.5, 1.0]), r"size must be finite, >= 0 and <= 10 .*got -0.5 at row 2 \(2024-01-03"),
        (np.array([1.0, 11.0, 1.0, 1.0]), r"got 11.0 at row 1 \(2024-01-02.*\(1 such row\(s\) in all\)"),
        (np.array([1.0, 1.0, 1.0, np.nan]), r"got nan at row 3 \(2024-01-04"),
        (np.array([np.inf, 1.0, 1.0, 1.0]), r"got inf at row 0"),
        (np.ones(3), r"size has 3 values but bars have 4 rows; give one per bar"),
        (np.array(["1", "1", "1", "1"]), r"size must hold numbers, got dtype <U1"),
        ([1.0, 1.0, 1.0, 1.0], r"size must be a pandas Series on the bars' index or a numpy array, got list"),
    ],
)
def test_bad_sizes_are_refused_at_their_first_bad_row(size: object, message: str) -> None:
    bars = _ohlc([_flat(100.0)] * 4)
    with pytest.raises(BacktestError, match=message):
        simulate(bars, np.ones(4), size=size)


def test_a_size_series_on_other_times_is_refused() -> None:
    bars = _ohlc([_flat(100.0)] * 4)
    size = pd.Series(1.0, index=bars.index.shift(1))
    with pytest.raises(BacktestError, match=r"size's index differs from the bars' index at row 0"):
        simulate(bars, np.ones(4), size=size)


@pytest.mark.parametrize(
    ("atr", "multiple", "message"),
    [
        (np.ones(4), None, r"atr needs atr_stop_multiple"),
        (None, 2.0, r"atr_stop_multiple needs atr, .*atr_for_stops\(bars, 14\)"),
        (np.ones(4), 0.0, r"atr_stop_multiple must be > 0, got 0.0"),
        (np.array([np.nan, 1.0, -1.0, 1.0]), 2.0, r"atr must be >= 0 and finite, or NaN .*got -1.0 at row 2 \(2024"),
        (np.array([np.nan, np.inf, 1.0, 1.0]), 2.0, r"got inf at row 1"),
        (np.ones(5), 2.0, r"atr has 5 values but bars have 4 rows"),
    ],
)
def test_bad_atr_inputs_are_refused(atr: object, multiple: object, message: str) -> None:
    bars = _ohlc([_flat(100.0)] * 4)
    with pytest.raises(BacktestError, match=message):
        simulate(bars, np.ones(4), atr=atr, atr_stop_multiple=multiple)


def test_atr_for_stops_refuses_a_bad_period() -> None:
    bars = _ohlc([_flat(100.0)] * 4)
    with pytest.raises(BacktestError, match=r"ATR period must be a whole number of bars >= 1, got 0"):
        atr_for_stops(bars, 0)
    with pytest.raises(BacktestError, match=r"got 2.5"):
        atr_for_stops(bars, 2.5)  # type: ignore[arg-type]
