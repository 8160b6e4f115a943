"""Several symbols trading out of one cash account, each new position a fixed fraction of the total equity."""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from numba import njit

from neurotrade.backtest._costs import CostModel
from neurotrade.backtest._kernel import (
    EXIT_END,
    EXIT_REASONS,
    EXIT_SIGNAL,
    allocate_books,
    close_position,
    open_position,
)
from neurotrade.backtest._result import PortfolioResult, labels
from neurotrade.backtest._simulate import _FILL_SIDES, _TRADE_SIDES, _check_bars, _check_number, _check_target
from neurotrade.errors import BacktestError

__all__ = ["simulate_portfolio"]

logger = logging.getLogger(__name__)


def simulate_portfolio(
    bars: Mapping[str, pd.DataFrame],
    targets: Mapping[str, pd.Series | np.ndarray],
    *,
    fraction: float = 0.25,
    costs: CostModel | None = None,
    initial_cash: float = 100_000.0,
) -> PortfolioResult:
    """Backtest target positions on several symbols that share one cash account.

    Fills follow :func:`~neurotrade.backtest.simulate`'s ``"next_open"`` rule: the target decided on bar
    t's close fills at bar t+1's open, in fractional units, with commission and slippage. At each open the
    positions to close are closed first, in the order of ``bars``, so that the cash they free can fund the
    entries; then each new position is sized at ``fraction`` of the total equity (cash plus every position
    marked at that open, measured once after the exits), but never more than the free cash: the cash left
    after setting aside, for each short, twice its value at the open (its sale proceeds plus as much again
    as collateral). Entries are funded in the order of ``bars``; one the free cash cannot pay (not even the
    fixed commission), or so small that its notional would not pay the fixed commission of closing it, is
    skipped and retried at the next open. So cash never goes negative (short of a price move that outruns the
    collateral) and the
    positions never cost more than the equity. Whatever is open after the last bar is closed at its close.

    All symbols must have the same bar times; align them first (e.g. on the intersection of their indexes).

    Parameters
    ----------
    bars
        Symbol -> OHLCV frame; all with the same ``DatetimeIndex``.
    targets
        Symbol -> the position wanted after each bar's close (-1, 0, +1), as for ``simulate``; one per symbol
        of ``bars``.
    fraction
        Share of the total equity given to each new position, in (0, 1].
    costs
        Commission and slippage per fill; no costs when omitted.
    initial_cash
        Starting equity, in cash, > 0.

    Returns
    -------
    PortfolioResult
        One equity curve, the cash, the positions per symbol, and trades and fills with a ``symbol`` column.

    Raises
    ------
    BacktestError
        When the bars, the targets or a parameter cannot be used, with what to change.

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC", name="time")
    >>> def flat(px):
    ...     return pd.DataFrame({"open": px, "high": px, "low": px, "close": px, "volume": 1.0}, index=idx)
    >>> bars = {"AAA": flat([10.0, 10.0, 12.0]), "BBB": flat([20.0, 20.0, 18.0])}
    >>> wanted = {"AAA": pd.Series([1, 1, 1], index=idx), "BBB": pd.Series([1, 1, 1], index=idx)}
    >>> result = simulate_portfolio(bars, wanted, fraction=0.5, initial_cash=1_000.0)
    >>> result.trades[["symbol", "quantity", "pnl"]].to_numpy().tolist()
    [['AAA', 50.0, 100.0], ['BBB', 25.0, -50.0]]
    >>> float(result.equity.iloc[-1])
    1050.0
    """
    costs = CostModel() if costs is None else costs
    if not isinstance(costs, CostModel):
        raise BacktestError(
            f"costs must be a CostModel, got {type(costs).__name__}; "
            "pass e.g. costs=CostModel(commission_pct=0.1, slippage_pct=0.05)"
        )
    initial_cash = _check_number("initial_cash", initial_cash, low=0.0, high=math.inf, hint="e.g. 100_000")
    fraction = _check_number("fraction", fraction, low=0.0, high=1.0, hint="e.g. 0.25 for a quarter of the equity")
    symbols, index, opens, closes, wanted = _check_inputs(bars, targets)

    equity, cash, positions, fills, n_fills, trades, n_trades, n_skipped = _portfolio_kernel(
        opens,
        closes,
        wanted,
        float(costs.commission_rate),
        float(costs.commission_fixed),
        float(costs.slippage_rate),
        initial_cash,
        fraction,
    )
    if n_skipped:
        logger.info("%d entries waited for free cash (fraction=%s of the equity each)", n_skipped, fraction)
    names = symbols
    return PortfolioResult(
        equity=pd.Series(equity, index=index, name="equity", copy=False),
        cash=pd.Series(cash, index=index, name="cash", copy=False),
        positions=pd.DataFrame(positions.T, index=index, columns=pd.Index(symbols, dtype="str", name="symbol")),
        trades=_trades(trades, n_trades, index, names),
        fills=_fills(fills, n_fills, index, names),
        initial_cash=initial_cash,
        fill="next_open",
        costs=costs,
    )


