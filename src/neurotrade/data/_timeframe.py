"""Timeframes ('1m' ... '1w'), inferring one from bar spacing, and resampling bars to a coarser one."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from neurotrade.data._frame import INDEX_NAME, OHLCV_COLUMNS, TIME_UNIT, format_time, validate_ohlcv
from neurotrade.data._repairs import Repair, report
from neurotrade.data._sessions import incomplete_periods
from neurotrade.errors import DataError

_log = logging.getLogger(__name__)

_INCOMPLETE = ("drop", "mark", "keep")
_LISTED = 5  # incomplete periods named in a report; the rest are counted

__all__ = ["TIMEFRAMES", "Timeframe", "infer_timeframe", "parse_timeframe", "resample"]


@dataclass(frozen=True)
class Timeframe:
    """A bar length neurotrade supports.

    Attributes
    ----------
    name
        The canonical spelling, used in file names and feature names: ``'1m'``, ``'4h'``, ``'1d'`` ...
    delta
        The nominal length of one bar (a daily bar is one day even though markets close at weekends).
    freq
        The pandas offset alias that bins bars of this length: ``'15min'``, ``'1D'``, ``'W-MON'`` ...
    """

    name: str
    delta: pd.Timedelta
    freq: str

    def __str__(self) -> str:
        return self.name


_ALL = (
    Timeframe("1m", pd.Timedelta(minutes=1), "1min"),
    Timeframe("5m", pd.Timedelta(minutes=5), "5min"),
    Timeframe("15m", pd.Timedelta(minutes=15), "15min"),
    Timeframe("30m", pd.Timedelta(minutes=30), "30min"),
    Timeframe("1h", pd.Timedelta(hours=1), "1h"),
    Timeframe("4h", pd.Timedelta(hours=4), "4h"),
    Timeframe("1d", pd.Timedelta(days=1), "1D"),
    # Weekly bins are [Monday 00:00, next Monday 00:00) labelled by their Monday.
    Timeframe("1w", pd.Timedelta(weeks=1), "W-MON"),
)
TIMEFRAMES: tuple[str, ...] = tuple(tf.name for tf in _ALL)
_BY_NAME = {tf.name: tf for tf in _ALL}
_BY_DELTA = {tf.delta: tf for tf in _ALL}

# An upper-case M is left out on purpose: '1M' means a month to pandas and to most data vendors.
_SPELLING = re.compile(r"^(\d+)\s*(m|min|mins|minute|minutes|h|H|hour|hours|d|D|day|days|w|W|week|weeks)$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_timeframe(value: str | Timeframe) -> Timeframe:
    """Parse a timeframe such as ``'1d'``; equivalent spellings (``'1D'``, ``'60m'``, ``'15min'``) are accepted.

    Parameters
    ----------
    value
        One of ``1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w``, another spelling of the same length, or a
        :class:`Timeframe` (returned as is).

    Returns
    -------
    Timeframe

    Raises
    ------
    DataError
        For any other length (with the closest supported spelling) or an unreadable string.

    Examples
    --------
    >>> parse_timeframe("60m").name
    '1h'
    >>> parse_timeframe("1d").delta
    Timedelta('1 days 00:00:00')
    """
    if isinstance(value, Timeframe):
        return value
    text = str(value).strip()
    if text in _BY_NAME:
        return _BY_NAME[text]
    match = _SPELLING.match(text)
    if match:
        unit = _UNITS[match.group(2)[0].lower()]
        found = _BY_DELTA.get(pd.Timedelta(**{unit: int(match.group(1))}))
        if found is not None:
            return found
    close = difflib.get_close_matches(text.lower(), TIMEFRAMES, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DataError(f"unknown timeframe {value!r}.{hint} Supported timeframes: {', '.join(TIMEFRAMES)}.")


def infer_timeframe(df: pd.DataFrame | pd.DatetimeIndex) -> str:
    """The timeframe of bars, from the median spacing of their times.

    The median ignores the gaps of nights, weekends and holidays: daily stock bars are one day apart
    most of the time.

    Parameters
    ----------
    df
        An OHLCV frame, or its index.

    Returns
    -------
    str
        The canonical timeframe name.

    Raises
    ------
    DataError
        With fewer than two bars, or when the median spacing is not a supported timeframe.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_timeframe(pd.bdate_range("2024-01-01", periods=10, tz="UTC"))
    '1d'
    """
    index = df if isinstance(df, pd.DatetimeIndex) else df.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(f"cannot infer a timeframe: the index is a {type(index).__name__}, not a DatetimeIndex.")
    if len(index) < 2:
        raise DataError(
            f"cannot infer a timeframe from {len(index)} bar{'s' if len(index) != 1 else ''}; "
            "give the timeframe explicitly (CLI: --timeframe)."
        )
    spacing = _median_spacing(index)
    found = _BY_DELTA.get(spacing)
    if found is None:
        raise DataError(
            f"cannot infer a timeframe: the bars are {spacing} apart (median), which is none of "
            f"{', '.join(TIMEFRAMES)}. Resample them to one of these first, or give the timeframe explicitly."
        )
    return found.name


def _median_spacing(index: pd.DatetimeIndex) -> pd.Timedelta:
    steps = np.diff(index.as_unit("ns").asi8)
    return pd.Timedelta(int(np.median(steps)), unit="ns")


def resample(
    df: pd.DataFrame,
    timeframe: str | Timeframe,
    *,
    incomplete: str = "drop",
    on_repair: Callable[[Repair], None] | None = None,
) -> pd.DataFrame:
    """Aggregate OHLCV bars into bars of a coarser timeframe.

    Each new bar takes the first open, highest high, lowest low, last close and summed volume of the
    bars whose open time falls in its period, and is labelled by the period's start (its open time):
    midnight UTC for ``1d``, Monday midnight UTC for ``1w``, multiples of the length from midnight
    UTC for intraday timeframes. Periods without bars (nights, weekends, holidays) are dropped, not
    filled.

    A period is **incomplete** when it lacks a bar that the data's own weekly session pattern expects
    (a gap in the data, or the data starting or ending inside it); :func:`find_gaps` describes how the
    pattern is learnt: hours that never trade, the first and last hour of a session (they move with
    daylight saving) and holidays of up to two whole days are not expected. By default such
    periods are dropped, and that is reported: logged at WARNING on ``neurotrade.data`` and passed to
    ``on_repair`` as a :class:`Repair` of kind ``"incomplete"`` naming each period and its bar count.

    Parameters
    ----------
    df
        An OHLCV frame (see :func:`validate_ohlcv`).
    timeframe
        The target timeframe; it must be at least as long as the bars' spacing.
    incomplete
        ``"drop"`` (default) drops incomplete periods, ``"mark"`` keeps them and lists their start times
        in ``result.attrs["incomplete"]``, both reporting them; ``"keep"`` keeps them without a word, for
        callers that handle partial periods themselves (the feature builder shows a coarser bar only once
        its period has closed, as the streaming engine does).
    on_repair
        Called with the report of dropped or marked periods, if any.

    Returns
    -------
    pandas.DataFrame
        An OHLCV frame.

    Raises
    ------
    DataError
        If ``df`` is not an OHLCV frame, the target is finer than the bars (that would invent
        prices between them), or ``incomplete`` is not one of the three choices.

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC", name="time")
    >>> bars = pd.DataFrame({"open": [1.0, 2.0, 3.0, 4.0], "high": [2.0, 3.0, 5.0, 4.5],
    ...                      "low": [0.5, 1.5, 2.5, 3.5], "close": [2.0, 3.0, 4.0, 4.0],
    ...                      "volume": [10.0, 20.0, 30.0, 40.0]}, index=idx)
    >>> resample(bars, "4h").iloc[0].tolist()
    [1.0, 5.0, 0.5, 4.0, 100.0]
    >>> len(resample(bars, "1d")), len(resample(bars, "1d", incomplete="keep"))  # 4 hours of a day
    (0, 1)
    """
    if incomplete not in _INCOMPLETE:
        close = difflib.get_close_matches(str(incomplete), _INCOMPLETE, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(f"incomplete must be one of {', '.join(map(repr, _INCOMPLETE))}, got {incomplete!r}.{hint}")
    validate_ohlcv(df, source="resample input")
    target = parse_timeframe(timeframe)
    spacing = None
    if len(df) >= 2:
        spacing = _median_spacing(df.index)
        if target.delta < spacing:
            have = _BY_DELTA.get(spacing)
            have_text = f"{have.name} bars" if have else f"bars {spacing} apart"
            raise DataError(
                f"cannot resample {have_text} to {target.name}: a finer timeframe would invent prices "
                f"between bars. Load {target.name} data instead, or resample to a timeframe of "
                f"{have.name if have else spacing} or longer."
            )
    bins = df.resample(target.freq, label="left", closed="left")
    out = bins.agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    filled = bins["close"].count().to_numpy() > 0
    counts = bins["close"].count().to_numpy()[filled]
    out = out.iloc[np.flatnonzero(filled)]
    out.index = pd.DatetimeIndex(out.index, name=INDEX_NAME).as_unit(TIME_UNIT)
    out = out[list(OHLCV_COLUMNS)].astype(np.float64)
    if incomplete == "keep" or spacing is None:
        return out
    finer = _BY_DELTA.get(spacing)
    if finer is None:
        _log.info("bars %s apart follow no supported timeframe: cannot tell incomplete %s periods", spacing, target)
        return out
    starts = incomplete_periods(df.index, finer.delta, target.delta)
    flagged = np.isin(out.index.as_unit("ns").asi8, starts)
    if not flagged.any():
        return out
    where = np.flatnonzero(flagged)
    n = len(where)
    listed = ", ".join(
        f"{format_time(out.index[i])} ({counts[i]} bar{'s' if counts[i] != 1 else ''})" for i in where[:_LISTED]
    )
    listed += f" and {n - _LISTED} more" if n > _LISTED else ""
    plural = "s" if n > 1 else ""
    if incomplete == "drop":
        done = f"dropped {n} incomplete {target} period{plural}"
        fix = "pass incomplete='keep' to keep them"
        out = out.iloc[np.flatnonzero(~flagged)]
    else:
        done = f"kept {n} incomplete {target} period{plural}, listed in .attrs['incomplete']"
        fix = "pass incomplete='drop' to drop them"
        out.attrs["incomplete"] = list(out.index[where])
    message = (
        f"resampling {finer} bars to {target}: {done}: {listed}. They lack bars that the data's own sessions "
        f"hold (a gap in the data, or the data starts or ends inside them); {fix}"
    )
    report(Repair("incomplete", message, rows=n), on_repair)
    return out
