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
    already traded are skipped while it catches up.
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
        """Bars as the server sends them, until ``idle`` seconds pass without one."""
        try:
            from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
            from websockets.sync.client import connect
        except ImportError as e:
            raise DataError("the websocket feed needs the websockets package: pip install 'neurotrade[live]'") from e
        last_bar = self._clock()
        hello = json.dumps({"subscribe": {"since": None if since is None else since.isoformat()}})
        while True:
            try:
                self._connection = connect(self.url, open_timeout=self.open_timeout)
            except InvalidURI as e:
                raise DataError(f"{self.url} is not a websocket address ({e}); give ws://HOST:PORT") from e
            except (OSError, TimeoutError, InvalidHandshake) as e:
                log.warning("%s: cannot connect (%s); trying again in %.1f s", self.url, e, self.retry)
                if self._idle_over(last_bar):
                    return
                self._sleep(self.retry)
                continue
            try:
                self._connection.send(hello)
                while True:
                    wait = None if self.idle is None else max(self.idle - (self._clock() - last_bar), 0.0)
                    try:
                        message = self._connection.recv(timeout=wait)
                    except TimeoutError:
                        log.info("%s: no bar for %.1f s; the feed ends", self.url, self.idle)
                        return
                    last_bar = self._clock()
                    for raw in _bars_in(message):
                        yield FeedItem(raw, None)
            except ConnectionClosed as e:
                log.warning("%s: the connection closed (%s); connecting again", self.url, e)
            finally:
                self.close()
            if self._idle_over(last_bar):
                return
            self._sleep(self.retry)

    def _idle_over(self, last_bar: float) -> bool:
        if self.idle is not None and self._clock() - last_bar >= self.idle:
            log.info("%s: no bar for %.1f s; the feed ends", self.url, self.idle)
            return True
        return False

    def close(self) -> None:
        """Close the connection, if one is open."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


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
