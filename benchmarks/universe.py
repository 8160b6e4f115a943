"""How a universe run grows with the number of symbols: wall time, peak memory and where each goes.

Issue 11: one model trained on the pooled samples of every symbol must fit a universe of 500 synthetic symbols x
5,000 daily bars with 20 indicators on a 2-core, 24 GiB machine, the folds and windows indexing into one stacked
feature matrix instead of copying it. This script measures a whole :func:`neurotrade.run` at several universe
sizes and checks that time and memory grow about linearly with the samples.

For each size ``N`` (a fresh subprocess each, so one size's memory peak does not carry into the next; a fresh
temporary workspace each, so no feature or label cache is reused) it runs::

    data: {source: synthetic, symbols: N, bars: 5000}            # daily bars, symbols S001..SNNN
    indicators: 20 scale-free ones (rsi 7/14/28, adx 14/28, willr 14/28, cci 20/50, mfi, roc 5/20, natr, cmo,
                aroonosc, ultosc, ppo, trix, cmf, stoch.slowk), all fed to the network
    model: {type: mlp}; split: {folds: 2}; training: {epochs: 2, batch_size: 1024}

and prints per size: the stacked samples (every symbol's feature rows), the wall time of ``run``, the peak
resident memory of the subprocess (``os.wait4``'s ``ru_maxrss``: imports, the warm-up and the run), the memory the
run added over what the process held when it started (sampled from ``/proc/self/statm`` every 20 ms), seconds per
1,000 samples, and between consecutive sizes the sample ratio beside the time and memory ratios: a time ratio
close to the sample ratio is linear growth.

Per size it also prints a breakdown by phase: the run's own stages (its progress callback: data, features,
labels, split, train, evaluate, save, report) refined by timing the universe's steps inside them (computing the
indicators, building each symbol's matrix, labels, the decision context, scaling, the network's fit, the
baselines, each symbol's outputs and trading, the portfolio, the metrics, the bundle, the run folder, the report).
Each phase shows its seconds (excluding the steps named inside it; "(rest)" is the stage's own remainder, e.g.
the feature cache's writes in ``features``, stacking the samples in ``labels``), the process's peak resident
memory while it ran, and the memory on entering it: the phase where the peak is reached is the one to shrink.
Memory a phase keeps shows in the entry memory of the phases after it.

Before the timed run each subprocess does a small untimed warm-up run (``--warmup`` symbols of 600 bars) so that
loading numba's caches and the first torch calls are not counted as work that grows with the symbols.

``--profile`` runs each size under cProfile and prints the top 25 entries by cumulative time and the top 15 by
own time.

Run from the repository root::

    .venv/bin/python benchmarks/universe.py                          # 10, 100 and 500 symbols (~15 min on 2 cores)
    .venv/bin/python benchmarks/universe.py --quick                  # 3 and 10 symbols of 1,000 bars: a smoke run
    .venv/bin/python benchmarks/universe.py --sizes 100 --profile    # where the time goes at 100 symbols
    .venv/bin/python benchmarks/universe.py --threads 1              # every library on one thread
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

GIB = 1024**3
INDICATORS = {
    "rsi_7": "{period: 7}",
    "rsi_14": "{period: 14}",
    "rsi_28": "{period: 28}",
    "adx_14": "{period: 14}",
    "adx_28": "{period: 28}",
    "willr_14": "{period: 14}",
    "willr_28": "{period: 28}",
    "cci_20": "{period: 20}",
    "cci_50": "{period: 50}",
    "mfi_14": "{period: 14}",
    "roc_5": "{period: 5}",
    "roc_20": "{period: 20}",
    "natr_14": "{period: 14}",
    "cmo_14": "{period: 14}",
    "aroonosc_25": "{period: 25}",
    "ultosc": "{}",
    "ppo": "{}",
    "trix_15": "{period: 15}",
    "cmf_20": "{period: 20}",
    "stoch": "{}",
}
INPUTS = [name if name != "stoch" else "stoch.slowk" for name in INDICATORS]  # one input per indicator: 20


def strategy_yaml(symbols: int, bars: int) -> str:
    """The benchmark's strategy for ``symbols`` synthetic symbols of ``bars`` daily bars each."""
    indicators = "\n".join(f"  {name}: {params}" for name, params in INDICATORS.items())
    return f"""
name: universe_{symbols}
seed: 3
data: {{source: synthetic, symbols: {symbols}, bars: {bars}}}
indicators:
{indicators}
nn_inputs: {{indicators: [{", ".join(INPUTS)}]}}
model: {{type: mlp}}
split: {{folds: 2}}
training: {{epochs: 2, batch_size: 1024}}
"""


