"""Directional movement, Aroon, SAR and TRIX: small cases by hand, and the edges worth pinning.

All of them have TA-Lib twins, so the generic parity tests check them over random bars. Here a
few bars show each definition at work, and the places a kernel could go wrong are pinned: ties
and block boundaries of Aroon's rolling extremes, the first trend and the acceleration cap of
the SAR, DX where it cannot be formed, and TRIX on a zero triple EMA.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from neurotrade.errors import IndicatorError
from neurotrade.indicators import compute, get


def _bars(high, low, close=None) -> pd.DataFrame:
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    close = (high + low) / 2 if close is None else np.asarray(close, dtype=np.float64)
    index = pd.date_range("2024-01-01", periods=len(high), freq="D", tz="UTC", name="time")
    return pd.DataFrame({"open": close, "high": high, "low": low, "close": close, "volume": 1.0}, index=index)


# --- directional movement -------------------------------------------------------------------------
# Bar 1: +DM 2 (high up 2, low up), TR 3. Bar 2: -DM 2 (low down 2, high down), TR 4. Wilder's sums
# over 2 bars: +DM 2 - 1 + 0 = 1, -DM 0 + 2 = 2, TR 3 - 1.5 + 4 = 5.5. Bar 3: +DM 2, TR 5:
# +DM 1 - 0.5 + 2 = 2.5, -DM 2 - 1 = 1, TR 5.5 - 2.75 + 5 = 7.75.
DM_BARS = _bars([10, 12, 11, 13], [8, 9, 7, 10], [9, 11, 8, 12])


def test_directional_indicators_by_hand() -> None:
    plus = compute(DM_BARS, "plus_di", period=2)["plus_di"].tolist()
    minus = compute(DM_BARS, "minus_di", period=2)["minus_di"].tolist()
    dx = compute(DM_BARS, "dx", period=2)["dx"].tolist()
    assert np.isnan(plus[:2] + minus[:2] + dx[:2]).all()
    assert plus[2:] == pytest.approx([100 / 5.5, 250 / 7.75], rel=1e-14)
    assert minus[2:] == pytest.approx([200 / 5.5, 100 / 7.75], rel=1e-14)
    # |-DI - +DI| / (-DI + +DI): (2 - 1) / (2 + 1), then (2.5 - 1) / (2.5 + 1).
    assert dx[2:] == pytest.approx([100 / 3, 150 / 3.5], rel=1e-14)


def test_dx_without_direction_is_zero_then_repeats_itself() -> None:
    # Identical bars: no range at all, so no DI; TA-Lib reports 0 and then repeats the last DX.
    flat = _bars(np.full(12, 11.0), np.full(12, 10.0), np.full(12, 10.5))
    dx = compute(flat, "dx", period=3)["dx"].to_numpy()
    assert np.isnan(dx[:3]).all() and (dx[3:] == 0.0).all()
    assert (compute(flat, "plus_di", period=3)["plus_di"].to_numpy()[3:] == 0.0).all()
    # Once the price moves, DX forms again and matches TA-Lib.
    moved = _bars(np.r_[np.full(12, 11.0), 12.0, 13.0], np.r_[np.full(12, 10.0), 11.0, 12.0])
    ours = compute(moved, "dx", period=3)["dx"].to_numpy()
    assert np.array_equal(ours, talib.DX(moved["high"], moved["low"], moved["close"], 3), equal_nan=True)
    assert ours[-1] == 100.0


def test_adxr_is_the_mean_of_adx_now_and_period_minus_one_bars_ago(ohlcv: pd.DataFrame) -> None:
    adx = compute(ohlcv, "adx", period=5)["adx"].to_numpy()
    adxr = compute(ohlcv, "adxr", period=5)["adxr"].to_numpy()
    warmup = get("adxr").warmup(period=5)
    assert warmup == 3 * 5 - 2
    assert np.isnan(adxr[:warmup]).all()
    assert np.array_equal(adxr[warmup:], (adx[warmup:] + adx[warmup - 4 : -4]) * 0.5)


# --- Aroon ----------------------------------------------------------------------------------------
def test_aroon_by_hand_with_a_tie_going_to_the_latest_bar() -> None:
    # period 2: windows of 3 bars. Highs 5 7 6 6 4: the highest high is 1, 2 and (a tie of 6s, the
    # later one) 1 bar old at bars 2, 3, 4. Lows 3 4 2 5 1: the lowest low is 0, 1 and 0 bars old.
    bars = _bars([5, 7, 6, 6, 4], [3, 4, 2, 5, 1])
    out = compute(bars, "aroon", period=2)
    assert out.iloc[:2].isna().all().all()
    assert out["up"].tolist()[2:] == [50.0, 0.0, 50.0]
    assert out["down"].tolist()[2:] == [100.0, 50.0, 100.0]
    assert compute(bars, "aroonosc", period=2)["aroonosc"].tolist()[2:] == [-50.0, -50.0, -50.0]


@pytest.mark.parametrize("period", [2, 7, 50])
def test_aroon_matches_talib_on_long_one_way_runs(period: int) -> None:
    # Falling highs for 400 bars: the highest high always just left the window (TA-Lib rescans it
    # every bar); then rising lows. Plateaus make ties at every block boundary.
    down = 200.0 - np.arange(400.0)
    up = np.arange(400.0)
    plateau = np.repeat(np.arange(40.0), 10)
    high = np.r_[down, up, plateau] + 300.0
    low = high - 1.0
    bars = _bars(high, low)
    down_ref, up_ref = talib.AROON(high, low, period)
    out = compute(bars, "aroon", period=period)
    assert np.array_equal(out["down"].to_numpy(), down_ref, equal_nan=True)
    assert np.array_equal(out["up"].to_numpy(), up_ref, equal_nan=True)
    osc = compute(bars, "aroonosc", period=period)["aroonosc"].to_numpy()
    assert np.array_equal(osc, talib.AROONOSC(high, low, period), equal_nan=True)


# --- SAR ------------------------------------------------------------------------------------------
def test_sar_by_hand() -> None:
    # Bar 1 rises (no -DM): long, the SAR starts at bar 0's low 9 with ep 10.5, af 0.02:
    # 9 + 0.02 * 1.5 = 9.03; new high 11 -> af 0.04: 9.03 + 0.04 * 1.97 = 9.1088; new high 11.2 ->
    # af 0.06: 9.234272. Bar 4's low 9.0 crosses it: short, the SAR jumps to the extreme 11.2.
    bars = _bars([10, 10.5, 11, 11.2, 10.8], [9, 9.5, 10, 10.5, 9.0])
    out = compute(bars, "sar")["sar"].tolist()
    assert np.isnan(out[0])
    assert out[1:] == pytest.approx([9.0, 9.03, 9.1088, 11.2], rel=1e-14)


def test_sar_starts_short_when_the_second_bar_falls() -> None:
    # Bar 1's low falls (and its high does not rise): short, the SAR starts at bar 0's high.
    bars = _bars([10, 9.9, 9.8, 9.5], [9, 8.5, 8.4, 8.0])
    out = compute(bars, "sar")["sar"].to_numpy()
    assert out[1] == 10.0
    assert np.array_equal(out, talib.SAR(bars["high"], bars["low"]), equal_nan=True)


def test_sar_acceleration_is_capped_at_the_maximum(ohlcv: pd.DataFrame) -> None:
    # As in TA-Lib, an acceleration above the maximum behaves as the maximum itself.
    capped = compute(ohlcv, "sar", acceleration=0.5, maximum=0.1)["sar"].to_numpy()
    plain = compute(ohlcv, "sar", acceleration=0.1, maximum=0.1)["sar"].to_numpy()
    assert np.array_equal(capped, plain, equal_nan=True)


def test_sar_parameters_are_checked() -> None:
    with pytest.raises(IndicatorError, match=r"acceleration: must be a number > 0 and <= 1, got 0"):
        compute(_bars([1.0, 2.0], [0.5, 1.5]), "sar", acceleration=0)


# --- TRIX -----------------------------------------------------------------------------------------
def test_trix_is_zero_where_the_triple_ema_is_zero() -> None:
    # Outside the OHLCV contract (prices must be positive), but compute() accepts it: TA-Lib's 0.
    out = compute(_bars(np.zeros(20), np.zeros(20)), "trix", period=3)["trix"].to_numpy()
    warmup = get("trix").warmup(period=3)
    assert warmup == 3 * 2 + 1
    assert np.isnan(out[:warmup]).all() and (out[warmup:] == 0.0).all()


def test_trix_is_the_rate_of_change_of_the_triple_ema(ohlcv: pd.DataFrame) -> None:
    close = ohlcv["close"].to_numpy()
    e3 = talib.EMA(talib.EMA(talib.EMA(close, 4)[3:], 4)[3:], 4)[3:]
    out = compute(ohlcv, "trix", period=4)["trix"].to_numpy()
    np.testing.assert_allclose(out[10:], 100.0 * (e3[1:] / e3[:-1] - 1.0), rtol=1e-9)
