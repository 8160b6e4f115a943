"""The manifest: what a bundle holds, and the check that it still holds exactly that."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from neurotrade.errors import StoreError
from neurotrade.store._names import MANIFEST_FILE

FORMAT_VERSION = 1
_FILE_NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
_HEX_RE = re.compile(r"[0-9a-f]{64}")
_RESTORE = "Retrain or restore it from a backup."
_NO_LINKS = "A bundle holds plain files only: replace each link with a copy of the saved file, or retrain."
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows, where the is_symlink check stands alone


class _LinkError(OSError):
    """The path became a symbolic link after it was checked."""


def display_name(path: Path) -> str:
    """``models/trend/1d_v2``: short enough for a message, long enough to find the directory."""
    return "/".join(path.parts[-3:])


def file_entry(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def read_manifest(path: Path) -> dict[str, Any]:
    """Load and shape-check ``manifest.json`` of the bundle directory ``path``."""
    where = display_name(path)
    if not path.is_dir():
        raise StoreError(f"no model bundle at {path}: the directory does not exist.")
    manifest_path = path / MANIFEST_FILE
    if manifest_path.is_symlink():
        raise StoreError(f"bundle {where} failed verification: {_symlink_problem(manifest_path)}. {_NO_LINKS}")
    if not manifest_path.is_file():
        raise StoreError(
            f"bundle {where} failed verification: {MANIFEST_FILE} is missing, so nothing in it can be "
            f"trusted. {_RESTORE}"
        )
    try:
        manifest = json.loads(_read_plain_file(manifest_path).decode("utf-8"))
    except _LinkError as e:
        raise StoreError(f"bundle {where} failed verification: {_symlink_problem(manifest_path)}. {_NO_LINKS}") from e
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise StoreError(
            f"bundle {where} failed verification: {MANIFEST_FILE} is not valid JSON ({e}). {_RESTORE}"
        ) from e
    problem = _shape_problem(manifest)
    if problem:
        raise StoreError(f"bundle {where} failed verification: {MANIFEST_FILE} {problem}. {_RESTORE}")
    if manifest["format_version"] > FORMAT_VERSION:
        raise StoreError(
            f"bundle {where} has format_version {manifest['format_version']}, newer than the "
            f"{FORMAT_VERSION} this neurotrade reads; upgrade neurotrade to load it."
        )
    return manifest


def _shape_problem(manifest: Any) -> str | None:
    if not isinstance(manifest, dict):
        return "is not a JSON object"
    for key, kind in (("format_version", int), ("strategy", str), ("timeframe", str), ("version", int)):
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            return f"has no valid {key!r}"
    if not isinstance(manifest.get("created_at"), str):
        return "has no valid 'created_at'"
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        return "lists no files"
    for name, entry in files.items():
        # A tampered manifest must not point the check at files outside the bundle.
        if not _FILE_NAME_RE.fullmatch(name) or name == MANIFEST_FILE:
            return f"lists the file name {name!r}, which a bundle cannot hold"
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or not _HEX_RE.fullmatch(entry["sha256"])
            or not isinstance(entry.get("size"), int)
            or isinstance(entry.get("size"), bool)
        ):
            return f"has no valid sha256 and size for {name!r}"
    return None


def verify_files(
    path: Path, manifest: dict[str, Any], only: str | None = None, *, check_extra: bool = True
) -> dict[str, bytes]:
    """Check the files of the bundle against the manifest and return the verified contents.

    ``only`` limits the check to one listed file (reading a single document cheaply); ``check_extra``
    also fails on files the manifest does not list.

    Returning the bytes that were hashed means a caller parses exactly what was verified, with no window
    for the file to change between the check and the load.
    """
    files: dict[str, dict[str, Any]] = manifest["files"]
    problems: list[str] = []
    contents: dict[str, bytes] = {}
    links = 0
    for name in sorted(files) if only is None else [only]:
        expected = files[name]
        file_path = path / name
        if file_path.is_symlink():
            # A link's target can change after the check, or lie outside the bundle: even a matching one is refused.
            problems.append(_symlink_problem(file_path))
            links += 1
            continue
        if not file_path.is_file():
            problems.append(f"{name} is missing; it was deleted or moved after saving")
            continue
        try:
            data = _read_plain_file(file_path)
        except _LinkError:  # swapped for a link between the check above and the read
            problems.append(_symlink_problem(file_path))
            links += 1
            continue
        if len(data) != expected["size"]:
            problems.append(
                f"{name} size mismatch (expected {expected['size']} bytes, got {len(data)}); "
                "the file was changed after saving"
            )
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected["sha256"]:
            problems.append(
                f"{name} sha256 mismatch (expected {expected['sha256'][:12]}..., got {digest[:12]}...); "
                "the file was changed after saving"
            )
            continue
        contents[name] = data
    extra: list[str] = []
    if check_extra:
        extra = sorted(p.name for p in path.iterdir() if p.name != MANIFEST_FILE and p.name not in files)
        problems.extend(f"{name} is not in the manifest; it was added after saving" for name in extra)
    if problems:
        where = display_name(path)
        # Extra files alone leave the saved ones intact, so removing them is enough.
        if len(extra) == len(problems):
            hint = "Remove the files that were added, or restore the bundle from a backup."
        elif links == len(problems):
            hint = _NO_LINKS
        else:
            hint = _RESTORE
        if len(problems) == 1:
            raise StoreError(f"bundle {where} failed verification: {problems[0]}. {hint}")
        listed = "\n".join(f"  - {p}" for p in problems)
        raise StoreError(f"bundle {where} failed verification:\n{listed}\n{hint}")
    return contents


def _symlink_problem(file_path: Path) -> str:
    try:
        target = str(file_path.readlink())
    except OSError:
        target = "?"
    return f"{file_path.name} is a symbolic link (to {target}), not a file the bundle holds"


def _read_plain_file(file_path: Path) -> bytes:
    """The bytes of a regular file, refusing to follow a symbolic link even if one appears after the check."""
    try:
        fd = os.open(file_path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_BINARY", 0))
    except OSError as e:
        if file_path.is_symlink():
            raise _LinkError(str(e)) from e
        raise
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise _LinkError(f"{file_path} is not a regular file")
        return f.read()
