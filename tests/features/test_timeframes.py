"""Multi-timeframe features: a coarser bar is seen only once its period has ended."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.config import parse_strategy
from neurotrade.data import resample, synthetic_ohlcv
from neurotrade.errors import ConfigError
from neurotrade.features import build_features, compute_indicators, feature_frame, resolve_features

SPEC = parse_strategy(
    "name: t\ndata: {source: synthetic, timeframe: 1h}\nindicators: {rsi_14: {}}\n"
    "fuzzy_sets: {rsi_14: {low: [0, 0, 30, 40]}}\n"
    "nn_inputs: {timeframes: [1h, 1d], indicators: [rsi_14], lookback_periods: 1}\n"
)


@pytest.fixture(scope="module")
def hourly() -> pd.DataFrame:
    return synthetic_ohlcv(24 * 60, seed=4, start="2021-03-01", timeframe="1h")


def test_names_carry_each_timeframe() -> None:
    assert resolve_features(SPEC) == [
        "1h_rsi_14_low",
        "1h_rsi_14",
        "1h_rsi_14_low_lag1",
        "1h_rsi_14_lag1",
        "1d_rsi_14_low",
        "1d_rsi_14",
        "1d_rsi_14_low_lag1",
        "1d_rsi_14_lag1",
    ]


def test_a_daily_feature_changes_only_after_the_day_closes(hourly: pd.DataFrame) -> None:
    frame = build_features(hourly, SPEC).frame
    daily = frame["1d_rsi_14"]
    changed = daily.index[daily.diff().fillna(0.0) != 0]
    assert len(changed) > 30
    # it changes at the bar that closes at midnight: the 23:00 bar, the last hour of the day it summarises
    assert (changed.hour == 23).all()
    # and the value is that day's daily RSI, not the next day's
    daily_rsi = compute_indicators(resample(hourly, "1d"), SPEC.indicators)["rsi_14"]
    for t in changed[:10]:
        assert daily.loc[t] == daily_rsi.loc[t.normalize()]


def test_lags_count_bars_of_their_own_timeframe(hourly: pd.DataFrame) -> None:
    frame = build_features(hourly, SPEC).frame
    at_23 = frame[frame.index.hour == 23]
    np.testing.assert_array_equal(at_23["1d_rsi_14_lag1"].to_numpy()[1:], at_23["1d_rsi_14"].to_numpy()[:-1])


def test_truncating_mid_day_changes_no_earlier_row(hourly: pd.DataFrame) -> None:
    full = feature_frame(hourly, SPEC)
    for cut in (24 * 20 + 7, 24 * 33 + 23, 24 * 41):
        part = feature_frame(hourly.iloc[:cut], SPEC)
        pd.testing.assert_frame_equal(part, full.iloc[:cut])


def test_all_means_the_data_timeframe_and_every_coarser_one() -> None:
    spec = parse_strategy(
        "name: t\ndata: {timeframe: 4h}\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14], timeframes: all}\n"
    )
    assert spec.nn_inputs.timeframes == ["4h", "1d", "1w"]


def test_finer_timeframes_than_the_data_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"nn_inputs.timeframes\[0\]: 1h is finer than the data's timeframe 1d"):
        parse_strategy("name: t\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14], timeframes: [1h]}\n")
