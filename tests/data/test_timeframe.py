"""Timeframes, inferring them, and resampling with the right aggregation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.data import (
    TIMEFRAMES,
    Timeframe,
    infer_timeframe,
    load_sample,
    parse_timeframe,
    resample,
    validate_ohlcv,
)
from neurotrade.errors import DataError


def test_supported_timeframes():
    assert TIMEFRAMES == ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")
    for name in TIMEFRAMES:
        tf = parse_timeframe(name)
        assert tf.name == name == str(tf)
    assert parse_timeframe("4h").delta == pd.Timedelta(hours=4)
    assert parse_timeframe("1w").freq == "W-MON"


@pytest.mark.parametrize(
    ("text", "name"),
    [("60m", "1h"), ("1H", "1h"), ("15min", "15m"), ("1D", "1d"), ("24h", "1d"), ("7d", "1w"), (" 1 day", "1d")],
)
def test_other_spellings(text, name):
    assert parse_timeframe(text).name == name


def test_a_timeframe_passes_through_and_is_frozen():
    tf = parse_timeframe("1d")
    assert parse_timeframe(tf) is tf
    with pytest.raises(AttributeError):
        tf.name = "1h"  # type: ignore[misc]
    assert isinstance(tf, Timeframe)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2h", "Supported timeframes: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w."),
        ("1M", "unknown timeframe '1M'. Did you mean '1m'?"),
        ("daily", "Supported timeframes"),
    ],
)
def test_unknown_timeframes(text, fragment):
    with pytest.raises(DataError) as info:
        parse_timeframe(text)
    assert fragment in str(info.value)


def test_infer_timeframe(make_bars):
    assert infer_timeframe(make_bars(30, freq="h")) == "1h"
    assert infer_timeframe(make_bars(30, freq="15min")) == "15m"
    assert infer_timeframe(pd.bdate_range("2024-01-01", periods=30, tz="UTC")) == "1d"  # weekends ignored
    assert infer_timeframe(make_bars(10, freq="W-MON")) == "1w"


def test_infer_timeframe_refuses(make_bars):
    with pytest.raises(DataError, match="cannot infer a timeframe from 1 bar; give the timeframe"):
        infer_timeframe(make_bars(1))
    with pytest.raises(DataError, match="the bars are 0 days 02:00:00 apart"):
        infer_timeframe(make_bars(10, freq="2h"))


def _hourly(values: list[tuple[str, float, float, float, float, float]]) -> pd.DataFrame:
    index = pd.DatetimeIndex([v[0] for v in values], tz="UTC", name="time").as_unit("us")
    rows = [[float(x) for x in v[1:]] for v in values]
    return pd.DataFrame(rows, columns=["open", "high", "low", "close", "volume"], index=index)


def test_resample_aggregates_by_hand():
    hourly = _hourly(
        [
            ("2024-01-02 00:00", 10, 12, 9, 11, 100),
            ("2024-01-02 01:00", 11, 15, 10, 14, 200),
            ("2024-01-02 03:00", 14, 14, 8, 9, 50),
            ("2024-01-02 04:00", 9, 10, 9, 10, 10),
            # 08:00-16:00 missing: those periods are dropped, not filled
            ("2024-01-02 17:00", 20, 21, 19, 20, 5),
            ("2024-01-02 19:00", 20, 22, 20, 21, 7),
        ]
    )
    four = resample(hourly, "4h", incomplete="keep")  # the aggregation itself, partial periods included
    validate_ohlcv(four)
    assert [t.strftime("%H:%M") for t in four.index] == ["00:00", "04:00", "16:00"]
    assert four.to_numpy().tolist() == [
        [10, 15, 8, 9, 350],
        [9, 10, 9, 10, 10],
        [20, 22, 19, 21, 12],
    ]
    daily = resample(hourly, "1d", incomplete="keep")
    assert daily.to_numpy().tolist() == [[10, 22, 8, 21, 372]]
    assert daily.index[0] == pd.Timestamp("2024-01-02", tz="UTC")


def test_weekly_bars_start_on_monday_and_skip_empty_weeks():
    days = pd.DatetimeIndex(
        ["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-08", "2024-01-12", "2024-01-23"], tz="UTC", name="time"
    ).as_unit("us")
    values = np.arange(1.0, 7.0)
    daily = pd.DataFrame(
        {"open": values, "high": values + 1, "low": values - 0.5, "close": values + 0.5, "volume": 10 * values},
        index=days,
    )
    weekly = resample(daily, "1w", incomplete="keep")
    assert list(weekly.index) == [pd.Timestamp(d, tz="UTC") for d in ("2024-01-01", "2024-01-08", "2024-01-22")]
    assert (weekly.index.day_of_week == 0).all()
    assert weekly.iloc[0].tolist() == [1.0, 4.0, 0.5, 3.5, 60.0]
    assert weekly.iloc[1].tolist() == [4.0, 6.0, 3.5, 5.5, 90.0]


def test_resampling_to_the_same_timeframe_keeps_the_bars(make_bars):
    hourly = make_bars(48, freq="h")
    pd.testing.assert_frame_equal(resample(hourly, "1h"), hourly, check_freq=False)


def test_no_finer_timeframe(make_bars):
    with pytest.raises(DataError, match="cannot resample 1d bars to 1h: a finer timeframe would invent prices"):
        resample(make_bars(10), "1h")


def test_resample_checks_its_input(make_bars):
    with pytest.raises(DataError, match="resample input: "):
        resample(make_bars(10).tz_localize(None), "1w")


def test_resample_real_daily_bars_to_weeks():
    daily = load_sample("IBM")
    weekly = resample(daily, "1w", incomplete="keep")
    validate_ohlcv(weekly)
    assert (weekly.index.day_of_week == 0).all()
    assert weekly["volume"].sum() == pytest.approx(daily["volume"].sum())
    assert weekly["high"].max() == daily["high"].max()
    assert 670 < len(weekly) < 682  # about 13 years of weeks
    assert len(resample(daily, "1w")) == len(weekly) - 2  # the first week and the one of 9/11 are incomplete
