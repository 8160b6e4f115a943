"""``neurotrade run --workers N``: one strategy run sequentially, then with its (seed, fold) trainings on Ray.

    python benchmarks/run_workers.py [--strategy strategies/aapl_fuzzy_mlp.yaml] [--workers 2]

All in one process, each run in a fresh workspace: an untimed run first (imports, numba's cache, the bundled bars),
Ray's start-up (a local Ray over every core), a first parallel run (it also starts Ray's worker processes, which
import neurotrade and torch: what one ``neurotrade run --workers N`` pays), then the sequential run (workers=1,
torch on every core) and the parallel one alternated ``--repeat`` times, the best of each compared (a shared
machine's other load only ever adds time). Every run is checked equal to the first parallel one (metrics.json,
trades, weights). A script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOMES: list[str] = []  # every run's workspace, removed at the end


def timed_run(spec: Any, workers: int = 1) -> tuple[float, Any]:
    """Wall time and result of one run in a fresh workspace."""
    from neurotrade.pipeline import run

    home = tempfile.mkdtemp(prefix="nt-bench-")
    HOMES.append(home)
    started = time.perf_counter()
    result = run(spec, home=home, progress=False, workers=workers)
    return time.perf_counter() - started, result


def identical(one: Any, other: Any) -> bool:
    """The two runs' metrics.json (but for where each bundle lies), trades and weights are equal byte for byte."""
    a, b = (json.loads((r.run_dir / "metrics.json").read_text()) for r in (one, other))
    a.pop("bundle_path"), b.pop("bundle_path")
    trades = (one.run_dir / "trades.parquet").read_bytes() == (other.run_dir / "trades.parquet").read_bytes()
    weights = (one.bundle.path / "weights.safetensors").read_bytes() == (
        other.bundle.path / "weights.safetensors"
    ).read_bytes()
    return a == b and trades and weights


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def load_spec(strategy: str) -> Any:
    from neurotrade._examples import resolve_strategy
    from neurotrade.config import load_strategy

    return load_strategy(resolve_strategy(Path(strategy)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default="strategies/aapl_fuzzy_mlp.yaml", help="strategy file or example")
    parser.add_argument("--workers", type=int, default=2, help="trainings at once in the parallel runs")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each kind, alternated; the best counts")
    args = parser.parse_args()

    import logging

    logging.basicConfig(level=logging.ERROR)  # the runs' collapse warnings would bury the table
    import torch

    from neurotrade._threads import available_cores
    from neurotrade.cluster import ray_session

    spec = load_spec(args.strategy)
    seeds = len(spec.training.seeds or [spec.seed])
    print(
        f"{spec.name}: {spec.split.folds} folds x {seeds} seed(s), {spec.training.epochs} epochs max, on "
        f"{available_cores()} cores (torch {torch.get_num_threads()} threads); best of {args.repeat}, alternated\n"
    )
    timed_run(spec)  # untimed: first imports, numba's cache, the bundled bars read once per process
    times: dict[str, list[float]] = {"sequential": [], "parallel": []}
    loads: list[str] = []
    started = time.perf_counter()
    with ray_session():
        ray_start = time.perf_counter() - started
        first, reference = timed_run(spec, workers=args.workers)  # also starts Ray's worker processes
        same = [True]
        for _ in range(args.repeat):
            seconds, result = timed_run(spec)
            times["sequential"].append(seconds)
            same.append(identical(result, reference))
            seconds, result = timed_run(spec, workers=args.workers)
            times["parallel"].append(seconds)
            same.append(identical(result, reference))
            loads.append(load())
    sequential, parallel = min(times["sequential"]), min(times["parallel"])
    rows = [
        ("workers 1 (sequential, this process)", sequential, ", ".join(f"{t:.1f}" for t in times["sequential"])),
        (f"workers {args.workers} (Ray's workers started)", parallel, ", ".join(f"{t:.1f}" for t in times["parallel"])),
        (f"workers {args.workers}, first run (starts Ray's workers)", first, ""),
        ("Ray start-up (local, every core)", ray_start, ""),
    ]
    print(f"{'run':<48} {'wall s':>7} {'seq / this':>10}  every run")
    for label, seconds, each in rows:
        ratio = "" if label.startswith("Ray") else f"{sequential / seconds:.2f}x"
        print(f"{label:<48} {seconds:>7.1f} {ratio:>10}  {each}")
    print(
        f"\none neurotrade run --workers {args.workers} (Ray's start-up and its workers' included): "
        f"{ray_start + first:.1f} s, {sequential / (ray_start + first):.2f}x the sequential run"
    )
    print(f"every result identical to the first parallel run's: {all(same)}; load average: {', '.join(loads)}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    try:
        main()
    finally:
        for home in HOMES:
            shutil.rmtree(home, ignore_errors=True)
