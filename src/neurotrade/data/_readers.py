"""Read OHLCV bars from CSV (plain or gzip) and Parquet files into the OHLCV contract."""

from __future__ import annotations

import difflib
import gzip
import logging
import re
import warnings
import zoneinfo
from collections.abc import Callable, Iterable
from functools import cache
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.errors import OutOfBoundsDatetime

from neurotrade.data import _plausible, _repairs
from neurotrade.data._frame import (
    INDEX_NAME,
    OHLCV_COLUMNS,
    TIME_UNIT,
    Rows,
    order_problems,
    raise_problems,
    value_problems,
)
from neurotrade.data._plausible import DEFAULT_MAX_MOVE
from neurotrade.data._repairs import ADJ_CLOSE, Repair
from neurotrade.errors import DataError

__all__ = ["read_ohlcv"]

_log = logging.getLogger(__name__)

# Column names after normalisation (lower case, runs of other characters as one "_") -> contract name.
_ALIASES: dict[str, tuple[str, ...]] = {
    "time": ("time", "date", "datetime", "timestamp", "t", "dt", "date_time", "open_time", "time_utc"),
    "open": ("open", "o", "open_price", "openprice", "opening_price", "op"),
    "high": ("high", "h", "high_price", "highprice", "hi", "max"),
    "low": ("low", "l", "low_price", "lowprice", "lo", "min"),
    "close": ("close", "c", "close_price", "closeprice", "closing_price", "last", "last_price"),
    "volume": ("volume", "vol", "v", "volume_traded", "volumes"),
    ADJ_CLOSE: ("adj_close", "adjclose", "adjusted_close", "adj_close_price", "adjclose_price", "adj_price"),
    "symbol": ("symbol", "ticker", "sym", "instrument", "ric", "code"),
}
_CANONICAL = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}
_REQUIRED = ("time", *OHLCV_COLUMNS)

# pandas' name for a header cell left empty, as `df.to_csv()` leaves the index's: 'Unnamed: 0'.
_UNNAMED = re.compile(r"Unnamed: 0")

_PARQUET_SUFFIXES = (".parquet", ".pq")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz")

# A UTC offset (or Z) after a time of day: '...T09:30:00+02:00', '...09:30Z', '...09:30:00.5-0500'.
_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)

# Epoch magnitudes: anything below 1e11 is seconds (until year 5138), below 1e14 milliseconds, ...
_EPOCH_UNITS = ((1e11, "s", "seconds"), (1e14, "ms", "milliseconds"), (1e17, "us", "microseconds"))


