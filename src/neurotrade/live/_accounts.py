"""The paper broker's books: the backtest kernels' order of events, one bar at a time, with their own arithmetic.

:class:`SymbolAccount` replays :func:`~neurotrade.backtest._kernel.simulate_target_kernel` with ``fill="next_open"``
(a margin call at the open, then the previous close's target filled at the open, then the stops and the margin
call over the rest of the bar); :class:`PortfolioAccount` replays ``simulate_portfolio``'s kernel (exits at each
symbol's open first, then entries sized on the equity at the open, within the free cash). Both call the kernels'
own fill, stop and margin functions (numba), so a price, a quantity or a commission cannot differ from the
backtest's; the little arithmetic between them (equity at the close, the portfolio's budget) is written in the
kernel's order of operations. Their whole state is plain numbers (:meth:`state`), committed after every bar.

A paper session never ends the way a backtest does: :meth:`closing` says what the backtest would book at the end
of the data (everything still open closed at its last close, with costs) without touching the books.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from neurotrade.backtest import CostModel
from neurotrade.backtest._kernel import (
    EXIT_END,
    EXIT_REASONS,
    EXIT_SIGNAL,
    _after_exit,
    _exit_in_bar,
    _margin_at_open,
    allocate_books,
    close_position,
    open_position,
)
from neurotrade.live._broker import Fill, Trade

_SIDES = {1: "long", -1: "short"}


class _Books:
    """The kernel's fill functions write one fill (and one trade) into arrays; this reads them back as records."""

    def __init__(self, costs: CostModel) -> None:
        self.fills, self.trades = allocate_books(1, 1)
        # float() as simulate passes them to the kernel, so the arithmetic is the same to the last bit.
        self.rates = (float(costs.commission_rate), float(costs.commission_fixed), float(costs.slippage_rate))

    def close(self, symbol: str, time: pd.Timestamp, bar: int, base: float, held: dict[str, Any], reason: int,
              ) -> tuple[float, Fill, Trade]:  # fmt: skip
        """Close ``held`` (a position's state) at market price ``base``: the cash it brings, its fill and trade."""
        rate, fixed, slip = self.rates
        delta = close_position(
            self.fills, self.trades, 0, 0, 0, bar, base, held["side"], held["units"], held["entry_bar"],
            held["entry_price"], held["entry_comm"], held["entry_slip"], rate, fixed, slip, reason,
        )  # fmt: skip
        _, f_side, f_price, f_qty, f_comm, f_at_end, _ = self.fills
        at_end = bool(f_at_end[0])
        fill = Fill(time, symbol, "buy" if f_side[0] > 0 else "sell", float(f_price[0]), float(f_qty[0]),
                    float(f_comm[0]), at_end)  # fmt: skip
        _, exit_bar, side, entry_price, exit_price, qty, pnl, ret, costs, _, code, _ = (a[0] for a in self.trades)
        trade = Trade(
            symbol, pd.Timestamp(held["entry_time"]), time, _SIDES[int(side)], float(entry_price), float(exit_price),
            float(qty), float(pnl), float(ret), int(exit_bar) - held["entry_bar"] + int(at_end), float(costs), at_end,
            EXIT_REASONS[int(code)],
        )  # fmt: skip
        return float(delta), fill, trade

    def open(self, symbol: str, time: pd.Timestamp, bar: int, base: float, desired: int, budget: float,
             ) -> tuple[float, float, float, float, float, Fill | None]:  # fmt: skip
        """Open ``desired`` with ``budget``: ``(units, cash delta, price, commission, slippage cash, fill)``; no
        fill (and 0 units) when the budget cannot pay the fixed commission."""
        rate, fixed, slip = self.rates
        units, delta, price, comm, slip_cash = open_position(self.fills, 0, 0, bar, base, desired, budget, rate, fixed,
                                                             slip)  # fmt: skip
        if units == 0.0:
            return 0.0, 0.0, float(price), 0.0, 0.0, None
        fill = Fill(time, symbol, "buy" if desired > 0 else "sell", float(price), float(self.fills[3][0]), float(comm))
        return float(units), float(delta), float(price), float(comm), float(slip_cash), fill


def _flat() -> dict[str, Any]:
    """A symbol's position state when nothing is held."""
    return {"side": 0, "units": 0.0, "entry_bar": -1, "entry_time": None, "entry_price": 0.0, "entry_ref": 0.0,
            "entry_comm": 0.0, "entry_slip": 0.0, "best": 0.0, "entry_atr": math.nan}  # fmt: skip


