"""Run a target position over OHLCV bars: input checks, the numba kernel, tidy pandas output."""

from __future__ import annotations

import difflib
import logging
import math

import numpy as np
import pandas as pd

from neurotrade.backtest._costs import CostModel
from neurotrade.backtest._kernel import EXIT_REASONS, FILL_NEXT_OPEN, FILL_SAME_CLOSE, simulate_target_kernel
from neurotrade.backtest._result import BacktestResult, labels
from neurotrade.errors import BacktestError, IndicatorError

__all__ = ["atr_for_stops", "buy_and_hold", "simulate"]

logger = logging.getLogger(__name__)

_FILL_MODES = {"next_open": FILL_NEXT_OPEN, "same_close": FILL_SAME_CLOSE}
_PRICE_COLUMNS = ("open", "high", "low", "close")
_FILL_SIDES = ("sell", "buy")
_TRADE_SIDES = ("short", "long")
# Ten times the equity: beyond it a size is a mistake (a percentage given as a number, say) rather than a plan.
MAX_SIZE = 10.0


def simulate(
    bars: pd.DataFrame,
    target: pd.Series | np.ndarray,
    *,
    fill: str = "next_open",
    costs: CostModel | None = None,
    initial_cash: float = 100_000.0,
    fraction: float = 1.0,
    stop_loss_pct: float | None = None,
    take_profit_pct: float | None = None,
    trailing_stop_pct: float | None = None,
    size: pd.Series | np.ndarray | None = None,
    atr: pd.Series | np.ndarray | None = None,
    atr_stop_multiple: float | None = None,
) -> BacktestResult:
    """Backtest a target position decided at each bar's close.

    Whenever the target differs from the position held, the position is closed (or reversed) and
    a new one of ``fraction`` of the equity (or ``size`` of the decision's bar) is opened, in
    fractional units. With ``fill="next_open"`` (the default) the decision made on bar t's close
    fills at bar t+1's open, so the target of the last bar never fills. ``fill="same_close"`` fills
    at bar t's own close, which is only achievable if the decision can be made and executed right
    at the close; even then the last bar's close opens nothing, as there is no bar left to hold it
    over. A position still open after the last bar is closed at the last close, with costs, and
    marked ``closed_at_end``.

    Sizing: the commission and slippage of an entry come out of the same budget, so a long entry
    spends exactly ``fraction * equity`` and, with a size of at most 1, cash never goes negative for a
    long. A short sells units worth ``fraction * equity`` (less commission) and its equity is
    ``cash + units * price`` with ``units < 0``. An entry the equity cannot pay (budget below the fixed
    commission) is skipped and retried at the next fill opportunity; a warning is logged.

    Per-bar sizes: ``size[d]`` replaces ``fraction`` for an entry decided at bar d, which fills at bar
    d+1's open with ``fill="next_open"`` and at bar d's close with ``"same_close"``. The size is set at
    entry: **while the same side is held, later sizes do not rebalance it** (no churn of small trades);
    a new size applies at the next entry. A size of 0 with a non-zero target opens nothing (and warns
    of nothing; a position held on the other side is still closed): the entry is retried at the next
    fill while the target stays. A size above 1 is
    leverage: a long spends ``size * equity``, more than its cash, which goes negative (a margin loan,
    charged no interest); a short sells units worth ``size * equity``. Equity stays
    ``cash + units * price`` either way.

    Margin call: a held position's equity ``cash + units * price`` is zero at the price
    ``p* = -cash / units`` (above the price for a short, below it for a long bought with a loan; a long of
    size <= 1 has none and is never called). When a bar reaches p* (a long's low <= p*, a short's high >=
    p*) the position is liquidated in that bar at p*, or at the open when the bar opens beyond it (a gap),
    with slippage and commission as any fill (so the equity may end a little below zero, never more than
    that fill's costs below it, except through a gap), and ``exit_reason`` ``"margin_call"``. **The account
    is then ruined**: nothing more is opened in this backtest, and the equity stays at what the liquidation
    left (the cash; 0 when rounding would leave a crumb above it) for every later bar. An exit whose costs
    leave no equity ends the trading the same way. A margin call is checked where the stops are: with
    fills at the open, a margin call at the open comes before the decision's fill. Within a bar the price
    reaches the nearer of a stop and p* first (they lie on the same side), so a stop short of p* fills at
    its level and p* otherwise; a target and p* both in one bar's range are met in an unknown order, and
    the worse outcome, the margin call, is taken.

    Stops (all optional, in percent): ``stop_loss_pct`` and ``take_profit_pct`` are levels at that
    distance from the entry's market price (the open or close it filled at, before slippage);
    ``trailing_stop_pct`` trails the best price since entry (highest high of a long, lowest low of a
    short), the tighter of it and the fixed stop being the one in force. They are checked against each
    bar's open, high and low after entry, and an exit fills at the level, or at the open when the bar
    gaps through it (worse than a stop's level, better than a target's), with slippage and commission
    as any fill. When a bar's range holds both the stop and the target, the order of its high and low
    is unknown and the stop (the worse outcome) is taken. The open ratchets a trailing stop before the
    rest of its bar is checked; a bar's high (low, short) does so only from the next bar, since it may
    have come after the low. A position opened at a bar's open is checked over the rest of that bar; one
    opened at a close from the next bar on. **A stopped-out position stays flat until the target changes
    again**: the target must move off the stopped side (to flat or the other side) before a position on
    that side is taken again, so a stop is not undone by re-entering at the next open. Trades closed by a
    stop say so in ``exit_reason``.

    ATR stop: with ``atr`` and ``atr_stop_multiple``, an entry decided at bar d has a stop at
    ``atr_stop_multiple * atr[d]`` below (long) or above (short) the entry's market price, fixed for the
    life of the trade (``exit_reason`` ``"atr_stop"``). It follows the rules of the other stops (gaps,
    both touched, staying flat after it). With ``stop_loss_pct`` too, the nearer of the two levels is in
    force, and a trailing stop replaces either once it is tighter; on an exact tie the fixed stop names
    the exit. ``atr`` must be known at each bar's close (see :func:`atr_for_stops`); NaN (warm-up)
    means no ATR stop for entries decided at that bar.

    Parameters
    ----------
    bars
        OHLCV frame: a ``DatetimeIndex``, strictly increasing, and float columns
        ``open, high, low, close`` (positive, no NaN).
    target
        The position wanted after each bar's close: -1 (short), 0 (flat) or +1 (long), one per bar.
        A Series must have exactly the bars' index; an array must have the bars' length.
    fill
        ``"next_open"`` or ``"same_close"``.
    costs
        Commission and slippage per fill; no costs when omitted.
    initial_cash
        Starting equity, in cash, > 0.
    fraction
        Share of the equity put into each new position, in (0, 1].
    stop_loss_pct
        Stop loss in percent of the entry price, in (0, 100); None for none.
    take_profit_pct
        Take profit in percent of the entry price, > 0; None for none.
    trailing_stop_pct
        Trailing stop in percent of the best price since entry, in (0, 100); None for none.
    size
        Share of the equity an entry decided at each bar takes, in [0, 10], one per bar (a Series on
        the bars' index or an array of their length); None for ``fraction`` everywhere. Above 1 an
        account can be margin-called (see above).
    atr
        Average true range at each bar's close, >= 0 or NaN, one per bar; only with
        ``atr_stop_multiple``.
    atr_stop_multiple
        ATR multiples between an entry's price and its ATR stop, > 0; only with ``atr``.

    Returns
    -------
    BacktestResult
        Equity and position per bar, the trades and the fills.

    Raises
    ------
    BacktestError
        When the bars, the target or a parameter cannot be used, with what to change.

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC", name="time")
    >>> px = [100.0, 102.0, 104.0, 103.0]
    >>> bars = pd.DataFrame({"open": px, "high": px, "low": px, "close": px, "volume": 1.0}, index=idx)
    >>> result = simulate(bars, pd.Series([1, 0, 0, 0], index=idx), initial_cash=1_000.0)
    >>> result.fills[["side", "price"]].to_numpy().tolist()
    [['buy', 102.0], ['sell', 104.0]]
    >>> round(float(result.equity.iloc[-1]), 4)
    1019.6078

    Twice the equity, and an ATR stop 1.5 ATR below the entry's open of 102 (102 - 1.5 * 2 = 99):

    >>> bars.loc[idx[2], "low"] = 98.0
    >>> import numpy as np
    >>> result = simulate(bars, np.ones(4), initial_cash=1_000.0,
    ...                   size=np.full(4, 2.0), atr=np.full(4, 2.0), atr_stop_multiple=1.5)
    >>> result.trades[["entry_price", "exit_price", "exit_reason"]].to_numpy().tolist()
    [[102.0, 99.0, 'atr_stop']]
    >>> round(float(result.trades["quantity"].iloc[0]) * 102.0, 6)  # units worth twice the 1,000 of equity
    2000.0
    """
    costs = CostModel() if costs is None else costs
    if not isinstance(costs, CostModel):
        raise BacktestError(
            f"costs must be a CostModel, got {type(costs).__name__}; "
            "pass e.g. costs=CostModel(commission_pct=0.1, slippage_pct=0.05)"
        )
    fill_mode = _check_fill(fill)
    initial_cash = _check_number("initial_cash", initial_cash, low=0.0, high=math.inf, hint="e.g. 100_000")
    fraction = _check_number("fraction", fraction, low=0.0, high=1.0, hint="e.g. 1.0 for all of the equity")
    stop_loss = _check_percent("stop_loss_pct", stop_loss_pct, high=100.0, hint="e.g. 2.0 for 2 %")
    take_profit = _check_percent("take_profit_pct", take_profit_pct, high=math.inf, hint="e.g. 4.0 for 4 %")
    trailing = _check_percent("trailing_stop_pct", trailing_stop_pct, high=100.0, hint="e.g. 3.0 for 3 %")
    prices = _check_bars(bars)
    wanted = _check_target(target, bars.index)
    sizes = np.full(len(bars), fraction) if size is None else _check_sizes(size, bars.index)
    atr_distance = _check_atr(atr, atr_stop_multiple, bars.index)
    # Stops and margin calls read the range; a margin call needs leverage or a short.
    margin = bool((sizes > 1.0).any() or (wanted < 0.0).any())
    if stop_loss or take_profit or trailing or atr_stop_multiple is not None or margin:
        _check_ranges(prices, bars.index)

    equity, position, fills, n_fills, trades, n_trades, n_skipped = simulate_target_kernel(
        prices["open"],
        prices["high"],
        prices["low"],
        prices["close"],
        wanted,
        fill_mode,
        # float() everywhere: an int here would make numba compile a second specialisation.
        float(costs.commission_rate),
        float(costs.commission_fixed),
        float(costs.slippage_rate),
        initial_cash,
        sizes,
        stop_loss,
        take_profit,
        trailing,
        atr_distance,
    )
    if n_skipped:
        logger.warning(
            "%d entries were skipped because %s of the equity could not pay the fixed commission "
            "of %s; lower CostModel.commission_fixed or raise initial_cash",
            n_skipped,
            "the size" if size is not None else fraction,
            costs.commission_fixed,
        )
    index = bars.index
    result = BacktestResult(
        # The kernel's arrays belong to nobody else, so they need no defensive copy.
        equity=pd.Series(equity, index=index, name="equity", copy=False),
        position=pd.Series(position, index=index, name="position", copy=False),
        trades=_trades_frame(trades, n_trades, index, fill),
        fills=_fills_frame(fills, n_fills, index),
        initial_cash=initial_cash,
        fill=fill,
        costs=costs,
    )
    logger.debug("simulated %d bars: %d fills, %d trades", len(index), n_fills, n_trades)
    return result


