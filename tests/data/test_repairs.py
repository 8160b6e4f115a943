"""Repairs happen only when asked, and each one is logged and passed to on_repair."""

from __future__ import annotations

import logging
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from neurotrade.data import REPAIRS, Repair, read_ohlcv
from neurotrade.errors import DataError


def _read(path, repair, **kwargs) -> tuple[object, list[Repair]]:
    seen: list[Repair] = []
    df = read_ohlcv(path, repair=repair, on_repair=seen.append, **kwargs)
    return df, seen


def test_known_repairs():
    assert REPAIRS == ("sort", "dedupe", "split-adjust", "implausible-drop")


def test_sort_is_applied_logged_and_reported(write, make_csv, make_lines, caplog):
    lines = make_lines(6)
    lines[1], lines[4] = lines[4], lines[1]
    path = write(make_csv(lines))
    with caplog.at_level(logging.WARNING, logger="neurotrade.data"):
        df, seen = _read(path, ["sort"])
    assert df.index.is_monotonic_increasing
    assert df["close"].tolist() == [101.0, 102.0, 103.0, 104.0, 105.0, 106.0]
    assert seen == [Repair("sort", f"{path}: sorted the rows by time (2 rows were out of place)", rows=2)]
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("neurotrade.data", "WARNING", seen[0].message)
    ]


def test_nothing_to_repair_reports_nothing(write, make_csv, make_lines, caplog):
    with caplog.at_level(logging.WARNING, logger="neurotrade.data"):
        _, seen = _read(write(make_csv(make_lines(4))), ["sort", "dedupe"])
    assert seen == []
    assert caplog.records == []


def test_dedupe_drops_exact_duplicates_only(write, make_csv, make_lines):
    lines = make_lines(5)
    lines = [*lines[:3], lines[2], *lines[3:], lines[0]]  # a repeat next to its twin, one far away
    path = write(make_csv(lines))
    df, seen = _read(path, ["dedupe", "sort"])
    assert len(df) == 5
    assert df.index.is_unique
    assert [r.kind for r in seen] == ["dedupe"]
    assert seen[0].rows == 2
    assert "dropped 2 exact duplicate rows (line 5 (2020-01-04) and 1 more row (line 8))" in seen[0].message


def test_dedupe_keeps_conflicting_duplicates_an_error(write, make_csv, make_lines):
    lines = make_lines(5)
    lines.insert(3, lines[2].replace(",1002", ",999"))
    with pytest.raises(DataError, match="the same time appears twice with different values at line 5"):
        read_ohlcv(write(make_csv(lines)), repair=["dedupe"])


@pytest.mark.parametrize("spelling", ["sort,dedupe", ["sort", "dedupe"], ("SORT", " dedupe ")])
def test_repair_spellings(write, make_csv, make_lines, spelling):
    lines = make_lines(5)
    lines = [lines[1], lines[0], lines[0], *lines[2:]]
    df, seen = _read(write(make_csv(lines)), spelling)
    assert len(df) == 5
    assert sorted(r.kind for r in seen) == ["dedupe", "sort"]


def test_split_underscore_spelling_is_accepted(write):
    path = write("Date,Open,High,Low,Close,Volume,Adj Close\n2020-01-02,10,11,9,10,100,5\n")
    df, _ = _read(path, ["split_adjust"])
    assert df["close"].tolist() == [5.0]


def test_unknown_repair_suggests_a_close_match(write, make_csv, make_lines):
    path = write(make_csv(make_lines(2)))
    with pytest.raises(DataError, match=r"unknown repair 'srot'\. Did you mean 'sort'\? Known repairs: sort"):
        read_ohlcv(path, repair=["srot"])


def _split_file(write, *, ratio_text: str = "2,1", with_adj: bool = True):
    """Ten days of a stock that splits 2:1 (or another ratio) before day six; adj close is continuous."""
    num, den = (int(x) for x in ratio_text.split(","))
    ratio = num / den
    rows = []
    for k in range(10):
        price = 100.0 + k
        raw = price if k < 5 else price / ratio
        volume = 1000.0 if k < 5 else 1000.0 * ratio
        adj = price / 2  # later dividends and splits: the adjusted level is far from the raw one
        row = f"2020-01-{k + 2:02d},{raw},{raw * 1.01},{raw * 0.99},{raw},{volume}"
        rows.append(row + (f",{adj}" if with_adj else ""))
    header = "Date,Open,High,Low,Close,Volume" + (",Adj Close" if with_adj else "")
    return write("\n".join([header, *rows]) + "\n")


