"""Features: readable names, lags from the past, warm-up dropped not filled, causal end to end, train-only scaler."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.config import parse_strategy
from neurotrade.errors import FeatureError
from neurotrade.features import Standardizer, build_features, compute_indicators, resolve_features

SPEC = parse_strategy(
    "name: t\n"
    "indicators: {rsi_14: {}, macd: {}, adx_14: {}}\n"
    "fuzzy_sets:\n  rsi_14: {oversold: [20, 30, 40], overbought: [60, 70, 80]}\n  macd.hist: {up: [0, 1, 2]}\n"
    "nn_inputs: {fuzzy: all, indicators: [adx_14, macd.hist], lookback_periods: 2}\n"
)


def test_names_are_stable_readable_and_ordered() -> None:
    base = ["1d_rsi_14_oversold", "1d_rsi_14_overbought", "1d_macd.hist_up", "1d_adx_14", "1d_macd.hist"]
    expected = base + [f"{b}_lag1" for b in base] + [f"{b}_lag2" for b in base]
    assert resolve_features(SPEC) == expected


def test_matrix_matches_the_names_and_drops_warm_up(bars: pd.DataFrame) -> None:
    fm = build_features(bars, SPEC)
    assert list(fm.frame.columns) == fm.resolved_features == resolve_features(SPEC)
    assert not fm.frame.isna().any().any()
    assert fm.frame.dtypes.eq(np.float64).all()
    # MACD's warm-up (33 bars) is the longest; two lags add two more; nothing is zero-filled to save them
    assert fm.warmup_bars == 33 + 2
    assert fm.frame.index[0] == bars.index[35]


def test_lags_are_the_previous_bars_values(bars: pd.DataFrame) -> None:
    frame = build_features(bars, SPEC).frame
    np.testing.assert_array_equal(frame["1d_adx_14_lag2"].to_numpy()[2:], frame["1d_adx_14"].to_numpy()[:-2])


def test_features_are_causal_end_to_end(bars: pd.DataFrame) -> None:
    full = build_features(bars, SPEC).frame
    rng = np.random.default_rng(0)
    for cut in (100, 457, 900):
        changed = bars.copy()
        scale = rng.uniform(0.5, 1.5, len(bars) - cut)
        changed.iloc[cut:, :4] = changed.iloc[cut:, :4].to_numpy() * scale[:, None]
        for variant in (bars.iloc[:cut], changed):
            part = build_features(variant, SPEC).frame
            rows = part.index[part.index < bars.index[cut]]
            pd.testing.assert_frame_equal(part.loc[rows], full.loc[rows])


def test_raw_outputs_are_named_by_key(bars: pd.DataFrame) -> None:
    raw = compute_indicators(bars, SPEC.indicators)
    assert list(raw.columns) == ["rsi_14", "macd.macd", "macd.signal", "macd.hist", "adx_14"]


def test_too_few_bars_is_an_error(bars: pd.DataFrame) -> None:
    with pytest.raises(FeatureError, match="no bar has every feature: 20 bars are fewer than the longest warm-up"):
        build_features(bars.iloc[:20], SPEC)


def test_scaler_learns_from_the_rows_it_is_given_and_round_trips() -> None:
    train = np.array([[1.0, 10.0], [3.0, 10.0]])
    scaler = Standardizer(["a", "b"]).fit(train)
    assert scaler.mean_.tolist() == [2.0, 10.0] and scaler.scale_.tolist() == [1.0, 1.0]
    again = Standardizer.from_dict(scaler.to_dict())
    np.testing.assert_array_equal(again.transform(np.array([[5.0, 11.0]])), [[3.0, 1.0]])
    with pytest.raises(FeatureError, match="not fitted yet"):
        Standardizer().transform(train)
    with pytest.raises(FeatureError, match="expected 2 features, got 3"):
        scaler.transform(np.ones((1, 3)))
