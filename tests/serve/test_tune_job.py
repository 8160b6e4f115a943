"""A search as a job: ``POST /jobs/tune`` runs ``neurotrade tune`` (Ray and Optuna, in the job's own process) and
its result is the study's outcome."""

from __future__ import annotations

import time
from pathlib import Path

import httpx


def test_a_tune_job_end_to_end(tmp_path: Path, start_server, new_key, tiny_strategy: str) -> None:
    strategy = tiny_strategy.replace("name: tiny", "name: tuned") + (
        "search: {trials: 2, space: {training.learning_rate: {loguniform: [1.0e-3, 1.0e-2]}}}\n"
    )
    server = start_server(tmp_path)
    with httpx.Client(base_url=server.url, headers={"X-API-Key": new_key(tmp_path)}, timeout=30) as c:
        job = c.post("/jobs/tune", json={"strategy": strategy, "trials": 2, "workers": 1})
        assert job.status_code == 202, job.text
        assert job.json()["params"] == {"trials": 2, "workers": 1, "study": None}
        deadline = time.monotonic() + 240
        while (state := c.get(f"/jobs/{job.json()['id']}").json()["state"]) not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, "the search did not finish in 240 s"
            time.sleep(0.5)
        log = c.get(f"/jobs/{job.json()['id']}/logs", params={"limit": 1_000_000}).json()["text"]
        assert state == "succeeded", log
        result = c.get(f"/jobs/{job.json()['id']}/result").json()["result"]
    assert result["study"] == "tuned" and result["complete"] + result["pruned"] == 2
    assert set(result["best"]["params"]) == {"training.learning_rate"}
    assert result["holdout"]["bars"] > 0 and (tmp_path / result["report"]).is_file()
