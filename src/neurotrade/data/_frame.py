"""The OHLCV contract and the checks that enforce it, with messages that name the offending rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from neurotrade.errors import DataError

__all__ = ["OHLCV_COLUMNS", "validate_ohlcv"]

OHLCV_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
INDEX_NAME = "time"
TIME_UNIT = "us"  # pandas 3's default resolution; every frame neurotrade builds uses it

_NO_GUESS = "Fix the source data; neurotrade does not guess prices."
_SHOWN = 5  # offending rows named in a message; the rest are counted


@dataclass(frozen=True)
class Rows:
    """How messages name the rows of one frame: ``line 17`` of a CSV file, ``row 16`` elsewhere.

    ``numbers[i]`` is the name of the frame's i-th row: a 1-based physical line for CSV files (the
    header is line 1), the 0-based position for frames and Parquet files (as ``df.iloc`` counts).
    """

    unit: str
    numbers: np.ndarray

    @classmethod
    def positions(cls, n: int) -> Rows:
        return cls("row", np.arange(n, dtype=np.int64))

    def take(self, positions: np.ndarray) -> Rows:
        return Rows(self.unit, self.numbers[positions])

    def at(self, positions: Sequence[int] | np.ndarray, times: Sequence[object] | None = None) -> str:
        """``at line 17 (2020-01-17) and 2 more rows (lines 40, 52)`` for the given row positions."""
        pos = np.asarray(positions, dtype=np.int64)
        first = int(pos[0])
        text = f"at {self.unit} {self.numbers[first]}"
        if times is not None:
            text += f" ({format_time(times[first])})"
        rest = pos[1:]
        if len(rest):
            listed = ", ".join(str(self.numbers[p]) for p in rest[: _SHOWN - 1])
            more = ", ..." if len(rest) > _SHOWN - 1 else ""
            plural = "s" if len(rest) > 1 else ""
            text += f" and {len(rest)} more row{plural} ({self.unit}{plural} {listed}{more})"
        return text


def format_time(value: object) -> str:
    """A timestamp as a reader would write it: the date alone for midnight, else date and time."""
    if isinstance(value, pd.Timestamp):
        if value == value.normalize():
            return value.strftime("%Y-%m-%d")
        return str(value)
    return str(value)


def validate_ohlcv(df: pd.DataFrame, source: str = "<frame>") -> None:
    """Check that ``df`` is an OHLCV frame; raise :class:`~neurotrade.errors.DataError` if it is not.

    The contract every stage of neurotrade relies on:

    - the index is a tz-aware UTC :class:`pandas.DatetimeIndex` named ``time``, strictly increasing
      (so unique); the time of a bar is the bar's **open** time;
    - the columns are exactly ``open, high, low, close, volume``, in that order, all float64;
    - no NaN or infinity, prices > 0, ``volume >= 0``,
      ``low <= min(open, close)`` and ``max(open, close) <= high``.

    Parameters
    ----------
    df
        The frame to check.
    source
        Where the frame came from, used to start the message (a file name, a symbol).

    Raises
    ------
    DataError
        Naming the source, what is wrong, the first (up to 5) offending rows (0-based positions, as
        ``df.iloc`` counts them, with their times) and how to fix it. Every breach found is listed,
        one per line.

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.DatetimeIndex(["2024-01-02", "2024-01-03"], tz="UTC", name="time")
    >>> df = pd.DataFrame({"open": [10.0, 11.0], "high": [12.0, 12.5], "low": [9.5, 10.5],
    ...                    "close": [11.0, 12.0], "volume": [1e6, 2e6]}, index=idx)
    >>> validate_ohlcv(df)
    >>> validate_ohlcv(df.assign(high=[12.0, 10.0]))
    Traceback (most recent call last):
    ...
    neurotrade.errors.DataError: <frame>: 'high' is below 'low' at row 1 (2024-01-03). ...
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{source}: expected a pandas DataFrame of OHLCV bars, got {type(df).__name__}.")
    _check_structure(df, source)
    rows = Rows.positions(len(df))
    values = df.to_numpy(dtype=np.float64)
    problems = value_problems(df, rows) + order_problems(df.index, rows, values, repairable=False)
    raise_problems(source, problems)


def raise_problems(source: str, problems: list[str]) -> None:
    """Raise one DataError holding every problem found, each on its own line starting with ``source``."""
    if problems:
        raise DataError("\n".join(f"{source}: {p}" for p in problems))


