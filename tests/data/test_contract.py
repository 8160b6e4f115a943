"""validate_ohlcv: the frame contract every stage relies on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.data import OHLCV_COLUMNS, validate_ohlcv
from neurotrade.errors import DataError


def test_valid_frame_passes(make_bars):
    validate_ohlcv(make_bars(20))


def test_columns_constant():
    assert OHLCV_COLUMNS == ("open", "high", "low", "close", "volume")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda df: df.reset_index(), "the index must be a DatetimeIndex"),
        (lambda df: df.tz_localize(None), "the index has no time zone"),
        (lambda df: df.tz_convert("Europe/Paris"), "is in Europe/Paris, not UTC"),
        (lambda df: df.rename_axis("date"), "the index is named 'date', expected 'time'"),
        (lambda df: df[["close", "open", "high", "low", "volume"]], "(wrong order)"),
        (lambda df: df.drop(columns="volume"), "missing volume"),
        (lambda df: df.assign(vwap=1.0), "unexpected vwap"),
        (lambda df: df.astype({"volume": "int64"}), "volume (int64) is not"),
    ],
)
def test_structure_errors_say_how_to_fix(make_bars, mutate, expected):
    with pytest.raises(DataError, match="Fix") as info:
        validate_ohlcv(mutate(make_bars(5)), source="frame-x")
    assert str(info.value).startswith("frame-x: ")
    assert expected in str(info.value)


def test_not_a_frame():
    with pytest.raises(DataError, match="expected a pandas DataFrame of OHLCV bars, got list"):
        validate_ohlcv([1, 2, 3])  # type: ignore[arg-type]


def _set(df: pd.DataFrame, row: int, col: str, value: float) -> pd.DataFrame:
    out = df.copy()
    out.iloc[row, out.columns.get_loc(col)] = value
    return out


@pytest.mark.parametrize(
    ("col", "value", "expected"),
    [
        ("close", np.nan, "'close' is empty or NaN at row 3 (2020-01-05)"),
        ("volume", np.nan, "'volume' is empty or NaN at row 3 (2020-01-05). Fix the source data; neurotrade does not"),
        ("open", np.inf, "'open' is not finite at row 3 (2020-01-05)"),
        ("low", 0.0, "'low' is not positive at row 3 (2020-01-05)"),
        ("low", -1.0, "'low' is not positive at row 3"),
        ("volume", -5.0, "'volume' is negative at row 3 (2020-01-05)"),
        ("high", 1.0, "'high' is below 'low' at row 3 (2020-01-05)"),
        ("open", 1e6, "'open' is outside ['low', 'high'] at row 3"),
        ("close", 1e6, "'close' is outside ['low', 'high'] at row 3"),
    ],
)
def test_value_breaches_name_the_row(make_bars, col, value, expected):
    df = _set(make_bars(8), 3, col, value)
    with pytest.raises(DataError) as info:
        validate_ohlcv(df)
    assert expected in str(info.value)
    assert str(info.value).startswith("<frame>: ")


def test_zero_volume_and_flat_bar_are_valid(make_bars):
    df = make_bars(4)
    df.iloc[1] = [10.0, 10.0, 10.0, 10.0, 0.0]
    validate_ohlcv(df)


def test_many_offenders_are_counted_and_the_first_five_named(make_bars):
    df = make_bars(30)
    df["volume"] = -1.0
    with pytest.raises(DataError) as info:
        validate_ohlcv(df)
    assert "'volume' is negative at row 0 (2020-01-02) and 29 more rows (rows 1, 2, 3, 4, ...)" in str(info.value)


def test_every_breach_is_listed_on_its_own_line(make_bars):
    df = _set(_set(make_bars(8), 1, "volume", -1.0), 5, "close", np.nan)
    with pytest.raises(DataError) as info:
        validate_ohlcv(df, source="x")
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert all(line.startswith("x: ") for line in lines)


def test_inverted_high_low_is_reported_once(make_bars):
    df = _set(make_bars(5), 2, "high", 1.0)
    with pytest.raises(DataError) as info:
        validate_ohlcv(df)
    assert "'high' is below 'low'" in str(info.value)
    assert "outside" not in str(info.value)


def test_unsorted_index(make_bars):
    df = make_bars(6)
    df = df.iloc[[0, 1, 3, 2, 4, 5]]
    with pytest.raises(DataError) as info:
        validate_ohlcv(df)
    msg = str(info.value)
    assert "not in increasing order at row 3 (2020-01-04), which comes after 2020-01-05 (row 2)" in msg
    assert "df.sort_index()" in msg


def test_duplicate_times(make_bars):
    df = make_bars(5)
    exact = pd.concat([df.iloc[:3], df.iloc[2:]])
    with pytest.raises(DataError, match=r"duplicate rows \(same time and values\) at row 3 \(2020-01-04\)"):
        validate_ohlcv(exact)
    conflicting = exact.copy()
    conflicting.iloc[3, 4] = 1.0
    with pytest.raises(DataError, match="the same time appears twice with different values at row 3"):
        validate_ohlcv(conflicting)


def test_missing_time():
    idx = pd.DatetimeIndex(["2020-01-01", None], tz="UTC", name="time")
    df = pd.DataFrame({c: [1.0, 1.0] for c in OHLCV_COLUMNS}, index=idx)
    with pytest.raises(DataError, match="the time is missing at row 1"):
        validate_ohlcv(df)


def test_intraday_times_are_shown_with_the_time_of_day(make_bars):
    df = _set(make_bars(5, start="2020-01-02 09:30", freq="h"), 1, "volume", -1.0)
    with pytest.raises(DataError, match=r"at row 1 \(2020-01-02 10:30:00\+00:00\)"):
        validate_ohlcv(df)
