"""The service's other resources over HTTP: strategy validation, models, reports, paper sessions, the one error
shape; and the ``neurotrade serve key`` commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from neurotrade.serve._paper import demo_session


def test_health_is_open_and_says_the_version(served) -> None:
    server, _ = served
    body = httpx.get(f"{server.url}/health").json()
    assert body["status"] == "ok" and body["version"]


def test_validate_lists_every_problem_with_line_and_key_path(client: httpx.Client, tiny_strategy: str) -> None:
    ok = client.post("/strategies/validate", json={"strategy": tiny_strategy}).json()
    assert ok == {"valid": True, "name": "tiny", "errors": []}
    bad = client.post(
        "/strategies/validate", json={"strategy": "name: x\nindicators: {rsi_14: {}}\nsplit: {folds: 0}\n"}
    )
    assert bad.status_code == 200
    errors = bad.json()["errors"]
    assert {"line": 3, "path": "split.folds", "message": "must be an integer from 1 to 100, got 0"} in errors
    assert any(e["path"] == "nn_inputs" for e in errors)
    broken = client.post("/strategies/validate", json={"strategy": "name: [unclosed\n"}).json()
    assert broken["valid"] is False and "YAML" in broken["errors"][0]["message"]


def test_models_list_show_verify_delete(tiny_home: Path, client: httpx.Client) -> None:
    from neurotrade import load_bundle
    from neurotrade.store import save_bundle

    bundle = load_bundle("tiny/1d_v1", home=tiny_home)
    save_bundle(tiny_home / "models", "copy", "1d", weights=bundle.weights, documents=bundle.documents)
    save_bundle(tiny_home / "models", "copy", "1d", weights=bundle.weights, documents=bundle.documents)
    listed = {m["name"]: m for m in client.get("/models", params={"strategy": "copy"}).json()["models"]}
    assert set(listed) == {"copy/1d_v1", "copy/1d_v2"} and listed["copy/1d_v2"]["is_latest"]
    assert listed["copy/1d_v1"]["metrics"]["accuracy"] == pytest.approx(
        bundle.documents["metrics"]["aggregate"]["classification"]["accuracy"], abs=0
    )
    shown = client.get("/models/copy/latest").json()
    assert shown["name"] == "copy/1d_v2" and shown["resolved_features"] == ["1d_rsi_14", "1d_adx_14"]
    assert shown["parameters"] > 0 and "weights.safetensors" in shown["files"] and "spec" in shown["documents"]
    assert client.post("/models/copy/v1/verify").json() == {
        "name": "copy/1d_v1",
        "verified": True,
        "files": len(bundle.manifest["files"]),
        "problem": None,
    }
    # A changed file fails verification, said in the answer (the request itself was fine).
    weights = tiny_home / "models" / "copy" / "1d_v1" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    failed = client.post("/models/copy/1d_v1/verify").json()
    assert failed["verified"] is False and "weights.safetensors" in failed["problem"]
    assert client.delete("/models/copy/latest").status_code == 422  # never a moving name
    deleted = client.delete("/models/copy/v2").json()
    assert deleted == {"deleted": "copy/1d_v2", "was_latest": True}
    assert [m["is_latest"] for m in client.get("/models", params={"strategy": "copy"}).json()["models"]] == [True]
    damaged = client.get("/models/copy/latest")
    assert damaged.status_code == 409 and "weights.safetensors" in damaged.json()["error"]["message"]
    predicted = client.post(
        "/predict",
        json={
            "model": "copy",
            "bars": [dict(time="2024-01-01T00:00:00Z", open=1.0, high=1.0, low=1.0, close=1.0, volume=0.0)],
        },
    )
    assert predicted.status_code == 409
    missing = client.get("/models/copy/v2")
    assert missing.status_code == 404 and "its bundles: copy/1d_v1" in missing.json()["error"]["message"]


def test_report_download_and_404s(client: httpx.Client) -> None:
    page = client.get("/runs/tiny/1d_v1/report")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "inline" in page.headers["content-disposition"]
    missing = client.get("/runs/tiny/1d_v9/report")
    assert missing.status_code == 404 and "its runs: 1d_v1" in missing.json()["error"]["message"]
    assert client.get("/runs/nobody/1d_v1/report").status_code == 404
    assert client.get("/runs/tiny/..%2F..%2Fetc/report").status_code in (404, 422)


def test_paper_sessions_positions_and_equity(tiny_home: Path, client: httpx.Client) -> None:
    demo_session(tiny_home / "paper" / "demo")
    sessions = client.get("/paper/sessions").json()["sessions"]
    demo = next(s for s in sessions if s["session"] == "demo")
    assert demo["strategy"] == "demo" and demo["steps"] == 3 and demo["last_time"].startswith("2024-01-03")
    held = client.get("/paper/sessions/demo/positions").json()
    assert held["positions"] == [{"symbol": "SYN", "position": 1.0}] and held["equity"] == 99990.0
    curve = client.get("/paper/sessions/demo/equity", params={"limit": 2}).json()
    assert [p["equity"] for p in curve["points"]] == [100010.0, 99990.0] and curve["total"] == 3
    assert client.get("/paper/sessions/demo/equity", params={"limit": 1, "offset": 2}).json()["points"][0][
        "equity"
    ] == pytest.approx(1e5, abs=0)
    missing = client.get("/paper/sessions/nope/equity")
    assert missing.status_code == 404 and "sessions: demo" in missing.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "status", "words"),
    [
        ("GET", "/nowhere", 404, "no such endpoint"),
        ("PUT", "/predict", 405, "it takes POST"),
        ("GET", "/jobs?limit=0", 422, "greater than or equal to 1"),
    ],
)
def test_errors_share_one_shape(client: httpx.Client, method: str, path: str, status: int, words: str) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    assert set(response.json()) == {"error"} and words in response.json()["error"]["message"]


def test_invalid_json_is_400_in_the_error_shape(client: httpx.Client) -> None:
    response = client.post("/predict", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "message": "the request body cannot be read: send JSON in UTF-8 with Content-Type: application/json",
        "field": "body",
    }


def neurotrade(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from neurotrade.cli import main; main()", "--home", str(home), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_key_commands(tmp_path: Path) -> None:
    from neurotrade.serve import Database, ServeSettings, check_key

    made = neurotrade(tmp_path, "serve", "key", "create", "--name", "laptop")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    db = Database(ServeSettings(home=tmp_path).database)
    assert key.startswith("nt_") and check_key(db, key)
    listed = neurotrade(tmp_path, "serve", "key", "list")
    assert "laptop" in listed.stdout and key[3:15] in listed.stdout and key not in listed.stdout
    assert neurotrade(tmp_path, "serve", "key", "revoke", key[3:15]).returncode == 0
    assert not check_key(db, key)
    again = neurotrade(tmp_path, "serve", "key", "revoke", key[3:15])
    assert again.returncode == 2 and "no active key" in again.stderr
    bad = neurotrade(tmp_path, "serve", "key", "create", "--name", "")
    assert bad.returncode == 2 and "key name" in bad.stderr


def test_bad_server_settings_are_the_users_error_naming_option_and_variable(tmp_path: Path) -> None:
    bad = neurotrade(tmp_path, "serve", "--ray", "not an address")
    assert bad.returncode == 2 and "ray_address" in bad.stderr and "NEUROTRADE_SERVE_RAY_ADDRESS" in bad.stderr
    assert "Traceback" not in bad.stderr and "bug" not in bad.stderr
