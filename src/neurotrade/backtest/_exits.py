"""The backtest's position side, stops and margin call, one bar at a time, for a live engine deciding bar by bar.

A live engine with stops, leverage or shorts in its strategy must know whether the backtest would still hold
a position, would have been stopped out and now wait for the target to change, or would have been liquidated
by a margin call and stopped trading. :class:`ExitTracker` replays
:func:`~neurotrade.backtest._kernel.simulate_target_kernel`'s order of events for one symbol and calls the
kernel's own fill, stop and margin functions on its own cash, so the two cannot drift apart.
"""

from __future__ import annotations

import math

import numpy as np

from neurotrade.backtest._costs import CostModel
from neurotrade.backtest._kernel import (
    EXIT_REASONS,
    EXIT_SIGNAL,
    FILL_NEXT_OPEN,
    _after_exit,
    _exit_in_bar,
    _margin_at_open,
    allocate_books,
    close_position,
    open_position,
)
from neurotrade.backtest._simulate import MAX_SIZE, _check_fill, _check_number, _check_percent
from neurotrade.errors import BacktestError

__all__ = ["ExitTracker"]


class ExitTracker:
    """The side :func:`~neurotrade.backtest.simulate` would hold, updated one bar at a time.

    Feed it each bar with the target decided at that bar's close; it answers the side held at the end
    of the bar and the stop or margin call that closed a position in it, if any, exactly as ``simulate``
    with the same fill mode, stops, costs, initial cash and sizes would (same levels, gaps through the
    open, both levels in one bar, trailing ratchet, the ATR stop fixed by the entry's decision bar, a
    stopped side staying flat until the target moves off it, and a margin-called account trading no more).

    Order of events in one :meth:`update`, as in the backtest:

    - ``fill="next_open"``: a margin call at the open (the open at or beyond the price where the equity is
      zero), then the previous bar's decision fills at this bar's open (closing, reversing or opening),
      then the stops and the margin call run over the rest of the bar (a position held from before the
      open is also checked against the open), then this bar's target is remembered for the next open.
    - ``fill="same_close"``: the stops and the margin call of the position held from before run over the
      whole bar, then this bar's target fills at its close.

    It keeps the backtest's cash with the kernel's own fill arithmetic, since the margin level
    (``-cash / units``) depends on every earlier fill's costs; so give it the backtest's ``costs`` and
    ``initial_cash``. Like the backtest it skips an entry whose budget cannot pay the fixed commission.
    One difference remains: with ``"same_close"`` the backtest opens nothing at the very last bar of its
    data, which a live tracker cannot know.

    Parameters
    ----------
    fill
        ``"next_open"`` or ``"same_close"``, as in ``simulate``.
    stop_loss_pct, take_profit_pct, trailing_stop_pct
        As in ``simulate``, in percent; None for none.
    atr_stop_multiple
        As in ``simulate``: the ATR stop of an entry lies this many ATRs (the ``atr`` passed with the
        entry's decision) from the entry's price; None for no ATR stop.
    costs
        As in ``simulate``: the commission and slippage of every fill; no costs when omitted.
    initial_cash
        As in ``simulate``: the starting equity, > 0.

    Raises
    ------
    BacktestError
        When a parameter cannot be used, with what to change.

    Examples
    --------
    >>> tracker = ExitTracker(stop_loss_pct=2.0)
    >>> tracker.update(100.0, 100.0, 100.0, 100.0, target=1)  # decided long: fills at the next open
    (0, None)
    >>> tracker.update(100.0, 101.0, 97.0, 99.0, target=1)  # entered at 100, stopped at 98
    (0, 'stop_loss')
    >>> tracker.update(99.0, 100.0, 98.5, 99.5, target=1)  # the target has not moved off long: flat
    (0, None)

    Five times the equity short from 100: the equity is zero at 120, and the account trades no more.

    >>> tracker = ExitTracker(fill="same_close", initial_cash=1_000.0)
    >>> tracker.update(100.0, 100.0, 100.0, 100.0, target=-1, size=5.0)
    (-1, None)
    >>> tracker.update(100.0, 121.0, 99.0, 110.0, target=-1)
    (0, 'margin_call')
    >>> tracker.ruined, tracker.update(110.0, 111.0, 90.0, 95.0, target=1)
    (True, (0, None))
    """

    def __init__(
        self,
        fill: str = "next_open",
        stop_loss_pct: float | None = None,
        take_profit_pct: float | None = None,
        trailing_stop_pct: float | None = None,
        atr_stop_multiple: float | None = None,
        *,
        costs: CostModel | None = None,
        initial_cash: float = 100_000.0,
    ) -> None:
        self._fill_mode = _check_fill(fill)
        self._stop_loss = _check_percent("stop_loss_pct", stop_loss_pct, high=100.0, hint="e.g. 2.0 for 2 %")
        self._take_profit = _check_percent("take_profit_pct", take_profit_pct, high=math.inf, hint="e.g. 4.0 for 4 %")
        self._trailing = _check_percent("trailing_stop_pct", trailing_stop_pct, high=100.0, hint="e.g. 3.0 for 3 %")
        self._atr_multiple = (
            None
            if atr_stop_multiple is None
            else _check_number("atr_stop_multiple", atr_stop_multiple, low=0.0, high=math.inf, hint="e.g. 2.0")
        )
        costs = CostModel() if costs is None else costs
        if not isinstance(costs, CostModel):
            raise BacktestError(
                f"costs must be a CostModel, got {type(costs).__name__}; "
                "pass the backtest's, e.g. costs=CostModel(commission_pct=0.1, slippage_pct=0.05)"
            )
        # float() as simulate passes them to the kernel, so the arithmetic is the same to the last bit.
        self._rates = (float(costs.commission_rate), float(costs.commission_fixed), float(costs.slippage_rate))
        self._cash = _check_number("initial_cash", initial_cash, low=0.0, high=math.inf, hint="e.g. 100_000")
        self._units = 0.0
        # The kernel's fill functions write a fill (and a trade) into books; the tracker keeps none.
        self._fills, self._trades = allocate_books(1, 1)
        self._stops_on = bool(self._stop_loss or self._take_profit or self._trailing or self._atr_multiple)
        self._side = 0
        self._blocked = 0  # the side a stop closed, until the target moves off it
        self._ruined = False
        self._equity = self._cash
        self._entry_ref = 0.0
        self._entry_price = 0.0  # with its commission, what the kernel's closing fill reads for its trade row
        self._entry_comm = 0.0
        self._best = 0.0
        self._entry_atr = math.nan
        # The previous bar's decision, filled at this bar's open with "next_open"; None before the first bar.
        self._pending: tuple[int, float, float] | None = None

    @property
    def held(self) -> int:
        """The side held now: -1 short, 0 flat, +1 long."""
        return self._side

    @property
    def ruined(self) -> bool:
        """True once a margin call (or an exit's costs) left no equity: nothing is opened again."""
        return self._ruined

    @property
    def equity(self) -> float:
        """The backtest's equity at the last bar's close (cash plus the position at that close)."""
        return self._equity

    def update(
        self,
        open_: float,
        high: float,
        low: float,
        close: float,
        target: int,
        atr: float = math.nan,
        size: float = 1.0,
    ) -> tuple[int, str | None]:
        """Add the next bar and the target decided at its close.

        Parameters
        ----------
        open_, high, low, close
            The bar's prices (finite, > 0).
        target
            The side decided at this bar's close: -1, 0 or +1.
        atr
            The ATR at this bar's close (NaN for none): it sets the ATR stop of an entry decided here.
        size
            The share of the equity an entry decided here takes, as ``simulate``'s ``size`` (0 opens nothing,
            above 1 is leverage).

        Returns
        -------
        tuple
            ``(held, reason)``: the side held at the end of this bar (after this bar's fill and exits)
            and the exit reason (e.g. ``"stop_loss"``, ``"margin_call"``) of a stop or margin call that
            closed a position in it, else None. A position closed by the signal gives no reason.

        Raises
        ------
        BacktestError
            When an input is not a usable number; the state is then left unchanged.
        """
        open_, high = _price("open_", open_), _price("high", high)
        low, close = _price("low", low), _price("close", close)
        side = _target(target)
        distance = _atr_distance(atr, self._atr_multiple)
        size = _size(size)

        reason = -1
        if self._fill_mode == FILL_NEXT_OPEN:
            if self._side != 0:
                margin, at = _margin_at_open(self._side, open_, self._cash, self._units)
                reason = self._close_if(int(margin), float(at))
            held_before = self._side != 0
            entered = False
            if self._pending is not None:
                entered = self._fill(*self._pending, base=open_)
            if self._side != 0:
                reason = self._check_exits(open_, high, low, check_open=held_before and not entered)
            self._pending = (side, size, distance)
        else:
            if self._side != 0:
                reason = self._check_exits(open_, high, low, check_open=True)
            self._fill(side, size, distance, base=close)
        self._equity = self._cash + self._units * close
        return self._side, (EXIT_REASONS[reason] if reason >= 0 else None)

    def _fill(self, desired: int, size: float, distance: float, *, base: float) -> bool:
        """The kernel's fill of a decision at market price ``base``; True when it opened a position."""
        if self._blocked != 0:
            if desired == self._blocked:
                desired = 0
            else:
                self._blocked = 0
        if desired != self._side and self._side != 0:
            self._close(EXIT_SIGNAL, base)
        if desired != self._side and size > 0.0 and not self._ruined:
            commission_rate, commission_fixed, slippage_rate = self._rates
            units, delta, price, comm, _slip = open_position(
                self._fills, 0, 0, 0, base, desired, size * self._cash, commission_rate, commission_fixed, slippage_rate
            )
            if units == 0.0:  # the budget cannot pay the fixed commission: the backtest skips it too
                return False
            self._cash += delta
            self._units = units
            self._side = desired
            self._entry_ref = base
            self._entry_price = price
            self._entry_comm = comm
            self._best = base
            self._entry_atr = distance
            return True
        return False

    def _check_exits(self, open_: float, high: float, low: float, *, check_open: bool) -> int:
        """The kernel's stops and margin call over this bar: the reason code, -1 when none fired."""
        reason, level = _exit_in_bar(
            self._side, open_, high, low, self._cash, self._units, self._stops_on, self._entry_ref, self._best,
            check_open, self._stop_loss, self._take_profit, self._trailing, self._entry_atr,
        )  # fmt: skip
        reason = self._close_if(int(reason), float(level))
        if reason < 0:
            self._best = max(self._best, high) if self._side > 0 else min(self._best, low)
        return reason

    def _close_if(self, reason: int, base: float) -> int:
        """Close the position at market price ``base`` when a stop or margin call fired (``reason >= 0``)."""
        if reason >= 0:
            self._blocked = self._side
            self._close(reason, base)
        return reason

    def _close(self, reason: int, base: float) -> None:
        """The kernel's closing fill: the cash it brings, and the ruin it may leave."""
        commission_rate, commission_fixed, slippage_rate = self._rates
        delta = close_position(
            self._fills, self._trades, 0, 0, 0, 0, base, self._side, self._units, 0, self._entry_price,
            self._entry_comm, 0.0, commission_rate, commission_fixed, slippage_rate, reason,
        )  # fmt: skip
        self._cash, self._ruined = _after_exit(self._cash + delta, reason, self._ruined)
        self._units = 0.0
        self._side = 0


def _price(name: str, value: object) -> float:
    number = _float(name, value)
    if not (0.0 < number < math.inf):
        raise BacktestError(f"{name} must be a finite price > 0, got {value!r}; repair the bar before deciding")
    return number


def _target(value: object) -> int:
    number = _float("target", value)
    if number not in (-1.0, 0.0, 1.0):
        raise BacktestError(f"target must be -1, 0 or +1 (short, flat, long), got {value!r}")
    return int(number)


def _size(value: object) -> float:
    number = _float("size", value)
    if not (0.0 <= number <= MAX_SIZE):
        raise BacktestError(f"size must be finite, >= 0 and <= {MAX_SIZE:g}, got {value!r}; 0 for no entry")
    return number


def _atr_distance(value: object, multiple: float | None) -> float:
    """The ATR stop's distance for an entry decided at this bar, NaN for none (as simulate computes it)."""
    number = _float("atr", value)
    if not (math.isnan(number) or 0.0 <= number < math.inf):
        raise BacktestError(f"atr must be >= 0 and finite, or NaN for no ATR stop, got {value!r}")
    # The same double product as simulate's factor * array, so the levels are bit for bit the kernel's.
    return math.nan if multiple is None else multiple * number


def _float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise BacktestError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    return float(value)
