"""A bound on every request body, whatever the endpoint: by Content-Length before reading, and by counting the
bytes as they arrive (a chunked body has no length to check), before the app sees any of it."""

from __future__ import annotations

from typing import Any

from neurotrade.serve._errors import ApiError

Scope = dict[str, Any]


def too_large(limit: int) -> ApiError:
    """The error of a request body over the limit (413)."""
    return ApiError(413, f"the request body is larger than {limit} bytes, the server's limit", field="body")


class BodyLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``.

    Parameters
    ----------
    app
        The ASGI app it wraps.
    max_bytes
        The largest body accepted.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await _refuse(send, self.max_bytes)
                return
        # Read the whole body here (at most max_bytes of it) and hand it on: an error raised while the app reads
        # would reach FastAPI's body parser, which answers any such failure with a 400.
        chunks, received, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            if received > self.max_bytes:
                await _refuse(send, self.max_bytes)
                return
            more = message.get("more_body", False)
        await self.app(
            scope, _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}], receive), send
        )


def _replay(messages: list[dict[str, Any]], then: Any = None) -> Any:
    """A ``receive`` that gives ``messages`` first, then what ``then`` receives (a disconnect, later)."""
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


async def _refuse(send: Any, limit: int) -> None:
    import json

    body = json.dumps(too_large(limit).body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
