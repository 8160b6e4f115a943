"""A search of 16 trials: by hand (16 runs one after another, no Ray), ``tune --workers 1`` and ``--workers 2``.

    python benchmarks/tune.py [--trials 16] [--bars 1500]

All three evaluate the same 16 configurations' kind of work (a small synthetic strategy: 3 walk-forward folds, a
small MLP, 3 epochs; the search varies the learning rate and the confidence threshold, so the features are
shared). Printed: wall times, the speed-up of 2 workers (goal >= 1.7x on 2 cores), the per-trial overhead of a
trial on Ray over a plain run, Ray's start-up, and the bytes shipped: the shared feature matrix (once per node)
and, per trial, its configuration out and its result back. Each mode gets a fresh workspace. A script, not a
test: run it on a quiet machine; docs/scaling.md works from its numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

SPEC = """
name: bench
data: {{source: synthetic, bars: {bars}}}
indicators: {{rsi_14: {{}}, adx_14: {{}}, natr_14: {{}}}}
nn_inputs: {{indicators: [rsi_14, adx_14, natr_14], lookback_periods: 2}}
split: {{folds: 3}}
model: {{hidden: [32, 16]}}
training: {{epochs: 3, class_weights: balanced}}
search:
  trials: {trials}
  pruner: none
  seed: 1
  space:
    training.learning_rate: {{loguniform: [1.0e-3, 3.0e-2]}}
    decisions.confidence_threshold: {{uniform: [0.34, 0.6]}}
"""


def by_hand(spec, trials: int) -> float:
    """``trials`` plain runs one after another in this process, each with a drawn configuration (no Ray)."""
    import numpy as np

    import neurotrade
    from neurotrade.config._search import with_values
    from neurotrade.search import locate_holdout

    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as home:
        holdout = locate_holdout(spec, Path(home))
        started = time.perf_counter()
        for k in range(trials):
            values = {
                "training.learning_rate": float(np.exp(rng.uniform(np.log(1e-3), np.log(3e-2)))),
                "decisions.confidence_threshold": float(rng.uniform(0.34, 0.6)),
                "data.end": holdout.start,
                "name": f"hand{k}",
            }
            neurotrade.run(with_values(spec, values), home=home, progress=False)
        return time.perf_counter() - started


def on_ray(spec, workers: int) -> tuple[float, dict]:
    """A whole ``tune`` (Ray started inside it) with ``workers`` trials at once; its wall time and the study."""
    from neurotrade.search import load_study, tune

    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        tune(spec, home=home, workers=workers)
        wall = time.perf_counter() - started
        study = load_study(Path(home), "bench")
        trials = [t for t in study.trials if t.state.name == "COMPLETE"]
        seconds = [t.user_attrs["seconds"] for t in trials]
        result_bytes = [len(json.dumps({k: t.user_attrs[k] for k in t.user_attrs})) for t in trials]
        config_bytes = [len(json.dumps({**t.params, "__trial": t.number})) for t in trials]
        return wall, {"seconds": seconds, "result_bytes": result_bytes, "config_bytes": config_bytes}


def ray_startup() -> float:
    from neurotrade.cluster import ray_session

    started = time.perf_counter()
    with ray_session(cpus=os.cpu_count()) as ray:
        ray.get(ray.remote(lambda: None).remote())
        return time.perf_counter() - started


def shared_bytes(spec) -> int:
    import ray.cloudpickle as cloudpickle

    from neurotrade.search import locate_holdout
    from neurotrade.search._tune import shared_features

    with tempfile.TemporaryDirectory() as home:
        holdout = locate_holdout(spec, Path(home))
        return len(cloudpickle.dumps(shared_features(spec, holdout, Path(home), lambda event: None)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--bars", type=int, default=1500)
    args = parser.parse_args()
    from neurotrade.config import parse_strategy

    spec = parse_strategy(SPEC.format(bars=args.bars, trials=args.trials))
    print(f"neurotrade search benchmark: {args.trials} trials, synthetic {args.bars} bars, {os.cpu_count()} cores")
    startup = ray_startup()
    hand = by_hand(spec, args.trials)
    one, stats1 = on_ray(spec, 1)
    two, stats2 = on_ray(spec, 2)
    per_hand = hand / args.trials
    print()
    print(f"  {'mode':<34}{'wall s':>9}{'s/trial':>9}{'vs by hand':>12}{'vs 1 worker':>13}")
    for label, wall in (("by hand: 16 runs, no Ray", hand), ("tune --workers 1", one), ("tune --workers 2", two)):
        n = args.trials
        print(f"  {label:<34}{wall:>9.1f}{wall / n:>9.2f}{hand / wall:>11.2f}x{one / wall:>12.2f}x")
    mean1 = sum(stats1["seconds"]) / len(stats1["seconds"])
    print()
    print(f"  Ray start-up (local, in each tune): {startup:.1f} s")
    print(f"  a trial's own wall time on 1 worker: {mean1:.2f} s, a plain run {per_hand:.2f} s: "
          f"overhead {mean1 - per_hand:+.2f} s per trial inside the trial, "
          f"{(one - hand) / args.trials:+.2f} s per trial in all (start-up and scheduling included)")  # fmt: skip
    print(f"  shipped once per node: the shared feature matrix, {shared_bytes(spec) / 1e6:.2f} MB pickled")
    out = sum(stats2["config_bytes"]) / len(stats2["config_bytes"])
    back = sum(stats2["result_bytes"]) / len(stats2["result_bytes"])
    print(f"  shipped per trial: configuration {out:.0f} B out, result {back / 1e3:.1f} kB back "
          "(folds, aggregate, excess returns for the DSR)")  # fmt: skip
    print(f"  speed-up of 2 workers over 1: {one / two:.2f}x (goal >= 1.7x on 2 cores)")


if __name__ == "__main__":
    main()
