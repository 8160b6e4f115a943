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

import logging
import platform
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from neurotrade import backtest, data, labels
from neurotrade._folds import (
    Fold,
    ProgressCallback,
    ProgressEvent,
    evaluate,
    out_of_sample,
    train_fold,
    write_run_folder,
)
from neurotrade._parallel import check_workers, train_folds
from neurotrade._resume import claim_checkpoints, run_identity
from neurotrade._stages import (
    check_primary_sides,
    decision_context,
    fold_targets,
    load_bars,
    make_labels,
    make_splits,
    regime_targets,
    scale_features,
)
from neurotrade._workspace import resolve_home
from neurotrade.config import Strategy, load_strategy
from neurotrade.features import FeatureCache, build_features
from neurotrade.report import write_report
from neurotrade.store import Bundle, BundleRef, TrialLedger, save_bundle
from neurotrade.store import load_bundle as _load_bundle
from neurotrade.training import summarize_seeds

__all__ = [
    "ProgressEvent",
    "RunResult",
    "fold_targets",
    "load_bars",
    "load_bundle",
    "make_labels",
    "make_splits",
    "regime_targets",
    "run",
    "scale_features",
]

log = logging.getLogger(__name__)


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
        The run folder: ``metrics.json``, ``trades.parquet``, ``equity.parquet``, ``decisions.parquet``,
        the report's inputs and ``report.html``.
    metrics
        ``aggregate``: out-of-sample classification over every fold's test labels, and the folds' backtests
        chained into one path beside buy-and-hold over the same bars; ``folds``: the same per fold, with its
        split, class balance and training summary.
    trades
        The strategy's trades in every fold's test window (``fold`` column).
    tracked
        The MLflow run id the run was logged as (``track``, ``tracking:``); None when it was not.
    """

    strategy: Strategy
    bundle: BundleRef
    run_dir: Path
    metrics: dict[str, Any]
    trades: pd.DataFrame
    tracked: str | None = None


def run(
    strategy: Strategy | str | Path,
    *,
    home: str | Path | None = None,
    progress: ProgressCallback | bool | None = None,
    resume: bool = False,
    on_fold: Callable[[int, dict[str, Any]], None] | None = None,
    track: str | bool | None = None,
    workers: int = 1,
    address: str | None = None,
) -> RunResult:
    """Evaluate a strategy out of sample (walk-forward by default), and save the bundle and the run folder.

    Each fold trains its own model on the bars before its test window and trades that window; the folds'
    backtests are chained into one out-of-sample path, compared with buy-and-hold and with two baselines
    (logistic regression, a causal Lorentzian kNN) over the same bars. With ``training.seeds`` every seed is run
    and the spread of the metrics reported. The bundle holds the last fold's model of the first seed: the one
    trained on the most recent data.

    Parameters
    ----------
    strategy
        A :class:`~neurotrade.config.Strategy` or the path of its YAML file.
    home
        The workspace (default: ``$NEUROTRADE_HOME``, else ``./workspace``).
    progress
        Called with a :class:`ProgressEvent` as each stage starts and after each training epoch. By default
        (``None``) a progress bar with an ETA is shown when the run happens in a terminal or a notebook;
        ``False`` shows nothing.
    resume
        Continue each fold's training from the checkpoint an interrupted run of the same strategy left behind.
    on_fold
        Called after each fold of the first seed with its 1-based number and a summary of its test window
        (``sharpe``, ``buy_and_hold_sharpe``, ``excess_sharpe``, ``total_return``, ``log_loss``, ``accuracy``),
        so a search can stop a trial early; an exception it raises stops the run (checkpoints kept).
    track
        Log the saved run to MLflow (:mod:`neurotrade.tracking`): a tracking URI, ``True`` for the spec's
        ``tracking.mlflow`` URI or else the workspace's store (``mlflow.db``), ``False`` for no tracking whatever
        the spec says; ``None`` (default) does what the spec's ``tracking:`` section says. A failure to log is a
        warning: the run is saved either way, and ``tracked`` says whether it was logged.
    workers
        How many (seed, fold) trainings run at once. 1 (default): one after another, in this process. N > 1: as
        Ray tasks (``pip install 'neurotrade[tune]'``), ``cores // N`` CPUs each, computing on this process's
        thread count: the results equal the sequential run's bit for bit on the CPU (:mod:`neurotrade._parallel`).
    address
        The Ray cluster the tasks run on with ``workers`` > 1 (``auto``, ``HOST:PORT``); default: a local Ray.

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy(\'\'\'
    ... name: doc_demo
    ... data: {source: synthetic, bars: 900}
    ... indicators: {rsi_14: {}}
    ... nn_inputs: {indicators: [rsi_14]}
    ... split: {folds: 2}
    ... training: {epochs: 3}
    ... \'\'\')
    >>> result = run(spec, home=tempfile.mkdtemp(), progress=False)
    >>> result.bundle.name, len(result.metrics["folds"])
    ('doc_demo/1d_v1', 2)
    """
    check_workers(workers, address)
    spec = strategy if isinstance(strategy, Strategy) else load_strategy(strategy)
    home_dir = resolve_home(home)
    from neurotrade import tracking  # MLflow itself only when tracking is on

    tracked_in = tracking.requested_uri(track, spec, home_dir)
    if tracked_in is not None:
        tracking.require_mlflow()  # a missing extra is said before the run, not after it
    with _progress_display(progress) as shown:
        result = _run(spec, home_dir, shown, resume, on_fold, workers, address)
    return result if tracked_in is None else tracking.track_result(result, tracked_in, home_dir)


def _run(
    spec: Strategy,
    home_dir: Path,
    shown: ProgressCallback,
    resume: bool,
    on_fold: Callable[[int, dict[str, Any]], None] | None = None,
    workers: int = 1,
    address: str | None = None,
) -> RunResult:
    tally = _Tally(shown)
    say = tally.say
    if spec.data.is_universe:
        from neurotrade._universe import run_universe

        return run_universe(spec, home_dir, tally, resume, on_fold, workers, address)

    say(ProgressEvent("data", f"loading {spec.data.instrument} bars ({spec.data.source}, {spec.data.timeframe})"))
    repairs: list[str] = []
    bars = load_bars(spec.data, home=home_dir, seed=spec.seed, on_repair=lambda r: repairs.append(r.message))

    say(ProgressEvent("features", f"computing {len(spec.indicators)} indicators and features"))
    features = FeatureCache(home_dir).load_or_build(bars, spec, build_features)
    times = features.frame.index

    say(ProgressEvent("labels", f"labelling ({spec.labels.type})"))
    context = decision_context(bars, spec, home=home_dir)
    side = context.get("side")
    if side is not None:
        check_primary_sides(side.loc[times], spec)
    table = make_labels(bars, spec, home=home_dir, side=side).loc[times]

    say(ProgressEvent("split", f"splitting ({spec.split.method}) with purge and embargo"))
    fold_splits = make_splits(times, table["t1"], spec)

    bt = spec.backtest
    if bt.calendar == "auto":  # the whole loaded history measures the market's calendar, not a test window
        per_year = backtest.observed_periods_per_year(bars.index)
    else:
        per_year = backtest.periods_per_year(spec.data.timeframe, calendar=bt.calendar)
    seeds = list(spec.training.seeds or [spec.seed])
    networks = 1 + len(getattr(spec.model, "members", None) or [])  # an ensemble trains each member, then itself
    tally.total = len(seeds) * len(fold_splits) * networks * spec.training.epochs
    dataset = data.fingerprint(bars)
    spec_json = spec.model_dump(mode="json")
    identity = {"data": dataset, "features": features.resolved_features}
    claimed = claim_checkpoints(
        home_dir / "checkpoints" / spec.name,
        run_identity(spec_json, dataset, features.resolved_features, fold_splits),
        resume=resume,
    )
    instrument = f"{spec.data.source}:{spec.data.instrument} {spec.data.timeframe}"
    try:
        trials, trials_source = count_trials(
            home_dir, dataset, spec_json, spec.name, stated=bt.trials, instrument=instrument
        )
        runs: list[tuple[list[Fold], dict[str, Any]]] = []
        outcomes = []
        trained = None
        if workers > 1:  # every (seed, fold) on Ray at once; the loop below then only takes them in order
            trained = train_folds(
                train_fold,
                fold_splits,
                seeds,
                shared={"bars": bars, "frame": features.frame, "table": table, "spec": spec, "context": context},
                common={"resume": claimed.resumed, "identity": identity, "per_year": per_year},
                checkpoints=claimed.path,
                workers=workers,
                address=address,
                tally=tally,
                per_job=networks * spec.training.epochs,
                on_fold=None if on_fold is None else lambda k, fold: on_fold(k, fold_summary(fold, per_year)),
            )
        for seed in seeds:
            folds: list[Fold] = []
            for k, split in enumerate(fold_splits):
                if trained is not None:
                    folds.append(trained[seed, k])
                    continue
                say(
                    ProgressEvent(
                        "train",
                        f"seed {seed}, fold {k + 1}/{len(fold_splits)}: training on {len(split.train)} samples",
                    )
                )
                folds.append(
                    train_fold(
                        k,
                        split,
                        bars,
                        features.frame,
                        table,
                        spec,
                        seed=seed,
                        say=say,
                        checkpoints=claimed.path / f"seed{seed}",
                        resume=claimed.resumed,
                        identity=identity,
                        context=context,
                        per_year=per_year,
                    )
                )
                tally.done = ((seeds.index(seed)) * len(fold_splits) + k + 1) * networks * spec.training.epochs
                if on_fold is not None and seed == seeds[0]:
                    on_fold(k + 1, fold_summary(folds[-1], per_year))
            say(ProgressEvent("evaluate", f"seed {seed}: chaining the folds' out-of-sample windows"))
            # Chained once (CPCV: every path) for both the metrics and, for the first seed, the run folder.
            outcome = out_of_sample(folds, per_year)
            outcomes.append(outcome)
            runs.append((folds, evaluate(folds, per_year, trials=trials, trials_source=trials_source, outcome=outcome)))
    except BaseException:
        claimed.release()  # keep the checkpoints for --resume
        raise
    resumed = _resumed_folds(runs, seeds)
    folds, metrics = runs[0]
    reach = _cpcv_indicator_reach(spec, features.warmup_bars)
    for warning in (_primary_in_sample(spec, home_dir, folds), _primary_sizing(spec), reach):
        if warning:
            log.warning("%s", warning)
            metrics["aggregate"]["warnings"].append(warning)
    if claimed.resumed:
        metrics["resumed"] = {"checkpoints": str(claimed.path), "folds": resumed}
    metrics["model"] = describe_model(folds[-1].model, features.resolved_features, folds[-1], spec)
    if len(runs) > 1:
        metrics["seeds"] = {
            "seeds": seeds,
            "aggregate": summarize_seeds([_comparable(m["aggregate"]) for _, m in runs]),
        }

    say(ProgressEvent("save", "writing the model bundle and the run folder"))
    last = folds[-1]
    documents = {
        "spec": spec.model_dump(mode="json"),
        "features": {
            "timeframe": spec.data.timeframe,
            "timeframes": list(spec.nn_inputs.timeframes or [spec.data.timeframe]),
            "resolved_features": features.resolved_features,
            "warmup_bars": features.warmup_bars,
            "input_kind": getattr(last.model, "input_kind", "rows"),
            "lookback": int(getattr(last.model, "lookback", 1)),
            "heads": list(getattr(last.model, "heads", ())),
        },
        # What the decision rules were fitted with on the saved model's training rows, for the live engine.
        "decisions": {**spec.decisions.model_dump(mode="json"), **last.decisions, "periods_per_year": per_year},
        "scaler": last.scaler.to_dict(),
        "labels": {
            **spec.labels.model_dump(mode="json"),
            "classes": list(labels.CLASS_NAMES),
            "quantiles": None if last.quantiles is None else last.quantiles.to_dict(),
        },
        "split": {
            **spec.split.model_dump(mode="json"),
            "folds": [f.split.summary() for f in folds],
            "trained_until": trained_until(last, table["t1"]),
        },
        "data": {
            "symbol": spec.data.instrument,
            "source": spec.data.source,
            "timeframe": spec.data.timeframe,
            "rows": len(bars),
            "first": bars.index[0].isoformat(),
            "last": bars.index[-1].isoformat(),
            "sha256": dataset,
            "repairs": repairs,
        },
        "training": {
            "seed": seeds[0],
            "device": last.training.device,
            "fold": last.index,
            "best_epoch": last.training.best_epoch,
            "best_val_loss": last.training.best_val_loss,
            "stopped_early": last.training.stopped_early,
            "history": last.training.history,
            "n_inputs": len(features.resolved_features),
            "n_classes": len(labels.CLASS_NAMES),
            "resumed": metrics.get("resumed"),
        },
        "environment": environment(),
        "metrics": metrics,
    }
    weights = {name: tensor.detach().cpu().contiguous() for name, tensor in last.model.state_dict().items()}
    ref = save_bundle(home_dir / "models", spec.name, spec.data.timeframe, weights=weights, documents=documents)
    run_dir = home_dir / "runs" / spec.name / ref.path.name
    trades = write_run_folder(run_dir, ref, metrics, folds, features.frame, outcomes[0])
    say(ProgressEvent("report", "writing the HTML report"))
    write_report(run_dir, bundle_dir=ref.path)
    claimed.finish()  # the run finished: nothing left to resume
    return RunResult(strategy=spec, bundle=ref, run_dir=run_dir, metrics=metrics, trades=trades)


def fold_summary(fold: Fold, per_year: float) -> dict[str, Any]:
    """One fold's test window in a few numbers: the strategy's and buy-and-hold's Sharpe ratios, their
    difference, the strategy's total return, and the classifier's log loss and accuracy on the test labels."""
    mine = backtest.performance(fold.network.result, periods_per_year=per_year)
    held = backtest.performance(fold.benchmark.result, periods_per_year=per_year)
    test = fold.classification.get("test", {})
    return _summary(mine, held, test)


def _summary(mine: dict[str, Any], held: dict[str, Any], test: dict[str, Any]) -> dict[str, Any]:
    sharpe, bench = mine.get("sharpe"), held.get("sharpe")
    return {
        "sharpe": sharpe,
        "buy_and_hold_sharpe": bench,
        "excess_sharpe": None if sharpe is None or bench is None else sharpe - bench,
        "total_return": mine.get("total_return"),
        "log_loss": test.get("log_loss"),
        "accuracy": test.get("accuracy"),
    }


class _Tally:
    """Counts training epochs over the whole run and stamps every event with ``done`` and ``total``."""

    def __init__(self, callback: ProgressCallback) -> None:
        self.callback = callback
        self.done = 0
        self.total: int | None = None

    def say(self, event: ProgressEvent) -> None:
        if event.epoch is not None and self.total is not None:
            self.done = min(self.done + 1, self.total)
        self.callback(replace(event, done=self.done if self.total else None, total=self.total))


@contextmanager
def _progress_display(progress: ProgressCallback | bool | None) -> Iterator[ProgressCallback]:
    """The caller's callback; or, by default in a terminal or a notebook, one tqdm bar over the training epochs."""
    if callable(progress):
        yield progress
        return
    if progress is False or (progress is None and not _interactive()):
        yield lambda event: None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=None, unit="epoch", dynamic_ncols=True, leave=True)
    try:

        def show(event: ProgressEvent) -> None:
            if event.total is not None and bar.total != event.total:
                bar.reset(total=event.total)
            if event.done is not None:
                bar.n = event.done
            bar.set_description(event.message, refresh=False)
            bar.refresh()

        yield show
    finally:
        bar.close()


