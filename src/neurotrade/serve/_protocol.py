"""uvicorn's HTTP protocol, with a deadline on reading each request (``neurotrade serve --request-timeout``) and a
bound on its request line and headers.

uvicorn times out a connection only while it is idle between requests (``timeout_keep_alive``): a client that
opens a connection and sends nothing, or sends its headers or body a byte at a time ("slowloris"), holds the
connection for ever, and ``limit_concurrency`` such connections answer every other client 503 for as long as they
stay open. Here a request must arrive whole (headers and body) within the deadline, counted from the connection's
opening or the request's first byte; a client too slow is answered 408 and disconnected. The deadline does not
cover the time the app takes to answer.

uvicorn's httptools parser also takes headers of any size (megabytes, before the key is checked); the body has its
cap (``BodyLimit``), and here the head gets one: a head still incomplete after :data:`MAX_HEAD_BYTES` (counted per
read from the socket, so one read past it may complete it) is answered 431.
"""

from __future__ import annotations

import json
import os
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from neurotrade.serve._settings import ENV_PREFIX, ServeSettings

TIMEOUT_ENV = ENV_PREFIX + "REQUEST_TIMEOUT_S"
DEFAULT_TIMEOUT_S = ServeSettings.model_fields["request_timeout_s"].default
# A request line and headers beyond this are no client of this API's (an API key and a few headers are < 1 KiB).
MAX_HEAD_BYTES = 64 * 1024


def _response(status: str, message: str) -> bytes:
    body = json.dumps({"error": {"message": message, "field": None}}).encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class BoundedRequests(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's protocol (httptools, else h11), closing a connection whose request is not read within
    ``$NEUROTRADE_SERVE_REQUEST_TIMEOUT_S`` seconds (default 30, 408) or whose head passes
    :data:`MAX_HEAD_BYTES` (431); ``neurotrade serve`` names it to uvicorn.

    Examples
    --------
    >>> BoundedRequests.__mro__[1].__name__ in ("HttpToolsProtocol", "H11Protocol")
    True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read per connection from the environment: uvicorn's worker processes build the protocol, not the CLI.
        self.request_timeout = float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT_S)
        self._deadline: Any = None  # an asyncio.TimerHandle while a request is being read
        self._head_bytes = 0  # bytes received for the request whose headers are not complete yet

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()  # a connection that never sends a byte is a request that never arrives

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self._between_requests():
            self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._between_requests():  # the headers are not complete yet: the parser holds them
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                message = f"the request line and headers are larger than {MAX_HEAD_BYTES} bytes, the server's limit"
                self._refuse("431 Request Header Fields Too Large", message)
        elif not self.cycle.more_body:
            self._disarm()  # read whole: the app has it

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self._head_bytes = 0
        self._deadline = self.loop.call_later(self.request_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            message = (
                f"the request did not arrive whole within {self.request_timeout:g} s (the server's "
                "--request-timeout); send it again, faster"
            )
            self._refuse("408 Request Timeout", message)

    def _refuse(self, status: str, message: str) -> None:
        self._disarm()
        cycle = self.cycle
        if cycle is None or cycle.response_complete or not cycle.response_started:  # nothing of an answer sent yet
            self.transport.write(_response(status, message))
        self.transport.close()
