"""The simulation loop: one pass over the bars in numba, float64 arrays in, arrays out.

Kept free of pandas so that later variants (stops inside the bar, other sizing rules, several
symbols sharing cash) can reuse the same fill and bookkeeping code at millions of bars.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["FILL_NEXT_OPEN", "FILL_SAME_CLOSE", "simulate_target_kernel"]

FILL_NEXT_OPEN = 0
FILL_SAME_CLOSE = 1


@njit(cache=True)
def simulate_target_kernel(
    open_: np.ndarray,
    close: np.ndarray,
    target: np.ndarray,
    fill_mode: int,
    commission_rate: float,
    commission_fixed: float,
    slippage_rate: float,
    initial_cash: float,
    fraction: float,
):
    """Follow a target position in {-1, 0, +1} decided at each bar's close.

    Returns ``(equity, position, fills, n_fills, trades, n_trades, n_skipped)`` where ``fills`` is a
    tuple ``(bar, side, price, quantity, commission, at_end)`` and ``trades`` a tuple
    ``(entry_bar, exit_bar, side, entry_price, exit_price, quantity, pnl, return_pct, costs, at_end)``
    of arrays of which only the first ``n_fills`` / ``n_trades`` rows are meaningful, and
    ``n_skipped`` counts entries not made because the equity could not pay the fixed commission.
    """
    n = close.shape[0]
    equity = np.empty(n, dtype=np.float64)
    position = np.empty(n, dtype=np.float64)

    # A bar has at most a closing and an opening fill; the end of the data adds one more.
    max_fills = 2 * n + 1
    f_bar = np.empty(max_fills, dtype=np.int64)
    f_side = np.empty(max_fills, dtype=np.int64)
    f_price = np.empty(max_fills, dtype=np.float64)
    f_qty = np.empty(max_fills, dtype=np.float64)
    f_comm = np.empty(max_fills, dtype=np.float64)
    f_at_end = np.zeros(max_fills, dtype=np.bool_)

    t_entry_bar = np.empty(n, dtype=np.int64)
    t_exit_bar = np.empty(n, dtype=np.int64)
    t_side = np.empty(n, dtype=np.int64)
    t_entry_price = np.empty(n, dtype=np.float64)
    t_exit_price = np.empty(n, dtype=np.float64)
    t_qty = np.empty(n, dtype=np.float64)
    t_pnl = np.empty(n, dtype=np.float64)
    t_return_pct = np.empty(n, dtype=np.float64)
    t_costs = np.empty(n, dtype=np.float64)
    t_at_end = np.zeros(n, dtype=np.bool_)

    cash = initial_cash
    units = 0.0  # signed: > 0 long, < 0 short
    side = 0
    n_fills = 0
    n_trades = 0
    n_skipped = 0

    # The open trade, remembered until it is closed.
    entry_bar = -1
    entry_price = 0.0
    entry_comm = 0.0
    entry_slip = 0.0

    for i in range(n + 1):
        at_end = i == n
        if at_end:
            # Whatever is still open is closed at the last close, with costs, so that the final
            # equity is cash a trader could actually hold.
            if side == 0:
                break
            bar = n - 1
            base = close[bar]
            desired = 0
            may_open = False
        elif fill_mode == FILL_NEXT_OPEN:
            if i == 0:
                equity[0] = cash
                position[0] = 0.0
                continue
            bar = i
            base = open_[i]
            desired = int(target[i - 1])
            may_open = True
        else:
            bar = i
            base = close[i]
            desired = int(target[i])
            # Nothing would hold a position opened on the final close: it would be closed at once.
            may_open = i < n - 1

        if desired != side and side != 0:
            qty = abs(units)
            if side > 0:
                price = base * (1.0 - slippage_rate)
                comm = commission_rate * qty * price + commission_fixed
                cash += qty * price - comm
                pnl = qty * (price - entry_price) - entry_comm - comm
            else:
                price = base * (1.0 + slippage_rate)
                comm = commission_rate * qty * price + commission_fixed
                cash -= qty * price + comm
                pnl = qty * (entry_price - price) - entry_comm - comm
            f_bar[n_fills] = bar
            f_side[n_fills] = -side
            f_price[n_fills] = price
            f_qty[n_fills] = qty
            f_comm[n_fills] = comm
            f_at_end[n_fills] = at_end
            n_fills += 1

            t_entry_bar[n_trades] = entry_bar
            t_exit_bar[n_trades] = bar
            t_side[n_trades] = side
            t_entry_price[n_trades] = entry_price
            t_exit_price[n_trades] = price
            t_qty[n_trades] = qty
            t_pnl[n_trades] = pnl
            t_return_pct[n_trades] = 100.0 * pnl / (qty * entry_price + entry_comm)
            t_costs[n_trades] = entry_comm + comm + entry_slip + qty * base * slippage_rate
            t_at_end[n_trades] = at_end
            n_trades += 1

            units = 0.0
            side = 0

        if desired != side and may_open:
            # Flat here, so equity is cash. Size so that notional plus commission is the budget:
            # qty * price * (1 + rate) + fixed = fraction * equity.
            budget = fraction * cash
            price = base * (1.0 + desired * slippage_rate)
            qty = (budget - commission_fixed) / (price * (1.0 + commission_rate))
            if qty > 0.0:
                comm = commission_rate * qty * price + commission_fixed
                if desired > 0:
                    cash -= qty * price + comm
                else:
                    cash += qty * price - comm
                units = desired * qty
                side = desired
                f_bar[n_fills] = bar
                f_side[n_fills] = desired
                f_price[n_fills] = price
                f_qty[n_fills] = qty
                f_comm[n_fills] = comm
                n_fills += 1

                entry_bar = bar
                entry_price = price
                entry_comm = comm
                entry_slip = qty * base * slippage_rate
            else:
                n_skipped += 1

        if at_end:
            equity[n - 1] = cash
        else:
            equity[i] = cash + units * close[i]
            position[i] = units

    fills = (f_bar, f_side, f_price, f_qty, f_comm, f_at_end)
    trades = (
        t_entry_bar,
        t_exit_bar,
        t_side,
        t_entry_price,
        t_exit_price,
        t_qty,
        t_pnl,
        t_return_pct,
        t_costs,
        t_at_end,
    )
    return equity, position, fills, n_fills, trades, n_trades, n_skipped
