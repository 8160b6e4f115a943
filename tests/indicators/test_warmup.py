"""Warm-up bars are NaN (never 0), and valid data gives no NaN after the warm-up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.errors import IndicatorError
from neurotrade.indicators import available, compute, get


@pytest.mark.parametrize("data", ["ohlcv", "ohlcv_flat"])
def test_nan_exactly_during_warmup(case, data: str, request: pytest.FixtureRequest) -> None:
    name, params = case
    out = compute(request.getfixturevalue(data), name, **params).to_numpy()
    warmup = get(name).warmup(**params)
    assert 0 <= warmup < len(out)
    assert np.isnan(out[:warmup]).all()
    assert np.isfinite(out[warmup:]).all()


@pytest.mark.parametrize("name", [info.name for info in available()])
def test_series_shorter_than_the_warmup_is_all_nan(ohlcv: pd.DataFrame, name: str) -> None:
    warmup = get(name).warmup()
    out = compute(ohlcv.iloc[:warmup], name)
    assert out.shape == (warmup, len(get(name).outputs))
    assert out.isna().all().all()
    assert compute(ohlcv.iloc[:0], name).shape == (0, len(get(name).outputs))


def test_warmup_follows_the_parameters() -> None:
    assert get("sma").warmup(period=10) == 9
    assert get("ema").warmup() == 19
    assert get("rsi").warmup(period=10) == 10
    assert get("atr").warmup(period=10) == 10
    assert get("adx").warmup(period=10) == 19
    assert get("bbands").warmup(period=10) == 9
    assert get("macd").warmup(fast=5, slow=20, signal=4) == 22


def test_warmup_validates_the_parameters() -> None:
    with pytest.raises(IndicatorError, match="period: must be an integer from 2 to 100000, got 1"):
        get("rsi").warmup(period=1)
