"""The paper broker: the backtest's fills and costs on a simulated account, with an order journal beside them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from neurotrade.backtest import CostModel
from neurotrade.config import Strategy
from neurotrade.errors import BacktestError
from neurotrade.live._accounts import PortfolioAccount, SymbolAccount
from neurotrade.live._broker import BarEvents, Broker, Fill, Order, TargetOrder, Trade


class PaperBroker(Broker):
    """A simulated broker that fills exactly as the backtest does.

    One symbol trades like :func:`neurotrade.backtest.simulate` (``fill="next_open"``: the target decided at a
    bar's close fills at the next bar's open with commission and slippage; each entry takes its size of the
    equity; stop loss, take profit, trailing and ATR stops and margin calls inside the bar). A universe trades
    like :func:`neurotrade.backtest.simulate_portfolio` (one cash account; each entry a fraction of the total
    equity times its size, within the free cash). Use :meth:`for_strategy` to take every number from a spec.

    Parameters
    ----------
    symbols
        One symbol, or a universe's symbols in its order (a universe's account is used for more than one, or
        when ``fraction`` is given).
    costs, initial_cash
        The backtest's cost model and starting cash.
    fraction
        A universe's position fraction (:func:`neurotrade._universe.position_fraction`); None for one symbol.
    stops
        One symbol's ``stop_loss_pct``, ``take_profit_pct``, ``trailing_stop_pct``, ``atr_stop_multiple``.

    Examples
    --------
    >>> broker = PaperBroker(["A"], CostModel(commission_pct=0.1), 10_000.0)
    >>> t = pd.date_range("2024-01-01", periods=3, tz="UTC")
    >>> bar = {"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0}
    >>> broker.on_bar(t[0], {"A": bar}).equity
    10000.0
    >>> [o.status for o in broker.submit(t[0], {"A": TargetOrder(1, 1.0)})]
    ['pending']
    >>> events = broker.on_bar(t[1], {"A": bar})
    >>> [(o.status, o.filled_at.day) for o in events.orders], [f.side for f in events.fills]
    ([('filled', 2)], ['buy'])
    """

    def __init__(
        self,
        symbols: list[str],
        costs: CostModel,
        initial_cash: float,
        *,
        fraction: float | None = None,
        **stops: float | None,
    ) -> None:
        self.symbols = list(symbols)
        self.universe = fraction is not None
        self._config = {"symbols": self.symbols, "costs": [costs.commission_pct, costs.commission_fixed,
                        costs.slippage_pct], "initial_cash": float(initial_cash), "fraction": fraction,
                        "stops": dict(stops)}  # fmt: skip
        self.account: SymbolAccount | PortfolioAccount
        if self.universe:
            if stops and any(v is not None for v in stops.values()):
                raise BacktestError("a universe's portfolio has no stops (its spec refuses them); give none")
            self.account = PortfolioAccount(self.symbols, costs, initial_cash, fraction=float(fraction))  # type: ignore[arg-type]
        else:
            if len(self.symbols) != 1:
                raise BacktestError(f"one symbol's account trades one symbol, got {self.symbols}; give fraction= "
                                    "to trade several as one portfolio")  # fmt: skip
            self.account = SymbolAccount(self.symbols[0], costs, initial_cash, **stops)
        self.orders: dict[str, Order] = {}  # each symbol's order waiting for its next open
        self._equity = float(initial_cash)

    @classmethod
    def for_strategy(cls, spec: Strategy, symbols: list[str], *, universe: bool) -> PaperBroker:
        """The broker ``neurotrade backtest`` would be for ``spec``: its ``backtest`` section's costs, cash and
        stops; a universe's position fraction over ``symbols``."""
        bt = spec.backtest
        if bt.fill != "next_open":
            raise BacktestError(
                f"{spec.name}'s backtest.fill is {bt.fill!r}: a fill at the very close that decided it cannot be "
                "executed live; paper trading fills at the next open. Set backtest.fill: next_open (and backtest "
                "again to see what that changes)"
            )
        costs = CostModel(bt.commission_pct, bt.commission_fixed, bt.slippage_pct)
        if universe:
            from neurotrade._universe import position_fraction

            return cls(symbols, costs, bt.initial_cash, fraction=position_fraction(spec, len(symbols)))
        return cls(
            symbols,
            costs,
            bt.initial_cash,
            stop_loss_pct=bt.stop_loss_pct,
            take_profit_pct=bt.take_profit_pct,
            trailing_stop_pct=bt.trailing_stop_pct,
            atr_stop_multiple=bt.atr_stop.multiple if bt.atr_stop is not None else None,
        )

    def config(self) -> dict[str, Any]:
        """What the broker was built with, as JSON-able values (:meth:`from_config` builds it again)."""
        return dict(self._config)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PaperBroker:
        """A broker built as :meth:`config` says, flat (:meth:`restore` its state next)."""
        commission_pct, commission_fixed, slippage_pct = config["costs"]
        return cls(list(config["symbols"]), CostModel(commission_pct, commission_fixed, slippage_pct),
                   config["initial_cash"], fraction=config["fraction"], **config["stops"])  # fmt: skip

    # --- the Broker interface --------------------------------------------------------------------------------------

    def on_bar(self, time: pd.Timestamp, bars: Mapping[str, Mapping[str, float]]) -> BarEvents:
        """Settle the previous close's orders at this bar's open, run the stops through it, value the account."""
        bar = self.account.bars
        if isinstance(self.account, SymbolAccount):
            prices = bars[self.symbols[0]]
            equity, fills, trades = self.account.on_bar(time, prices["open"], prices["high"], prices["low"],
                                                        prices["close"])  # fmt: skip
        else:
            equity, fills, trades = self.account.on_bar(time, {s: (p["open"], p["close"]) for s, p in bars.items()})
        self._equity = equity
        settled = [self._settle(order, time, fills) for s, order in list(self.orders.items()) if s in bars]
        for order in settled:
            del self.orders[order.symbol]
        return BarEvents(bar, equity, self.cash, self.positions, fills, trades, settled)

    def submit(self, time: pd.Timestamp, orders: Mapping[str, TargetOrder]) -> list[Order]:
        """The targets after this close: the account fills them at each symbol's next open; an order is journaled
        for each symbol whose target differs from what it holds now."""
        made = []
        if isinstance(self.account, SymbolAccount):
            order = orders[self.symbols[0]]
            self.account.pending = (int(order.target), float(order.size), float(order.atr_distance))
        else:
            for s, order in orders.items():
                self.account.decided[s] = (int(order.target), float(order.size))
        held = self.sides
        for s, order in orders.items():
            if int(order.target) != held[s]:
                made.append(Order(time, s, int(order.target), float(order.size)))
                self.orders[s] = made[-1]
        return made

    @property
    def cash(self) -> float:
        return float(self.account.cash)

    @property
    def positions(self) -> dict[str, float]:
        if isinstance(self.account, SymbolAccount):
            return {self.symbols[0]: self.account.units}
        return self.account.positions

    @property
    def sides(self) -> dict[str, int]:
        """The side held in each symbol: -1, 0, +1."""
        if isinstance(self.account, SymbolAccount):
            return {self.symbols[0]: self.account.side}
        return {s: int(h["side"]) for s, h in self.account.held.items()}

    @property
    def equity(self) -> float:
        """The equity at the last close."""
        return self._equity

    @property
    def bars(self) -> int:
        """Bars the account has traded."""
        return self.account.bars

    # --- the end of the data, and state ---------------------------------------------------------------------------

    def closing(self) -> tuple[float, list[Fill], list[Trade]]:
        """What the backtest books at the end of its data: every open position closed at its last close, with
        costs; ``(cash then, fills, trades)``. Nothing changes here: the session trades on."""
        return self.account.closing()

    def state(self) -> dict[str, Any]:
        """The account and the orders waiting, as plain JSON-able values (NaN written as None)."""
        orders = {s: {"time": o.time.isoformat(), "target": o.target, "size": o.size} for s, o in self.orders.items()}
        return _jsonable({"account": self.account.state(), "orders": orders, "equity": self._equity})

    def restore(self, state: Mapping[str, Any]) -> None:
        """Go on from a :meth:`state`."""
        self.account.restore(_floats(state["account"]))
        self.orders = {s: Order(pd.Timestamp(o["time"]), s, int(o["target"]), float(o["size"]))
                       for s, o in state["orders"].items()}  # fmt: skip
        self._equity = float(state["equity"])

    def _settle(self, order: Order, time: pd.Timestamp, fills: list[Fill]) -> Order:
        """An order at the open that was to fill it: filled when the position became its target."""
        held = self.sides[order.symbol]
        traded = any(f.symbol == order.symbol and f.time == time for f in fills)
        if held == order.target or (traded and order.target == 0):
            return replace(order, status="filled", filled_at=time)
        return replace(order, status="unfilled", filled_at=time, note=self._why_not(order, traded))

    def _why_not(self, order: Order, traded: bool) -> str:
        account = self.account
        if isinstance(account, SymbolAccount):
            if account.ruined:
                return "the account is ruined (its equity reached zero): it opens nothing more"
            if account.blocked == order.target:
                return "a stop closed this side: the target must move off it before it is taken again"
            if traded:
                return "filled, then closed inside the bar by a stop or a margin call"
        elif order.symbol in account.waited:
            return "no free cash for it at the open: it waits for the next one while the target stays"
        if not order.size > 0.0:
            return "size 0: the rules sized no entry"
        return "the equity could not pay the fixed commission"


def _jsonable(value: Any) -> Any:
    """NaN as None, recursively (strict JSON has no NaN; the REST API reads this state too)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _floats(state: Mapping[str, Any]) -> dict[str, Any]:
    """Undo :func:`_jsonable` where a float was NaN: the ATR stop distances (no stop)."""
    out = dict(state)
    held = out.get("held")
    if isinstance(held, dict) and "side" in held:
        held = dict(held, entry_atr=math.nan if held.get("entry_atr") is None else held["entry_atr"])
        out["held"] = held
    elif isinstance(held, dict):
        out["held"] = {s: dict(h, entry_atr=math.nan if h.get("entry_atr") is None else h["entry_atr"])
                       for s, h in held.items()}  # fmt: skip
    pending = out.get("pending")
    if isinstance(pending, list):
        out["pending"] = [math.nan if v is None else v for v in pending]
    if out.get("last_close") is None and "last_close" in out:
        out["last_close"] = math.nan
    return out
