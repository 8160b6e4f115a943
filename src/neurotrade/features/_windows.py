"""Windows of consecutive feature rows for sequence models, as views into the feature matrix (no copies)."""

from __future__ import annotations

import numpy as np

from neurotrade.errors import FeatureError


def windows(matrix: np.ndarray, lookback: int) -> np.ndarray:
    """``(samples, lookback, features)`` windows over ``(rows, features)``, sharing the matrix's memory.

    Window ``i`` holds rows ``i .. i + lookback - 1``; it belongs to the sample of its LAST row, so it sees only
    that bar and the ``lookback - 1`` before it. The result is a read-only strided view: building it costs no
    memory, and writing to it is refused rather than silently changing the features.

    Parameters
    ----------
    matrix
        Feature rows in time order, C-contiguous ``(rows, features)``.
    lookback
        Rows per window.

    Examples
    --------
    >>> m = np.arange(10.0).reshape(5, 2)
    >>> w = windows(m, 3)
    >>> w.shape, w[0].tolist(), bool(np.shares_memory(w, m))
    ((3, 3, 2), [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], True)
    """
    if matrix.ndim != 2:
        raise FeatureError(f"windows need a (rows, features) matrix, got shape {matrix.shape}")
    if not 1 <= lookback <= len(matrix):
        raise FeatureError(f"lookback must be from 1 to the {len(matrix)} rows available, got {lookback}")
    view = np.lib.stride_tricks.sliding_window_view(matrix, lookback, axis=0)  # (N - L + 1, F, L)
    return view.transpose(0, 2, 1)  # (N - L + 1, L, F), still a view


def window_rows(n_rows: int, lookback: int) -> np.ndarray:
    """The row each window of :func:`windows` belongs to (its last row).

    Examples
    --------
    >>> window_rows(5, 3).tolist()
    [2, 3, 4]
    """
    return np.arange(lookback - 1, n_rows)
