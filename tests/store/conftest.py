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
