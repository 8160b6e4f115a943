"""Jobs on a Ray cluster: a server started with ``--ray ADDRESS`` sends a run job's (seed, fold) trainings to that
cluster, and the run is the one the job's process would have made alone, number for number."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from neurotrade import run
from neurotrade.config import parse_strategy


def test_a_run_job_trains_on_the_servers_ray_cluster(tmp_path: Path, start_server, new_key, tiny_strategy: str) -> None:
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
    try:
        cluster.wait_for_nodes()
        home = tmp_path / "served"
        home.mkdir()
        server = start_server(home, "--ray", cluster.address)
        with httpx.Client(base_url=server.url, headers={"X-API-Key": new_key(home)}, timeout=30) as c:
            job = c.post("/jobs/run", json={"strategy": tiny_strategy})
            assert job.status_code == 202, job.text
            job_id = job.json()["id"]
            deadline = time.monotonic() + 240
            while (state := c.get(f"/jobs/{job_id}").json()["state"]) not in ("succeeded", "failed"):
                assert time.monotonic() < deadline, "the run job did not finish in 240 s"
                time.sleep(0.2)
            log = c.get(f"/jobs/{job_id}/logs", params={"limit": 1_000_000}).json()["text"]
            assert state == "succeeded", log
            result = c.get(f"/jobs/{job_id}/result").json()["result"]
        # The cluster's 2 CPUs gave 2 trainings at once, as Ray tasks on that cluster (not a Ray of the job's own).
        assert result["workers"] == 2 and result["ray_address"] == cluster.address
        assert f"Ray at {cluster.address} has 2 CPU(s)" in log and "on Ray, 2 at once" in log, log
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()

    # The same strategy run here, alone and sequentially, gives the same numbers.
    alone = run(parse_strategy(tiny_strategy), home=tmp_path / "alone", progress=False)
    served, expected = (
        json.loads((d / "metrics.json").read_text()) for d in (home / "runs" / result["run"], alone.run_dir)
    )
    assert served["aggregate"] == expected["aggregate"] and served["folds"] == expected["folds"]
