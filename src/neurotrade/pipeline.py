"""``run(strategy)``: the whole path from bars to a saved model bundle and an out-of-sample backtest.

Order matters for honesty, so it is spelled out here once:

1. bars are loaded and checked against the OHLCV contract (repairs only as the spec asks, each reported);
2. features are computed causally and their warm-up rows dropped; labels carry their end time t1;
3. the samples are split in time, purging labels that reach into a later window and embargoing each border;
4. the scaler is fitted on the training rows only, the network trained with early stopping on validation;
5. the test window is traded bar by bar through the decision rules, filling at the next bar's open;
6. the bundle (weights, spec, features, scaler, metrics, manifest) and the run folder are written.
"""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from neurotrade import backtest, data, labels, splits
from neurotrade._workspace import resolve_home
from neurotrade.config import DataSpec, Strategy, load_strategy
from neurotrade.decision import DecisionRules
from neurotrade.errors import DataError
from neurotrade.features import FeatureCache, Standardizer, build_features
from neurotrade.models import build_model
from neurotrade.splits import Split
from neurotrade.store import Bundle, BundleRef, save_bundle
from neurotrade.store import load_bundle as _load_bundle
from neurotrade.training import EpochReport, TrainResult, classification_metrics, seed_everything, train_classifier

log = logging.getLogger(__name__)

STAGES = ("data", "features", "labels", "split", "train", "evaluate", "backtest", "save")


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run, for a progress display: a stage starting, or an epoch finished (``epoch`` set)."""

    stage: str
    message: str
    epoch: EpochReport | None = None


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` produced.

    Attributes
    ----------
    strategy
        The resolved spec that ran.
    bundle
        Where the model bundle was saved.
    run_dir
        The run folder: ``metrics.json``, ``trades.parquet``, ``equity.parquet``, ``decisions.parquet``.
    metrics
        ``aggregate``: out-of-sample classification over every fold's test labels, and the folds' backtests
        chained into one path beside buy-and-hold over the same bars; ``folds``: the same per fold, with its
        split, class balance and training summary.
    trades
        The strategy's trades in every fold's test window (``fold`` column).
    """

    strategy: Strategy
    bundle: BundleRef
    run_dir: Path
    metrics: dict[str, Any]
    trades: pd.DataFrame


def load_bars(spec: DataSpec, *, home: Path, seed: int, on_repair: Callable[[Any], None] | None = None) -> pd.DataFrame:
    """The bars a ``data:`` section names, at its timeframe (resampled from a finer one when needed).

    Examples
    --------
    >>> bars = load_bars(DataSpec(source="synthetic", bars=500), home=Path("."), seed=1)
    >>> len(bars), list(bars.columns)
    (500, ['open', 'high', 'low', 'close', 'volume'])
    """
    if spec.source == "sample":
        bars = data.load_sample(spec.symbol, on_repair=on_repair)
    elif spec.source == "store":
        bars = _from_store(data.DataStore(home), spec.symbol, spec.timeframe)
    elif spec.source == "file":
        assert spec.path is not None  # the spec requires it
        bars = data.read_ohlcv(
            spec.path, symbol=spec.symbol, timezone=spec.timezone, repair=spec.repair, on_repair=on_repair
        )
    else:
        bars = data.synthetic_ohlcv(spec.bars, seed=seed, timeframe=spec.timeframe)
    found = data.infer_timeframe(bars)
    if found != spec.timeframe:
        if data.parse_timeframe(found).delta > data.parse_timeframe(spec.timeframe).delta:
            raise DataError(
                f"data.timeframe is {spec.timeframe} but the bars are {found}; neurotrade can aggregate to a "
                f"coarser timeframe, not invent finer bars. Use timeframe: {found} or finer source data"
            )
        log.info("resampling %s bars to %s", found, spec.timeframe)
        bars = data.resample(bars, spec.timeframe)
    return bars


def _from_store(store: data.DataStore, symbol: str, timeframe: str) -> pd.DataFrame:
    """The stored bars at ``timeframe``, else the coarsest stored finer ones (to be resampled)."""
    wanted = data.parse_timeframe(timeframe).delta
    finer = [
        entry
        for entry in store.list()
        if entry.symbol == symbol.upper() and data.parse_timeframe(entry.timeframe).delta <= wanted
    ]
    if not finer:
        return store.get(symbol, timeframe)  # raises, listing what is stored
    best = max(finer, key=lambda entry: data.parse_timeframe(entry.timeframe).delta)
    return store.get(symbol, best.timeframe)


