"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from neurotrade.data import synthetic_ohlcv

REPO = Path(__file__).resolve().parents[1]

SMALL_STRATEGY = """\
name: small_test
seed: 3
data: {source: synthetic, bars: 900}
indicators:
  rsi_14: {}
  adx_14: {}
  macd: {}
fuzzy_sets:
  rsi_14: {low: [0, 0, 30, 40], mid: [30, 50, 70], high: [60, 70, 100, 100]}
nn_inputs: {indicators: [rsi_14, adx_14, macd.hist], lookback_periods: 1}
labels: {threshold_pct: 2, lookahead: 10}
split: {embargo: 10}
model: {hidden: [16]}
training: {epochs: 15, batch_size: 32}
decisions: {confidence_threshold: 0.34, allow_short: true}
backtest: {commission_pct: 0.1, slippage_pct: 0.05}
"""


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> None:
    """Tiny test models run many times faster on one thread than fighting over two cores."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def bars() -> pd.DataFrame:
    """A valid synthetic OHLCV frame, the same in every test."""
    return synthetic_ohlcv(1200, seed=11)


@pytest.fixture(scope="session")
def small_strategy_text() -> str:
    """The YAML of a quick strategy on synthetic bars."""
    return SMALL_STRATEGY


@pytest.fixture
def small_strategy_file(tmp_path: Path) -> Path:
    """A quick strategy on synthetic bars, written to a file."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_STRATEGY)
    return path
