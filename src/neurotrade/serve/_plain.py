"""Values made plain for JSON: finite floats only (NaN and infinities become null), numpy and pandas scalars as
Python ones, paths and times as strings. Starlette refuses NaN (``allow_nan=False``), and a client should never
have to parse a non-standard ``NaN`` token."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import PurePath
from typing import Any


def plain(value: Any) -> Any:
    """``value`` with every leaf JSON-safe.

    Examples
    --------
    >>> import numpy as np
    >>> plain({"a": np.float64("nan"), "b": [np.int64(2), 1.5, float("inf")], "c": (1,)})
    {'a': None, 'b': [2, 1.5, None], 'c': [1]}
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    item = getattr(value, "item", None)  # numpy and torch scalars
    if callable(item) and getattr(value, "ndim", 0) == 0:
        return plain(item())
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        return plain(tolist())
    isoformat = getattr(value, "isoformat", None)  # pandas Timestamp
    if callable(isoformat):
        return isoformat()
    return str(value)