def make_labels(bars: pd.DataFrame, spec: Strategy) -> pd.DataFrame:
    """The strategy's labels on every bar: ``label`` (NaN while undecided), its end time ``t1``, and for forward
    returns the return ``ret`` that each fold turns into classes with thresholds fitted on its training rows.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n")
    >>> list(make_labels(data.synthetic_ohlcv(300, seed=1), spec).columns)
    ['label', 't1']
    """
    spec_labels = spec.labels
    close = bars["close"]
    if spec_labels.type == "zigzag":
        return labels.zigzag_labels(close, threshold_pct=spec_labels.threshold_pct, lookahead=spec_labels.lookahead)
    if spec_labels.type == "triple_barrier":
        out = labels.triple_barrier_labels(
            close,
            profit_take=spec_labels.profit_take,
            stop_loss=spec_labels.stop_loss,
            max_holding=spec_labels.max_holding,
            span=spec_labels.volatility_span,
        )
        return out[["label", "t1"]]
    forward = labels.forward_returns(close, horizon=spec_labels.horizon)
    return pd.DataFrame({"label": np.nan, "t1": forward["t1"], "ret": forward["ret"]}, index=bars.index)


def make_splits(times: pd.DatetimeIndex, t1: pd.Series, spec: Strategy) -> list[Split]:
    """The evaluation splits the ``split:`` section asks for, purged by ``t1`` and embargoed.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n"
    ...                       "split: {folds: 3, embargo: 0}\\n")
    >>> times = pd.date_range("2020-01-01", periods=100, freq="D", tz="UTC")
    >>> [len(s.test) for s in make_splits(times, pd.Series(times), spec)]
    [20, 20, 20]
    """
    s = spec.split
    if s.method == "chronological":
        return [
            splits.chronological_split(
                times, t1, train=s.train, validation=s.validation, test=s.test, embargo=s.embargo
            )
        ]
    return splits.walk_forward_splits(
        times,
        t1,
        folds=s.folds,
        scheme=s.scheme,
        first_train=s.first_train,
        validation=s.validation,
        train_window=s.train_window,
        embargo=s.embargo,
    )


def scale_features(frame: pd.DataFrame, train_rows: np.ndarray) -> tuple[np.ndarray, Standardizer]:
    """Standardise every row with statistics of the training rows only.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0, 3.0, 100.0]})
    >>> x, scaler = scale_features(frame, np.array([0, 1]))
    >>> x.ravel().tolist(), scaler.mean_.tolist()
    ([-1.0, 1.0, 98.0], [2.0])
    """
    scaler = Standardizer(list(frame.columns)).fit(frame.to_numpy()[train_rows])
    return scaler.transform(frame.to_numpy()), scaler


def fold_targets(table: pd.DataFrame, split: Split) -> tuple[np.ndarray, labels.QuantileClasses | None]:
    """The class of every sample for one fold: the label itself, or forward returns cut into terciles with
    thresholds fitted on this fold's training rows only.

    Examples
    --------
    >>> table = pd.DataFrame({"label": np.nan, "ret": [-0.02, 0.0, 0.03, 0.5]})
    >>> times = pd.date_range("2020-01-01", periods=4, freq="D", tz="UTC")
    >>> split = Split(np.array([0, 1, 2]), np.array([], int), np.array([3]), {}, 3, {}, {}, times)
    >>> fold_targets(table, split)[0].tolist()
    [0.0, 1.0, 2.0, 2.0]
    """
    if "ret" not in table:
        return table["label"].to_numpy(dtype=np.float64), None
    quantiles = labels.QuantileClasses(3).fit(table["ret"].to_numpy()[split.train])
    return quantiles.transform(table["ret"].to_numpy()), quantiles


@dataclass
class Fold:
    """What one walk-forward fold produced: its model and scaler, its out-of-sample decisions and backtests."""

    index: int
    split: Split
    model: torch.nn.Module
    scaler: Standardizer
    quantiles: labels.QuantileClasses | None
    y: np.ndarray
    training: TrainResult
    classification: dict[str, Any]
    window: pd.DatetimeIndex
    proba: np.ndarray
    signals: np.ndarray
    targets: np.ndarray
    result: backtest.BacktestResult
    benchmark: backtest.BacktestResult


