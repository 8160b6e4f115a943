"""Ehlers' filters and Jurik's RSX: values worked out by hand on short series, and their edge cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neurotrade.errors import IndicatorError
from neurotrade.indicators import compute, get, stream
from neurotrade.indicators._ehlers import rolling_max


def closes(*values: float) -> pd.DataFrame:
    return pd.DataFrame({"close": np.array(values, dtype=np.float64)})


def medians(*values: float) -> pd.DataFrame:
    """Bars whose high and low are both the given price, so (high + low)/2 is that price."""
    prices = np.array(values, dtype=np.float64)
    return pd.DataFrame({"high": prices, "low": prices, "close": prices})


# --- rolling maximum ----------------------------------------------------------------------------
@pytest.mark.parametrize("window", [1, 2, 3, 7, 10])
@pytest.mark.parametrize("shape", ["random", "rising", "falling", "ties"])
def test_rolling_max_equals_pandas(window: int, shape: str) -> None:
    rng = np.random.default_rng(window)
    x = {
        "random": rng.normal(size=200),
        "rising": np.arange(200.0),
        "falling": -np.arange(200.0),
        "ties": rng.integers(0, 3, size=200).astype(np.float64),
    }[shape]
    buffer = np.full(window, -np.inf)
    position, prefix = 0, -np.inf
    ours = []
    for value in x:
        position, prefix, highest = rolling_max(buffer, position, prefix, value)
        ours.append(highest)
    expected = pd.Series(x).rolling(window, min_periods=1).max().to_numpy()
    np.testing.assert_array_equal(ours, expected)


# --- Laguerre RSI -------------------------------------------------------------------------------
def test_laguerre_rsi_without_damping_is_an_rsi_of_the_last_four_closes() -> None:
    # gamma = 0: L0..L3 are the last four closes (the first close fills the missing ones).
    # bar 1: 2,1,1,1 -> CU 1, CD 0 -> 1;  bar 2: 4,2,1,1 -> CU 3 -> 1
    # bar 3: 3,4,2,1 -> CD 1, CU 2 + 1 -> 3/4;  bar 4: 5,3,4,2 -> CU 2 + 2, CD 1 -> 4/5
    out = compute(closes(1.0, 2.0, 4.0, 3.0, 5.0), "laguerre_rsi", gamma=0.0)["laguerre_rsi"]
    np.testing.assert_array_equal(out.to_numpy(), [np.nan, 1.0, 1.0, 0.75, 0.8])


def test_laguerre_rsi_first_step_by_hand() -> None:
    # gamma = 0.5, closes 10 then 12: L0 = .5*12 + .5*10 = 11; L1 = -.5*11 + 10 + .5*10 = 9.5;
    # L2 = -.5*9.5 + 10 + 5 = 10.25; L3 = -.5*10.25 + 10 + 5 = 9.875.
    # CU = (11 - 9.5) + (10.25 - 9.875) = 1.875, CD = 10.25 - 9.5 = .75 -> 1.875/2.625 = 5/7.
    out = compute(closes(10.0, 12.0), "laguerre_rsi", gamma=0.5)["laguerre_rsi"]
    assert math.isnan(out.iloc[0])
    assert out.iloc[1] == pytest.approx(5 / 7, rel=1e-15)


def test_laguerre_rsi_holds_its_value_while_nothing_moves() -> None:
    out = compute(closes(*[50.0] * 10), "laguerre_rsi")["laguerre_rsi"].to_numpy()
    np.testing.assert_array_equal(out[1:], 0.5)
    rising_then_flat = compute(closes(1.0, 2.0, 3.0, *[3.0] * 200), "laguerre_rsi")["laguerre_rsi"].to_numpy()
    # Once the stages have converged on the flat price, the last reading (all rises) stays.
    assert rising_then_flat[-1] == 1.0


def test_laguerre_rsi_refuses_gamma_of_one() -> None:
    with pytest.raises(IndicatorError, match=r"gamma: must be a number from 0 to 0\.99, got 1\.0"):
        compute(closes(1.0, 2.0), "laguerre_rsi", gamma=1.0)


# --- RSX ----------------------------------------------------------------------------------------
def test_rsx_by_hand() -> None:
    # period 4: a = 3/(4 + 2) = 1/2 = b, so each stage is s = (s[1] + u)/2, r = (s + r[1])/2,
    # out = 1.5 s - .5 r. Closes 1, 1.5, 1.25, 1.75, 1.5, 2 give v = 100*change = 50, -25, 50, -25,
    # 50; after three stages v -> 8375/512 and |v| -> 38925/1024 on bar 5, the first after the
    # warm-up of max(4 - 1, 5) bars: RSX = 50*(8375/512 / (38925/1024) + 1) = 111350/1557.
    out = compute(closes(1.0, 1.5, 1.25, 1.75, 1.5, 2.0), "rsx", period=4)["rsx"]
    assert out.iloc[:5].isna().all()
    assert out.iloc[5] == pytest.approx(111350 / 1557, rel=1e-13)
    assert get("rsx").warmup(period=4) == 5 and get("rsx").warmup(period=14) == 13


def test_rsx_is_100_in_a_steady_rise_0_in_a_fall_and_50_when_flat() -> None:
    rising = np.linspace(100.0, 130.0, 40)
    # The stages treat v and |v| identically, so a rise gives exactly 1 as their ratio.
    np.testing.assert_array_equal(compute(closes(*rising), "rsx")["rsx"].to_numpy()[13:], 100.0)
    np.testing.assert_array_equal(compute(closes(*rising[::-1]), "rsx")["rsx"].to_numpy()[13:], 0.0)
    np.testing.assert_array_equal(compute(closes(*[7.0] * 40), "rsx")["rsx"].to_numpy()[13:], 50.0)


# --- Fisher transform ---------------------------------------------------------------------------
def test_fisher_by_hand() -> None:
    # period 2, median prices 1, 2, 3 each at the top of its two-bar range (place 1):
    # bar 1: Value1 = .66*.5 = .33, Fisher = .5*ln(1.33/.67) (no output: the trigger needs bar 0's)
    # bar 2: Value1 = .33 + .67*.33 = .5511, Fisher = .5*ln(1.5511/.4489) + .5*Fisher[1].
    out = compute(medians(1.0, 2.0, 3.0), "fisher", period=2)
    first = 0.5 * math.log(1.33 / 0.67)
    second = 0.5 * math.log(1.5511 / 0.4489) + 0.5 * first
    assert out.iloc[:2].isna().all().all()
    assert out["fisher"].iloc[2] == pytest.approx(second, rel=1e-12)
    assert out["trigger"].iloc[2] == pytest.approx(first, rel=1e-12)


def test_fisher_clips_value1_as_published_and_is_zero_without_range() -> None:
    steady = compute(medians(*np.arange(1.0, 80.0)), "fisher", period=5)["fisher"].to_numpy()
    # Value1 climbs towards 1 and is set to .999 past .99; Fisher then converges to ln(1999).
    assert steady[-1] == pytest.approx(math.log(1999.0), rel=1e-9)
    flat = compute(medians(*[3.0] * 20), "fisher", period=5)
    np.testing.assert_array_equal(flat.to_numpy()[5:], 0.0)


# --- Cyber cycle --------------------------------------------------------------------------------
def test_cyber_cycle_by_hand_on_a_parabola() -> None:
    # price = t**2 + 1: every second difference is 2, of the price and of its smoothing (weights
    # summing to 1). Bars 2-5 are seeded with (second difference)/4 = .5; on bar 6,
    # Cycle = (1 - .035)**2 * 2 + 2*.93*.5 - .93**2 * .5 = 1.86245 + .93 - .43245 = 2.36.
    t = np.arange(10.0)
    out = compute(medians(*(t**2 + 1.0)), "cyber_cycle", alpha=0.07)
    assert out.iloc[:6].isna().all().all()
    assert out["cycle"].iloc[6] == pytest.approx(2.36, rel=1e-12)
    assert out["trigger"].iloc[6] == 0.5
    assert out["trigger"].iloc[7] == out["cycle"].iloc[6]


def test_cyber_cycle_of_a_straight_line_is_zero() -> None:
    out = compute(medians(*np.arange(1.0, 30.0)), "cyber_cycle")
    np.testing.assert_array_equal(out.to_numpy()[6:], 0.0)


# --- Roofing filter and decycler ----------------------------------------------------------------
def _alpha1(hp_period: float) -> float:
    angle = math.radians(0.707 * 360 / hp_period)
    return (math.cos(angle) + math.sin(angle) - 1) / math.cos(angle)


def test_roofing_by_hand() -> None:
    # Closes 1, 1, 2: the first second difference is 1, HP and Filt are 0 before it, so
    # HP = (1 - alpha1/2)**2 and Filt = c1*HP/2 with c1 = 1 - b1 + a1**2.
    out = compute(closes(1.0, 1.0, 2.0), "roofing", hp_period=48, lp_period=10)["roofing"]
    a1 = math.exp(-1.414 * 3.14159 / 10)
    b1 = 2 * a1 * math.cos(math.radians(1.414 * 180 / 10))
    hp = (1 - _alpha1(48) / 2) ** 2
    assert out.iloc[:2].isna().all()
    assert out.iloc[2] == pytest.approx((1 - b1 + a1 * a1) * hp / 2, rel=1e-12)


def test_roofing_removes_a_linear_trend_and_decycler_keeps_it() -> None:
    line = np.arange(100.0, 160.0)
    np.testing.assert_array_equal(compute(closes(*line), "roofing")["roofing"].to_numpy()[2:], 0.0)
    np.testing.assert_array_equal(compute(closes(*line), "decycler")["decycler"].to_numpy()[2:], line[2:])


def test_decycler_by_hand() -> None:
    # Closes 1, 1, 2, 2: HP = k (k = (1 - alpha1/2)**2) on bar 2, then k*(2 - 4 + 1) + 2*(1 - alpha1)*k.
    out = compute(closes(1.0, 1.0, 2.0, 2.0), "decycler", hp_period=20)["decycler"]
    alpha1 = _alpha1(20)
    k = (1 - alpha1 / 2) ** 2
    assert out.iloc[2] == pytest.approx(2.0 - k, rel=1e-12)
    assert out.iloc[3] == pytest.approx(2.0 - (-k + 2 * (1 - alpha1) * k), rel=1e-12)


def test_roofing_needs_a_high_pass_longer_than_its_low_pass() -> None:
    with pytest.raises(IndicatorError, match=r"hp_period: must be greater than lp_period \(10\), got 10"):
        compute(closes(1.0, 2.0, 3.0), "roofing", hp_period=10, lp_period=10)


def test_streaming_an_ehlers_filter_matches_the_batch() -> None:
    bars = medians(*(100.0 + np.sin(np.arange(60.0) / 3.0)))
    live = stream("cyber_cycle")
    values = [live.update(row)["cycle"] for _, row in bars.iterrows()]
    np.testing.assert_array_equal(values, compute(bars, "cyber_cycle")["cycle"].to_numpy())