def read_ohlcv(
    path: str | PathLike[str],
    *,
    symbol: str | None = None,
    timezone: str = "UTC",
    repair: Iterable[str] = (),
    on_repair: Callable[[Repair], None] | None = None,
    max_move: float | None = DEFAULT_MAX_MOVE,
) -> pd.DataFrame:
    """Read OHLCV bars from a CSV (``.csv``, ``.csv.gz``) or Parquet file into an OHLCV frame.

    Column names are normalised: ``Open``, ``OPEN``, ``o`` and ``open_price`` all become ``open``;
    ``Date``, ``Datetime``, ``timestamp``, ``time`` or ``t`` hold the bar's **open** time; ``Vol`` or
    ``v`` the volume; ``Adj Close`` an adjusted close; ``Ticker`` or ``symbol`` the symbol. Other
    columns are dropped. Times may be dates, ISO 8601 strings with or without a UTC offset, or epoch
    seconds or milliseconds (told apart by magnitude); naive times are taken to be in ``timezone``.
    The result is in UTC.

    Nothing is changed silently: every breach of the contract raises
    :class:`~neurotrade.errors.DataError` naming the file and the line, unless a repair is asked for.
    Beyond the contract, prices must be plausible: no bar's open, high, low or close may lie beyond
    ``max_move`` times (or below ``1 / max_move`` times) the previous close. The one change made without
    asking is float noise: an open or close outside [low, high] by at most 1e-9 (relative), as adjusted
    prices often are, is clipped onto the bound and reported as a ``float-noise`` repair.

    Parameters
    ----------
    path
        A ``.csv``, ``.csv.gz`` (also ``.txt``/``.tsv``, gzipped or not) or ``.parquet`` file. The field
        separator of text files (comma, semicolon, tab or bar) is taken from the header line.
    symbol
        Which symbol to keep when the file holds several (a ticker column); case-insensitive. Ignored
        when the file has no ticker column.
    timezone
        IANA zone (``"America/New_York"``) of times written without an offset.
    repair
        Repairs to apply, each reported: ``"sort"`` (order the rows by time), ``"dedupe"`` (drop rows
        that repeat an earlier row exactly; rows sharing a time with different values stay an error),
        ``"split-adjust"`` (multiply open, high, low, close by ``adj_close / close`` and divide volume
        by it, naming the splits found; needs an adjusted-close column), ``"implausible-drop"`` (drop
        runs of up to 5 bars whose prices lie beyond ``max_move`` from the bars around them: bad ticks; a
        lasting change of level stays an error).
    on_repair
        Called with a :class:`Repair` for each repair applied, after it is logged at WARNING on the
        ``neurotrade.data`` logger.
    max_move
        The largest plausible ratio between a bar's prices and the previous close, either way (10: from
        x0.1 to x10). ``None`` turns the check off. Applied after split-adjust.

    Returns
    -------
    pandas.DataFrame
        An OHLCV frame (see :func:`validate_ohlcv`).

    Raises
    ------
    DataError
        The file is missing, empty or unreadable, a column is missing, a symbol is not in the file,
        a cell is not a number or a time (or a time outside the years 1678 to 2261), the bars break the
        contract, or prices move implausibly. A file with an adjusted-close column whose prices show splits
        is refused unless ``split-adjust`` is asked for.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "bars.csv"
    >>> _ = path.write_text("Date,Open,High,Low,Close,Volume\\n"
    ...                     "2024-01-03,11,12.5,10.5,12,2000\\n"
    ...                     "2024-01-02,10,12,9.5,11,1000\\n")
    >>> df = read_ohlcv(path, repair=["sort"])
    >>> df["close"].tolist(), str(df.index[0])
    ([11.0, 12.0], '2024-01-02 00:00:00+00:00')
    """
    path = Path(path)
    source = str(path)
    repairs = _repairs.parse_repairs(repair)
    tz = _zone(timezone)
    bound = _plausible.check_max_move(max_move)
    raw, rows = _read_table(path, source)
    columns = _map_columns(raw, source, split_adjust="split-adjust" in repairs)
    raw, rows, chosen = _select_symbol(raw, rows, columns.get("symbol"), symbol, source)
    if chosen is not None:
        source = f"{source} ({chosen})"
    times = _parse_times(raw, columns["time"], rows, tz, source)
    numeric = [*OHLCV_COLUMNS, ADJ_CLOSE] if ADJ_CLOSE in columns else list(OHLCV_COLUMNS)
    values, problems = {}, []
    for name in numeric:
        col, problem = _to_float(raw[columns[name]], columns[name], rows, times)
        values[name] = col
        if problem and (name != ADJ_CLOSE or "split-adjust" in repairs):
            problems.append(problem)
    raise_problems(source, problems)
    frame = pd.DataFrame(values, index=times)

    if "dedupe" in repairs:
        frame, rows, done = _repairs.dedupe(frame, rows, source)
        if done:
            _repairs.report(done, on_repair)
    if "sort" in repairs:
        frame, rows, done = _repairs.sort(frame, rows, source)
        if done:
            _repairs.report(done, on_repair)

    frame, done = _plausible.clip_float_noise(frame, rows, source)
    if done:
        _repairs.report(done, on_repair)
    bars = frame[list(OHLCV_COLUMNS)]
    problems = value_problems(bars, rows)
    problems += order_problems(frame.index, rows, frame.to_numpy(dtype=np.float64), repairable=True)
    if "split-adjust" in repairs:
        adj = frame[ADJ_CLOSE].to_numpy()
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero(~(adj > 0))
        if len(bad):
            problems.append(
                f"{columns[ADJ_CLOSE]!r} is not a positive number {rows.at(bad, frame.index)}; "
                "split-adjust divides by it. Fix the source data."
            )
    raise_problems(source, problems)

    if "split-adjust" in repairs:
        frame, done = _repairs.split_adjust(frame, source, columns[ADJ_CLOSE])
        if done:
            _repairs.report(done, on_repair)
    elif ADJ_CLOSE in frame:
        _refuse_unadjusted(frame, source, columns[ADJ_CLOSE])
        _log.debug("%s: dropped the adjusted-close column %r", source, columns[ADJ_CLOSE])
        frame = frame.drop(columns=[ADJ_CLOSE])
    else:
        _warn_of_unadjusted_splits(frame, source)

    # After split-adjust: raw prices may jump at a split that the adjusted ones no longer show.
    if "implausible-drop" in repairs:
        frame, rows, done = _plausible.drop_implausible(frame, rows, source, bound)
        if done:
            _repairs.report(done, on_repair)
    raise_problems(source, _plausible.move_problems(frame, rows, bound, after_drop="implausible-drop" in repairs))
    return frame