def _interactive() -> bool:
    """True in a terminal or a Jupyter kernel: where a live progress bar can be drawn."""
    if sys.stderr is not None and sys.stderr.isatty():
        return True
    return "ipykernel" in sys.modules


def count_trials(
    home: Path,
    dataset: str,
    spec_json: dict[str, Any],
    strategy: str,
    *,
    stated: int | None,
    instrument: str = "",
) -> tuple[int, str]:
    """Record this run in the workspace's trial ledger and say how many trials its deflated Sharpe ratio counts.

    Each seed of ``training.seeds`` is recorded as its own configuration, as if run alone, so a seed list and
    the same seeds run one by one count alike. The ledger's count of distinct configurations evaluated on these
    bars is used unless ``backtest.trials`` states a larger number (trials made outside this workspace).

    Examples
    --------
    >>> import tempfile
    >>> home = Path(tempfile.mkdtemp())
    >>> count_trials(home, "sha", {"seed": 1, "training": {"seeds": None}}, "x", stated=None)
    (1, 'workspace ledger: 1 configuration(s) evaluated on these bars')
    >>> count_trials(home, "sha", {"seed": 1, "training": {"seeds": [2, 3]}}, "x", stated=None)[0]
    3
    >>> count_trials(home, "sha", {"seed": 4, "training": {"seeds": None}}, "x", stated=10)
    (10, 'backtest.trials (the workspace ledger counts 4)')
    """
    ledger = TrialLedger(home)
    seeds = spec_json.get("training", {}).get("seeds") or [spec_json.get("seed")]
    for seed in seeds:
        alone = {**spec_json, "seed": seed, "training": {**spec_json.get("training", {}), "seeds": None}}
        counted = ledger.record(dataset, alone, strategy=strategy, instrument=instrument)
    if stated is not None and stated > counted:
        source = f"backtest.trials (the workspace ledger counts {counted})"
    else:
        source = f"workspace ledger: {counted} configuration(s) evaluated on these bars"
    others = ledger.elsewhere(dataset, instrument)
    if others:
        source += (
            f"; {others} more were tried on other data holding the symbols of {instrument} (another version of "
            "it, or another symbol set) and are not counted"
        )
    return max(counted, stated or 0), source


