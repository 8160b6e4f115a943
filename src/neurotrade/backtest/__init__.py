"""Backtests: follow a target position over OHLCV bars with next-bar fills, costs and metrics.

The backtester knows nothing of models: it takes bars and the position wanted at each bar's close.
"""

from __future__ import annotations

from neurotrade.backtest._chain import chain, chain_portfolios
from neurotrade.backtest._costs import CostModel
from neurotrade.backtest._exits import ExitTracker
from neurotrade.backtest._metrics import deflated_sharpe_ratio, observed_periods_per_year, performance, periods_per_year
from neurotrade.backtest._portfolio import simulate_portfolio
from neurotrade.backtest._result import BacktestResult, PortfolioResult
from neurotrade.backtest._selection import top_k_targets
from neurotrade.backtest._simulate import atr_for_stops, buy_and_hold, simulate

__all__ = [
    "BacktestResult",
    "CostModel",
    "ExitTracker",
    "PortfolioResult",
    "atr_for_stops",
    "buy_and_hold",
    "chain",
    "chain_portfolios",
    "deflated_sharpe_ratio",
    "observed_periods_per_year",
    "performance",
    "periods_per_year",
    "simulate",
    "simulate_portfolio",
    "top_k_targets",
]