def _warn_of_unadjusted_splits(frame: pd.DataFrame, source: str) -> None:
    """Without an adjusted close nothing can be repaired, but a gap shaped like a split deserves a warning."""
    suspects = _repairs.suspected_splits(frame)
    if suspects:
        _log.warning(
            "%s: overnight gaps on %s match common split ratios; if these are unadjusted splits, every indicator "
            "and label sees a crash that did not happen. Use a file with an adjusted-close column and "
            "split-adjust (strategy: data.repair: [split-adjust]; CLI: --repair split-adjust)",
            source,
            ", ".join(map(str, suspects)),
        )


def _zone(timezone: str) -> str:
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as e:
        close = difflib.get_close_matches(str(timezone), sorted(_zones()), n=3)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise DataError(
            f"unknown time zone {timezone!r}.{hint} Use an IANA name such as 'UTC' or 'America/New_York'."
        ) from e
    return timezone


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _read_table(path: Path, source: str) -> tuple[pd.DataFrame, Rows]:
    """The file's cells as pandas reads them, and how to name each row in messages."""
    if not path.exists():
        raise DataError(f"{source}: no such file. Check the path.")
    if path.is_dir():
        raise DataError(f"{source}: is a directory, not a CSV or Parquet file.")
    name = path.name.lower()
    if name.endswith(_PARQUET_SUFFIXES):
        return _read_parquet(path, source)
    if name.endswith(_CSV_SUFFIXES) or name.endswith(".gz"):
        return _read_csv(path, source)
    raise DataError(
        f"{source}: unknown file type; neurotrade reads .csv, .csv.gz and .parquet files. "
        "Rename the file if it is one of these."
    )


def _read_csv(path: Path, source: str) -> tuple[pd.DataFrame, Rows]:
    try:
        sep = _separator(path)
        # Blank lines are kept as empty rows (and dropped below) so that row k stays on line k + 2.
        raw = pd.read_csv(path, sep=sep, skip_blank_lines=False)
    except pd.errors.EmptyDataError as e:
        raise DataError(f"{source}: the file is empty. Export the data again with a header line.") from e
    except pd.errors.ParserError as e:
        raise DataError(f"{source}: cannot be read as CSV ({e}). Fix the line named.") from e
    except UnicodeDecodeError as e:
        raise DataError(f"{source}: is not UTF-8 text ({e}). Save it as UTF-8 CSV.") from e
    except (OSError, EOFError) as e:
        raise DataError(f"{source}: cannot be read ({e}).") from e
    lines = np.arange(len(raw), dtype=np.int64) + 2
    blank = raw.isna().all(axis=1).to_numpy()
    if blank.any():
        raw = raw.iloc[np.flatnonzero(~blank)].reset_index(drop=True)
        lines = lines[~blank]
    if raw.empty:
        raise DataError(f"{source}: the file has a header but no rows of data.")
    return raw, Rows("line", lines)


def _separator(path: Path) -> str:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        header = f.readline()
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def _read_parquet(path: Path, source: str) -> tuple[pd.DataFrame, Rows]:
    try:
        raw = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as e:
        raise DataError(f"{source}: cannot be read as Parquet ({e}).") from e
    if isinstance(raw.index, pd.DatetimeIndex):
        raw = raw.reset_index(names=raw.index.name or INDEX_NAME)
    else:
        raw = raw.reset_index(drop=True)
    if raw.empty:
        raise DataError(f"{source}: the file holds no rows of data.")
    return raw, Rows.positions(len(raw))


