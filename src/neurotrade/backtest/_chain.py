"""Chaining backtests of consecutive windows into one, as if the equity carried over from each to the next."""

from __future__ import annotations

import itertools

import pandas as pd

from neurotrade.backtest._result import BacktestResult, PortfolioResult
from neurotrade.errors import BacktestError

__all__ = ["chain", "chain_portfolios"]


def chain(results: list[BacktestResult]) -> BacktestResult:
    """One backtest from consecutive ones: each window starts with the equity the previous one ended with.

    Each window was simulated from ``initial_cash``, flat at its start and closed at its end; chaining rescales
    window k's equity, positions, trades and fills by the growth of the windows before it, so compounding runs
    across the windows (a walk-forward's out-of-sample path).

    A window that ends with no equity (<= 0: ruined by a margin call) ends the chain's trading: there is no
    capital left to trade the later windows with, so their trades and fills are dropped, their positions are 0
    and the equity stays at the ruined window's last value over their bars (never a later window's equity
    times a negative growth, which would flip its sign).

    Examples
    --------
    >>> import numpy as np
    >>> from neurotrade.backtest import buy_and_hold
    >>> from neurotrade.data import synthetic_ohlcv
    >>> bars = synthetic_ohlcv(200, seed=3)
    >>> a, b = buy_and_hold(bars.iloc[:100]), buy_and_hold(bars.iloc[100:])
    >>> whole = chain([a, b])
    >>> bool(np.isclose(whole.equity.iloc[-1], a.equity.iloc[-1] * b.equity.iloc[-1] / b.initial_cash))
    True

    A first window that ended ruined, at -5 (as after a margin call), leaves the second untraded at -5:

    >>> from dataclasses import replace
    >>> ruined = replace(a, equity=a.equity * 0.0 - 5.0)
    >>> whole = chain([ruined, b])
    >>> later = whole.equity.index >= b.equity.index[0]
    >>> set(whole.equity[later]), float(whole.position[later].abs().sum()), len(whole.trades)  # a's trade only
    ({-5.0}, 0.0, 1)
    """
    if not results:
        raise BacktestError("nothing to chain: give at least one backtest")
    first = results[0]
    for previous, current in itertools.pairwise(results):
        if current.equity.index[0] <= previous.equity.index[-1]:
            raise BacktestError("chained backtests must cover consecutive, non-overlapping windows in time order")
        if current.initial_cash != first.initial_cash:
            raise BacktestError("chained backtests must start from the same initial cash")
    equity, position, trades, fills = [], [], [], []
    growth = 1.0
    for result in results:
        if growth <= 0.0:
            # Ruined before this window: nothing traded, the equity held at the value it was ruined with.
            left = float(equity[-1].iloc[-1])
            equity.append(pd.Series(left, index=result.equity.index, name=result.equity.name))
            position.append(pd.Series(0.0, index=result.position.index, name=result.position.name))
            continue
        equity.append(result.equity * growth)
        position.append(result.position * growth)
        scaled_trades = result.trades.copy()
        for column in ("quantity", "pnl", "costs"):
            scaled_trades[column] = scaled_trades[column] * growth
        trades.append(scaled_trades)
        scaled_fills = result.fills.copy()
        for column in ("quantity", "commission"):
            scaled_fills[column] = scaled_fills[column] * growth
        fills.append(scaled_fills)
        growth *= float(result.equity.iloc[-1]) / result.initial_cash
    return BacktestResult(
        equity=pd.concat(equity),
        position=pd.concat(position),
        trades=pd.concat(trades, ignore_index=True),
        fills=pd.concat(fills, ignore_index=True),
        initial_cash=first.initial_cash,
        fill=first.fill,
        costs=first.costs,
    )


def chain_portfolios(results: list[PortfolioResult]) -> PortfolioResult:
    """One shared-cash portfolio from consecutive ones, as :func:`chain` does for one symbol: each window starts
    flat with the equity the previous one ended with (its equity, cash, positions, trades and fills rescaled by
    the growth of the windows before it); a window ending with no equity leaves the later ones untraded.

    Examples
    --------
    >>> from neurotrade.backtest import simulate_portfolio
    >>> from neurotrade.data import synthetic_ohlcv
    >>> bars = synthetic_ohlcv(200, seed=3)
    >>> def hold(part):
    ...     return simulate_portfolio({"A": part}, {"A": pd.Series(1, index=part.index)}, fraction=1.0)
    >>> a, b = hold(bars.iloc[:100]), hold(bars.iloc[100:])
    >>> whole = chain_portfolios([a, b])
    >>> round(float(whole.equity.iloc[-1]), 6) == round(float(a.equity.iloc[-1] * b.equity.iloc[-1] / 1e5), 6)
    True
    """
    if not results:
        raise BacktestError("nothing to chain: give at least one portfolio backtest")
    first = results[0]
    for previous, current in itertools.pairwise(results):
        if current.equity.index[0] <= previous.equity.index[-1]:
            raise BacktestError("chained portfolios must cover consecutive, non-overlapping windows in time order")
        if current.initial_cash != first.initial_cash or list(current.positions.columns) != list(
            first.positions.columns
        ):
            raise BacktestError("chained portfolios must start from the same initial cash, with the same symbols")
    equity, cash, positions, trades, fills = [], [], [], [], []
    growth = 1.0
    for result in results:
        if growth <= 0.0:
            left = float(equity[-1].iloc[-1])
            equity.append(pd.Series(left, index=result.equity.index, name=result.equity.name))
            cash.append(pd.Series(left, index=result.cash.index, name=result.cash.name))
            positions.append(result.positions * 0.0)
            continue
        equity.append(result.equity * growth)
        cash.append(result.cash * growth)
        positions.append(result.positions * growth)
        scaled_trades = result.trades.copy()
        for column in ("quantity", "pnl", "costs"):
            scaled_trades[column] = scaled_trades[column] * growth
        trades.append(scaled_trades)
        scaled_fills = result.fills.copy()
        for column in ("quantity", "commission"):
            scaled_fills[column] = scaled_fills[column] * growth
        fills.append(scaled_fills)
        growth *= float(result.equity.iloc[-1]) / result.initial_cash
    return PortfolioResult(
        equity=pd.concat(equity),
        cash=pd.concat(cash),
        positions=pd.concat(positions),
        trades=pd.concat(trades, ignore_index=True),
        fills=pd.concat(fills, ignore_index=True),
        initial_cash=first.initial_cash,
        fill=first.fill,
        costs=first.costs,
    )
