"""Moving averages: values worked out by hand, and the edges worth pinning.

The generic tests (TA-Lib parity, causality, streaming, warm-up, the plain references) cover every
average over random bars. Here HMA and ZLEMA, which TA-Lib lacks, are checked on a few bars whose
values follow from their published definitions with pencil and paper; the TA-Lib twins are pinned
where their running sums are recomputed (WMA every 8 periods, the regression slope every 32
periods or when a spike leaves the window, KAMA after a flat stretch), since a kernel that skipped
those would drift from TA-Lib only on long or unusual series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from neurotrade.errors import IndicatorError
from neurotrade.indicators import compute, get, stream


def _closes(values) -> pd.DataFrame:
    close = np.asarray(values, dtype=np.float64)
    index = pd.date_range("2024-01-01", periods=len(close), freq="D", tz="UTC", name="time")
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=index)


# --- values by hand -------------------------------------------------------------------------------
def test_hma_by_hand() -> None:
    # period 4: WMA(2) = (x[t-1] + 2 x[t]) / 3, WMA(4) = (x[t-3] + 2 x[t-2] + 3 x[t-1] + 4 x[t]) / 10.
    # Closes 1, 2, 4, 7, 11, 16: WMA(2) at bars 3..5 = 6, 29/3, 43/3; WMA(4) = 4.5, 7.5, 11.5; so
    # 2 * WMA(2) - WMA(4) = 7.5, 71/6, 103/6, and its WMA(isqrt(4) = 2) at bars 4, 5 is
    # (7.5 + 2 * 71/6) / 3 = 93.5/9 and (71/6 + 2 * 103/6) / 3 = 277/18.
    out = compute(_closes([1, 2, 4, 7, 11, 16]), "hma", period=4)["hma"].tolist()
    assert np.isnan(out[:4]).all()
    assert out[4:] == pytest.approx([93.5 / 9, 277 / 18], rel=1e-14)


def test_zlema_by_hand() -> None:
    # period 3: lag (3 - 1) // 2 = 1, alpha 2 / 4. De-lagged closes 2 x[t] - x[t-1] from bar 1:
    # 12, 15, 11, 18. The EMA is seeded at bar 3 with (12 + 15 + 11) / 3, then moves halfway to 18.
    out = compute(_closes([10, 11, 13, 12, 15]), "zlema", period=3)["zlema"].tolist()
    assert np.isnan(out[:3]).all()
    assert out[3:] == pytest.approx([38 / 3, 38 / 3 + (18 - 38 / 3) / 2], rel=1e-14)


@pytest.mark.parametrize("period", [4, 9, 10, 16, 17])
def test_hma_on_a_straight_line_lags_by_its_weights(period: int) -> None:
    # A WMA of n bars lags a line by (n - 1) / 3 bars, so Hull's combination lags it by
    # 2 * lag(n // 2) - lag(n) + lag(isqrt(n)): zero for n = 9, a third of a bar ahead for n = 4.
    slope = 0.5
    line = 100.0 + slope * np.arange(80)
    out = compute(_closes(line), "hma", period=period)["hma"].to_numpy()
    warmup = get("hma").warmup(period=period)
    lag = (2 * (period // 2 - 1) - (period - 1) + (int(np.sqrt(period)) - 1)) / 3
    np.testing.assert_allclose(out[warmup:], line[warmup:] - slope * lag, rtol=1e-12)


@pytest.mark.parametrize("period", [3, 7, 10, 20])
def test_zlema_on_a_straight_line_lags_half_a_bar_at_most(period: int) -> None:
    # The EMA lags a line by (period - 1) / 2 bars and the de-lagging adds back (period - 1) // 2.
    slope = 0.5
    line = 100.0 + slope * np.arange(80)
    out = compute(_closes(line), "zlema", period=period)["zlema"].to_numpy()
    warmup = get("zlema").warmup(period=period)
    lag = (period - 1) / 2 - (period - 1) // 2
    np.testing.assert_allclose(out[warmup:], line[warmup:] - slope * lag, rtol=1e-12)


def test_warmups_of_the_averages() -> None:
    assert get("wma").warmup(period=10) == 9
    assert get("dema").warmup(period=10) == 18
    assert get("tema").warmup(period=10) == 27
    assert get("trima").warmup(period=10) == 9
    assert get("kama").warmup(period=10) == 10
    assert get("t3").warmup(period=5) == 24
    assert get("linearreg_slope").warmup(period=10) == 9
    # HMA: WMA(period) first at bar period - 1, then isqrt(period) - 1 more bars.
    assert get("hma").warmup(period=16) == 18
    assert get("hma").warmup(period=17) == 19
    # ZLEMA: the lag, then the EMA's period - 1.
    assert get("zlema").warmup(period=10) == 4 + 9


# --- where the running sums are recomputed -------------------------------------------------------
def test_wma_matches_talib_across_many_recomputations() -> None:
    rng = np.random.default_rng(5)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, 5_000)))
    ours = compute(_closes(close), "wma", period=7)["wma"].to_numpy()
    assert np.array_equal(ours, talib.WMA(close, timeperiod=7), equal_nan=True)


def test_linearreg_slope_recomputes_when_a_spike_leaves_the_window() -> None:
    # A price of 1e6 among prices near 1: once it leaves the window, a running sum would keep only
    # the digits the spike left over. TA-Lib 0.8 (and the kernel) recompute the sums instead.
    close = np.r_[1.0 + 0.01 * np.arange(30), 1e6, 1.3 + 0.01 * np.arange(40)]
    ours = compute(_closes(close), "linearreg_slope", period=10)["slope"].to_numpy()
    assert np.array_equal(ours, talib.LINEARREG_SLOPE(close, timeperiod=10), equal_nan=True)
    # Ten bars after the spike the window is a straight line again: the slope is its step, exactly enough.
    assert ours[-1] == pytest.approx(0.01, rel=1e-9)
    assert ours[-20:] == pytest.approx(np.full(20, 0.01), rel=1e-9)


def test_kama_after_a_flat_stretch_matches_talib_and_rests_on_the_price() -> None:
    rng = np.random.default_rng(11)
    close = np.r_[100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 200))), np.full(150, 97.25)]
    close = np.r_[close, 97.25 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 200)))]
    ours = compute(_closes(close), "kama", period=10)["kama"].to_numpy()
    assert np.array_equal(ours, talib.KAMA(close, timeperiod=10), equal_nan=True)
    # In the flat stretch the efficiency ratio is 1 and KAMA converges on the price.
    assert ours[349] == pytest.approx(97.25, rel=1e-12)


def test_streaming_in_chunks_equals_the_batch_across_recomputations() -> None:
    rng = np.random.default_rng(2)
    bars = _closes(50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, 600))))
    for name, params in [("wma", {"period": 5}), ("linearreg_slope", {"period": 3}), ("hma", {"period": 6})]:
        batch = compute(bars, name, **params).to_numpy()
        live = stream(name, **params)
        replay = np.array([list(live.update(row).values()) for _, row in bars.iterrows()])
        assert np.array_equal(replay, batch, equal_nan=True), name


# --- parameters -----------------------------------------------------------------------------------
def test_t3_volume_factor_is_checked() -> None:
    with pytest.raises(IndicatorError, match=r"vfactor: must be a number from 0 to 1, got 1\.5"):
        compute(_closes(np.arange(1.0, 40.0)), "t3", vfactor=1.5)


def test_t3_with_a_zero_volume_factor_is_its_triple_ema() -> None:
    # v = 0 gives c1 = c2 = c3 = 0 and c4 = 1: the third EMA of the chain, which T3 still reports
    # only once all six are running.
    rng = np.random.default_rng(4)
    close = 10.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 300)))
    out = compute(_closes(close), "t3", period=4, vfactor=0.0)["t3"].to_numpy()
    e3 = talib.EMA(talib.EMA(talib.EMA(close, 4)[3:], 4)[3:], 4)
    np.testing.assert_allclose(out[18:], e3[18 - 6 :], rtol=1e-12)
