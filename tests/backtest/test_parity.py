"""Same trades and final equity as backtesting.py on an SMA crossover (runs when backtesting.py is installed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("backtesting", reason="backtesting.py is not installed (pip install backtesting)")

_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "backtest.py"


def _benchmark():
    spec = importlib.util.spec_from_file_location("_backtest_benchmark", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sma_crossover_matches_backtesting_py() -> None:
    bench = _benchmark()
    check = bench.parity(bench.make_bars(2_000, seed=11))
    assert check["trades"] >= 20
    assert check["same_times"], check
    assert check["relative_difference"] <= 1e-6, check
