"""Where a study lives (an Optuna storage in the workspace, or any SQLAlchemy URL) and what it holds.

The layout is the contract between ``neurotrade tune``, ``neurotrade confirm`` and the study report
(``neurotrade.report.write_study_report``): study user attributes ``strategy``, ``objective``, ``direction``,
``holdout``, ``trials_target`` and ``confirmations``; each finished trial's ``folds``, ``aggregate``,
``choices``, ``node``, ``seconds`` (and ``pruned_after_fold`` when pruned).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from neurotrade.errors import ConfigError, StoreError

STUDY_FILE = "study.sqlite"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,99}$")


def study_dir(home: Path, study: str) -> Path:
    """The folder of a study in the workspace (its SQLite storage, Ray's files, the report)."""
    if not _NAME.match(study):
        raise ConfigError(f"study name {study!r}: start with a letter; letters, digits, _ and - only")
    return home / "studies" / study


def storage_url(home: Path, study: str, url: str | None = None) -> str:
    """The study's storage: ``url`` when given (any SQLAlchemy URL), else a SQLite file in the study's folder.

    Examples
    --------
    >>> storage_url(Path("/w"), "s")
    'sqlite:////w/studies/s/study.sqlite'
    """
    if url:
        return url
    return f"sqlite:///{(study_dir(home, study) / STUDY_FILE).as_posix()}"


def require_optuna() -> Any:
    """The ``optuna`` module, or an error naming the extra to install."""
    try:
        import optuna
    except ImportError as error:
        from neurotrade.cluster import missing_extra

        raise missing_extra("optuna", "tune", error) from error
    return optuna


def open_storage(url: str) -> Any:
    """An Optuna RDB storage at ``url`` (its folder made for a SQLite file). A missing Optuna names the extra."""
    optuna = require_optuna()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return optuna.storages.RDBStorage(
            url, engine_kwargs={"connect_args": {"timeout": 30}} if "sqlite" in url else {}
        )
    except Exception as error:  # SQLAlchemy's errors for a bad URL or an unreachable database vary by driver
        raise StoreError(f"cannot open the study storage {url}: {error}") from error


def load_study(home: Path, study: str, url: str | None = None) -> Any:
    """The stored Optuna study ``study``; a clear error naming the studies that exist when it does not."""
    optuna = require_optuna()

    def missing() -> StoreError:
        known = sorted(p.name for p in (home / "studies").glob("*") if (p / STUDY_FILE).is_file())
        listed = f"; studies in this workspace: {', '.join(known)}" if known else ""
        return StoreError(f"no study named {study!r} in {storage_url(home, study, url)}{listed}")

    if url is None and not (study_dir(home, study) / STUDY_FILE).is_file():
        raise missing()  # opening the default storage would create an empty one
    storage = open_storage(storage_url(home, study, url))
    try:
        return optuna.load_study(study_name=study, storage=storage)
    except KeyError:
        raise missing() from None


def finished(study: Any) -> tuple[list[Any], list[Any], list[Any]]:
    """The study's complete, pruned and failed trials, in trial order."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    return (
        [t for t in trials if t.state == TrialState.COMPLETE],
        [t for t in trials if t.state == TrialState.PRUNED],
        [t for t in trials if t.state == TrialState.FAIL],
    )


def fail_in_flight(study: Any) -> int:
    """Mark the trials a killed search left running (or waiting) as failed: they never finished, so they are
    neither counted as results nor run again under the same number. Returns how many there were."""
    from optuna.trial import TrialState

    stale = [t for t in study.get_trials(deepcopy=False) if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    for trial in stale:
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    return len(stale)


def best_trial(study: Any) -> Any:
    """The best complete trial (pruned trials never win: their value is that of their first folds only)."""
    complete, _, _ = finished(study)
    if not complete:
        raise StoreError(f"study {study.study_name!r} has no complete trial yet; run neurotrade tune first")
    sign = -1.0 if study.user_attrs.get("direction", "maximize") == "minimize" else 1.0
    return max(complete, key=lambda t: (sign * t.value, -t.number))
