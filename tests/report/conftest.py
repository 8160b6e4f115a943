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


def add_issue10(run: Path) -> Path:
    """Turn a run folder into one of a CPCV, meta-labelled run with regression heads, sizing and exit reasons,
    in the layout ``write_run_folder`` writes (issue 10)."""
    rng = np.random.default_rng(1)
    equity = pd.read_parquet(run / "equity.parquet")
    index, n = equity.index, len(equity)
    equity["primary"] = 1e5 * np.cumprod(1 + rng.normal(0.0002, 0.012, n))
    equity.to_parquet(run / "equity.parquet")
    paths = pd.DataFrame({f"path_{p}": 1e5 * np.cumprod(1 + rng.normal(0.0003, 0.01, n)) for p in (1, 2, 3)}, index)
    paths.to_parquet(run / "paths.parquet")

    decisions = pd.read_parquet(run / "decisions.parquet")
    target = np.zeros(n, dtype=np.int64)
    target[20:40], target[60:90], target[120:130] = 1, -1, 1
    decisions["target"] = target
    decisions["side"] = np.where(np.arange(n) % 2 == 0, 1, -1)
    decisions["size"] = np.where(target != 0, 0.75, 0.0)
    reasons = np.where(target != 0, "kelly 0.75 (p 0.70, payoff 1.00)", "flat").astype(object)
    reasons[[10, 11, 150]] = [
        "vetoed: 2 bars since the last change (min 5)",
        "vetoed: 3 bars since the last change (min 5)",
        "vetoed: expected edge 0.10% < 0.20%",
    ]
    decisions["size_reason"] = reasons
    decisions["position"] = np.concatenate([[0], target[:-1]]) * 0.75
    decisions["pred_return"] = rng.normal(0, 0.01, n)
    decisions["pred_vol"] = np.abs(rng.normal(0.01, 0.002, n))
    decisions["regime_change"] = rng.uniform(0, 1, n)
    decisions.to_parquet(run / "decisions.parquet")

    forecasts = decisions[["pred_return", "pred_vol", "regime_change", "fold"]].copy()
    forecasts["realised_return"] = forecasts["pred_return"] + rng.normal(0, 0.01, n)
    forecasts["realised_vol"] = forecasts["pred_vol"] * rng.uniform(0.5, 1.5, n)
    forecasts.iloc[-5:, forecasts.columns.get_loc("realised_return")] = np.nan  # labels not yet ended
    forecasts.to_parquet(run / "forecasts.parquet")

    trades = pd.read_parquet(run / "trades.parquet")
    trades["exit_reason"] = ["atr_stop", "signal"]
    trades.to_parquet(run / "trades.parquet")

    metrics = json.loads((run / "metrics.json").read_text())
    aggregate = metrics["aggregate"]
    aggregate["primary"] = {**_trading(9), "sharpe": 0.31, "total_return": 0.034}
    aggregate["strategy"]["sharpe"] = 0.8
    aggregate["buy_and_hold"]["sharpe"] = -0.2
    aggregate["cpcv"] = {
        "groups": 4,
        "test_groups": 2,
        "splits": 6,
        "paths": [
            {"path": 1, "sharpe": 1.4, "total_return_pct": 20.0, "max_drawdown_pct": -5.0, "trades": 4},
            {"path": 2, "sharpe": 0.8, "total_return_pct": 12.0, "max_drawdown_pct": -7.0, "trades": 2},
            {"path": 3, "sharpe": -0.3, "total_return_pct": -4.0, "max_drawdown_pct": -11.0, "trades": 3},
        ],
        "shown_path": 2,
        "sharpe": {"mean": 0.6333, "std": 0.8622, "min": -0.3, "median": 0.8, "max": 1.4, "positive_share": 2 / 3},
    }
    aggregate["forecasts"] = {
        "return": {"samples": 180, "correlation": 0.21, "mae": 0.0083, "direction_hit_rate": 0.56},
        "volatility": {"samples": 180, "correlation": 0.44, "mae": 0.0031},
    }
    aggregate["sizing"] = {"entries": 3, "mean_size": 0.75, "max_size": 0.75, "vetoed_bars": 3}
    for fold in metrics["folds"]:
        fold["decisions"] = {"expected_move_pct": 1.234, "horizon": 4.5}
        fold["primary"] = {**_trading(5), "total_return": -0.021}
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


@pytest.fixture
def issue10_run(tmp_path: Path) -> Path:
    """A full run folder of a CPCV, meta-labelled run with forecasts, sizing and exit reasons."""
    return add_issue10(write_run(tmp_path, full=True))
