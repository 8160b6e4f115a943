"""The API against hostile or careless clients, each test the regression test of a defect found by attacking a real
server: slow and silent connections, HEAD and trailing slashes, strategies naming files outside the workspace, a
stream whose bundle was deleted, a job process whose server died while it started, a cancel racing a job's end."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from neurotrade.data import synthetic_ohlcv
from neurotrade.serve import ServeSettings
from neurotrade.serve._errors import ApiError
from neurotrade.serve._runner import PARENT_ENV


def rows(n: int, seed: int) -> list[dict]:
    bars = synthetic_ohlcv(n, seed=seed)
    return [{"time": t.isoformat(), **{k: float(v) for k, v in r.items()}} for t, r in bars.iterrows()]


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset after its answer included)."""
    out = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            out += chunk
    return out


# --- slow clients -------------------------------------------------------------------------------------------------


def test_slow_and_silent_connections_are_cut_off(tmp_path: Path, start_server) -> None:
    # More connections than uvicorn's limit (256) that never finish a request: without a deadline on reading one,
    # every other client was answered 503 for as long as they stayed open (for ever).
    server = start_server(tmp_path, "--request-timeout", "1")
    held = []
    try:
        for i in range(300):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            if i % 3 == 1:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            elif i % 3 == 2:  # a body that never comes
                s.sendall(b"POST /strategies/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            held.append(s)
        answer = read_all(held[1])  # within the deadline, not when the client gives up
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        error = json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]
        assert "--request-timeout" in error["message"] and set(error) == {"message", "field"}
        assert read_all(held[2]).startswith(b"HTTP/1.1 408")
        deadline = time.monotonic() + 15
        while httpx.get(f"{server.url}/health", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "the server still refuses clients while slow connections are open"
            time.sleep(0.2)
    finally:
        for s in held:
            s.close()
    # A client that sends its request in time, even on a kept-alive connection after a pause, is served.
    with httpx.Client(base_url=server.url, timeout=10) as c:
        assert c.get("/health").status_code == 200
        time.sleep(0.5)
        assert c.get("/health").status_code == 200


def test_a_huge_head_is_refused(served) -> None:
    # httptools took headers of any size (16 MB accepted) before the key was checked.
    server, _ = served
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        with contextlib.suppress(OSError):  # refused before it was all sent
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4_000_000 + b"\r\n\r\n")
        answer = read_all(s)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert "larger than" in json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["message"]


# --- methods and paths --------------------------------------------------------------------------------------------


def test_head_is_answered_as_get_and_needs_the_key(served) -> None:
    # Every GET route answered HEAD with 405 while its Allow header listed HEAD.
    server, key = served
    health = httpx.head(f"{server.url}/health")
    assert health.status_code == 200 and health.content == b""
    assert httpx.head(f"{server.url}/models").status_code == 401
    got = httpx.get(f"{server.url}/models", headers={"X-API-Key": key})
    head = httpx.head(f"{server.url}/models", headers={"X-API-Key": key})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]


@pytest.mark.parametrize("path", ["/models/", "/jobs/", "/jobs/1/", "/paper/sessions/"])
def test_a_trailing_slash_is_not_redirected_before_the_key_is_checked(served, path: str) -> None:
    # It was a 307 (no key needed, no JSON, a Location built from the client's Host header).
    server, _ = served
    response = httpx.get(f"{server.url}{path}", headers={"Host": "evil.example"})
    assert response.status_code == 404 and "location" not in response.headers
    assert "no such endpoint" in response.json()["error"]["message"]


