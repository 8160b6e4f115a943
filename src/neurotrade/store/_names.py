"""Which names the store accepts, and the "did you mean" hint for the ones it does not know."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from neurotrade.errors import StoreError

# Strategy names and timeframes become directory names, so they are kept to characters that are
# safe on every filesystem and cannot climb out of the models directory.
NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
DOCUMENT_RE = re.compile(r"[a-z0-9_]+")
# `tf` is greedy so a timeframe that itself holds "_v" still parses from the last "_v{N}".
BUNDLE_DIR_RE = re.compile(r"(?P<timeframe>[A-Za-z0-9_-]+)_v(?P<version>[1-9][0-9]*)")

WEIGHTS_FILE = "weights.safetensors"
MANIFEST_FILE = "manifest.json"
LATEST = "latest"


def latest_pointer(timeframe: str) -> str:
    """The name of the pointer to a strategy's newest bundle of ``timeframe``.

    Examples
    --------
    >>> latest_pointer("1d")
    'latest-1d'
    """
    return f"{LATEST}-{timeframe}"


def check_name(value: object, what: str) -> str:
    """Return ``value`` if it is a usable strategy name or timeframe, else raise StoreError."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise StoreError(
            f"{what} {value!r} cannot name a model bundle: use only letters, digits, '_' and '-' "
            "(for example 'trend_follow' or '1d')."
        )
    return value


def check_document_name(value: object) -> str:
    """Return ``value`` if it can name a bundle document (``{name}.json``), else raise StoreError."""
    if not isinstance(value, str) or not DOCUMENT_RE.fullmatch(value):
        raise StoreError(
            f"document name {value!r} is not allowed: use lower-case letters, digits and '_' "
            "(for example 'resolved_features'); it becomes the file name '{name}.json'."
        )
    if value == "manifest":
        raise StoreError("document name 'manifest' is reserved for the bundle's manifest.json; choose another name.")
    return value


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``" Did you mean 'x'?"`` for the closest choice, or an empty string when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
