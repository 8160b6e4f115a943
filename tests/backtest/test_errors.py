"""Inputs the backtest cannot use give a BacktestError saying what is wrong and how to fix it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.backtest import CostModel, buy_and_hold, simulate
from neurotrade.errors import BacktestError, NeurotradeError


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            np.array([1.0, 0.0, np.nan, 0.0, np.nan]),
            r"target is NaN at row 2 \(2024-01-03 00:00:00\+00:00\) \(2 NaN row\(s\) in all\); "
            r"decide a position for every bar",
        ),
        (
            np.array([1.0, 0.5, 0.0, 0.0, 0.0]),
            r"target must be -1, 0 or \+1 \(short, flat, long\), got 0.5 at row 1 "
            r".*use the fraction argument",
        ),
        (
            np.array([0, 2, 0, 0, -2]),
            r"got 2.0 at row 1 \(2024-01-02 00:00:00\+00:00\) \(2 such row\(s\) in all\)",
        ),
        (np.array([1, 0, 0]), r"target has 3 values but bars have 5 rows; give one per bar"),
        (np.ones((5, 1)), r"target must be 1-D, got an array of shape \(5, 1\)"),
        (
            np.array([True, False, True, False, True]),
            r"target must hold the numbers -1, 0, \+1 .*got dtype bool",
        ),
        (np.array(["1", "0", "0", "0", "0"]), r"target must hold the numbers -1, 0, \+1 .*got dtype <U1"),
        ([1, 0, 0, 0, 0], r"target must be a pandas Series on the bars' index or a numpy array, got list"),
    ],
)
def test_bad_targets(five_bars: pd.DataFrame, target: object, message: str) -> None:
    with pytest.raises(BacktestError, match=message):
        simulate(five_bars, target)  # type: ignore[arg-type]


def test_target_series_must_share_the_bars_index(five_bars: pd.DataFrame) -> None:
    shifted = pd.Series(np.zeros(5), index=five_bars.index + pd.Timedelta(hours=1))
    with pytest.raises(
        BacktestError,
        match=r"target's index differs from the bars' index at row 0.*build the target on bars.index",
    ):
        simulate(five_bars, shifted)
    reordered = pd.Series(np.zeros(5), index=five_bars.index[[0, 1, 3, 2, 4]])
    with pytest.raises(BacktestError, match=r"at row 2: target has Timestamp\('2024-01-04"):
        simulate(five_bars, reordered)
    with pytest.raises(BacktestError, match=r"target has 4 values but bars have 5 rows"):
        simulate(five_bars, pd.Series(np.zeros(4), index=five_bars.index[:4]))


def test_bad_bars(five_bars: pd.DataFrame) -> None:
    target = np.zeros(5)
    with pytest.raises(BacktestError, match=r"bars must be a pandas DataFrame of OHLCV bars, got dict"):
        simulate({"open": [1.0]}, target)  # type: ignore[arg-type]
    with pytest.raises(BacktestError, match=r"bars is empty; a backtest needs at least one bar"):
        simulate(five_bars.iloc[:0], np.zeros(0))
    renamed = five_bars.rename(columns={"close": "Close"})
    with pytest.raises(BacktestError, match=r"bars has no column 'close' \(did you mean 'Close'\?\)"):
        simulate(renamed, target)
    with pytest.raises(BacktestError, match=r"bars must have a DatetimeIndex .*got RangeIndex; set it with"):
        simulate(five_bars.reset_index(), target)
    unsorted = five_bars.iloc[[0, 2, 1, 3, 4]]
    with pytest.raises(
        BacktestError, match=r"strictly increasing, but row 2 \(2024-01-02.*sort the bars and drop duplicate"
    ):
        simulate(unsorted, target)
    gap = five_bars.copy()
    gap.iloc[3, gap.columns.get_loc("open")] = np.nan
    with pytest.raises(
        BacktestError,
        match=r"bars column 'open' must hold finite prices > 0, but row 3 \(2024-01-04 00:00:00\+00:00\) "
        r"has nan \(1 such row\(s\) in all\)",
    ):
        simulate(gap, target)
    negative = five_bars.copy()
    negative.iloc[1, negative.columns.get_loc("low")] = -1.0
    with pytest.raises(BacktestError, match=r"bars column 'low' must hold finite prices > 0, but row 1"):
        simulate(negative, target)
    text = five_bars.astype({"high": "str"})
    with pytest.raises(BacktestError, match=r"bars column 'high' must be numeric, got dtype str"):
        simulate(text, target)


def test_bad_parameters(five_bars: pd.DataFrame) -> None:
    target = np.zeros(5)
    with pytest.raises(
        BacktestError,
        match=r"fill must be 'next_open' or 'same_close', got 'next-open'; did you mean 'next_open'\?",
    ):
        simulate(five_bars, target, fill="next-open")
    with pytest.raises(BacktestError, match=r"fill must be 'next_open' or 'same_close', got 'market'$"):
        simulate(five_bars, target, fill="market")
    with pytest.raises(BacktestError, match=r"fraction must be > 0 and <= 1, got 1.5"):
        simulate(five_bars, target, fraction=1.5)
    with pytest.raises(BacktestError, match=r"fraction must be > 0 and <= 1, got 0"):
        simulate(five_bars, target, fraction=0)
    with pytest.raises(BacktestError, match=r"initial_cash must be > 0, got -5.0"):
        simulate(five_bars, target, initial_cash=-5.0)
    with pytest.raises(BacktestError, match=r"initial_cash must be > 0, got inf"):
        simulate(five_bars, target, initial_cash=float("inf"))
    with pytest.raises(BacktestError, match=r"initial_cash must be a number, got '1000' \(str\)"):
        simulate(five_bars, target, initial_cash="1000")  # type: ignore[arg-type]
    with pytest.raises(BacktestError, match=r"costs must be a CostModel, got dict"):
        simulate(five_bars, target, costs={"commission_pct": 0.1})  # type: ignore[arg-type]
    with pytest.raises(BacktestError, match=r"did you mean 'same_close'\?"):
        buy_and_hold(five_bars, fill="same_closes")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"commission_pct": -0.1}, r"CostModel.commission_pct must be a finite number >= 0, got -0.1"),
        (
            {"commission_fixed": float("nan")},
            r"CostModel.commission_fixed must be a finite number >= 0, got nan",
        ),
        (
            {"slippage_pct": 100.0},
            r"CostModel.slippage_pct is in percent and must be below 100, got 100.0; "
            r"for 0.1 % write slippage_pct=0.1",
        ),
        ({"commission_pct": "0.1"}, r"CostModel.commission_pct must be a number, got '0.1' \(str\)"),
    ],
)
def test_bad_costs(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(BacktestError, match=message):
        CostModel(**kwargs)  # type: ignore[arg-type]


def test_backtest_errors_are_user_errors() -> None:
    assert issubclass(BacktestError, NeurotradeError)
