"""Run a target position over OHLCV bars: input checks, the numba kernel, tidy pandas output."""

from __future__ import annotations

import difflib
import logging
import math

import numpy as np
import pandas as pd

from neurotrade.backtest._costs import CostModel
from neurotrade.backtest._kernel import FILL_NEXT_OPEN, FILL_SAME_CLOSE, simulate_target_kernel
from neurotrade.backtest._result import BacktestResult
from neurotrade.errors import BacktestError

__all__ = ["buy_and_hold", "simulate"]

logger = logging.getLogger(__name__)

_FILL_MODES = {"next_open": FILL_NEXT_OPEN, "same_close": FILL_SAME_CLOSE}
_PRICE_COLUMNS = ("open", "high", "low", "close")


def simulate(
    bars: pd.DataFrame,
    target: pd.Series | np.ndarray,
    *,
    fill: str = "next_open",
    costs: CostModel | None = None,
    initial_cash: float = 100_000.0,
    fraction: float = 1.0,
) -> BacktestResult:
    """Backtest a target position decided at each bar's close.

    Whenever the target differs from the position held, the position is closed (or reversed) and
    a new one of ``fraction`` of the equity is opened, in fractional units. With
    ``fill="next_open"`` (the default) the decision made on bar t's close fills at bar t+1's open,
    so the target of the last bar never fills. ``fill="same_close"`` fills at bar t's own close,
    which is only achievable if the decision can be made and executed right at the close; even then
    the last bar's close opens nothing, as there is no bar left to hold it over. A position still
    open after the last bar is closed at the last close, with costs, and marked ``closed_at_end``.

    Sizing: the commission and slippage of an entry come out of the same budget, so a long entry
    spends exactly ``fraction * equity`` and cash never goes negative for a long. A short sells units
    worth ``fraction * equity`` (less commission) and its equity is ``cash + units * price`` with
    ``units < 0``. An entry the equity cannot pay (budget below the fixed commission) is skipped and
    retried at the next fill opportunity; a warning is logged.

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
    prices = _check_bars(bars)
    wanted = _check_target(target, bars.index)

    equity, position, fills, n_fills, trades, n_trades, n_skipped = simulate_target_kernel(
        prices["open"],
        prices["close"],
        wanted,
        fill_mode,
        # float() everywhere: an int here would make numba compile a second specialisation.
        float(costs.commission_rate),
        float(costs.commission_fixed),
        float(costs.slippage_rate),
        initial_cash,
        fraction,
    )
    if n_skipped:
        logger.warning(
            "%d entries were skipped because %s of the equity could not pay the fixed commission "
            "of %s; lower CostModel.commission_fixed or raise initial_cash",
            n_skipped,
            fraction,
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
        bad = np.flatnonzero(~(np.isfinite(array) & (array > 0)))
        if bad.size:
            row = int(bad[0])
            raise BacktestError(
                f"bars column {column!r} must hold finite prices > 0, but row {row} ({index[row]}) has "
                f"{float(array[row])!r} ({bad.size} such row(s) in all); "
                "repair or drop those bars before backtesting"
            )
        prices[column] = array
    return prices


def _check_target(target: object, index: pd.DatetimeIndex) -> np.ndarray:
    """The target as a float64 array of -1, 0, +1, one per bar, or a BacktestError."""
    n = len(index)
    if isinstance(target, pd.Series):
        if len(target) != n:
            raise BacktestError(f"target has {len(target)} values but bars have {n} rows; give one per bar")
        if not target.index.equals(index):
            differs = np.flatnonzero(target.index != index) if len(target.index) == n else np.array([0])
            row = int(differs[0]) if differs.size else 0
            raise BacktestError(
                f"target's index differs from the bars' index at row {row}: target has "
                f"{target.index[row]!r}, bars have {index[row]!r}; build the target on bars.index "
                "(a shifted or re-sorted target would trade on the wrong bars)"
            )
        values = target.to_numpy()
    elif isinstance(target, np.ndarray):
        if target.ndim != 1:
            raise BacktestError(f"target must be 1-D, got an array of shape {target.shape}")
        if target.shape[0] != n:
            raise BacktestError(f"target has {target.shape[0]} values but bars have {n} rows; give one per bar")
        values = target
    else:
        raise BacktestError(
            f"target must be a pandas Series on the bars' index or a numpy array, got {type(target).__name__}"
        )
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
            f"({index[row]}) ({bad.size} such row(s) in all); for partial positions use the fraction argument"
        )
    return array


def _fills_frame(fills: tuple[np.ndarray, ...], n_fills: int, index: pd.DatetimeIndex) -> pd.DataFrame:
    bar, side, price, quantity, commission, at_end = (a[:n_fills] for a in fills)
    return pd.DataFrame(
        {
            "time": index[bar],
            "side": pd.array(np.where(side > 0, "buy", "sell"), dtype="str"),
            "price": price,
            "quantity": quantity,
            "commission": commission,
            "closed_at_end": at_end,
        }
    )


def _trades_frame(trades: tuple[np.ndarray, ...], n_trades: int, index: pd.DatetimeIndex, fill: str) -> pd.DataFrame:
    (entry_bar, exit_bar, side, entry_price, exit_price, quantity, pnl, return_pct, costs, at_end) = (
        a[:n_trades] for a in trades
    )
    return pd.DataFrame(
        {
            "entry_time": index[entry_bar],
            "exit_time": index[exit_bar],
            "side": pd.array(np.where(side > 0, "long", "short"), dtype="str"),
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
        }
    )