def test_a_body_not_sent_as_json_is_told_how_to_send_it(client: httpx.Client) -> None:
    body = json.dumps({"strategy": "name: x\n"})
    response = client.post("/strategies/validate", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "body" and "Content-Type: application/json" in error["message"]


# --- strategies naming the server's files -------------------------------------------------------------------------

BASE = "name: x\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("data: {source: file, path: /etc/passwd}", "data.path"),  # exists: was valid, and a job quoted its rows
        ("data: {source: file, path: /etc/no-such-file.csv}", "data.path"),  # same answer: no existence oracle
        ("data: {source: file, path: ../../../../../../etc/passwd}", "data.path"),
        ("data: {source: file, path: '~/.bashrc'}", "data.path"),
        ("data: {source: file, path: 'bars/../../outside.csv'}", "data.path"),
        ("data: {source: file, path: serve/serve.sqlite}", "data.path"),  # the server's own folder
        ("tracking: {mlflow: 'sqlite:////tmp/anywhere/mlflow.db'}", "tracking.mlflow"),
        ("tracking: {mlflow: 'file:///tmp/anywhere/mlruns'}", "tracking.mlflow"),
        ("tracking: {mlflow: mlruns}", "tracking.mlflow"),  # relative to whichever process opens it
        ("tracking: {mlflow: 'sqlite:///{home}/serve/serve.sqlite'}", "tracking.mlflow"),  # the key database
        (
            "search: {space: {training.learning_rate: {loguniform: [1.0e-4, 1.0e-2]}}, storage: 'sqlite:////tmp/s.db'}",
            "search.storage",
        ),
    ],
)
def test_a_strategy_may_name_files_in_the_workspace_only(served, client: httpx.Client, extra: str, field: str) -> None:
    server, _ = served
    text = BASE + extra.replace("{home}", str(server.home)) + "\n"
    checked = client.post("/strategies/validate", json={"strategy": text}).json()
    assert checked["valid"] is False, checked
    assert [e["path"] for e in checked["errors"]] == [field], checked
    message = checked["errors"][0]["message"]
    assert "no such file" not in message and any(w in message for w in ("workspace", "relative path", "own folder"))
    before = client.get("/jobs").json()["total"]
    response = client.post("/jobs/run", json={"strategy": text})
    assert response.status_code == 422 and response.json()["error"]["field"] == f"body.strategy.{field}"
    assert client.get("/jobs").json()["total"] == before


def test_files_in_the_workspace_and_servers_urls_are_still_allowed(served, client: httpx.Client) -> None:
    server, _ = served
    (server.home / "bars").mkdir(exist_ok=True)
    synthetic_ohlcv(400, seed=3).to_csv(server.home / "bars" / "syn.csv")
    for extra in (
        "data: {source: file, path: bars/syn.csv}",
        f"data: {{source: file, path: '{server.home}/bars/syn.csv'}}",
        "data: {source: sample, symbol: MSFT}\ntracking: {mlflow: 'http://127.0.0.1:5000'}",
        f"data: {{source: sample}}\ntracking: {{mlflow: 'sqlite:///{server.home}/mlflow.db'}}",
    ):
        checked = client.post("/strategies/validate", json={"strategy": BASE + extra + "\n"}).json()
        assert checked["valid"] is True, (extra, checked)


def test_a_link_in_the_workspace_is_followed_but_never_climbed_out_of(
    served, client: httpx.Client, tmp_path: Path
) -> None:
    # The loader resolves links before '..': with ws/market -> /x/market/daily, 'market/../private.csv' opened
    # /x/market/private.csv while the check, comparing text, saw ws/private.csv.
    server, _ = served
    daily = tmp_path / "market" / "daily"
    daily.mkdir(parents=True)
    synthetic_ohlcv(400, seed=3).to_csv(daily / "syn.csv")
    synthetic_ohlcv(400, seed=4).to_csv(tmp_path / "market" / "private.csv")
    (server.home / "market").symlink_to(daily)
    through = client.post(
        "/strategies/validate", json={"strategy": BASE + "data: {source: file, path: market/syn.csv}\n"}
    ).json()
    assert through["valid"] is True, through  # the owner linked that folder in: it is meant to be read
    for path in ("market/../private.csv", f"{server.home}/market/../private.csv"):
        climbed = client.post(
            "/strategies/validate", json={"strategy": BASE + f"data: {{source: file, path: '{path}'}}\n"}
        ).json()
        assert climbed["valid"] is False and [e["path"] for e in climbed["errors"]] == ["data.path"], climbed
        assert "'..'" in climbed["errors"][0]["message"]


