"""Volume (_volume.py) and range (_range.py) indicators: values worked by hand and TA-Lib's edge cases.

The generic tests cover parity, causality, streaming and warm-up for every indicator; these pin the
conventions a generic series would not show: where the running totals start, what a bar without
range or volume contributes, MFI's reset after a window without money flow, and how NATR and
STDDEV relate to ATR and to themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from neurotrade.errors import IndicatorError
from neurotrade.indicators import compute, get, stream
from neurotrade.indicators._registry import entry


def _bars(high, low, close, volume=None) -> pd.DataFrame:
    high = np.asarray(high, dtype=np.float64)
    volume = np.ones_like(high) if volume is None else np.asarray(volume, dtype=np.float64)
    return pd.DataFrame(
        {"high": high, "low": np.asarray(low, dtype=np.float64), "close": np.asarray(close, dtype=np.float64)}
        | {"volume": volume}
    )


def _assert_bitwise_talib(bars: pd.DataFrame, name: str, **params) -> None:
    info = get(name)
    full = {**info.defaults(), **params}
    ref = getattr(talib, info.talib)(*(bars[c].to_numpy() for c in info.inputs), **entry(name).talib_kwargs(full))
    ours = compute(bars, name, **full)[info.outputs[0]].to_numpy()
    assert np.array_equal(ours, ref, equal_nan=True), f"{name}{full}"


HIGH = [10.0, 12.0, 11.0, 13.0]
LOW = [8.0, 9.0, 9.0, 10.0]
CLOSE = [9.0, 11.0, 10.0, 12.0]
VOLUME = [100.0, 200.0, 300.0, 400.0]


# --- volume ---------------------------------------------------------------------------------------
def test_obv_starts_from_the_first_volume() -> None:
    bars = _bars(HIGH, LOW, [9.0, 11.0, 10.0, 10.0], VOLUME)
    assert compute(bars, "obv")["obv"].tolist() == [100.0, 300.0, 0.0, 0.0]


def test_ad_by_hand_and_a_bar_without_range_adds_nothing() -> None:
    # Close location value * volume: 0 * 100, (2 - 1) / 3 * 200, 0 * 300, then a bar with no range.
    bars = _bars([10.0, 12.0, 11.0, 11.0], [8.0, 9.0, 9.0, 11.0], [9.0, 11.0, 10.0, 11.0], VOLUME)
    assert compute(bars, "ad")["ad"].to_numpy() == pytest.approx([0.0, 200 / 3, 200 / 3, 200 / 3])


def test_adosc_seeds_both_emas_with_the_first_ad_value() -> None:
    # AD: 0, then + (1.5 - 0.5) / 2 * 200 = 100, then + (2 - 0) / 2 * 300 = 400. With fast = 2 and
    # slow = 3 the first value (bar 2) is EMA2 - EMA3 of it, both EMAs starting at AD's first value.
    bars = _bars([10.0, 10.0, 10.0], [8.0, 8.0, 8.0], [9.0, 9.5, 10.0], VOLUME[:3])
    ad = [0.0, 100.0, 400.0]
    fast = slow = ad[0]
    for value in ad[1:]:
        fast = fast * (1 - 2 / 3) + value * 2 / 3
        slow = slow * (1 - 2 / 4) + value * 2 / 4
    out = compute(bars, "adosc", fast=2, slow=3)["adosc"].to_numpy()
    assert np.isnan(out[:2]).all()
    assert out[2] == pytest.approx(fast - slow, rel=1e-12)


def test_mfi_by_hand() -> None:
    # Typical prices 9, 32/3, 10, 35/3: flows +32/3*200, -10*300, +35/3*400 over a 2-bar window.
    out = compute(_bars(HIGH, LOW, CLOSE, VOLUME), "mfi", period=2)["mfi"].to_numpy()
    up1, down, up2 = 32 / 3 * 200, 10 * 300, 35 / 3 * 400
    assert np.isnan(out[:2]).all()
    assert out[2:] == pytest.approx([100 * up1 / (up1 + down), 100 * up2 / (up2 + down)])


def test_mfi_is_zero_after_a_window_without_money_flow_and_matches_talib() -> None:
    # Zero volume, then an unchanged typical price: once a whole window had no money flow TA-Lib
    # 0.8 restarts its sums from exactly 0 (not from their rounding residue), which shows in the
    # last bits of the values after it.
    rng = np.random.default_rng(2)
    close = np.round(1 + rng.uniform(0, 1, 80), 2)
    high = close + np.round(rng.uniform(0, 0.3, 80), 2)
    low = close - np.round(rng.uniform(0, 0.3, 80), 2)
    volume = np.round(rng.uniform(0.1, 3, 80), 1)
    volume[20:30] = 0.0
    close[45:55] = high[45:55] = low[45:55] = close[44]
    bars = _bars(high, low, close, volume)
    out = compute(bars, "mfi", period=5)["mfi"].to_numpy()
    assert (out[[25, 29, 50, 54]] == 0.0).all()
    for period in (2, 5, 9):
        _assert_bitwise_talib(bars, "mfi", period=period)


# --- range ----------------------------------------------------------------------------------------
def test_trange_by_hand() -> None:
    # From bar 1: max(high - low, |prev close - high|, |prev close - low|) = 3, 2, 3.
    out = compute(_bars(HIGH, LOW, CLOSE), "trange")["trange"].to_numpy()
    assert np.isnan(out[0])
    assert out[1:].tolist() == [3.0, 2.0, 3.0]


def test_trange_in_a_stream_uses_the_previous_bars_close() -> None:
    live = stream("trange")
    bars = [{"high": h, "low": lo, "close": c} for h, lo, c in zip(HIGH, LOW, CLOSE, strict=True)]
    values = [live.update(bar)["trange"] for bar in bars]
    assert np.isnan(values[0]) and values[1:] == [3.0, 2.0, 3.0]


def test_natr_is_the_atr_as_a_percentage_of_the_close(ohlcv: pd.DataFrame) -> None:
    atr = compute(ohlcv, "atr", period=10)["atr"].to_numpy()
    natr = compute(ohlcv, "natr", period=10)["natr"].to_numpy()
    assert np.array_equal(natr, (atr / ohlcv["close"].to_numpy()) * 100.0, equal_nan=True)


def test_natr_refuses_a_one_bar_period_whose_talib_value_is_not_normalised(ohlcv: pd.DataFrame) -> None:
    # TA-Lib's NATR(1) returns the raw true range; neurotrade starts at 2, as ATR does.
    with pytest.raises(IndicatorError, match="period: must be an integer from 2 to 100000, got 1"):
        compute(ohlcv, "natr", period=1)


def test_stddev_of_a_flat_window_is_exactly_zero_and_scales_with_nbdev(ohlcv_flat: pd.DataFrame) -> None:
    one = compute(ohlcv_flat, "stddev", period=10)["stddev"].to_numpy()
    two = compute(ohlcv_flat, "stddev", period=10, nbdev=2.0)["stddev"].to_numpy()
    assert np.array_equal(two, 2.0 * one, equal_nan=True)
    start = len(ohlcv_flat) // 3
    assert (one[start + 10 : start + 120] == 0.0).all()


def test_stddev_by_hand() -> None:
    # Closes 9, 11, 10, 12 over 2 bars: population deviations 1, 0.5, 1.
    out = compute(_bars(HIGH, LOW, CLOSE), "stddev", period=2)["stddev"].to_numpy()
    assert np.isnan(out[0])
    assert out[1:] == pytest.approx([1.0, 0.5, 1.0], rel=1e-12)


def test_stddev_stays_accurate_on_a_long_low_volatility_series() -> None:
    # Plain running sums of x and x**2 drift far from TA-Lib here (FX-like prices, tiny moves).
    rng = np.random.default_rng(3)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0.0, 1e-4, 60_000)))
    _assert_bitwise_talib(pd.DataFrame({"close": close}), "stddev", period=20, nbdev=1.5)