def buy_and_hold(
    bars: pd.DataFrame,
    *,
    costs: CostModel | None = None,
    initial_cash: float = 100_000.0,
    fill: str = "next_open",
) -> BacktestResult:
    """Benchmark: long with all the equity from the first possible fill to the end of the bars.

    With ``fill="next_open"`` it buys at the second bar's open (the first decision is taken at the
    first bar's close); with ``"same_close"`` at the first bar's close. It sells at the last close,
    paying the same costs as the strategy it is compared with.

    Parameters
    ----------
    bars
        OHLCV frame, as for :func:`simulate`.
    costs
        Commission and slippage per fill; no costs when omitted.
    initial_cash
        Starting equity, in cash, > 0.
    fill
        ``"next_open"`` or ``"same_close"``.

    Returns
    -------
    BacktestResult
        One trade, closed at the end.

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC", name="time")
    >>> px = [10.0, 11.0, 12.0]
    >>> bars = pd.DataFrame({"open": px, "high": px, "low": px, "close": px, "volume": 1.0}, index=idx)
    >>> float(buy_and_hold(bars, initial_cash=110.0).equity.iloc[-1])
    120.0
    """
    _check_bars(bars)
    target = np.ones(len(bars), dtype=np.float64)
    return simulate(bars, target, fill=fill, costs=costs, initial_cash=initial_cash, fraction=1.0)


