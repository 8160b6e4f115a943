"""One walk-forward fold, start to finish: fit on its training rows, stop on its validation rows, trade its test
window; then the folds' results chained into one out-of-sample record.

Everything fitted here (scaler, tercile thresholds, class weights, fuzzy sets' starting points, the regime model's
target scales, the network, the baselines) sees the fold's training rows only; validation rows only stop training.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from neurotrade import backtest, labels
from neurotrade._resume import split_record
from neurotrade._stages import fold_targets, regime_targets, scale_features
from neurotrade.config import Strategy
from neurotrade.decision import DecisionRules
from neurotrade.features import Standardizer
from neurotrade.models import LogisticBaseline, LorentzianKNN, build_model
from neurotrade.splits import Split
from neurotrade.store import BundleRef
from neurotrade.training import (
    EpochReport,
    TrainResult,
    classification_metrics,
    collapse_warnings,
    predict_proba,
    seed_everything,
    train_classifier,
)

log = logging.getLogger(__name__)

CLASSES = labels.CLASS_NAMES
BASELINES = ("logistic", "lorentzian_knn")


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run, for a progress display: a stage starting, or an epoch finished (``epoch`` set).

    ``done`` and ``total`` count training epochs over the whole run (seeds x folds x networks x epochs), so one
    bar with an ETA can cover all of it; a fit that stops early counts as its full epochs when it ends.
    """

    stage: str
    message: str
    epoch: EpochReport | None = None
    done: int | None = None
    total: int | None = None


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass
class Trading:
    """A set of probabilities over a fold's trading window, turned into signals and a backtest."""

    proba: np.ndarray
    signals: np.ndarray
    targets: np.ndarray
    result: backtest.BacktestResult
    classification: dict[str, Any]


@dataclass
class Fold:
    """What one fold produced: its model and scaler, its out-of-sample decisions and backtests."""

    index: int
    split: Split
    model: torch.nn.Module
    scaler: Standardizer
    quantiles: labels.QuantileClasses | None
    y: np.ndarray
    training: TrainResult
    classification: dict[str, Any]
    window: pd.DatetimeIndex
    network: Trading
    benchmark: backtest.BacktestResult
    baselines: dict[str, Trading] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    readout: dict[str, Any] = field(default_factory=dict)


def train_fold(
    index: int,
    split: Split,
    bars: pd.DataFrame,
    frame: pd.DataFrame,
    table: pd.DataFrame,
    spec: Strategy,
    *,
    seed: int,
    say: ProgressCallback,
    checkpoints: Path | None = None,
    resume: bool = False,
    identity: dict[str, Any] | None = None,
) -> Fold:
    """Fit one fold and trade its test window (see the module docstring for what is fitted where).

    ``identity`` (the data's fingerprint, the features) is written into each checkpoint with this fold's sample
    positions, so a resume can only continue weights trained on exactly these rows.
    """
    times = frame.index
    y, quantiles = fold_targets(table, split)
    x, scaler = scale_features(frame, split.train)
    seed_everything(seed)
    model = build_model(spec.model, n_inputs=x.shape[1], n_classes=len(CLASSES))
    lookback = int(getattr(model, "lookback", 1))
    first = lookback - 1
    train, val, test = fold_rows(split, lookback)
    end = len(times) if split.trading_end is None else split.trading_end + 1
    scored = np.arange(max(split.trading_start, first), end)
    weights = labels.class_weights(y[train], len(CLASSES)) if spec.training.class_weights == "balanced" else None
    extras = regime_targets(bars, times, table["t1"]) if _needs_extras(model) else None

    def fit(net: torch.nn.Module, name: str) -> TrainResult:
        _prepare(net, x, train, extras)
        path = None if checkpoints is None else checkpoints / f"fold{index + 1}_{name}.pt"
        return train_classifier(
            net,
            x,
            y[train].astype(np.int64),
            x,
            y[val].astype(np.int64),
            spec.training,
            seed=seed,
            class_weights=weights,
            train_positions=train,
            val_positions=val,
            extras_train=_select(extras, train, net),
            extras_val=_select(extras, val, net),
            checkpoint=path,
            resume_from=path if resume and path is not None and path.is_file() else None,
            identity={**(identity or {}), "split": split_record(split)},
            progress=lambda report: say(
                ProgressEvent("train", f"fold {index + 1} {name}: epoch {report.epoch}", report)
            ),
        )

    members = getattr(model, "members", None)
    if members is not None:  # an ensemble: each member alone first, then the combiner over the frozen members
        for i, member in enumerate(members):
            fit(member, f"member{i + 1}")
        model.freeze_members()
    training = fit(model, "model")
    model.cpu()

    proba = _probabilities(model, x, np.union1d(np.union1d(train, val), np.union1d(test, scored)), len(times))
    classification = {
        name: classification_metrics(y[rows].astype(np.int64), proba[rows], CLASSES)
        for name, rows in (("train", train), ("validation", val), ("test", test))
    }
    window = times[scored]
    window_bars = bars.loc[window]
    bt = spec.backtest
    costs = backtest.CostModel(bt.commission_pct, bt.commission_fixed, bt.slippage_pct)
    rules = DecisionRules(spec.decisions.confidence_threshold, spec.decisions.allow_short)

    def trade(p: np.ndarray) -> Trading:
        signals, targets = rules.apply(p[scored])
        result = backtest.simulate(
            window_bars, targets, fill=bt.fill, costs=costs, initial_cash=bt.initial_cash, fraction=bt.fraction
        )
        tested = classification_metrics(y[test].astype(np.int64), p[test], CLASSES)
        return Trading(p[scored], signals, targets, result, tested)

    network = trade(proba)
    baselines = {name: trade(p) for name, p in _baselines(x, y, times, table["t1"], train, val, first).items()}
    warnings = collapse_warnings(
        y[test].astype(np.int64), proba[test], x[test], class_names=CLASSES, feature_names=list(frame.columns)
    )
    for warning in warnings:
        log.warning("fold %d: %s", index + 1, warning)
    readout = _readout(model, x, val, test, scored, times, y, proba, list(frame.columns), seed)
    return Fold(
        index=index,
        split=split,
        model=model,
        scaler=scaler,
        quantiles=quantiles,
        y=y,
        training=training,
        classification=classification,
        window=window,
        network=network,
        benchmark=backtest.buy_and_hold(window_bars, costs=costs, initial_cash=bt.initial_cash, fill=bt.fill),
        baselines=baselines,
        warnings=warnings,
        readout=readout,
    )