def _normalise(name: object) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def _map_columns(raw: pd.DataFrame, source: str, *, split_adjust: bool) -> dict[str, str]:
    """Contract name -> the file's column name; a ``date`` and a ``time`` column are joined first."""
    found: dict[str, list[str]] = {}
    for col in raw.columns:
        canonical = _CANONICAL.get(_normalise(col))
        if canonical:
            found.setdefault(canonical, []).append(str(col))
    times = found.get("time", [])
    if len(times) == 2 and {_normalise(c) for c in times} == {"date", "time"}:
        date_col, time_col = sorted(times, key=lambda c: _normalise(c) != "date")
        joined = f"{date_col} {time_col}"
        raw[joined] = raw[date_col].astype("str") + " " + raw[time_col].astype("str")
        raw.loc[raw[date_col].isna() | raw[time_col].isna(), joined] = pd.NA
        found["time"] = [joined]
    if "time" not in found:
        index_column = _unnamed_index(raw)
        if index_column is not None:
            _log.debug("%s: the unnamed first column holds the times (a pandas index written to CSV)", source)
            found["time"] = [index_column]
    clashes = [f"{', '.join(map(repr, cols))} all mean {name!r}" for name, cols in found.items() if len(cols) > 1]
    if clashes:
        raise DataError(f"{source}: {'; '.join(clashes)}. Keep one of each in the file (or rename the others).")
    columns = {name: cols[0] for name, cols in found.items()}
    missing = [name for name in _REQUIRED if name not in columns]
    if split_adjust and ADJ_CLOSE not in columns:
        missing.append(ADJ_CLOSE)
    if missing:
        raise DataError(_missing_message(source, raw, columns, missing))
    extra = [str(c) for c in raw.columns if str(c) not in columns.values()]
    if extra:
        _log.debug("%s: ignoring columns %s", source, ", ".join(extra))
    return columns


def _unnamed_index(raw: pd.DataFrame) -> str | None:
    """The first column when it has no name (``df.to_csv()`` writes the index so: ``,Open,High,...``) and does
    not just count rows; pandas reads such a header as ``Unnamed: 0``."""
    first = str(raw.columns[0])
    if first.strip() and not _UNNAMED.fullmatch(first):
        return None
    col = raw[raw.columns[0]]
    if pd.api.types.is_integer_dtype(col.dtype) and np.array_equal(col.to_numpy(), np.arange(len(col))):
        return None  # a RangeIndex: row numbers 0, 1, 2 ..., not times
    return first


def _missing_message(source: str, raw: pd.DataFrame, columns: dict[str, str], missing: list[str]) -> str:
    unused = [str(c) for c in raw.columns if str(c) not in columns.values()]
    parts = []
    for name in missing:
        aliases = ", ".join(_ALIASES[name][:4])
        text = f"no {name!r} column (name it one of {aliases}"
        if name == ADJ_CLOSE:
            text = f"no adjusted-close column, which split-adjust needs (name it one of {aliases}"
        by_alias = {_normalise(c): c for c in unused}
        close = difflib.get_close_matches(_normalise(name), list(by_alias), n=1, cutoff=0.6)
        close = close or difflib.get_close_matches(
            _ALIASES[name][0], [a for a in by_alias if len(a) > 2], n=1, cutoff=0.6
        )
        text += f"; did you mean {by_alias[close[0]]!r}?)" if close else ")"
        parts.append(text)
    found = ", ".join(str(c) for c in raw.columns)
    return f"{source}: {'; '.join(parts)}. The file's columns are: {found}."


def _select_symbol(
    raw: pd.DataFrame, rows: Rows, column: str | None, symbol: str | None, source: str
) -> tuple[pd.DataFrame, Rows, str | None]:
    """The rows of one symbol of a file with a ticker column, and that symbol (None without the column)."""
    if column is None:
        return raw, rows, None
    tickers = raw[column].astype("str").str.strip().str.upper()
    present = sorted(set(tickers[raw[column].notna()]))
    if symbol is None:
        if len(present) == 1:
            return raw, rows, present[0]
        raise DataError(
            f"{source}: holds {len(present)} symbols ({', '.join(present)}) in column {column!r}; "
            "choose one with symbol=... (CLI: --symbol)."
        )
    wanted = symbol.strip().upper()
    if wanted not in present:
        close = difflib.get_close_matches(wanted, present, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"{source}: no rows for symbol {symbol!r} in column {column!r}.{hint} "
            f"Symbols in the file: {', '.join(present)}."
        )
    keep = np.flatnonzero((tickers == wanted).to_numpy())
    return raw.iloc[keep].reset_index(drop=True), rows.take(keep), wanted


