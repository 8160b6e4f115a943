"""Causality for every registered indicator: a value never depends on a later bar."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neurotrade.indicators import compute, get


def _cuts(n: int, warmup: int) -> list[int]:
    return sorted({0, 1, max(warmup - 1, 0), warmup, warmup + 1, n // 2, n - 2} & set(range(n)))


def test_values_up_to_t_ignore_every_later_bar(ohlcv: pd.DataFrame, other_bars: pd.DataFrame, case) -> None:
    name, params = case
    full = compute(ohlcv, name, **params).to_numpy()
    other = other_bars
    for t in _cuts(len(ohlcv), get(name).warmup(**params)):
        # (a) the future removed
        truncated = compute(ohlcv.iloc[: t + 1], name, **params).to_numpy()
        assert np.array_equal(truncated, full[: t + 1], equal_nan=True), f"{name}{params}: cut at {t}"
        # (b) the future replaced by different bars (rescaled so the series stays continuous)
        future = other.iloc[t + 1 :] * (ohlcv["close"].iloc[t] / other["close"].iloc[t])
        spliced = pd.concat([ohlcv.iloc[: t + 1], future.set_axis(ohlcv.index[t + 1 :])])
        assert not np.allclose(spliced["close"].to_numpy()[t + 1 :], ohlcv["close"].to_numpy()[t + 1 :])
        changed = compute(spliced, name, **params).to_numpy()
        assert np.array_equal(changed[: t + 1], full[: t + 1], equal_nan=True), f"{name}{params}: cut at {t}"
