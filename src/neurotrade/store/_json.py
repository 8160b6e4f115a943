"""Bundle documents as strict JSON: every value checked, NaN and infinity refused with their key path."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from neurotrade.errors import StoreError


def encode_document(name: str, obj: Any) -> bytes:
    """Serialise one document the way every bundle stores it: keys in their given order, indent 2, UTF-8.

    Key order is kept, not sorted: in a strategy spec the order of indicators and fuzzy sets decides the order of
    the features, so a spec read back from a bundle must list them as they were declared.

    NumPy scalars and arrays become plain numbers and lists; tuples become lists. Anything JSON cannot
    hold exactly (NaN, infinity, non-string keys, other objects) raises StoreError naming the key path.
    """
    plain = _plain(obj, name, name)
    return (json.dumps(plain, indent=2, allow_nan=False, ensure_ascii=False) + "\n").encode()


def decode_document(data: bytes, where: str) -> Any:
    """Parse a stored document; the bytes were verified against the manifest before this is called."""
    try:
        return json.loads(data.decode(), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # nested past the parser's depth: not ours
        raise StoreError(
            f"{where} is not valid JSON ({e}); the bundle was not written by save_bundle. "
            "Retrain or restore it from a backup."
        ) from e


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not allowed in a bundle document")


def _plain(value: Any, doc: str, path: str) -> Any:
    # bool before int: bool is an int subclass and must stay a JSON true/false.
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StoreError(
                f"document {doc!r} holds {value} at {path}; JSON cannot store NaN or infinity. "
                "Store a finite number or None (null) there before saving."
            )
        return float(value)
    if isinstance(value, np.generic):
        return _plain(value.item(), doc, path)
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), doc, path)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise StoreError(
                    f"document {doc!r} has the key {key!r} ({type(key).__name__}) at {path}; JSON keys "
                    "must be strings. Convert the key with str() before saving."
                )
            out[key] = _plain(item, doc, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, doc, f"{path}[{i}]") for i, item in enumerate(value)]
    raise StoreError(
        f"document {doc!r} holds a {type(value).__name__} at {path}, which is not JSON; use dicts, "
        "lists, strings, numbers, booleans and None (convert tensors with .tolist())."
    )