def _parse_times(raw: pd.DataFrame, column: str, rows: Rows, tz: str, source: str) -> pd.DatetimeIndex:
    """The bars' open times in UTC; every cell that is not a time is an error naming its row."""
    col = raw[column]
    empty = col.isna().to_numpy()
    if pd.api.types.is_string_dtype(col.dtype) or col.dtype == object:
        empty = empty | (col.astype("str").str.strip() == "").to_numpy()
    if empty.any():
        raise DataError(
            f"{source}: the time ({column!r}) is empty {rows.at(np.flatnonzero(empty))}. Fix the source data."
        )
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        times = pd.DatetimeIndex(col).tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(col.dtype):
        times = _localize(pd.DatetimeIndex(col), tz, rows, source, column)
    elif pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        times = _numeric_times(col, tz, rows, source, column)
    else:
        times = _string_times(col.astype("str").str.strip(), tz, rows, source, column)
    times = pd.DatetimeIndex(times, name=INDEX_NAME).as_unit(TIME_UNIT)
    _check_time_range(times, col, rows, source, column)
    return times


# Every later stage may count time in nanoseconds (pandas' widest common unit), which spans 1677-09-21 to
# 2262-04-11; a time outside that is a typo in the year or an epoch in the wrong unit, never a real bar.
_FIRST_TIME = pd.Timestamp("1678-01-01", tz="UTC")
_LAST_TIME = pd.Timestamp("2262-01-01", tz="UTC")


def _check_time_range(times: pd.DatetimeIndex, col: pd.Series, rows: Rows, source: str, column: str) -> None:
    outside = np.flatnonzero(np.asarray((times < _FIRST_TIME) | (times >= _LAST_TIME)))
    if len(outside):
        first = int(outside[0])
        cell = col.iloc[first]
        shown = repr(cell) if isinstance(cell, str) else str(cell)
        raise DataError(
            f"{source}: the time {shown} in {column!r} ({times[first].strftime('%Y-%m-%d')}) "
            f"{rows.at(outside)} is outside the years neurotrade handles (1678 to 2261). "
            "Fix the date in the source (a typo in the year? an epoch in milliseconds read as seconds?)."
        )


def _localize(naive: pd.DatetimeIndex, tz: str, rows: Rows, source: str, column: str) -> pd.DatetimeIndex:
    local = naive.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    lost = np.flatnonzero(local.isna() & ~naive.isna())
    if len(lost):
        raise DataError(
            f"{source}: the time ({column!r}) does not exist or is ambiguous in {tz} (a daylight-saving "
            f"change) {rows.at(lost, naive)}. Export the times in UTC or with their UTC offset."
        )
    return local.tz_convert("UTC")


def _numeric_times(col: pd.Series, tz: str, rows: Rows, source: str, column: str) -> pd.DatetimeIndex:
    values = col.to_numpy(dtype=np.float64)
    integral = np.all(values == np.round(values))
    if integral and values.min() >= 19000101 and values.max() <= 21001231:
        as_dates = pd.to_datetime(col.astype("int64").astype("str"), format="%Y%m%d", errors="coerce")
        if not as_dates.isna().any():
            _log.debug("%s: %r holds dates written as YYYYMMDD numbers", source, column)
            return _localize(pd.DatetimeIndex(as_dates), tz, rows, source, column)
    magnitude = np.abs(values)
    unit_of = np.full(len(values), len(_EPOCH_UNITS), dtype=np.int64)
    for k, (limit, _, _) in reversed(list(enumerate(_EPOCH_UNITS))):
        unit_of[magnitude < limit] = k
    units = [*(u for _, u, _ in _EPOCH_UNITS), "ns"]
    words = [*(w for _, _, w in _EPOCH_UNITS), "nanoseconds"]
    majority = int(np.bincount(unit_of).argmax())
    odd = np.flatnonzero(unit_of != majority)
    if len(odd):
        raise DataError(
            f"{source}: {column!r} mixes epoch units: most times are in {words[majority]}, but not the "
            f"value {col.iloc[int(odd[0])]} {rows.at(odd)}. Write every time in the same unit."
        )
    _log.debug("%s: %r holds epoch %s (told by magnitude)", source, column, words[majority])
    # Integers go through as integers: a float cannot hold every millisecond since 1970 exactly.
    data = col.to_numpy(dtype=np.int64) if integral and np.abs(values).max() < 2**53 else values
    try:
        return pd.DatetimeIndex(pd.to_datetime(data, unit=units[majority], utc=True))
    except (OutOfBoundsDatetime, OverflowError) as e:
        # Beyond what a 64-bit count of nanoseconds holds: name the largest value, the likeliest culprit.
        worst = int(np.argmax(magnitude))
        raise DataError(
            f"{source}: the time {col.iloc[worst]} in {column!r} {rows.at([worst])} is too far from 1970 as "
            f"epoch {words[majority]} to be a date neurotrade handles (1678 to 2261). Fix the source data."
        ) from e


