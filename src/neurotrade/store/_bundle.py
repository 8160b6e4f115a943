"""Save, find, verify and load versioned model bundles under ``{models_dir}/{strategy}/{timeframe}_v{N}/``."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch
from filelock import FileLock, Timeout

from neurotrade.errors import StoreError
from neurotrade.store._json import decode_document, encode_document
from neurotrade.store._manifest import (
    FORMAT_VERSION,
    display_name,
    file_entry,
    read_manifest,
    verify_files,
)
from neurotrade.store._names import (
    BUNDLE_DIR_RE,
    LATEST,
    MANIFEST_FILE,
    NAME_RE,
    WEIGHTS_FILE,
    check_document_name,
    check_name,
    did_you_mean,
    latest_pointer,
)

try:
    import fcntl
except ImportError:  # Windows: temporary folders are then never judged stale, only left in place
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

_LOCK_FILE = ".lock"
_LOCK_TIMEOUT_S = 120.0
# The highest version ever taken for the strategy: numbers are never reused, even after a delete, so a bundle name
# (and the run folder named after it) always means one training run.
_HIGH_WATER_FILE = ".last_version"
_TMP_PREFIX = ".tmp-"
# Made and removed only while the strategy's lock is held, so any found by a holder of the lock is left over from a
# process that died (kill -9, power cut) in the middle of a save or delete.
_LOCKED_LEFTOVERS = (".latest-", ".deleting-", f"{_HIGH_WATER_FILE}-")
_STORE_NAME_RE = re.compile(r"(?P<strategy>[A-Za-z0-9_-]+)(?:/(?P<which>[A-Za-z0-9_-]+))?/?")
_SHORT_VERSION_RE = re.compile(r"v(?P<version>[1-9][0-9]*)")


@dataclass(frozen=True)
class BundleRef:
    """Where one saved bundle lives and what it is.

    Attributes
    ----------
    strategy, timeframe, version
        The bundle is ``{strategy}/{timeframe}_v{version}``; versions count up per strategy.
    path
        The bundle directory.
    created_at
        When it was saved, UTC ISO 8601 (``2024-05-01T12:00:00Z``).
    is_latest
        Whether the strategy's ``latest`` pointer names this bundle (its newest, whatever the timeframe).
    is_latest_of_timeframe
        Whether the strategy's ``latest-{timeframe}`` pointer names it: the newest bundle of its timeframe, the one
        ``'{strategy}/latest-{timeframe}'`` loads.
    """

    strategy: str
    timeframe: str
    version: int
    path: Path
    created_at: str
    is_latest: bool
    is_latest_of_timeframe: bool = False

    @property
    def name(self) -> str:
        """The name :func:`load_bundle` accepts, e.g. ``'trend/1d_v2'``."""
        return f"{self.strategy}/{self.timeframe}_v{self.version}"


@dataclass(frozen=True, eq=False)
class Bundle:
    """A verified bundle in memory.

    Attributes
    ----------
    ref
        Where it came from.
    weights
        Tensor name -> tensor, as saved (on CPU).
    documents
        Document name -> the parsed JSON value (``spec``, ``resolved_features``, ``metrics`` ...).
    manifest
        The parsed ``manifest.json``: format_version, created_at, and sha256 and size per file.
    """

    ref: BundleRef
    weights: dict[str, torch.Tensor]
    documents: dict[str, Any]
    manifest: dict[str, Any] = field(default_factory=dict)


def save_bundle(
    models_dir: Path,
    strategy: str,
    timeframe: str,
    *,
    weights: Mapping[str, torch.Tensor],
    documents: Mapping[str, Any],
) -> BundleRef:
    """Write a new bundle version for ``strategy`` and make it the ``latest`` (and ``latest-{timeframe}``).

    Everything is serialised and checked before the disk is touched; the files are written to a
    temporary directory next to the versions and renamed into place, the version number is taken under
    a file lock (two concurrent saves get v1 and v2), and ``latest`` and ``latest-{timeframe}`` are swapped
    atomically. A save that fails leaves no directory behind and the pointers where they were.

    Version numbers count up per strategy across timeframes and are never reused: the highest one taken is
    kept in ``.last_version`` beside the bundles, so after deleting ``v3`` the next save is ``v4``. Temporary
    directories left by a save that was killed are removed by the next save; one that a live save is still
    writing is locked by it (``flock``) and left alone.

    Parameters
    ----------
    models_dir
        The models directory of the workspace, usually ``{home}/models``.
    strategy, timeframe
        Name the bundle ``{strategy}/{timeframe}_v{N}``; letters, digits, ``_`` and ``-`` only.
    weights
        Tensor name -> tensor, typically ``model.state_dict()``; stored as ``weights.safetensors``.
    documents
        Document name (``[a-z0-9_]+``, not ``manifest``) -> JSON-serialisable value, stored as
        ``{name}.json`` with keys in their given order. NumPy scalars and arrays are stored as numbers and lists,
        tuples as lists. NaN and infinity are refused, naming the document and key path.

    Returns
    -------
    BundleRef
        The new bundle, with ``is_latest=True``.

    Raises
    ------
    StoreError
        A bad name, a value JSON cannot hold, tensors safetensors cannot store, or a failed write.

    Examples
    --------
    >>> import tempfile, torch
    >>> models = Path(tempfile.mkdtemp()) / "models"
    >>> ref = save_bundle(models, "trend", "1d", weights={"w": torch.zeros(2)},
    ...                   documents={"metrics": {"test": {"accuracy": 0.61}}})
    >>> ref.name, ref.is_latest, ref.is_latest_of_timeframe
    ('trend/1d_v1', True, True)
    """
    check_name(strategy, "strategy")
    check_name(timeframe, "timeframe")
    if not isinstance(documents, Mapping):
        raise StoreError(f"documents must be a mapping of name -> JSON value, got {type(documents).__name__}.")
    payload: dict[str, bytes] = {WEIGHTS_FILE: _encode_weights(weights)}
    for name, value in documents.items():
        payload[f"{check_document_name(name)}.json"] = encode_document(name, value)

    strategy_dir = Path(models_dir) / strategy
    try:
        strategy_dir.mkdir(parents=True, exist_ok=True)
        # The temporary directory is made and locked under the strategy's lock, so the clean-up of stale ones
        # (also under it) sees every live one already locked by its owner.
        with FileLock(strategy_dir / _LOCK_FILE, timeout=_LOCK_TIMEOUT_S):
            _remove_leftovers(strategy_dir)
            tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{timeframe}-", dir=strategy_dir))
            held = _hold(tmp)
        try:
            files = {}
            for file_name, data in payload.items():
                _write_durable(tmp / file_name, data)
                files[file_name] = file_entry(data)
            with FileLock(strategy_dir / _LOCK_FILE, timeout=_LOCK_TIMEOUT_S):
                ref = _publish(strategy_dir, tmp, strategy, timeframe, files)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
            if held is not None:
                os.close(held)  # after the removal: until then the directory is visibly ours
    except Timeout as e:
        raise StoreError(
            f"cannot save a bundle for {strategy!r}: another save held {strategy_dir / _LOCK_FILE} for "
            f"more than {_LOCK_TIMEOUT_S:.0f}s. Wait for it to finish and save again."
        ) from e
    except OSError as e:
        raise StoreError(
            f"cannot save a bundle for {strategy!r} in {strategy_dir}: {e}. Check that the directory "
            "is writable and that the disk has space."
        ) from e
    logger.info("saved model bundle %s at %s", ref.name, ref.path)
    return ref


def _publish(
    strategy_dir: Path, tmp: Path, strategy: str, timeframe: str, files: dict[str, dict[str, Any]]
) -> BundleRef:
    """Number, rename into place and point the ``latest`` pointers at the bundle in ``tmp``; call under the lock."""
    version = _high_water(strategy_dir) + 1
    # Taken before the bundle appears: a save that dies after this skips a number rather than reusing one.
    _write_high_water(strategy_dir, version)
    dir_name = f"{timeframe}_v{version}"
    created_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = {
        "format_version": FORMAT_VERSION,
        "strategy": strategy,
        "timeframe": timeframe,
        "version": version,
        "created_at": created_at,
        "files": files,
    }
    _write_durable(tmp / MANIFEST_FILE, (json.dumps(manifest, sort_keys=True, indent=2) + "\n").encode())
    final = strategy_dir / dir_name
    tmp.rename(final)
    per_timeframe = latest_pointer(timeframe)
    before = _read_latest(strategy_dir, per_timeframe)
    try:
        _point_latest(strategy_dir, dir_name, per_timeframe)
        _point_latest(strategy_dir, dir_name)
    except OSError:
        # The bundle must not outlive a failed save: nothing would point at it. Its number stays taken.
        shutil.rmtree(final, ignore_errors=True)
        _restore_pointer(strategy_dir, per_timeframe, before)
        raise
    _fsync_dir(strategy_dir)
    return BundleRef(strategy, timeframe, version, final, created_at, is_latest=True, is_latest_of_timeframe=True)


def load_bundle(models_dir: Path, name: str | os.PathLike[str]) -> Bundle:
    """Find a bundle, verify every file against its manifest, and load it.

    Parameters
    ----------
    models_dir
        The models directory of the workspace, usually ``{home}/models``.
    name
        ``'trend'`` or ``'trend/latest'`` (the newest, whatever its timeframe), ``'trend/latest-1d'`` (the
        newest of one timeframe), ``'trend/1d_v2'`` or ``'trend/v2'`` (one version), or a path to a bundle
        directory (a :class:`~pathlib.Path`, or a string that is not a store name).

    Returns
    -------
    Bundle
        Weights as CPU tensors (read with safetensors, never pickle) and the parsed documents.

    Raises
    ------
    StoreError
        Unknown strategy, version or timeframe (with the names that exist), or a bundle that fails
        verification: a missing, added, resized or changed file, or a symbolic link in place of a file.

    Examples
    --------
    >>> import tempfile, torch
    >>> models = Path(tempfile.mkdtemp()) / "models"
    >>> _ = save_bundle(models, "trend", "1d", weights={"w": torch.ones(2)}, documents={"seed": 7})
    >>> bundle = load_bundle(models, "trend")
    >>> bundle.ref.name, bundle.documents["seed"], bundle.weights["w"].tolist()
    ('trend/1d_v1', 7, [1.0, 1.0])
    """
    path, from_store = _resolve(Path(models_dir), name)
    manifest = read_manifest(path)
    contents = verify_files(path, manifest)
    where = display_name(path)
    if from_store:
        _check_placement(path, manifest)
    if WEIGHTS_FILE not in contents:
        raise StoreError(f"bundle {where} holds no {WEIGHTS_FILE}; it was not written by save_bundle.")
    try:
        # The bytes just hashed are the bytes parsed, so nothing can change in between.
        weights = safetensors.torch.load(contents[WEIGHTS_FILE])
    except safetensors.SafetensorError as e:
        raise StoreError(
            f"bundle {where}: {WEIGHTS_FILE} is not a valid safetensors file ({e}). "
            "Retrain or restore it from a backup."
        ) from e
    documents = {
        file_name.removesuffix(".json"): decode_document(data, f"{where}/{file_name}")
        for file_name, data in sorted(contents.items())
        if file_name.endswith(".json")
    }
    return Bundle(ref=_ref_from_manifest(path, manifest), weights=weights, documents=documents, manifest=manifest)


def verify_bundle(path: Path) -> None:
    """Check every file of the bundle directory ``path`` against its manifest.

    Raises
    ------
    StoreError
        A missing manifest, or a file that is missing, not in the manifest, a symbolic link (refused even
        when its target matches: it can change after the check), or whose size or sha256 differs from the
        one recorded at save time. The message names each file.

    Examples
    --------
    >>> import tempfile, torch
    >>> models = Path(tempfile.mkdtemp()) / "models"
    >>> ref = save_bundle(models, "trend", "1d", weights={"w": torch.ones(2)}, documents={})
    >>> verify_bundle(ref.path)
    """
    path = Path(path)
    verify_files(path, read_manifest(path))


def list_bundles(models_dir: Path, strategy: str | None = None) -> list[BundleRef]:
    """The saved bundles, sorted by strategy and version; files are not hashed (see :func:`verify_bundle`).

    A directory whose manifest cannot be read is skipped with a warning in the log.

    Parameters
    ----------
    models_dir
        The models directory of the workspace, usually ``{home}/models``.
    strategy
        Only this strategy's bundles; an unknown strategy raises StoreError with the ones that exist.

    Examples
    --------
    >>> import tempfile, torch
    >>> models = Path(tempfile.mkdtemp()) / "models"
    >>> for _ in range(2):
    ...     _ = save_bundle(models, "trend", "1d", weights={"w": torch.ones(1)}, documents={})
    >>> [(ref.name, ref.is_latest) for ref in list_bundles(models)]
    [('trend/1d_v1', False), ('trend/1d_v2', True)]
    """
    models_dir = Path(models_dir)
    if strategy is None:
        strategies = _strategy_names(models_dir)
    else:
        check_name(strategy, "strategy")
        if not (models_dir / strategy).is_dir():
            raise _unknown_strategy(models_dir, strategy)
        strategies = [strategy]
    refs: list[BundleRef] = []
    for name in strategies:
        strategy_dir = models_dir / name
        dirs = _bundle_dirs(strategy_dir)
        latest = _latest_dir_name(strategy_dir, dirs)
        per_timeframe = {tf: _latest_dir_name(strategy_dir, dirs, tf) for tf, _ in dirs.values()}
        for dir_name, (timeframe, version) in dirs.items():
            try:
                manifest = read_manifest(strategy_dir / dir_name)
            except StoreError as e:
                logger.warning("skipping %s/%s: %s", name, dir_name, e)
                continue
            refs.append(
                BundleRef(
                    name,
                    timeframe,
                    version,
                    strategy_dir / dir_name,
                    manifest["created_at"],
                    dir_name == latest,
                    dir_name == per_timeframe[timeframe],
                )
            )
    return sorted(refs, key=lambda r: (r.strategy, r.version, r.timeframe))


def read_document(bundle: BundleRef | Path, name: str, *, missing_ok: bool = False) -> Any:
    """Read one verified document of a bundle without loading its weights.

    Only that document is hashed against the manifest, which keeps listing many bundles cheap; use
    :func:`load_bundle` or :func:`verify_bundle` to check the whole bundle.

    Parameters
    ----------
    bundle
        A :class:`BundleRef` or the path of a bundle directory.
    name
        The document name, e.g. ``'metrics'``.
    missing_ok
        Return None instead of raising when the bundle has no such document.

    Examples
    --------
    >>> import tempfile, torch
    >>> models = Path(tempfile.mkdtemp()) / "models"
    >>> ref = save_bundle(models, "trend", "1d", weights={"w": torch.ones(1)},
    ...                   documents={"metrics": {"test": {"accuracy": 0.6}}})
    >>> read_document(ref, "metrics")
    {'test': {'accuracy': 0.6}}
    """
    path = bundle.path if isinstance(bundle, BundleRef) else Path(bundle)
    manifest = read_manifest(path)
    file_name = f"{check_document_name(name)}.json"
    if file_name not in manifest["files"]:
        if missing_ok:
            return None
        available = sorted(f.removesuffix(".json") for f in manifest["files"] if f.endswith(".json"))
        raise StoreError(
            f"bundle {display_name(path)} has no document {name!r}.{did_you_mean(name, available)} "
            f"Documents: {', '.join(available) or 'none'}."
        )
    data = verify_files(path, manifest, only=file_name, check_extra=False)[file_name]
    return decode_document(data, f"{display_name(path)}/{file_name}")


def _encode_weights(weights: Mapping[str, torch.Tensor]) -> bytes:
    if not isinstance(weights, Mapping) or not weights:
        raise StoreError("weights must be a non-empty mapping of name -> torch.Tensor, such as model.state_dict().")
    tensors: dict[str, torch.Tensor] = {}
    seen_storage: set[int] = set()
    for key, tensor in weights.items():
        if not isinstance(key, str):
            raise StoreError(f"weights key {key!r} is a {type(key).__name__}; tensor names must be strings.")
        if not isinstance(tensor, torch.Tensor):
            raise StoreError(
                f"weights[{key!r}] is a {type(tensor).__name__}, not a torch.Tensor; pass "
                "model.state_dict() or a dict of tensors."
            )
        tensor = tensor.detach().cpu().contiguous()
        storage = tensor.untyped_storage().data_ptr()
        # safetensors refuses tensors that share memory (tied weights); a copy stores each one whole.
        if storage in seen_storage and tensor.numel():
            tensor = tensor.clone()
        seen_storage.add(tensor.untyped_storage().data_ptr())
        tensors[key] = tensor
    try:
        return safetensors.torch.save(tensors, metadata={"format": "pt"})
    except (RuntimeError, ValueError) as e:
        raise StoreError(f"weights cannot be stored as safetensors: {e}") from e


def _write_durable(path: Path, data: bytes) -> None:
    with path.open("xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    # Makes renames inside ``path`` survive a power cut; directories cannot be opened on Windows.
    # Best effort: the bundle is already in place, and some filesystems refuse to sync a directory.
    if os.name != "posix":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        logger.debug("could not fsync %s: %s", path, e)


def _point_latest(strategy_dir: Path, dir_name: str, pointer: str = LATEST) -> None:
    """Swap ``pointer`` to ``dir_name`` in one rename: readers see the old or the new, never neither."""
    tmp = strategy_dir / f".latest-{uuid.uuid4().hex}"
    try:
        tmp.symlink_to(dir_name, target_is_directory=True)
    except (OSError, NotImplementedError):
        # Windows without the symlink privilege: a one-line text file names the bundle instead.
        _write_durable(tmp, f"{dir_name}\n".encode())
    _rename_into_place(tmp, strategy_dir / pointer)


def _restore_pointer(strategy_dir: Path, pointer: str, dir_name: str | None) -> None:
    """Best effort after a failed save: put ``pointer`` back on ``dir_name`` (or remove it if it named nothing)."""
    try:
        if dir_name is None:
            (strategy_dir / pointer).unlink(missing_ok=True)
        else:
            _point_latest(strategy_dir, dir_name, pointer)
    except OSError as e:
        logger.warning("could not restore %s after a failed save: %s", strategy_dir / pointer, e)


def _read_latest(strategy_dir: Path, pointer: str = LATEST) -> str | None:
    path = strategy_dir / pointer
    if path.is_symlink():
        return path.readlink().name
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    return None


def _latest_dir_name(strategy_dir: Path, dirs: dict[str, tuple[str, int]], timeframe: str | None = None) -> str | None:
    """What ``latest`` (or ``latest-{timeframe}``) names; without a pointer (bundles saved before per-timeframe
    pointers, or copied in by hand) the highest version (of that timeframe)."""
    pointed = _read_latest(strategy_dir, LATEST if timeframe is None else latest_pointer(timeframe))
    if pointed is not None:
        return pointed
    candidates = [d for d in dirs if timeframe is None or dirs[d][0] == timeframe]
    if not candidates:
        return None
    return max(candidates, key=lambda d: (dirs[d][1], d))


def _high_water(strategy_dir: Path) -> int:
    """The highest version ever taken for the strategy: its ``.last_version``, or a bundle found above it."""
    path = strategy_dir / _HIGH_WATER_FILE
    recorded = 0
    if path.exists():
        text = path.read_text(encoding="utf-8").strip()
        if not text.isdigit():
            raise StoreError(
                f"{display_name(path)} should hold the highest version number ever saved for "
                f"{strategy_dir.name!r}, but holds {text[:40]!r}. Write that number into it (at least the highest "
                "version left, as in `neurotrade models list`), so no deleted version's number is used again."
            )
        recorded = int(text)
    # Bundles saved before the file existed, or copied in by hand, count too.
    found = [version for _, version in _bundle_dirs(strategy_dir).values()]
    return max([recorded, *found])


def _write_high_water(strategy_dir: Path, version: int) -> None:
    tmp = strategy_dir / f"{_HIGH_WATER_FILE}-{uuid.uuid4().hex}"
    _write_durable(tmp, f"{version}\n".encode())
    _rename_into_place(tmp, strategy_dir / _HIGH_WATER_FILE)


def _rename_into_place(tmp: Path, target: Path) -> None:
    """Replace ``target`` with ``tmp`` in one rename; on failure leave no temporary name behind."""
    try:
        tmp.replace(target)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def _hold(tmp: Path) -> int | None:
    """Lock the temporary directory ``tmp`` for as long as the returned descriptor is open (None without flock).

    The kernel drops the lock when its process dies, however it dies: a directory nobody holds is left over.
    """
    if fcntl is None:
        return None
    fd = os.open(tmp, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        # A filesystem without flock (some network mounts): nobody can lock there, so _is_held says "held" and
        # no save removes another's directory; an orphan then stays until removed by hand.
        os.close(fd)
        logger.debug("cannot lock %s (%s); it will not be cleaned up if this save is killed", tmp, e)
        return None
    return fd


def _is_held(path: Path) -> bool:
    """Whether a live save holds the temporary directory ``path`` (see :func:`_hold`)."""
    if fcntl is None:
        return True  # cannot tell: leave it
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True  # gone already, or not ours to open
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held by a live save, or a filesystem where nobody can tell
        return True
    finally:
        os.close(fd)
    return False


def _remove_leftovers(strategy_dir: Path) -> None:
    """Remove what saves and deletes killed mid-way left behind; call under the strategy's lock.

    A temporary bundle directory is stale when no live save holds its lock. Every other temporary name is made
    and removed under the strategy's lock, so one seen by the lock's holder is stale.
    """
    removed = []
    for entry in strategy_dir.iterdir():
        name = entry.name
        if name.startswith(_TMP_PREFIX) and entry.is_dir() and not entry.is_symlink():
            if _is_held(entry):
                continue
        elif not name.startswith(_LOCKED_LEFTOVERS):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(name)
    if removed:
        logger.info(
            "removed %d folder(s) and file(s) left in %s by an interrupted save or delete: %s",
            len(removed),
            strategy_dir,
            ", ".join(sorted(removed)),
        )


def _bundle_dirs(strategy_dir: Path) -> dict[str, tuple[str, int]]:
    """Directory name -> (timeframe, version) for every bundle directory of a strategy."""
    if not strategy_dir.is_dir():
        return {}
    found: dict[str, tuple[str, int]] = {}
    for entry in strategy_dir.iterdir():
        match = BUNDLE_DIR_RE.fullmatch(entry.name)
        if match and entry.is_dir() and not entry.is_symlink():
            found[entry.name] = (match["timeframe"], int(match["version"]))
    return found


def _strategy_names(models_dir: Path) -> list[str]:
    if not models_dir.is_dir():
        return []
    return sorted(p.name for p in models_dir.iterdir() if p.is_dir() and NAME_RE.fullmatch(p.name))


def _bundle_list(dirs: dict[str, tuple[str, int]], latest: str | None) -> str:
    names = sorted(dirs, key=lambda d: (dirs[d][1], d))
    return ", ".join(f"{d} (latest)" if d == latest else d for d in names)


def _unknown_strategy(models_dir: Path, strategy: str) -> StoreError:
    known = [s for s in _strategy_names(models_dir) if _bundle_dirs(models_dir / s)]
    if not known:
        return StoreError(
            f"no model bundles for strategy {strategy!r}: {models_dir} holds none yet. "
            "Train the strategy first to save one."
        )
    return StoreError(
        f"no model bundles for strategy {strategy!r} in {models_dir}.{did_you_mean(strategy, known)} "
        f"Strategies with bundles: {', '.join(known)}."
    )


def _resolve(models_dir: Path, name: str | os.PathLike[str]) -> tuple[Path, bool]:
    """The bundle directory ``name`` refers to, and whether it was found by store name."""
    if isinstance(name, os.PathLike):
        return Path(name), False
    if not isinstance(name, str):
        raise StoreError(f"bundle name must be a string or a path, got {type(name).__name__}.")
    match = _STORE_NAME_RE.fullmatch(name)
    if match is None:
        return Path(name), False
    strategy, which = match["strategy"], match["which"]
    strategy_dir = models_dir / strategy
    dirs = _bundle_dirs(strategy_dir)
    if not dirs:
        if Path(name).is_dir() and (Path(name) / MANIFEST_FILE).is_file():
            return Path(name), False
        raise _unknown_strategy(models_dir, strategy)
    latest = _latest_dir_name(strategy_dir, dirs)
    if which is None or which == LATEST:
        if latest not in dirs:
            raise StoreError(
                f"{display_name(strategy_dir / LATEST)} points at {latest!r}, which does not exist "
                f"(was it deleted?). Load a version by name instead: {_bundle_list(dirs, None)}; "
                "the next save moves latest again."
            )
        return strategy_dir / latest, True
    if which.startswith(f"{LATEST}-") and which not in dirs:
        return strategy_dir / _latest_of_timeframe(strategy_dir, strategy, dirs, which.removeprefix(f"{LATEST}-")), True
    if which in dirs:
        return strategy_dir / which, True
    short = _SHORT_VERSION_RE.fullmatch(which)
    if short:
        matching = sorted(d for d, (_, v) in dirs.items() if v == int(short["version"]))
        if len(matching) == 1:
            return strategy_dir / matching[0], True
    raise StoreError(
        f"strategy {strategy!r} has no bundle {which!r}.{did_you_mean(which, dirs)} "
        f"Bundles: {_bundle_list(dirs, latest)}. Use {strategy!r} alone for the latest."
    )


def _latest_of_timeframe(strategy_dir: Path, strategy: str, dirs: dict[str, tuple[str, int]], timeframe: str) -> str:
    """The directory name ``latest-{timeframe}`` resolves to, or StoreError saying which timeframes exist."""
    pointed = _latest_dir_name(strategy_dir, dirs, timeframe)
    if pointed is None:
        timeframes = sorted({tf for tf, _ in dirs.values()})
        raise StoreError(
            f"strategy {strategy!r} has no {timeframe} bundle: its bundles are {_bundle_list(dirs, None)} "
            f"(timeframes {', '.join(timeframes)}). Train it on {timeframe} bars (data.timeframe: {timeframe}) to "
            f"save one, or use a strategy whose data.timeframe matches a saved bundle."
        )
    if pointed not in dirs:
        pointer = latest_pointer(timeframe)
        raise StoreError(
            f"{display_name(strategy_dir / pointer)} points at {pointed!r}, which does not exist (was it deleted?). "
            f"Load a version by name instead: {_bundle_list(dirs, None)}; the next {timeframe} save moves "
            f"{pointer} again."
        )
    return pointed


def _check_placement(path: Path, manifest: dict[str, Any]) -> None:
    expected = f"{manifest['strategy']}/{manifest['timeframe']}_v{manifest['version']}"
    actual = f"{path.parent.name}/{path.name}"
    if expected != actual:
        raise StoreError(
            f"bundle {display_name(path)} was saved as {expected!r} but sits at {actual!r}; it was "
            f"renamed or copied by hand. Move it back to {expected!r}, or load it by its path."
        )


def _ref_from_manifest(path: Path, manifest: dict[str, Any]) -> BundleRef:
    strategy_dir = path.parent
    dirs = _bundle_dirs(strategy_dir)
    is_latest = _latest_dir_name(strategy_dir, dirs) == path.name
    of_timeframe = _latest_dir_name(strategy_dir, dirs, manifest["timeframe"]) == path.name
    return BundleRef(
        strategy=manifest["strategy"],
        timeframe=manifest["timeframe"],
        version=manifest["version"],
        path=path,
        created_at=manifest["created_at"],
        is_latest=is_latest,
        is_latest_of_timeframe=of_timeframe,
    )