def test_split_adjust_scales_prices_and_volume_and_names_the_split(write):
    df, seen = _read(_split_file(write), ["split-adjust"])
    assert df["close"].tolist() == pytest.approx([(100.0 + k) / 2 for k in range(10)])
    gaps = df["open"].to_numpy()[1:] / df["close"].to_numpy()[:-1]
    assert np.all(np.abs(np.log(gaps)) < 0.05)
    # Traded value (price x volume) is unchanged by the adjustment.
    raw_value = np.array([(100.0 + k) * 1000.0 for k in range(10)])
    assert (df["close"] * df["volume"]).to_numpy() == pytest.approx(raw_value)
    assert [r.kind for r in seen] == ["split-adjust"]
    assert seen[0].rows == 5  # after the split, adj close equals close: those rows are unchanged
    assert "splits found: 2020-01-07 (2:1)" in seen[0].message


@pytest.mark.parametrize(("ratio", "label"), [("3,2", "3:2"), ("1,10", "1:10"), ("7,1", "7:1")])
def test_split_ratios_are_named(write, ratio, label):
    _, seen = _read(_split_file(write, ratio_text=ratio), ["split-adjust"])
    assert f"2020-01-07 ({label})" in seen[0].message


def test_unadjusted_prices_with_splits_are_refused(write):
    path = _split_file(write)
    with pytest.raises(DataError) as info:
        read_ohlcv(path)
    msg = str(info.value)
    assert f"{path}: the prices are not split-adjusted" in msg
    assert "2020-01-07 (2:1)" in msg
    assert "repair=['split-adjust']" in msg
    assert "--repair split-adjust" in msg


def test_split_adjust_needs_an_adjusted_close(write):
    with pytest.raises(DataError, match="no adjusted-close column, which split-adjust needs"):
        read_ohlcv(_split_file(write, with_adj=False), repair=["split-adjust"])


def test_split_adjust_refuses_a_bad_adjusted_close(write):
    path = write(
        "Date,Open,High,Low,Close,Volume,Adj Close\n2020-01-02,10,11,9,10,100,5\n2020-01-03,10,11,9,10,100,0\n"
    )
    with pytest.raises(DataError, match="'Adj Close' is not a positive number at line 3"):
        read_ohlcv(path, repair=["split-adjust"])


def test_a_dividend_sized_factor_step_is_not_a_split(write):
    # A 10% special dividend moves the factor by 10% without an overnight price gap of the same size.
    text = "Date,Open,High,Low,Close,Volume,Adj Close\n2020-01-02,10,11,9,10,100,9.0\n2020-01-03,10,11,9,10,100,10.0\n"
    df, seen = _read(write(text), ["split-adjust"])
    assert "no splits found" in seen[0].message
    assert read_ohlcv(write(text, name="again.csv")).shape == (2, 5)
    assert df.shape == (2, 5)


def test_factor_jump_without_a_price_gap_is_flagged(write):
    text = "Date,Open,High,Low,Close,Volume,Adj Close\n2020-01-02,10,11,9,10,100,5\n2020-01-03,10,11,9,10,100,10\n"
    _, seen = _read(write(text), ["split-adjust"])
    assert "the factor also jumps without a matching price gap on 2020-01-03" in seen[0].message


def test_unadjusted_splits_without_an_adjusted_close_are_warned_about(tmp_path, caplog):
    # Regression: raw AAPL bars with no adjusted-close column used to load silently, halving overnight twice.
    raw = pd.read_csv(resources.files("neurotrade.data") / "samples" / "stocks.csv.gz")
    aapl = raw[raw["Ticker"] == "AAPL"].drop(columns=["Ticker", "Adj Close"])
    path = tmp_path / "aapl_raw.csv"
    aapl.to_csv(path, index=False)
    with caplog.at_level("WARNING", logger="neurotrade.data"):
        read_ohlcv(path)
    (message,) = [r.getMessage() for r in caplog.records if "split ratios" in r.getMessage()]
    assert "2000-06-21 (2:1), 2005-02-28 (2:1)" in message
    assert "2000-09-29" not in message  # a real crash of -47 % is not a split
    assert "data.repair: [split-adjust]" in message