class SymbolAccount:
    """One symbol traded with the whole equity, stops and margin calls: ``simulate`` bar by bar (``next_open``).

    Parameters
    ----------
    symbol
        What it trades.
    costs, initial_cash
        As the backtest's.
    stop_loss_pct, take_profit_pct, trailing_stop_pct, atr_stop_multiple
        As the backtest's (None for none).

    Examples
    --------
    >>> account = SymbolAccount("A", CostModel(), 1_000.0)
    >>> t = pd.date_range("2024-01-01", periods=3, tz="UTC")
    >>> account.on_bar(t[0], 100.0, 100.0, 100.0, 100.0)[0]
    1000.0
    >>> account.pending = (1, 1.0, math.nan)  # long with all the equity, from the next open
    >>> equity, fills, trades = account.on_bar(t[1], 100.0, 110.0, 100.0, 110.0)
    >>> equity, [(f.side, f.quantity) for f in fills]
    (1100.0, [('buy', 10.0)])
    """

    def __init__(
        self,
        symbol: str,
        costs: CostModel,
        initial_cash: float,
        *,
        stop_loss_pct: float | None = None,
        take_profit_pct: float | None = None,
        trailing_stop_pct: float | None = None,
        atr_stop_multiple: float | None = None,
    ) -> None:
        self.symbol = symbol
        self._books = _Books(costs)
        self.initial_cash = float(initial_cash)
        self.stop_loss = (stop_loss_pct or 0.0) / 100.0
        self.take_profit = (take_profit_pct or 0.0) / 100.0
        self.trailing = (trailing_stop_pct or 0.0) / 100.0
        self.stops_on = bool(self.stop_loss or self.take_profit or self.trailing or atr_stop_multiple is not None)
        self.cash = self.initial_cash
        self.held = _flat()
        self.blocked = 0  # the side a stop (or margin call) closed, until the target moves off it
        self.ruined = False
        self.bars = 0  # bars traded so far: the next bar's number
        #: The previous close's decision, ``(target, size, atr_distance)``, filled at the next open.
        self.pending: tuple[int, float, float] | None = None
        self.last_close = math.nan
        self.last_time: pd.Timestamp | None = None

    @property
    def side(self) -> int:
        return int(self.held["side"])

    @property
    def units(self) -> float:
        return float(self.held["units"])

    def on_bar(self, time: pd.Timestamp, open_: float, high: float, low: float, close: float,
               ) -> tuple[float, list[Fill], list[Trade]]:  # fmt: skip
        """One bar: ``(equity at its close, fills, trades closed)``, in the kernel's order of events."""
        # Floats, as simulate hands the kernel: an int here would have numba compile (and round) another way.
        open_, high, low, close = float(open_), float(high), float(low), float(close)
        i = self.bars
        fills: list[Fill] = []
        trades: list[Trade] = []
        # 1. A margin call at the open comes before the fill of the previous close's decision.
        if self.side != 0:
            reason, base = _margin_at_open(self.side, open_, self.cash, self.units)
            if reason >= 0:
                self._close(int(reason), float(base), i, time, fills, trades, block=True)
        held_before = self.side != 0
        # 2. The previous close's decision fills at this open.
        if self.pending is not None:
            desired, size, distance = self.pending
            if self.blocked != 0:
                if desired == self.blocked:
                    desired = 0
                else:
                    self.blocked = 0
            if desired != self.side and self.side != 0:
                self._close(EXIT_SIGNAL, open_, i, time, fills, trades, block=False)
            if desired != self.side and size > 0.0 and not self.ruined:
                # Flat here, so equity is cash. A size above 1 spends more than the cash: a margin loan.
                units, delta, price, comm, slip, fill = self._books.open(self.symbol, time, i, open_, desired,
                                                                         size * self.cash)  # fmt: skip
                if fill is not None:
                    self.cash += delta
                    self.held = {"side": desired, "units": units, "entry_bar": i, "entry_time": time.isoformat(),
                                 "entry_price": price, "entry_ref": open_, "entry_comm": comm, "entry_slip": slip,
                                 "best": open_, "entry_atr": distance}  # fmt: skip
                    fills.append(fill)
        # 3. The stops and the margin call over the rest of the bar; a gap through a stop at the open only
        #    concerns a position held from before it.
        if self.side != 0:
            h = self.held
            check_open = held_before and h["entry_bar"] < i
            reason, level = _exit_in_bar(
                self.side, open_, high, low, self.cash, self.units, self.stops_on, h["entry_ref"], h["best"],
                check_open, self.stop_loss, self.take_profit, self.trailing, h["entry_atr"],
            )  # fmt: skip
            if reason >= 0:
                self._close(int(reason), float(level), i, time, fills, trades, block=True)
            else:
                h["best"] = max(h["best"], high) if self.side > 0 else min(h["best"], low)
        self.bars += 1
        self.last_close = close
        self.last_time = time
        return self.cash + self.units * close, fills, trades

    def _close(self, reason: int, base: float, bar: int, time: pd.Timestamp, fills: list[Fill], trades: list[Trade],
               *, block: bool) -> None:  # fmt: skip
        delta, fill, trade = self._books.close(self.symbol, time, bar, base, self.held, reason)
        if block:  # a stop or margin call: the target must move off this side before it is taken again
            self.blocked = self.side
        self.cash, self.ruined = _after_exit(self.cash + delta, reason, self.ruined)
        self.held = _flat()
        fills.append(fill)
        trades.append(trade)

    def closing(self) -> tuple[float, list[Fill], list[Trade]]:
        """What the backtest books at the end of the data: the position still open closed at the last close, with
        costs. ``(the cash then, its fill, its trade)``; the books are left as they are."""
        if self.side == 0 or self.last_time is None:
            return self.cash, [], []
        delta, fill, trade = self._books.close(self.symbol, self.last_time, self.bars - 1, self.last_close, self.held,
                                               EXIT_END)  # fmt: skip
        return self.cash + delta, [fill], [trade]

    def state(self) -> dict[str, Any]:
        """Everything needed to go on from here, as plain JSON-able values."""
        return {"cash": self.cash, "held": dict(self.held), "blocked": self.blocked, "ruined": self.ruined,
                "bars": self.bars, "pending": None if self.pending is None else list(self.pending),
                "last_close": self.last_close,
                "last_time": None if self.last_time is None else self.last_time.isoformat()}  # fmt: skip

    def restore(self, state: Mapping[str, Any]) -> None:
        """Go on from a :meth:`state`."""
        self.cash = float(state["cash"])
        self.held = dict(state["held"])
        self.blocked = int(state["blocked"])
        self.ruined = bool(state["ruined"])
        self.bars = int(state["bars"])
        pending = state["pending"]
        self.pending = None if pending is None else (int(pending[0]), float(pending[1]), float(pending[2]))
        self.last_close = float(state["last_close"])
        self.last_time = None if state["last_time"] is None else pd.Timestamp(state["last_time"])