def rss_bytes() -> int:
    """This process's resident memory now (Linux ``/proc``; 0 where there is none)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


class Phases:
    """Which phase of the run is going on (a stack: a timed step inside a stage), its seconds and memory.

    A sampler thread reads the resident memory every ``interval`` seconds and charges it to the innermost phase;
    time is charged to the innermost phase too, so the phases' seconds add up to the run's.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.stack: list[str] = ["(start)"]
        self.since = time.perf_counter()
        self.seconds: dict[str, float] = {}
        self.peak: dict[str, int] = {}
        self.entry: dict[str, int] = {}
        self.order: list[str] = []
        self.max_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(interval,), daemon=True)

    def _sample(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self._charge_memory()

    def _charge_memory(self) -> None:
        now = rss_bytes()
        name = self.stack[-1]
        self.peak[name] = max(self.peak.get(name, 0), now)
        self.max_rss = max(self.max_rss, now)

    def _switch(self) -> None:
        now = time.perf_counter()
        name = self.stack[-1]
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self.since
        self.since = now
        self._charge_memory()

    def _enter(self, name: str) -> None:
        if name not in self.entry:
            self.order.append(name)
            self.entry[name] = rss_bytes()

    def push(self, name: str) -> None:
        self._switch()
        self.stack.append(name)
        self._enter(name)

    def pop(self) -> None:
        self._switch()
        self.stack.pop()

    def stage(self, stage: str) -> None:
        """A new stage of the run (its progress callback): the bottom of the stack."""
        name = f"{stage} (rest)"
        if self.stack[0] != name:
            self._switch()
            self.stack[0] = name
            self._enter(name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._switch()
        self._stop.set()
        self._thread.join()


# The steps timed inside the stages: (module, attribute, phase name). Each is looked up where the run calls it,
# so wrapping that module's attribute catches every call.
STEPS = [
    ("neurotrade._universe", "load_universe", "data: load bars"),
    ("neurotrade._universe", "compute_indicator_panels", "features: indicators (all symbols)"),
    ("neurotrade._universe", "build_features", "features: per-symbol matrices"),
    ("neurotrade._universe", "add_universe_features", "features: cross-section"),
    ("neurotrade._universe", "make_labels", "labels: labelling"),
    ("neurotrade._universe", "decision_context", "labels: decision context"),
    ("neurotrade._universe", "universe_fingerprint", "split: fingerprint"),
    ("neurotrade._universe", "_scale", "train: scaling"),
    ("neurotrade._universe", "fit_network", "train: network fit"),
    ("neurotrade._universe", "_baselines", "train: baselines fit+predict"),
    ("neurotrade._universe", "_readout", "train: readout"),
    ("neurotrade._universe", "_symbol_fold", "train: per-symbol outputs+trading"),
    ("neurotrade._universe", "_trade_symbol", "train: per-symbol baseline trading"),
    ("neurotrade._universe", "regime_targets", "train: regime targets"),
    ("neurotrade._universe", "trade_portfolio", "evaluate: portfolio"),
    ("neurotrade._universe", "universe_metrics", "evaluate: metrics"),
    ("neurotrade._universe", "_documents", "save: bundle documents"),
    ("neurotrade.store", "save_bundle", "save: bundle"),
    ("neurotrade._universe", "write_universe_folder", "save: run folder"),
    ("neurotrade.report", "write_report", "report: html"),
]


def wrap_steps(phases: Phases, found: dict[str, int]) -> list[tuple[object, str, object]]:
    """Wrap every step in ``STEPS`` so that it runs as a phase; returns what to restore."""
    import importlib

    from neurotrade import _universe

    restore = []

    def timed(function, name):
        def wrapper(*args, **kwargs):
            phases.push(name)
            try:
                return function(*args, **kwargs)
            finally:
                phases.pop()

        return wrapper

    for module_name, attribute, name in STEPS:
        module = importlib.import_module(module_name)
        original = getattr(module, attribute, None)
        if original is None:  # a step this version of the run does not have
            continue
        restore.append((module, attribute, original))
        setattr(module, attribute, timed(original, name))

    load = _universe.load_universe_data

    def counted(*args, **kwargs):  # the stacked samples: what the cost should grow with
        u = load(*args, **kwargs)
        found["samples"] = len(u.frame)
        found["features"] = u.frame.shape[1]
        return u

    restore.append((_universe, "load_universe_data", load))
    _universe.load_universe_data = counted
    return restore


def one_run(symbols: int, bars: int, *, detail: bool) -> dict:
    """Run the pipeline once on ``symbols`` synthetic symbols in a fresh workspace; seconds, samples, phases."""
    from neurotrade.config import parse_strategy
    from neurotrade.pipeline import run

    spec = parse_strategy(strategy_yaml(symbols, bars))
    phases = Phases()
    found: dict[str, int] = {}
    restore = wrap_steps(phases, found) if detail else []
    try:
        with tempfile.TemporaryDirectory(prefix="neurotrade_universe_") as home:
            start_rss = rss_bytes()
            phases.start()
            start = time.perf_counter()
            # A callback, not a display: it only names the stage (as progress=False, nothing is shown).
            run(spec, home=home, progress=lambda event: phases.stage(event.stage))
            end = time.perf_counter()
            phases.stop()
    finally:
        for module, attribute, original in restore:
            setattr(module, attribute, original)
    return {
        "total": end - start,
        "samples": found.get("samples", 0),
        "features": found.get("features", 0),
        "start_rss": start_rss,
        "load": os.getloadavg()[0],  # this run's own threads count in it too
        "run_peak_rss": phases.max_rss,
        "phases": [
            {"name": n, "seconds": phases.seconds.get(n, 0.0), "peak": phases.peak.get(n, 0), "entry": phases.entry[n]}
            for n in phases.order
        ],
    }


def child(symbols: int, bars: int, warmup: int, threads: int | None, profile: bool, result_path: Path) -> None:
    """The body of one size's subprocess: size the thread pools, warm up, run, write the measurements as JSON."""
    import logging

    if threads:
        from neurotrade import configure_threads

        configure_threads(threads)
    logging.disable(logging.WARNING)  # the run's warnings about an untrainable synthetic market are not the point
    if warmup:
        one_run(warmup, 600, detail=False)
    if profile:
        profiler = cProfile.Profile()
        result = profiler.runcall(one_run, symbols, bars, detail=True)
        print(f"\n--- cProfile, {symbols} symbols: top 25 by cumulative time ---", file=sys.stderr)
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(25)
        print(f"\n--- cProfile, {symbols} symbols: top 15 by own time ---", file=sys.stderr)
        stats.sort_stats("tottime").print_stats(15)
    else:
        result = one_run(symbols, bars, detail=True)
    result_path.write_text(json.dumps(result))


def measure(symbols: int, bars: int, warmup: int, threads: int | None, profile: bool) -> dict:
    """Run one size in a subprocess; its measurements and its peak resident memory in bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        command = [sys.executable, __file__, "--child", str(symbols), "--bars", str(bars), "--warmup", str(warmup)]
        command += ["--result", str(result), *(["--threads", str(threads)] if threads else [])]
        proc = subprocess.Popen([*command, *(["--profile"] if profile else [])])
        # wait4 gives this child's own resource usage: the peak of this size alone.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"the run on {symbols} symbols failed (exit {proc.returncode}); see its output above")
        out = json.loads(result.read_text())
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    out["peak_rss"] = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return out


def print_phases(symbols: int, r: dict) -> None:
    """One size's phases: seconds, peak memory while each ran, memory on entering it."""
    print(f"\n  {symbols} symbols, by phase (seconds exclusive of the steps inside; GiB resident):")
    print(f"  {'phase':<38} {'s':>8} {'% run':>6} {'peak GiB':>9} {'entry GiB':>9}")
    top = max(r["phases"], key=lambda p: p["peak"])["name"]
    for p in r["phases"]:
        if p["seconds"] < 0.005 and p["peak"] == 0:
            continue
        mark = "  <- peak" if p["name"] == top else ""
        print(
            f"  {p['name']:<38} {p['seconds']:>8.2f} {100 * p['seconds'] / r['total']:>6.1f} "
            f"{p['peak'] / GIB:>9.2f} {p['entry'] / GIB:>9.2f}{mark}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500], help="symbols per run")
    parser.add_argument("--bars", type=int, default=5000, help="daily bars per symbol")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 and 10 symbols of 1,000 bars")
    parser.add_argument("--warmup", type=int, default=2, help="symbols of the untimed warm-up run (0: none)")
    parser.add_argument("--threads", type=int, help="threads per library (neurotrade.configure_threads)")
    parser.add_argument("--profile", action="store_true", help="cProfile each size, print the top entries")
    parser.add_argument("--no-phases", action="store_true", help="skip the per-phase breakdown")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.bars, args.warmup, args.threads, args.profile, args.result)
        return
    sizes, bars = ([3, 10], 1000) if args.quick else (sorted(args.sizes), args.bars)

    threads = f"--threads {args.threads}" if args.threads else "library default threads"
    print(f"neurotrade universe run: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {threads}")
    print(f"synthetic daily bars ({bars:,} per symbol), 20 indicators, MLP, 2 folds, 2 epochs, batch 1024\n")
    results = {}
    for symbols in sizes:
        results[symbols] = measure(symbols, bars, args.warmup, args.threads, args.profile)
        r = results[symbols]
        print(
            f"  {symbols} symbols ({r['samples']:,} samples) done in {r['total']:.1f} s, "
            f"peak {r['peak_rss'] / GIB:.2f} GiB",
            flush=True,
        )

    columns = ["symbols", "samples", "wall s", "peak GiB", "run +GiB", "s/1k smp", "MiB/1k smp", "load 1m"]
    print("\n" + " ".join(f"{c:>11}" for c in columns))
    for symbols in sizes:
        r = results[symbols]
        added = max(r["run_peak_rss"] - r["start_rss"], 0)
        cells = [f"{symbols}", f"{r['samples']:,}", f"{r['total']:.1f}", f"{r['peak_rss'] / GIB:.2f}"]
        cells += [f"{added / GIB:.2f}", f"{1000 * r['total'] / r['samples']:.3f}"]
        cells += [f"{1000 * added / r['samples'] / 2**20:.2f}", f"{r['load']:.1f}"]
        print(" ".join(f"{c:>11}" for c in cells))
    print(
        "peak GiB: the subprocess's ru_maxrss (imports and warm-up included); run +GiB: the run's sampled peak "
        "over the memory the process held when it started;\nload 1m: the machine's 1-minute load average as the "
        f"run ended (the run's own threads included): above {os.cpu_count()} cores, other work shared the CPUs "
        "and the times are inflated"
    )
    if len(sizes) > 1:
        print(f"\n{'growth':>14} {'samples x':>10} {'time x':>8} {'run mem x':>10} {'time/samples':>13}")
        for a, b in itertools.pairwise(sizes):
            ra, rb = results[a], results[b]
            sample_ratio = rb["samples"] / ra["samples"]
            time_ratio = rb["total"] / ra["total"]
            mem_a = max(ra["run_peak_rss"] - ra["start_rss"], 1)
            mem_ratio = max(rb["run_peak_rss"] - rb["start_rss"], 0) / mem_a
            print(
                f"{f'{a} -> {b}':>14} {sample_ratio:>10.2f} {time_ratio:>8.2f} {mem_ratio:>10.2f} "
                f"{time_ratio / sample_ratio:>13.2f}"
            )
        print("time/samples: (time ratio) / (sample ratio); ~1 is linear, below 1 is fixed costs being spread")
    if not args.no_phases:
        for symbols in sizes:
            print_phases(symbols, results[symbols])


if __name__ == "__main__":
    main()
