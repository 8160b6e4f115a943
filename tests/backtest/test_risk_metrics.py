"""Calmar, expectancy, turnover and the deflated Sharpe ratio, by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neurotrade.backtest import buy_and_hold, deflated_sharpe_ratio, performance, simulate
from neurotrade.errors import BacktestError


def _flat_bars(prices: list[float]) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=len(prices), freq="D", tz="UTC", name="time")
    px = np.asarray(prices, dtype=np.float64)
    return pd.DataFrame({"open": px, "high": px, "low": px, "close": px, "volume": 1.0}, index=index)


def test_calmar_expectancy_and_turnover_by_hand() -> None:
    # 10 units bought at 10 (bar 1's open), sold at 9 (the last close): equity 100, 100, 120, 90.
    stats = performance(buy_and_hold(_flat_bars([10.0, 10.0, 12.0, 9.0]), initial_cash=100.0), periods_per_year=252)
    annual = 0.9 ** (252 / 4) - 1.0
    assert stats["calmar"] == pytest.approx(annual / 0.25)
    assert stats["expectancy"] == pytest.approx(-10.0)
    # Traded notional 10 * 10 + 10 * 9 = 190 over a mean equity of 102.5, on 4 bars of a 252-bar year.
    assert stats["turnover"] == pytest.approx(190.0 / 102.5 * 252 / 4)


def test_expectancy_is_the_mean_pnl_over_several_trades() -> None:
    bars = _flat_bars([10.0, 10.0, 11.0, 11.0, 10.0, 12.0])
    result = simulate(bars, np.array([1, 0, 1, 0, 0, 0]), initial_cash=100.0)
    pnl = result.trades["pnl"].to_numpy()
    # 10 units 10 -> 11, then 110 / 11 = 10 units 11 -> 10.
    np.testing.assert_allclose(pnl, [10.0, -10.0])
    result2 = simulate(bars, np.array([1, 0, 0, 0, 1, 0]), initial_cash=100.0)
    # 10 units 10 -> 11, then long from bar 5's open (12) to its close (12): pnl 0.
    np.testing.assert_allclose(result2.trades["pnl"].to_numpy(), [10.0, 0.0])
    assert performance(result, periods_per_year=252)["expectancy"] == pytest.approx(0.0, abs=1e-12)
    assert performance(result2, periods_per_year=252)["expectancy"] == pytest.approx(5.0)


def _dsr_by_hand(returns: np.ndarray, n_trials: int, variance: float) -> float:
    """The paper's formulas written out with math.erf, independently of the implementation."""
    t = returns.size
    mu, sd = returns.mean(), returns.std(ddof=1)
    sr = mu / sd
    z = (returns - mu) / returns.std(ddof=0)
    skew, kurt = float(np.mean(z**3)), float(np.mean(z**4))

    def phi(x: float) -> float:
        return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))

    def phi_inv(p: float) -> float:
        lo, hi = -10.0, 10.0
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if phi(mid) < p else (lo, mid)
        return (lo + hi) / 2

    g = 0.5772156649015329
    sr0 = 0.0
    if n_trials > 1:
        sr0 = math.sqrt(variance) * ((1 - g) * phi_inv(1 - 1 / n_trials) + g * phi_inv(1 - 1 / (n_trials * math.e)))
    return phi((sr - sr0) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2))


def test_deflated_sharpe_ratio_matches_the_formula() -> None:
    rng = np.random.default_rng(5)
    # Skewed, fat-tailed returns so that the skew and kurtosis terms matter.
    returns = 0.002 + 0.01 * rng.standard_t(5, 750) + 0.004 * rng.exponential(1.0, 750)
    for n_trials in (1, 10, 1_000):
        expected = _dsr_by_hand(returns, n_trials, 1.0 / (returns.size - 1))
        assert deflated_sharpe_ratio(returns, n_trials) == pytest.approx(expected, abs=1e-9)
    assert deflated_sharpe_ratio(pd.Series(returns), 50, sharpe_variance=0.01) == pytest.approx(
        _dsr_by_hand(returns, 50, 0.01), abs=1e-9
    )


def test_more_trials_and_more_dispersed_trials_deflate_more() -> None:
    returns = np.random.default_rng(2).normal(0.001, 0.01, 500)
    values = [deflated_sharpe_ratio(returns, n) for n in (1, 2, 10, 100, 10_000)]
    assert values == sorted(values, reverse=True)
    assert deflated_sharpe_ratio(returns, 10, sharpe_variance=0.01) < deflated_sharpe_ratio(
        returns, 10, sharpe_variance=0.0001
    )
    # With no dispersion among the trials the benchmark is 0: the probabilistic Sharpe ratio.
    assert deflated_sharpe_ratio(returns, 10, sharpe_variance=0.0) == pytest.approx(deflated_sharpe_ratio(returns, 1))


@pytest.mark.parametrize(
    ("returns", "n_trials", "message"),
    [
        (np.array([0.01, 0.02, -0.01]), 0, "n_trials must be an integer >= 1"),
        (np.array([0.01, 0.02]), 5, "at least 3 values"),
        (np.array([np.nan, 0.01, 0.02, 0.0]), 5, r"position 0 is nan; drop the leading NaN"),
        (np.full(10, 0.01), 5, "returns do not vary"),
    ],
)
def test_deflated_sharpe_ratio_errors(returns: np.ndarray, n_trials: int, message: str) -> None:
    with pytest.raises(BacktestError, match=message):
        deflated_sharpe_ratio(returns, n_trials)
