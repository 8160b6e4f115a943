"""How a whole ``neurotrade run`` grows with the number of bars: wall time, peak memory and time per stage.

Issue 15: a run on synthetic hourly bars took 31 s at 10,000 bars and did not finish in 15 minutes at 100,000,
nearly all of it in the Lorentzian kNN baseline's search over every earlier row (quadratic in history). This
script checks that a run now grows about linearly, and shows which stage dominates at each size.

For each size ``N`` (a fresh subprocess each, so one size's memory peak does not carry into the next; a fresh
temporary workspace each, so no feature or label cache is reused) it runs :func:`neurotrade.pipeline.run` on::

    data: {source: synthetic, timeframe: 1h, bars: N}
    indicators: rsi_14, adx_14, cci_20, natr_14, macd, stoch (six, all fed to the network)
    model: {type: mlp}; split: {folds: 2}; training: {epochs: 3}

and prints per size: the wall time of ``run``, the peak resident memory of the subprocess
(``os.wait4``'s ``ru_maxrss``: imports, the warm-up and the run), the time of each stage the run announces through
its progress callback (data, features, labels, split, train, evaluate, save, report; the kNN baseline's
``predict_proba`` is timed on its own, inside train), and between consecutive sizes the growth ratio
``(time ratio) / (size ratio)``: about 1 is linear, about ``size ratio`` is quadratic. Before the timed run each
subprocess does a small warm-up run (``--warmup`` bars) so that loading numba's caches and the first torch calls
are not counted as work that grows with the bars.

Then, in this process, it times the kNN alone on ``--knn-size`` rows of six features (fitted on all rows,
queried on all of them, as a fold does): the exact brute force (``max_back=None, stride=1``, the search before
issue 15) against the default bounded search (the 2000 most recently known rows, every 4th), and prints the ratio.

``--profile`` runs each size under cProfile and prints the top entries by cumulative time: where a run that grows
faster than linearly spends its time.

Run from the repository root::

    .venv/bin/python benchmarks/scale.py                          # 10,000 and 100,000 bars
    .venv/bin/python benchmarks/scale.py --quick                  # 5,000 and 10,000: a smoke run
    .venv/bin/python benchmarks/scale.py --sizes 10000 100000 1000000
    .venv/bin/python benchmarks/scale.py --sizes 100000 --profile --knn-size 0
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

STAGES = ("data", "features", "labels", "split", "train", "evaluate", "save", "report")
STRATEGY = """
name: scale_{bars}
seed: 3
data: {{source: synthetic, timeframe: 1h, bars: {bars}}}
indicators:
  rsi_14: {{}}
  adx_14: {{}}
  cci_20: {{period: 20}}
  natr_14: {{}}
  macd: {{}}
  stoch: {{}}
nn_inputs: {{indicators: [rsi_14, adx_14, cci_20, natr_14, macd.hist, stoch.slowk]}}
model: {{type: mlp}}
split: {{folds: 2}}
training: {{epochs: 3}}
"""


def one_run(bars: int) -> dict[str, float]:
    """Run the pipeline once on ``bars`` synthetic hourly bars in a fresh workspace; seconds per stage."""
    from neurotrade.config import parse_strategy
    from neurotrade.models import _baselines
    from neurotrade.pipeline import run

    knn_seconds = [0.0]
    predict = _baselines.LorentzianKNN.predict_proba

    def timed_predict(self, x, times):  # the kNN's share of the train stage
        start = time.perf_counter()
        try:
            return predict(self, x, times)
        finally:
            knn_seconds[0] += time.perf_counter() - start

    stages: dict[str, float] = {}
    current: list = [None, 0.0]  # stage, since when

    def on_progress(event) -> None:
        now = time.perf_counter()
        if event.stage != current[0]:
            if current[0] is not None:
                stages[current[0]] = stages.get(current[0], 0.0) + now - current[1]
            current[:] = [event.stage, now]

    _baselines.LorentzianKNN.predict_proba = timed_predict
    try:
        with tempfile.TemporaryDirectory(prefix="neurotrade_scale_") as home:
            start = time.perf_counter()
            run(parse_strategy(STRATEGY.format(bars=bars)), home=home, progress=on_progress)
            end = time.perf_counter()
    finally:
        _baselines.LorentzianKNN.predict_proba = predict
    if current[0] is not None:
        stages[current[0]] = stages.get(current[0], 0.0) + end - current[1]
    return {"total": end - start, "knn": knn_seconds[0], **stages}


def child(bars: int, warmup: int, profile: bool, result_path: Path) -> None:
    """The body of one size's subprocess: warm up, run, write the timings as JSON."""
    import logging

    logging.disable(logging.WARNING)  # the run's warnings about a tiny strategy are not the point here
    if warmup:
        one_run(warmup)
    if profile:
        profiler = cProfile.Profile()
        timings = profiler.runcall(one_run, bars)
        print(f"\n--- cProfile, {bars:,} bars: top 25 by cumulative time ---", file=sys.stderr)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    else:
        timings = one_run(bars)
    result_path.write_text(json.dumps(timings))


