"""Oscillators (_oscillators.py): values worked by hand, TA-Lib's edge cases, and batch == any chunking.

The generic tests (parity over parameter ranges, causality, streaming, warm-up) cover every
indicator already; these pin what they would not notice: TA-Lib 0.8's tolerances for ranges and
moves within rounding, its sorting of ULTOSC's periods, the EMA-based APO/PPO, and the two paths
of the block kernels (whole blocks, bar by bar) meeting at arbitrary chunk boundaries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from neurotrade.errors import IndicatorError
from neurotrade.indicators import compute, get
from neurotrade.indicators._compute import _input_matrix, _param_vector
from neurotrade.indicators._registry import entry


def _bars(high, low, close, open_=None, volume=None) -> pd.DataFrame:
    high = np.asarray(high, dtype=np.float64)
    frame = {"high": high, "low": np.asarray(low, dtype=np.float64), "close": np.asarray(close, dtype=np.float64)}
    frame["open"] = frame["close"] if open_ is None else np.asarray(open_, dtype=np.float64)
    frame["volume"] = np.ones_like(high) if volume is None else np.asarray(volume, dtype=np.float64)
    return pd.DataFrame(frame)


def _talib(bars: pd.DataFrame, name: str, params: dict) -> list[np.ndarray]:
    info = get(name)
    result = getattr(talib, info.talib)(*(bars[c].to_numpy() for c in info.inputs), **entry(name).talib_kwargs(params))
    return list(result) if isinstance(result, tuple) else [result]


def _assert_bitwise_talib(bars: pd.DataFrame, name: str, **params) -> None:
    full = {**get(name).defaults(), **params}
    ours = compute(bars, name, **full)
    for output, ref in zip(get(name).outputs, _talib(bars, name, full), strict=True):
        assert np.array_equal(ours[output].to_numpy(), ref, equal_nan=True), f"{name}{full}.{output}"


# --- values worked by hand ------------------------------------------------------------------------
HIGH = [10.0, 12.0, 11.0, 13.0]
LOW = [8.0, 9.0, 9.0, 10.0]
CLOSE = [9.0, 11.0, 10.0, 12.0]


def test_willr_by_hand() -> None:
    # Bar 2: highest 12, lowest 8 -> -100 * (12 - 10) / 4 = -50; bar 3: 13, 9 -> -100 * 1 / 4 = -25.
    out = compute(_bars(HIGH, LOW, CLOSE), "willr", period=3)["willr"].to_numpy()
    assert np.isnan(out[:2]).all()
    assert out[2:].tolist() == [-50.0, -25.0]


def test_stochf_by_hand() -> None:
    # %K over 3 bars: bar 2 -> 100 * (10 - 8) / 4 = 50, bar 3 -> 100 * (12 - 9) / 4 = 75; %D = SMA 2.
    out = compute(_bars(HIGH, LOW, CLOSE), "stochf", fastk=3, fastd=2)
    assert np.isnan(out.to_numpy()[:3]).all()
    assert out.iloc[3].tolist() == [75.0, 62.5]


def test_cci_by_hand() -> None:
    # Typical prices 9, 32/3, 10, 35/3; over bars 1..3 the mean is 97/9, |deviations| 1/9, 7/9, 8/9.
    out = compute(_bars(HIGH, LOW, CLOSE), "cci", period=3)["cci"].to_numpy()
    expected = (35 / 3 - 97 / 9) / (0.015 * (16 / 9 / 3))
    assert out[3] == pytest.approx(expected, rel=1e-12)


def test_momentum_and_rate_of_change_by_hand() -> None:
    bars = _bars(HIGH, LOW, CLOSE)
    assert compute(bars, "mom", period=2)["mom"].tolist()[2:] == [1.0, 1.0]
    assert compute(bars, "roc", period=1)["roc"].to_numpy()[1:] == pytest.approx([100 * 2 / 9, -100 / 11, 20.0])


def test_cmo_by_hand() -> None:
    # Changes +2, -1, +2: the first averages (period 2) are gain 1, loss 0.5 -> 100 * 0.5 / 1.5.
    # Then Wilder: gain (1 + 2) / 2 = 1.5, loss 0.5 / 2 = 0.25 -> 100 * 1.25 / 1.75.
    out = compute(_bars(HIGH, LOW, CLOSE), "cmo", period=2)["cmo"].to_numpy()
    assert out[2:] == pytest.approx([100 / 3, 100 * 1.25 / 1.75])


def test_bop_by_hand_and_without_range() -> None:
    bars = _bars([10.0, 5.0], [8.0, 5.0], [9.5, 5.0], open_=[8.5, 5.0])
    assert compute(bars, "bop")["bop"].tolist() == [0.5, 0.0]


# --- TA-Lib 0.8's tolerances and conventions ------------------------------------------------------
def test_a_range_within_rounding_counts_as_no_range() -> None:
    # TA-Lib 0.8 calls high - low zero when it is within 1e-14 of |high| + |low|, not only when it is
    # exactly 0: a 1-ulp window gives 0, a 128-ulp one a real %K and %R.
    base = 41.18
    for ulps, flat in ((1, True), (128, False)):
        top = base + ulps * np.spacing(base)
        bars = _bars([top, base], [base, base], [top, top])
        stochf = compute(bars, "stochf", fastk=2, fastd=1)["fastk"].iloc[1]
        willr = compute(bars, "willr", period=2)["willr"].iloc[1]
        assert (stochf, willr) == ((0.0, 0.0) if flat else (100.0, 0.0))
        _assert_bitwise_talib(bars, "stochf", fastk=2, fastd=1)
        _assert_bitwise_talib(bars, "willr", period=2)


def test_stochrsi_reads_an_rsi_that_only_wobbles_by_rounding_as_flat(ohlcv_flat: pd.DataFrame) -> None:
    # On the 120 identical bars, Wilder's averages decay and the RSI moves by an ulp now and then;
    # TA-Lib's tolerance turns that into 0, not into swings between 0 and 100.
    out = compute(ohlcv_flat, "stochrsi")
    flat = slice(len(ohlcv_flat) // 3 + 25, len(ohlcv_flat) // 3 + 120)
    assert (out["fastk"].to_numpy()[flat] == 0.0).all()
    _assert_bitwise_talib(ohlcv_flat, "stochrsi")


def test_cci_of_a_flat_window_is_zero_not_rounding_noise(ohlcv_flat: pd.DataFrame) -> None:
    out = compute(ohlcv_flat, "cci", period=40)["cci"].to_numpy()
    start = len(ohlcv_flat) // 3
    assert (out[start + 40 : start + 120] == 0.0).all()


def test_willr_clips_a_close_outside_the_bars_range_like_talib() -> None:
    bars = _bars([10.0, 11.0, 12.0], [9.0, 9.5, 10.0], [9.5, 11.5, 13.0])
    out = compute(bars, "willr", period=2)["willr"].tolist()
    assert out[1:] == [0.0, 0.0]
    _assert_bitwise_talib(bars, "willr", period=2)


def test_ultosc_sorts_its_periods_like_talib(ohlcv: pd.DataFrame) -> None:
    ordered = compute(ohlcv, "ultosc", fast=7, medium=14, slow=28)
    shuffled = compute(ohlcv, "ultosc", fast=28, medium=7, slow=14)
    assert np.array_equal(ordered.to_numpy(), shuffled.to_numpy(), equal_nan=True)
    _assert_bitwise_talib(ohlcv, "ultosc", fast=28, medium=7, slow=14)


def test_ultosc_resets_its_sums_after_a_flat_window_like_talib() -> None:
    # Two-decimal prices make the running sums carry rounding residue; after a window of bars
    # without range TA-Lib 0.8 restarts them from exactly 0, which changes the last bits later on.
    rng = np.random.default_rng(1)
    for _ in range(30):
        close = np.round(1 + rng.uniform(0, 1, 40), 2)
        high = close + np.round(rng.uniform(0, 0.3, 40), 2)
        low = np.minimum(close - np.round(rng.uniform(0, 0.3, 40), 2), close)
        close[12:20] = high[12:20] = low[12:20] = close[11]
        periods = sorted(rng.integers(1, 6, 3).tolist())
        _assert_bitwise_talib(_bars(high, low, close), "ultosc", fast=periods[0], medium=periods[1], slow=periods[2])


def test_apo_and_ppo_use_talibs_default_emas(ohlcv: pd.DataFrame) -> None:
    fast = compute(ohlcv, "ema", period=5)["ema"].to_numpy()
    slow = compute(ohlcv, "ema", period=13)["ema"].to_numpy()
    apo = compute(ohlcv, "apo", fast=5, slow=13)["apo"].to_numpy()
    assert np.array_equal(apo, fast - slow, equal_nan=True)
    ppo = compute(ohlcv, "ppo", fast=5, slow=13)["ppo"].to_numpy()
    assert np.array_equal(ppo, ((fast - slow) / slow) * 100.0, equal_nan=True)
    assert entry("ppo").talib_kwargs({"fast": 5, "slow": 13}) == {"fastperiod": 5, "slowperiod": 13, "matype": 1}


def test_one_bar_windows_are_allowed_where_talib_allows_them(ohlcv: pd.DataFrame) -> None:
    for name, params in (
        ("stoch", {"fastk": 1, "slowk": 1, "slowd": 1}),
        ("mom", {"period": 1}),
        ("roc", {"period": 1}),
    ):
        _assert_bitwise_talib(ohlcv.iloc[:300], name, **params)
    with pytest.raises(IndicatorError, match="period: must be an integer from 2 to 100000, got 1"):
        compute(ohlcv, "willr", period=1)


# --- the block kernels: whole blocks and bar by bar meet anywhere ---------------------------------
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("stoch", {"fastk": 5, "slowk": 3, "slowd": 3}),
        ("stoch", {"fastk": 37, "slowk": 1, "slowd": 4}),
        ("stochf", {"fastk": 14, "fastd": 3}),
        ("stochrsi", {"period": 6, "fastk": 9, "fastd": 2}),
        ("willr", {"period": 14}),
        ("willr", {"period": 250}),
        ("roc", {"period": 7}),
        ("mom", {"period": 30}),
    ],
)
def test_any_chunking_gives_the_batch_values(ohlcv_flat: pd.DataFrame, name: str, params: dict) -> None:
    found, info = entry(name), get(name)
    x = _input_matrix(ohlcv_flat, info)
    vector = _param_vector(info, {**info.defaults(), **params})
    batch = np.empty((len(x), len(info.outputs)))
    found.update(found.init(vector), vector, x, batch)
    rng = np.random.default_rng(5)
    state, parts, start = found.init(vector), [], 0
    while start < len(x):
        size = int(rng.choice([1, 2, 5, 13, 64, 300]))
        part = np.empty((min(size, len(x) - start), len(info.outputs)))
        found.update(state, vector, np.ascontiguousarray(x[start : start + size]), part)
        parts.append(part)
        start += size
    assert np.array_equal(np.vstack(parts), batch, equal_nan=True)
