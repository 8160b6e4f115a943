"""What a backtest returns."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from neurotrade.backtest._costs import CostModel

__all__ = ["BacktestResult"]


# eq=False: comparing frames with == is element-wise and has no single truth value.
@dataclass(frozen=True, eq=False)
class BacktestResult:
    """The outcome of :func:`~neurotrade.backtest.simulate`.

    Attributes
    ----------
    equity
        Cash plus positions marked at each bar's close, indexed like the bars. Before the first
        fill it is ``initial_cash``. The last value is the cash left after closing any open
        position at the last close, with its costs.
    position
        Units held at each bar's close, after that bar's fills: > 0 long, < 0 short, 0 flat. The
        last value is the position held into the last close, before the closing at the end of data.
    trades
        One row per round trip: ``entry_time, exit_time, side ('long'/'short'), entry_price,
        exit_price`` (fill prices including slippage), ``quantity`` (units, > 0), ``pnl`` (cash, after
        commission and slippage), ``return_pct`` (pnl in percent of the capital committed at entry:
        notional plus entry commission), ``bars_held`` (bar closes the position was held over),
        ``costs`` (cash: both commissions plus the slippage paid on both fills, so
        ``pnl + costs`` is the gross result at unslipped prices), ``closed_at_end`` (True when the
        position was still open at the last bar and closed at its close by the backtest).
    fills
        One row per fill in time order: ``time, side ('buy'/'sell'), price`` (including slippage),
        ``quantity`` (> 0), ``commission`` (cash), ``closed_at_end``. A reversal is two fills at the same
        time: the closing fill first, then the opening one, each paying its own commission.
    initial_cash
        The cash the backtest started with.
    fill
        ``"next_open"`` or ``"same_close"``.
    costs
        The cost model applied.
    """

    equity: pd.Series
    position: pd.Series
    trades: pd.DataFrame
    fills: pd.DataFrame
    initial_cash: float
    fill: str
    costs: CostModel
