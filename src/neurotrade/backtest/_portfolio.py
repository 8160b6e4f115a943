"""Several symbols trading out of one cash account, each new position a fixed fraction of the total equity.

The symbols share one time axis, the union of their bar times: a symbol without a bar at some time (not yet
listed, halted, delisted) has all-NaN prices there and trades exactly as it would alone on its own bars.
"""

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
from neurotrade.backtest._simulate import (
    _FILL_SIDES,
    _PRICE_COLUMNS,
    _TRADE_SIDES,
    MAX_SIZE,
    _check_bars,
    _check_number,
    _check_target,
    _per_bar,
)
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
    size: Mapping[str, pd.Series | np.ndarray] | None = None,
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

    Per-bar sizes: with ``size``, an entry of a symbol decided at bar d takes ``fraction * size[symbol][d]``
    of the total equity instead of ``fraction``, still never more than the free cash (so a size above 1 is
    no margin loan). A size of 0 opens nothing and is not counted as an entry waiting for cash: the entry is
    tried again at the next open while the target stays. The size is set at entry; later sizes do not
    rebalance a held position.

    Missing bars: every frame has the same bar times, the universe's (e.g. the union of the symbols' own
    times), and a symbol without a bar at one of them (not listed yet, halted, delisted) has NaN open, high,
    low and close there; a row with only some of them NaN is an error. Nothing is forward-filled: a symbol
    trades exactly as it would alone on its own bars.

    - It acts only at its own bars: the target that fills at its bar j is the one decided at its previous
      bar (with that bar's size), so its first bar opens nothing and it is first entered at its second.
    - Its target at a missing bar must be 0 or NaN and is ignored (a -1 or +1 there would be a decision made
      without the bar's close: usually something forward-filled). Its size there may be NaN, also ignored.
    - A position held across missing bars is marked at the symbol's last close: in the equity, and in the
      total equity and free cash that size the entries of other symbols at an open.
    - A position still open after the last bar is closed at the symbol's last close; its closing fill and
      the trade's ``exit_time`` are at that bar, its cash is in the final equity.

    ``bars_held`` counts the closes of the universe's time axis, missing bars included.

    Parameters
    ----------
    bars
        Symbol -> OHLCV frame; all with the same ``DatetimeIndex``; rows of all-NaN prices where the symbol
        has no bar.
    targets
        Symbol -> the position wanted after each bar's close (-1, 0, +1), as for ``simulate``; one per symbol
        of ``bars``; 0 or NaN (ignored) where the symbol has no bar.
    fraction
        Share of the total equity given to each new position, in (0, 1].
    costs
        Commission and slippage per fill; no costs when omitted.
    initial_cash
        Starting equity, in cash, > 0.
    size
        Symbol -> per-bar multiple of ``fraction`` for entries decided at that bar, in [0, 10] (NaN allowed
        where the symbol has no bar); a Series on the bars' index or an array of their length, one per symbol
        of ``bars``. None for 1 everywhere.

    Returns
    -------
    PortfolioResult
        One equity curve, the cash, the positions per symbol, and trades and fills with a ``symbol`` column.

    Raises
    ------
    BacktestError
        When the bars, the targets, the sizes or a parameter cannot be used, with what to change.

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

    A symbol listed a day late (no bar on the first day), and AAA entered with half its usual size:

    >>> import numpy as np
    >>> idx = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC", name="time")
    >>> bars = {"AAA": flat([10.0, 10.0, 12.0, 12.0]), "CCC": flat([np.nan, 20.0, 20.0, 25.0])}
    >>> wanted = {"AAA": np.ones(4), "CCC": np.array([np.nan, 1.0, 1.0, 1.0])}
    >>> sizes = {"AAA": np.full(4, 0.5), "CCC": np.ones(4)}
    >>> result = simulate_portfolio(bars, wanted, fraction=0.5, initial_cash=1_000.0, size=sizes)
    >>> result.trades[["symbol", "quantity", "pnl"]].to_numpy().tolist()
    [['AAA', 25.0, 50.0], ['CCC', 26.25, 131.25]]
    >>> result.trades["entry_time"].dt.strftime("%m-%d").tolist()  # CCC's first bar decides, its second fills
    ['01-02', '01-03']
    """
    costs = CostModel() if costs is None else costs
    if not isinstance(costs, CostModel):
        raise BacktestError(
            f"costs must be a CostModel, got {type(costs).__name__}; "
            "pass e.g. costs=CostModel(commission_pct=0.1, slippage_pct=0.05)"
        )
    initial_cash = _check_number("initial_cash", initial_cash, low=0.0, high=math.inf, hint="e.g. 100_000")
    fraction = _check_number("fraction", fraction, low=0.0, high=1.0, hint="e.g. 0.25 for a quarter of the equity")
    symbols, index, opens, closes, has_bar, wanted, sizes = _check_inputs(bars, targets, size)

    equity, cash, positions, fills, n_fills, trades, n_trades, n_skipped = _portfolio_kernel(
        opens,
        closes,
        has_bar,
        wanted,
        sizes,
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
    bars: object, targets: object, size: object
) -> tuple[list[str], pd.DatetimeIndex, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(symbols, index, opens, closes, has_bar, targets, sizes)``, the arrays symbols x bars."""
    if not isinstance(bars, Mapping) or not bars:
        raise BacktestError(f"bars must be a non-empty dict of symbol -> OHLCV frame, got {type(bars).__name__}")
    if not isinstance(targets, Mapping):
        raise BacktestError(f"targets must be a dict of symbol -> target series, got {type(targets).__name__}")
    if size is not None and not isinstance(size, Mapping):
        raise BacktestError(
            f"size must be a dict of symbol -> per-bar sizes, or None for 1 everywhere, got {type(size).__name__}"
        )
    symbols = [str(s) for s in bars]
    _check_keys("targets", targets, bars, symbols, "give a target (0 for flat) for every symbol of bars")
    if size is not None:
        _check_keys("size", size, bars, symbols, "give sizes (1.0 for the plain fraction) for every symbol of bars")
    first = next(iter(bars))
    index = bars[first].index if isinstance(bars[first], pd.DataFrame) else None
    opens, closes, has_bar, wanted, sizes = [], [], [], [], []
    for symbol, frame in bars.items():
        try:
            prices, missing = _check_symbol_bars(frame)
            if not frame.index.equals(index):
                raise BacktestError(
                    f"its bar times differ from those of {first!r} ({len(frame)} vs {len(index)} bars, "
                    f"first difference at row {_first_difference(frame.index, index)}); give every symbol the same "
                    "bar times, e.g. reindex all on the union of their indexes (a symbol's prices are then NaN "
                    "where it has no bar)"
                )
            target = _check_symbol_target(targets[symbol], frame.index, missing)
            scale = np.ones(len(frame)) if size is None else _check_symbol_size(size[symbol], frame.index, missing)
        except BacktestError as error:
            raise BacktestError(f"symbol {symbol!r}: {error}") from error
        opens.append(prices["open"])
        closes.append(prices["close"])
        has_bar.append(~missing)
        wanted.append(target)
        sizes.append(scale)
    return (
        symbols,
        index,
        np.stack(opens),
        np.stack(closes),
        np.stack(has_bar),
        np.stack(wanted),
        np.stack(sizes),
    )


def _check_keys(name: str, given: Mapping, bars: Mapping, symbols: list[str], fix: str) -> None:
    """Every key of ``given`` is a symbol of ``bars`` and every symbol has one."""
    for symbol in given:
        if symbol not in bars:
            close = difflib.get_close_matches(str(symbol), symbols, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise BacktestError(f"{name} has symbol {symbol!r} that bars lacks{hint}; bars has {symbols}")
    missing = [s for s in bars if s not in given]
    if missing:
        raise BacktestError(f"{name} has no entry for {missing}; {fix}")


def _check_symbol_bars(frame: object) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One symbol's prices (NaN where it has no bar) and its missing rows, or a BacktestError."""
    missing = _missing_rows(frame)
    if missing is None or not missing.any():
        prices = _check_bars(frame)
        return prices, np.zeros(len(prices["close"]), dtype=np.bool_)
    # _check_bars wants a price in every row: a stand-in price in the missing rows lets it check everything else
    # (types, the index, the real rows' prices) with its own messages. No stand-in reaches the kernel: the
    # missing rows are NaN again before anything reads them.
    stand_in = frame.assign(**{c: frame[c].mask(missing, 1.0) for c in _PRICE_COLUMNS})
    prices = _check_bars(stand_in)
    return {column: np.where(missing, np.nan, prices[column]) for column in _PRICE_COLUMNS}, missing


def _missing_rows(frame: object) -> np.ndarray | None:
    """The rows whose four prices are all NaN; None when the frame is no frame of numeric prices (let
    ``_check_bars`` say why). A row with only some prices NaN is a BacktestError."""
    if not isinstance(frame, pd.DataFrame) or len(frame) == 0:
        return None
    columns = []
    for column in _PRICE_COLUMNS:
        if column not in frame.columns or not isinstance(frame[column], pd.Series):
            return None
        dtype = frame[column].dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            return None
        columns.append(frame[column].to_numpy(dtype=np.float64, na_value=np.nan))
    nan = np.isnan(np.column_stack(columns))
    missing = nan.all(axis=1)
    partial = np.flatnonzero(nan.any(axis=1) & ~missing)
    if partial.size:
        row = int(partial[0])
        blank = [c for c, b in zip(_PRICE_COLUMNS, nan[row], strict=True) if b]
        given = [c for c, b in zip(_PRICE_COLUMNS, nan[row], strict=True) if not b]
        raise BacktestError(
            f"bars row {row} ({frame.index[row]}) has NaN {', '.join(blank)} but a price for {', '.join(given)} "
            f"({partial.size} such row(s) in all); a bar has all four prices, and a time where the symbol has no "
            "bar has none (all four NaN): repair the row or blank all four"
        )
    return missing


def _check_symbol_target(target: object, index: pd.DatetimeIndex, missing: np.ndarray) -> np.ndarray:
    """One symbol's targets, -1, 0, +1 at its bars and 0 at its missing ones, or a BacktestError."""
    if not missing.any():
        return _check_target(target, index)
    values = _per_bar("target", target, index)
    if pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(values.dtype):
        return _check_target(values, index)  # raises, saying what a target holds
    array = np.array(values, dtype=np.float64)  # a copy: the caller's targets stay as given
    decided = np.flatnonzero(missing & ~np.isnan(array) & (array != 0.0))
    if decided.size:
        row = int(decided[0])
        raise BacktestError(
            f"target is {float(array[row])!r} at row {row} ({index[row]}), where the symbol has no bar "
            f"({decided.size} such row(s) in all); a decision needs the bar's close, so give 0 or NaN there "
            "(they are ignored); a position there usually means a forward-filled signal"
        )
    array[missing] = 0.0
    return _check_target(array, index)


def _check_symbol_size(size: object, index: pd.DatetimeIndex, missing: np.ndarray) -> np.ndarray:
    """One symbol's per-bar sizes, in [0, MAX_SIZE] (0 where it has no bar), or a BacktestError."""
    values = _per_bar("size", size, index)
    if pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(values.dtype):
        raise BacktestError(f"size must hold numbers, got dtype {values.dtype}")
    array = np.array(values, dtype=np.float64)  # a copy: the caller's sizes stay as given
    array[missing & np.isnan(array)] = 0.0
    bad = np.flatnonzero(~((array >= 0.0) & (array <= MAX_SIZE)))  # NaN fails both
    if bad.size:
        row = int(bad[0])
        raise BacktestError(
            f"size must be finite, >= 0 and <= {MAX_SIZE:g} (a multiple of fraction), got {float(array[row])!r} "
            f"at row {row} ({index[row]}) ({bad.size} such row(s) in all); give 0 for no entry, 1.0 for the "
            "plain fraction"
        )
    array[missing] = 0.0
    return array


def _first_difference(a: pd.Index, b: pd.Index) -> int:
    n = min(len(a), len(b))
    differs = np.flatnonzero(a[:n] != b[:n])
    return int(differs[0]) if differs.size else n


@njit(cache=True)
def _portfolio_kernel(
    open_: np.ndarray,
    close: np.ndarray,
    has_bar: np.ndarray,
    target: np.ndarray,
    size: np.ndarray,
    commission_rate: float,
    commission_fixed: float,
    slippage_rate: float,
    initial_cash: float,
    fraction: float,
):
    """Symbols x bars arrays in; ``(equity, cash, positions, fills, n_fills, trades, n_trades, n_skipped)`` out.

    ``has_bar[s, i]`` is False where symbol s has no bar i (its prices NaN there, its target 0): it neither
    decides nor fills there, and what it holds is marked at its last close.
    """
    n_symbols, n = close.shape
    equity = np.empty(n, dtype=np.float64)
    cash_path = np.empty(n, dtype=np.float64)
    positions = np.zeros((n_symbols, n), dtype=np.float64)
    # At most one trade per change of a symbol's target (see simulate_target_kernel), two fills each. The 0s at
    # missing bars only add changes to count, so the bound holds over a symbol's own bars too.
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
    # Each symbol's latest bar so far (-1 before its first) and its close there: the bar whose decision fills at
    # the symbol's next bar, and the price its position is marked at while it has no bar. A mark of 0 before the
    # first bar is never read for value, as nothing is held then (0 rather than NaN: 0 * NaN would be NaN).
    last = np.full(n_symbols, -1, dtype=np.int64)
    mark = np.zeros(n_symbols, dtype=np.float64)
    for s in range(n_symbols):
        if has_bar[s, 0]:
            last[s] = 0
            mark[s] = close[s, 0]
    n_fills = 0
    n_trades = 0
    n_skipped = 0

    for i in range(1, n):
        for s in range(n_symbols):
            # Something is held only after a bar of the symbol, so last[s] >= 0 here.
            if side[s] == 0 or not has_bar[s, i]:
                continue
            desired = int(target[s, last[s]])
            if desired != side[s]:
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
            value = units[s] * (open_[s, i] if has_bar[s, i] else mark[s])
            total += value
            if value < 0.0:
                free += 2.0 * value
        for s in range(n_symbols):
            if side[s] != 0 or not has_bar[s, i] or last[s] < 0:
                continue
            decided = last[s]
            desired = int(target[s, decided])
            # A size of 0 is a decision to stay out, not an entry waiting for cash: nothing to count.
            if desired == 0 or not size[s, decided] > 0.0:
                continue
            budget = min(fraction * size[s, decided] * total, free)
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
            if has_bar[s, i]:
                last[s] = i
                mark[s] = close[s, i]
            value += units[s] * mark[s]
            positions[s, i] = units[s]
        equity[i] = value
        cash_path[i] = cash
    equity[0] = initial_cash
    cash_path[0] = initial_cash

    # Whatever is still open is closed at its symbol's last close, with costs (the last bar's close, unless the
    # symbol's final bars are missing).
    for s in range(n_symbols):
        if side[s] != 0:
            cash += close_position(
                fills, trades, n_fills, n_trades, s, last[s], mark[s], side[s], units[s], entry_bar[s],
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
