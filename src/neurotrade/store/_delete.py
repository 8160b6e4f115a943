"""Delete one bundle version and keep ``latest`` pointing at a bundle that exists."""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

from filelock import FileLock, Timeout

from neurotrade.errors import StoreError
from neurotrade.store._bundle import (
    _LOCK_FILE,
    _LOCK_TIMEOUT_S,
    _STORE_NAME_RE,
    BundleRef,
    _bundle_dirs,
    _bundle_list,
    _fsync_dir,
    _high_water,
    _latest_dir_name,
    _point_latest,
    _read_latest,
    _resolve,
    _write_high_water,
)
from neurotrade.store._manifest import read_manifest
from neurotrade.store._names import LATEST, latest_pointer

logger = logging.getLogger(__name__)


def delete_bundle(models_dir: Path, name: str) -> BundleRef:
    """Delete one saved bundle version; ``latest`` moves to the newest version left, or goes with the last one.

    ``latest-{timeframe}`` likewise moves to the newest version of that timeframe left. The bundle is named
    explicitly (``'trend/1d_v2'`` or ``'trend/v2'``): a bare ``'trend'``, ``'trend/latest'`` or
    ``'trend/latest-1d'`` is refused, so a command run twice cannot delete two versions. The directory is first
    renamed out of sight, under the strategy's file lock, so a reader sees the whole bundle or none of it. A
    bundle that fails verification can still be deleted; the run folder under ``runs/`` is left alone. Its
    version number is never given to a later save.

    Parameters
    ----------
    models_dir
        The models directory of the workspace, usually ``{home}/models``.
    name
        ``'strategy/{timeframe}_v{N}'`` or ``'strategy/v{N}'``.

    Returns
    -------
    BundleRef
        The bundle that was deleted (``is_latest`` says whether ``latest`` named it; ``created_at`` is empty when
        its manifest could not be read).

    Raises
    ------
    StoreError
        A name that is not one saved bundle (with the versions that exist), or a failed removal.

    Examples
    --------
    >>> import tempfile, torch
    >>> from neurotrade.store import list_bundles, save_bundle
    >>> models = Path(tempfile.mkdtemp()) / "models"
    >>> for _ in range(2):
    ...     _ = save_bundle(models, "trend", "1d", weights={"w": torch.ones(1)}, documents={})
    >>> delete_bundle(models, "trend/1d_v2").name
    'trend/1d_v2'
    >>> [(ref.name, ref.is_latest) for ref in list_bundles(models)]
    [('trend/1d_v1', True)]
    """
    models_dir = Path(models_dir)
    match = _STORE_NAME_RE.fullmatch(name) if isinstance(name, str) else None
    if match is None:
        raise StoreError(
            f"{name!r} does not name a saved bundle: delete takes 'strategy/{{timeframe}}_v{{N}}' or "
            "'strategy/v{N}' (see `neurotrade models list`), never a path."
        )
    strategy, which = match["strategy"], match["which"]
    path, from_store = _resolve(models_dir, name)
    if not from_store:
        raise StoreError(
            f"{name!r} is a directory, not a bundle saved in {models_dir}: delete only removes bundles from the "
            "store. Remove a copied bundle directory by hand."
        )
    if which is None or which == LATEST or (which.startswith(f"{LATEST}-") and which != path.name):
        raise StoreError(
            f"name the version to delete: {name!r} means the latest bundle, {strategy}/{path.name}. "
            f"Run `neurotrade models delete {strategy}/{path.name}` to delete it."
        )
    strategy_dir = models_dir / strategy
    try:
        with FileLock(strategy_dir / _LOCK_FILE, timeout=_LOCK_TIMEOUT_S):
            ref = _remove(strategy_dir, strategy, path.name)
    except Timeout as e:
        raise StoreError(
            f"cannot delete {strategy}/{path.name}: another save or delete held {strategy_dir / _LOCK_FILE} "
            f"for more than {_LOCK_TIMEOUT_S:.0f}s. Wait for it to finish and try again."
        ) from e
    except OSError as e:
        raise StoreError(
            f"cannot delete {strategy}/{path.name} in {strategy_dir}: {e}. Check that the directory is writable."
        ) from e
    logger.info("deleted model bundle %s", ref.name)
    return ref


def _remove(strategy_dir: Path, strategy: str, dir_name: str) -> BundleRef:
    """Hide, re-point ``latest``, then remove; call under the lock."""
    dirs = _bundle_dirs(strategy_dir)
    if dir_name not in dirs:  # deleted by another process between the lookup and the lock
        raise StoreError(
            f"strategy {strategy!r} has no bundle {dir_name!r} any more. Bundles: {_bundle_list(dirs, None) or 'none'}."
        )
    timeframe, version = dirs[dir_name]
    path = strategy_dir / dir_name
    try:
        created_at = read_manifest(path)["created_at"]
    except StoreError:
        created_at = ""  # a damaged bundle is still the user's to delete
    was_latest = _latest_dir_name(strategy_dir, dirs) == dir_name
    was_latest_of_timeframe = _latest_dir_name(strategy_dir, dirs, timeframe) == dir_name
    # Bundles saved before .last_version existed: record the number being deleted so no save takes it again.
    _write_high_water(strategy_dir, _high_water(strategy_dir))

    hidden = strategy_dir / f".deleting-{dir_name}-{uuid.uuid4().hex}"
    path.rename(hidden)
    remaining = {d: v for d, v in dirs.items() if d != dir_name}
    _repoint(strategy_dir, strategy, LATEST, remaining)
    _repoint(
        strategy_dir, strategy, latest_pointer(timeframe), {d: v for d, v in remaining.items() if v[0] == timeframe}
    )
    _fsync_dir(strategy_dir)
    shutil.rmtree(hidden)
    return BundleRef(
        strategy,
        timeframe,
        version,
        path,
        created_at,
        is_latest=was_latest,
        is_latest_of_timeframe=was_latest_of_timeframe,
    )


def _repoint(strategy_dir: Path, strategy: str, pointer: str, candidates: dict[str, tuple[str, int]]) -> None:
    """Keep ``pointer`` on a bundle that exists: the newest of ``candidates``, or no pointer when there is none."""
    pointed = _read_latest(strategy_dir, pointer)
    if pointed is not None and pointed in candidates:
        return
    if candidates:
        newest = max(candidates, key=lambda d: (candidates[d][1], d))
        _point_latest(strategy_dir, newest, pointer)
        logger.info("%s of %s now names %s", pointer, strategy, newest)
    else:
        (strategy_dir / pointer).unlink(missing_ok=True)
