"""The backtest's position side and stops, one bar at a time, for a live engine deciding bar by bar.

A live engine with stops in its strategy must know whether the backtest would still hold a position,
or would have been stopped out and now wait for the target to change. :class:`ExitTracker` replays
:func:`~neurotrade.backtest._kernel.simulate_target_kernel`'s order of events for one symbol and calls
the kernel's own stop function, so the two cannot drift apart; it leaves out cash and costs.
"""

from __future__ import annotations

import math

import numpy as np

from neurotrade.backtest._kernel import EXIT_REASONS, FILL_NEXT_OPEN, _stop_exit
from neurotrade.backtest._simulate import MAX_SIZE, _check_fill, _check_number, _check_percent
from neurotrade.errors import BacktestError

__all__ = ["ExitTracker"]


class ExitTracker:
    """The side :func:`~neurotrade.backtest.simulate` would hold, updated one bar at a time.

    Feed it each bar with the target decided at that bar's close; it answers the side held at the end
    of the bar and the stop that fired in it, if any, exactly as ``simulate`` with the same fill mode
    and stops would (same levels, gaps through the open, both levels in one bar, trailing ratchet,
    the ATR stop fixed by the entry's decision bar, and a stopped side staying flat until the target
    moves off it).

    Order of events in one :meth:`update`, as in the backtest:

    - ``fill="next_open"``: the previous bar's decision fills at this bar's open (closing, reversing or
      opening), then the stops run over the rest of the bar (a position held from before the open is
      also checked against the open), then this bar's target is remembered for the next open.
    - ``fill="same_close"``: the stops of the position held from before run over the whole bar, then
      this bar's target fills at its close.

    It tracks no cash, so it assumes that every entry fills. The backtest skips an entry whose budget
    cannot pay the fixed commission (never the case while ``size * equity`` is above it), and with
    ``"same_close"`` opens nothing at the very last bar of its data, which a live tracker cannot know.

    Parameters
    ----------
    fill
        ``"next_open"`` or ``"same_close"``, as in ``simulate``.
    stop_loss_pct, take_profit_pct, trailing_stop_pct
        As in ``simulate``, in percent; None for none.
    atr_stop_multiple
        As in ``simulate``: the ATR stop of an entry lies this many ATRs (the ``atr`` passed with the
        entry's decision) from the entry's price; None for no ATR stop.

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
    """

    def __init__(
        self,
        fill: str = "next_open",
        stop_loss_pct: float | None = None,
        take_profit_pct: float | None = None,
        trailing_stop_pct: float | None = None,
        atr_stop_multiple: float | None = None,
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
        self._stops_on = bool(self._stop_loss or self._take_profit or self._trailing or self._atr_multiple)
        self._side = 0
        self._blocked = 0  # the side a stop closed, until the target moves off it
        self._entry_ref = 0.0
        self._best = 0.0
        self._entry_atr = math.nan
        # The previous bar's decision, filled at this bar's open with "next_open"; None before the first bar.
        self._pending: tuple[int, float, float] | None = None

    @property
    def held(self) -> int:
        """The side held now: -1 short, 0 flat, +1 long."""
        return self._side

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
            The size decided here; only whether it is 0 matters (a size of 0 opens nothing, as in
            ``simulate``).

        Returns
        -------
        tuple
            ``(held, reason)``: the side held at the end of this bar (after this bar's fill and stops)
            and the exit reason (e.g. ``"stop_loss"``) of a stop that fired in it, else None. A
            position closed by the signal gives no reason.

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
            held_before = self._side != 0
            entered = False
            if self._pending is not None:
                entered = self._fill(*self._pending, base=open_)
            if self._stops_on and self._side != 0:
                reason = self._check_stops(open_, high, low, check_open=held_before and not entered)
            self._pending = (side, size, distance)
        else:
            if self._stops_on and self._side != 0:
                reason = self._check_stops(open_, high, low, check_open=True)
            self._fill(side, size, distance, base=close)
        return self._side, (EXIT_REASONS[reason] if reason >= 0 else None)

    def _fill(self, desired: int, size: float, distance: float, *, base: float) -> bool:
        """The kernel's fill of a decision at market price ``base``; True when it opened a position."""
        if self._blocked != 0:
            if desired == self._blocked:
                desired = 0
            else:
                self._blocked = 0
        if desired != self._side and self._side != 0:
            self._side = 0
        if desired != self._side and size > 0.0:
            self._side = desired
            self._entry_ref = base
            self._best = base
            self._entry_atr = distance
            return True
        return False

    def _check_stops(self, open_: float, high: float, low: float, *, check_open: bool) -> int:
        """The kernel's stop check over this bar: the reason code, -1 when none fired."""
        reason, _price_level = _stop_exit(
            self._side, open_, high, low, self._entry_ref, self._best, check_open,
            self._stop_loss, self._take_profit, self._trailing, self._entry_atr,
        )  # fmt: skip
        reason = int(reason)
        if reason >= 0:
            self._blocked = self._side
            self._side = 0
        else:
            self._best = max(self._best, high) if self._side > 0 else min(self._best, low)
        return reason


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
