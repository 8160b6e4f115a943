"""Bars as they arrive from a feed, and the gate each one passes before anything trades on it.

A feed hands over raw bars: a :class:`FeedBar` already read from a validated history (replay), or a mapping of
cells (a followed file's line, a websocket's JSON object) that may be anything. :class:`BarGate` turns each into a
:class:`FeedBar` that meets the OHLCV contract (the very ``validate_ohlcv`` every stage relies on) and comes
strictly after the symbol's last accepted bar, or into a :class:`Rejection` that says why. A rejected bar is
never traded; the loop records it and goes on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from neurotrade.data import OHLCV_COLUMNS, validate_ohlcv
from neurotrade.errors import DataError

log = logging.getLogger(__name__)

#: How much of a rejected bar's raw form is kept for the record.
RAW_LIMIT = 300


@dataclass(frozen=True)
class FeedBar:
    """One closed bar of one symbol.

    Attributes
    ----------
    symbol
        The symbol it is a bar of.
    time
        Its open time, tz-aware UTC (as every bar in neurotrade is labelled).
    open, high, low, close, volume
        Its prices and volume, as floats.

    Examples
    --------
    >>> bar = FeedBar("AAPL", pd.Timestamp("2024-01-02", tz="UTC"), 10.0, 11.0, 9.5, 10.5, 1e6)
    >>> bar.prices()["close"]
    10.5
    """

    symbol: str
    time: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    volume: float

    def prices(self) -> dict[str, float]:
        """``open, high, low, close, volume`` as a dict: what the decision engines read."""
        return {"open": self.open, "high": self.high, "low": self.low, "close": self.close, "volume": self.volume}


@dataclass(frozen=True)
class Rejection:
    """A bar that was refused: never traded, recorded and counted.

    Attributes
    ----------
    symbol
        Its symbol, or ``"?"`` when it named none that could be read.
    time
        Its time when it could be read, else None.
    reason
        What is wrong with it, in words.
    raw
        Its raw form, shortened to :data:`RAW_LIMIT` characters.
    """

    symbol: str
    time: pd.Timestamp | None
    reason: str
    raw: str


class BarGate:
    """Checks each arriving bar: readable, the OHLCV contract, a known symbol, strictly after that symbol's last
    accepted bar (and, for a universe stepping time by time, not before the time being collected).

    Parameters
    ----------
    symbols
        The symbols this session trades, in order.
    default_symbol
        The symbol of a raw bar that names none (a one-symbol feed), else None (a symbol is then required).
    timezone
        The IANA zone of times written without an offset (a followed file's), as the data section's ``timezone``.

    Examples
    --------
    >>> gate = BarGate(["AAPL"], default_symbol="AAPL")
    >>> row = {"time": "2024-01-02", "open": 10, "high": 11, "low": 9.5, "close": 10.5, "volume": 100}
    >>> gate.check(row).close
    10.5
    >>> print(gate.check(row).reason)
    duplicate: AAPL already has a bar at 2024-01-02 00:00:00+00:00
    >>> print(gate.check(dict(row, time="2024-01-03", high=9)).reason)  # doctest: +ELLIPSIS
    breaks the OHLCV contract: ... 'high' is below 'low' ...
    """

    def __init__(self, symbols: Iterable[str], *, default_symbol: str | None = None, timezone: str = "UTC") -> None:
        self.symbols = list(symbols)
        self.default_symbol = default_symbol
        self.timezone = timezone
        self.last: dict[str, pd.Timestamp] = {}
        #: A universe collecting the bars of one time refuses a bar older than that time (it would come too late).
        self.floor: pd.Timestamp | None = None

    def accept(self, bar: FeedBar) -> None:
        """Remember ``bar`` as its symbol's last accepted bar (restoring a resumed session's state)."""
        self.last[bar.symbol] = bar.time

    def check(self, raw: FeedBar | Mapping[str, Any] | str) -> FeedBar | Rejection:
        """The bar, accepted (and remembered), or why it is refused.

        Parameters
        ----------
        raw
            A :class:`FeedBar`, a mapping with ``time, open, high, low, close, volume`` (and ``symbol`` unless the
            gate has a default), or the text of a message that could not be read at all.
        """
        bar = raw if isinstance(raw, FeedBar) else self._parse(raw)
        if isinstance(bar, Rejection):
            return bar
        text = _raw_text(raw)
        if bar.symbol not in self.symbols:
            return Rejection(
                bar.symbol, bar.time, f"unknown symbol {bar.symbol!r}: this session trades {self.symbols}", text
            )
        if not _meets_contract(bar):
            try:  # the contract's own check says what is wrong, in its own words
                validate_ohlcv(_frame(bar), source=f"{bar.symbol} bar at {bar.time}")
            except DataError as e:
                return Rejection(bar.symbol, bar.time, f"breaks the OHLCV contract: {e}", text)
        last = self.last.get(bar.symbol)
        if last is not None and bar.time <= last:
            what = "duplicate" if bar.time == last else "out of order"
            preposition = "at" if bar.time == last else "up to"
            return Rejection(bar.symbol, bar.time, f"{what}: {bar.symbol} already has a bar {preposition} {last}", text)
        if self.floor is not None and bar.time < self.floor:
            return Rejection(
                bar.symbol, bar.time, f"late: the universe has already stepped past {bar.time} (it decides time by "
                "time); the bar cannot be traded any more", text
            )  # fmt: skip
        self.last[bar.symbol] = bar.time
        return bar

    def _parse(self, raw: Mapping[str, Any] | str) -> FeedBar | Rejection:
        """A mapping of cells to a :class:`FeedBar`, or why it cannot be one."""
        text = _raw_text(raw)
        if not isinstance(raw, Mapping):
            return Rejection("?", None, "malformed: not a bar object (time, open, high, low, close, volume)", text)
        symbol = raw.get("symbol", self.default_symbol)
        if symbol is None or (isinstance(symbol, float) and math.isnan(symbol)):
            return Rejection("?", None, "malformed: no symbol (give a 'symbol' field)", text)
        symbol = str(symbol).strip()
        if "time" not in raw:
            return Rejection(symbol, None, "malformed: no 'time' field", text)
        time = _parse_time(raw["time"], self.timezone)
        if isinstance(time, str):
            return Rejection(symbol, None, f"malformed: {time}", text)
        values: dict[str, float] = {}
        for name in OHLCV_COLUMNS:
            if name not in raw:
                return Rejection(symbol, time, f"malformed: no {name!r} field", text)
            number = _number(raw[name])
            if number is None:
                return Rejection(symbol, time, f"malformed: {name} {raw[name]!r} is not a number", text)
            values[name] = number
        return FeedBar(symbol, time, **values)


def _meets_contract(bar: FeedBar) -> bool:
    """The value rules of the OHLCV contract (``validate_ohlcv``) for one bar, without building a frame: finite,
    prices > 0, volume >= 0, ``low <= min(open, close)``, ``max(open, close) <= high``.

    ``validate_ohlcv`` costs a millisecond or more per call; this costs a microsecond. Whatever this refuses is
    passed to ``validate_ohlcv`` for its message, and a test holds the two to the same verdict.
    """
    o, h, lo, c, v = bar.open, bar.high, bar.low, bar.close, bar.volume
    if not all(math.isfinite(x) for x in (o, h, lo, c, v)):
        return False
    return o > 0 and h > 0 and lo > 0 and c > 0 and v >= 0 and lo <= min(o, c) and max(o, c) <= h


def _frame(bar: FeedBar) -> pd.DataFrame:
    """One bar as a one-row OHLCV frame, for the contract's own check."""
    index = pd.DatetimeIndex([bar.time], name="time")
    return pd.DataFrame({c: np.array([getattr(bar, c)], dtype=np.float64) for c in OHLCV_COLUMNS}, index=index)


