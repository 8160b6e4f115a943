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

import hashlib
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

from neurotrade import backtest, data
from neurotrade._workspace import resolve_home
from neurotrade.config import DataSpec, Strategy, load_strategy
from neurotrade.decision import DecisionRules
from neurotrade.errors import DataError
from neurotrade.features import Standardizer, build_features
from neurotrade.labels import CLASS_NAMES, class_balance, zigzag_labels
from neurotrade.models import build_model
from neurotrade.splits import chronological_split
from neurotrade.store import Bundle, BundleRef, save_bundle
from neurotrade.store import load_bundle as _load_bundle
from neurotrade.training import EpochReport, classification_metrics, seed_everything, train_classifier

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
        Classification metrics per window, backtest metrics of the strategy and of buy-and-hold over the same
        test window, the class balance and the split summary.
    trades
        The strategy's trades in the test window.
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


def fingerprint(bars: pd.DataFrame) -> str:
    """sha256 of the bars' times and values: two runs on the same data share it.

    Examples
    --------
    >>> bars = data.synthetic_ohlcv(300, seed=1)
    >>> fingerprint(bars) == fingerprint(bars.copy()), len(fingerprint(bars))
    (True, 64)
    """
    digest = hashlib.sha256()
    digest.update(bars.index.asi8.tobytes())
    digest.update(np.ascontiguousarray(bars.to_numpy(dtype=np.float64)).tobytes())
    return digest.hexdigest()