def fold_rows(split: Split, lookback: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The samples a fold trains on, stops early on and tests: the split's own, less the first ``lookback - 1``
    rows, which a window model cannot see. The audit checks these very rows against the purge and embargo.

    Examples
    --------
    >>> times = pd.date_range("2020-01-01", periods=6, freq="D", tz="UTC")
    >>> split = Split(np.array([0, 1, 2]), np.array([3]), np.array([5]), {}, 5, {}, {}, times)
    >>> [rows.tolist() for rows in fold_rows(split, 2)]
    [[1, 2], [3], [5]]
    """
    first = lookback - 1
    train, val, test = (rows[rows >= first] for rows in (split.train, split.validation, split.test))
    return train, val, test


def _readout(
    model: torch.nn.Module,
    x: np.ndarray,
    val: np.ndarray,
    test: np.ndarray,
    scored: np.ndarray,
    times: pd.DatetimeIndex,
    y: np.ndarray,
    proba: np.ndarray,
    feature_names: list[str],
    seed: int,
) -> dict[str, Any]:
    """What can be read off the fold's model, for the report.

    The diagnostics a researcher might tune on (permutation importance, calibration) come from the fold's
    validation rows, never its test window: looking at test-window importances and then changing the features is
    fitting to the test. Ensemble member weights, transformer attention and the regime latent describe how the
    model behaved while trading its test window, and the report labels them as such.
    """
    out: dict[str, Any] = {
        "importance": permutation_importance(model, x, val, y[val], feature_names, seed=seed),
        "validation": {"y": y[val].astype(np.int64), "proba": proba[val]},
    }
    if not len(test):
        return out
    with torch.no_grad():
        if hasattr(model, "member_weights"):
            out["member_weights"] = [float(w) for w in model.member_weights(_inputs(model, x, test)).mean(dim=0)]
        if hasattr(model, "attention_weights"):
            last = test[-min(64, len(test)) :]
            attention = model.attention_weights(_inputs(model, x, last)).mean(dim=1)  # (layers, heads, T, T)
            out["attention"] = attention.numpy().round(6).tolist()
        if hasattr(model, "latent"):
            latent = model.latent(_inputs(model, x, scored)).numpy()  # (S, Z)
            out["latent"] = {"times": [t.isoformat() for t in times[scored]], "values": latent.round(6).tolist()}
    return out


def permutation_importance(
    model: torch.nn.Module,
    x: np.ndarray,
    rows: np.ndarray,
    y: np.ndarray,
    feature_names: list[str],
    *,
    seed: int,
) -> dict[str, float]:
    """How much the log loss on ``rows`` rises when one feature's values are shuffled among those rows.

    Shuffling breaks the feature's link to the labels while keeping its distribution; a window model sees the
    shuffled column in every row its windows read. The run computes it on each fold's validation rows.

    Examples
    --------
    >>> from neurotrade.models import MLP
    >>> _ = torch.manual_seed(0)
    >>> imp = permutation_importance(MLP(2, 3, [4]), np.random.default_rng(0).normal(size=(50, 2)),
    ...                              np.arange(50), np.zeros(50, int), ["a", "b"], seed=0)
    >>> sorted(imp)
    ['a', 'b']
    """
    if not len(rows):
        return {}
    rng = np.random.default_rng(seed)
    lookback = int(getattr(model, "lookback", 1))
    span = np.arange(max(int(rows.min()) - lookback + 1, 0), int(rows.max()) + 1)
    base = _log_loss(predict_proba(model, x, rows), y)
    out = {}
    for j, name in enumerate(feature_names):
        shuffled = x.copy()
        shuffled[span, j] = x[rng.permutation(span), j]
        out[name] = float(_log_loss(predict_proba(model, shuffled, rows), y) - base)
    return out


def _log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y.astype(np.int64)], 1e-12, 1.0))))


def _inputs(model: torch.nn.Module, x: np.ndarray, rows: np.ndarray) -> torch.Tensor:
    """The model's inputs for these sample rows: the rows themselves, or the windows ending at them."""
    if getattr(model, "input_kind", "rows") == "rows":
        return torch.as_tensor(x[rows], dtype=torch.float32)  # (B, F)
    lookback = model.lookback
    gathered = x[rows[:, None] - lookback + 1 + np.arange(lookback)]  # (B, L, F)
    return torch.as_tensor(gathered, dtype=torch.float32)


def _needs_extras(model: torch.nn.Module) -> bool:
    nets = [model, *getattr(model, "members", [])]
    return any(hasattr(net, "fit_target_scale") for net in nets)


def _prepare(net: torch.nn.Module, x: np.ndarray, train: np.ndarray, extras: dict[str, np.ndarray] | None) -> None:
    """What a model fits from the training rows before training: fuzzy sets' starting points, target scales."""
    if hasattr(net, "init_from"):
        net.init_from(x[train])
    if hasattr(net, "fit_target_scale") and extras is not None:
        net.fit_target_scale({name: values[train] for name, values in extras.items()})


def _select(
    extras: dict[str, np.ndarray] | None, rows: np.ndarray, net: torch.nn.Module
) -> dict[str, np.ndarray] | None:
    if extras is None or not hasattr(net, "loss"):
        return None
    return {name: values[rows] for name, values in extras.items()}


def _probabilities(model: torch.nn.Module, x: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    out = np.full((n, len(CLASSES)), np.nan)
    out[rows] = predict_proba(model, x, rows)  # (R, C)
    return out


def _baselines(
    x: np.ndarray,
    y: np.ndarray,
    times: pd.DatetimeIndex,
    t1: pd.Series,
    train: np.ndarray,
    val: np.ndarray,
    first: int,
) -> dict[str, np.ndarray]:
    """The baselines' probabilities on every row from ``first`` on, fitted like the network.

    Logistic regression learns from the training rows. The Lorentzian kNN may use any row of the training and
    validation windows as a neighbour, but only once that row's label is known (its t1 is before the bar being
    classified): nothing a live system would not have had.
    """
    rows = np.arange(first, len(times))
    logistic = LogisticBaseline().fit(x[train], y[train].astype(np.int64))
    known = np.union1d(train, val)
    knn = LorentzianKNN(k=8).fit(x[known], y[known].astype(np.int64), times[known], t1.iloc[known])
    out = {}
    for name, p in (
        ("logistic", logistic.predict_proba(x[rows])),
        ("lorentzian_knn", knn.predict_proba(x[rows], times[rows])),
    ):
        full = np.full((len(times), len(CLASSES)), np.nan)
        full[rows] = p
        out[name] = full
    return out


def evaluate(folds: list[Fold], per_year: float, *, trials: int = 1, trials_source: str = "given") -> dict[str, Any]:
    """Per-fold and aggregate out-of-sample metrics: classification on the test labels, backtests chained, and
    the deflated Sharpe ratio of the chained path given how many configurations were tried.

    The headline deflated Sharpe ratio is that of the strategy's *excess* return over buy-and-hold on the same
    bars: on a trending market buy-and-hold alone scores near 1 against zero, so a model that only rides the trend
    would look skilled. The absolute one (against zero) is kept beside it under its own name.
    """
    chained = backtest.chain([f.network.result for f in folds])
    benchmark = backtest.chain([f.benchmark for f in folds])
    deflated = _deflated(chained.equity, trials)
    excess = _deflated(chained.equity, trials, benchmark=benchmark.equity)
    y_test = np.concatenate([f.y[_tested(f)] for f in folds]).astype(np.int64)
    proba_test = np.concatenate([f.network.proba[f.window.get_indexer(f.split.times[_tested(f)])] for f in folds])
    baselines = {}
    for name in BASELINES:
        p = np.concatenate([f.baselines[name].proba[f.window.get_indexer(f.split.times[_tested(f)])] for f in folds])
        baselines[name] = {
            "classification": classification_metrics(y_test, p, CLASSES),
            "strategy": backtest.performance(
                backtest.chain([f.baselines[name].result for f in folds]), periods_per_year=per_year
            ),
        }
    per_fold = []
    for f in folds:
        per_fold.append(
            {
                "fold": f.index + 1,
                "window": {"first": f.window[0].isoformat(), "last": f.window[-1].isoformat()},
                "split": f.split.summary(),
                "training": {
                    "best_epoch": f.training.best_epoch,
                    "stopped_early": f.training.stopped_early,
                    "history": f.training.history,
                },
                "classification": f.classification,
                "labels": {
                    name: labels.class_balance(pd.Series(f.y[rows]))
                    for name, rows in (
                        ("train", f.split.train),
                        ("validation", f.split.validation),
                        ("test", f.split.test),
                    )
                },
                "signals": _signal_counts(f.network.signals),
                "strategy": backtest.performance(f.network.result, periods_per_year=per_year),
                "buy_and_hold": backtest.performance(f.benchmark, periods_per_year=per_year),
                "baselines": {
                    name: backtest.performance(f.baselines[name].result, periods_per_year=per_year)
                    for name in BASELINES
                },
                "warnings": f.warnings,
            }
        )
    return {
        "aggregate": {
            "window": {"first": folds[0].window[0].isoformat(), "last": folds[-1].window[-1].isoformat()},
            "periods_per_year": per_year,
            "test_samples": len(y_test),
            "classification": classification_metrics(y_test, proba_test, CLASSES),
            "signals": _signal_counts(np.concatenate([f.network.signals for f in folds])),
            "strategy": {
                **backtest.performance(chained, periods_per_year=per_year),
                "deflated_sharpe_excess": excess,
                "deflated_sharpe_absolute": deflated,
                "trials": trials,
                "trials_source": trials_source,
            },
            "buy_and_hold": backtest.performance(benchmark, periods_per_year=per_year),
            "baselines": baselines,
            "warnings": [f"fold {f.index + 1}: {w}" for f in folds for w in f.warnings],
        },
        "folds": per_fold,
    }


def _deflated(equity: pd.Series, trials: int, *, benchmark: pd.Series | None = None) -> float | None:
    """The deflated Sharpe ratio of the per-bar returns of ``equity`` (minus ``benchmark``'s on the same bars);
    None when there are too few returns or they do not vary."""
    returns = equity.pct_change().iloc[1:]
    if benchmark is not None:
        returns = returns - benchmark.pct_change().reindex(returns.index)
    values = returns.to_numpy(dtype=np.float64)
    if len(values) <= 2 or not np.isfinite(values).all() or values.std() == 0:
        return None
    return backtest.deflated_sharpe_ratio(values, trials)


def _tested(fold: Fold) -> np.ndarray:
    """The fold's labelled test samples that its model scored (a window model skips rows before its first window)."""
    rows = fold.split.test
    return rows[np.isin(fold.split.times[rows], fold.window)]


def _signal_counts(signals: np.ndarray) -> dict[str, int]:
    return {name: int((signals == i).sum()) for i, name in enumerate(CLASSES)}


def write_run_folder(
    run_dir: Path, ref: BundleRef, metrics: dict[str, Any], folds: list[Fold], frame: pd.DataFrame
) -> pd.DataFrame:
    """metrics.json, and per-bar tables over every fold's out-of-sample window (with a ``fold`` column); the
    decision trace holds each bar's features, probabilities, signal, target and the position held.

    Version numbers are never reused, so a folder already at ``run_dir`` can only be the leftover of a bundle
    deleted by hand with its strategy folder; its files (an old report's sections, an old attention map) must not
    pass for this run's, so it is cleared first.
    """
    if run_dir.exists():
        log.warning("clearing %s: it holds the files of an earlier run whose bundle is gone", run_dir)
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    summary = {"bundle": ref.name, "bundle_path": str(ref.path), **metrics}
    (run_dir / "metrics.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    strategy = backtest.chain([f.network.result for f in folds])
    benchmark = backtest.chain([f.benchmark for f in folds])
    fold_of_bar = np.concatenate([np.full(len(f.window), f.index + 1) for f in folds])
    trades = strategy.trades.assign(
        fold=np.concatenate([np.full(len(f.network.result.trades), f.index + 1) for f in folds])
    )
    trades.to_parquet(run_dir / "trades.parquet")
    equity = {"strategy": strategy.equity, "buy_and_hold": benchmark.equity}
    for name in BASELINES:
        equity[name] = backtest.chain([f.baselines[name].result for f in folds]).equity
    pd.DataFrame({**equity, "position": strategy.position, "fold": fold_of_bar}).to_parquet(run_dir / "equity.parquet")
    proba = np.concatenate([f.network.proba for f in folds])
    decisions = pd.DataFrame(proba, index=strategy.equity.index, columns=[f"p_{name.lower()}" for name in CLASSES])
    decisions["signal"] = [CLASSES[s] for s in np.concatenate([f.network.signals for f in folds])]
    decisions["target"] = np.concatenate([f.network.targets for f in folds])
    decisions["position"] = strategy.position.to_numpy()
    decisions["fold"] = fold_of_bar
    decisions = decisions.join(frame.loc[decisions.index])
    decisions.to_parquet(run_dir / "decisions.parquet")
    _write_readouts(run_dir, folds)
    return trades


def _write_readouts(run_dir: Path, folds: list[Fold]) -> None:
    """The report's optional inputs: calibration and feature importance (from the folds' validation rows),
    attention maps and the regime latent (from the test windows)."""
    y = np.concatenate([f.readout["validation"]["y"] for f in folds])
    proba = np.concatenate([f.readout["validation"]["proba"] for f in folds])
    curve = {"rows": "validation", **calibration_curve(y, proba)}
    (run_dir / "calibration.json").write_text(json.dumps(curve, indent=2) + "\n")
    importance = {
        name: float(np.mean([f.readout["importance"][name] for f in folds if name in f.readout["importance"]]))
        for name in folds[-1].readout["importance"]
    }
    ranked = dict(sorted(importance.items(), key=lambda item: -item[1]))
    importance_doc = {"rows": "validation", "log_loss_increase": ranked}
    (run_dir / "importance.json").write_text(json.dumps(importance_doc, indent=2) + "\n")
    last = folds[-1].readout
    if "attention" in last:
        attention = {"fold": len(folds), "rows": "test", "mean": last["attention"]}
        (run_dir / "attention.json").write_text(json.dumps(attention) + "\n")
    if "latent" in folds[0].readout:
        frames = [
            pd.DataFrame(
                f.readout["latent"]["values"],
                index=pd.DatetimeIndex(f.readout["latent"]["times"], name="time"),
                columns=[f"z{i}" for i in range(len(f.readout["latent"]["values"][0]))],
            ).assign(fold=f.index + 1)
            for f in folds
        ]
        pd.concat(frames).to_parquet(run_dir / "latent.parquet")


def calibration_curve(y: np.ndarray, proba: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Confidence (the largest probability) against accuracy, in equal-width bins, with the count in each.

    Examples
    --------
    >>> curve = calibration_curve(np.array([0, 1]), np.array([[0.9, 0.1], [0.6, 0.4]]), bins=5)
    >>> [(b["confidence"], b["accuracy"], b["count"]) for b in curve["bins"]]
    [(0.6, 0.0, 1), (0.9, 1.0, 1)]
    """
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            out.append(
                {
                    "confidence": round(float(confidence[inside].mean()), 6),
                    "accuracy": round(float(correct[inside].mean()), 6),
                    "count": int(inside.sum()),
                }
            )
    return {"bins": out, "samples": len(y)}