def _comparable(aggregate: dict[str, Any]) -> dict[str, Any]:
    """A seed's aggregate metrics in the shape every seed shares: no warnings, and every backtest's ``ruined``
    present (None when the account survived), so one seed's margin call does not make the seeds incomparable."""

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            out = {k: fill(v) for k, v in value.items()}
            if "final_equity" in out:
                out.setdefault("ruined", None)
            return out
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    return fill({k: v for k, v in aggregate.items() if k != "warnings"})


def _cpcv_indicator_reach(spec: Strategy, warmup_bars: int) -> str | None:
    """Under CPCV a training row after a test group holds indicator values computed over the group's bars; the
    embargo covers that only as far as it reaches (de Prado's embargo): say when the indicators reach further."""
    if spec.split.method != "cpcv" or spec.split.embargo >= warmup_bars:
        return None
    return (
        f"the indicators read up to {warmup_bars} bars back, the CPCV embargo covers {spec.split.embargo}: training "
        f"rows within {warmup_bars} bars after a test group hold indicator values computed partly over the group's "
        "bars (serial correlation across the border); raise split.embargo toward that to rule it out"
    )


def _primary_sizing(spec: Strategy) -> str | None:
    """The primary alone cannot be sized by rules that need the meta model's probabilities: say so, since the
    comparison then mixes sizing with skill."""
    sizing = spec.decisions.sizing
    if getattr(spec.labels, "meta", None) is None or sizing in ("fixed", "volatility_target"):
        return None
    return (
        f"the primary alone is traded at the fixed fraction (backtest.fraction {spec.backtest.fraction:g}), primary "
        f"+ meta with {sizing} sizing, which needs the meta model's probabilities: the comparison mixes sizing with "
        "skill"
    )


