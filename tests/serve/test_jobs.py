"""Jobs through a real server: queued in SQLite, run by worker processes, and kept across a kill -9 of the server
(a running job comes back ``interrupted`` and resumes; a queued one still runs; none is lost)."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from neurotrade.serve import ServeSettings


def wait_for(client: httpx.Client, job_id: int, states: set[str], timeout: float = 120) -> dict:
    """Poll a job until it is in one of ``states``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.1)
    log = client.get(f"/jobs/{job_id}/logs").json()["text"]
    raise AssertionError(f"job {job_id} still {job['state']} after {timeout} s; log:\n{log}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_kill_9_marks_the_running_job_interrupted_and_loses_none(
    tmp_path: Path, start_server, new_key, tiny_strategy: str
) -> None:
    home, key, tiny = tmp_path, new_key(tmp_path), tiny_strategy
    # Long enough to be killed while training (hundreds of epochs).
    slow = tiny.replace("name: tiny", "name: slow").replace("epochs: 3", "epochs: 400")
    server = start_server(home, "--jobs", "1")
    headers = {"X-API-Key": key}
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as c:
            first = c.post("/jobs/run", json={"strategy": slow}).json()
            queued = c.post("/jobs/run", json={"strategy": tiny}).json()  # waits: one job at a time
            wait_for(c, first["id"], {"running"})
            # Wait until its process is training (its first progress report), then kill the server under it.
            deadline = time.monotonic() + 60
            while "training" not in c.get(f"/jobs/{first['id']}/logs").json()["text"]:
                assert time.monotonic() < deadline, "the job never started training"
                time.sleep(0.1)
            db = sqlite3.connect(ServeSettings(home=home).database)
            pid = db.execute("SELECT pid FROM jobs WHERE id = ?", (first["id"],)).fetchone()[0]
            db.close()
            assert pid and alive(pid)
    finally:
        server.kill()
    # The job's process sees its server gone and stops with it: nothing trains for a job about to be interrupted.
    deadline = time.monotonic() + 10
    while alive(pid):
        assert time.monotonic() < deadline, "the job's process outlived its killed server"
        time.sleep(0.1)

    server = start_server(home, "--jobs", "2")
    try:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as c:
            job = c.get(f"/jobs/{first['id']}").json()
            assert job["state"] == "interrupted" and job["resumable"] is True
            assert "server stopped" in job["error"]
            listed = c.get("/jobs").json()
            assert listed["total"] == 2 and {j["id"] for j in listed["jobs"]} == {first["id"], queued["id"]}
            # The queued job was never started: it runs now. The interrupted one resumes from its checkpoints.
            wait_for(c, queued["id"], {"running", "succeeded"})
            resumed = c.post(f"/jobs/{first['id']}/resume").json()
            assert resumed["state"] == "queued"
            wait_for(c, first["id"], {"running"})
            assert c.post(f"/jobs/{first['id']}/cancel").json()["cancel_requested"] is True
            cancelled = wait_for(c, first["id"], {"cancelled", "failed", "succeeded"})
            assert cancelled["state"] == "cancelled" and cancelled["attempts"] == 2
            log = c.get(f"/jobs/{first['id']}/logs").json()["text"]
            assert "attempt 1 started" in log and "attempt 2 (resuming)" in log
            assert c.post(f"/jobs/{first['id']}/cancel").status_code == 409
            assert c.post(f"/jobs/{queued['id']}/cancel").status_code in (200, 409)  # running, or done already
            assert wait_for(c, queued["id"], {"cancelled", "succeeded"})["state"] in ("cancelled", "succeeded")
    finally:
        server.stop()


def test_a_run_job_end_to_end(client: httpx.Client, tiny_strategy: str) -> None:
    job = client.post("/jobs/run", json={"strategy": tiny_strategy}).json()
    assert job["state"] == "queued" and job["kind"] == "run" and job["strategy"] == "tiny"
    assert client.get(f"/jobs/{job['id']}/result").status_code == 409  # not finished yet
    done = wait_for(client, job["id"], {"succeeded", "failed"})
    assert done["state"] == "succeeded", client.get(f"/jobs/{job['id']}/logs").json()["text"]
    result = client.get(f"/jobs/{job['id']}/result").json()["result"]
    assert result["bundle"] == "tiny/1d_v2"  # the fixture's run saved v1
    report = client.get(result["report"])
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert b"<html" in report.content[:2000].lower()
    chunk = client.get(f"/jobs/{job['id']}/logs", params={"offset": 0, "limit": 64}).json()
    assert len(chunk["text"].encode()) <= 64 and chunk["next_offset"] == 64 and chunk["size"] > 64
    assert client.post(f"/jobs/{job['id']}/resume").status_code == 409  # only an interrupted job resumes


def test_a_backtest_job(client: httpx.Client, tiny_strategy: str) -> None:
    body = {"strategy": tiny_strategy, "model": "v1", "start": "2002-06-01"}
    job = client.post("/jobs/backtest", json=body).json()
    done = wait_for(client, job["id"], {"succeeded", "failed"})
    assert done["state"] == "succeeded", client.get(f"/jobs/{job['id']}/logs").json()["text"]
    result = client.get(f"/jobs/{job['id']}/result").json()["result"]
    assert result["bundle"] == "tiny/1d_v1" and result["metrics"]["window"]["first"].startswith("2002-06-0")


@pytest.mark.parametrize(
    ("path", "body", "status", "field", "words"),
    [
        ("/jobs/run", {"strategy": "name: x\nsplit: {folds: 0}\n"}, 422, "body.strategy.nn_inputs", "not valid"),
        ("/jobs/run", {"strategy": "TINY", "example": "default"}, 422, "body", "exactly one"),
        ("/jobs/run", {"example": "no_such_example"}, 422, "body.example", "no packaged example"),
        ("/jobs/tune", {"strategy": "TINY"}, 422, "body.strategy.search", "no search: section"),
        ("/jobs/backtest", {"strategy": "UNTRAINED"}, 404, "body.model", "no model"),
        ("/jobs/run", {"strategy": "x" * 300_000}, 422, "body.strategy", "at most"),
    ],
)
def test_job_submissions_are_checked_before_queueing(
    client, tiny_strategy: str, path, body, status, field, words
) -> None:
    untrained = tiny_strategy.replace("name: tiny", "name: untrained")
    body = {k: {"TINY": tiny_strategy, "UNTRAINED": untrained}.get(v, v) for k, v in body.items()}
    before = client.get("/jobs").json()["total"]
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field and words in error["message"]
    assert client.get("/jobs").json()["total"] == before


def test_unknown_jobs_and_bad_ids(client: httpx.Client) -> None:
    response = client.get("/jobs/99999")
    assert response.status_code == 404 and "no job 99999" in response.json()["error"]["message"]
    assert client.get("/jobs/0").status_code == 422
    assert client.get("/jobs", params={"state": "sleeping"}).json()["error"]["field"] == "query.state"