# --- streams and deleted bundles ----------------------------------------------------------------------------------


def test_a_stream_stops_when_its_bundle_is_deleted(served, client: httpx.Client) -> None:
    # The process holding the stream's engine went on deciding with the deleted bundle; another process (or this
    # one after a restart) answered 404 naming body.model, a field the request does not have.
    from neurotrade import load_bundle
    from neurotrade.serve._engines import EngineCache
    from neurotrade.serve._streams import StreamStore
    from neurotrade.store import save_bundle

    server, _ = served
    bundle = load_bundle("tiny/1d_v1", home=server.home)
    saved = save_bundle(server.home / "models", "doomed", "1d", weights=bundle.weights, documents=bundle.documents)
    bars = rows(61, seed=31)
    opened = client.post("/streams", json={"model": saved.name, "bars": bars[:60]})
    assert opened.status_code == 201, opened.text
    stream = opened.json()["stream"]["id"]
    assert client.delete(f"/models/{saved.name}").status_code == 200
    response = client.post(f"/streams/{stream}/bars", json={"bars": [bars[60]]})
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["field"] == "path.stream_id" and "was deleted" in error["message"]
    # A process that does not hold the engine says the same.
    other = StreamStore(ServeSettings(home=server.home), EngineCache(server.home / "models", 1))
    with pytest.raises(ApiError, match="was deleted") as raised:
        other.append(stream, [{**bars[60], "time": bars[60]["time"]}], None)
    assert raised.value.status == 409
    assert client.delete(f"/streams/{stream}").status_code == 200


# --- jobs ---------------------------------------------------------------------------------------------------------


def test_a_job_process_whose_server_died_before_it_started_stops(tmp_path: Path, tiny_strategy: str) -> None:
    # The runner took its parent's pid when its main() began, after seconds of imports; a server killed meanwhile
    # left it watching init (pid 1) as its "server", so it trained on, for a job the next server calls interrupted.
    folder = tmp_path / "serve" / "jobs" / "1"
    folder.mkdir(parents=True)
    (folder / "strategy.yaml").write_text(tiny_strategy)
    (folder / "job.json").write_text(json.dumps({"id": 1, "kind": "run", "params": {}}))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a server that is no more
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEUROTRADE_")}
    env |= {**ServeSettings(home=tmp_path).to_env(), PARENT_ENV: str(gone.pid)}
    job = subprocess.Popen(
        [sys.executable, "-m", "neurotrade.serve._runner", str(folder)],
        env=env,
        cwd=folder,
        start_new_session=True,  # it kills its process group: not this one
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        code = job.wait(timeout=120)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert not (folder / "result.json").exists() and not (tmp_path / "models").exists()


def test_a_cancel_that_comes_after_the_job_succeeded_leaves_it_succeeded(tmp_path: Path) -> None:
    # The job's process ended 0 with its result (its bundle saved) while the cancel was on its way: it was recorded
    # cancelled, its result dropped.
    from neurotrade.serve._jobs import Supervisor, _Running

    supervisor = Supervisor(ServeSettings(home=tmp_path))
    store = supervisor.store
    done, killed = store.submit("run", "a", "name: a\n", {}), store.submit("run", "b", "name: b\n", {})
    for job in (done, killed):
        assert store.claim() is not None
        assert store.cancel(job.id).cancel_requested
    (store.folder(done.id) / "result.json").write_text(json.dumps({"ok": True, "result": {"bundle": "a/1d_v1"}}))
    for job, code in ((done, 0), (killed, -signal.SIGTERM)):
        process = subprocess.Popen([sys.executable, "-c", "pass"])
        process.wait()
        running = _Running(job, process, (store.folder(job.id) / "log.txt").open("ab"))
        supervisor._running[job.id] = running
        supervisor._finished(job.id, running, code)
    finished = store.get(done.id)
    assert finished is not None and finished.state == "succeeded" and finished.result == {"bundle": "a/1d_v1"}
    stopped = store.get(killed.id)
    assert stopped is not None and stopped.state == "cancelled"
