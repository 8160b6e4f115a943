"""Shared fixtures for the model store tests: a models directory and a small, realistic bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def weights() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return {
        "encoder.weight": torch.randn(8, 5, generator=gen),
        "encoder.bias": torch.randn(8, generator=gen, dtype=torch.float64),
        "head.weight": torch.randn(3, 8, generator=gen).to(torch.bfloat16),
        "steps": torch.tensor(12345, dtype=torch.int64),
    }


@pytest.fixture
def documents() -> dict[str, Any]:
    return {
        "spec": {"name": "trend", "timeframe": "1d", "model": {"kind": "mlp", "hidden": [16, 8]}},
        "resolved_features": ["1d_rsi_14_oversold", "1d_rsi_14_oversold_lag1", "1d_macd.hist"],
        "metrics": {"test": {"accuracy": 0.61, "loss": 0.93}, "backtest": {"sharpe": 1.25}},
        "seed": 7,
        "notes": {"unicode": "µ-β ✓", "empty": {}, "none": None, "flag": True},
    }


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with two real bundles from the pipeline: ``tiny_mlp`` (rows) and ``tiny_lstm`` (windows)."""
    from neurotrade.config import parse_strategy
    from neurotrade.pipeline import run

    home = tmp_path_factory.mktemp("trained")
    models = {
        "tiny_mlp": "{type: mlp, hidden: [8]}",
        "tiny_lstm": "{type: lstm, lookback: 6, hidden: 8, layers: 1}",
    }
    for name, model in models.items():
        spec = parse_strategy(
            f"name: {name}\ndata: {{source: synthetic, bars: 900}}\n"
            "indicators: {rsi_14: {}, atr_14: {}}\nnn_inputs: {indicators: [rsi_14, atr_14]}\n"
            f"model: {model}\nsplit: {{folds: 2}}\ntraining: {{epochs: 2}}\n"
        )
        run(spec, home=home)
    return home
