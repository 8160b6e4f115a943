"""Gaps and incomplete periods against the series' own sessions (issue 9, item 25)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade._stages import load_bars
from neurotrade.config import DataSpec
from neurotrade.data import DataStore, find_gaps, load_sample, resample
from neurotrade.errors import DataError

HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)


def _bars(index: pd.DatetimeIndex) -> pd.DataFrame:
    """Flat, valid bars at the given times."""
    index = pd.DatetimeIndex(index, name="time").as_unit("us")
    n = len(index)
    close = 100 + np.sin(np.arange(n))
    return pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": np.full(n, 10.0)}, index=index
    )


def _crypto_hours(weeks: int = 3) -> pd.DatetimeIndex:
    return pd.date_range("2024-01-01", periods=24 * 7 * weeks, freq="h", tz="UTC")


def _stock_hours(start: str = "2023-01-02", end: str = "2023-12-29") -> pd.DatetimeIndex:
    """NYSE-like hourly bars, 09:30 to 15:30 New York time, Monday to Friday, in UTC: the session moves an hour
    in UTC with daylight saving."""
    days = pd.bdate_range(start, end)
    local = [d + pd.Timedelta(hours=9, minutes=30) + k * HOUR for d in days for k in range(7)]
    return pd.DatetimeIndex(local).tz_localize("America/New_York").tz_convert("UTC")


def _fx_hours(weeks: int = 6) -> pd.DatetimeIndex:
    """Sunday 22:00 to Friday 20:00 UTC, every hour."""
    hours = pd.date_range("2024-01-07 22:00", periods=24 * 7 * weeks, freq="h", tz="UTC")
    day, hour = hours.day_of_week, hours.hour
    closed = (day == 5) | ((day == 6) & (hour < 22)) | ((day == 4) & (hour > 20))
    return hours[~closed]


# --- gaps --------------------------------------------------------------------------------------


def test_thirty_missing_hours_are_one_gap():
    hours = _crypto_hours()
    (gap,) = find_gaps(hours.delete(range(100, 130)), HOUR)
    assert (gap.after, gap.before, gap.missing) == (hours[99], hours[130], 30)


def test_a_stock_session_has_no_gaps_across_nights_weekends_and_daylight_saving():
    hours = _stock_hours()
    assert set(hours.hour) == {13, 14, 15, 16, 17, 18, 19, 20}  # the session moves in UTC
    assert find_gaps(hours, HOUR) == []
    days = pd.bdate_range("2023-01-02", "2023-12-29", tz="UTC")
    assert find_gaps(days, DAY) == []


def test_a_holiday_is_not_a_gap_in_a_market_that_closes():
    hours = _stock_hours()
    july4 = hours[hours.normalize() == pd.Timestamp("2023-07-04", tz="UTC")]
    assert find_gaps(hours.drop(july4), HOUR) == []
    days = pd.bdate_range("2023-01-02", "2023-12-29", tz="UTC")
    assert find_gaps(days.drop([pd.Timestamp("2023-07-04", tz="UTC")]), DAY) == []
    # ... but a week without bars is
    week = days[(days >= "2023-07-10") & (days < "2023-07-15")]
    (gap,) = find_gaps(days.drop(week), DAY)
    assert (str(gap.after.date()), str(gap.before.date()), gap.missing) == ("2023-07-07", "2023-07-17", 5)


def test_a_missing_afternoon_is_a_gap():
    hours = _stock_hours()
    day = hours[hours.normalize() == pd.Timestamp("2023-03-01", tz="UTC")]
    (gap,) = find_gaps(hours.drop(day[3:6]), HOUR)
    assert (gap.after, gap.before, gap.missing) == (day[2], day[6], 3)


def test_a_market_open_every_day_has_no_holidays():
    days = pd.date_range("2024-01-01", periods=60, freq="D", tz="UTC")
    (gap,) = find_gaps(days.delete(20), DAY)
    assert gap.missing == 1


def test_fx_weekends_are_closed_and_a_missing_day_is_a_gap():
    hours = _fx_hours()
    assert find_gaps(hours, HOUR) == []
    wednesday = hours[hours.normalize() == pd.Timestamp("2024-01-17", tz="UTC")]
    (gap,) = find_gaps(hours.drop(wednesday[5:]), HOUR)  # from 05:00 to the end of the day
    assert gap.missing == 19


def test_gaps_of_short_series():
    assert find_gaps(pd.DatetimeIndex([], tz="UTC"), HOUR) == []
    one = pd.date_range("2024-01-01", periods=1, freq="h", tz="UTC")
    assert find_gaps(one, HOUR) == []
    # Under a day of bars: every hour is expected.
    few = pd.date_range("2024-01-01", periods=10, freq="h", tz="UTC")
    assert [g.missing for g in find_gaps(few.delete([4, 5]), HOUR)] == [2]
    # Under two weeks the weekdays and the hours are learnt apart, so a gap cannot pass for closed hours...
    eight_days = _crypto_hours(weeks=2)[: 24 * 8]
    assert [g.missing for g in find_gaps(eight_days.delete(range(100, 130)), HOUR)] == [30]
    # ... and a stock's nights and weekend stay closed.
    nine_days = _stock_hours("2023-01-02", "2023-01-12")
    assert find_gaps(nine_days, HOUR) == []
    assert [g.missing for g in find_gaps(nine_days.delete(range(10, 13)), HOUR)] == [3]


def test_the_bundled_samples_have_one_gap_the_closure_after_9_11():
    aapl = load_sample("AAPL")
    (gap,) = find_gaps(aapl.index, DAY)
    assert (str(gap.after.date()), str(gap.before.date()), gap.missing) == ("2001-09-10", "2001-09-17", 4)


@settings(max_examples=40, deadline=None)
@given(start=st.integers(1, 24 * 21 - 2), length=st.integers(1, 60))
def test_any_run_of_missing_hours_is_one_gap_and_its_days_are_dropped(start, length):
    hours = _crypto_hours(weeks=3)
    stop = min(start + length, len(hours) - 1)
    kept = hours.delete(range(start, stop))
    (gap,) = find_gaps(kept, HOUR)
    assert (gap.after, gap.before, gap.missing) == (hours[start - 1], hours[stop], stop - start)
    seen: list = []
    daily = resample(_bars(kept), "1d", on_repair=seen.append)
    touched = set(hours[start:stop].normalize())
    partial = {d for d in touched if (kept.normalize() == d).any()}
    assert set(daily.index) == set(kept.normalize()) - partial
    assert [r.rows for r in seen] == ([len(partial)] if partial else [])


# --- incomplete periods when resampling --------------------------------------------------------


def test_resampling_drops_and_reports_incomplete_days(caplog):
    # The reported case: 30 missing hours, and resampling made two partial days.
    hours = _crypto_hours()
    bars = _bars(hours.delete(range(100, 130)))
    seen: list = []
    with caplog.at_level(logging.WARNING, logger="neurotrade.data"):
        daily = resample(bars, "1d", on_repair=seen.append)
    assert len(daily) == 21 - 2
    assert pd.Timestamp("2024-01-05", tz="UTC") not in daily.index
    (repair,) = seen
    assert repair.kind == "incomplete" and repair.rows == 2
    assert "dropped 2 incomplete 1d periods: 2024-01-05 (4 bars), 2024-01-06 (14 bars)" in repair.message
    assert "pass incomplete='keep' to keep them" in repair.message
    assert "dropped 2 incomplete 1d periods" in caplog.text


def test_mark_keeps_them_listed_and_keep_says_nothing(caplog):
    bars = _bars(_crypto_hours().delete(range(100, 130)))
    seen: list = []
    marked = resample(bars, "1d", incomplete="mark", on_repair=seen.append)
    assert len(marked) == 21
    assert marked.attrs["incomplete"] == [pd.Timestamp("2024-01-05", tz="UTC"), pd.Timestamp("2024-01-06", tz="UTC")]
    assert "kept 2 incomplete 1d periods, listed in .attrs['incomplete']" in seen[0].message
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="neurotrade.data"):
        kept = resample(bars, "1d", incomplete="keep")
    assert len(kept) == 21 and caplog.text == "" and "incomplete" not in kept.attrs
    with pytest.raises(DataError, match=r"incomplete must be one of 'drop', 'mark', 'keep', got 'dorp'\. Did you"):
        resample(bars, "1d", incomplete="dorp")


def test_data_starting_or_ending_inside_a_period_leaves_it_incomplete():
    hours = pd.date_range("2024-01-01 05:00", "2024-01-20 17:00", freq="h", tz="UTC")
    seen: list = []
    daily = resample(_bars(hours), "1d", on_repair=seen.append)
    assert (daily.index[0], daily.index[-1]) == (
        pd.Timestamp("2024-01-02", tz="UTC"),
        pd.Timestamp("2024-01-19", tz="UTC"),
    )
    assert "2024-01-01 (19 bars), 2024-01-20 (18 bars)" in seen[0].message


def test_stock_sessions_resample_to_days_without_drops_except_a_half_day():
    hours = _stock_hours()
    daily = resample(_bars(hours), "1d")
    assert len(daily) == len(pd.bdate_range("2023-01-02", "2023-12-29"))
    # The day after Thanksgiving closes at 13:00: three hours of a session that is expected to run to 16:00.
    friday = hours[hours.normalize() == pd.Timestamp("2023-11-24", tz="UTC")]
    seen: list = []
    daily = resample(_bars(hours.drop(friday[4:])), "1d", on_repair=seen.append)
    assert pd.Timestamp("2023-11-24", tz="UTC") not in daily.index
    assert "dropped 1 incomplete 1d period: 2023-11-24 (4 bars)" in seen[0].message


def test_fx_fridays_and_sundays_are_complete_days():
    # The typical count of bars per day (24) would call every Friday (21) and Sunday (2) incomplete.
    hours = _fx_hours()
    seen: list = []
    daily = resample(_bars(hours), "1d", on_repair=seen.append)
    assert seen == [] and len(daily) == len(set(hours.normalize()))


def test_weeks_of_daily_stock_bars_keep_holiday_weeks():
    ibm = load_sample("IBM")
    seen: list = []
    weekly = resample(ibm, "1w", on_repair=seen.append)
    # The data starts on a Wednesday (2000-03-01), and the exchange closed for four days after 9/11.
    assert "dropped 2 incomplete 1w periods: 2000-02-28 (3 bars), 2001-09-10 (1 bar)" in seen[0].message
    every = resample(ibm, "1w", incomplete="keep")
    assert len(weekly) == len(every) - 2
    assert every["volume"].sum() == pytest.approx(ibm["volume"].sum())


def test_load_bars_reports_dropped_periods_through_on_repair(tmp_path: Path):
    # A strategy on daily bars from a stored hourly series with a gap: the run's repairs name the dropped days.
    DataStore(tmp_path).put(_bars(_crypto_hours().delete(range(100, 130))), "BTC", "1h")
    seen: list = []
    bars = load_bars(
        DataSpec(source="store", symbol="BTC", timeframe="1d"), home=tmp_path, seed=0, on_repair=seen.append
    )
    assert len(bars) == 19
    assert [r.kind for r in seen] == ["incomplete"]
