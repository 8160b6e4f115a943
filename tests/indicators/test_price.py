"""Price transforms (_price.py): MIDPOINT and MIDPRICE's block kernel against TA-Lib, and any chunking.

The block kernel has two paths, one for a block that an earlier call began (its first bars kept in the
state) and one for blocks that begin within the call (read from the bars themselves); these tests make
them meet at every kind of boundary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from neurotrade.indicators import compute, get, stream
from neurotrade.indicators._compute import _input_matrix, _param_vector
from neurotrade.indicators._registry import entry


def _series(kind: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    if kind == "walk":
        return 100.0 + np.cumsum(rng.normal(0.0, 1.0, n))
    if kind == "rising":
        return np.linspace(1.0, 2.0, n)
    if kind == "falling":
        return np.linspace(2.0, 1.0, n)
    return np.full(n, 5.0)  # flat


@pytest.mark.parametrize("kind", ["walk", "rising", "falling", "flat"])
@pytest.mark.parametrize("period", [2, 3, 14, 61, 499, 500, 800])
def test_midpoint_and_midprice_are_talibs_bit_for_bit(kind: str, period: int) -> None:
    close = _series(kind, 500)
    high, low = close + np.abs(np.sin(np.arange(500.0))), close - 0.5
    bars = pd.DataFrame({"high": high, "low": low, "close": close})
    got = compute(bars, "midpoint", period=period)["midpoint"].to_numpy()
    assert np.array_equal(got, talib.MIDPOINT(close, period), equal_nan=True)
    got = compute(bars, "midprice", period=period)["midprice"].to_numpy()
    assert np.array_equal(got, talib.MIDPRICE(high, low, period), equal_nan=True)


@pytest.mark.parametrize("name", ["midpoint", "midprice"])
@pytest.mark.parametrize("period", [2, 5, 14, 40])
def test_any_chunking_gives_the_batch_values(ohlcv: pd.DataFrame, name: str, period: int) -> None:
    found, info = entry(name), get(name)
    x = _input_matrix(ohlcv, info)
    vector = _param_vector(info, {"period": period})
    batch = np.empty((len(x), 1))
    found.update(found.init(vector), vector, x, batch)
    rng = np.random.default_rng(period)
    state, parts, start = found.init(vector), [], 0
    while start < len(x):
        # Chunks shorter than, as long as and longer than a block, so that they start anywhere in one.
        size = int(rng.choice([1, 2, period - 1, period, period + 1, 3 * period + 2]))
        part = np.empty((min(size, len(x) - start), 1))
        found.update(state, vector, np.ascontiguousarray(x[start : start + size]), part)
        parts.append(part)
        start += size
    assert np.array_equal(np.vstack(parts), batch, equal_nan=True)


def test_bar_by_bar_gives_the_batch_values(ohlcv: pd.DataFrame) -> None:
    bars = ohlcv.iloc[:300]
    want = compute(bars, "midprice", period=9)["midprice"].to_numpy()
    live = stream("midprice", period=9)
    got = [live.update(bars.iloc[i])["midprice"] for i in range(len(bars))]
    assert np.array_equal(np.array(got), want, equal_nan=True)