def run(
    strategy: Strategy | str | Path,
    *,
    home: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """Train a strategy's model, backtest it out of sample, and save the bundle and the run folder.

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
    ... data: {source: synthetic, bars: 800}
    ... indicators: {rsi_14: {}}
    ... nn_inputs: {indicators: [rsi_14]}
    ... training: {epochs: 3}
    ... ''')
    >>> result = run(spec, home=tempfile.mkdtemp())
    >>> result.bundle.name
    'doc_demo/1d_v1'
    """
    spec = strategy if isinstance(strategy, Strategy) else load_strategy(strategy)
    home_dir = resolve_home(home)
    say = progress or (lambda event: None)

    say(ProgressEvent("data", f"loading {spec.data.instrument} bars ({spec.data.source}, {spec.data.timeframe})"))
    repairs: list[str] = []
    bars = load_bars(spec.data, home=home_dir, seed=spec.seed, on_repair=lambda r: repairs.append(r.message))

    say(ProgressEvent("features", f"computing {len(spec.indicators)} indicators and features"))
    features = build_features(bars, spec)
    times = features.frame.index

    say(ProgressEvent("labels", f"labelling ({spec.labels.type})"))
    labels = zigzag_labels(bars["close"], threshold_pct=spec.labels.threshold_pct, lookahead=spec.labels.lookahead).loc[
        times
    ]

    say(ProgressEvent("split", "splitting with purge and embargo"))
    s = spec.split
    split = chronological_split(
        times, labels["t1"], train=s.train, validation=s.validation, test=s.test, embargo=s.embargo
    )
    y = labels["label"].to_numpy()
    scaler = Standardizer(features.resolved_features).fit(features.frame.to_numpy()[split.train])
    x = scaler.transform(features.frame.to_numpy())

    say(ProgressEvent("train", f"training {spec.model.type} on {len(split.train)} samples"))
    seed_everything(spec.seed)
    model = build_model(spec.model, n_inputs=x.shape[1], n_classes=len(CLASS_NAMES))
    training = train_classifier(
        model,
        x[split.train],
        y[split.train].astype(np.int64),
        x[split.validation],
        y[split.validation].astype(np.int64),
        spec.training,
        seed=spec.seed,
        progress=lambda report: say(ProgressEvent("train", f"epoch {report.epoch}", epoch=report)),
    )

    say(ProgressEvent("evaluate", "scoring the validation and test windows"))
    model.cpu()
    proba = model.predict_proba(torch.as_tensor(x, dtype=torch.float32)).numpy().astype(np.float64)  # (N, C)
    classification = {
        name: classification_metrics(y[positions].astype(np.int64), proba[positions], CLASS_NAMES)
        for name, positions in (
            ("train", split.train),
            ("validation", split.validation),
            ("test", split.test),
        )
    }

    say(ProgressEvent("backtest", "trading the test window"))
    window = slice(split.trading_start, len(times))
    window_bars = bars.loc[times[window]]
    rules = DecisionRules(spec.decisions.confidence_threshold, spec.decisions.allow_short)
    signals, targets = rules.apply(proba[window])
    bt = spec.backtest
    costs = backtest.CostModel(bt.commission_pct, bt.commission_fixed, bt.slippage_pct)
    if bt.calendar == "auto":  # the whole loaded history measures the market's calendar, not the test window
        per_year = backtest.observed_periods_per_year(bars.index)
    else:
        per_year = backtest.periods_per_year(spec.data.timeframe, calendar=bt.calendar)
    result = backtest.simulate(
        window_bars, targets, fill=bt.fill, costs=costs, initial_cash=bt.initial_cash, fraction=bt.fraction
    )
    benchmark = backtest.buy_and_hold(window_bars, costs=costs, initial_cash=bt.initial_cash, fill=bt.fill)
    metrics: dict[str, Any] = {
        "classification": classification,
        "backtest": {
            "window": {"first": window_bars.index[0].isoformat(), "last": window_bars.index[-1].isoformat()},
            "periods_per_year": per_year,
            "signals": {name: int((signals == i).sum()) for i, name in enumerate(CLASS_NAMES)},
            "strategy": backtest.performance(result, periods_per_year=per_year),
            "buy_and_hold": backtest.performance(benchmark, periods_per_year=per_year),
        },
        "labels": {name: class_balance(pd.Series(y[positions])) for name, positions in _windows(split).items()},
        "split": split.summary(),
    }

    say(ProgressEvent("save", "writing the model bundle and the run folder"))
    documents = {
        "spec": spec.model_dump(mode="json"),
        "features": {
            "timeframe": spec.data.timeframe,
            "resolved_features": features.resolved_features,
            "warmup_bars": features.warmup_bars,
        },
        "scaler": scaler.to_dict(),
        "labels": {**spec.labels.model_dump(mode="json"), "classes": list(CLASS_NAMES)},
        "split": {**spec.split.model_dump(mode="json"), **split.summary()},
        "data": {
            "symbol": spec.data.instrument,
            "source": spec.data.source,
            "timeframe": spec.data.timeframe,
            "rows": len(bars),
            "first": bars.index[0].isoformat(),
            "last": bars.index[-1].isoformat(),
            "sha256": fingerprint(bars),
            "repairs": repairs,
        },
        "training": {
            "seed": spec.seed,
            "device": training.device,
            "best_epoch": training.best_epoch,
            "best_val_loss": training.best_val_loss,
            "stopped_early": training.stopped_early,
            "history": training.history,
            "n_inputs": int(x.shape[1]),
            "n_classes": len(CLASS_NAMES),
        },
        "environment": environment(),
        "metrics": metrics,
    }
    weights = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    ref = save_bundle(home_dir / "models", spec.name, spec.data.timeframe, weights=weights, documents=documents)
    run_dir = home_dir / "runs" / spec.name / ref.path.name
    _write_run_folder(run_dir, ref, metrics, result, benchmark, proba[window], signals, targets, window_bars.index)
    return RunResult(strategy=spec, bundle=ref, run_dir=run_dir, metrics=metrics, trades=result.trades)


def environment() -> dict[str, str]:
    """Versions of Python and of the packages that decide a run's numbers."""
    versions = {"python": platform.python_version()}
    for package in ("neurotrade", "numpy", "pandas", "numba", "torch", "pyarrow", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _windows(split: Any) -> dict[str, np.ndarray]:
    return {"train": split.train, "validation": split.validation, "test": split.test}


def _write_run_folder(
    run_dir: Path,
    ref: BundleRef,
    metrics: dict[str, Any],
    result: backtest.BacktestResult,
    benchmark: backtest.BacktestResult,
    proba: np.ndarray,
    signals: np.ndarray,
    targets: np.ndarray,
    index: pd.DatetimeIndex,
) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    summary = {"bundle": ref.name, "bundle_path": str(ref.path), **metrics}
    (run_dir / "metrics.json").write_text(json.dumps(summary, indent=2, sort_keys=True, allow_nan=False) + "\n")
    result.trades.to_parquet(run_dir / "trades.parquet")
    pd.DataFrame({"strategy": result.equity, "buy_and_hold": benchmark.equity, "position": result.position}).to_parquet(
        run_dir / "equity.parquet"
    )
    decisions = pd.DataFrame(proba, index=index, columns=[f"p_{name.lower()}" for name in CLASS_NAMES])
    decisions["signal"] = [CLASS_NAMES[s] for s in signals]
    decisions["target"] = targets
    decisions.to_parquet(run_dir / "decisions.parquet")


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
