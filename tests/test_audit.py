"""The leakage audit passes the example strategies and catches each kind of planted leak."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurotrade import features, pipeline
from neurotrade.audit import audit
from neurotrade.cli import main
from neurotrade.config import parse_strategy
from neurotrade.features import Standardizer

REPO = Path(__file__).resolve().parents[1]

DAILY = parse_strategy(
    "name: t\ndata: {source: synthetic, bars: 1200}\nindicators: {rsi_14: {}, sma_10: {}}\n"
    "fuzzy_sets: {rsi_14: {low: [0, 0, 30, 40], high: [60, 70, 100, 100]}}\n"
    "nn_inputs: {indicators: [rsi_14], context: {price_over_ma: [10]}, lookback_periods: 1}\n"
)
HOURLY = parse_strategy(
    "name: h\ndata: {source: synthetic, bars: 1500, timeframe: 1h}\nindicators: {rsi_14: {}}\n"
    "nn_inputs: {timeframes: [1h, 1d], indicators: [rsi_14]}\n"
)


def leaking(report) -> set[str]:
    return {leak.column for leak in report.leaks}


@pytest.mark.parametrize("path", sorted((REPO / "strategies").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_strategy_passes(path: Path) -> None:
    report = audit(path, cuts=9)
    assert report.ok, report.leaks
    assert all(c.cuts > 0 for c in report.columns)


def test_clean_strategies_pass_and_report_warm_up() -> None:
    report = audit(DAILY, cuts=12)
    assert report.ok
    warm = {c.column: c.converges_after for c in report.columns if c.kind == "feature"}
    assert warm["1d_close_over_sma_10"] == 9  # a finite window forgets its start once it is full
    assert warm["1d_rsi_14"] > 100  # Wilder's smoothing remembers its start long after its 14-bar warm-up
    assert audit(HOURLY, cuts=12).ok


def test_catches_a_feature_that_reads_the_next_bar(monkeypatch) -> None:
    original = features._build.compute_indicators

    def peeking(bars, specs):
        out = original(bars, specs)
        out["rsi_14"] = out["rsi_14"].shift(-1)  # the next bar's RSI
        return out

    monkeypatch.setattr(features._build, "compute_indicators", peeking)
    assert leaking(audit(DAILY, cuts=6)) >= {"1d_rsi_14", "1d_rsi_14_low", "1d_rsi_14_high", "scaled features"}


def test_catches_a_centred_moving_average(monkeypatch) -> None:
    original = features._build.compute_indicators

    def centred(bars, specs):
        out = original(bars, specs)
        out["rsi_14"] = bars["close"].rolling(5, center=True).mean()
        return out

    monkeypatch.setattr(features._build, "compute_indicators", centred)
    assert "1d_rsi_14" in leaking(audit(DAILY, cuts=6))


def test_catches_a_scaler_fitted_on_the_full_sample(monkeypatch) -> None:
    def full_sample(frame: pd.DataFrame, train_rows: np.ndarray):
        scaler = Standardizer(list(frame.columns)).fit(frame.to_numpy())  # every row, test included
        return scaler.transform(frame.to_numpy()), scaler

    monkeypatch.setattr(pipeline, "scale_features", full_sample)
    assert leaking(audit(DAILY, cuts=6)) == {"scaled features"}


def test_catches_a_daily_feature_used_before_the_day_closes(monkeypatch) -> None:
    def at_the_open(block, timeframe, index, finer):
        starts = block.index.asi8  # the day's open time: visible all day, while it is still forming
        row = np.searchsorted(starts, index.asi8, side="right") - 1
        out = np.full((len(index), block.shape[1]), np.nan)
        out[row >= 0] = block.to_numpy()[row[row >= 0]]
        return pd.DataFrame(out, index=index, columns=block.columns)

    monkeypatch.setattr(features._build, "align_to_finer", at_the_open)
    assert "1d_rsi_14" in leaking(audit(HOURLY, cuts=12))


def test_catches_a_label_that_claims_more_than_its_t1(monkeypatch) -> None:
    original = pipeline.make_labels

    def early_t1(bars, spec):
        labels = original(bars, spec)
        labels["t1"] = labels.index.to_series().where(labels["t1"].notna())  # says it ends at t: it does not
        return labels

    monkeypatch.setattr(pipeline, "make_labels", early_t1)
    assert {"label", "t1"} & leaking(audit(DAILY, cuts=6))


def test_cli_exits_3_on_a_leak_and_0_when_clean(monkeypatch, tmp_path, capsys) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: t\ndata: {source: synthetic, bars: 900}\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"
    )
    with pytest.raises(SystemExit) as clean:
        main(["audit", str(path), "--cuts", "4"])
    assert clean.value.code in (0, None) and "no leaks found" in capsys.readouterr().out
    original = features._build.compute_indicators
    monkeypatch.setattr(features._build, "compute_indicators", lambda bars, specs: original(bars, specs).shift(-1))
    with pytest.raises(SystemExit) as leaked:
        main(["audit", str(path), "--cuts", "4"])
    assert leaked.value.code == 3 and "leaks found in: 1d_rsi_14" in capsys.readouterr().out
