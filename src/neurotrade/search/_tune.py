"""``neurotrade tune``: a study of a strategy's ``search`` space, sampled by Optuna, run by Ray Tune.

The Optuna study in the workspace is the record: Ray Tune's ``OptunaSearch`` samples from it and tells it each
result, so a killed search resumes where it stopped (trials in flight are marked failed and not counted as
results; the rest of the asked trials are run). Ray's scheduler stops a trial whose first folds trail the
others (``search.pruner``); such a trial is recorded as pruned and never ranked.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from neurotrade._folds import ProgressCallback, ProgressEvent
from neurotrade._workspace import resolve_home
from neurotrade.config import Strategy, load_strategy
from neurotrade.errors import ConfigError
from neurotrade.search._holdout import Holdout, locate_holdout
from neurotrade.search._space import distributions, indexed_choices
from neurotrade.search._study import fail_in_flight, finished, open_storage, storage_url, study_dir
from neurotrade.search._trial import run_trial

log = logging.getLogger(__name__)


@dataclass
class StudyOutcome:
    """What ``tune`` left: the study's name and storage, its holdout, how many trials of each kind it holds,
    the best complete trial (number, parameters as spec values, objective) and the report's path."""

    study: str
    storage: str
    holdout: Holdout
    complete: int
    pruned: int
    failed: int
    best: dict[str, Any] | None
    report: Path | None
    trials_counted: int


def tune(
    strategy: Strategy | str | Path,
    *,
    home: str | Path | None = None,
    trials: int | None = None,
    workers: int | None = None,
    address: str | None = None,
    study: str | None = None,
    progress: ProgressCallback | None = None,
    track: str | bool | None = None,
) -> StudyOutcome:
    """Search the strategy's ``search.space`` on Ray, trials sampled by Optuna, the final holdout locked.

    Parameters
    ----------
    strategy
        A strategy with a ``search:`` section, or the path of its YAML file.
    home
        The workspace (default: ``$NEUROTRADE_HOME``, else ``./workspace``).
    trials
        How many finished trials the study should hold (default ``search.trials``); a resumed study runs only
        the rest.
    workers
        Trials at once (default: the CPUs Ray has, divided by ``search.cpus``).
    address
        A running Ray cluster (``auto`` or ``HOST:PORT``); default: a local Ray started for the search.
    study
        The study's name (default: the strategy's).
    progress
        Called with a ``ProgressEvent`` as each trial finishes (``done`` / ``total`` trials, for an ETA).
    track
        Log the study to MLflow: a parent run for this invocation, each trial a nested run (its spec, fold and
        aggregate metrics, report, bundle). A URI, ``True`` (the spec's ``tracking`` URI or the workspace's
        store), ``False``, or ``None`` to follow the spec's ``tracking:`` section.

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy('''
    ... name: tune_demo
    ... data: {source: synthetic, bars: 900}
    ... indicators: {rsi_14: {}}
    ... nn_inputs: {indicators: [rsi_14]}
    ... split: {folds: 2}
    ... training: {epochs: 2}
    ... search: {trials: 2, space: {training.learning_rate: {loguniform: [1.0e-3, 1.0e-2]}}}
    ... ''')
    >>> outcome = tune(spec, home=tempfile.mkdtemp(), workers=1)  # doctest: +SKIP
    >>> outcome.complete + outcome.pruned  # doctest: +SKIP
    2
    """
    from neurotrade.search._study import require_optuna

    optuna = require_optuna()
    spec = strategy if isinstance(strategy, Strategy) else load_strategy(strategy)
    if spec.search is None:
        raise ConfigError(
            f"strategy {spec.name!r} has no search: section; add one, e.g. search: {{space: "
            "{training.learning_rate: {loguniform: [1.0e-4, 1.0e-2]}}}"
        )
    search = spec.search
    home_dir = resolve_home(home).resolve()  # Ray's workers (and Ray's own storage) need an absolute path
    name = study or spec.name
    say = progress or (lambda event: None)
    # One tune per study at a time: a second would mark the first's running trials failed as if it had been killed.
    study_dir(home_dir, name).mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(study_dir(home_dir, name) / "tune.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ConfigError(
            f"another neurotrade tune of study {name!r} is running in this workspace; wait for it, or give this "
            "one another --study NAME"
        ) from None
    try:
        return _tune_locked(spec, search, home_dir, name, trials, workers, address, say, track, optuna)
    finally:
        lock.release()


