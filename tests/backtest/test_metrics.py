"""Metrics against values worked out by hand or with plain numpy on small series."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from neurotrade.backtest import BacktestResult, CostModel, performance, periods_per_year, simulate
from neurotrade.errors import BacktestError


def _result(
    equity: Sequence[float],
    *,
    position: Sequence[float] | None = None,
    pnl: Sequence[float] = (),
    bars_held: Sequence[int] | None = None,
    initial_cash: float = 100.0,
) -> BacktestResult:
    index = pd.date_range("2024-01-01", periods=len(equity), freq="D", tz="UTC", name="time")
    position = [0.0] * len(equity) if position is None else position
    bars_held = [1] * len(pnl) if bars_held is None else bars_held
    trades = pd.DataFrame({"pnl": np.asarray(pnl, dtype=np.float64), "bars_held": np.asarray(bars_held)})
    return BacktestResult(
        equity=pd.Series(equity, index=index, dtype=np.float64),
        position=pd.Series(position, index=index, dtype=np.float64),
        trades=trades,
        fills=pd.DataFrame(),
        initial_cash=initial_cash,
        fill="next_open",
        costs=CostModel(),
    )


def test_sharpe_sortino_and_growth_by_hand() -> None:
    # Per-bar returns +2 %, -1 %, +2 %, -1 %: mean 0.005, sample variance 0.0003,
    # downside deviation sqrt((0.01^2 + 0.01^2) / 4) = sqrt(5e-5).
    equity = [102.0, 100.98, 102.9996, 101.969604]
    stats = performance(_result(equity), periods_per_year=252)
    assert stats["sharpe"] == pytest.approx(math.sqrt(21.0), rel=1e-9)  # 0.005 / sqrt(3e-4) * sqrt(252)
    assert stats["sortino"] == pytest.approx(math.sqrt(126.0), rel=1e-9)  # 0.005 / sqrt(5e-5) * sqrt(252)
    assert stats["volatility"] == pytest.approx(math.sqrt(3e-4 * 252), rel=1e-9)
    assert stats["total_return"] == pytest.approx(0.01969604, rel=1e-12)
    assert stats["final_equity"] == 101.969604
    # Four bars at four bars a year is one year; at two bars a year it is two.
    one_year = performance(_result(equity), periods_per_year=4)
    assert one_year["annual_return"] == pytest.approx(0.01969604, rel=1e-12)
    two_years = performance(_result(equity), periods_per_year=2)
    assert two_years["annual_return"] == pytest.approx(math.sqrt(1.01969604) - 1, rel=1e-12)


def test_metrics_match_plain_numpy_on_a_random_path() -> None:
    rng = np.random.default_rng(3)
    equity = 1_000.0 * np.exp(np.cumsum(rng.normal(0.0005, 0.01, 300)))
    stats = performance(_result(equity, initial_cash=1_000.0), periods_per_year=365)
    r = np.diff(np.concatenate(([1_000.0], equity))) / np.concatenate(([1_000.0], equity[:-1]))
    assert stats["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(365), rel=1e-9)
    downside = np.sqrt(np.mean(np.where(r < 0, r, 0.0) ** 2))
    assert stats["sortino"] == pytest.approx(r.mean() / downside * np.sqrt(365), rel=1e-9)
    path = np.concatenate(([1_000.0], equity))
    assert stats["max_drawdown"] == pytest.approx((path / np.maximum.accumulate(path) - 1).min(), rel=1e-12)


def test_drawdown_depth_and_longest_duration() -> None:
    # Peak 110 then 104, 103, 102 under water for three bars (-7.3 % at worst);
    # later peak 111 then 80 for one bar (-27.9 %): the deepest is not the longest.
    equity = [100.0, 110.0, 104.0, 103.0, 102.0, 111.0, 80.0, 112.0]
    stats = performance(_result(equity), periods_per_year=252)
    assert stats["max_drawdown"] == pytest.approx(80.0 / 111.0 - 1.0, rel=1e-12)
    assert stats["max_drawdown_bars"] == 3


def test_drawdown_counts_from_the_initial_cash_and_to_the_end() -> None:
    stats = performance(_result([95.0, 90.0, 99.0]), periods_per_year=252)
    assert stats["max_drawdown"] == pytest.approx(-0.1, rel=1e-12)
    assert stats["max_drawdown_bars"] == 3


def test_trade_statistics_and_exposure() -> None:
    result = _result(
        [100.0] * 8,
        position=[0, 1, 1, 0, -2, -2, 0, 0],
        pnl=[5.0, -2.0, 3.0, -1.0, 0.0],
        bars_held=[1, 2, 3, 4, 5],
    )
    stats = performance(result, periods_per_year=252)
    assert stats["trades"] == 5
    assert stats["win_rate"] == pytest.approx(2 / 5)  # a zero pnl is not a win
    assert stats["profit_factor"] == pytest.approx(8 / 3)
    assert stats["avg_bars_held"] == pytest.approx(3.0)
    assert stats["exposure"] == pytest.approx(4 / 8)


def test_profit_factor_is_none_without_losses_and_zero_without_wins() -> None:
    assert performance(_result([100.0, 101.0], pnl=[1.0, 2.0]), periods_per_year=252)["profit_factor"] is None
    assert performance(_result([100.0, 99.0], pnl=[-1.0]), periods_per_year=252)["profit_factor"] == 0.0


def test_flat_backtest_gives_json_ready_nones(five_bars: pd.DataFrame) -> None:
    stats = performance(simulate(five_bars, np.zeros(5)), periods_per_year=252)
    assert stats == {
        "total_return": 0.0,
        "annual_return": 0.0,
        "volatility": 0.0,
        "sharpe": None,
        "sortino": None,
        "max_drawdown": 0.0,
        "calmar": None,
        "max_drawdown_bars": 0,
        "win_rate": None,
        "profit_factor": None,
        "expectancy": None,
        "turnover": 0.0,
        "trades": 0,
        "avg_bars_held": None,
        "exposure": 0.0,
        "final_equity": 100_000.0,
    }
    json.dumps(stats, allow_nan=False)


def test_real_backtest_metrics_are_plain_python_and_json_safe(five_bars: pd.DataFrame) -> None:
    result = simulate(five_bars, np.array([1, -1, -1, 0, 1]), costs=CostModel(commission_pct=0.1))
    stats = performance(result, periods_per_year=252)
    json.dumps(stats, allow_nan=False)
    assert all(v is None or type(v) in (int, float) for v in stats.values())
    assert stats["trades"] == 2
    assert stats["exposure"] == pytest.approx(3 / 5)


def test_wiped_out_equity_does_not_leak_infinity() -> None:
    stats = performance(_result([50.0, 0.0, 0.0]), periods_per_year=252)
    assert stats["annual_return"] == -1.0
    assert stats["max_drawdown"] == -1.0
    json.dumps(stats, allow_nan=False)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "252", True])
def test_periods_per_year_argument_is_checked(bad: object) -> None:
    with pytest.raises(BacktestError, match="periods_per_year must be a number > 0"):
        performance(_result([100.0, 101.0]), periods_per_year=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("timeframe", "calendar", "expected"),
    [
        ("1d", "equity", 252.0),
        ("1d", "crypto", 365.0),
        ("1d", "24/7", 365.0),
        ("2d", "equity", 126.0),
        ("1h", "equity", 252 * 6.5),
        ("1h", "crypto", 365 * 24.0),
        ("4h", "crypto", 365 * 6.0),
        ("30m", "equity", 252 * 13.0),
        ("5m", "equity", 252 * 78.0),
        ("1m", "24/7", 365 * 1440.0),
        ("1w", "equity", 52.0),
        ("1w", "crypto", 365 / 7),
    ],
)
def test_periods_per_year(timeframe: str, calendar: str, expected: float) -> None:
    assert periods_per_year(timeframe, calendar=calendar) == pytest.approx(expected, rel=1e-12)


def test_periods_per_year_rejects_unknown_names() -> None:
    with pytest.raises(BacktestError, match=r"unknown calendar 'equities'.*did you mean 'equity'\?"):
        periods_per_year("1d", calendar="equities")
    with pytest.raises(BacktestError, match=r"cannot read timeframe '1 day'; write <count><unit>"):
        periods_per_year("1 day")
    with pytest.raises(BacktestError, match=r"cannot read timeframe '0h'"):
        periods_per_year("0h")
