"""The API key check every router but health depends on: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from neurotrade.serve._errors import ApiError
from neurotrade.serve._keys import check_key

# auto_error=False: a missing key is answered by require_key in the one error shape, not by FastAPI's own 403.
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer KEY` (from `neurotrade serve key create`)")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key, as an alternative to Bearer.")

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def require_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> None:
    """Refuse the request (401) unless it carries a valid, unrevoked API key.

    ``async``, so the check runs on the event loop: one indexed SQLite read and a sha256 (microseconds) cost less
    than the thread hop FastAPI makes for a plain ``def`` dependency.
    """
    presented = bearer.credentials if bearer is not None else header
    if not presented:
        raise ApiError(
            401,
            "this endpoint needs an API key: send `Authorization: Bearer KEY` or `X-API-Key: KEY` (create one with "
            "`neurotrade serve key create`)",
            field="header.Authorization",
            headers=_CHALLENGE,
        )
    if not check_key(request.app.state.db, presented):
        raise ApiError(
            401, "the API key is not valid (unknown or revoked)", field="header.Authorization", headers=_CHALLENGE
        )