def _primary_in_sample(spec: Strategy, home: Path, folds: list[Fold]) -> str | None:
    """A primary bundle (meta-labelling) trained on bars the run tests would hand the meta model in-sample sides:
    say so, since the primary's and the combined numbers before its training end flatter both."""
    meta = getattr(spec.labels, "meta", None)
    if meta is None or meta.side.bundle is None:
        return None
    name = meta.side.bundle if "/" in meta.side.bundle else f"{meta.side.bundle}/latest-{spec.data.timeframe}"
    until = _load_bundle(home / "models", name).documents.get("split", {}).get("trained_until")
    first = min(f.window[0] for f in folds)
    if until is None or pd.Timestamp(until) < first:
        return None
    return (
        f"the primary bundle {name} was trained on bars up to {until[:10]}, after the first traded bar "
        f"{first.date()}: its sides before then are in sample, so the primary's and primary + meta numbers "
        "there flatter both; train the primary on earlier data"
    )


def trained_until(fold: Fold, t1: pd.Series) -> str | None:
    """The last bar any label the saved model trained or stopped on depends on: the latest t1 of its fold's
    training and validation samples (not the last sample's own time: its label looks further ahead)."""
    rows = np.union1d(fold.split.train, fold.split.validation)
    if not len(rows):
        return None
    return pd.Timestamp(t1.iloc[rows].max()).isoformat()


