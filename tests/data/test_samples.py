"""The bundled real data: unchanged file, provenance, and split-adjusted loading."""

from __future__ import annotations

import hashlib
import logging
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from neurotrade._stages import load_bars
from neurotrade.config import DataSpec
from neurotrade.data import _samples, load_sample, read_ohlcv, sample_info, sample_symbols, validate_ohlcv
from neurotrade.errors import DataError

SHA256 = "5abadf99b2d394f920120a27de6f0df129859d71d4cfb0bf661bcc99446ab1fd"
SAMPLES = resources.files("neurotrade.data").joinpath("samples")


@pytest.fixture(scope="module")
def aapl() -> tuple[pd.DataFrame, list]:
    seen: list = []
    return load_sample("AAPL", on_repair=seen.append), seen


@pytest.fixture(scope="module")
def raw_aapl() -> pd.DataFrame:
    with resources.as_file(SAMPLES.joinpath("stocks.csv.gz")) as path:
        raw = pd.read_csv(path)
    return raw[raw["Ticker"] == "AAPL"].reset_index(drop=True)


def test_the_file_is_unchanged_and_documented():
    data = SAMPLES.joinpath("stocks.csv.gz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHA256
    provenance = SAMPLES.joinpath("PROVENANCE.md").read_text(encoding="utf-8")
    for fact in (SHA256, "bokeh_sampledata", "2026.1", "BSD-3-Clause", "public domain", "NOT split-adjusted"):
        assert fact in provenance
    licence = SAMPLES.joinpath("LICENSE-bokeh_sampledata.txt").read_text(encoding="utf-8")
    assert "Copyright (c) Bokeh Contributors" in licence
    assert "Redistribution and use in source and binary forms" in licence


def test_symbols_and_ranges():
    assert sample_symbols() == ["AAPL", "FB", "GOOG", "IBM", "MSFT"]
    info = {i.symbol: i for i in sample_info()}
    assert info["AAPL"].rows == 3270
    assert info["FB"].first == pd.Timestamp("2012-05-18", tz="UTC")
    assert info["GOOG"].last == pd.Timestamp("2013-03-01", tz="UTC")


def test_aapl_splits_are_found_and_named(aapl):
    _, seen = aapl
    assert [r.kind for r in seen] == ["split-adjust"]
    assert "splits found: 2000-06-21 (2:1), 2005-02-28 (2:1)" in seen[0].message
    assert seen[0].rows == 3270


def test_aapl_has_no_overnight_halving_left(aapl, raw_aapl):
    df, _ = aapl
    validate_ohlcv(df)
    days = df.index[1:].strftime("%Y-%m-%d")
    raw_gap = raw_aapl["Open"].to_numpy()[1:] / raw_aapl["Close"].to_numpy()[:-1]
    # Raw: the two splits, and the real crash of 2000-09-29 (a profit warning; no split, factor unchanged).
    assert list(days[raw_gap < 0.6]) == ["2000-06-21", "2000-09-29", "2005-02-28"]
    gap = df["open"].to_numpy()[1:] / df["close"].to_numpy()[:-1]
    assert list(days[gap < 0.6]) == ["2000-09-29"]
    for split in ("2000-06-21", "2005-02-28"):
        assert abs(np.log(gap[list(days).index(split)])) < np.log(1.15)
    assert gap.max() < 1.5


def test_aapl_volume_is_adjusted_so_traded_value_is_kept(aapl, raw_aapl):
    df, _ = aapl
    np.testing.assert_allclose(
        (df["close"] * df["volume"]).to_numpy(), (raw_aapl["Close"] * raw_aapl["Volume"]).to_numpy(), rtol=1e-12
    )
    np.testing.assert_allclose(df["close"].to_numpy(), raw_aapl["Adj Close"].to_numpy(), rtol=1e-12)
    # Across the split the factor doubles, so the adjusted volume moves half as much as the raw one.
    split = int(np.flatnonzero(df.index == pd.Timestamp("2000-06-21", tz="UTC"))[0])
    raw_step = raw_aapl["Volume"].iloc[split] / raw_aapl["Volume"].iloc[split - 1]
    step = df["volume"].iloc[split] / df["volume"].iloc[split - 1]
    assert raw_step == pytest.approx(2 * step, rel=1e-3)


@pytest.fixture
def fresh_samples(monkeypatch) -> None:
    """Forget the samples this process has loaded, so that the first load below is a first load."""
    monkeypatch.setattr(_samples, "_LOADED", {})


def test_msft_split_and_a_symbol_without_splits(caplog, fresh_samples):
    with caplog.at_level(logging.WARNING, logger="neurotrade.data"):
        msft = load_sample("msft")
    assert "2003-02-18 (2:1)" in caplog.text
    assert len(msft) == 3270
    validate_ohlcv(load_sample("FB"))


def test_the_split_adjust_warning_is_logged_once_per_run(caplog, fresh_samples, tmp_path):
    # Regression (issue 9, item 26): `neurotrade run` loads its bars, then its report loads them again to draw
    # the trading window; each load read the file afresh and logged the same split-adjust warning.
    run_repairs: list = []
    report_repairs: list = []
    spec = DataSpec(source="sample", symbol="AAPL")
    with caplog.at_level(logging.DEBUG, logger="neurotrade.data"):
        bars = load_bars(spec, home=tmp_path, seed=0, on_repair=run_repairs.append)  # what run does
        again = load_bars(spec, home=tmp_path, seed=0)  # what the report does
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "split-adjusted" in r.getMessage()]
    assert len(warnings) == 1
    assert [r.kind for r in run_repairs] == ["split-adjust"]  # the run still records the repair it relied on
    pd.testing.assert_frame_equal(bars, again)
    # Each load gets its own copy: changing one does not change what the next load returns.
    bars.iloc[0, 0] = -1.0
    later = load_sample("AAPL", on_repair=report_repairs.append)
    assert later.iloc[0, 0] == again.iloc[0, 0] and report_repairs == run_repairs


def test_unknown_sample_suggests_a_close_one():
    with pytest.raises(DataError, match=r"no bundled sample for 'APPL'\. Did you mean 'AAPL'\? Bundled symbols: AAPL"):
        load_sample("APPL")


def test_reading_the_raw_file_without_split_adjust_is_refused():
    with resources.as_file(SAMPLES.joinpath("stocks.csv.gz")) as path, pytest.raises(DataError) as info:
        read_ohlcv(path, symbol="AAPL")
    assert "the prices are not split-adjusted" in str(info.value)
    assert "2000-06-21 (2:1), 2005-02-28 (2:1)" in str(info.value)
