"""``neurotrade run --workers N``: one strategy run sequentially, then with its (seed, fold) trainings on Ray.

    python benchmarks/run_workers.py [--strategy strategies/aapl_fuzzy_mlp.yaml] [--workers 2]

All in one process, each run in a fresh workspace: an untimed run first (imports, numba's cache, the bundled bars),
then the sequential run (workers=1, torch on every core), Ray's start-up (a local Ray over every core), the
parallel run twice (the first also starts Ray's worker processes, which import neurotrade and torch: what one
``neurotrade run --workers N`` pays; the second finds them started, as a session of several runs does). Each
parallel run is checked equal to the sequential one (metrics.json, trades, weights). ``--mkl-default`` adds the
sequential run with MKL's default partitioning of matrix products (what run did before it made them thread-count
invariant), in a child process since the setting holds for a whole process. The load average is printed: on a
shared machine the other processes' load inflates every time. A script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def timed_run(spec: Any, workers: int = 1) -> tuple[float, Any]:
    """Wall time and result of one run in a fresh workspace."""
    from neurotrade.pipeline import run

    home = tempfile.mkdtemp(prefix="nt-bench-")
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


def mkl_default_child(strategy: str) -> float:
    """Seconds of the sequential run with MKL's default partitioning, in a child process."""
    code = (
        "import sys; sys.path.insert(0, 'benchmarks'); import run_workers as b; import neurotrade.pipeline as p\n"
        "p.thread_invariant_products = lambda: False\n"
        f"spec = b.load_spec({strategy!r}); b.timed_run(spec); print(b.timed_run(spec)[0])"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def load_spec(strategy: str) -> Any:
    from neurotrade._examples import resolve_strategy
    from neurotrade.config import load_strategy

    return load_strategy(resolve_strategy(Path(strategy)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default="strategies/aapl_fuzzy_mlp.yaml", help="strategy file or example")
    parser.add_argument("--workers", type=int, default=2, help="trainings at once in the parallel runs")
    parser.add_argument("--mkl-default", action="store_true", help="also time MKL's default partitioning")
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
        f"{available_cores()} cores (torch {torch.get_num_threads()} threads)\n"
    )
    timed_run(spec)  # untimed: first imports, numba's cache, the bundled bars read once per process
    sequential, reference = timed_run(spec)
    rows = [("workers 1 (sequential, this process)", sequential, load(), "")]
    if args.mkl_default:
        rows.append(("workers 1, MKL default partitioning", mkl_default_child(args.strategy), load(), ""))
    started = time.perf_counter()
    with ray_session():
        ray_start = time.perf_counter() - started
        rows.append(("Ray start-up (local, every core)", ray_start, load(), ""))
        for label in ("first: starts Ray's workers", "second: workers started"):
            seconds, result = timed_run(spec, workers=args.workers)
            same = "identical" if identical(reference, result) else "DIFFERENT"
            rows.append((f"workers {args.workers} ({label})", seconds, load(), same))
    print(f"{'run':<44} {'wall s':>8} {'seq / this':>10}  {'load':<9} results")
    for label, seconds, loadavg, same in rows:
        ratio = "" if label.startswith("Ray") else f"{sequential / seconds:.2f}x"
        print(f"{label:<44} {seconds:>8.1f} {ratio:>10}  {loadavg:<9} {same}")
    first = rows[-2][1]
    print(
        f"\nworkers {args.workers} including Ray's start-up: {ray_start + first:.1f} s "
        f"({sequential / (ray_start + first):.2f}x the sequential run)"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