def train_fold(
    index: int,
    split: Split,
    bars: pd.DataFrame,
    frame: pd.DataFrame,
    table: pd.DataFrame,
    spec: Strategy,
    say: ProgressCallback,
) -> Fold:
    """Fit one fold on its training rows, stop on its validation rows, then trade its test window.

    Everything fitted (scaler, tercile thresholds, class weights, the network) sees the training rows only.
    """
    times = frame.index
    y, quantiles = fold_targets(table, split)
    x, scaler = scale_features(frame, split.train)
    seed_everything(spec.seed)
    model = build_model(spec.model, n_inputs=x.shape[1], n_classes=len(labels.CLASS_NAMES))
    weights = None
    if spec.training.class_weights == "balanced":
        weights = labels.class_weights(y[split.train], len(labels.CLASS_NAMES))
    training = train_classifier(
        model,
        x[split.train],
        y[split.train].astype(np.int64),
        x[split.validation],
        y[split.validation].astype(np.int64),
        spec.training,
        seed=spec.seed,
        class_weights=weights,
        progress=lambda report: say(ProgressEvent("train", f"fold {index + 1}: epoch {report.epoch}", report)),
    )
    model.cpu()
    end = len(times) if split.trading_end is None else split.trading_end + 1
    scored = np.arange(split.trading_start, end)
    proba_all = np.full((len(times), len(labels.CLASS_NAMES)), np.nan)
    needed = np.union1d(np.union1d(split.train, split.validation), np.union1d(split.test, scored))
    proba_all[needed] = model.predict_proba(torch.as_tensor(x[needed], dtype=torch.float32)).numpy()  # (N, C)
    classification = {
        name: classification_metrics(y[rows].astype(np.int64), proba_all[rows], labels.CLASS_NAMES)
        for name, rows in (("train", split.train), ("validation", split.validation), ("test", split.test))
    }
    window = times[scored]
    window_bars = bars.loc[window]
    rules = DecisionRules(spec.decisions.confidence_threshold, spec.decisions.allow_short)
    signals, targets = rules.apply(proba_all[scored])
    bt = spec.backtest
    costs = backtest.CostModel(bt.commission_pct, bt.commission_fixed, bt.slippage_pct)
    result = backtest.simulate(
        window_bars, targets, fill=bt.fill, costs=costs, initial_cash=bt.initial_cash, fraction=bt.fraction
    )
    benchmark = backtest.buy_and_hold(window_bars, costs=costs, initial_cash=bt.initial_cash, fill=bt.fill)
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
        proba=proba_all[scored],
        signals=signals,
        targets=targets,
        result=result,
        benchmark=benchmark,
    )


