"""The handbook's indicators beyond TA-Lib: hand-checked values on series simple enough to reason about."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.indicators import compute


def _ramp(n: int, step: float = 1.0) -> pd.DataFrame:
    close = 100.0 + step * np.arange(float(n))
    return pd.DataFrame({"open": close - step / 2, "high": close + 0.5, "low": close - 0.5, "close": close})


def test_fibonacci_levels_of_a_rising_and_a_falling_swing() -> None:
    up = compute(_ramp(10), "fib_retracement", period=5).iloc[-1]
    # Highs 105.5..109.5 and lows 104.5..108.5 over the last 5 bars: H = 109.5 (last bar), L = 104.5.
    assert up["direction"] == 1.0
    assert up["level_500"] == pytest.approx(107.0) and up["level_236"] == pytest.approx(109.5 - 0.236 * 5.0)
    down = compute(_ramp(10, step=-1.0), "fib_retracement", period=5).iloc[-1]
    assert down["direction"] == -1.0 and down["level_382"] == pytest.approx(90.5 + 0.382 * 5.0)


def test_rmi_of_a_steady_rise_is_100_and_of_a_flat_market_50() -> None:
    assert (compute(_ramp(40), "rmi", period=5, momentum=3)["rmi"].dropna() == 100.0).all()
    flat = pd.DataFrame({"close": np.full(40, 10.0)})
    assert (compute(flat, "rmi", period=5, momentum=3)["rmi"].dropna() == 50.0).all()


def test_ttf_is_positive_in_a_rise_and_negative_in_a_fall() -> None:
    assert (compute(_ramp(60), "ttf", period=5)["ttf"].dropna() > 0).all()
    assert (compute(_ramp(60, step=-0.5), "ttf", period=5)["ttf"].dropna() < 0).all()


def test_dv2_ranks_the_latest_mean_among_the_previous_ones() -> None:
    # The close climbs from the bottom to the top of a constant range: each mean is the highest so far.
    n = 30
    close = np.linspace(99.0, 101.0, n)
    bars = pd.DataFrame({"high": np.full(n, 101.0), "low": np.full(n, 99.0), "close": close})
    out = compute(bars, "dv2", period=2, lookback=10)["dv2"].dropna()
    assert len(out) == n - 11 and (out == 100.0).all()


def test_the_inverse_fisher_rsi_is_near_plus_one_in_a_rise() -> None:
    out = compute(_ramp(60), "ifisher_rsi")["ifisher"].dropna()
    assert (out > 0.999).all() and (out < 1.0).all()


def test_asi_adds_up_the_swing_index() -> None:
    bars = pd.DataFrame(
        {"open": [10.0, 10.0, 10.5], "high": [10.5, 11.0, 11.0], "low": [9.5, 10.0, 10.0], "close": [10.0, 10.5, 10.5]}
    )
    out = compute(bars, "asi", limit=10.0)["asi"].to_numpy()
    # Bar 1: K = max(1, 0) = 1, R = 1 - 0 + 0 = 1, T = 1: SI = 50 * (0.5 + 0.25 + 0) = 37.5.
    # Bar 2: |H - Cy| = 0.5 = |L - Cy| = 0.5 < H - L = 1: R = 1 + 0.25 * 0.5, K = 0.5, T = 1.05.
    second = 50.0 * (0.0 + 0.0 + 0.25 * 0.5) / 1.125 * 0.5 / 1.05
    assert np.isnan(out[0]) and out[1] == pytest.approx(37.5) and out[2] == pytest.approx(37.5 + second)


def test_waddah_attar_reports_the_macd_change_on_one_side() -> None:
    out = compute(_ramp(150), "waddah_attar").dropna()
    assert (out["trend_up"] >= 0).all() and (out["trend_down"] == 0).all()
    # Bollinger width of a unit-step ramp over 20 bars: 2 * 2 * population std of 0..19.
    assert out["explosion"].to_numpy() == pytest.approx(4.0 * np.std(np.arange(20.0)))
    # Its true range is 1.5 (the gap to the previous close) after the first bar's 1.0: seeded at 1.495 with the
    # mean of the first 100, Wilder's average then closes 1/100 of the gap to 1.5 on each of the last 50 bars.
    assert out["dead_zone"].iloc[-1] == pytest.approx(3.7 * (1.5 - 0.005 * 0.99**50), rel=1e-9)


@pytest.mark.parametrize("name", ["lorentzian_rsi", "lorentzian_cci", "lorentzian_wt", "lorentzian_adx"])
def test_the_lorentzian_features_lie_in_0_to_1(name: str) -> None:
    rng = np.random.default_rng(2)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 500)))
    bars = pd.DataFrame({"high": close * 1.01, "low": close * 0.99, "close": close})
    out = compute(bars, name).iloc[:, 0].dropna()
    assert out.between(0.0, 1.0).all() and out.max() > out.min()
    if name in ("lorentzian_cci", "lorentzian_wt"):  # normalised by the range so far: both ends are reached
        assert out.min() == 0.0 and out.max() == 1.0


def test_the_adaptive_laguerre_filter_lags_a_trend_less_than_an_sma() -> None:
    bars = _ramp(200)
    out = compute(bars, "adaptive_laguerre")["filter"].dropna()
    lag = ((bars["high"] + bars["low"]) / 2).loc[out.index] - out
    assert (lag.iloc[-50:] > 0).all() and (lag.iloc[-50:] < 9.5).all()  # a 20-bar SMA lags a unit ramp by 9.5


def test_cipher_b_rsi_mfi_area_of_full_bodied_candles() -> None:
    close = 100.0 + np.arange(100.0)
    bars = pd.DataFrame({"open": close - 1.0, "high": close, "low": close - 1.0, "close": close})
    out = compute(bars, "cipher_b").dropna()
    assert (out["rsi_mfi"] == 150.0 - 2.5).all()
    assert (out["sell"] == 0.0).all() and (out["buy"] == 0.0).all()


def test_cipher_a_signals_the_ribbon_turning_up_once() -> None:
    close = np.r_[np.linspace(150.0, 100.0, 80), np.linspace(100.0, 150.0, 80)]
    bars = pd.DataFrame({"high": close + 0.5, "low": close - 0.5, "close": close})
    out = compute(bars, "cipher_a").dropna()
    assert out["long_ema"].sum() == 1.0 and out["short_ema"].sum() == 0.0
    turn = out.index[out["long_ema"] == 1.0][0]
    assert out.loc[turn, "ema11"] > out.loc[turn, "ema34"] and turn > 80