def _number(value: Any) -> float | None:
    """A cell as a float (a number, or text holding one); None for anything else. bool is no number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _parse_time(value: Any, timezone: str) -> pd.Timestamp | str:
    """A cell as a UTC time the way files are read (``read_ohlcv``'s own parsing: ISO text with or without an
    offset, dates, epoch seconds or milliseconds), or the reason it is none."""
    from neurotrade.data._frame import Rows
    from neurotrade.data._readers import _parse_times

    if isinstance(value, bool) or value is None:
        return f"time {value!r} is not a time"
    if isinstance(value, str | pd.Timestamp):  # the common case, without a frame: ISO text, a Timestamp
        try:
            stamp = pd.Timestamp(value.strip() if isinstance(value, str) else value)
        except (ValueError, TypeError, OverflowError):
            stamp = None  # the readers' parsing below says why, in their words
        if isinstance(stamp, pd.Timestamp) and not pd.isna(stamp):
            try:
                return stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize(timezone).tz_convert("UTC")
            except (ValueError, TypeError, OverflowError) as e:  # a time that does not exist in the zone
                return f"time {value!r} is not a time in {timezone} ({e})"
    try:
        times = _parse_times(pd.DataFrame({"time": [value]}), "time", Rows.positions(1), timezone, "bar")
    except (DataError, ValueError, TypeError, OverflowError) as e:
        return f"time {value!r} is not a time ({str(e).splitlines()[0]})"
    return pd.Timestamp(times[0])


def _raw_text(raw: Any) -> str:
    if isinstance(raw, FeedBar):
        text = f"{raw.symbol} {raw.time.isoformat()} {raw.open} {raw.high} {raw.low} {raw.close} {raw.volume}"
    elif isinstance(raw, Mapping):
        text = ", ".join(f"{k}={v!r}" for k, v in raw.items())
    else:
        text = str(raw)
    return text[:RAW_LIMIT]
