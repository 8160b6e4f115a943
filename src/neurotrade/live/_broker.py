"""What a broker is to the paper loop: target orders in at a bar's close, fills out as the market moves.

The loop's contract with any broker (the paper one here, a real one later):

- :meth:`Broker.on_bar` is called when a bar of the traded symbols has closed, before the engine decides on it:
  the broker reports what happened in that bar (the orders of the previous close filled at its open, stops hit
  inside it) and values the account at its close;
- :meth:`Broker.submit` is called with the positions the engine wants after that close: an order for each symbol
  whose target differs from what is held, to be filled at the next bar's open.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class TargetOrder:
    """The position wanted in one symbol after a bar's close, with what the backtest reads beside it.

    Attributes
    ----------
    target
        -1 short, 0 flat, +1 long.
    size
        The share of the equity an entry on it takes (one symbol: of the whole equity, above 1 is leverage; a
        portfolio: a multiple of its position fraction); 0 opens nothing.
    atr_distance
        The ATR stop's distance in price for an entry on it (NaN: none), fixed by this decision's bar.
    """

    target: int
    size: float = 1.0
    atr_distance: float = math.nan


@dataclass(frozen=True)
class Order:
    """An order the broker was given: a target that differed from the position held at a bar's close.

    Attributes
    ----------
    time
        The close it was decided at (the bar's open time, as bars are labelled).
    symbol
        What it is for.
    target, size
        As :class:`TargetOrder`.
    status
        ``pending`` until the symbol's next bar opens, then ``filled`` (the position became the target) or
        ``unfilled`` (see ``note``).
    filled_at
        The bar whose open it was settled at.
    note
        Why an order was not filled: a stopped side waiting for the target to change, no size, no free cash, a
        ruined account.
    """

    time: pd.Timestamp
    symbol: str
    target: int
    size: float
    status: str = "pending"
    filled_at: pd.Timestamp | None = None
    note: str = ""


@dataclass(frozen=True)
class Fill:
    """One execution, as the backtest's ``fills`` table has it.

    Attributes
    ----------
    time
        The bar it happened in.
    symbol
        What was traded.
    side
        ``buy`` or ``sell``.
    price
        The fill price, slippage included.
    quantity
        Units, > 0.
    commission
        Cash paid for it.
    closed_at_end
        True only for the closing fills of a session's results (the backtest's close at the end of the data).
    """

    time: pd.Timestamp
    symbol: str
    side: str
    price: float
    quantity: float
    commission: float
    closed_at_end: bool = False


@dataclass(frozen=True)
class Trade:
    """One round trip, closed, as the backtest's ``trades`` table has it (see
    :class:`~neurotrade.backtest.BacktestResult`)."""

    symbol: str
    entry_time: pd.Timestamp
    exit_time: pd.Timestamp
    side: str
    entry_price: float
    exit_price: float
    quantity: float
    pnl: float
    return_pct: float
    bars_held: int
    costs: float
    closed_at_end: bool
    exit_reason: str


@dataclass
class BarEvents:
    """What one bar did to an account: its fills, the trades they closed, the orders they settled, and the
    account's value at the bar's close.

    Attributes
    ----------
    bar
        The account's bar number (0 for the first bar it trades).
    equity, cash
        At the close, positions marked at it.
    positions
        Units held per symbol at the close (signed).
    """

    bar: int
    equity: float
    cash: float
    positions: dict[str, float]
    fills: list[Fill] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)


class Broker(abc.ABC):
    """Where orders go and fills come from. :class:`~neurotrade.live.PaperBroker` simulates one with the
    backtest's own fill and cost model; a real broker's adapter implements the same four members."""

    @abc.abstractmethod
    def on_bar(self, time: pd.Timestamp, bars: Mapping[str, Mapping[str, float]]) -> BarEvents:
        """A bar has closed (``bars``: symbol -> its ``open, high, low, close``, for the symbols that have one):
        settle the orders of the previous close at its open, run the stops through it, value the account."""

    @abc.abstractmethod
    def submit(self, time: pd.Timestamp, orders: Mapping[str, TargetOrder]) -> list[Order]:
        """The positions wanted after the close of ``time``; returns the orders this makes (targets that differ
        from what is held), to be filled at each symbol's next open."""

    @property
    @abc.abstractmethod
    def cash(self) -> float:
        """Cash now (short sales' proceeds included)."""

    @property
    @abc.abstractmethod
    def positions(self) -> dict[str, float]:
        """Units held per symbol now (signed)."""
