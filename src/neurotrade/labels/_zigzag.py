"""ZigZag labels: the direction of the next price swing of at least a threshold, and when it completes.

A label may look ahead (that is what a label is), but it must say how far: ``t1`` is the last bar its value
depends on, so that splits can purge every training sample whose [t, t1] reaches into a later window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from neurotrade.errors import DataError

SELL, HOLD, BUY = 0, 1, 2
CLASS_NAMES = ("SELL", "HOLD", "BUY")


@njit(cache=True)
def _zigzag_kernel(close: np.ndarray, threshold: float, lookahead: int) -> tuple[np.ndarray, np.ndarray]:
    n = close.shape[0]
    labels = np.full(n, np.nan)
    t1 = np.full(n, -1, dtype=np.int64)
    for t in range(n):
        up = close[t] * (1.0 + threshold)
        down = close[t] * (1.0 - threshold)
        last = min(n - 1, t + lookahead)
        for j in range(t + 1, last + 1):
            if close[j] >= up:
                labels[t] = BUY
                t1[t] = j
                break
            if close[j] <= down:
                labels[t] = SELL
                t1[t] = j
                break
        # No swing within the horizon is HOLD, but only once the whole horizon has been seen.
        if t1[t] < 0 and t + lookahead <= n - 1:
            labels[t] = HOLD
            t1[t] = t + lookahead
    return labels, t1


def zigzag_labels(close: pd.Series, *, threshold_pct: float, lookahead: int) -> pd.DataFrame:
    """Label each bar BUY, SELL or HOLD by the next swing of at least ``threshold_pct`` percent.

    From bar t's close, the first later close (within ``lookahead`` bars) that is ``threshold_pct`` % above
    makes t a BUY, one that is ``threshold_pct`` % below makes it a SELL; neither within ``lookahead`` bars makes
    it a HOLD. ``t1`` is the bar where the swing completed, or t + lookahead for HOLD. Near the end of the data,
    a bar whose outcome is not yet decided gets no label (NaN) and no t1 (NaT): it is dropped, never guessed.

    Parameters
    ----------
    close
        Closing prices with the bars' DatetimeIndex.
    threshold_pct
        Swing size in percent, e.g. ``5.0``.
    lookahead
        Most bars to wait for the swing.

    Returns
    -------
    pandas.DataFrame
        ``label`` (float: 0 SELL, 1 HOLD, 2 BUY, NaN undecided) and ``t1`` (timestamp), on ``close``'s index.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC", name="time")
    >>> out = zigzag_labels(pd.Series([100, 103, 106, 101, 95.0], index=idx), threshold_pct=5, lookahead=2)
    >>> out["label"].tolist()
    [2.0, 1.0, 0.0, 0.0, nan]
    >>> [str(t.date()) for t in out["t1"][:3]]
    ['2024-01-03', '2024-01-04', '2024-01-05']
    """
    if not threshold_pct > 0:
        raise ValueError(f"threshold_pct must be > 0, got {threshold_pct!r}")
    if lookahead < 1:
        raise ValueError(f"lookahead must be >= 1, got {lookahead!r}")
    values = close.to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        raise DataError("zigzag_labels: close has NaN values; the OHLCV contract forbids them")
    labels, t1_pos = _zigzag_kernel(values, threshold_pct / 100.0, int(lookahead))
    t1 = pd.Series(pd.NaT, index=close.index, dtype=close.index.dtype)
    decided = t1_pos >= 0
    t1[decided] = close.index[t1_pos[decided]]
    return pd.DataFrame({"label": labels, "t1": t1}, index=close.index)


def class_balance(labels: pd.Series) -> dict[str, int]:
    """How many samples of each class (undecided ones left out).

    Examples
    --------
    >>> class_balance(pd.Series([2.0, 0.0, 2.0, float("nan")]))
    {'SELL': 1, 'HOLD': 0, 'BUY': 2}
    """
    counts = labels.dropna().astype(int).value_counts()
    return {name: int(counts.get(i, 0)) for i, name in enumerate(CLASS_NAMES)}
