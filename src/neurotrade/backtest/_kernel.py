"""The simulation loops: one pass over the bars in numba, float64 arrays in, arrays out.

Kept free of pandas so that the single-symbol loop (with stops inside the bar) and the portfolio loop
(several symbols sharing cash) share one fill and bookkeeping code at millions of bars.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "EXIT_ATR_STOP",
    "EXIT_END",
    "EXIT_MARGIN_CALL",
    "EXIT_REASONS",
    "EXIT_SIGNAL",
    "EXIT_STOP_LOSS",
    "EXIT_TAKE_PROFIT",
    "EXIT_TRAILING_STOP",
    "FILL_NEXT_OPEN",
    "FILL_SAME_CLOSE",
    "allocate_books",
    "close_position",
    "margin_level",
    "open_position",
    "simulate_target_kernel",
]

FILL_NEXT_OPEN = 0
FILL_SAME_CLOSE = 1

EXIT_SIGNAL = 0
EXIT_STOP_LOSS = 1
EXIT_TAKE_PROFIT = 2
EXIT_TRAILING_STOP = 3
EXIT_END = 4
# Appended, never inserted: the codes above are stored in results and compared by tests.
EXIT_ATR_STOP = 5
EXIT_MARGIN_CALL = 6
EXIT_REASONS = ("signal", "stop_loss", "take_profit", "trailing_stop", "end", "atr_stop", "margin_call")


@njit(cache=True)
def allocate_books(max_fills: int, max_trades: int):
    """Empty fill and trade books: ``(fills, trades)`` tuples of arrays, see :func:`simulate_target_kernel`."""
    fills = (
        np.empty(max_fills, dtype=np.int64),  # bar
        np.empty(max_fills, dtype=np.int64),  # side: +1 buy, -1 sell
        np.empty(max_fills, dtype=np.float64),  # price
        np.empty(max_fills, dtype=np.float64),  # quantity
        np.empty(max_fills, dtype=np.float64),  # commission
        np.empty(max_fills, dtype=np.bool_),  # at_end
        np.empty(max_fills, dtype=np.int64),  # symbol
    )
    trades = (
        np.empty(max_trades, dtype=np.int64),  # entry_bar
        np.empty(max_trades, dtype=np.int64),  # exit_bar
        np.empty(max_trades, dtype=np.int64),  # side
        np.empty(max_trades, dtype=np.float64),  # entry_price
        np.empty(max_trades, dtype=np.float64),  # exit_price
        np.empty(max_trades, dtype=np.float64),  # quantity
        np.empty(max_trades, dtype=np.float64),  # pnl
        np.empty(max_trades, dtype=np.float64),  # return_pct
        np.empty(max_trades, dtype=np.float64),  # costs
        np.empty(max_trades, dtype=np.bool_),  # at_end
        np.empty(max_trades, dtype=np.int64),  # exit reason
        np.empty(max_trades, dtype=np.int64),  # symbol
    )
    return fills, trades


@njit(cache=True)
def close_position(
    fills,
    trades,
    n_fills: int,
    n_trades: int,
    symbol: int,
    bar: int,
    base: float,
    side: int,
    units: float,
    entry_bar: int,
    entry_price: float,
    entry_comm: float,
    entry_slip: float,
    commission_rate: float,
    commission_fixed: float,
    slippage_rate: float,
    reason: int,
):
    """Close ``units`` at market price ``base`` (slippage against the trader); returns the cash it brings."""
    qty = abs(units)
    if side > 0:
        price = base * (1.0 - slippage_rate)
        comm = commission_rate * qty * price + commission_fixed
        cash_delta = qty * price - comm
        pnl = qty * (price - entry_price) - entry_comm - comm
    else:
        price = base * (1.0 + slippage_rate)
        comm = commission_rate * qty * price + commission_fixed
        cash_delta = -(qty * price + comm)
        pnl = qty * (entry_price - price) - entry_comm - comm
    at_end = reason == EXIT_END
    f_bar, f_side, f_price, f_qty, f_comm, f_at_end, f_symbol = fills
    f_bar[n_fills] = bar
    f_side[n_fills] = -side
    f_price[n_fills] = price
    f_qty[n_fills] = qty
    f_comm[n_fills] = comm
    f_at_end[n_fills] = at_end
    f_symbol[n_fills] = symbol

    (
        t_entry_bar,
        t_exit_bar,
        t_side,
        t_entry_price,
        t_exit_price,
        t_qty,
        t_pnl,
        t_ret,
        t_costs,
        t_at_end,
        t_reason,
        t_sym,
    ) = trades
    t_entry_bar[n_trades] = entry_bar
    t_exit_bar[n_trades] = bar
    t_side[n_trades] = side
    t_entry_price[n_trades] = entry_price
    t_exit_price[n_trades] = price
    t_qty[n_trades] = qty
    t_pnl[n_trades] = pnl
    t_ret[n_trades] = 100.0 * pnl / (qty * entry_price + entry_comm)
    t_costs[n_trades] = entry_comm + comm + entry_slip + qty * base * slippage_rate
    t_at_end[n_trades] = at_end
    t_reason[n_trades] = reason
    t_sym[n_trades] = symbol
    return cash_delta


@njit(cache=True)
def open_position(
    fills,
    n_fills: int,
    symbol: int,
    bar: int,
    base: float,
    desired: int,
    budget: float,
    commission_rate: float,
    commission_fixed: float,
    slippage_rate: float,
):
    """Open a position whose notional plus commission is ``budget``.

    Returns ``(units, cash_delta, price, commission, slippage_cash)``; ``units`` is 0 when the budget
    cannot pay the fixed commission, and then nothing is recorded.
    """
    # qty * price * (1 + rate) + fixed = budget
    price = base * (1.0 + desired * slippage_rate)
    qty = (budget - commission_fixed) / (price * (1.0 + commission_rate))
    if not qty > 0.0:
        return 0.0, 0.0, price, 0.0, 0.0
    comm = commission_rate * qty * price + commission_fixed
    cash_delta = -(qty * price + comm) if desired > 0 else qty * price - comm
    f_bar, f_side, f_price, f_qty, f_comm, f_at_end, f_symbol = fills
    f_bar[n_fills] = bar
    f_side[n_fills] = desired
    f_price[n_fills] = price
    f_qty[n_fills] = qty
    f_comm[n_fills] = comm
    f_at_end[n_fills] = False
    f_symbol[n_fills] = symbol
    return desired * qty, cash_delta, price, comm, qty * base * slippage_rate


@njit(cache=True)
def _stop_exit(
    side: int,
    open_: float,
    high: float,
    low: float,
    entry_ref: float,
    best: float,
    check_open: bool,
    stop_loss: float,
    take_profit: float,
    trailing_stop: float,
    atr_distance: float,
):
    """Where a stop or target fires in this bar: ``(reason, market price)``, reason -1 when none does.

    The stop in force is the tightest of the fixed stop (``stop_loss`` of ``entry_ref``), the ATR stop
    (``atr_distance`` in price from ``entry_ref``; NaN for none) and the trailing stop; on a tie the
    earlier of those three names the exit. The open is checked first (a gap through a level fills at
    the open, whichever side it gaps to), then the range: when the stop and the target are both inside
    the range, the order of the high and the low is unknown, so the worse outcome (the stop) is taken.
    """
    if side > 0:
        stop_level = -np.inf
        stop_kind = -1
        if stop_loss > 0.0:
            stop_level = entry_ref * (1.0 - stop_loss)
            stop_kind = EXIT_STOP_LOSS
        # NaN fails the comparison: no ATR stop.
        if atr_distance >= 0.0 and entry_ref - atr_distance > stop_level:
            stop_level = entry_ref - atr_distance
            stop_kind = EXIT_ATR_STOP
        if trailing_stop > 0.0:
            trail = best * (1.0 - trailing_stop)
            if trail > stop_level:
                stop_level = trail
                stop_kind = EXIT_TRAILING_STOP
        target_level = entry_ref * (1.0 + take_profit) if take_profit > 0.0 else np.inf
        if check_open:
            if open_ <= stop_level:
                return stop_kind, open_
            if open_ >= target_level:
                return EXIT_TAKE_PROFIT, open_
            if trailing_stop > 0.0 and open_ * (1.0 - trailing_stop) > stop_level:
                # The open is seen before the rest of the bar, so it already ratchets the trail.
                stop_level = open_ * (1.0 - trailing_stop)
                stop_kind = EXIT_TRAILING_STOP
        if low <= stop_level:
            return stop_kind, stop_level
        if high >= target_level:
            return EXIT_TAKE_PROFIT, target_level
        return -1, 0.0
    stop_level = np.inf
    stop_kind = -1
    if stop_loss > 0.0:
        stop_level = entry_ref * (1.0 + stop_loss)
        stop_kind = EXIT_STOP_LOSS
    if atr_distance >= 0.0 and entry_ref + atr_distance < stop_level:
        stop_level = entry_ref + atr_distance
        stop_kind = EXIT_ATR_STOP
    if trailing_stop > 0.0:
        trail = best * (1.0 + trailing_stop)
        if trail < stop_level:
            stop_level = trail
            stop_kind = EXIT_TRAILING_STOP
    target_level = entry_ref * (1.0 - take_profit) if take_profit > 0.0 else -np.inf
    if check_open:
        if open_ >= stop_level:
            return stop_kind, open_
        if open_ <= target_level:
            return EXIT_TAKE_PROFIT, open_
        if trailing_stop > 0.0 and open_ * (1.0 + trailing_stop) < stop_level:
            stop_level = open_ * (1.0 + trailing_stop)
            stop_kind = EXIT_TRAILING_STOP
    if high >= stop_level:
        return stop_kind, stop_level
    if low <= target_level:
        return EXIT_TAKE_PROFIT, target_level
    return -1, 0.0


@njit(cache=True)
def _exit_in_bar(
    side: int,
    open_: float,
    high: float,
    low: float,
    cash: float,
    units: float,
    stops_on: bool,
    entry_ref: float,
    best: float,
    check_open: bool,
    stop_loss: float,
    take_profit: float,
    trailing_stop: float,
    atr_distance: float,
):
    """The exit a held position meets in this bar, stops and margin call: ``(reason, market price)``, -1 for none.

    The margin call: equity ``cash + units * price`` reaches zero at the price ``-cash / units`` (a long
    bought with a loan, a short). It is checked at the open for every position (one opened at this open
    too: costs alone could have put it there), and over the range. Which of a stop and the margin call
    comes first follows the path of the price: the open is seen first, so a stop or target filled at the
    open (a gap) stands unless the open is beyond the margin level too (then the account is ruined at the
    open). Inside the range, a stop and the margin level lie on the same side of the open, so the price
    reaches the nearer one first: a stop nearer than the margin level fills at its level; one beyond it
    never comes, the margin call does. A target and the margin level both inside the range sit on either
    side of the open and their order is unknown: the worse outcome, the margin call, is taken (as a stop
    is over a target in :func:`_stop_exit`). An unlevered long has cash >= 0, a margin level <= 0, and is
    never called.
    """
    reason = -1
    base = 0.0
    if stops_on:
        reason, base = _stop_exit(
            side, open_, high, low, entry_ref, best, check_open, stop_loss, take_profit, trailing_stop, atr_distance
        )
    margin, at = _margin_at_open(side, open_, cash, units)
    if margin >= 0:
        return margin, at
    # A fill at the open (a gap through a stop or a target) comes before anything in the range.
    if reason >= 0 and base == open_:
        return reason, base
    ruin = margin_level(cash, units)
    if side > 0:
        if low <= ruin:
            if reason >= 0 and reason != EXIT_TAKE_PROFIT and base > ruin:
                return reason, base
            return EXIT_MARGIN_CALL, ruin
        return reason, base
    if high >= ruin:
        if reason >= 0 and reason != EXIT_TAKE_PROFIT and base < ruin:
            return reason, base
        return EXIT_MARGIN_CALL, ruin
    return reason, base


@njit(cache=True)
def margin_level(cash: float, units: float) -> float:
    """The price at which a position's equity ``cash + units * price`` is zero: ``-cash / units``.

    Above 0 for a long bought partly with a loan (cash < 0) and for a short (units < 0, cash > 0); at or
    below 0, never reached, for a long paid in full.
    """
    return -cash / units


@njit(cache=True)
def _margin_at_open(side: int, open_: float, cash: float, units: float):
    """A margin call at the open, when it is already at or beyond the margin level: ``(reason, price)``."""
    ruin = margin_level(cash, units)
    if (open_ <= ruin) if side > 0 else (open_ >= ruin):
        return EXIT_MARGIN_CALL, open_
    return -1, 0.0


@njit(cache=True)
def _after_exit(cash: float, reason: int, ruined: bool):
    """The cash and ruin after an exit: ``(cash, ruined)``.

    A margin call leaves no equity: what rounding of the fill at the margin level leaves above zero is
    dropped, so the account reads as ruined (equity <= 0) on the bar of its liquidation. Any exit whose
    costs took the last of the equity ruins the account too.
    """
    if reason == EXIT_MARGIN_CALL:
        cash = min(cash, 0.0)
    return cash, ruined or cash <= 0.0


@njit(cache=True)
def simulate_target_kernel(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    target: np.ndarray,
    fill_mode: int,
    commission_rate: float,
    commission_fixed: float,
    slippage_rate: float,
    initial_cash: float,
    size: np.ndarray,
    stop_loss: float,
    take_profit: float,
    trailing_stop: float,
    atr_distance: np.ndarray,
):
    """Follow a target position in {-1, 0, +1} decided at each bar's close, with optional stops.

    ``size[d]`` is the share of the equity (>= 0, > 1 for leverage) that an entry decided at bar d
    takes; 0 opens nothing. ``stop_loss``, ``take_profit`` and ``trailing_stop`` are fractions (0 turns
    one off) of the entry's market price, or of the best price since entry for the trailing stop.
    ``atr_distance[d]`` is the distance in price from the entry's market price of the ATR stop of an
    entry decided at bar d (the ATR multiple times the ATR at d), NaN for no ATR stop.

    A held position whose equity reaches zero inside a bar is liquidated there (a margin call, see
    :func:`_exit_in_bar`), and an account left with no equity by any exit is ruined: it opens nothing
    more, and its equity stays at the cash the last exit left.

    Returns ``(equity, position, fills, n_fills, trades, n_trades, n_skipped)`` where ``fills`` is a
    tuple ``(bar, side, price, quantity, commission, at_end, symbol)`` and ``trades`` a tuple
    ``(entry_bar, exit_bar, side, entry_price, exit_price, quantity, pnl, return_pct, costs, at_end,
    reason, symbol)`` of arrays of which only the first ``n_fills`` / ``n_trades`` rows are meaningful, and
    ``n_skipped`` counts entries not made because the equity could not pay the fixed commission.
    """
    n = close.shape[0]
    equity = np.empty(n, dtype=np.float64)
    position = np.empty(n, dtype=np.float64)
    # Every trade starts with an entry, and an entry needs the target to have moved off the position
    # held (or the one a stop closed) since the last entry: so at most one trade per change of the
    # target, plus the first; each trade has two fills. Sizing the books by that bound rather than by
    # the bars keeps a million-bar run from allocating hundreds of megabytes it never writes.
    # A size of 0 or a skipped entry only delays an entry within the same run of the target, so the
    # bound holds for them too; a margin call ends the entries.
    changes = 1
    previous = 0.0
    atr_on = False
    for i in range(n):
        if target[i] != previous:
            changes += 1
            previous = target[i]
        if atr_distance[i] >= 0.0:  # NaN: no ATR stop decided at this bar
            atr_on = True
    fills, trades = allocate_books(2 * changes, changes)
    stops_on = stop_loss > 0.0 or take_profit > 0.0 or trailing_stop > 0.0 or atr_on

    cash = initial_cash
    units = 0.0  # signed: > 0 long, < 0 short
    side = 0
    n_fills = 0
    n_trades = 0
    n_skipped = 0
    # The side a stop closed: the target must move off it before a position is taken again.
    blocked = 0
    # No equity left (a margin call, or an exit whose costs took the last of it): nothing is opened again.
    ruined = False

    # The open trade, remembered until it is closed.
    entry_bar = -1
    entry_price = 0.0
    entry_ref = 0.0  # market price at entry, before slippage: the stops' reference
    entry_comm = 0.0
    entry_slip = 0.0
    best = 0.0  # best market price since entry (highest high long, lowest low short)
    entry_atr = np.nan  # the ATR stop's distance, fixed by the entry's decision bar

    for i in range(n):
        # 1. The exits of a position held since before this bar. When the fill happens at the close, the
        #    stops and the margin call are checked over the whole bar. When it happens at the open, only a
        #    margin call at the open comes before that fill (the account is ruined before any order of the
        #    trader's fills); the rest of the bar is checked in 3.
        if side != 0:
            if fill_mode == FILL_SAME_CLOSE:
                reason, base = _exit_in_bar(
                    side, open_[i], high[i], low[i], cash, units, stops_on, entry_ref, best, True,
                    stop_loss, take_profit, trailing_stop, entry_atr,
                )  # fmt: skip
            else:
                reason, base = _margin_at_open(side, open_[i], cash, units)
            if reason >= 0:
                cash += close_position(
                    fills, trades, n_fills, n_trades, 0, i, base, side, units, entry_bar, entry_price,
                    entry_comm, entry_slip, commission_rate, commission_fixed, slippage_rate, reason,
                )  # fmt: skip
                n_fills += 1
                n_trades += 1
                blocked = side
                units = 0.0
                side = 0
                cash, ruined = _after_exit(cash, reason, ruined)
            elif fill_mode == FILL_SAME_CLOSE:
                best = max(best, high[i]) if side > 0 else min(best, low[i])

        # 2. The fill of the decision: at this bar's open for the previous close's decision, or at this close.
        if fill_mode == FILL_NEXT_OPEN:
            fill_now = i > 0
            base = open_[i]
            decided = i - 1
            desired = int(target[decided]) if fill_now else 0
            may_open = True
        else:
            fill_now = True
            base = close[i]
            decided = i
            desired = int(target[decided])
            # Nothing would hold a position opened on the final close: it would be closed at once.
            may_open = i < n - 1
        held_before = side != 0
        if fill_now:
            if blocked != 0:
                if desired == blocked:
                    desired = 0
                else:
                    blocked = 0
            if desired != side and side != 0:
                cash += close_position(
                    fills, trades, n_fills, n_trades, 0, i, base, side, units, entry_bar, entry_price,
                    entry_comm, entry_slip, commission_rate, commission_fixed, slippage_rate, EXIT_SIGNAL,
                )  # fmt: skip
                n_fills += 1
                n_trades += 1
                units = 0.0
                side = 0
                cash, ruined = _after_exit(cash, EXIT_SIGNAL, ruined)
            # A size of 0 is a decision to stay out, not an entry the money could not pay: nothing to count;
            # nor is a ruined account's target, which no longer trades.
            if desired != side and may_open and size[decided] > 0.0 and not ruined:
                # Flat here, so equity is cash. A size above 1 spends more than the cash: a margin loan.
                new_units, delta, price, comm, slip = open_position(
                    fills, n_fills, 0, i, base, desired, size[decided] * cash,
                    commission_rate, commission_fixed, slippage_rate,
                )  # fmt: skip
                if new_units != 0.0:
                    cash += delta
                    units = new_units
                    side = desired
                    n_fills += 1
                    entry_bar = i
                    entry_price = price
                    entry_ref = base
                    entry_comm = comm
                    entry_slip = slip
                    best = base
                    entry_atr = atr_distance[decided]
                else:
                    n_skipped += 1

        # 3. With fills at the open, the stops and the margin call run over the rest of this bar; a gap
        #    through a stop at the open only concerns a position held from before it.
        if fill_mode == FILL_NEXT_OPEN and side != 0:
            check_open = held_before and entry_bar < i
            reason, stop_base = _exit_in_bar(
                side, open_[i], high[i], low[i], cash, units, stops_on, entry_ref, best, check_open,
                stop_loss, take_profit, trailing_stop, entry_atr,
            )  # fmt: skip
            if reason >= 0:
                cash += close_position(
                    fills, trades, n_fills, n_trades, 0, i, stop_base, side, units, entry_bar, entry_price,
                    entry_comm, entry_slip, commission_rate, commission_fixed, slippage_rate, reason,
                )  # fmt: skip
                n_fills += 1
                n_trades += 1
                blocked = side
                units = 0.0
                side = 0
                cash, ruined = _after_exit(cash, reason, ruined)
            else:
                best = max(best, high[i]) if side > 0 else min(best, low[i])

        equity[i] = cash + units * close[i]
        position[i] = units

    if side != 0:
        # Whatever is still open is closed at the last close, with costs, so that the final equity
        # is cash a trader could actually hold.
        cash += close_position(
            fills, trades, n_fills, n_trades, 0, n - 1, close[n - 1], side, units, entry_bar, entry_price,
            entry_comm, entry_slip, commission_rate, commission_fixed, slippage_rate, EXIT_END,
        )  # fmt: skip
        n_fills += 1
        n_trades += 1
        equity[n - 1] = cash
    return equity, position, fills, n_fills, trades, n_trades, n_skipped
