"""Run folders written by hand in the layout `neurotrade run` writes, so report tests need no training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurotrade._stages import load_bars
from neurotrade.config import DataSpec

DATA = {"source": "synthetic", "symbol": "TEST", "timeframe": "1d", "bars": 400}
SEED = 5
CLASSES = ("SELL", "HOLD", "BUY")


def _trading(n: int) -> dict[str, float]:
    return {"total_return": 0.12, "sharpe": 0.8, "max_drawdown": -0.07, "trades": n, "final_equity": 112000.0}


def _classification(accuracy: float) -> dict:
    return {
        "accuracy": accuracy,
        "log_loss": 0.9,
        "ece": 0.05,
        "per_class": {c: {"precision": 0.5, "recall": 0.5} for c in CLASSES},
        "confusion_matrix": [[5, 3, 1], [2, 40, 2], [1, 4, 6]],
    }


def write_run(home: Path, *, full: bool) -> Path:
    """A run folder over the last 200 of 400 synthetic bars; ``full`` adds every optional file."""
    bars = load_bars(DataSpec.model_validate(DATA), home=home, seed=SEED).iloc[200:]
    run = home / "runs" / "demo" / "1d_v1"
    bundle = home / "models" / "demo" / "1d_v1"
    run.mkdir(parents=True)
    bundle.mkdir(parents=True)
    rng = np.random.default_rng(0)
    close = bars["close"].to_numpy()
    equity = pd.DataFrame(
        {
            "strategy": 1e5 * np.cumprod(1 + rng.normal(0.0005, 0.01, len(bars))),
            "buy_and_hold": 1e5 * close / close[0],
            "logistic": 1e5 * np.cumprod(1 + rng.normal(0, 0.01, len(bars))),
            "lorentzian_knn": 1e5 * np.cumprod(1 + rng.normal(0, 0.01, len(bars))),
            "position": np.repeat([0.0, 1.0, -1.0, 0.0], 50),
            "fold": np.repeat([1, 2], 100),
        },
        index=bars.index,
    )
    equity.to_parquet(run / "equity.parquet")
    proba = rng.dirichlet([1, 2, 1], len(bars))
    decisions = pd.DataFrame(proba, index=bars.index, columns=["p_sell", "p_hold", "p_buy"])
    decisions["signal"] = np.array(CLASSES)[proba.argmax(axis=1)]
    decisions["fold"] = equity["fold"].to_numpy()
    decisions.to_parquet(run / "decisions.parquet")
    trades = pd.DataFrame(
        {
            "entry_time": bars.index[[51, 101]],
            "exit_time": bars.index[[100, 150]],
            "side": ["long", "short"],
            "entry_price": bars["open"].to_numpy()[[51, 101]],
            "exit_price": bars["open"].to_numpy()[[100, 150]],
            "quantity": [10.0, 10.0],
            "pnl": [150.0, -40.0],
            "return_pct": [1.5, -0.4],
            "bars_held": [49, 49],
            "costs": [3.0, 3.0],
            "closed_at_end": [False, False],
            "fold": [1, 2],
        }
    )
    trades.to_parquet(run / "trades.parquet")
    history = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.1 / e**0.5, "lr": 0.01} for e in range(1, 6)]
    folds = [
        {
            "fold": i,
            "window": {"first": "2020-01-01T00:00:00+00:00", "last": "2020-06-01T00:00:00+00:00"},
            "split": {"train": {"samples": 300}, "test": {"samples": 100}},
            "training": {"best_epoch": 3, "stopped_early": True, "history": history},
            "classification": {"test": _classification(0.6)},
            "strategy": _trading(1),
            "buy_and_hold": _trading(1),
        }
        for i in (1, 2)
    ]
    model = {"type": "neuro_fuzzy", "parameters": 99}
    if full:
        model["rules"] = ["IF rsi is low AND adx is high THEN BUY (0.62)", "IF x < y THEN <SELL> (0.55)"]
        model["member_weights"] = [0.3, 0.7]
    metrics = {
        "bundle": "demo/1d_v1",
        "bundle_path": str(bundle),
        "aggregate": {
            "window": {"first": bars.index[0].isoformat(), "last": bars.index[-1].isoformat()},
            "classification": _classification(0.6543),
            "strategy": _trading(2),
            "buy_and_hold": _trading(1),
            "baselines": {"logistic": {"classification": _classification(0.5), "strategy": _trading(7)}},
            "warnings": ["fold 1: input feature 'x' is constant"],
        },
        "folds": folds,
        "model": model,
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    spec = {"name": "demo", "seed": SEED, "data": DATA}
    (bundle / "spec.json").write_text(json.dumps(spec))
    (bundle / "training.json").write_text(json.dumps({"fold": 2, "history": history}))
    if full:
        bins = [{"confidence": c, "accuracy": c - 0.05, "count": 20} for c in (0.45, 0.55, 0.65)]
        (run / "calibration.json").write_text(json.dumps({"bins": bins, "samples": 60}))
        (run / "importance.json").write_text(json.dumps({"log_loss_increase": {"rsi": 0.03, "adx": 0.01}}))
        attention = rng.dirichlet(np.ones(6), (2, 2, 6))  # (layers, heads, T, T)
        (run / "attention.json").write_text(json.dumps({"fold": 2, "mean": attention.tolist()}))
        latent = pd.DataFrame(rng.normal(size=(len(bars), 2)), index=bars.index, columns=["z0", "z1"])
        latent.assign(fold=equity["fold"].to_numpy()).to_parquet(run / "latent.parquet")
    return run


@pytest.fixture
def full_run(tmp_path: Path) -> Path:
    """A run folder with every optional input of the report."""
    return write_run(tmp_path, full=True)


@pytest.fixture
def bare_run(tmp_path: Path) -> Path:
    """A run folder with only what every run writes."""
    return write_run(tmp_path, full=False)
