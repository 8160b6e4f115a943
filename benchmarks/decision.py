"""Per-bar latency of DecisionEngine.update against recomputing every feature over the whole history each bar.

An MLP strategy with 10 indicators on synthetic daily bars is trained once (1 epoch: the timing does not depend on
how good the model is), then its bundle is replayed bar by bar. The naive path runs build_features on bars[: t + 1],
scales the last row and runs the model, on a sample of the same bars. Goals: p99 < 1 ms, ratio >= 100x.

Run: ``.venv/bin/python benchmarks/decision.py [--bars 3000]``. A script, not a test.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

from neurotrade import load_bundle, run
from neurotrade.config import parse_strategy
from neurotrade.decision import DecisionEngine
from neurotrade.features import Standardizer, build_features
from neurotrade.pipeline import load_bars

SPEC = """\
name: bench_engine
seed: 1
data: {{source: synthetic, bars: {bars}}}
indicators:
  rsi_14: {{}}
  macd: {{}}
  adx_14: {{}}
  atr_14: {{}}
  bbands: {{}}
  cci_20: {{type: cci, period: 20}}
  mfi_14: {{type: mfi, period: 14}}
  willr_14: {{type: willr, period: 14}}
  roc_10: {{type: roc, period: 10}}
  obv: {{}}
fuzzy_sets: {{rsi_14: {{low: [0, 0, 30, 40], mid: [30, 50, 70], high: [60, 70, 100, 100]}}}}
nn_inputs:
  indicators: [rsi_14, macd.hist, adx_14, atr_14, bbands.upper, cci_20, mfi_14, willr_14, roc_10]
  lookback_periods: 2
  context: {{returns: [1, 5], price_over_ma: [20], volume_ratio: [20]}}
split: {{folds: 2}}
model: {{type: mlp, hidden: [64, 32]}}
training: {{epochs: 1}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=3000)
    parser.add_argument("--naive-samples", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    home = tempfile.mkdtemp()
    spec = parse_strategy(SPEC.format(bars=args.bars))
    result = run(spec, home=home)
    bundle = load_bundle(result.bundle.name, home=home)
    bars = load_bars(spec.data, home=home, seed=spec.seed)
    records = [{"time": t, **row} for t, row in zip(bars.index, bars.to_dict("records"), strict=True)]

    engine = DecisionEngine.from_bundle(bundle)
    latencies = np.empty(len(records))
    for i, bar in enumerate(records):
        start = time.perf_counter()
        engine.update(bar)
        latencies[i] = time.perf_counter() - start
    warm = latencies[bundle.documents["features"]["warmup_bars"] :]
    p50, p99 = np.percentile(warm, [50, 99]) * 1e3

    scaler = Standardizer.from_dict(bundle.documents["scaler"])
    model = engine.model
    picks = np.linspace(len(bars) // 2, len(bars) - 1, args.naive_samples).astype(int)
    naive = np.empty(len(picks))
    for j, t in enumerate(picks):
        start = time.perf_counter()
        row = build_features(bars.iloc[: t + 1], spec).frame.to_numpy()[-1:]
        with torch.no_grad():
            torch.softmax(model(torch.as_tensor(scaler.transform(row), dtype=torch.float32)).double(), dim=-1)
        naive[j] = time.perf_counter() - start
    ratio = naive.mean() / warm.mean()

    print(f"decision engine, MLP, {len(spec.indicators)} indicators, {len(engine.resolved_features)} features, CPU")
    print(f"{'path':<34}{'mean ms':>10}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'engine.update (per bar)':<34}{warm.mean() * 1e3:>10.3f}{p50:>10.3f}{p99:>10.3f}")
    naive_p50, naive_p99 = np.percentile(naive, [50, 99]) * 1e3
    print(f"{'build_features(bars[:t+1]) + model':<34}{naive.mean() * 1e3:>10.3f}{naive_p50:>10.3f}{naive_p99:>10.3f}")
    print(
        f"ratio (naive / engine, mean): {ratio:.0f}x   goals: p99 < 1 ms ({'met' if p99 < 1 else 'MISSED'}), "
        f">= 100x ({'met' if ratio >= 100 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