def _check_structure(df: pd.DataFrame, source: str) -> None:
    idx = df.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise DataError(
            f"{source}: the index must be a DatetimeIndex of bar open times, got {type(idx).__name__}. "
            "Fix: df = df.set_index(pd.DatetimeIndex(df.pop('time'), tz='UTC'))."
        )
    if idx.tz is None:
        raise DataError(
            f"{source}: the index has no time zone. Fix: df.index = df.index.tz_localize('UTC') "
            "(or tz_localize('<the zone the times are in>').tz_convert('UTC'))."
        )
    if str(idx.tz) != "UTC":
        raise DataError(f"{source}: the index is in {idx.tz}, not UTC. Fix: df = df.tz_convert('UTC').")
    if idx.name != INDEX_NAME:
        raise DataError(
            f"{source}: the index is named {idx.name!r}, expected {INDEX_NAME!r}. Fix: df.index.name = {INDEX_NAME!r}."
        )
    columns = [str(c) for c in df.columns]
    if columns != list(OHLCV_COLUMNS):
        missing = [c for c in OHLCV_COLUMNS if c not in columns]
        extra = [c for c in columns if c not in OHLCV_COLUMNS]
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing)}")
        if extra:
            detail.append(f"unexpected {', '.join(extra)}")
        if not detail:
            detail.append("wrong order")
        raise DataError(
            f"{source}: the columns must be exactly {', '.join(OHLCV_COLUMNS)} in that order; got "
            f"{', '.join(columns) or 'none'} ({'; '.join(detail)}). "
            f"Fix: df = df[{list(OHLCV_COLUMNS)!r}] after renaming or adding what is missing."
        )
    wrong = [f"{c} ({df[c].dtype})" for c in OHLCV_COLUMNS if df[c].dtype != np.float64]
    if wrong:
        raise DataError(
            f"{source}: every column must be float64; {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} "
            "not. Fix: df = df.astype('float64')."
        )


def value_problems(df: pd.DataFrame, rows: Rows) -> list[str]:
    """Breaches of the value rules (NaN, infinity, signs, high/low envelope), one line each."""
    times = df.index
    problems: list[str] = []
    bad = np.zeros(len(df), dtype=bool)  # rows already reported, so the envelope checks skip them
    for col in OHLCV_COLUMNS:
        values = df[col].to_numpy(dtype=np.float64)
        nan = np.isnan(values)
        if nan.any():
            fix = _NO_GUESS if col != "volume" else "Fix the source data; neurotrade does not fill gaps."
            problems.append(f"{col!r} is empty or NaN {rows.at(np.flatnonzero(nan), times)}. {fix}")
        inf = np.isinf(values)
        if inf.any():
            problems.append(f"{col!r} is not finite {rows.at(np.flatnonzero(inf), times)}. {_NO_GUESS}")
        bad |= nan | inf
        with np.errstate(invalid="ignore"):
            if col == "volume":
                negative = values < 0
                if negative.any():
                    problems.append(
                        f"'volume' is negative {rows.at(np.flatnonzero(negative), times)}. Fix the source data."
                    )
            else:
                nonpositive = values <= 0
                if nonpositive.any():
                    problems.append(
                        f"{col!r} is not positive {rows.at(np.flatnonzero(nonpositive), times)}. {_NO_GUESS}"
                    )
                    bad |= nonpositive
    o, h, lo, c = (df[col].to_numpy(dtype=np.float64) for col in PRICE_COLUMNS)
    inverted = ~bad & (h < lo)
    ok = ~bad & ~inverted  # open and close cannot fit between an inverted high and low: one report
    checks = (
        ("'high' is below 'low'", inverted),
        ("'open' is outside ['low', 'high']", ok & ((o < lo) | (o > h))),
        ("'close' is outside ['low', 'high']", ok & ((c < lo) | (c > h))),
    )
    for what, mask in checks:
        if mask.any():
            problems.append(f"{what} {rows.at(np.flatnonzero(mask), times)}. {_NO_GUESS}")
    return problems


def order_problems(index: pd.DatetimeIndex, rows: Rows, values: np.ndarray, *, repairable: bool) -> list[str]:
    """Missing, unsorted and repeated times, one line each.

    ``repairable`` says whether the fix is a reader repair (files) or pandas code (frames). ``values``
    (the bars' numbers, one row per bar) tell an exact duplicate row from a conflicting one.
    """
    t = index.asi8
    nat = index.isna()
    if nat.any():
        return [f"the time is missing {rows.at(np.flatnonzero(nat))}. Fix the source data."]
    if len(t) < 2:
        return []
    step = np.diff(t)
    back = np.flatnonzero(step < 0) + 1
    if len(back):
        first = int(back[0])
        fix = (
            "Pass repair=['sort'] (CLI: --repair sort; strategy: data.repair: [sort]) to sort the rows by time."
            if repairable
            else "Fix: df = df.sort_index()."
        )
        return [
            f"the times are not in increasing order {rows.at(back, index)}, which comes after "
            f"{format_time(index[first - 1])} ({rows.unit} {rows.numbers[first - 1]}). {fix}"
        ]
    repeat = np.flatnonzero(step == 0) + 1
    if not len(repeat):
        return []
    a, b = values[repeat], values[repeat - 1]
    same = ((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)
    problems = []
    exact, conflicting = repeat[same], repeat[~same]
    if len(exact):
        fix = (
            "Pass repair=['dedupe'] (CLI: --repair dedupe; strategy: data.repair: [dedupe]) to drop them."
            if repairable
            else "Fix: df = df[~df.index.duplicated()]."
        )
        problems.append(f"duplicate rows (same time and values) {rows.at(exact, index)}. {fix}")
    if len(conflicting):
        first = int(conflicting[0])
        fix = (
            "neurotrade does not choose between them: remove the wrong rows from the source."
            if repairable
            else "Keep the right row for each time, e.g. df = df[~df.index.duplicated(keep='last')]."
        )
        problems.append(
            f"the same time appears twice with different values {rows.at(conflicting, index)}, "
            f"the first also on {rows.unit} {rows.numbers[first - 1]}. {fix}"
        )
    return problems
