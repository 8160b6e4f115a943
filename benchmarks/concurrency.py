"""Several runs at once on this machine's cores: each one's wall time against its fair share of the idle time.

    python benchmarks/concurrency.py [--example synthetic_lstm] [--copies 2 4]

One copy runs alone first (every library's default threads: every core); then N copies run at once, first with
those defaults, then each started with ``neurotrade --threads cores/N``. A copy's fair share is the time alone
times N / cores (the machine's idle time split N ways); the goal is each copy within 1.3x of it. Every run gets its
own temporary workspace, so nothing is cached between them. A script, not a test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from neurotrade._threads import available_cores, thread_budget

NEUROTRADE = [sys.executable, "-c", "from neurotrade.cli import main; main()"]


def one_run(example: str, threads: int | None) -> float:
    """Wall time of one ``neurotrade run`` in a fresh workspace (a child process)."""
    with tempfile.TemporaryDirectory() as home:
        command = [*NEUROTRADE, "--home", home]
        if threads is not None:
            command += ["--threads", str(threads)]
        env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS") and k != "NEUROTRADE_THREADS"}
        started = time.perf_counter()
        subprocess.run([*command, "run", example], check=True, capture_output=True, env=env)
        return time.perf_counter() - started


def at_once(example: str, copies: int, threads: int | None) -> list[float]:
    """Wall times of ``copies`` runs started together."""
    with ThreadPoolExecutor(copies) as pool:
        return list(pool.map(lambda _: one_run(example, threads), range(copies)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="synthetic_lstm", help="packaged example strategy to run")
    parser.add_argument("--copies", type=int, nargs="+", default=[2, 4], help="how many runs at once")
    args = parser.parse_args()
    cores = available_cores()
    one_run(args.example, None)  # untimed: numba's cache and the first imports
    alone = one_run(args.example, None)
    print(f"{args.example} on {cores} cores: {alone:.1f} s alone\n")
    print(f"{'copies':>6} {'threads':>12} {'mean s':>8} {'worst s':>8} {'fair share s':>12} {'worst / fair':>12}")
    for copies in args.copies:
        fair = alone * max(copies, cores) / cores
        for label, threads in (("default", None), (f"--threads {thread_budget(copies, cores)}", thread_budget(copies))):
            times = at_once(args.example, copies, threads)
            worst = max(times)
            print(
                f"{copies:>6} {label:>12} {sum(times) / len(times):>8.1f} {worst:>8.1f} {fair:>12.1f} "
                f"{worst / fair:>12.2f}"
            )
    print("\ngoal: worst / fair <= 1.3 with --threads cores / copies")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    main()
