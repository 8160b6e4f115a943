"""Channels and trailing levels: values worked out by hand, and the edges worth pinning.

The generic tests (causality, streaming, warm-up, the plain references) cover every indicator
over random bars; here each one is checked on a few bars whose values follow from its published
definition with pencil and paper, plus the places where a careless kernel would go wrong: zero
volume, flat markets, long series whose price level collapses, and block boundaries of the
rolling extremes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from neurotrade.errors import IndicatorError
from neurotrade.indicators import check_params, compute, get, validate_params
from neurotrade.indicators._registry import entry


def _bars(rows: list[tuple[float, ...]], columns: str = "high low close") -> pd.DataFrame:
    """Bars from (high, low, close[, volume]) tuples; open is the close, so every bar is valid."""
    names = columns.split()
    frame = pd.DataFrame(rows, columns=names, dtype=np.float64)
    frame.insert(0, "open", frame["close"])
    if "volume" not in frame:
        frame["volume"] = 1000.0
    frame.index = pd.date_range("2024-01-01", periods=len(frame), freq="D", tz="UTC", name="time")
    return frame


def _row(frame: pd.DataFrame, i: int) -> list[float]:
    return frame.iloc[i].tolist()


# Shared by SuperTrend and the chandelier exit. True ranges from bar 1: 2, 2, 4, 4.5, so Wilder's
# ATR(2) is 2 at bar 2, (2 + 4) / 2 = 3 at bar 3 and (3 + 4.5) / 2 = 3.75 at bar 4.
TREND_BARS = [(11, 9, 10), (12, 10, 11), (13, 11, 12), (16, 14, 15.5), (15, 11, 11.5)]


# --- values by hand -------------------------------------------------------------------------------
def test_keltner_by_hand() -> None:
    bars = _bars([(11, 9, 10), (12, 10, 11), (13, 11, 12), (12, 8, 9)])
    out = compute(bars, "keltner", period=2, atr_period=2, multiplier=2.0)
    # EMA(2), alpha 2/3: seeded at bar 1 with (10 + 11) / 2 = 10.5; bar 2: 10.5 + (12 - 10.5) * 2/3 = 11.5;
    # bar 3: 11.5 + (9 - 11.5) * 2/3. True ranges 2, 2, 4: ATR(2) = 2 at bar 2, then (2 + 4) / 2 = 3.
    assert out.iloc[:2].isna().all().all()
    assert _row(out, 2) == pytest.approx([15.5, 11.5, 7.5], rel=1e-12)
    middle = 11.5 - 2.5 * 2 / 3
    assert _row(out, 3) == pytest.approx([middle + 6.0, middle, middle - 6.0], rel=1e-12)


def test_donchian_by_hand() -> None:
    bars = _bars([(5, 3, 4), (7, 4, 5), (6, 2, 3), (4, 1, 2), (8, 5, 6)])
    out = compute(bars, "donchian", period=3)
    assert out.iloc[:2].isna().all().all()
    assert [_row(out, i) for i in (2, 3, 4)] == [[7.0, 4.5, 2.0], [7.0, 4.0, 1.0], [8.0, 4.5, 1.0]]


def test_vwap_by_hand_and_a_window_without_volume() -> None:
    # Typical prices 10, 11, 12, 13, 14.
    bars = _bars(
        [(12, 9, 9, 100), (13, 10, 10, 300), (14, 11, 11, 0), (15, 12, 12, 0), (16, 13, 13, 50)],
        "high low close volume",
    )
    out = compute(bars, "vwap", period=2)["vwap"].tolist()
    assert np.isnan(out[0])
    # (10 * 100 + 11 * 300) / 400; then 11 alone has volume; then none: the plain mean (12 + 13) / 2.
    assert out[1:] == pytest.approx([10.75, 11.0, 12.5, 14.0], rel=1e-15)


def test_cmf_by_hand() -> None:
    # Money-flow multipliers: +1, -1, 0 (high == low), 0.5, 0.5, 0.5.
    bars = _bars(
        [(10, 8, 10, 100), (10, 8, 8, 300), (9, 9, 9, 200), (10, 6, 9, 100), (10, 6, 9, 0), (10, 6, 9, 0)],
        "high low close volume",
    )
    out = compute(bars, "cmf", period=2)["cmf"].tolist()
    assert np.isnan(out[0])
    # (100 - 300) / 400; -300 / 500; 50 / 300; 50 / 100; and a window without volume moves no money.
    assert out[1:] == pytest.approx([-0.5, -0.6, 1 / 6, 0.5, 0.0], rel=1e-15)


def test_supertrend_by_hand() -> None:
    out = compute(_bars(TREND_BARS), "supertrend", period=2, multiplier=1.0)
    assert out.iloc[:2].isna().all().all()
    # Bar 2: bands 12 +/- 2; the first bar starts in a downtrend, on the upper band.
    # Bar 3: bands 15 +/- 3; the upper band may not rise (stays 14), the lower rises to 12; the close
    #        15.5 is above 14: the trend turns up and the line drops to the lower band.
    # Bar 4: bands 13 +/- 3.75; the lower band may not fall (stays 12); the upper band is reset to
    #        16.75 because the previous close was above it; the close 11.5 is below 12: down again.
    assert [_row(out, i) for i in (2, 3, 4)] == [[14.0, -1.0], [12.0, 1.0], [16.75, -1.0]]


def test_ichimoku_by_hand_without_displacement() -> None:
    bars = _bars([(5, 3, 4), (7, 4, 5), (6, 2, 3), (4, 1, 2), (8, 5, 6)])
    out = compute(bars, "ichimoku", tenkan=2, kijun=3, senkou=4)
    assert out.iloc[:3].isna().all().all()
    # Bar 3: tenkan (6 + 1) / 2 over bars 2-3, kijun (7 + 1) / 2 over 1-3, senkou B (7 + 1) / 2 over
    # 0-3, all reported at bar 3 itself; senkou A is the mean of tenkan and kijun.
    assert _row(out, 3) == [3.5, 4.0, 3.75, 4.0]
    assert _row(out, 4) == [4.5, 4.5, 4.5, 4.5]


def test_chandelier_by_hand() -> None:
    out = compute(_bars(TREND_BARS), "chandelier", period=2, atr_period=2, multiplier=1.0)
    assert out.iloc[:2].isna().all().all()
    # Highest highs 13, 16, 16 and lowest lows 10, 11, 11 over two bars; ATR 2, 3, 3.75.
    assert [_row(out, i) for i in (2, 3, 4)] == [[11.0, 12.0], [13.0, 14.0], [12.25, 14.75]]


def test_ssl_by_hand() -> None:
    bars = _bars([(10, 8, 9), (12, 10, 11), (14, 12, 13.5), (11, 7, 8), (11, 9, 10)])
    out = compute(bars, "ssl", period=2)
    assert out.iloc[:1].isna().all().all()
    # SMA(high) 11, 13, 12.5, 11 and SMA(low) 9, 11, 9.5, 8. Bar 1: the close sits between them and
    # the switch starts neutral (up = SMA high); bar 2: 13.5 > 13, up; bar 3: 8 < 9.5, down, so the
    # lines swap; bar 4: 10 is between 8 and 11 and the switch stays down.
    assert [_row(out, i) for i in (1, 2, 3, 4)] == [[11.0, 9.0], [13.0, 11.0], [9.5, 12.5], [8.0, 11.0]]


def test_ttm_squeeze_by_hand_on_a_steady_rise() -> None:
    # close = t, high = t + 0.5, low = t - 0.5. Over 3 bars: SMA = t - 1, midpoint of the extremes
    # (t + 0.5 + t - 2.5) / 2 = t - 1, so the detrended close is t - (t - 1) = 1 on every bar and
    # the regression line through it is 1. Std of (t-2, t-1, t) = sqrt(2/3): the bands are
    # +/- 1.633 inside the channel's +/- 1.5 * 1.5 (every true range is 1.5).
    t = np.arange(10.0, 20.0)
    bars = _bars(list(zip(t + 0.5, t - 0.5, t, strict=True)))
    out = compute(bars, "ttm_squeeze", period=3, bb_mult=2.0, kc_mult=1.5)
    assert out.iloc[:4].isna().all().all()
    assert out["squeeze_on"].iloc[4:].tolist() == [1.0] * 6
    assert out["momentum"].iloc[4:].to_numpy() == pytest.approx(np.ones(6), rel=1e-12)


def test_ttm_squeeze_by_hand_when_the_bands_break_out() -> None:
    bars = _bars([(11, 9, 10), (12, 10, 11), (12, 10, 11), (19.1, 18.9, 19)])
    out = compute(bars, "ttm_squeeze", period=2, bb_mult=2.0, kc_mult=1.5)
    # Bar 2: closes 11, 11 have no spread, the channel is 11 +/- 1.5 * 2: squeezed. The detrended
    # closes are 0.5 (bar 1: 11 - (10.5 + 10.5) / 2) and 0 (bar 2), and a line through two points
    # passes through the last one.
    assert _row(out, 2) == [1.0, 0.0]
    # Bar 3: bands 15 +/- 2 * 4 against the channel 15 +/- 1.5 * (2 + 8.1) / 2 = 15 +/- 7.575: no
    # squeeze. Detrended close 19 - ((19.1 + 10) / 2 + 15) / 2 = 4.225.
    assert _row(out, 3) == pytest.approx([0.0, 4.225], rel=1e-12)


def test_alligator_by_hand() -> None:
    medians = [10.0, 12.0, 14.0, 16.0, 18.0]
    out = compute(_bars([(m + 1, m - 1, m) for m in medians]), "alligator", jaw=4, teeth=3, lips=2)
    assert out.iloc[:3].isna().all().all()
    # jaw: SMA of the first four medians 13, then (13 * 3 + 18) / 4; teeth: 12, (12 * 2 + 16) / 3,
    # then (40/3 * 2 + 18) / 3; lips: 11, 12.5, 14.25, 16.125.
    assert _row(out, 3) == pytest.approx([13.0, 40 / 3, 14.25], rel=1e-14)
    assert _row(out, 4) == pytest.approx([57 / 4, 134 / 9, 16.125], rel=1e-14)


def test_vortex_by_hand() -> None:
    bars = _bars([(11, 9, 10), (12, 10, 11), (13, 10.5, 12)])
    out = compute(bars, "vortex", period=2)
    # VM+ = |12 - 9| + |13 - 10| = 6, VM- = |10 - 11| + |10.5 - 12| = 2.5, true ranges 2 + 2.5.
    assert _row(out, 2) == pytest.approx([6 / 4.5, 2.5 / 4.5], rel=1e-15)


def test_chaikin_volatility_by_hand() -> None:
    bars = _bars([(11, 9, 10), (12, 8, 10), (13, 7, 10), (11.5, 8.5, 10)])
    out = compute(bars, "chaikin_volatility", period=2, roc_period=1)["chaikin_volatility"]
    # Ranges 2, 4, 6, 3; EMA(2): 3 at bar 1, 3 + 3 * 2/3 = 5, 5 - 2 * 2/3 = 11/3.
    assert out.iloc[:2].isna().all()
    assert out.iloc[2:].tolist() == pytest.approx([(5 / 3 - 1) * 100, (11 / 15 - 1) * 100], rel=1e-12)


def test_damiani_by_hand() -> None:
    bars = _bars([(11, 9, 10), (12, 10, 11), (13, 11, 12), (16, 12, 15), (15, 13, 14), (15, 13, 14), (15, 13, 14)])
    out = compute(bars, "damiani", vis_atr=2, vis_std=2, sed_atr=3, sed_std=3, level=1.4, lag=0.5)
    assert out.iloc[:3].isna().all().all()
    # True ranges 2, 2, 4, 2, 2, 2. ATR(2): 2, 3, 2.5, 2.25, 2.125 from bar 2; ATR(3): 8/3, 22/9,
    # 62/27, 178/81 from bar 3. The lag suppressor adds half of vol one bar back minus three back.
    vol3 = 3 / (8 / 3)
    vol4 = 2.5 / (22 / 9) + 0.5 * vol3
    vol5 = 2.25 / (62 / 27) + 0.5 * vol4
    vol6 = 2.125 / (178 / 81) + 0.5 * (vol5 - vol3)
    assert out["vol"].iloc[3:].tolist() == pytest.approx([vol3, vol4, vol5, vol6], rel=1e-12)
    # Bar 3: std(12, 15) = 1.5 over std(11, 12, 15) = sqrt(26/9). Bars 5-6: the short window is
    # flat, so its std is 0 (and at bar 6 the long one too: 0 / 0 counts as 0).
    assert out["threshold"].iloc[3:].tolist() == pytest.approx(
        [1.4 - 1.5 / np.sqrt(26 / 9), 1.4 - 0.5 / np.sqrt(14 / 9), 1.4, 1.4], rel=1e-12
    )


# --- agreement with TA-Lib's building blocks ------------------------------------------------------
def test_keltner_is_talib_ema_and_atr_bit_for_bit(ohlcv: pd.DataFrame) -> None:
    bars = ohlcv
    high, low, close = (bars[c].to_numpy() for c in ("high", "low", "close"))
    out = compute(bars, "keltner", period=20, atr_period=10, multiplier=2.0)
    ema = talib.EMA(close, timeperiod=20)
    atr = talib.ATR(high, low, close, timeperiod=10)
    np.testing.assert_array_equal(out["middle"].to_numpy(), ema)
    np.testing.assert_array_equal(out["upper"].to_numpy(), ema + atr * 2.0)
    np.testing.assert_array_equal(out["lower"].to_numpy(), ema - atr * 2.0)


@pytest.mark.parametrize("n", [2, 3, 7, 50])
def test_donchian_is_talib_max_and_min_at_every_block_boundary(ohlcv: pd.DataFrame, n: int) -> None:
    bars = ohlcv
    out = compute(bars, "donchian", period=n)
    np.testing.assert_array_equal(out["upper"].to_numpy(), talib.MAX(bars["high"].to_numpy(), n))
    np.testing.assert_array_equal(out["lower"].to_numpy(), talib.MIN(bars["low"].to_numpy(), n))


@pytest.mark.parametrize("name", ["donchian", "ichimoku", "ttm_squeeze", "damiani", "vwap"])
def test_chunks_of_any_size_continue_the_same_series(ohlcv_flat: pd.DataFrame, name: str) -> None:
    found = entry(name)
    bars = ohlcv_flat.iloc[:700]
    x = np.ascontiguousarray(bars[list(found.info.inputs)].to_numpy())
    params = np.array([float(v) for v in validate_params(name).values()])
    whole = np.empty((len(x), len(found.info.outputs)))
    found.update(found.init(params), params, x, whole)
    state = found.init(params)
    pieces = []
    for chunk in np.array_split(x, [3, 4, 60, 61, 200, 333, 334, 500]):
        out = np.empty((len(chunk), len(found.info.outputs)))
        found.update(state, params, np.ascontiguousarray(chunk), out)
        pieces.append(out)
    np.testing.assert_array_equal(np.vstack(pieces), whole)


# --- edges ----------------------------------------------------------------------------------------
def _collapse(bars: pd.DataFrame) -> pd.DataFrame:
    """The bars' first three quarters near 10,000, then a fall to near 1."""
    scale = np.where(np.arange(len(bars)) < len(bars) * 3 // 4, 100.0, 0.01)
    return bars.assign(**{c: bars[c] * scale for c in ("open", "high", "low", "close")})


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("vwap", {"period": 20}),
        ("cmf", {"period": 20}),
        ("vortex", {"period": 14}),
        ("ttm_squeeze", {"period": 20}),
        ("ichimoku", {}),
    ],
)
def test_rolling_sums_keep_full_precision_after_the_price_level_collapses(
    ohlcv: pd.DataFrame, name: str, params: dict
) -> None:
    # Each of these depends on a finite window only, so the tail computed on its own must agree
    # with the tail of the long series: sums slid from 10,000 down to 1 without being re-summed
    # would carry the rounding of the old level (~1e-12 of 10,000) into values near 1.
    bars = _collapse(ohlcv)
    long = compute(bars, name, **params).iloc[-300:]
    fresh = compute(bars.iloc[-400:], name, **params).iloc[-300:]
    np.testing.assert_allclose(long.to_numpy(), fresh.to_numpy(), rtol=1e-13, atol=1e-15)