def atr_for_stops(bars: pd.DataFrame, period: int) -> np.ndarray:
    """Wilder's average true range of the bars, as :func:`simulate`'s ``atr`` for an ATR stop.

    It is the project's ``"atr"`` indicator: each value uses only the bars up to its own (known at that
    bar's close), and the first ``period`` values are NaN (no ATR stop for entries decided then).
    Compute it over the whole history rather than a slice, so that a test window starts warmed up.

    Parameters
    ----------
    bars
        OHLCV frame, as for :func:`simulate` (``high``, ``low`` and ``close`` are read).
    period
        Bars in Wilder's smoothing, e.g. 14.

    Returns
    -------
    numpy.ndarray
        float64, one value per bar.

    Raises
    ------
    BacktestError
        When the bars or the period cannot be used, with what to change.

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC", name="time")
    >>> bars = pd.DataFrame({"open": 10.0, "high": [11.0, 12.0, 13.0, 14.0], "low": [9.0, 10.0, 11.0, 12.0],
    ...                      "close": [10.0, 11.0, 12.0, 13.0], "volume": 1.0}, index=idx)
    >>> atr_for_stops(bars, 2).tolist()
    [nan, nan, 2.0, 2.0]
    """
    # Imported here: the indicators package is large, and most backtests never need it.
    from neurotrade.indicators import compute

    _check_bars(bars)
    if isinstance(period, bool) or not isinstance(period, int | np.integer) or period < 1:
        raise BacktestError(f"the ATR period must be a whole number of bars >= 1, got {period!r}; e.g. 14")
    try:
        frame = compute(bars, "atr", period=int(period))
    except IndicatorError as error:
        raise BacktestError(f"cannot compute the ATR for the stops: {error}") from error
    return np.ascontiguousarray(frame["atr"].to_numpy(dtype=np.float64))