def _string_times(text: pd.Series, tz: str, rows: Rows, source: str, column: str) -> pd.DatetimeIndex:
    offset = text.str.contains(_OFFSET).to_numpy()
    if offset.any() and not offset.all():
        first = int(np.flatnonzero(offset != offset[0])[0])
        raise DataError(
            f"{source}: {column!r} mixes times with and without a UTC offset: {rows.unit} "
            f"{rows.numbers[0]} ({text.iloc[0]}) vs {rows.unit} {rows.numbers[first]} ({text.iloc[first]}). "
            "Write all times with an offset, or all without (and pass timezone=...)."
        )
    aware = bool(offset.all())
    parsed = pd.to_datetime(text, format="ISO8601", utc=aware, errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        # Not ISO 8601 everywhere: let pandas infer one format from the first value ('01/17/2020').
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                inferred = pd.to_datetime(text, utc=aware, errors="coerce")
            except (ValueError, TypeError):
                inferred = None
        if inferred is not None and not inferred.isna().any():
            _log.debug("%s: %r is not ISO 8601; parsed with a format inferred from its first value", source, column)
            parsed, bad = inferred, np.zeros(len(text), dtype=bool)
    if bad.any():
        where = np.flatnonzero(bad)
        raise DataError(
            f"{source}: cannot read {text.iloc[int(where[0])]!r} in {column!r} as a time "
            f"{rows.at(where)}. Write times as ISO 8601 ('2020-01-17', '2020-01-17T09:30:00+01:00') "
            "or epoch seconds."
        )
    times = pd.DatetimeIndex(parsed)
    if aware:
        return times.tz_convert("UTC")
    return _localize(times, tz, rows, source, column)


def _to_float(col: pd.Series, name: str, rows: Rows, times: pd.DatetimeIndex) -> tuple[np.ndarray, str | None]:
    """The column as float64, NaN where empty; and a problem line if some cell is not a number."""
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64, na_value=np.nan), None
    text = col.astype("str").str.strip()
    empty = col.isna() | (text == "")
    numbers = pd.to_numeric(text.where(~empty), errors="coerce")
    bad = np.flatnonzero((numbers.isna() & ~empty).to_numpy())
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    if not len(bad):
        return values, None
    return values, (
        f"{name!r} holds a value that is not a number ({text.iloc[int(bad[0])]!r}) "
        f"{rows.at(bad, times)}. Fix the source data; neurotrade does not guess prices."
    )


def _refuse_unadjusted(frame: pd.DataFrame, source: str, adj_label: str) -> None:
    """An adjusted close that shows splits means the raw prices jump at them: refuse to use them."""
    adj = frame[ADJ_CLOSE].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(adj > 0, adj / frame["close"].to_numpy(), np.nan)
    splits, _ = _repairs.find_splits(frame, factor)
    if splits:
        raise DataError(
            f"{source}: the prices are not split-adjusted: {adj_label!r} shows "
            f"{'a split' if len(splits) == 1 else f'{len(splits)} splits'} on "
            f"{', '.join(map(str, splits))} where the raw prices jump. Pass repair=['split-adjust'] "
            "(CLI: --repair split-adjust; strategy: data.repair: [split-adjust]) to adjust open, high, low, close "
            "and volume."
        )
