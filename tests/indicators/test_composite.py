"""Composite indicators: values worked out by hand on short series, and their edge cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neurotrade.errors import IndicatorError
from neurotrade.indicators import compute, get, stream


def closes(*values: float) -> pd.DataFrame:
    return pd.DataFrame({"close": np.array(values, dtype=np.float64)})


def flat_bars(*values: float) -> pd.DataFrame:
    """Bars with open = high = low = close, so every price input is the given value."""
    prices = np.array(values, dtype=np.float64)
    return pd.DataFrame({"open": prices, "high": prices, "low": prices, "close": prices})


# --- WaveTrend ----------------------------------------------------------------------------------
def test_wavetrend_by_hand() -> None:
    # channel = average = signal = 2 (EMA alpha 2/3), ap = close = 1, 2, 4, 3, 5:
    # esa = 3/2, 19/6, 55/18, 235/54 (bars 1-4); |ap - esa| = 1/2, 5/6, 1/18, 35/54;
    # d = 2/3, 7/27, 14/27 (bars 2-4); ci = (5/6)/(.015*2/3) = 250/3, (-1/18)/(.015*7/27) = -100/7,
    # (35/54)/(.015*14/27) = 250/3; wt1 = 725/21, 4225/63 (bars 3-4); wt2 = 3200/63 on bar 4.
    out = compute(flat_bars(1.0, 2.0, 4.0, 3.0, 5.0), "wavetrend", channel=2, average=2, signal=2)
    assert get("wavetrend").warmup(channel=2, average=2, signal=2) == 4
    assert out.iloc[:4].isna().all().all()
    assert out["wt1"].iloc[4] == pytest.approx(4225 / 63, rel=1e-12)
    assert out["wt2"].iloc[4] == pytest.approx(3200 / 63, rel=1e-12)


def test_wavetrend_channel_index_is_zero_in_a_flat_market() -> None:
    out = compute(flat_bars(*[20.0] * 60), "wavetrend")
    np.testing.assert_array_equal(out.to_numpy()[41:], 0.0)


# --- QQE ----------------------------------------------------------------------------------------
QQE_CLOSES = (10.0, 11.0, 12.0, 11.0, 13.0, 12.0, 14.0, 15.0, 13.0, 14.0, 16.0, 15.0)


def test_qqe_by_hand() -> None:
    # period 2, smooth 2, factor 1 (W = 3). Wilder's RSI from bar 2: 100, 50, 250/3, 50, ...;
    # qqe = EMA2 of it from bar 3: 75, 725/9, ...; dar = EMA3(EMA3(|qqe - qqe[1]|)) from bar 8,
    # where the level starts at qqe - dar. Values below are those rationals, rounded.
    out = compute(closes(*QQE_CLOSES), "qqe", period=2, smooth=2, factor=1.0)
    assert get("qqe").warmup(period=2, smooth=2) == 8
    assert out.iloc[:8].isna().all().all()
    expected_qqe = [179522275 / 3515967, 10154132015 / 179314317, 2854783745365 / 38193949521]
    np.testing.assert_allclose(out["qqe"].to_numpy()[8:11], expected_qqe, rtol=1e-12)
    # bar 8: 51.059 - 15.459 = 35.601; bar 9: qqe above the level: 56.628 - 14.577 = 42.051, above
    # the old level so it moves; bar 10: 74.744 - 15.241 = 59.503.
    expected_trail = [375512000 / 10547901, 30161153495 / 717257268, 505033783015 / 8487544338]
    np.testing.assert_allclose(out["trail"].to_numpy()[8:11], expected_trail, rtol=1e-12)
    # bar 11: qqe 59.812 is still above 59.503 but 59.812 - 15.330 would drop the level: it holds.
    assert out["trail"].iloc[11] == out["trail"].iloc[10]


def test_qqe_level_flips_to_the_other_side_when_crossed() -> None:
    # A zigzag up (+1, -.5) for 100 bars, then down (-1, +.5): the level trails below the
    # smoothed RSI in the rise and above it in the fall.
    steps = np.r_[np.tile([1.0, -0.5], 50), np.tile([-1.0, 0.5], 50)]
    out = compute(closes(*(100.0 + np.cumsum(steps))), "qqe")
    below = (out["trail"] < out["qqe"]).to_numpy()
    assert below[80:100].all() and not below[180:].any()


# --- Schaff trend cycle -------------------------------------------------------------------------
def test_stc_by_hand() -> None:
    # fast 2, slow 3, cycle 2, factor .5 on closes 1, 2, 4, 3, 5, 4:
    # EMA2 = 3/2, 19/6, 55/18, 235/54, 667/162 (bars 1-5); EMA3 = 7/3, 8/3, 23/6, 47/12 (bars 2-5);
    # macd = 5/6, 7/18, 14/27, 65/324. %K1 over two bars: 0 (bar 3), 100 (bar 4), 0 (bar 5);
    # pf = 0, 50, 25. %K2 of pf: 100 (bar 4), 0 (bar 5); stc = 100, then 100 + .5*(0 - 100) = 50.
    out = compute(closes(1.0, 2.0, 4.0, 3.0, 5.0, 4.0), "stc", fast=2, slow=3, cycle=2, factor=0.5)["stc"]
    assert get("stc").warmup(fast=2, slow=3, cycle=2) == 4
    np.testing.assert_allclose(out.to_numpy(), [np.nan] * 4 + [100.0, 50.0], rtol=1e-12)


def test_stc_keeps_its_last_reading_when_the_range_collapses() -> None:
    # A steady rise puts the MACD at the top of every window (%K1 = 100), so pf settles at 100
    # and the second stochastic's window loses its range: the last %K2 is kept, as published.
    out = compute(closes(*np.linspace(50.0, 80.0, 200)), "stc")["stc"].to_numpy()
    assert np.isfinite(out[67:]).all()
    assert out[-1] == out[-2]


def test_stc_slow_must_exceed_fast() -> None:
    with pytest.raises(IndicatorError, match=r"slow: must be greater than fast \(50\), got 23"):
        compute(closes(1.0, 2.0), "stc", fast=50, slow=23)


# --- Awesome oscillator -------------------------------------------------------------------------
def test_ao_by_hand() -> None:
    # fast 2, slow 3 on median prices 1, 2, 3, 5: bar 2: 5/2 - 2 = 1/2; bar 3: 4 - 10/3 = 2/3.
    out = compute(flat_bars(1.0, 2.0, 3.0, 5.0), "ao", fast=2, slow=3)["ao"]
    np.testing.assert_allclose(out.to_numpy(), [np.nan, np.nan, 0.5, 2 / 3], rtol=1e-15)


def test_ao_uses_the_median_price() -> None:
    bars = pd.DataFrame({"high": [4.0, 6.0, 8.0], "low": [2.0, 2.0, 2.0]})
    # medians 3, 4, 5: SMA2 = 4.5, SMA3 = 4.
    assert compute(bars, "ao", fast=2, slow=3)["ao"].iloc[2] == 0.5


# --- TSI ----------------------------------------------------------------------------------------
def test_tsi_by_hand() -> None:
    # long = short = signal = 2 (alpha 2/3) on closes 1, 2, 4, 3, 5, 6: m = 1, 2, -1, 2, 1.
    # EMA(m) = 3/2, -1/6, 23/18, 59/54 and EMA(|m|) = 3/2, 7/6, 31/18, 67/54 (bars 2-5);
    # again: 2/3, 29/27, 88/81 and 4/3, 43/27, 110/81 (bars 3-5); tsi = 50, 2900/43, 80;
    # signal = (50 + 2900/43)/2 = 2525/43, then 2525/43 + 2/3*(80 - 2525/43) = 3135/43.
    out = compute(closes(1.0, 2.0, 4.0, 3.0, 5.0, 6.0), "tsi", long=2, short=2, signal=2)
    assert out.iloc[:4].isna().all().all()
    np.testing.assert_allclose(out["tsi"].to_numpy()[4:], [2900 / 43, 80.0], rtol=1e-13)
    np.testing.assert_allclose(out["signal"].to_numpy()[4:], [2525 / 43, 3135 / 43], rtol=1e-13)


def test_tsi_is_zero_before_the_price_first_moves() -> None:
    out = compute(closes(*[5.0] * 40, 6.0), "tsi", long=5, short=3, signal=3)["tsi"].to_numpy()
    np.testing.assert_array_equal(out[9:40], 0.0)
    assert out[40] == 100.0


# --- KST ----------------------------------------------------------------------------------------
def test_kst_by_hand() -> None:
    # roc 2, 3, 2, 3 with SMAs of 2 and a signal of 2 on closes 1, 2, 4, 2, 4, 8, 4:
    # ROC2 = 300, 0, 0, 300, 0 (bars 2-6), ROC3 = 100 (bars 3-6); their SMA2: 150, 0, 150, 150
    # (bars 3-6) and 100 (bars 4-6). kst = 1*S2 + 2*S3 + 3*S2 + 4*S3 = 600, 1200, 1200 (bars 4-6);
    # signal = 900, 1200 (bars 5-6).
    params = {"roc1": 2, "roc2": 3, "roc3": 2, "roc4": 3, "sma1": 2, "sma2": 2, "sma3": 2, "sma4": 2, "signal": 2}
    out = compute(closes(1.0, 2.0, 4.0, 2.0, 4.0, 8.0, 4.0), "kst", **params)
    assert get("kst").warmup(**params) == 5
    np.testing.assert_allclose(out["kst"].to_numpy(), [np.nan] * 5 + [1200.0, 1200.0], rtol=1e-15)
    np.testing.assert_allclose(out["signal"].to_numpy(), [np.nan] * 5 + [900.0, 1200.0], rtol=1e-15)


def test_kst_default_warmup() -> None:
    # The longest component is ROC30 smoothed over 15 bars (ready on bar 44), then 9 for the signal.
    assert get("kst").warmup() == 52


# --- DPO ----------------------------------------------------------------------------------------
def test_dpo_by_hand_compares_a_past_close_with_the_current_sma() -> None:
    # period 4: the close 4//2 + 1 = 3 bars back minus the SMA of the last 4 closes.
    # bar 3: 1 - (1+2+3+4)/4 = -1.5; bar 4: 2 - (2+3+4+6)/4 = -1.75.
    out = compute(closes(1.0, 2.0, 3.0, 4.0, 6.0), "dpo", period=4)["dpo"]
    np.testing.assert_array_equal(out.to_numpy(), [np.nan] * 3 + [-1.5, -1.75])
    # period 2 reaches further back (2 bars) than its window (2 bars): bar 2: 1 - (2+4)/2 = -2.
    out = compute(closes(1.0, 2.0, 4.0), "dpo", period=2)["dpo"]
    np.testing.assert_array_equal(out.to_numpy(), [np.nan, np.nan, -2.0])


def test_dpo_never_reads_a_later_close() -> None:
    base = np.linspace(10.0, 20.0, 30)
    changed = base.copy()
    changed[20:] *= 3.0
    a = compute(closes(*base), "dpo", period=10)["dpo"].to_numpy()
    b = compute(closes(*changed), "dpo", period=10)["dpo"].to_numpy()
    np.testing.assert_array_equal(a[:20], b[:20])
    assert "centred" in get("dpo").definition and "not provided" in get("dpo").definition


# --- Hurst exponent -----------------------------------------------------------------------------
def test_hurst_by_hand() -> None:
    # period 16: chunks of 16 and of 8. Returns (x .01) 1,-1,1,-1,... then 3,1,3,1,...: each
    # chunk of 8 alternates around its mean, so its R/S is 1; the 16 returns have mean 2,
    # cumulative deviations reaching -8 (from 0) and a standard deviation of sqrt(2), so R/S =
    # 8/sqrt(2). The slope through (ln 8, 0) and (ln 16, ln(4 sqrt 2)) is 2.5.
    returns = 0.01 * np.array([1.0, -1.0] * 4 + [3.0, 1.0] * 4)
    prices = 100.0 * np.exp(np.r_[0.0, np.cumsum(returns)])
    out = compute(closes(*prices), "hurst", period=16)["hurst"]
    assert out.iloc[:16].isna().all()
    assert out.iloc[16] == pytest.approx(2.5, rel=1e-9)


def test_hurst_is_one_half_without_moves_and_low_for_mean_reversion() -> None:
    flat = compute(closes(*[10.0] * 40), "hurst", period=16)["hurst"].to_numpy()
    np.testing.assert_array_equal(flat[16:], 0.5)
    zigzag = compute(closes(*[10.0, 11.0] * 60), "hurst", period=64)["hurst"].to_numpy()
    assert (zigzag[64:] < 0.1).all()


def test_hurst_needs_two_chunk_sizes() -> None:
    with pytest.raises(IndicatorError, match="period: must be an integer from 16 to 100000, got 10"):
        compute(closes(1.0, 2.0), "hurst", period=10)


# --- Heikin-Ashi --------------------------------------------------------------------------------
def test_heikin_ashi_by_hand() -> None:
    bars = pd.DataFrame({"open": [10.0, 11.0], "high": [12.0, 13.0], "low": [9.0, 10.0], "close": [11.0, 12.0]})
    # bar 0: open (10 + 11)/2 = 10.5, close 42/4 = 10.5; bar 1: open (10.5 + 10.5)/2, close 46/4.
    out = compute(bars, "heikin_ashi")
    np.testing.assert_array_equal(out.to_numpy(), [[10.5, 12.0, 9.0, 10.5], [10.5, 13.0, 10.0, 11.5]])
    assert get("heikin_ashi").warmup() == 0


def test_heikin_ashi_streams_from_the_first_bar() -> None:
    live = stream("heikin_ashi")
    first = live.update({"open": 10.0, "high": 12.0, "low": 9.0, "close": 11.0})
    assert first == {"ha_open": 10.5, "ha_high": 12.0, "ha_low": 9.0, "ha_close": 10.5}
    assert not any(math.isnan(v) for v in first.values())