def _check_fill(fill: object) -> int:
    if isinstance(fill, str) and fill in _FILL_MODES:
        return _FILL_MODES[fill]
    close = difflib.get_close_matches(str(fill), list(_FILL_MODES), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise BacktestError(f"fill must be 'next_open' or 'same_close', got {fill!r}{hint}")


def _check_number(name: str, value: object, *, low: float, high: float, hint: str) -> float:
    """A finite float in (low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise BacktestError(f"{name} must be a number, got {value!r} ({type(value).__name__}); {hint}")
    number = float(value)
    if not math.isfinite(number) or not (low < number <= high):
        upper = "" if high == math.inf else f" and <= {high:g}"
        raise BacktestError(f"{name} must be > {low:g}{upper}, got {value!r}; {hint}")
    return number


def _check_percent(name: str, value: object, *, high: float, hint: str) -> float:
    """An optional percentage as a fraction: 0.0 for None."""
    if value is None:
        return 0.0
    return _check_number(name, value, low=0.0, high=high, hint=f"{hint}, or None for none") / 100.0


def _check_ranges(prices: dict[str, np.ndarray], index: pd.DatetimeIndex) -> None:
    """Stops and margin calls read the bar's range, so it must hold the open and the close."""
    inside = (prices["low"] <= np.minimum(prices["open"], prices["close"])) & (
        np.maximum(prices["open"], prices["close"]) <= prices["high"]
    )
    bad = np.flatnonzero(~inside)
    if bad.size:
        row = int(bad[0])
        values = ", ".join(f"{c}={float(prices[c][row])!r}" for c in _PRICE_COLUMNS)
        raise BacktestError(
            f"bars row {row} ({index[row]}) has a range that does not hold its open and close ({values}; "
            f"{bad.size} such row(s) in all); stops need low <= open, close <= high (so does the margin call "
            "of a short or a size above 1): validate or repair the bars"
        )


def _check_bars(bars: object) -> dict[str, np.ndarray]:
    """The bars' prices as contiguous float64 arrays, or a BacktestError saying what is wrong."""
    if not isinstance(bars, pd.DataFrame):
        raise BacktestError(f"bars must be a pandas DataFrame of OHLCV bars, got {type(bars).__name__}")
    if len(bars) == 0:
        raise BacktestError("bars is empty; a backtest needs at least one bar")
    missing = [c for c in _PRICE_COLUMNS if c not in bars.columns]
    if missing:
        present = [str(c) for c in bars.columns]
        hints = []
        for column in missing:
            close = difflib.get_close_matches(column, present, n=1)
            if close:
                hints.append(f"{column!r} (did you mean {close[0]!r}?)")
            else:
                hints.append(repr(column))
        raise BacktestError(
            f"bars has no column {', '.join(hints)}; its columns are {present}. "
            "A backtest needs lowercase open, high, low, close columns"
        )
    index = bars.index
    if not isinstance(index, pd.DatetimeIndex):
        raise BacktestError(
            f"bars must have a DatetimeIndex (the bar times), got {type(index).__name__}; "
            "set it with bars.set_index('time')"
        )
    if len(index) > 1:
        steps = np.diff(index.asi8)
        bad = np.flatnonzero(steps <= 0)
        if bad.size:
            row = int(bad[0]) + 1
            raise BacktestError(
                f"bars' index must be strictly increasing, but row {row} ({index[row]}) does not come "
                f"after row {row - 1} ({index[row - 1]}); sort the bars and drop duplicate times"
            )
    prices = {}
    for column in _PRICE_COLUMNS:
        values = bars[column]
        if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            raise BacktestError(f"bars column {column!r} must be numeric, got dtype {values.dtype}")
        array = np.ascontiguousarray(values.to_numpy(dtype=np.float64, na_value=np.nan))
        # NaN fails both comparisons, so this one pass finds NaN, infinities and prices <= 0.
        good = (array > 0) & (array < np.inf)
        if not good.all():
            bad = np.flatnonzero(~good)
            row = int(bad[0])
            raise BacktestError(
                f"bars column {column!r} must hold finite prices > 0, but row {row} ({index[row]}) has "
                f"{float(array[row])!r} ({bad.size} such row(s) in all); "
                "repair or drop those bars before backtesting"
            )
        prices[column] = array
    return prices


def _per_bar(name: str, values: object, index: pd.DatetimeIndex) -> np.ndarray:
    """The raw values of a per-bar input (a Series on the bars' index or an array), or a BacktestError."""
    n = len(index)
    if isinstance(values, pd.Series):
        if len(values) != n:
            raise BacktestError(f"{name} has {len(values)} values but bars have {n} rows; give one per bar")
        if not values.index.equals(index):
            differs = np.flatnonzero(values.index != index) if len(values.index) == n else np.array([0])
            row = int(differs[0]) if differs.size else 0
            raise BacktestError(
                f"{name}'s index differs from the bars' index at row {row}: {name} has "
                f"{values.index[row]!r}, bars have {index[row]!r}; build the {name} on bars.index "
                "(a shifted or re-sorted one would trade on the wrong bars)"
            )
        return values.to_numpy()
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise BacktestError(f"{name} must be 1-D, got an array of shape {values.shape}")
        if values.shape[0] != n:
            raise BacktestError(f"{name} has {values.shape[0]} values but bars have {n} rows; give one per bar")
        return values
    raise BacktestError(
        f"{name} must be a pandas Series on the bars' index or a numpy array, got {type(values).__name__}"
    )


def _per_bar_floats(name: str, values: object, index: pd.DatetimeIndex) -> np.ndarray:
    """A per-bar numeric input as a contiguous float64 array."""
    raw = _per_bar(name, values, index)
    dtype = raw.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        raise BacktestError(f"{name} must hold numbers, got dtype {dtype}")
    return np.ascontiguousarray(np.asarray(raw, dtype=np.float64))


def _check_sizes(size: object, index: pd.DatetimeIndex) -> np.ndarray:
    """Per-bar sizes, finite and in [0, MAX_SIZE]."""
    array = _per_bar_floats("size", size, index)
    bad = np.flatnonzero(~((array >= 0.0) & (array <= MAX_SIZE)))  # NaN fails both
    if bad.size:
        row = int(bad[0])
        raise BacktestError(
            f"size must be finite, >= 0 and <= {MAX_SIZE:g} (a share of the equity, above 1 for leverage), "
            f"got {float(array[row])!r} at row {row} ({index[row]}) ({bad.size} such row(s) in all); "
            "give 0 for no entry, 1.0 for all of the equity"
        )
    return array


def _check_atr(atr: object, multiple: object, index: pd.DatetimeIndex) -> np.ndarray:
    """The ATR stop's distance per decision bar (multiple * ATR), NaN where there is none."""
    if atr is None and multiple is None:
        return np.full(len(index), np.nan)
    if atr is None:
        raise BacktestError(
            "atr_stop_multiple needs atr, the ATR at each bar's close; pass atr=atr_for_stops(bars, 14)"
        )
    if multiple is None:
        raise BacktestError("atr needs atr_stop_multiple, the ATR multiples to the stop; pass e.g. 2.0")
    factor = _check_number("atr_stop_multiple", multiple, low=0.0, high=math.inf, hint="e.g. 2.0")
    array = _per_bar_floats("atr", atr, index)
    bad = np.flatnonzero(~(np.isnan(array) | ((array >= 0.0) & (array < np.inf))))
    if bad.size:
        row = int(bad[0])
        raise BacktestError(
            f"atr must be >= 0 and finite, or NaN for no ATR stop, got {float(array[row])!r} at row {row} "
            f"({index[row]}) ({bad.size} such row(s) in all); compute it with atr_for_stops(bars, period)"
        )
    return factor * array


def _check_target(target: object, index: pd.DatetimeIndex) -> np.ndarray:
    """The target as a float64 array of -1, 0, +1, one per bar, or a BacktestError."""
    values = _per_bar("target", target, index)
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        raise BacktestError(
            f"target must hold the numbers -1, 0, +1 (short, flat, long), got dtype {dtype}; "
            "convert it, e.g. np.where(signal, 1, 0)"
        )
    array = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    missing = np.flatnonzero(np.isnan(array))
    if missing.size:
        row = int(missing[0])
        raise BacktestError(
            f"target is NaN at row {row} ({index[row]}) ({missing.size} NaN row(s) in all); "
            "decide a position for every bar (0 for flat) rather than leaving gaps"
        )
    bad = np.flatnonzero((array != -1.0) & (array != 0.0) & (array != 1.0))
    if bad.size:
        row = int(bad[0])
        raise BacktestError(
            f"target must be -1, 0 or +1 (short, flat, long), got {float(array[row])!r} at row {row} "
            f"({index[row]}) ({bad.size} such row(s) in all); "
            "for partial positions use the fraction argument (or size, per bar)"
        )
    return array


def _fills_frame(fills: tuple[np.ndarray, ...], n_fills: int, index: pd.DatetimeIndex) -> pd.DataFrame:
    bar, side, price, quantity, commission, at_end, _symbol = (a[:n_fills] for a in fills)
    return pd.DataFrame(
        {
            "time": index[bar],
            "side": labels(side > 0, _FILL_SIDES),
            "price": price,
            "quantity": quantity,
            "commission": commission,
            "closed_at_end": at_end,
        }
    )


def _trades_frame(trades: tuple[np.ndarray, ...], n_trades: int, index: pd.DatetimeIndex, fill: str) -> pd.DataFrame:
    (entry_bar, exit_bar, side, entry_price, exit_price, quantity, pnl, return_pct, costs, at_end, reason, _symbol) = (
        a[:n_trades] for a in trades
    )
    return pd.DataFrame(
        {
            "entry_time": index[entry_bar],
            "exit_time": index[exit_bar],
            "side": labels(side > 0, _TRADE_SIDES),
            "entry_price": entry_price,
            "exit_price": exit_price,
            "quantity": quantity,
            "pnl": pnl,
            "return_pct": return_pct,
            # bars_held counts the closes the position was held over. Entered at an open, a position closed at
            # the end (at the last close) was also held over that last close; entered at a close, it was not.
            "bars_held": (exit_bar - entry_bar + (at_end if fill == "next_open" else 0)).astype(np.int64),
            "costs": costs,
            "closed_at_end": at_end,
            "exit_reason": labels(reason, EXIT_REASONS),
        }
    )