def _resumed_folds(runs: list[tuple[list[Fold], dict[str, Any]]], seeds: list[int]) -> list[dict[str, int]]:
    """Which folds continued from a checkpoint, and after which epoch."""
    return [
        {"seed": seed, "fold": f.index + 1, "after_epoch": f.training.resumed_from}
        for seed, (folds, _) in zip(seeds, runs, strict=True)
        for f in folds
        if f.training.resumed_from
    ]


def describe_model(model: torch.nn.Module, feature_names: list[str], fold: Fold, spec: Strategy) -> dict[str, Any]:
    """What the saved model is, and what can be read from it: the fuzzy model's strongest rules, the ensemble's
    average member weights over its test window."""
    out: dict[str, Any] = {
        "type": spec.model.type,
        "input_kind": getattr(model, "input_kind", "rows"),
        "lookback": int(getattr(model, "lookback", 1)),
        "parameters": int(sum(p.numel() for p in model.parameters())),
    }
    if hasattr(model, "rules_text"):
        out["rules"] = model.rules_text(feature_names, list(labels.CLASS_NAMES), top=10)
    if "member_weights" in fold.readout:
        out["member_weights"] = fold.readout["member_weights"]
    return out


def environment() -> dict[str, str]:
    """Versions of Python and of the packages that decide a run's numbers."""
    versions = {"python": platform.python_version()}
    for package in ("neurotrade", "numpy", "pandas", "numba", "torch", "pyarrow", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


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
