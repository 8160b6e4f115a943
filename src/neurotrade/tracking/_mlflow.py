"""Runs and studies logged to a real MLflow store through ``MlflowClient`` (never MLflow's global "active run").

A run becomes one MLflow run: the resolved spec flattened as params (``training.learning_rate``), the aggregate
metrics under their own names (``strategy/sharpe``), each fold's under ``fold/...`` with the fold number as the
step, a universe's symbols under ``symbol/<SYMBOL>/...``, ``report.html`` and ``metrics.json`` as artifacts, and
tags that tie it to the bundle on disk (its name, the sha256 of its manifest and of its weights) and to the bars
(the dataset fingerprint). The client is used directly, so runs logged from parallel trials never share state.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurotrade.errors import NeurotradeError
from neurotrade.tracking._flatten import flatten_params, is_number, mlflow_key, run_metrics, tag_values

if TYPE_CHECKING:
    from neurotrade.config import Strategy
    from neurotrade.pipeline import RunResult

log = logging.getLogger(__name__)

DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlruns"
# MLflow's batch limits (mlflow.utils.validation): a larger batch is refused.
PARAMS_PER_BATCH = 100
METRICS_PER_BATCH = 1000
ARTIFACTS = ("report.html", "metrics.json")
TAG = "neurotrade."
# How long a process waits for another to finish logging into the same SQLite store (each takes well under 1 s).
LOCK_TIMEOUT_S = 120
_PASSWORD = re.compile(r"(://[^/:@]*):[^/@]*@")


def tracking_uri(uri: str | None, home: Path) -> str:
    """The MLflow tracking URI to log to: ``uri`` as given, else the workspace's SQLite store ``HOME/mlflow.db``
    (its artifacts under ``HOME/mlruns``).

    Examples
    --------
    >>> from pathlib import Path
    >>> tracking_uri(None, Path("/tmp/ws"))
    'sqlite:////tmp/ws/mlflow.db'
    >>> tracking_uri("http://127.0.0.1:5000", Path("/tmp/ws"))
    'http://127.0.0.1:5000'
    """
    if uri:
        return uri
    return f"sqlite:///{(Path(home) / DB_FILE).resolve().as_posix()}"


def requested_uri(track: str | bool | None, strategy: Strategy, home: Path) -> str | None:
    """Where a run of ``strategy`` is to be logged, or None when tracking is off.

    ``track`` is what the caller asked for: a string is a tracking URI; ``True`` turns tracking on (the spec's
    ``tracking.mlflow`` URI, else the workspace's store); ``False`` turns it off whatever the spec says; ``None``
    defers to the spec, where a ``tracking:`` section turns it on.

    Examples
    --------
    >>> from pathlib import Path
    >>> from neurotrade.config import Strategy
    >>> home = Path("/tmp/ws")
    >>> requested_uri(None, Strategy(name="s"), home) is None
    True
    >>> requested_uri(True, Strategy(name="s"), home)
    'sqlite:////tmp/ws/mlflow.db'
    >>> spec = Strategy(name="s", tracking={"mlflow": "http://127.0.0.1:5000"})
    >>> requested_uri(None, spec, home), requested_uri(False, spec, home)
    ('http://127.0.0.1:5000', None)
    """
    if track is False:
        return None
    if isinstance(track, str):
        return tracking_uri(track, home)
    if track is True or strategy.tracking is not None:
        return tracking_uri(strategy.tracking.mlflow if strategy.tracking else None, home)
    return None


def require_mlflow() -> Any:
    """The ``mlflow`` module; a missing one raises a :class:`~neurotrade.errors.NeurotradeError` naming the extra.

    Examples
    --------
    >>> require_mlflow().__name__  # doctest: +SKIP
    'mlflow'
    """
    from neurotrade.cluster import missing_extra

    try:
        import mlflow
    except ImportError as error:
        raise missing_extra("mlflow", "track", error) from error
    return mlflow


def display_uri(uri: str) -> str:
    """``uri`` with any password in it masked, for messages and the command line's output.

    Examples
    --------
    >>> display_uri("postgresql://me:secret@db:5432/mlflow")
    'postgresql://me:***@db:5432/mlflow'
    >>> display_uri("sqlite:////tmp/ws/mlflow.db")
    'sqlite:////tmp/ws/mlflow.db'
    """
    return _PASSWORD.sub(r"\1:***@", uri)


def log_run(
    result: RunResult,
    uri: str | None,
    *,
    home: Path,
    experiment: str | None = None,
    parent_run_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    """Log a finished run to MLflow and return the MLflow run id.

    Parameters
    ----------
    result
        What :func:`neurotrade.run` returned (its bundle and run folder are read back from disk).
    uri
        An MLflow tracking URI; None: the workspace's SQLite store (see :func:`tracking_uri`).
    home
        The workspace (where the default store lives).
    experiment
        The MLflow experiment, created when missing. Default: the parent run's experiment when
        ``parent_run_id`` is given, else the strategy's name.
    parent_run_id
        Log the run nested under this one (a search trial under its study's run, :func:`start_study_run`).
    tags
        More tags, added to (and able to override) those the run gets.

    Raises
    ------
    NeurotradeError
        MLflow is not installed (naming ``pip install 'neurotrade[track]'``), or the store refused or could not
        be reached (naming the URI).

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.pipeline import run
    >>> home = Path(tempfile.mkdtemp())
    >>> spec = parse_strategy("name: doc\\ndata: {source: synthetic, bars: 900}\\nindicators: {rsi_14: {}}\\n"
    ...                       "nn_inputs: {indicators: [rsi_14]}\\nsplit: {folds: 2}\\ntraining: {epochs: 2}\\n")
    >>> run_id = log_run(run(spec, home=home, progress=False), None, home=home)  # doctest: +SKIP
    """
    uri = tracking_uri(uri, home)
    spec = result.strategy
    require_mlflow()
    with _store(uri) as client:
        if parent_run_id is not None and experiment is None:
            experiment_id = client.get_run(parent_run_id).info.experiment_id
        else:
            experiment_id = _experiment_id(client, experiment or spec.name, uri, home)
        every_tag = {**_run_tags(result), **(tags or {})}
        if parent_run_id is not None:
            every_tag["mlflow.parentRunId"] = parent_run_id
        every_tag["mlflow.runName"] = result.bundle.name
        run_id = client.create_run(experiment_id, tags=tag_values(every_tag)).info.run_id
        try:
            params = flatten_params(spec.model_dump(mode="json", exclude={"tracking"}))
            _log_batches(client, run_id, params=params, metrics=run_metrics(result.metrics))
            for name in ARTIFACTS:
                if (result.run_dir / name).is_file():
                    client.log_artifact(run_id, str(result.run_dir / name))
        except BaseException:
            client.set_terminated(run_id, status="FAILED")
            raise
        client.set_terminated(run_id, status="FINISHED")
    log.debug("logged %s as MLflow run %s in %s", result.bundle.name, run_id, display_uri(uri))
    return run_id


def track_result(result: RunResult, uri: str, home: Path) -> RunResult:
    """``result`` with ``tracked`` set to the MLflow run it was logged as; a failure to log is a logged warning
    and ``tracked`` stays None, since the run itself is saved and must reach the caller.

    The experiment is the spec's ``tracking.experiment``, else the strategy's name.

    Examples
    --------
    >>> track_result(result, "sqlite:///mlflow.db", home).tracked  # doctest: +SKIP
    '2f6e...'
    """
    spec = result.strategy
    experiment = spec.tracking.experiment if spec.tracking else None
    # A server that does not answer is retried for minutes (MLflow's default, MLFLOW_HTTP_REQUEST_MAX_RETRIES):
    # say what is being waited for.
    log.info("logging %s to MLflow at %s", result.bundle.name, display_uri(uri))
    try:
        run_id = log_run(result, uri, home=home, experiment=experiment)
    except Exception as error:  # the run is saved: report the tracking failure (traceback in the log), keep it
        log.warning(
            "run %s is saved in %s but was not logged to MLflow: %s",
            result.bundle.name,
            result.run_dir,
            display_uri(str(error)),
            exc_info=not isinstance(error, NeurotradeError),
        )
        return result
    return replace(result, tracked=run_id)


def start_study_run(
    uri: str | None, home: Path, study: str, params: Mapping[str, Any], *, experiment: str | None = None
) -> str:
    """Open the parent run of a study (left RUNNING; :func:`end_study_run` closes it) and return its id: its
    trials are logged under it with ``log_run(..., parent_run_id=...)``.

    Parameters
    ----------
    uri, home
        As for :func:`log_run`.
    study
        The study's name: the run's name and its ``neurotrade.study`` tag.
    params
        What the study is (search space, objective, trials ...), flattened as params like a spec.
    experiment
        Default: the study's name.

    Examples
    --------
    >>> parent = start_study_run(None, home, "trend-lr", {"trials": 16})  # doctest: +SKIP
    """
    uri = tracking_uri(uri, home)
    require_mlflow()
    with _store(uri) as client:
        experiment_id = _experiment_id(client, experiment or study, uri, home)
        tags = {"mlflow.runName": study, f"{TAG}study": study, f"{TAG}version": _version()}
        run_id = client.create_run(experiment_id, tags=tag_values(tags)).info.run_id
        _log_batches(client, run_id, params=flatten_params(dict(params)), metrics={})
    return run_id


def end_study_run(
    uri: str | None, home: Path, run_id: str, *, metrics: Mapping[str, float] | None = None, failed: bool = False
) -> None:
    """Close a study's parent run, logging its final numbers (best value, trials ...) first.

    Examples
    --------
    >>> end_study_run(None, home, parent, metrics={"best/excess_sharpe": 0.4})  # doctest: +SKIP
    """
    uri = tracking_uri(uri, home)
    require_mlflow()
    with _store(uri) as client:
        numbers = {(mlflow_key(k), 0): float(v) for k, v in (metrics or {}).items() if is_number(v)}
        _log_batches(client, run_id, params={}, metrics=numbers)
        client.set_terminated(run_id, status="FAILED" if failed else "FINISHED")


def _run_tags(result: RunResult) -> dict[str, str]:
    """What ties the MLflow run to the files on disk: the bundle (name, sha256 of its manifest and, as that
    manifest records it, of its weights), the bars' fingerprint, the strategy and neurotrade's version."""
    from neurotrade.store import read_document
    from neurotrade.store._manifest import read_manifest
    from neurotrade.store._names import MANIFEST_FILE, WEIGHTS_FILE

    bundle = result.bundle.path
    manifest = read_manifest(bundle)
    data = read_document(result.bundle, "data", missing_ok=True) or {}
    tags = {
        f"{TAG}bundle": result.bundle.name,
        f"{TAG}bundle_path": str(bundle),
        f"{TAG}run_dir": str(result.run_dir),
        f"{TAG}manifest_sha256": hashlib.sha256((bundle / MANIFEST_FILE).read_bytes()).hexdigest(),
        f"{TAG}weights_sha256": manifest["files"][WEIGHTS_FILE]["sha256"],
        f"{TAG}strategy": result.strategy.name,
        f"{TAG}version": _version(),
    }
    if isinstance(data.get("sha256"), str):
        tags[f"{TAG}dataset"] = data["sha256"]
    return tags


def _version() -> str:
    from neurotrade import __version__

    return __version__


def _artifact_root(uri: str, home: Path) -> str | None:
    """Where a new experiment keeps its artifacts: beside a SQLite file (``mlruns/`` next to it), in the
    workspace for another database, and MLflow's choice for a server or a file store (which know their own).

    Without one, MLflow puts a database store's artifacts under ``./mlruns`` of whatever folder the process
    started in.
    """
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""
    if scheme == "sqlite":
        path = _sqlite_path(uri)
        return ((path.parent if path else Path(home)) / ARTIFACTS_DIR).resolve().as_uri()
    if scheme in ("postgresql", "mysql", "mssql"):
        return (Path(home) / ARTIFACTS_DIR).resolve().as_uri()
    return None


def _sqlite_path(uri: str) -> Path | None:
    """The database file of ``sqlite:///relative.db`` or ``sqlite:////absolute.db``; None for an in-memory one."""
    rest = uri.split("://", 1)[1].split("?", 1)[0]
    path = rest[1:] if rest.startswith("/") else ""
    return Path(path) if path and path != ":memory:" else None


def _experiment_id(client: Any, name: str, uri: str, home: Path) -> str:
    """The id of experiment ``name``, created (with its artifact location) when missing; another process may
    create it at the same moment (parallel trials), which is fine."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            return client.create_experiment(name, artifact_location=_artifact_root(uri, home))
        except MlflowException:
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
    if found.lifecycle_stage != "active":
        raise NeurotradeError(
            f"MLflow experiment {name!r} at {display_uri(uri)} is deleted: restore it (mlflow experiments restore "
            f"--experiment-id {found.experiment_id}) or name another (tracking: {{experiment: NAME}})"
        )
    return str(found.experiment_id)


def _log_batches(
    client: Any, run_id: str, *, params: Mapping[str, str], metrics: Mapping[tuple[str, int], float]
) -> None:
    """Params and metrics in as few requests as MLflow's batch limits allow (hundreds of each are usual)."""
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    param_list = [Param(k, v) for k, v in params.items()]
    for start in range(0, len(param_list), PARAMS_PER_BATCH):
        client.log_batch(run_id, params=param_list[start : start + PARAMS_PER_BATCH], synchronous=True)
    metric_list = [Metric(name, value, now, step) for (name, step), value in metrics.items()]
    for start in range(0, len(metric_list), METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=metric_list[start : start + METRICS_PER_BATCH], synchronous=True)


@contextmanager
def _store(uri: str) -> Iterator[Any]:
    """An ``MlflowClient`` on ``uri``, MLflow's set-up chatter (creating a database's tables) kept out of the
    output, and MLflow's failures as one :class:`NeurotradeError` that names the store.

    A SQLite store is used under a file lock beside it: parallel trials logging into a fresh workspace would
    otherwise race to create its tables (MLflow's migrations fail when two run at once), and SQLite takes one
    writer at a time anyway.
    """
    from filelock import FileLock, Timeout
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    path = _sqlite_path(uri) if uri.lower().startswith("sqlite:") else None
    chatty = logging.getLogger("mlflow")
    level = chatty.level
    chatty.setLevel(max(level, logging.WARNING))
    try:
        with ExitStack() as held:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
                held.enter_context(FileLock(f"{path}.lock", timeout=LOCK_TIMEOUT_S))
            yield MlflowClient(tracking_uri=uri)
    except Timeout as error:
        raise NeurotradeError(
            f"MLflow store {path} stayed locked for {LOCK_TIMEOUT_S} s by another process logging to it; try again, "
            "or give each process its own store"
        ) from error
    except (MlflowException, OSError) as error:
        raise NeurotradeError(
            f"MLflow at {display_uri(uri)} failed: {display_uri(str(error))}; check the tracking URI "
            "(tracking: {mlflow: URI} or --track-uri) and that the store is reachable and writable"
        ) from error
    finally:
        chatty.setLevel(level)
