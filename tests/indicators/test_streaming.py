"""The streaming form reproduces the batch values exactly, for every registered indicator."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neurotrade.errors import IndicatorError
from neurotrade.indicators import compute, get, stream


def _replay(df: pd.DataFrame, name: str, params: dict) -> np.ndarray:
    live = stream(name, **params)
    columns = {c: df[c].to_numpy() for c in get(name).inputs}
    rows = []
    for i in range(len(df)):
        values = live.update({c: float(columns[c][i]) for c in columns})
        rows.append([values[o] for o in get(name).outputs])
    return np.array(rows)


def test_stream_equals_batch_bit_for_bit(ohlcv_flat: pd.DataFrame, case) -> None:
    name, params = case
    batch = compute(ohlcv_flat, name, **params).to_numpy()
    assert np.array_equal(_replay(ohlcv_flat, name, params), batch, equal_nan=True)


def test_stream_accepts_a_pandas_row_and_reports_every_output(ohlcv: pd.DataFrame) -> None:
    live = stream("macd", fast=3, slow=5, signal=2)
    outputs = [live.update(row) for _, row in ohlcv.iloc[:10].iterrows()]
    assert all(set(o) == {"macd", "signal", "hist"} for o in outputs)
    assert math.isnan(outputs[4]["macd"]) and not math.isnan(outputs[5]["macd"])
    batch = compute(ohlcv.iloc[:10], "macd", fast=3, slow=5, signal=2)
    assert outputs[9] == batch.iloc[9].to_dict()


def test_reset_starts_over(ohlcv: pd.DataFrame) -> None:
    live = stream("rsi", period=5)
    first = [live.update(row)["rsi"] for _, row in ohlcv.iloc[:30].iterrows()]
    live.reset()
    again = [live.update(row)["rsi"] for _, row in ohlcv.iloc[:30].iterrows()]
    assert np.array_equal(first, again, equal_nan=True)


def test_stream_keeps_its_parameters_and_description() -> None:
    live = stream("BBANDS", period=10)
    assert live.info is get("bbands")
    assert live.params == {"period": 10, "nbdev_up": 2.0, "nbdev_down": 2.0}
    assert repr(live) == "IndicatorStream(bbands(period=10, nbdev_up=2.0, nbdev_down=2.0))"


def test_stream_rejects_a_bar_without_its_inputs() -> None:
    live = stream("atr")
    with pytest.raises(IndicatorError) as caught:
        live.update({"close": 1.0, "high": 2.0})
    assert str(caught.value) == "indicator 'atr' needs the input 'low' in every bar; this bar has 'close', 'high'"


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_stream_rejects_nan_and_leaves_its_state_alone(ohlcv: pd.DataFrame, bad: float) -> None:
    live, clean = stream("ema", period=3), stream("ema", period=3)
    closes = ohlcv["close"].to_numpy()[:6]
    for c in closes[:3]:
        live.update({"close": c})
        clean.update({"close": c})
    with pytest.raises(IndicatorError, match=r"input 'close' is (nan|inf); the OHLCV contract forbids"):
        live.update({"close": bad})
    assert [live.update({"close": c}) for c in closes[3:]] == [clean.update({"close": c}) for c in closes[3:]]


def test_stream_rejects_a_value_that_is_not_a_number() -> None:
    with pytest.raises(IndicatorError, match="input 'close' must be a number, got 'abc'"):
        stream("sma").update({"close": "abc"})
