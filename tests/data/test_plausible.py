"""Plausible prices (issue 9, item 17): bar-to-bar moves beyond a bound are refused, bad ticks dropped on request."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from neurotrade.data import load_sample, read_ohlcv, sample_symbols, validate_ohlcv
from neurotrade.errors import DataError

HEADER = "Date,Open,High,Low,Close,Volume"


def _csv(write, lines: list[str]) -> Path:
    return write("\n".join([HEADER, *lines]) + "\n")


def _lines(n: int = 20) -> list[str]:
    """Calm daily bars around 100: row k on line k + 2."""
    return [f"2020-01-{k + 1:02d},{100 + k % 3},{103 + k % 3},{98 + k % 3},{101 + k % 3},1000" for k in range(n)]


def test_a_1e308_price_is_refused_with_line_value_and_fix(write):
    # Regression: this file imported.
    lines = _lines()
    lines[6] = "2020-01-07,100,1e308,99,1e308,1000"
    with pytest.raises(DataError) as info:
        read_ohlcv(_csv(write, lines))
    msg = str(info.value)
    for fragment in (
        "implausible prices: a move beyond x10 from one bar to the next at line 8 (2020-01-07)",
        "and 1 more row (line 9)",  # the way back down is a move too
        "high 1e+308 after a close of 103 (x9.71e+305)",
        "repair=['implausible-drop']",
        "--max-move",
    ):
        assert fragment in msg, msg


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ("2020-01-07,100,2000,99,101,1000", "at line 8 (2020-01-07): high 2000"),  # a spike in the high alone
        ("2020-01-07,100,103,5,101,1000", "at line 8 (2020-01-07): low 5"),  # a low of 5 after 101
        # the first bar is the bad one: checked against its own close, and the next bar against it
        ("2020-01-01,100,1210,98,1200,1000", "(line 3): its low is 98 against its own close 1200 (x0.0817)"),
    ],
)
def test_every_price_is_checked(write, line, where):
    lines = _lines()
    lines[0 if line.startswith("2020-01-01") else 6] = line
    with pytest.raises(DataError, match="implausible prices") as info:
        read_ohlcv(_csv(write, lines))
    assert where in str(info.value)


def test_the_bound_is_configurable_and_can_be_turned_off(write):
    lines = _lines()
    lines[6] = "2020-01-07,100,2500,99,2400,1000"  # x24 from 101
    path = _csv(write, lines)
    with pytest.raises(DataError, match="beyond x10 "):
        read_ohlcv(path)
    with pytest.raises(DataError, match="beyond x20 "):
        read_ohlcv(path, max_move=20)
    assert read_ohlcv(path, max_move=30)["close"].iloc[6] == 2400.0
    assert read_ohlcv(path, max_move=None)["close"].iloc[6] == 2400.0
    for bad in (1.0, 0.5, float("nan"), "ten"):
        with pytest.raises(DataError, match="max_move must be"):
            read_ohlcv(path, max_move=bad)


def test_ordinary_moves_pass(write):
    lines = _lines()
    lines[6] = "2020-01-07,55,56,45,50,1000"  # a crash of half: x0.5 is well inside the bound
    assert len(read_ohlcv(_csv(write, lines))) == 20


@pytest.mark.parametrize(
    ("bad", "dropped"),
    [
        ({6: "2020-01-07,100,1e308,99,1e308,1000"}, [6]),
        ({0: "2020-01-01,1e308,1e308,1e308,1e308,1000"}, [0]),  # the first bar
        ({19: "2020-01-20,0.001,103,0.001,101,1000"}, [19]),  # the last bar
        ({k: f"2020-01-{k + 1:02d},5000,5100,4900,5050,1000" for k in (5, 6, 7)}, [5, 6, 7]),  # a short run
    ],
)
def test_implausible_drop_removes_bad_ticks_and_reports_them(write, caplog, bad, dropped):
    lines = _lines()
    for k, line in bad.items():
        lines[k] = line
    seen: list = []
    with caplog.at_level(logging.WARNING, logger="neurotrade.data"):
        df = read_ohlcv(_csv(write, lines), repair=["implausible-drop"], on_repair=seen.append)
    validate_ohlcv(df)
    assert len(df) == 20 - len(dropped)
    assert [r.kind for r in seen] == ["implausible-drop"]
    assert seen[0].rows == len(dropped)
    assert f"dropped {len(dropped)} bar" in seen[0].message
    assert f"line {dropped[0] + 2} " in seen[0].message
    assert "implausible prices" in caplog.text
    assert df["close"].max() < 200 and df["low"].min() > 90


def test_implausible_drop_does_not_hide_a_change_of_level(write):
    # x20 from line 12 on: an unadjusted reverse split, say. Dropping 9 rows would hide it, so it stays an error.
    lines = _lines()
    lines[10:] = [
        f"2020-01-{k + 1:02d},{2000 + k % 3},{2060 + k % 3},{1960 + k % 3},{2020 + k % 3},1000" for k in range(10, 20)
    ]
    with pytest.raises(DataError) as info:
        read_ohlcv(_csv(write, lines), repair=["implausible-drop"])
    msg = str(info.value)
    assert "move beyond x10 from one bar to the next at line 12 (2020-01-11)" in msg
    assert "a change of level (an unadjusted split? prices in other units?), not a bad tick" in msg


def test_the_check_runs_after_split_adjust(write):
    # A 1:20 reverse split in raw prices is a x20 jump; the adjusted prices the reader returns are calm.
    rows = [HEADER + ",Adj Close"]
    for k in range(12):
        raw = 5.0 if k < 6 else 100.0
        rows.append(f"2020-01-{k + 1:02d},{raw},{raw * 1.01},{raw * 0.99},{raw},1000,{5.0}")
    path = write("\n".join(rows) + "\n")
    with pytest.raises(DataError, match="not split-adjusted"):
        read_ohlcv(path)
    df = read_ohlcv(path, repair=["split-adjust"])
    assert np.allclose(df["close"], 5.0)


@pytest.mark.parametrize("symbol", sample_symbols())
def test_bundled_samples_pass_the_check(symbol):
    bars = load_sample(symbol)  # read with the default bound of x10
    close = bars["close"].to_numpy()
    worst = np.abs(np.log(bars[["open", "high", "low", "close"]].to_numpy()[1:] / close[:-1, None])).max()
    assert np.exp(worst) < 3  # real moves stay far from the bound


def test_backtesting_py_files_pass_the_check():
    backtesting = pytest.importorskip("backtesting")
    folder = Path(backtesting.__file__).parent / "test"
    for name in ("GOOG.csv", "EURUSD.csv", "BTCUSD.csv"):
        assert len(read_ohlcv(folder / name)) > 100