def test_a_flat_market_gives_defined_values() -> None:
    bars = _bars([(10.0, 10.0, 10.0)] * 120)
    last = {name: compute(bars, name).iloc[-1].to_dict() for name in ("ttm_squeeze", "vortex", "ssl", "vwap")}
    # Equal bands are not a squeeze (inside means strictly inside); no true range means no vortex.
    assert last["ttm_squeeze"] == {"squeeze_on": 0.0, "momentum": 0.0}
    assert last["vortex"] == {"vi_plus": 0.0, "vi_minus": 0.0}
    assert last["ssl"] == {"up": 10.0, "down": 10.0}
    assert last["vwap"] == {"vwap": 10.0}
    damiani = compute(bars, "damiani")
    assert damiani.iloc[-1].to_dict() == {"vol": 0.0, "threshold": 1.4}
    # A range that never opened: the EMA is 0 and its change is reported as 0, as TA-Lib's ROC.
    assert compute(bars, "chaikin_volatility").iloc[-1].tolist() == [0.0]


def test_a_halted_window_is_exact_after_a_move(ohlcv: pd.DataFrame) -> None:
    # After a move, 30 identical bars: the SMAs are that price exactly, not a rounding away from it,
    # so the close sits between SSL's lines and the switch keeps its side.
    moving = ohlcv.iloc[:200]
    price = float(moving["close"].iloc[-1])
    still = _bars([(price, price, price)] * 30)
    still.index = pd.date_range(moving.index[-1], periods=31, freq="h", tz="UTC", name="time")[1:]
    bars = pd.concat([moving, still])
    ssl = compute(bars, "ssl", period=10).iloc[-20:]
    assert (ssl["up"] == price).all() and (ssl["down"] == price).all()
    squeeze = compute(bars, "ttm_squeeze", period=10).iloc[-10:]
    assert (squeeze["squeeze_on"] == 0.0).all()


