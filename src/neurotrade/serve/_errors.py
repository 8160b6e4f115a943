"""One error shape for every failure: ``{"error": {"message": ..., "field": ...}}``.

4xx are the caller's to fix and say how; a 5xx is a bug in neurotrade, logged with its traceback here and
answered without one (the caller cannot act on our stack).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from neurotrade.errors import NeurotradeError

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    """What went wrong and, when one part of the request is to blame, which (``body.bars[3].high``)."""

    message: str = Field(description="What is wrong and how to fix it.")
    field: str | None = Field(None, description="The part of the request at fault, as a dotted path.")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class ApiError(Exception):
    """An error the API answers with ``status`` and the one error shape.

    Examples
    --------
    >>> e = ApiError(404, "no job 7", field="path.job_id")
    >>> e.status, e.body()
    (404, {'error': {'message': 'no job 7', 'field': 'path.job_id'}})
    """

    def __init__(
        self, status: int, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, headers

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"error": {"message": self.message, "field": self.field}}


def _json(status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(ApiError(status, message, field=field).body(), status_code=status, headers=headers)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as one dotted path: ``('body', 'bars', 3, 'high')`` -> ``body.bars[3].high``.

    Examples
    --------
    >>> field_path(("body", "bars", 3, "high"))
    'body.bars[3].high'
    """
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_message(error: dict[str, Any]) -> str:
    """pydantic's message for one error, with the value it got when that is short.

    Examples
    --------
    >>> validation_message({"msg": "Input should be greater than 0", "input": -1, "loc": ("body", "x")})
    'Input should be greater than 0; got -1'
    """
    message = str(error.get("msg", "invalid value"))
    value = error.get("input")
    shown = repr(value)
    if error.get("type") != "missing" and not isinstance(value, dict | list) and len(shown) <= 60:
        message += f"; got {shown}"
    return message


# The status a library error means when an endpoint has not said better: the request asked for something the
# library refuses (a strategy that does not validate, features that differ from the bundle's ...).
LIBRARY_ERROR_STATUS = 422


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error in the one shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        if tuple(first.get("loc", ())) == ("body",) and isinstance(first.get("input"), bytes):
            # FastAPI hands on the raw bytes of a body not sent as JSON: say what to send, not what they were.
            return _json(422, "the body must be a JSON object, sent with Content-Type: application/json", "body")
        message = validation_message(first) if first else "the request is not valid"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        return _json(422, message, field_path(first.get("loc", ())) or None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        field = None
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 400 and message == "There was an error parsing the body":
            message = "the request body cannot be read: send JSON in UTF-8 with Content-Type: application/json"
            field = "body"
        if exc.status_code == 405:
            allowed = allowed_methods(request.app, request.url.path)
            if allowed:  # Starlette names only the first route's methods when several share the path
                headers["Allow"] = ", ".join(allowed)
            message = f"{request.method} is not allowed on {request.url.path}; it takes {headers.get('Allow', '?')}"
        elif exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}; GET /openapi.json lists them"
        return _json(exc.status_code, message, field, headers=headers or None)

    @app.exception_handler(NeurotradeError)
    async def _library(request: Request, exc: NeurotradeError) -> JSONResponse:
        return _json(LIBRARY_ERROR_STATUS, str(exc))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _json(
            500,
            f"internal error ({type(exc).__name__}); this is a bug in neurotrade, the server log has the traceback",
        )


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves at ``path`` (from the OpenAPI paths, whose templates are matched).

    Examples
    --------
    >>> app = FastAPI()
    >>> _ = app.get("/models/{name}")(lambda name: name)
    >>> _ = app.delete("/models/{name}")(lambda name: name)
    >>> allowed_methods(app, "/models/x")
    ['DELETE', 'GET', 'HEAD']
    """
    patterns = getattr(app.state, "route_patterns", None)
    if patterns is None:
        patterns = []
        for template, operations in app.openapi().get("paths", {}).items():
            regex = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
            patterns.append((re.compile(regex), {m.upper() for m in operations}))
        app.state.route_patterns = patterns
    methods: set[str] = set()
    for regex, verbs in patterns:
        if regex.fullmatch(path):
            methods |= verbs
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entry of each error status an endpoint may answer.

    Examples
    --------
    >>> sorted(responses(401, 404))
    [401, 404]
    """
    described = {
        400: "The request cannot be read.",
        401: "Missing or wrong API key.",
        404: "No such resource.",
        409: "The resource is not in a state that allows this.",
        413: "The request body is too large.",
        422: "The request is not valid; `field` says where.",
        429: "Too many jobs queued.",
    }
    return {s: {"model": ErrorBody, "description": described[s]} for s in statuses}
