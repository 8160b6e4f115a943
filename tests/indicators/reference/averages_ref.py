"""Plain pandas/NumPy definitions of the moving averages TA-Lib lacks (``indicators/_averages.py``).

Written from the published definitions cited in each indicator's ``definition``, not from the
kernels: the WMA is each window's dot product with the weights 1..n (``rolling().apply``, as
pandas users write it), and the EMA is pandas' ``ewm`` started from the mean of its first ``n``
inputs. Warm-up rows are NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["REFERENCES"]


def _wma(x: pd.Series, n: int) -> pd.Series:
    """Weighted moving average: weights 1 (oldest) .. n (newest) over each full window, NaN elsewhere."""
    weights = np.arange(1.0, n + 1.0)
    return x.rolling(n).apply(lambda window: np.dot(window, weights) / weights.sum(), raw=True)


def _ema(x: pd.Series, n: int) -> pd.Series:
    """EMA with ``alpha = 2 / (n + 1)``, seeded with the mean of its first ``n`` valid inputs."""
    out = pd.Series(np.nan, index=x.index)
    valid = x.dropna()
    if len(valid) < n:
        return out
    tail = valid.iloc[n - 1 :].copy()
    tail.iloc[0] = valid.iloc[:n].mean()
    out.loc[tail.index] = tail.ewm(alpha=2.0 / (n + 1.0), adjust=False).mean()
    return out


def hma(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Hull: WMA(2 * WMA(close, n // 2) - WMA(close, n), isqrt(n)) (Alan Hull, 2005)."""
    n = int(params["period"])
    close = bars["close"]
    raw = 2.0 * _wma(close, n // 2) - _wma(close, n)
    return pd.DataFrame({"hma": _wma(raw, math.isqrt(n))}, index=bars.index)


def zlema(bars: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Zero-lag EMA: EMA(close + (close - close[lag]), n), lag = (n - 1) // 2 (Ehlers & Way, 2010)."""
    n = int(params["period"])
    lag = (n - 1) // 2
    close = bars["close"]
    return pd.DataFrame({"zlema": _ema(close + (close - close.shift(lag)), n)}, index=bars.index)


REFERENCES: dict[str, Callable[[pd.DataFrame, dict], pd.DataFrame]] = {"hma": hma, "zlema": zlema}
