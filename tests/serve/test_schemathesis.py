"""schemathesis runs the server's own OpenAPI schema against it over HTTP (its CLI, as a user would): every
operation, with generated valid and invalid requests in its examples, coverage and fuzzing phases, bounded in count,
and must report no server error, no undocumented status, no response that breaks its schema.

Left out: the operations that start jobs (a generated strategy that happens to validate would start real
training; ``test_jobs.py`` tests them by hand), and the ``positive_data_acceptance`` check, which expects every
schema-valid request to succeed: a bar's high below its low, out-of-order bars or a strategy YAML that does not
validate are schema-valid JSON the API must refuse (422), and JSON Schema cannot say so.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from neurotrade.serve._paper import demo_session

# Enough to reach every branch of each operation's validation several times, in well under a minute.
EXAMPLES_PER_OPERATION = 25
SEED = 20261206
LIMIT_S = 240


def test_schemathesis_finds_no_server_error_and_no_schema_violation(served, tiny_home: Path, tmp_path: Path) -> None:
    from neurotrade import load_bundle
    from neurotrade.store import save_bundle

    server, key = served
    demo_session(tiny_home / "paper" / "s1")
    # The schema's example asks aapl_fuzzy_mlp/1d_v1 (an example strategy's first bundle) for a decision.
    bundle = load_bundle("tiny/1d_v1", home=tiny_home)
    save_bundle(tiny_home / "models", "aapl_fuzzy_mlp", "1d", weights=bundle.weights, documents=bundle.documents)
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}) as c:  # a job to look at: job 1
        job = c.post("/jobs/run", json={"example": "default"}).json()
        c.post(f"/jobs/{job['id']}/cancel")
        while c.get(f"/jobs/{job['id']}").json()["state"] not in ("cancelled", "failed", "succeeded"):
            time.sleep(0.1)
        schema = c.get("/openapi.json").json()
    # Real names, so the generated requests reach real bundles, runs, sessions and jobs, not only 404s.
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f'[parameters]\nstrategy = "tiny"\nversion = "1d_v1"\nrun = "1d_v1"\nsession = "s1"\njob_id = {job["id"]}\n'
    )
    cli = Path(sys.executable).with_name("schemathesis")
    command = [str(cli), "--config-file", str(config), "run", f"{server.url}/openapi.json"]
    command += ["-H", f"Authorization: Bearer {key}", "--max-examples", str(EXAMPLES_PER_OPERATION)]
    command += ["--seed", str(SEED), "--workers", "1", "--exclude-checks", "positive_data_acceptance"]
    command += ["--request-timeout", "30", "--no-color"]
    for path in ("/jobs/run", "/jobs/backtest", "/jobs/tune"):
        command += ["--exclude-name", f"POST {path}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=LIMIT_S, cwd=tmp_path)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    operations = sum(len(ops) for ops in schema["paths"].values())
    selected = operations - 3
    assert f"Selected: {selected}/{operations}" in report and f"Tested: {selected}" in report, report
    assert " 0 failures" in report or "No issues found" in report or "passed" in report, report


def test_the_schema_is_behind_the_key(served) -> None:
    server, key = served
    assert httpx.get(f"{server.url}/openapi.json").status_code == 401
    paths = httpx.get(f"{server.url}/openapi.json", headers={"X-API-Key": key}).json()["paths"]
    assert {"/jobs/run", "/jobs/backtest", "/jobs/tune", "/predict"} <= set(paths)