class PortfolioAccount:
    """Several symbols out of one cash account, each new position a fraction of the total equity within the free
    cash: ``simulate_portfolio`` bar by bar over the portfolio's time axis.

    Parameters
    ----------
    symbols
        The universe, in the order the backtest funds exits and entries.
    costs, initial_cash
        As the backtest's.
    fraction
        The share of the total equity a new position takes (times its size).

    Examples
    --------
    >>> account = PortfolioAccount(["A", "B"], CostModel(), 1_000.0, fraction=0.5)
    >>> t = pd.date_range("2024-01-01", periods=2, tz="UTC")
    >>> account.on_bar(t[0], {"A": (10.0, 10.0), "B": (20.0, 20.0)})[0]
    1000.0
    >>> account.decided = {"A": (1, 1.0), "B": (1, 1.0)}
    >>> equity, fills, _ = account.on_bar(t[1], {"A": (10.0, 12.0), "B": (20.0, 18.0)})
    >>> equity, [(f.symbol, f.quantity) for f in fills]
    (1050.0, [('A', 50.0), ('B', 25.0)])
    """

    def __init__(self, symbols: list[str], costs: CostModel, initial_cash: float, *, fraction: float) -> None:
        self.symbols = list(symbols)
        self._books = _Books(costs)
        self.initial_cash = float(initial_cash)
        self.fraction = float(fraction)
        self.cash = self.initial_cash
        self.held = {s: _flat() for s in self.symbols}
        self.bars = 0
        #: Each symbol's last bar on the portfolio's axis (-1 before its first), its close and time there.
        self.last = dict.fromkeys(self.symbols, -1)
        self.mark = dict.fromkeys(self.symbols, 0.0)
        self.last_time: dict[str, str | None] = dict.fromkeys(self.symbols, None)
        #: The target and size decided at each symbol's last bar: what its next bar's open fills.
        self.decided: dict[str, tuple[int, float]] = {}
        #: Entries that waited for free cash at the last open (the backtest counts them too).
        self.waited: list[str] = []

    def on_bar(self, time: pd.Timestamp, bars: Mapping[str, tuple[float, float]],
               ) -> tuple[float, list[Fill], list[Trade]]:  # fmt: skip
        """One time of the portfolio (``bars``: symbol -> ``(open, close)`` of those with a bar then):
        ``(equity at the close, fills, trades closed)``."""
        i = self.bars
        bars = {s: (float(o), float(c)) for s, (o, c) in bars.items()}
        fills: list[Fill] = []
        trades: list[Trade] = []
        self.waited = []
        if i > 0:
            rate, fixed, _ = self._books.rates
            for s in self.symbols:  # exits first, so the cash they free can fund the entries
                h = self.held[s]
                if h["side"] == 0 or s not in bars:
                    continue
                if self.decided[s][0] != h["side"]:
                    delta, fill, trade = self._books.close(s, time, i, bars[s][0], h, EXIT_SIGNAL)
                    self.cash += delta
                    self.held[s] = _flat()
                    fills.append(fill)
                    trades.append(trade)
            total = self.cash
            free = self.cash
            for s in self.symbols:
                value = self.held[s]["units"] * (bars[s][0] if s in bars else self.mark[s])
                total += value
                if value < 0.0:
                    free += 2.0 * value  # a short is held against twice its value
            for s in self.symbols:
                if self.held[s]["side"] != 0 or s not in bars or self.last[s] < 0:
                    continue
                desired, size = self.decided[s]
                if desired == 0 or not size > 0.0:
                    continue
                budget = min(self.fraction * size * total, free)
                units, delta, price, comm, slip, fill = self._books.open(s, time, i, bars[s][0], desired, budget)
                # An entry must pay for its own exit: one whose notional is below the exit's fixed fee waits.
                if fill is None or abs(units) * price * (1.0 - rate) < fixed:
                    self.waited.append(s)
                    continue
                self.cash += delta
                free -= abs(units) * price + comm
                self.held[s] = {"side": desired, "units": units, "entry_bar": i, "entry_time": time.isoformat(),
                                "entry_price": price, "entry_ref": bars[s][0], "entry_comm": comm,
                                "entry_slip": slip, "best": 0.0, "entry_atr": math.nan}  # fmt: skip
                fills.append(fill)
        value = self.cash
        for s in self.symbols:
            if s in bars:
                self.last[s] = i
                self.mark[s] = bars[s][1]
                self.last_time[s] = time.isoformat()
            value += self.held[s]["units"] * self.mark[s]
        self.bars += 1
        return (self.initial_cash if i == 0 else value), fills, trades

    @property
    def positions(self) -> dict[str, float]:
        return {s: float(self.held[s]["units"]) for s in self.symbols}

    def closing(self) -> tuple[float, list[Fill], list[Trade]]:
        """What the backtest books at the end of the data: every open position closed at its symbol's last close,
        with costs, in the universe's order. ``(the cash then, the fills, the trades)``; the books stay as they are."""
        cash = self.cash
        fills: list[Fill] = []
        trades: list[Trade] = []
        for s in self.symbols:
            h = self.held[s]
            if h["side"] == 0:
                continue
            when = pd.Timestamp(self.last_time[s])
            delta, fill, trade = self._books.close(s, when, self.last[s], self.mark[s], h, EXIT_END)
            cash += delta
            fills.append(fill)
            trades.append(trade)
        return cash, fills, trades

    def state(self) -> dict[str, Any]:
        """Everything needed to go on from here, as plain JSON-able values."""
        return {"cash": self.cash, "held": {s: dict(h) for s, h in self.held.items()}, "bars": self.bars,
                "last": dict(self.last), "mark": dict(self.mark), "last_time": dict(self.last_time),
                "decided": {s: list(v) for s, v in self.decided.items()}}  # fmt: skip

    def restore(self, state: Mapping[str, Any]) -> None:
        """Go on from a :meth:`state`."""
        self.cash = float(state["cash"])
        self.held = {s: dict(state["held"][s]) for s in self.symbols}
        self.bars = int(state["bars"])
        self.last = {s: int(state["last"][s]) for s in self.symbols}
        self.mark = {s: float(state["mark"][s]) for s in self.symbols}
        self.last_time = {s: state["last_time"][s] for s in self.symbols}
        self.decided = {s: (int(v[0]), float(v[1])) for s, v in state["decided"].items()}
