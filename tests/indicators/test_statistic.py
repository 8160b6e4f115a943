"""TA-Lib's statistic and price-transform studies beyond the registry-wide contract tests: known values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from neurotrade.indicators import compute


def _bars(high: np.ndarray, low: np.ndarray | None = None) -> pd.DataFrame:
    low = high if low is None else low
    return pd.DataFrame({"open": low, "high": high, "low": low, "close": (high + low) / 2.0})


def test_a_straight_line_is_its_own_regression() -> None:
    close = 10.0 + 0.5 * np.arange(20.0)
    bars = pd.DataFrame({"close": close})
    assert compute(bars, "linearreg", period=5)["linearreg"].to_numpy()[4:] == pytest.approx(close[4:], rel=1e-12)
    assert compute(bars, "tsf", period=5)["tsf"].to_numpy()[4:] == pytest.approx(close[4:] + 0.5, rel=1e-12)
    assert compute(bars, "linearreg_intercept", period=5)["intercept"].to_numpy()[4:] == pytest.approx(close[:-4])
    angle = compute(bars, "linearreg_angle", period=5)["angle"].to_numpy()[4:]
    assert angle == pytest.approx(np.degrees(np.arctan(0.5)))


def test_correl_and_beta_of_proportional_series() -> None:
    high = 100.0 * np.exp(np.cumsum(np.random.default_rng(1).normal(0.0, 0.01, 200)))
    bars = _bars(high, 0.5 * high)
    assert compute(bars, "correl", period=10)["correl"].to_numpy()[9:] == pytest.approx(1.0, abs=1e-12)
    # The returns of half the series are the same returns: a slope of 1.
    assert compute(bars, "beta", period=10)["beta"].to_numpy()[10:] == pytest.approx(1.0, abs=1e-9)


def test_correl_is_zero_where_a_window_is_flat() -> None:
    high = np.r_[np.linspace(10.0, 12.0, 10), np.full(10, 12.0)]
    out = compute(_bars(high, high - 1.0 + np.sin(np.arange(20.0))), "correl", period=5)["correl"].to_numpy()
    assert (out[-5:] == 0.0).all() and np.isnan(out[:4]).all()


@pytest.mark.parametrize("name", ["correl", "beta", "var"])
def test_stays_equal_to_talib_on_a_long_low_volatility_series(name: str) -> None:
    # Running sums of raw values lose every digit here; TA-Lib 0.8 re-centres them, and so do the kernels.
    rng = np.random.default_rng(3)
    high = 1.1 * np.exp(np.cumsum(rng.normal(0.0, 1e-4, 40_000)))
    low = high * (1.0 - np.abs(rng.normal(0.0, 1e-5, 40_000)))
    bars = _bars(high, low)
    two_series = name != "var"
    theirs = getattr(talib, name.upper())(high, low, 20) if two_series else talib.VAR(bars["close"].to_numpy(), 20)
    ours = compute(bars, name, period=20)[name].to_numpy()
    assert np.array_equal(ours, theirs, equal_nan=True)


def test_price_transforms_of_one_bar() -> None:
    bar = pd.DataFrame({"open": [1.0], "high": [4.0], "low": [0.5], "close": [2.5]})
    assert compute(bar, "avgprice")["avgprice"].iloc[0] == 2.0
    assert compute(bar, "medprice")["medprice"].iloc[0] == 2.25
    assert compute(bar, "typprice")["typprice"].iloc[0] == pytest.approx(7.0 / 3.0)
    assert compute(bar, "wclprice")["wclprice"].iloc[0] == 2.375
