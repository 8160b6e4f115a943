"""Every route but /health refuses a request without a valid key (contract 12), found from the app's own routes
so a route added later is covered without editing this test."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from neurotrade.serve import Database, ServeSettings, create_app, revoke_key

# A value for each path parameter that would reach real data if the key were accepted.
PATH_VALUES = {
    "job_id": "1",
    "strategy": "tiny",
    "version": "1d_v1",
    "run": "1d_v1",
    "session": "s1",
    "stream_id": "0123456789abcdef",
}
OPEN = {"/health"}


def _flat(routes: list[Any]) -> list[Route]:
    """The app's routes, an included router's own routes in its place (FastAPI >= 0.120 keeps an included router
    as one entry of ``app.routes``; its routes carry the router's prefix already)."""
    out: list[Route] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            out += _flat(included.routes)
        else:
            assert isinstance(route, Route), f"unexpected route type {type(route).__name__}"
            out.append(route)
    return out


def routes(home: Path) -> list[tuple[str, str]]:
    """(method, concrete path) of every route the app serves; checked against the OpenAPI schema, so no route
    escapes the flattening."""
    app = create_app(ServeSettings(home=home), run_jobs=False)
    flat = _flat(app.routes)
    assert set(app.openapi()["paths"]) <= {r.path for r in flat}
    found = []
    for route in flat:
        path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m[1]], route.path)
        found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def test_the_app_has_the_routes_this_test_expects(tmp_path: Path) -> None:
    found = {path for _, path in routes(tmp_path)}
    assert {"/health", "/openapi.json", "/predict", "/jobs/run", "/models/tiny/1d_v1", "/paper/sessions"} <= found
    assert len(routes(tmp_path)) >= 20


def test_every_route_but_health_refuses_a_missing_wrong_or_revoked_key(served) -> None:
    server, key = served
    db = Database(ServeSettings(home=server.home).database)
    from neurotrade.serve import create_key

    revoked = create_key(db, "to-revoke")
    revoke_key(db, revoked[3:15])
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    checked = 0
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for method, path in routes(server.home):
            if path in OPEN:
                assert http.request(method, path).status_code == 200
                continue
            for headers in (
                {},
                {"Authorization": f"Bearer {wrong}"},
                {"X-API-Key": wrong},
                {"Authorization": f"Bearer {revoked}"},
                {"Authorization": "Basic dXNlcjpwYXNz"},
                {"X-API-Key": "x" * 10_000},
            ):
                response = http.request(method, path, headers=headers, json={})
                assert response.status_code == 401, (method, path, headers, response.text)
                assert response.headers["www-authenticate"] == "Bearer"
                assert set(response.json()["error"]) == {"message", "field"}
                checked += 1
        # The valid key opens them (a GET never changes anything, so every one is tried).
        for method, path in routes(server.home):
            if method == "GET" and path not in OPEN:
                response = http.get(path, headers={"X-API-Key": key})
                assert response.status_code != 401, (path, response.text)
    assert checked >= 6 * 23


def test_missing_key_message_says_how_to_send_one(client: httpx.Client) -> None:
    response = httpx.get(f"{client.base_url}/models")
    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert "Authorization: Bearer KEY" in message and "neurotrade serve key create" in message


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_either_header_carries_the_key(served, header: str) -> None:
    server, key = served
    value = f"Bearer {key}" if header == "Authorization" else key
    assert httpx.get(f"{server.url}/models", headers={header: value}).status_code == 200


def test_keys_are_stored_hashed(served) -> None:
    server, key = served
    raw = ServeSettings(home=server.home).database.read_bytes()
    secret = key.split("_", 2)[2]
    assert secret.encode() not in raw and key.encode() not in raw
