"""``neurotrade indicators``: list, show and compute, with user errors as one message and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurotrade.cli import main
from neurotrade.data import DataStore, load_sample, synthetic_ohlcv
from neurotrade.indicators import available, compute, get

FIELDS = ["name", "description", "params", "outputs", "warmup", "talib"]


def call(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


def test_list_json_describes_every_indicator_with_exactly_these_fields(capsys) -> None:
    code, out, _ = call(["indicators", "list", "--json"], capsys)
    assert code == 0
    listed = json.loads(out)
    assert [item["name"] for item in listed] == [info.name for info in available()]
    assert all(list(item) == FIELDS for item in listed)
    rsi = next(item for item in listed if item["name"] == "rsi")
    assert rsi["params"] == [
        {
            "name": "period",
            "type": "int",
            "default": 14,
            "minimum": 2,
            "maximum": 100000,
            "exclusive_minimum": False,
            "description": get("rsi").params[0].description,
        }
    ]
    assert (rsi["outputs"], rsi["warmup"], rsi["talib"]) == (["rsi"], 14, "RSI")
    bbands = next(item for item in listed if item["name"] == "bbands")
    assert bbands["params"][1]["type"] == "float" and bbands["params"][1]["exclusive_minimum"] is True
    assert bbands["warmup"] == get("bbands").warmup()


def test_list_prints_a_table(capsys) -> None:
    code, out, _ = call(["indicators", "list"], capsys)
    assert code == 0
    assert f"{len(available())} indicators" in out
    assert "macd" in out and "MACD" in out and "fast=12 (int 2..100000)" in out


def test_show_adds_the_definition(capsys) -> None:
    code, out, _ = call(["indicators", "show", "BBANDS", "--json"], capsys)
    assert code == 0
    shown = json.loads(out)
    assert list(shown) == [*FIELDS, "definition"]
    assert shown["name"] == "bbands" and shown["definition"] == get("bbands").definition
    code, out, _ = call(["indicators", "show", "macd"], capsys)
    assert code == 0
    for text in ("definition", "signal", "2..100000", "33 bars at the defaults", "MACD"):
        assert text in out


def test_an_unknown_indicator_gets_a_suggestion_and_exit_2(capsys) -> None:
    code, _, err = call(["indicators", "show", "bbnds"], capsys)
    assert code == 2
    assert "error: unknown indicator 'bbnds'; did you mean 'bbands'?" in err and "Traceback" not in err


def test_compute_prints_the_last_rows_of_a_bundled_sample(tmp_path: Path, capsys) -> None:
    code, out, _ = call(["--home", str(tmp_path), "indicators", "compute", "aapl", "rsi", "-p", "period=10"], capsys)
    assert code == 0
    expected = compute(load_sample("AAPL"), "rsi", period=10)["rsi"]
    assert "rsi(period=10) on AAPL/1d (bundled sample): 3270 bars, the first 10 are warm-up (NaN)" in out
    assert f"{expected.iloc[-1]:,.6g}" in out and "2013-03-01" in out
    assert f"{expected.iloc[-11]:,.6g}" not in out  # ten rows by default


def test_compute_writes_csv_and_parquet_files(tmp_path: Path, capsys) -> None:
    expected = compute(load_sample("MSFT"), "macd", fast=5, slow=20, signal=4)
    home = ["--home", str(tmp_path), "indicators", "compute", "MSFT", "macd"]
    params = ["--param", "fast=5", "--param", "slow=20", "-p", "signal=4"]
    code, out, _ = call([*home, *params, "--out", str(tmp_path / "m.parquet")], capsys)
    assert code == 0 and f"Wrote {len(expected)} rows of macd(fast=5, slow=20, signal=4)" in out
    assert pd.read_parquet(tmp_path / "m.parquet").equals(expected)
    code, _, _ = call([*home, *params, "--out", str(tmp_path / "m.csv")], capsys)
    assert code == 0
    back = pd.read_csv(tmp_path / "m.csv", index_col="time")
    assert list(back.columns) == ["macd", "signal", "hist"]
    np.testing.assert_array_equal(back.to_numpy(), expected.to_numpy())  # floats round-trip through CSV


def test_compute_reads_the_workspace_store_first(tmp_path: Path, capsys) -> None:
    bars = synthetic_ohlcv(400, seed=5, timeframe="1h", start="2024-01-01")
    DataStore(tmp_path).put(bars, "demo", "1h", source="test")
    out_file = tmp_path / "atr.parquet"
    args = ["--home", str(tmp_path), "indicators", "compute", "DEMO", "atr", "-t", "1h", "-o", str(out_file)]
    code, _, _ = call(args, capsys)
    assert code == 0
    assert pd.read_parquet(out_file)["atr"].equals(compute(bars, "atr")["atr"])
    # a coarser timeframe is aggregated from the stored bars
    code, out, _ = call(["--home", str(tmp_path), "indicators", "compute", "DEMO", "sma", "-t", "4h"], capsys)
    period = get("sma").defaults()["period"]
    assert code == 0 and f"sma(period={period}) on DEMO/4h (workspace store" in out and "100 bars" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["AAPX", "rsi"], "no bars for 'AAPX': the workspace store"),
        (["AAPX", "rsi"], "Did you mean 'AAPL'?"),
        (["AAPL", "rsi", "-p", "perod=3"], "perod: unknown parameter; did you mean 'period'?"),
        (["AAPL", "rsi", "-p", "period=fourteen"], "period: must be an integer from 2 to 100000, got 'fourteen'"),
        (["AAPL", "rsi", "-p", "period=14.0"], "period: must be an integer from 2 to 100000 (write 14, not 14.0)"),
        (["AAPL", "rsi", "-p", "period"], "--param 'period': write NAME=VALUE, e.g. --param period=14"),
        (["AAPL", "rsi", "-p", "period=3", "-p", "period=4"], "--param period is given twice"),
        (["AAPL", "rsi", "-o", "x.txt"], "--out x.txt: write a .csv or a .parquet file"),
        (["AAPL", "rsi", "-o", "no/such/dir/x.csv"], "--out no/such/dir/x.csv: the folder no/such/dir does not exist"),
        (["AAPL", "rsi", "-t", "1h"], "the bundled sample of AAPL holds daily bars, too coarse for --timeframe 1h"),
        (["AAPL", "rsi", "-t", "2h"], "unknown timeframe '2h'"),
        (["AAPL", "rsx2"], "unknown indicator 'rsx2'"),
        (["AA PL", "rsi"], "invalid symbol 'AA PL'"),
    ],
)
def test_compute_user_errors_exit_2(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    code, _, err = call(["--home", str(tmp_path), "indicators", "compute", *args], capsys)
    assert code == 2
    assert message in " ".join(err.split()), err
    assert "Traceback" not in err


def test_help_names_the_indicators_commands(capsys) -> None:
    code, out, _ = call(["indicators", "--help"], capsys)
    assert code == 0
    for command in ("list", "show", "compute"):
        assert command in out