def run(
    strategy: Strategy | str | Path,
    *,
    home: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """Evaluate a strategy out of sample (walk-forward by default), and save the bundle and the run folder.

    Each fold trains its own model on the bars before its test window and trades that window; the folds'
    backtests are chained into one out-of-sample path, compared with buy-and-hold over the same bars. The bundle
    holds the last fold's model: the one trained on the most recent data.

    Parameters
    ----------
    strategy
        A :class:`~neurotrade.config.Strategy` or the path of its YAML file.
    home
        The workspace (default: ``$NEUROTRADE_HOME``, else ``./workspace``).
    progress
        Called with a :class:`ProgressEvent` as each stage starts and after each training epoch.

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy('''
    ... name: doc_demo
    ... data: {source: synthetic, bars: 900}
    ... indicators: {rsi_14: {}}
    ... nn_inputs: {indicators: [rsi_14]}
    ... split: {folds: 2}
    ... training: {epochs: 3}
    ... ''')
    >>> result = run(spec, home=tempfile.mkdtemp())
    >>> result.bundle.name, len(result.metrics["folds"])
    ('doc_demo/1d_v1', 2)
    """
    spec = strategy if isinstance(strategy, Strategy) else load_strategy(strategy)
    home_dir = resolve_home(home)
    say = progress or (lambda event: None)

    say(ProgressEvent("data", f"loading {spec.data.instrument} bars ({spec.data.source}, {spec.data.timeframe})"))
    repairs: list[str] = []
    bars = load_bars(spec.data, home=home_dir, seed=spec.seed, on_repair=lambda r: repairs.append(r.message))

    say(ProgressEvent("features", f"computing {len(spec.indicators)} indicators and features"))
    features = FeatureCache(home_dir).load_or_build(bars, spec, build_features)
    times = features.frame.index

    say(ProgressEvent("labels", f"labelling ({spec.labels.type})"))
    table = make_labels(bars, spec).loc[times]

    say(ProgressEvent("split", f"splitting ({spec.split.method}) with purge and embargo"))
    folds_splits = make_splits(times, table["t1"], spec)

    folds: list[Fold] = []
    for k, split in enumerate(folds_splits):
        say(ProgressEvent("train", f"fold {k + 1}/{len(folds_splits)}: training on {len(split.train)} samples"))
        folds.append(train_fold(k, split, bars, features.frame, table, spec, say))

    say(ProgressEvent("evaluate", "chaining the folds' out-of-sample windows"))
    bt = spec.backtest
    if bt.calendar == "auto":  # the whole loaded history measures the market's calendar, not a test window
        per_year = backtest.observed_periods_per_year(bars.index)
    else:
        per_year = backtest.periods_per_year(spec.data.timeframe, calendar=bt.calendar)
    metrics = _metrics(folds, per_year)

    say(ProgressEvent("save", "writing the model bundle and the run folder"))
    last = folds[-1]
    documents = {
        "spec": spec.model_dump(mode="json"),
        "features": {
            "timeframe": spec.data.timeframe,
            "timeframes": list(spec.nn_inputs.timeframes or [spec.data.timeframe]),
            "resolved_features": features.resolved_features,
            "warmup_bars": features.warmup_bars,
        },
        "scaler": last.scaler.to_dict(),
        "labels": {
            **spec.labels.model_dump(mode="json"),
            "classes": list(labels.CLASS_NAMES),
            "quantiles": None if last.quantiles is None else last.quantiles.to_dict(),
        },
        "split": {**spec.split.model_dump(mode="json"), "folds": [f.split.summary() for f in folds]},
        "data": {
            "symbol": spec.data.instrument,
            "source": spec.data.source,
            "timeframe": spec.data.timeframe,
            "rows": len(bars),
            "first": bars.index[0].isoformat(),
            "last": bars.index[-1].isoformat(),
            "sha256": data.fingerprint(bars),
            "repairs": repairs,
        },
        "training": {
            "seed": spec.seed,
            "device": last.training.device,
            "fold": last.index,
            "best_epoch": last.training.best_epoch,
            "best_val_loss": last.training.best_val_loss,
            "stopped_early": last.training.stopped_early,
            "history": last.training.history,
            "n_inputs": len(features.resolved_features),
            "n_classes": len(labels.CLASS_NAMES),
        },
        "environment": environment(),
        "metrics": metrics,
    }
    weights = {name: tensor.detach().cpu().contiguous() for name, tensor in last.model.state_dict().items()}
    ref = save_bundle(home_dir / "models", spec.name, spec.data.timeframe, weights=weights, documents=documents)
    run_dir = home_dir / "runs" / spec.name / ref.path.name
    trades = _write_run_folder(run_dir, ref, metrics, folds)
    return RunResult(strategy=spec, bundle=ref, run_dir=run_dir, metrics=metrics, trades=trades)


def _metrics(folds: list[Fold], per_year: float) -> dict[str, Any]:
    """Per-fold and aggregate out-of-sample metrics: classification on the test labels, backtests chained."""
    strategy = backtest.chain([f.result for f in folds])
    benchmark = backtest.chain([f.benchmark for f in folds])
    signals = np.concatenate([f.signals for f in folds])
    test_rows = np.concatenate([f.split.test for f in folds])
    y_test = np.concatenate([f.y[f.split.test] for f in folds])
    proba_test = np.concatenate([_test_proba(f) for f in folds])
    per_fold = []
    for f in folds:
        y = f.y
        per_fold.append(
            {
                "fold": f.index + 1,
                "window": {"first": f.window[0].isoformat(), "last": f.window[-1].isoformat()},
                "split": f.split.summary(),
                "training": {"best_epoch": f.training.best_epoch, "stopped_early": f.training.stopped_early},
                "classification": f.classification,
                "labels": {
                    name: labels.class_balance(pd.Series(y[rows]))
                    for name, rows in (
                        ("train", f.split.train),
                        ("validation", f.split.validation),
                        ("test", f.split.test),
                    )
                },
                "signals": _signal_counts(f.signals),
                "strategy": backtest.performance(f.result, periods_per_year=per_year),
                "buy_and_hold": backtest.performance(f.benchmark, periods_per_year=per_year),
            }
        )
    return {
        "aggregate": {
            "window": {"first": folds[0].window[0].isoformat(), "last": folds[-1].window[-1].isoformat()},
            "periods_per_year": per_year,
            "test_samples": len(test_rows),
            "classification": classification_metrics(y_test.astype(np.int64), proba_test, labels.CLASS_NAMES),
            "signals": _signal_counts(signals),
            "strategy": backtest.performance(strategy, periods_per_year=per_year),
            "buy_and_hold": backtest.performance(benchmark, periods_per_year=per_year),
        },
        "folds": per_fold,
    }


def _test_proba(fold: Fold) -> np.ndarray:
    """The fold's probabilities on its labelled test samples (all of which lie in its trading window)."""
    rows = fold.window.get_indexer(fold.split.times[fold.split.test])
    return fold.proba[rows]


def _signal_counts(signals: np.ndarray) -> dict[str, int]:
    return {name: int((signals == i).sum()) for i, name in enumerate(labels.CLASS_NAMES)}


def environment() -> dict[str, str]:
    """Versions of Python and of the packages that decide a run's numbers."""
    versions = {"python": platform.python_version()}
    for package in ("neurotrade", "numpy", "pandas", "numba", "torch", "pyarrow", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _write_run_folder(run_dir: Path, ref: BundleRef, metrics: dict[str, Any], folds: list[Fold]) -> pd.DataFrame:
    """metrics.json, and per-bar tables over every fold's out-of-sample window (with a ``fold`` column)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    summary = {"bundle": ref.name, "bundle_path": str(ref.path), **metrics}
    (run_dir / "metrics.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    strategy = backtest.chain([f.result for f in folds])
    benchmark = backtest.chain([f.benchmark for f in folds])
    fold_of_bar = np.concatenate([np.full(len(f.window), f.index + 1) for f in folds])
    trades = strategy.trades.assign(fold=np.concatenate([np.full(len(f.result.trades), f.index + 1) for f in folds]))
    trades.to_parquet(run_dir / "trades.parquet")
    pd.DataFrame(
        {
            "strategy": strategy.equity,
            "buy_and_hold": benchmark.equity,
            "position": strategy.position,
            "fold": fold_of_bar,
        }
    ).to_parquet(run_dir / "equity.parquet")
    proba = np.concatenate([f.proba for f in folds])
    decisions = pd.DataFrame(
        proba, index=strategy.equity.index, columns=[f"p_{name.lower()}" for name in labels.CLASS_NAMES]
    )
    decisions["signal"] = [labels.CLASS_NAMES[s] for s in np.concatenate([f.signals for f in folds])]
    decisions["target"] = np.concatenate([f.targets for f in folds])
    decisions["fold"] = fold_of_bar
    decisions.to_parquet(run_dir / "decisions.parquet")
    return trades


def load_bundle(name: str, *, home: str | Path | None = None) -> Bundle:
    """Load and verify a saved model bundle from the workspace.

    Parameters
    ----------
    name
        ``strategy`` (its latest bundle), ``strategy/1d_v2``, or a bundle directory.
    home
        The workspace (default: ``$NEUROTRADE_HOME``, else ``./workspace``).

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.config import parse_strategy
    >>> home = tempfile.mkdtemp()
    >>> spec = parse_strategy("name: doc\\ndata: {source: synthetic, bars: 600}\\nindicators: {rsi_14: {}}\\n"
    ...                       "nn_inputs: {indicators: [rsi_14]}\\ntraining: {epochs: 2}\\n")
    >>> _ = run(spec, home=home)
    >>> load_bundle("doc", home=home).documents["features"]["resolved_features"]
    ['1d_rsi_14']
    """
    return _load_bundle(resolve_home(home) / "models", name)
