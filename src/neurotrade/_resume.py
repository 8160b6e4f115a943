"""Where a run keeps its training checkpoints, and which interrupted run ``--resume`` may continue.

Every run owns a folder ``checkpoints/<strategy>/<run id>/`` and holds a lock on it while it runs, so runs of
the same strategy at the same time never touch each other's files. The folder's ``run.json`` records what the
checkpoints were trained on: the data's fingerprint, the resolved features, the spec, and each fold's
train/validation/test positions. ``--resume`` continues only a folder whose record matches the new run exactly
and whose lock no live run holds; anything else is refused with the reason, because weights trained on other
data (say, on the years that are now the test window) would silently turn a test into a training set.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from neurotrade.errors import ModelError
from neurotrade.splits import Split

log = logging.getLogger(__name__)

RECORD = "run.json"


def positions_digest(positions: np.ndarray) -> str:
    """A short sha256 of integer positions, to compare two splits without storing every index.

    Examples
    --------
    >>> positions_digest(np.arange(3)) == positions_digest(np.array([0, 1, 2]))
    True
    """
    return hashlib.sha256(np.ascontiguousarray(positions, dtype=np.int64).tobytes()).hexdigest()[:16]


def split_record(split: Split) -> dict[str, Any]:
    """Each window of a fold as ``[first, last, count, digest]`` of its sample positions (what a resume checks).

    Examples
    --------
    >>> import pandas as pd
    >>> times = pd.date_range("2020-01-01", periods=4, freq="D", tz="UTC")
    >>> s = Split(np.array([0, 1]), np.array([2]), np.array([3]), {}, 3, {}, {}, times)
    >>> split_record(s)["train"][:3]
    [0, 1, 2]
    """
    out: dict[str, Any] = {}
    for name in ("train", "validation", "test"):
        rows = getattr(split, name)
        first, last = (int(rows[0]), int(rows[-1])) if len(rows) else (None, None)
        out[name] = [first, last, len(rows), positions_digest(rows)]
    return out


def run_identity(spec: dict[str, Any], data_sha256: str, features: list[str], splits: list[Split]) -> dict[str, Any]:
    """Everything a checkpoint's weights depend on besides the seed: spec, data, features, split positions.

    ``training.epochs`` and the device may differ (a resumed run may train longer, elsewhere).
    """
    training = {key: value for key, value in spec.get("training", {}).items() if key not in ("epochs", "device")}
    return {
        "spec": {**spec, "training": training},
        "data": data_sha256,
        "features": list(features),
        "folds": [split_record(s) for s in splits],
    }


@dataclass
class CheckpointFolder:
    """A run's own checkpoint folder, locked while the run holds it.

    Attributes
    ----------
    path
        ``checkpoints/<strategy>/<run id>``.
    resumed
        True when this folder was left by an interrupted run that this run continues.
    """

    path: Path
    resumed: bool
    _lock: FileLock

    def finish(self) -> None:
        """The run completed: nothing is left to resume, so the folder goes (and the strategy's, once empty)."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._lock.release()
        _lock_path(self.path).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # another run's folder is still in it
            self.path.parent.rmdir()

    def release(self) -> None:
        """The run stopped early: keep the checkpoints for ``--resume``, let another run claim them."""
        self._lock.release()


def claim_checkpoints(root: Path, identity: dict[str, Any], *, resume: bool) -> CheckpointFolder:
    """A fresh checkpoint folder under ``root``, or with ``resume`` the interrupted run's that matches ``identity``.

    Raises
    ------
    ModelError
        ``resume`` was asked for and interrupted runs exist, but none was trained on the same data, features,
        splits and spec: the message says what differs.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> first = claim_checkpoints(root, {"data": "a"}, resume=False)
    >>> first.release()  # interrupted
    >>> again = claim_checkpoints(root, {"data": "a"}, resume=True)
    >>> again.resumed, again.path == first.path
    (True, True)
    >>> again.release()
    >>> claim_checkpoints(root, {"data": "b"}, resume=True)
    Traceback (most recent call last):
    ...
    neurotrade.errors.ModelError: cannot resume: ...
    """
    root.mkdir(parents=True, exist_ok=True)
    if resume:
        refusals = []
        for folder in sorted((p for p in root.iterdir() if p.is_dir()), key=_age, reverse=True):
            lock = FileLock(_lock_path(folder))
            try:
                lock.acquire(timeout=0)
            except (Timeout, OSError):
                continue  # a live run holds it, or it went away while we looked
            record = _read_record(folder)
            if record is None:  # killed before it wrote what it was: nothing in it can be trusted or resumed
                shutil.rmtree(folder, ignore_errors=True)
                lock.release()
                _lock_path(folder).unlink(missing_ok=True)
                continue
            differences = _differences(record, identity)
            if not differences:
                log.info("resuming from the checkpoints in %s", folder)
                return CheckpointFolder(folder, True, lock)
            lock.release()
            refusals.append(f"{folder.name}: {'; '.join(differences)}")
        if refusals:
            raise ModelError(
                "cannot resume: no interrupted run of this strategy was trained on the same data, features, splits "
                f"and settings ({' | '.join(refusals[:3])}); resuming from it would train on other data. Run "
                "without --resume to start afresh"
            )
        log.warning("--resume: no interrupted run of this strategy was found in %s; starting afresh", root)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    folder = root / f"{stamp}-{os.getpid()}-{secrets.token_hex(3)}"
    # The lock sits beside the folder and is taken before the folder exists, so a resume scanning the strategy's
    # folders can never take a starting run's folder for an abandoned one.
    lock = FileLock(_lock_path(folder))
    lock.acquire()
    folder.mkdir()
    temporary = folder / f"{RECORD}.tmp"
    temporary.write_text(json.dumps(identity, sort_keys=True) + "\n")
    temporary.replace(folder / RECORD)  # a kill leaves the record whole or absent, never half written
    return CheckpointFolder(folder, False, lock)


def _lock_path(folder: Path) -> Path:
    return folder.with_name(folder.name + ".lock")


def _age(folder: Path) -> float:
    try:
        return folder.stat().st_mtime
    except OSError:  # removed by a run that finished meanwhile
        return 0.0


def _read_record(folder: Path) -> dict[str, Any] | None:
    """The folder's ``run.json``, or None when it is missing or not a record (a run killed while starting)."""
    try:
        record = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What an interrupted run's record disagrees on with this run, in words."""
    out = []
    if saved.get("data") != current.get("data"):
        out.append(f"data fingerprint {str(saved.get('data'))[:12]}… (now {str(current.get('data'))[:12]}…)")
    if saved.get("features") != current.get("features"):
        out.append("the resolved features differ")
    old_folds, new_folds = saved.get("folds"), current.get("folds")
    if old_folds != new_folds:
        if not isinstance(old_folds, list) or not isinstance(new_folds, list) or len(old_folds) != len(new_folds):
            out.append("the number of folds differs")
        else:
            changed = [str(k + 1) for k, (a, b) in enumerate(zip(old_folds, new_folds, strict=True)) if a != b]
            out.append(f"the train/validation/test positions of fold {', '.join(changed)} differ")
    if saved.get("spec") != current.get("spec"):
        old, new = saved.get("spec") or {}, current.get("spec") or {}
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        out.append(f"the spec differs in {', '.join(keys)}")
    return out