def _check_inputs(
    bars: object, targets: object
) -> tuple[list[str], pd.DatetimeIndex, np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(bars, Mapping) or not bars:
        raise BacktestError(f"bars must be a non-empty dict of symbol -> OHLCV frame, got {type(bars).__name__}")
    if not isinstance(targets, Mapping):
        raise BacktestError(f"targets must be a dict of symbol -> target series, got {type(targets).__name__}")
    symbols = [str(s) for s in bars]
    for symbol in targets:
        if symbol not in bars:
            close = difflib.get_close_matches(str(symbol), symbols, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise BacktestError(f"targets has symbol {symbol!r} that bars lacks{hint}; bars has {symbols}")
    missing = [s for s in bars if s not in targets]
    if missing:
        raise BacktestError(f"targets has no entry for {missing}; give a target (0 for flat) for every symbol of bars")
    first = next(iter(bars))
    index = bars[first].index if isinstance(bars[first], pd.DataFrame) else None
    opens, closes, wanted = [], [], []
    for symbol, frame in bars.items():
        try:
            prices = _check_bars(frame)
            if not frame.index.equals(index):
                raise BacktestError(
                    f"its bar times differ from those of {first!r} ({len(frame)} vs {len(index)} bars, "
                    f"first difference at row {_first_difference(frame.index, index)}); give every symbol the same "
                    "bar times, e.g. reindex all on the intersection of their indexes"
                )
            target = _check_target(targets[symbol], frame.index)
        except BacktestError as error:
            raise BacktestError(f"symbol {symbol!r}: {error}") from error
        opens.append(prices["open"])
        closes.append(prices["close"])
        wanted.append(target)
    return symbols, index, np.stack(opens), np.stack(closes), np.stack(wanted)


def _first_difference(a: pd.Index, b: pd.Index) -> int:
    n = min(len(a), len(b))
    differs = np.flatnonzero(a[:n] != b[:n])
    return int(differs[0]) if differs.size else n


@njit(cache=True)
def _portfolio_kernel(
    open_: np.ndarray,
    close: np.ndarray,
    target: np.ndarray,
    commission_rate: float,
    commission_fixed: float,
    slippage_rate: float,
    initial_cash: float,
    fraction: float,
):
    """Symbols x bars arrays in; ``(equity, cash, positions, fills, n_fills, trades, n_trades, n_skipped)`` out."""
    n_symbols, n = close.shape
    equity = np.empty(n, dtype=np.float64)
    cash_path = np.empty(n, dtype=np.float64)
    positions = np.zeros((n_symbols, n), dtype=np.float64)
    # At most one trade per change of a symbol's target (see simulate_target_kernel), two fills each.
    changes = 1
    for s in range(n_symbols):
        previous = 0.0
        for i in range(n):
            if target[s, i] != previous:
                changes += 1
                previous = target[s, i]
    fills, trades = allocate_books(2 * changes, changes)

    cash = initial_cash
    units = np.zeros(n_symbols, dtype=np.float64)
    side = np.zeros(n_symbols, dtype=np.int64)
    entry_bar = np.zeros(n_symbols, dtype=np.int64)
    entry_price = np.zeros(n_symbols, dtype=np.float64)
    entry_comm = np.zeros(n_symbols, dtype=np.float64)
    entry_slip = np.zeros(n_symbols, dtype=np.float64)
    n_fills = 0
    n_trades = 0
    n_skipped = 0

    for i in range(1, n):
        for s in range(n_symbols):
            desired = int(target[s, i - 1])
            if side[s] != 0 and desired != side[s]:
                cash += close_position(
                    fills, trades, n_fills, n_trades, s, i, open_[s, i], side[s], units[s], entry_bar[s],
                    entry_price[s], entry_comm[s], entry_slip[s], commission_rate, commission_fixed,
                    slippage_rate, EXIT_SIGNAL,
                )  # fmt: skip
                n_fills += 1
                n_trades += 1
                units[s] = 0.0
                side[s] = 0
        total = cash
        free = cash
        for s in range(n_symbols):
            value = units[s] * open_[s, i]
            total += value
            if value < 0.0:
                free += 2.0 * value
        for s in range(n_symbols):
            desired = int(target[s, i - 1])
            if desired == 0 or side[s] != 0:
                continue
            budget = min(fraction * total, free)
            new_units, delta, price, comm, slip = open_position(
                fills, n_fills, s, i, open_[s, i], desired, budget, commission_rate, commission_fixed,
                slippage_rate,
            )  # fmt: skip
            # A position funded by the last cash must pay for its own exit: one whose notional is below the exit's
            # fixed fee would overdraw the account when it closes (a short is held against twice its notional, so
            # the same bound holds for both sides).
            too_small_to_exit = abs(new_units) * price * (1.0 - commission_rate) < commission_fixed
            if new_units == 0.0 or too_small_to_exit:
                n_skipped += 1
                continue
            cash += delta
            free -= abs(new_units) * price + comm
            units[s] = new_units
            side[s] = desired
            n_fills += 1
            entry_bar[s] = i
            entry_price[s] = price
            entry_comm[s] = comm
            entry_slip[s] = slip
        value = cash
        for s in range(n_symbols):
            value += units[s] * close[s, i]
            positions[s, i] = units[s]
        equity[i] = value
        cash_path[i] = cash
    equity[0] = initial_cash
    cash_path[0] = initial_cash

    # Whatever is still open is closed at the last close, with costs.
    for s in range(n_symbols):
        if side[s] != 0:
            cash += close_position(
                fills, trades, n_fills, n_trades, s, n - 1, close[s, n - 1], side[s], units[s], entry_bar[s],
                entry_price[s], entry_comm[s], entry_slip[s], commission_rate, commission_fixed, slippage_rate,
                EXIT_END,
            )  # fmt: skip
            n_fills += 1
            n_trades += 1
    equity[n - 1] = cash
    cash_path[n - 1] = cash
    return equity, cash_path, positions, fills, n_fills, trades, n_trades, n_skipped


def _fills(fills: tuple[np.ndarray, ...], n_fills: int, index: pd.DatetimeIndex, names: list[str]) -> pd.DataFrame:
    bar, side, price, quantity, commission, at_end, symbol = (a[:n_fills] for a in fills)
    # The kernel books fills symbol by symbol within a bar; time order is what a reader expects.
    order = np.argsort(bar, kind="stable")
    return pd.DataFrame(
        {
            "symbol": labels(symbol[order], names),
            "time": index[bar[order]],
            "side": labels(side[order] > 0, _FILL_SIDES),
            "price": price[order],
            "quantity": quantity[order],
            "commission": commission[order],
            "closed_at_end": at_end[order],
        }
    )


def _trades(trades: tuple[np.ndarray, ...], n_trades: int, index: pd.DatetimeIndex, names: list[str]) -> pd.DataFrame:
    (entry_bar, exit_bar, side, entry_price, exit_price, quantity, pnl, return_pct, costs, at_end, reason, symbol) = (
        a[:n_trades] for a in trades
    )
    return pd.DataFrame(
        {
            "symbol": labels(symbol, names),
            "entry_time": index[entry_bar],
            "exit_time": index[exit_bar],
            "side": labels(side > 0, _TRADE_SIDES),
            "entry_price": entry_price,
            "exit_price": exit_price,
            "quantity": quantity,
            "pnl": pnl,
            "return_pct": return_pct,
            "bars_held": (exit_bar - entry_bar + at_end).astype(np.int64),
            "costs": costs,
            "closed_at_end": at_end,
            "exit_reason": labels(reason, EXIT_REASONS),
        }
    )