def test_discrete_outputs_take_only_their_values(ohlcv_flat: pd.DataFrame) -> None:
    bars = ohlcv_flat
    direction = compute(bars, "supertrend", period=7, multiplier=2.0)["direction"].dropna()
    squeeze = compute(bars, "ttm_squeeze")["squeeze_on"].dropna()
    assert set(direction.unique()) == {-1.0, 1.0}
    assert set(squeeze.unique()) == {0.0, 1.0}


def test_supertrend_line_is_below_the_close_in_an_uptrend_and_above_in_a_downtrend(ohlcv: pd.DataFrame) -> None:
    bars = ohlcv
    out = compute(bars, "supertrend").dropna()
    close = bars["close"].loc[out.index]
    assert (out["supertrend"][out["direction"] > 0] <= close[out["direction"] > 0]).all()
    assert (out["supertrend"][out["direction"] < 0] >= close[out["direction"] < 0]).all()


# --- parameters -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "given", "problem"),
    [
        ("ichimoku", {"tenkan": 30}, ("kijun", "must be greater than tenkan (30), got 26")),
        ("ichimoku", {"senkou": 26}, ("senkou", "must be greater than kijun (26), got 26")),
        ("alligator", {"lips": 8}, ("teeth", "must be greater than lips (8), got 8")),
        ("damiani", {"sed_std": 20}, ("sed_std", "must be greater than vis_std (20), got 20")),
        ("damiani", {"lag": 0.8}, ("lag", "must be a number from 0 to 0.7, got 0.8")),
        ("keltner", {"multiplier": 0}, ("multiplier", "must be a number > 0, got 0")),
        ("supertrend", {"multipler": 2.0}, ("multipler", "unknown parameter; did you mean 'multiplier'?")),
    ],
)
def test_parameter_problems_are_named(name: str, given: dict, problem: tuple[str, str]) -> None:
    assert check_params(name, given)[1] == [problem]


def test_defaults_are_the_published_ones(ohlcv: pd.DataFrame) -> None:
    assert {name: get(name).defaults() for name in ("keltner", "supertrend", "ichimoku", "alligator", "damiani")} == {
        "keltner": {"period": 20, "atr_period": 10, "multiplier": 2.0},
        "supertrend": {"period": 10, "multiplier": 3.0},
        "ichimoku": {"tenkan": 9, "kijun": 26, "senkou": 52},
        "alligator": {"jaw": 13, "teeth": 8, "lips": 5},
        "damiani": {"vis_atr": 13, "vis_std": 20, "sed_atr": 40, "sed_std": 100, "level": 1.4, "lag": 0.5},
    }
    assert get("ichimoku").warmup() == 51
    assert get("ttm_squeeze").warmup(period=20) == 38
    assert get("damiani").warmup() == 99
    with pytest.raises(IndicatorError, match="kijun: must be greater than tenkan"):
        compute(ohlcv, "ichimoku", tenkan=26)
