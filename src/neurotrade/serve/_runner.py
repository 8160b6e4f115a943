"""The process that runs one job: ``python -m neurotrade.serve._runner JOB_DIR [--resume]``.

It reads ``job.json`` and ``strategy.yaml`` from the job's folder and the server's settings from its environment,
calls the library (``neurotrade.run``, ``backtest_bundle`` or ``search.tune``; a run's trainings and a search's
trials on the server's Ray cluster when it has one, a backtest's bar-by-bar replay always here), logs to its
stderr (the supervisor points it at ``log.txt``), reports progress in ``progress.json`` and writes
``result.json``. Exit codes follow the CLI's: 0 done, 2 the user's error (the message is in ``result.json``), 1 a
bug.

It watches its parent, the server: when the server dies (kill -9 included) this process kills its own process
group, so nothing keeps training for a job the next server marks interrupted.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from neurotrade.errors import NeurotradeError

log = logging.getLogger("neurotrade.serve.job")

# How often the runner checks that its server is still alive.
WATCH_SECONDS = 0.5
# The server's pid, from the supervisor: the runner's parent when it started may already be init (the server died
# while the runner was importing), and a watch of that parent would never fire.
PARENT_ENV = "NEUROTRADE_SERVE_PARENT_PID"
# progress.json is rewritten at most this often (an epoch can take milliseconds).
PROGRESS_SECONDS = 0.5


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:  # re-parented: the server is gone
            os.killpg(os.getpgid(0), signal.SIGKILL)
        time.sleep(WATCH_SECONDS)


def _write_json(path: Path, value: Any) -> None:
    from neurotrade.serve._plain import plain

    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(plain(value)), encoding="utf-8")
    tmp.replace(path)


class _Progress:
    """Progress events: every stage to the log, the latest to progress.json (throttled)."""

    def __init__(self, folder: Path) -> None:
        self.path, self.last, self.stage = folder / "progress.json", 0.0, None

    def __call__(self, event: Any) -> None:
        stage, message = getattr(event, "stage", ""), getattr(event, "message", str(event))
        done, total = getattr(event, "done", None), getattr(event, "total", None)
        if getattr(event, "epoch", None) is None:
            log.info("%s", message)
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS or stage != self.stage or (done is not None and done == total):
            self.last, self.stage = now, stage
            _write_json(self.path, {"stage": stage, "message": message, "done": done, "total": total})

    def bars(self, done: int, total: int) -> None:
        """A backtest's replay: bars done of total."""
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS or done == total:
            self.last = now
            _write_json(self.path, {"stage": "replay", "message": "replaying bars", "done": done, "total": total})


def _cluster_cpus(address: str) -> int:
    """How many (seed, fold) trainings the cluster at ``address`` runs at once: its CPUs (at least 2, so the run
    goes to Ray rather than staying in this process)."""
    from neurotrade.cluster import ray_session

    with ray_session(address) as ray:
        cpus = int(ray.cluster_resources().get("CPU", 0))
    log.info("Ray at %s has %d CPU(s): training up to that many (seed, fold) pairs at once there", address, cpus)
    return max(2, cpus)


def run_job(folder: Path, *, resume: bool) -> dict[str, Any]:
    """Run the job in ``folder`` and return its result (JSON-safe)."""
    from neurotrade.config import parse_strategy
    from neurotrade.serve._settings import ServeSettings

    job = json.loads((folder / "job.json").read_text(encoding="utf-8"))
    settings = ServeSettings.from_env()  # the supervisor passed the server's settings in the environment
    home, address = settings.home, settings.ray_address
    text = (folder / "strategy.yaml").read_text(encoding="utf-8")
    # Relative data paths are the workspace's, as when the strategy was checked at submission.
    spec = parse_strategy(text, source="strategy.yaml", base_dir=home)
    kind, params = job["kind"], job.get("params", {})
    progress = _Progress(folder)
    if kind == "run":
        from neurotrade.pipeline import run

        workers = params.get("workers") or (_cluster_cpus(address) if address else 1)
        if address and workers == 1:
            log.info("workers 1 asked: training here, one fold after another, not on Ray at %s", address)
        where = address if workers > 1 else None
        result = run(spec, home=home, progress=progress, resume=resume, workers=workers, address=where)
        aggregate = result.metrics.get("aggregate", {})
        run_name = f"{spec.name}/{result.run_dir.name}"
        return {
            "bundle": result.bundle.name,
            "run": run_name,
            "report": f"/runs/{run_name}/report",
            "metrics": {k: aggregate.get(k) for k in ("window", "strategy", "buy_and_hold", "signals")},
            "classification": {
                k: aggregate.get("classification", {}).get(k) for k in ("samples", "accuracy", "log_loss")
            },
            "workers": workers,
            "ray_address": where,
        }
    if kind == "backtest":
        from neurotrade._replay import backtest_bundle

        out = backtest_bundle(
            spec,
            model=params.get("model", "latest"),
            start=params.get("start"),
            end=params.get("end"),
            home=home,
            progress=progress.bars,
        )
        m = out.metrics
        return {
            "bundle": out.bundle.name,
            "metrics": {
                k: m.get(k) for k in ("window", "strategy", "buy_and_hold", "signals", "in_sample", "trained_until")
            },
        }
    if kind == "tune":
        from dataclasses import asdict

        from neurotrade.search import tune

        outcome = tune(
            spec,
            home=home,
            trials=params.get("trials"),
            workers=params.get("workers"),
            address=address,
            study=params.get("study"),
            progress=progress,
        )
        report = outcome.report
        return {
            "study": outcome.study,
            "holdout": asdict(outcome.holdout),
            "complete": outcome.complete,
            "pruned": outcome.pruned,
            "failed": outcome.failed,
            "best": outcome.best,
            "trials_counted": outcome.trials_counted,
            "ray_address": address,
            "report": str(report.relative_to(home)) if report is not None and report.is_relative_to(home) else report,
        }
    raise NeurotradeError(f"unknown job kind {kind!r}")


def main(argv: list[str] | None = None) -> int:
    """Run the job named on the command line; the exit code says how it ended."""
    args = sys.argv[1:] if argv is None else argv
    folder, resume = Path(args[0]), "--resume" in args[1:]
    parent = int(os.environ.get(PARENT_ENV) or os.getppid())
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    from neurotrade._threads import configure_threads

    configure_threads(None)
    try:
        result = run_job(folder, resume=resume)
    except NeurotradeError as e:
        log.error("%s", e)
        _write_json(folder / "result.json", {"ok": False, "error": str(e)})
        return 2
    except Exception as e:  # a bug: the traceback goes to the job's log
        traceback.print_exc()
        _write_json(folder / "result.json", {"ok": False, "error": f"internal error: {type(e).__name__}: {e}"})
        return 1
    _write_json(folder / "result.json", {"ok": True, "result": result})
    log.info("job done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
