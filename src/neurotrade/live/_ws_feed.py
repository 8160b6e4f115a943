"""Bars from a websocket: a JSON bar stream.

The protocol is small on purpose. On connecting, the feed sends one JSON message, ``{"subscribe": {"since": T}}``
with the last time the session has already traded (null for a new session), which a server may use to send only
newer bars. The server sends bars as JSON text messages, each one bar object or a list of them::

    {"symbol": "AAPL", "time": "2024-01-02T00:00:00Z", "open": 187.2, "high": 188.4, "low": 183.9,
     "close": 185.6, "volume": 8.2e7}

``symbol`` may be left out when the session trades one symbol; ``time`` is the bar's open time (ISO 8601, UTC when
it names no offset, or epoch seconds/milliseconds). Only closed bars are to be sent. A message that is not JSON, or
not such an object, reaches the session's gate as it is and is rejected there (recorded, never traded). A dropped
connection is opened again; the feed ends after ``idle`` seconds without a bar.
"""

from __future__ import annotations

import json
import logging
import time as _time
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from neurotrade.errors import DataError
from neurotrade.live._feed import Feed, FeedItem

log = logging.getLogger(__name__)


class WebSocketFeed(Feed):
    """Closed bars from a websocket server, as JSON.

    Parameters
    ----------
    url
        ``ws://HOST:PORT[/PATH]`` (or ``wss://``).
    idle
        Stop after this many seconds without a bar, connected or not (None: until the session is stopped).
    retry
        Seconds between attempts to connect (or reconnect).
    open_timeout
        Seconds one attempt to connect may take.
    clock, sleep
        Time and pause functions (tests pass fake ones).

    Notes
    -----
    Needs the ``websockets`` package (``pip install 'neurotrade[live]'``). A websocket cannot be resumed by
    cursor: a restarted session says from when it wants bars (``since``), and bars at or before a time it has
    already traded are skipped while it catches up. A reconnection asks for the bars after the latest one received
    and drops bars it already delivered until the first newer one; ``idle`` counts from the last bar delivered.
    """

    def __init__(
        self,
        url: str,
        *,
        idle: float | None = None,
        retry: float = 1.0,
        open_timeout: float = 10.0,
        clock: Callable[[], float] = _time.monotonic,
        sleep: Callable[[float], None] = _time.sleep,
    ) -> None:
        if not url.startswith(("ws://", "wss://")):
            raise DataError(f"a websocket feed's address starts with ws:// or wss://, got {url!r}")
        self.url = url
        self.name = url
        self.idle = idle
        self.retry = float(retry)
        self.open_timeout = float(open_timeout)
        self._clock = clock
        self._sleep = sleep
        self._connection: Any = None

    def items(self, after: Any = None, *, since: pd.Timestamp | None = None) -> Iterator[FeedItem]:
        """Bars as the server sends them, until ``idle`` seconds pass without one. Each connection (and each
        reconnection) asks for the bars after the latest time received so far (``since`` at first)."""
        try:
            from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
            from websockets.sync.client import connect
        except ImportError as e:
            raise DataError("the websocket feed needs the websockets package: pip install 'neurotrade[live]'") from e
        last_bar = self._clock()
        latest: dict[str, pd.Timestamp] = {}  # per symbol, the latest bar time delivered by this feed
        reconnected = False
        while True:
            try:
                # A feed that is done does not wait long for the server's half of the closing handshake (a server
                # busy sending would hold it for the default 10 s).
                connection = connect(self.url, open_timeout=self.open_timeout, close_timeout=1.0)
            except InvalidURI as e:
                raise DataError(f"{self.url} is not a websocket address ({e}); give ws://HOST:PORT") from e
            except (OSError, TimeoutError, InvalidHandshake) as e:
                log.warning("%s: cannot connect (%s); trying again in %.1f s", self.url, e, self.retry)
                if self._idle_over(last_bar):
                    return
                self._sleep(self.retry)
                continue
            after = max(latest.values(), default=since)
            # After a reconnection, bars the feed already delivered may come again (a server that sends its recent
            # history to every client): they are dropped until the first newer one, as the session does on resume.
            catching_up = reconnected
            with connection:
                self._connection = connection
                try:
                    connection.send(json.dumps({"subscribe": {"since": None if after is None else after.isoformat()}}))
                    while True:
                        wait = None if self.idle is None else max(self.idle - (self._clock() - last_bar), 0.0)
                        try:
                            message = connection.recv(timeout=wait)
                        except TimeoutError:
                            log.info("%s: no bar for %.1f s; the feed ends", self.url, self.idle)
                            return
                        for raw in _bars_in(message):
                            symbol, time = _key(raw)
                            seen = latest.get(symbol)
                            if time is not None and seen is not None and time <= seen:
                                if catching_up:
                                    continue
                            else:
                                catching_up = False
                            if time is not None and (seen is None or time > seen):
                                latest[symbol] = time
                            last_bar = self._clock()
                            yield FeedItem(raw, None)
                except ConnectionClosed as e:
                    log.info("%s: the connection closed (%s); connecting again", self.url, e)
                finally:
                    self._connection = None
            reconnected = True
            if self._idle_over(last_bar):
                return
            self._sleep(self.retry)

    def _idle_over(self, last_bar: float) -> bool:
        if self.idle is not None and self._clock() - last_bar >= self.idle:
            log.info("%s: no bar for %.1f s; the feed ends", self.url, self.idle)
            return True
        return False

    def close(self) -> None:
        """Close the connection, if one is open (a session stopping before the stream ends)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _key(raw: Any) -> tuple[str, pd.Timestamp | None]:
    """A raw bar's symbol and time, when its time is readable ISO text (else None: the gate judges it).

    Examples
    --------
    >>> _key({"symbol": "A", "time": "2024-01-02"})
    ('A', Timestamp('2024-01-02 00:00:00+0000', tz='UTC'))
    >>> _key("garbage")
    ('', None)
    """
    if not isinstance(raw, dict):
        return "", None
    symbol = str(raw.get("symbol", ""))
    try:
        time = pd.Timestamp(raw["time"]) if isinstance(raw.get("time"), str) else None
    except (ValueError, TypeError, OverflowError):
        return symbol, None
    if time is None or pd.isna(time):
        return symbol, None
    return symbol, time.tz_localize("UTC") if time.tzinfo is None else time.tz_convert("UTC")


def _bars_in(message: str | bytes) -> list[Any]:
    """The raw bars of one message: each object of a JSON list, the object itself, or the text when it is neither.

    Examples
    --------
    >>> _bars_in('[{"close": 1}, {"close": 2}]')
    [{'close': 1}, {'close': 2}]
    >>> _bars_in("not json")
    ['not json']
    """
    text = message.decode("utf-8", errors="replace") if isinstance(message, bytes) else message
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return [text]
    if isinstance(value, list):
        return [v if isinstance(v, dict) else json.dumps(v) for v in value] or [text]
    return [value] if isinstance(value, dict) else [text]
