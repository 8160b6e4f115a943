"""read_ohlcv: column names, timestamps, symbols, and every way a file can break the contract."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade.data import OHLCV_COLUMNS, read_ohlcv, validate_ohlcv
from neurotrade.errors import DataError


def _raises(path: Path, *fragments: str, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        read_ohlcv(path, **kwargs)
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in {msg!r}"
    return msg


# --- a good file ---------------------------------------------------------------------------------


def test_reads_a_valid_csv_into_the_contract(write, make_csv, make_lines):
    df = read_ohlcv(write(make_csv(make_lines(5))))
    validate_ohlcv(df)
    assert list(df.columns) == list(OHLCV_COLUMNS)
    assert df.index.name == "time"
    assert str(df.index.dtype) == "datetime64[us, UTC]"
    assert df.index[0] == pd.Timestamp("2020-01-02", tz="UTC")
    assert df.iloc[0].tolist() == [100.0, 102.0, 99.0, 101.0, 1000.0]


@pytest.mark.parametrize(
    "header",
    [
        "Date,Open,High,Low,Close,Volume",
        "DATE,OPEN,HIGH,LOW,CLOSE,VOL",
        "t,o,h,l,c,v",
        "timestamp,open_price,high_price,low_price,close_price,volume",
        "Datetime,Open Price,High Price,Low Price,Close Price,Vol.",
        "<DATE>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>",
        " time , Open , High , Low , Last , Volume ",
    ],
)
def test_column_names_are_normalised(write, make_lines, make_csv, header):
    df = read_ohlcv(write(make_csv(make_lines(3), header=header)))
    assert list(df.columns) == list(OHLCV_COLUMNS)
    assert df["close"].iloc[0] == 101.0


def test_column_order_in_the_file_does_not_matter_and_extra_columns_are_dropped(write):
    text = "Volume,Close,Low,High,Open,Date,VWAP\n1000,101,99,102,100,2020-01-02,100.5\n"
    df = read_ohlcv(write(text))
    assert list(df.columns) == list(OHLCV_COLUMNS)
    assert df.iloc[0].tolist() == [100.0, 102.0, 99.0, 101.0, 1000.0]


def test_gzip_csv(write, make_csv, make_lines):
    plain = read_ohlcv(write(make_csv(make_lines(4))))
    packed = read_ohlcv(write(make_csv(make_lines(4)), name="bars.csv.gz"))
    pd.testing.assert_frame_equal(plain, packed)


def test_semicolon_separated(write, make_csv, make_lines):
    text = make_csv([line.replace(",", ";") for line in make_lines(3)], header="Date;Open;High;Low;Close;Volume")
    assert len(read_ohlcv(write(text))) == 3


def test_separate_date_and_time_columns_are_joined(write):
    text = (
        "Date,Time,Open,High,Low,Close,Volume\n"
        "2020-01-02,09:30,10,11,9,10.5,100\n"
        "2020-01-02,09:31,10.5,11,10,10.8,100\n"
    )
    df = read_ohlcv(write(text), timezone="America/New_York")
    assert list(df.index) == [
        pd.Timestamp("2020-01-02 14:30", tz="UTC"),
        pd.Timestamp("2020-01-02 14:31", tz="UTC"),
    ]


# --- columns and symbols -------------------------------------------------------------------------


def test_missing_column_is_named_with_a_close_match(write):
    path = write("Date,Open,High,Low,Close,Volumn\n2020-01-02,1,2,0.5,1.5,10\n")
    _raises(path, f"{path}: no 'volume' column", "did you mean 'Volumn'?", "The file's columns are: Date,")


def test_missing_time_column(write):
    path = write("Open,High,Low,Close,Volume\n1,2,0.5,1.5,10\n")
    _raises(path, "no 'time' column (name it one of time, date, datetime, timestamp")


def test_two_columns_meaning_the_same_thing(write):
    path = write("Date,Open,High,Low,Close,Last,Volume\n2020-01-02,1,2,0.5,1.5,1.5,10\n")
    _raises(path, "'Close', 'Last' all mean 'close'")


def _multi(write) -> Path:
    text = (
        "Ticker,Date,Open,High,Low,Close,Volume\n"
        "AAA,2020-01-02,10,11,9,10,100\n"
        "BBB,2020-01-02,20,21,19,20,200\n"
        "AAA,2020-01-03,10,11,9,10.5,100\n"
        "BBB,2020-01-03,20,21,19,10,200\n"
    )
    return write(text)


def test_symbol_selects_rows_of_a_multi_symbol_file(write):
    df = read_ohlcv(_multi(write), symbol="aaa")
    assert df["close"].tolist() == [10.0, 10.5]


def test_multi_symbol_file_needs_a_symbol(write):
    _raises(_multi(write), "holds 2 symbols (AAA, BBB) in column 'Ticker'", "symbol=")


def test_unknown_symbol_lists_those_present(write):
    _raises(
        _multi(write), "no rows for symbol 'AAB'", "Did you mean 'AAA'?", "Symbols in the file: AAA, BBB.", symbol="AAB"
    )


def test_errors_in_a_multi_symbol_file_keep_the_file_line(write):
    path = write(
        "Ticker,Date,Open,High,Low,Close,Volume\n"
        "AAA,2020-01-02,10,11,9,10,100\n"
        "BBB,2020-01-02,20,21,19,20,200\n"
        "BBB,2020-01-03,20,18,19,20,200\n"
    )
    _raises(path, f"{path} (BBB): 'high' is below 'low' at line 4 (2020-01-03)", symbol="BBB")


def test_a_single_symbol_file_needs_no_symbol(write):
    df = read_ohlcv(write("Symbol,Date,Open,High,Low,Close,Volume\nX,2020-01-02,1,2,0.5,1.5,10\n"))
    assert len(df) == 1


# --- contract breaches, each naming the file and line ----------------------------------------------


def _with(make_lines, n: int, changes: dict[int, str]) -> list[str]:
    """``n`` good rows with some lines (numbered as in the file: header is line 1) replaced."""
    lines = make_lines(n)
    for line, text in changes.items():
        lines[line - 2] = text
    return lines


def test_high_below_low_names_lines_as_in_the_brief(write, make_csv, make_lines):
    lines = _with(
        make_lines,
        60,
        {
            17: "2020-01-17,115,110,113,114,1000",
            40: "2020-02-09,138,130,139,138,1000",
            52: "2020-02-21,150,140,149,150,1000",
        },
    )
    path = write(make_csv(lines), name="aapl.csv")
    msg = _raises(path)
    assert msg == (
        f"{path}: 'high' is below 'low' at line 17 (2020-01-17) and 2 more rows (lines 40, 52). "
        "Fix the source data; neurotrade does not guess prices."
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2020-01-05,100,99,98,99,10", "'open' is outside ['low', 'high'] at line 5 (2020-01-05)"),
        ("2020-01-05,99,99,98,100,10", "'close' is outside ['low', 'high'] at line 5 (2020-01-05)"),
        ("2020-01-05,99,100,98,99,-10", "'volume' is negative at line 5 (2020-01-05)"),
        ("2020-01-05,99,100,0,99,10", "'low' is not positive at line 5 (2020-01-05)"),
        ("2020-01-05,-1,100,-2,99,10", "'open' is not positive at line 5 (2020-01-05)"),
        ("2020-01-05,99,100,98,,10", "'close' is empty or NaN at line 5 (2020-01-05)"),
        ("2020-01-05,99,100,98,NaN,10", "'close' is empty or NaN at line 5 (2020-01-05)"),
        ("2020-01-05,99,100,98,99,", "'volume' is empty or NaN at line 5 (2020-01-05)"),
        ("2020-01-05,99,100,98,abc,10", "'Close' holds a value that is not a number ('abc') at line 5 (2020-01-05)"),
        ("2020-01-05,99,inf,98,99,10", "'high' is not finite at line 5 (2020-01-05)"),
        ("2020-01-05,99,100,98,99,1e3x", "'Volume' holds a value that is not a number ('1e3x') at line 5"),
    ],
)
def test_value_breach_names_file_and_line(write, make_csv, make_lines, line, expected):
    path = write(make_csv(_with(make_lines, 8, {5: line})))
    msg = _raises(path)
    assert msg.startswith(f"{path}: ")
    assert expected in msg


def test_blank_lines_do_not_shift_line_numbers(write, make_lines):
    lines = make_lines(6)
    lines[3] = "2020-01-05,99,100,98,99,-1"  # line 5 in a file without blank lines
    text = "Date,Open,High,Low,Close,Volume\n" + "\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:]) + "\n\n"
    _raises(write(text), "'volume' is negative at line 6 (2020-01-05)")


def test_unsorted_rows(write, make_csv, make_lines):
    lines = make_lines(8)
    lines[3], lines[4] = lines[4], lines[3]
    path = write(make_csv(lines))
    _raises(
        path,
        f"{path}: the times are not in increasing order at line 6 (2020-01-05), which comes after 2020-01-06 (line 5)",
        "repair=['sort']",
        "--repair sort",
    )


def test_exact_duplicate_rows(write, make_csv, make_lines):
    lines = make_lines(6)
    lines.insert(3, lines[2])
    _raises(
        write(make_csv(lines)),
        "duplicate rows (same time and values) at line 5 (2020-01-04)",
        "repair=['dedupe']",
        "--repair dedupe",
    )


def test_duplicate_times_with_different_values(write, make_csv, make_lines):
    lines = make_lines(6)
    lines.insert(3, "2020-01-04,102,104,101,103.5,1002")
    _raises(
        write(make_csv(lines)),
        "the same time appears twice with different values at line 5 (2020-01-04), the first also on line 4",
        "remove the wrong rows",
    )


def test_unparseable_timestamp(write, make_csv, make_lines):
    path = write(make_csv(_with(make_lines, 6, {4: "2020-13-45,99,100,98,99,10"})))
    _raises(path, f"{path}: cannot read '2020-13-45' in 'Date' as a time at line 4", "ISO 8601")


def test_empty_timestamp(write, make_csv, make_lines):
    _raises(write(make_csv(_with(make_lines, 6, {3: ",99,100,98,99,10"}))), "the time ('Date') is empty at line 3")


def test_empty_file(write):
    path = write("")
    _raises(path, f"{path}: the file is empty")


def test_header_only(write):
    _raises(write("Date,Open,High,Low,Close,Volume\n"), "has a header but no rows")


def test_ragged_line(write, make_csv, make_lines):
    lines = make_lines(4)
    lines[1] += ",1,2"
    _raises(write(make_csv(lines)), "cannot be read as CSV", "line 3")


def test_missing_file_and_unknown_type(tmp_path):
    _raises(tmp_path / "nope.csv", "nope.csv: no such file")
    _raises(tmp_path, "is a directory")
    other = tmp_path / "bars.xlsx"
    other.write_bytes(b"PK")
    _raises(other, "unknown file type", ".csv, .csv.gz and .parquet")


def test_not_utf8(write, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,10 \xe9\n".encode("latin-1"))
    _raises(path, "is not UTF-8 text")


def test_many_breaches_are_all_reported(write, make_csv, make_lines):
    lines = _with(make_lines, 10, {3: "2020-01-03,99,100,98,99,-1", 7: "2020-01-07,99,100,98,,10"})
    msg = _raises(write(make_csv(lines)))
    assert len(msg.splitlines()) == 2


# --- timestamps --------------------------------------------------------------------------------


def _times(write, stamps: list[str], **kwargs) -> list[pd.Timestamp]:
    lines = [f"{s},100,102,99,101,1000" for s in stamps]
    return list(read_ohlcv(write("Date,Open,High,Low,Close,Volume\n" + "\n".join(lines) + "\n"), **kwargs).index)


def _utc(*texts: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(t, tz="UTC") for t in texts]


def test_epoch_seconds_and_milliseconds(write, caplog):
    with caplog.at_level(logging.DEBUG, logger="neurotrade.data"):
        assert _times(write, ["1577836800", "1577923200"]) == _utc("2020-01-01", "2020-01-02")
    assert "epoch seconds" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="neurotrade.data"):
        assert _times(write, ["1577836800000", "1577836860500"]) == _utc("2020-01-01 00:00", "2020-01-01 00:01:00.5")
    assert "epoch milliseconds" in caplog.text


def test_epoch_times_ignore_the_timezone_argument(write):
    assert _times(write, ["1577836800"], timezone="Asia/Tokyo") == _utc("2020-01-01")


def test_mixed_epoch_units_are_refused(write):
    _raises(
        write("t,o,h,l,c,v\n1577836800,1,2,0.5,1,1\n1577923200000,1,2,0.5,1,1\n1578009600,1,2,0.5,1,1\n"),
        "mixes epoch units: most times are in seconds, but not the value 1577923200000 at line 3",
    )


def test_iso_with_offsets_is_converted_to_utc(write):
    got = _times(write, ["2020-06-01T09:30:00+02:00", "2020-06-01T09:31:00Z", "2020-06-01T05:32:00-0400"])
    assert got == _utc("2020-06-01 07:30", "2020-06-01 09:31", "2020-06-01 09:32")


def test_naive_times_are_in_the_given_timezone(write):
    got = _times(write, ["2020-01-02 09:30", "2020-07-01 09:30"], timezone="America/New_York")
    assert got == _utc("2020-01-02 14:30", "2020-07-01 13:30")


def test_time_that_does_not_exist_in_the_timezone(write):
    _raises(
        write("Date,Open,High,Low,Close,Volume\n2020-03-08 02:30,1,2,0.5,1,1\n"),
        "does not exist or is ambiguous in America/New_York",
        "at line 2",
        timezone="America/New_York",
    )


def test_unknown_timezone_suggests_a_close_one(write, make_csv, make_lines):
    _raises(
        write(make_csv(make_lines(2))), "unknown time zone 'Europe/Londn'", "'Europe/London'", timezone="Europe/Londn"
    )


def test_times_with_and_without_offsets_are_refused(write):
    _raises(
        write(
            "Date,Open,High,Low,Close,Volume\n2020-01-02T10:00:00+01:00,1,2,0.5,1,1\n2020-01-02T11:00:00,1,2,0.5,1,1\n"
        ),
        "mixes times with and without a UTC offset",
        "line 3",
    )


def test_yyyymmdd_numbers_are_dates(write):
    assert _times(write, ["20200102", "20200103"]) == _utc("2020-01-02", "2020-01-03")


def test_us_style_dates_are_inferred(write):
    assert _times(write, ["01/17/2020", "01/21/2020"]) == _utc("2020-01-17", "2020-01-21")


# --- Parquet -----------------------------------------------------------------------------------


def test_parquet_round_trip(tmp_path, make_bars):
    df = make_bars(50, freq="h")
    path = tmp_path / "bars.parquet"
    df.to_parquet(path)
    pd.testing.assert_frame_equal(read_ohlcv(path), df, check_freq=False)


def test_parquet_with_a_naive_time_column_and_other_names(tmp_path, make_bars):
    df = make_bars(5)
    raw = df.reset_index().rename(columns=str.title)
    raw["Time"] = raw["Time"].dt.tz_localize(None)
    raw["Volume"] = raw["Volume"].astype("int64")
    path = tmp_path / "bars.parquet"
    raw.to_parquet(path)
    pd.testing.assert_frame_equal(read_ohlcv(path), df, check_freq=False)


def test_parquet_errors_name_rows(tmp_path, make_bars):
    df = make_bars(5)
    df.iloc[2, 4] = -3.0
    path = tmp_path / "bars.parquet"
    df.to_parquet(path)
    _raises(path, f"{path}: 'volume' is negative at row 2 (2020-01-04)")


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "bars.parquet"
    path.write_bytes(b"not parquet at all")
    _raises(path, "cannot be read as Parquet")


# --- round trips of random valid frames -----------------------------------------------------------


@st.composite
def ohlcv_frames(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    finite = st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False)
    start = draw(st.datetimes(pd.Timestamp("1990-01-01"), pd.Timestamp("2030-01-01"))).replace(microsecond=0)
    step = draw(st.sampled_from(["1min", "1h", "1D"]))
    rows = []
    for _ in range(n):
        a, b = draw(finite), draw(finite)
        lo, hi = min(a, b), max(a, b)
        o = draw(st.floats(lo, hi))
        c = draw(st.floats(lo, hi))
        v = draw(st.floats(0, 1e9, allow_nan=False))
        rows.append((o, hi, lo, c, v))
    index = pd.date_range(pd.Timestamp(start, tz="UTC"), periods=n, freq=step, name="time", unit="us")
    return pd.DataFrame(rows, columns=list(OHLCV_COLUMNS), index=index)


@settings(max_examples=30, deadline=None)
@given(df=ohlcv_frames(), fmt=st.sampled_from(["csv", "csv.gz", "parquet", "epoch_s", "epoch_ms", "offset"]))
def test_random_valid_frames_round_trip(df, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"bars.{fmt if fmt.startswith(('csv', 'parquet')) else 'csv'}"
        timezone = "UTC"
        if fmt == "parquet":
            df.to_parquet(path)
        elif fmt == "epoch_s":
            df.set_axis(df.index.asi8 // 10**6, axis=0).rename_axis("timestamp").to_csv(path)
        elif fmt == "epoch_ms":
            df.set_axis(df.index.asi8 // 10**3, axis=0).rename_axis("t").to_csv(path)
        elif fmt == "offset":
            # Local times with offsets must come back as the same UTC instants.
            local = df.tz_convert("Asia/Kolkata")
            local.set_axis(local.index.map(pd.Timestamp.isoformat), axis=0).to_csv(path)
        else:
            naive = df.tz_convert("America/Chicago").tz_localize(None)
            naive.to_csv(path)
            timezone = "America/Chicago"
        try:
            # Random prices jump by any factor from bar to bar: the plausibility bound is not what is tested here.
            got = read_ohlcv(path, timezone=timezone, max_move=None)
        except DataError as e:
            # A naive local time can fall in a daylight-saving gap or overlap: that must be the error.
            assert timezone != "UTC" and "daylight-saving" in str(e)
            return
        pd.testing.assert_frame_equal(got, df, check_freq=False)


def test_adjusted_close_without_splits_is_dropped(write):
    text = "Date,Open,High,Low,Close,Volume,Adj Close\n2020-01-02,10,11,9,10,100,9.5\n2020-01-03,10,11,9,10,100,9.5\n"
    df = read_ohlcv(write(text))
    assert list(df.columns) == list(OHLCV_COLUMNS)
    assert df["close"].tolist() == [10.0, 10.0]


# --- times pandas cannot hold (issue 9, item 12) ----------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("3000-01-03", "'3000-01-03'"),
        ("1500-01-03", "'1500-01-03'"),
        ("01/03/3000", "'01/03/3000'"),
        ("3000-01-03T00:00:00+01:00", "'3000-01-03T00:00:00+01:00'"),
    ],
)
def test_a_date_outside_pandas_range_names_file_line_and_fix(write, cell, shown):
    # Regression: these raised OutOfBoundsDatetime (an internal error, exit 1) once a stage counted nanoseconds.
    first = "2020-01-02T00:00:00+00:00" if "+" in cell else ("01/02/2020" if "/" in cell else "2020-01-02")
    path = write(f"Date,Open,High,Low,Close,Volume\n{first},1,2,0.5,1.5,10\n{cell},1,2,0.5,1.5,10\n")
    _raises(
        path,
        f"{path}: the time {shown} in 'Date'",
        "at line 3",
        "outside the years neurotrade handles (1678 to 2261)",
        "Fix the date in the source",
    )


def test_epoch_values_too_far_from_1970_are_located(write):
    # 99999999999 seconds is the year 5138; 9.3e18 nanoseconds does not fit pandas' 64-bit count at all.
    path = write("t,o,h,l,c,v\n1577923200,1,2,0.5,1.5,10\n99999999999,1,2,0.5,1.5,10\n")
    _raises(path, "the time 99999999999 in 't' (5138-11-16) at line 3 is outside the years")
    path = write("t,o,h,l,c,v\n1577923200000000000,1,2,0.5,1.5,10\n9300000000000000000,1,2,0.5,1.5,10\n")
    _raises(path, "the time 9300000000000000000 in 't' at line 3 is too far from 1970 as epoch nanoseconds")


def test_a_parquet_time_column_outside_the_range_is_located(tmp_path, make_bars):
    df = make_bars(3).reset_index()
    df["time"] = pd.to_datetime(["2020-01-02", "2020-01-03", "2999-01-04"]).as_unit("us").tz_localize("UTC")
    path = tmp_path / "bars.parquet"
    df.to_parquet(path)
    _raises(path, "(2999-01-04) at row 2 is outside the years neurotrade handles")


# --- files written by pandas with the index as first column (issue 9, item 24) -----------------------


@pytest.mark.parametrize("header", [",Open,High,Low,Close,Volume", "Unnamed: 0,Open,High,Low,Close,Volume"])
def test_an_unnamed_first_column_of_dates_is_the_time(write, make_lines, make_csv, header):
    # Regression: `df.to_csv()` leaves the index column's header empty (pandas reads it as 'Unnamed: 0').
    df = read_ohlcv(write(make_csv(make_lines(3), header=header)))
    assert df.index[0] == pd.Timestamp("2020-01-02", tz="UTC")
    assert df.iloc[0].tolist() == [100.0, 102.0, 99.0, 101.0, 1000.0]


def test_a_frame_written_by_pandas_reads_back(tmp_path, make_bars):
    df = make_bars(20, freq="h")
    path = tmp_path / "bars.csv"
    df.tz_localize(None).rename_axis(None).to_csv(path)
    assert path.read_text().startswith(",open,high,low,close,volume\n")
    pd.testing.assert_frame_equal(read_ohlcv(path), df, check_freq=False)


def test_backtesting_py_own_files_are_read():
    backtesting = pytest.importorskip("backtesting")
    folder = Path(backtesting.__file__).parent / "test"
    goog = read_ohlcv(folder / "GOOG.csv")
    assert len(goog) == 2148 and goog.index[0] == pd.Timestamp("2004-08-19", tz="UTC")
    eurusd = read_ohlcv(folder / "EURUSD.csv")
    assert eurusd.index[1] - eurusd.index[0] == pd.Timedelta(hours=1)


def test_an_unnamed_column_of_row_numbers_is_not_taken_for_times(write):
    path = write(",Open,High,Low,Close,Volume\n0,1,2,0.5,1.5,10\n1,1,2,0.5,1.5,10\n")
    _raises(path, "no 'time' column", "The file's columns are: Unnamed: 0, Open")
    # Beside a named time column, the row numbers are just an extra column.
    path = write(",Date,Open,High,Low,Close,Volume\n0,2020-01-02,1,2,0.5,1.5,10\n1,2020-01-03,1,2,0.5,1.5,10\n")
    assert len(read_ohlcv(path)) == 2


# --- float noise at the envelope (issue 9, item 24) -------------------------------------------------

_BAR = st.tuples(st.floats(0.01, 1e6), st.floats(0.0, 0.5)).map(lambda t: (t[0], t[0] * (1 + t[1])))  # (low, high)


@settings(max_examples=60, deadline=None)
@given(bar=_BAR, side=st.sampled_from(["high", "low"]), col=st.sampled_from(["open", "close"]), rel=st.floats(0, 0.99))
def test_float_noise_within_1e_9_is_clipped_and_reported(bar, side, col, rel):
    low, high = bar
    bound = high if side == "high" else low
    value = bound * (1 + rel * 1e-9) if side == "high" else bound * (1 - rel * 1e-9)
    cells = {"open": (low + high) / 2, "close": (low + high) / 2, col: value}
    seen: list = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bars.csv"
        path.write_text(
            f"Date,Open,High,Low,Close,Volume\n2020-01-02,{cells['open']!r},{high!r},{low!r},{cells['close']!r},1\n"
        )
        df = read_ohlcv(path, on_repair=seen.append)
    assert df[col].iloc[0] == (min(max(value, low), high))  # exactly the bound when it was outside
    validate_ohlcv(df)
    outside = value > high or value < low
    assert [r.kind for r in seen] == (["float-noise"] if outside else [])
    if outside:
        assert "clipped the open or close of 1 bar onto [low, high]" in seen[0].message
        assert "at line 2 (2020-01-02)" in seen[0].message


@settings(max_examples=40, deadline=None)
@given(bar=_BAR, side=st.sampled_from(["high", "low"]), rel=st.floats(1.01e-9, 1e-3))
def test_beyond_float_noise_stays_an_error(bar, side, rel):
    low, high = bar
    close = high * (1 + rel) if side == "high" else low * (1 - rel)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bars.csv"
        path.write_text(f"Date,Open,High,Low,Close,Volume\n2020-01-02,{low!r},{high!r},{low!r},{close!r},1\n")
        with pytest.raises(DataError, match=r"'close' is outside \['low', 'high'\] at line 2"):
            read_ohlcv(path)


def test_adjusted_data_6e_15_outside_is_accepted_as_in_the_report(write, caplog):
    # The reported case: an adjusted close a few ulps above the adjusted high.
    high = 27.263794
    text = f"Date,Open,High,Low,Close,Volume\n2020-01-02,27.1,{high},26.9,{high * (1 + 6e-15)!r},100\n"
    with caplog.at_level(logging.WARNING, logger="neurotrade.data"):
        df = read_ohlcv(write(text))
    assert df["close"].iloc[0] == high
    assert "float noise of adjusted prices (at line 2 (2020-01-02))" in caplog.text