def _tune_locked(
    spec: Strategy,
    search: Any,
    home_dir: Path,
    name: str,
    trials: int | None,
    workers: int | None,
    address: str | None,
    say: ProgressCallback,
    track: str | bool | None,
    optuna: Any,
) -> StudyOutcome:
    from neurotrade.cluster import ray_session

    say(ProgressEvent("data", f"locating the final holdout ({search.holdout:.0%} of the history)"))
    holdout = locate_holdout(spec, home_dir)
    url = storage_url(home_dir, name, search.storage)
    storage = open_storage(url)
    the_study = optuna.create_study(study_name=name, storage=storage, direction=search.direction, load_if_exists=True)
    _check_same_study(the_study, spec, holdout)
    target = trials if trials is not None else search.trials
    base = spec.model_dump(mode="json")
    for key, value in (
        ("strategy", base),
        ("objective", search.objective),
        ("direction", search.direction),
        ("holdout", holdout.to_dict()),
        ("trials_target", target),
    ):
        the_study.set_user_attr(key, value)
    stale = fail_in_flight(the_study)
    if stale:
        log.warning("study %s: %d trial(s) were in flight when it stopped; marked failed, not counted", name, stale)
    complete, pruned, _ = finished(the_study)
    remaining = target - len(complete) - len(pruned)
    if remaining > 0:
        say(ProgressEvent("tune", f"study {name}: {remaining} trial(s) to run", done=0, total=remaining))
        with ray_session(address, cpus=None) as ray:
            available = float(ray.cluster_resources().get("CPU", 1.0))
            concurrent = workers or max(1, int(available // search.cpus))
            with _tracked(track, spec, home_dir, name, remaining) as tracked:
                _fit(spec, the_study, storage, name, holdout, home_dir, remaining, concurrent, say, tracked)
    return summarize(the_study, spec, holdout, url, home_dir)


@contextmanager
def _tracked(track: str | bool | None, spec: Strategy, home: Path, study: str, trials: int) -> Iterator[Any]:
    """The MLflow URI and parent run of this invocation of a study (None when tracking is off), closed (as
    failed if the search raised) when the block ends."""
    from neurotrade import tracking

    uri = tracking.requested_uri(track, spec, home)
    if uri is None:
        yield None
        return
    tracking.require_mlflow()
    assert spec.search is not None
    params = {"objective": spec.search.objective, "trials": trials, "holdout": spec.search.holdout}
    parent = tracking.start_study_run(uri, home, study, params)
    failed = True
    try:
        yield (uri, parent)
        failed = False
    finally:
        tracking.end_study_run(uri, home, parent, failed=failed)


def _check_same_study(study: Any, spec: Strategy, holdout: Holdout) -> None:
    """A resumed study must be the same search on the same data: its trials would not compare otherwise."""
    from neurotrade.store._ledger import configuration_hash

    before = study.user_attrs
    if not before:
        return
    if before.get("holdout", {}).get("dataset") != holdout.dataset or before["holdout"]["start"] != holdout.start:
        raise ConfigError(
            f"study {study.study_name!r} was run on other data (holdout from {before['holdout']['start']}); the "
            "data changed since: start a new study with --study NAME"
        )
    old = dict(before.get("strategy", {}))
    new = spec.model_dump(mode="json")
    same_search = {k: v for k, v in (old.get("search") or {}).items() if k != "trials"} == {
        k: v for k, v in (new.get("search") or {}).items() if k != "trials"
    }
    if configuration_hash(old) != configuration_hash(new) or not same_search:
        raise ConfigError(
            f"study {study.study_name!r} was started with another version of strategy {spec.name!r} (its spec "
            "or search space changed); start a new study with --study NAME, or restore the spec to resume"
        )


def _fit(
    spec: Strategy,
    study: Any,
    storage: Any,
    name: str,
    holdout: Holdout,
    home: Path,
    remaining: int,
    concurrent: int,
    say: ProgressCallback,
    tracked: tuple[str, str] | None = None,
) -> None:
    from ray import tune
    from ray.tune.logger import JsonLoggerCallback
    from ray.tune.schedulers import FIFOScheduler

    from neurotrade.search._searcher import FoldHalving, FoldMedianRule, StudySearch, TrialProgress

    # Ray Tune's default TensorBoard/CSV/JSON loggers and its console tables are not ours to print: the study
    # is the record, and progress goes through the caller's callback.
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    search = spec.search
    assert search is not None
    mode = "min" if search.direction == "minimize" else "max"
    folds = getattr(spec.split, "folds", 1)
    scheduler: Any
    if search.pruner == "median" and folds > 1:
        scheduler = FoldMedianRule(
            time_attr="fold", metric="objective", mode=mode, grace_period=1, min_samples_required=3, folds=folds
        )
    elif search.pruner == "successive_halving" and folds > 1:
        scheduler = FoldHalving(
            time_attr="fold",
            metric="objective",
            mode=mode,
            max_t=folds,
            grace_period=1,
            reduction_factor=2,
            folds=folds,
        )
    else:
        scheduler = FIFOScheduler()
    import optuna

    searcher = StudySearch(
        space=distributions(spec),
        metric="objective",
        mode=mode,
        # Offset by the trials already in the study: a resumed study must not draw its first trials' values again.
        sampler=optuna.samplers.TPESampler(
            seed=(search.seed if search.seed is not None else spec.seed) + len(study.trials)
        ),
        study_name=name,
        storage=storage,
        choices=indexed_choices(spec),
    )
    trainable = tune.with_resources(
        tune.with_parameters(
            run_trial,
            base=spec.model_dump(mode="json"),
            study=name,
            holdout_start=holdout.start,
            home=str(home),
            objective=search.objective,
            cpus=search.cpus,
            shared=shared_features(spec, holdout, home, say),
            track=tracked,
            dsr_trials=_dsr_trials(spec, study, holdout, home, remaining),
        ),
        {"cpu": search.cpus, "gpu": search.gpus},
    )
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=remaining,
            max_concurrent_trials=concurrent,
            # A trial in a warm worker skips starting Python, importing torch and numba and loading compiled
            # kernels: seconds per trial on a small strategy (benchmarks/tune.py).
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=f"{name}-{time.strftime('%Y%m%dT%H%M%S')}",
            storage_path=str(study_dir(home, name) / "ray"),
            verbose=0,
            callbacks=[TrialProgress(say, remaining, searcher), JsonLoggerCallback()],
            log_to_file=True,
        ),
    )
    tuner.fit()