def measure(bars: int, warmup: int, profile: bool) -> dict[str, float]:
    """Run one size in a subprocess; its timings and its peak resident memory in MiB."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "timings.json"
        command = [sys.executable, __file__, "--child", str(bars), "--warmup", str(warmup), "--result", str(result)]
        proc = subprocess.Popen([*command, *(["--profile"] if profile else [])])
        # wait4 gives this child's own resource usage: the peak of this size alone.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"the run on {bars:,} bars failed (exit {proc.returncode}); see its output above")
        timings = json.loads(result.read_text())
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    timings["peak_mib"] = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return timings


def knn_alone(rows: int, repeats: int = 1) -> tuple[float, float]:
    """Seconds to fit and predict the kNN on ``rows`` rows: the exact brute force, then the default window."""
    from neurotrade.models import LorentzianKNN

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 6))
    y = rng.integers(0, 3, rows)
    times = pd.date_range("2020-01-01", periods=rows, freq="h", tz="UTC")
    t1 = times + pd.Timedelta("24h")  # labels known a day later, as a lookahead-bound label would be
    LorentzianKNN().fit(x[:100], y[:100], times[:100], t1[:100]).predict_proba(x[:100], times[:100])  # compile
    seconds = []
    for knn in (LorentzianKNN(max_back=None, stride=1), LorentzianKNN()):
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            knn.fit(x, y, times, t1).predict_proba(x, times)
            best = min(best, time.perf_counter() - start)
        seconds.append(best)
    return seconds[0], seconds[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="bars per run")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5,000 and 10,000 bars, kNN on 5,000")
    parser.add_argument("--warmup", type=int, default=2000, help="bars of the untimed warm-up run (0: none)")
    parser.add_argument("--knn-size", type=int, default=20_000, help="rows for the kNN alone (0: skip it)")
    parser.add_argument("--profile", action="store_true", help="cProfile each size, print the top entries")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.warmup, args.profile, args.result)
        return
    sizes, knn_size = ([5000, 10_000], 5000) if args.quick else (sorted(args.sizes), args.knn_size)

    print(f"neurotrade run at scale: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print("synthetic 1h bars, 6 indicators, MLP, 2 folds, 3 epochs; seconds unless marked\n")
    results = {}
    for bars in sizes:
        results[bars] = measure(bars, args.warmup, args.profile)
        print(f"  {bars:,} bars done in {results[bars]['total']:.1f} s", flush=True)

    columns = ["bars", "total", *STAGES, "(knn)", "peak MiB", "growth"]
    print("\n" + " ".join(f"{c:>10}" for c in columns))
    previous = None
    for bars in sizes:
        r = results[bars]
        growth = ""
        if previous is not None:
            growth = f"{(r['total'] / results[previous]['total']) / (bars / previous):.2f}"
        cells = [f"{bars:,}", f"{r['total']:.1f}", *(f"{r.get(s, 0.0):.2f}" for s in STAGES)]
        cells += [f"{r['knn']:.2f}", f"{r['peak_mib']:.0f}", growth]
        print(" ".join(f"{c:>10}" for c in cells))
        previous = bars
    print("growth: (time ratio) / (size ratio) against the previous size; ~1 is linear")
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        per_stage = ", ".join(
            f"{s} {(results[last].get(s, 0.0) / results[first][s]) / (last / first):.2f}"
            for s in (*STAGES, "knn")
            if results[first].get(s, 0.0) > 0.05
        )
        print(f"growth per stage, {first:,} -> {last:,} bars (stages over 0.05 s): {per_stage}")

    if knn_size:
        brute, bounded = knn_alone(knn_size)
        print(
            f"\nkNN alone on {knn_size:,} rows (fit + predict on all rows): brute force (max_back=None, stride=1) "
            f"{brute:.2f} s, default (max_back=2000, stride=4) {bounded:.2f} s: {brute / bounded:.1f}x faster"
        )


if __name__ == "__main__":
    main()
