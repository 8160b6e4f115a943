"""Equity marks to market at each close; flat stays flat; buy and hold follows the price path."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from neurotrade.backtest import CostModel, buy_and_hold, simulate


def test_flat_target_keeps_equity_constant(five_bars: pd.DataFrame) -> None:
    for fill in ("next_open", "same_close"):
        result = simulate(five_bars, pd.Series(0, index=five_bars.index), fill=fill, initial_cash=5_000.0)
        assert (result.equity == 5_000.0).all()
        assert (result.position == 0.0).all()
        assert result.trades.empty
        assert result.fills.empty
        assert list(result.trades.columns) == [
            "entry_time",
            "exit_time",
            "side",
            "entry_price",
            "exit_price",
            "quantity",
            "pnl",
            "return_pct",
            "bars_held",
            "costs",
            "closed_at_end",
            "exit_reason",
        ]
        assert list(result.fills.columns) == [
            "time",
            "side",
            "price",
            "quantity",
            "commission",
            "closed_at_end",
        ]


def test_equity_marks_open_positions_to_each_close(five_bars: pd.DataFrame) -> None:
    result = simulate(five_bars, np.array([1, 1, 1, 0, 0]), initial_cash=1_100.0)
    q = 1_100.0 / 110.0
    np.testing.assert_allclose(result.equity.to_numpy(), [1_100, q * 115, q * 95, q * 98, q * 100], rtol=1e-12)
    assert result.equity.index.equals(five_bars.index)
    assert result.position.index.equals(five_bars.index)


def test_fraction_keeps_the_rest_in_cash(five_bars: pd.DataFrame) -> None:
    result = simulate(five_bars, np.array([1, 1, 1, 0, 0]), initial_cash=1_000.0, fraction=0.25)
    q = 250.0 / 110.0
    np.testing.assert_allclose(result.equity.to_numpy()[1:3], [750 + q * 115, 750 + q * 95], rtol=1e-12)


def test_buy_and_hold_is_the_price_path_minus_costs(make_bars: Callable[..., pd.DataFrame]) -> None:
    rng = np.random.default_rng(7)
    closes = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.03, 40)))
    opens = closes * np.exp(rng.normal(0.0, 0.01, 40))
    bars = make_bars(opens, closes)
    costs = CostModel(commission_pct=0.2, commission_fixed=3.0, slippage_pct=0.1)
    result = buy_and_hold(bars, costs=costs, initial_cash=20_000.0)

    q = (20_000.0 - 3.0) / (opens[1] * 1.001 * 1.002)
    expected = q * closes
    expected[0] = 20_000.0
    expected[-1] = q * closes[-1] * 0.999 * 0.998 - 3.0
    np.testing.assert_allclose(result.equity.to_numpy(), expected, rtol=1e-12)
    assert len(result.trades) == 1
    assert bool(result.trades["closed_at_end"].iloc[0])
    assert result.trades["bars_held"].iloc[0] == 39

    same = buy_and_hold(bars, costs=costs, initial_cash=20_000.0, fill="same_close")
    q_same = (20_000.0 - 3.0) / (closes[0] * 1.001 * 1.002)
    assert same.equity.iloc[0] == pytest.approx(q_same * closes[0], rel=1e-12)
    assert same.fills["time"].iloc[0] == bars.index[0]


def test_result_is_immutable(five_bars: pd.DataFrame) -> None:
    result = simulate(five_bars, np.zeros(5))
    with pytest.raises(AttributeError):
        result.initial_cash = 1.0  # type: ignore[misc]
    assert result.fill == "next_open"
    assert result.costs == CostModel()