def _dsr_trials(spec: Strategy, study: Any, holdout: Holdout, home: Path, remaining: int) -> int:
    """The one trial count every trial of this invocation is deflated by: the study's trials so far and those to
    come, or the ledger's count on the trials' data when it holds more (hand runs), plus the runs on the full data."""
    from neurotrade.search._deflate import trials_counted

    return trials_counted(study, spec, holdout, home) + remaining


def shared_features(spec: Strategy, holdout: Holdout, home: Path, say: ProgressCallback) -> tuple[str, Any] | None:
    """The feature matrix every trial would build alike (no dimension touches the data or the features), built
    once here, with its cache key; ``tune.with_parameters`` ships it through Ray's object store, once per node.
    None for a universe (its per-symbol matrices come from the workspace's feature cache) or when trials differ.
    """
    from neurotrade._stages import load_bars
    from neurotrade.features import FeatureCache, build_features
    from neurotrade.search._space import touches_features

    if touches_features(spec) or spec.data.is_universe:
        return None
    say(ProgressEvent("features", "building the features every trial shares, once"))
    cut = spec.model_copy(update={"data": spec.data.model_copy(update={"end": holdout.start})})
    bars = load_bars(cut.data, home=home, seed=spec.seed)
    cache = FeatureCache(home)
    return cache.key(bars, cut), cache.load_or_build(bars, cut, build_features)


def summarize(study: Any, spec: Strategy, holdout: Holdout, url: str, home: Path) -> StudyOutcome:
    """The study's counts and best trial, its deflated Sharpe ratios recomputed with the final trial count
    (stored as the study's ``deflated`` attribute), and its report."""
    from neurotrade.report import write_study_report
    from neurotrade.search._deflate import deflate_study
    from neurotrade.search._study import best_trial

    complete, pruned, failed = finished(study)
    counted = deflate_study(study, spec, holdout, home)
    best = None
    if complete:
        chosen = best_trial(study)
        from neurotrade.search._space import spec_values

        best = {"trial": chosen.number, "params": spec_values(spec, chosen.params), "objective": chosen.value}
    report = write_study_report(home, study.study_name, storage=url) if (complete or pruned) else None
    return StudyOutcome(
        study=study.study_name,
        storage=url,
        holdout=holdout,
        complete=len(complete),
        pruned=len(pruned),
        failed=len(failed),
        best=best,
        report=report,
        trials_counted=counted,
    )
