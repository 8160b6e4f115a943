"""Tiny strategies run once per session through the whole pipeline, for the engine's replay tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from neurotrade.config import parse_strategy
from neurotrade.pipeline import load_bars, run

_BASE = """\
name: {name}
seed: 5
data: {{source: synthetic, bars: 700}}
indicators: {{rsi_14: {{}}, macd: {{}}, atr_14: {{}}}}
fuzzy_sets: {{rsi_14: {{low: [0, 0, 30, 40], high: [60, 70, 100, 100]}}}}
nn_inputs:
  indicators: [rsi_14, macd.hist, atr_14]
  lookback_periods: 2
  context: {{returns: [1, 5], price_over_ma: [10], volume_ratio: [10]}}
labels: {{threshold_pct: 2, lookahead: 10}}
split: {{folds: 2, embargo: 5}}
model: {model}
training: {{epochs: 2, batch_size: 64}}
decisions: {{confidence_threshold: 0.34, allow_short: true}}
"""

MODELS = {
    "mlp": "{type: mlp, hidden: [16]}",
    "lstm": "{type: lstm, lookback: 6, hidden: 8, layers: 1}",
}


@pytest.fixture(scope="session")
def replay_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("decision_home")


@pytest.fixture(scope="session", params=sorted(MODELS))
def replayed_run(request: pytest.FixtureRequest, replay_home: Path) -> tuple:
    """(strategy, bars, bundle name, last fold's decisions) of a finished run."""
    kind = request.param
    spec = parse_strategy(_BASE.format(name=f"engine_{kind}", model=MODELS[kind]))
    result = run(spec, home=replay_home)
    bars = load_bars(spec.data, home=replay_home, seed=spec.seed)
    decisions = pd.read_parquet(result.run_dir / "decisions.parquet")
    last = decisions[decisions["fold"] == decisions["fold"].max()]
    return spec, bars, result.bundle.name, last
