"""Stops inside the bar: levels, gaps, both-touched, trailing, and staying flat after a stop."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade.backtest import CostModel, simulate
from neurotrade.errors import BacktestError


def _ohlc(rows: Sequence[tuple[float, float, float, float]]) -> pd.DataFrame:
    """Bars from (open, high, low, close) rows, daily from 2024-01-01 UTC."""
    data = np.asarray(rows, dtype=np.float64)
    index = pd.date_range("2024-01-01", periods=len(data), freq="D", tz="UTC", name="time")
    frame = pd.DataFrame(data, columns=["open", "high", "low", "close"], index=index)
    frame["volume"] = 1.0
    return frame


FLAT = (100.0, 100.0, 100.0, 100.0)


def test_both_levels_in_one_bar_take_the_stop_and_stay_flat_until_the_target_changes() -> None:
    bars = _ohlc([FLAT, (100.0, 106.0, 97.0, 100.0), FLAT, FLAT, FLAT, FLAT, FLAT])
    # Long from bar 1's open; the target stays long through bar 3, goes flat at 4 and long again at 5.
    target = np.array([1, 1, 1, 1, 0, 1, 1])
    result = simulate(bars, target, initial_cash=1_000.0, stop_loss_pct=2.0, take_profit_pct=5.0)
    trades = result.trades
    first = trades.iloc[0]
    assert first["exit_reason"] == "stop_loss"
    assert first["exit_price"] == pytest.approx(98.0)
    assert first["entry_time"] == first["exit_time"] == bars.index[1]
    assert first["pnl"] == pytest.approx(10.0 * (98.0 - 100.0))
    # Stopped at bar 1, the long target of bars 1-3 does not re-enter; flat at 4, long again from bar 6's open.
    np.testing.assert_array_equal(result.position.to_numpy() != 0, [False, False, False, False, False, False, True])
    second = trades.iloc[1]
    assert second["entry_time"] == bars.index[6] and second["exit_reason"] == "end"
    assert result.equity.iloc[-1] == pytest.approx(980.0)


def test_a_gap_through_the_stop_fills_at_the_open_with_slippage_and_commission() -> None:
    bars = _ohlc([FLAT, (100.0, 101.0, 99.0, 100.0), (95.0, 96.0, 94.0, 95.5), FLAT])
    costs = CostModel(commission_pct=0.1, slippage_pct=0.1)
    result = simulate(bars, np.ones(4), costs=costs, initial_cash=1_000.0, stop_loss_pct=2.0)
    trade = result.trades.iloc[0]
    assert trade["exit_reason"] == "stop_loss"
    assert trade["exit_time"] == bars.index[2]
    # Worse than the 98 level: the open, less slippage.
    assert trade["exit_price"] == pytest.approx(95.0 * 0.999)
    exit_fill = result.fills.iloc[1]
    assert exit_fill["side"] == "sell"
    assert exit_fill["commission"] == pytest.approx(0.001 * exit_fill["quantity"] * 95.0 * 0.999)
    # The stop level is measured from the entry's market price (the open), not the slipped fill.
    assert trade["entry_price"] == pytest.approx(100.0 * 1.001)


def test_take_profit_fills_at_its_level_or_at_a_better_open() -> None:
    touched = _ohlc([FLAT, (100.0, 101.0, 99.0, 100.0), (101.0, 106.0, 100.5, 104.0), FLAT])
    trade = simulate(touched, np.ones(4), initial_cash=1_000.0, take_profit_pct=5.0).trades.iloc[0]
    assert (trade["exit_reason"], trade["exit_price"]) == ("take_profit", pytest.approx(105.0))
    gapped = _ohlc([FLAT, (100.0, 101.0, 99.0, 100.0), (108.0, 109.0, 107.0, 108.0), FLAT])
    trade = simulate(gapped, np.ones(4), initial_cash=1_000.0, take_profit_pct=5.0).trades.iloc[0]
    assert (trade["exit_reason"], trade["exit_price"]) == ("take_profit", pytest.approx(108.0))


def test_trailing_stop_follows_the_best_price_since_entry() -> None:
    bars = _ohlc([FLAT, (100.0, 110.0, 99.0, 108.0), (108.0, 109.0, 104.0, 105.0), FLAT])
    result = simulate(bars, np.ones(4), initial_cash=1_000.0, trailing_stop_pct=5.0)
    trade = result.trades.iloc[0]
    # Bar 1: best 100, trail at 95, low 99 survives; the high of 110 lifts it to 104.5 from bar 2 on.
    assert trade["exit_reason"] == "trailing_stop"
    assert trade["exit_time"] == bars.index[2]
    assert trade["exit_price"] == pytest.approx(104.5)
    # A fixed stop looser than the trail leaves the trail in force.
    both = simulate(bars, np.ones(4), initial_cash=1_000.0, trailing_stop_pct=5.0, stop_loss_pct=10.0)
    assert both.trades.iloc[0]["exit_reason"] == "trailing_stop"


def test_short_stops_are_mirrored() -> None:
    bars = _ohlc([FLAT, (100.0, 103.0, 99.0, 101.0), FLAT])
    trade = simulate(bars, -np.ones(3), initial_cash=1_000.0, stop_loss_pct=2.0).trades.iloc[0]
    assert (trade["side"], trade["exit_reason"]) == ("short", "stop_loss")
    assert trade["exit_price"] == pytest.approx(102.0)
    assert trade["pnl"] == pytest.approx(-10.0 * 2.0)
    falling = _ohlc([FLAT, (100.0, 100.5, 94.0, 95.0), FLAT])
    trade = simulate(falling, -np.ones(3), initial_cash=1_000.0, take_profit_pct=5.0).trades.iloc[0]
    assert (trade["exit_reason"], trade["exit_price"]) == ("take_profit", pytest.approx(95.0))


def test_same_close_fills_check_stops_from_the_next_bar() -> None:
    # Entered at bar 0's close (100); bar 0's own low of 90 came before the entry and must not stop it.
    bars = _ohlc([(100.0, 100.0, 90.0, 100.0), (100.0, 101.0, 97.0, 99.0), FLAT])
    result = simulate(bars, np.ones(3), fill="same_close", initial_cash=1_000.0, stop_loss_pct=2.0)
    trade = result.trades.iloc[0]
    assert trade["entry_time"] == bars.index[0]
    assert (trade["exit_time"], trade["exit_reason"]) == (bars.index[1], "stop_loss")
    assert trade["exit_price"] == pytest.approx(98.0)


def test_without_stops_the_result_is_unchanged(five_bars: pd.DataFrame) -> None:
    target = np.array([1, -1, 1, 0, 0])
    plain = simulate(five_bars, target)
    loose = simulate(five_bars, target, stop_loss_pct=99.0, take_profit_pct=1_000.0, trailing_stop_pct=99.0)
    pd.testing.assert_series_equal(plain.equity, loose.equity)
    pd.testing.assert_frame_equal(plain.trades, loose.trades)
    assert set(plain.trades["exit_reason"]) <= {"signal", "end"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stop_loss_pct": 0.0}, "stop_loss_pct must be > 0 and <= 100, got 0.0"),
        ({"trailing_stop_pct": -1}, "trailing_stop_pct must be > 0"),
        ({"take_profit_pct": "5"}, "take_profit_pct must be a number"),
    ],
)
def test_bad_stop_parameters_are_explained(five_bars: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(BacktestError, match=message):
        simulate(five_bars, np.zeros(5), **kwargs)


def test_stops_need_ranges_that_hold_the_open_and_close(five_bars: pd.DataFrame) -> None:
    broken = five_bars.copy()
    broken.iloc[2, broken.columns.get_loc("high")] = 50.0
    with pytest.raises(BacktestError, match=r"bars row 2 .* stops need low <= open, close <= high"):
        simulate(broken, np.zeros(5), stop_loss_pct=1.0)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    stop=st.sampled_from([None, 1.0, 3.0]),
    take=st.sampled_from([None, 2.0, 6.0]),
    trail=st.sampled_from([None, 1.5, 4.0]),
    fill=st.sampled_from(["next_open", "same_close"]),
)
def test_stop_exits_are_reachable_prices_and_the_books_balance(
    seed: int, stop: float | None, take: float | None, trail: float | None, fill: str
) -> None:
    rng = np.random.default_rng(seed)
    n = 60
    closes = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))
    opens = closes * np.exp(rng.normal(0.0, 0.01, n))
    bars = _ohlc(
        np.column_stack(
            [
                opens,
                np.maximum(opens, closes) * (1 + rng.uniform(0, 0.02, n)),
                np.minimum(opens, closes) * (1 - rng.uniform(0, 0.02, n)),
                closes,
            ]
        )
    )
    target = rng.choice([-1, 0, 1], size=n, p=[0.2, 0.2, 0.6])
    costs = CostModel(commission_pct=0.1, slippage_pct=0.05)
    result = simulate(
        bars, target, fill=fill, costs=costs, stop_loss_pct=stop, take_profit_pct=take, trailing_stop_pct=trail
    )
    trades = result.trades
    # Every pnl is booked once, costs included, so the books balance.
    assert result.equity.iloc[-1] == pytest.approx(100_000.0 + trades["pnl"].sum(), rel=1e-9)
    stopped = trades[~trades["exit_reason"].isin(["signal", "end"])]
    rows = bars.index.get_indexer(stopped["exit_time"])
    unslipped = np.where(stopped["side"] == "long", stopped["exit_price"] / 0.9995, stopped["exit_price"] / 1.0005)
    assert (unslipped <= bars["high"].to_numpy()[rows] * (1 + 1e-12)).all()
    assert (unslipped >= bars["low"].to_numpy()[rows] * (1 - 1e-12)).all()
    if stop is None and trail is None:
        assert not trades["exit_reason"].isin(["stop_loss", "trailing_stop"]).any()
    if take is None:
        assert not (trades["exit_reason"] == "take_profit").any()
