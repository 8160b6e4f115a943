"""A fingerprint of bars: the same times and values always give the same sha256."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def fingerprint(bars: pd.DataFrame) -> str:
    """sha256 of the bars' times (as nanoseconds) and values: two runs on the same data share it.

    Examples
    --------
    >>> from neurotrade.data import synthetic_ohlcv
    >>> bars = synthetic_ohlcv(300, seed=1)
    >>> fingerprint(bars) == fingerprint(bars.copy()), len(fingerprint(bars))
    (True, 64)
    """
    digest = hashlib.sha256()
    digest.update(bars.index.as_unit("ns").asi8.tobytes())
    digest.update(np.ascontiguousarray(bars.to_numpy(dtype=np.float64)).tobytes())
    return digest.hexdigest()
