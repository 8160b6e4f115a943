"""The leakage audit passes the example strategies and catches each kind of planted leak."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurotrade import _folds, features, labels, pipeline, splits
from neurotrade.audit import audit
from neurotrade.cli import main
from neurotrade.config import parse_strategy
from neurotrade.features import Standardizer

REPO = Path(__file__).resolve().parents[1]

DAILY = parse_strategy(
    "name: t\ndata: {source: synthetic, bars: 1200}\nindicators: {rsi_14: {}, sma_10: {period: 10}}\n"
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
    assert set(checked(report)) >= CHECKS  # the real split and every fold's fitted state were checked


def test_clean_strategies_pass_and_report_warm_up() -> None:
    report = audit(DAILY, cuts=12)
    assert report.ok
    warm = {c.column: c.converges_after for c in report.columns if c.kind == "feature"}
    assert warm["1d_close_over_sma_10"] == 9  # a finite window forgets its start once it is full
    assert warm["1d_rsi_14"] > 100  # Wilder's smoothing remembers its start long after its 14-bar warm-up
    assert audit(HOURLY, cuts=12).ok


def test_catches_a_feature_that_reads_the_next_bar(monkeypatch) -> None:
    original = features._build.compute_indicators

    def peeking(bars, specs, *device):
        out = original(bars, specs, *device)
        out["rsi_14"] = out["rsi_14"].shift(-1)  # the next bar's RSI
        return out

    monkeypatch.setattr(features._build, "compute_indicators", peeking)
    assert leaking(audit(DAILY, cuts=6)) >= {"1d_rsi_14", "1d_rsi_14_low", "1d_rsi_14_high", "scaled features"}


def test_catches_a_centred_moving_average(monkeypatch) -> None:
    original = features._build.compute_indicators

    def centred(bars, specs, *device):
        out = original(bars, specs, *device)
        out["rsi_14"] = bars["close"].rolling(5, center=True).mean()
        return out

    monkeypatch.setattr(features._build, "compute_indicators", centred)
    assert "1d_rsi_14" in leaking(audit(DAILY, cuts=6))


def test_catches_a_scaler_fitted_on_the_full_sample(monkeypatch) -> None:
    def full_sample(frame: pd.DataFrame, train_rows: np.ndarray):
        scaler = Standardizer(list(frame.columns)).fit(frame.to_numpy())  # every row, test included
        return scaler.transform(frame.to_numpy()), scaler

    monkeypatch.setattr(pipeline, "scale_features", full_sample)
    report = audit(DAILY, cuts=6)
    assert {"scaled features", "scaler"} <= leaking(report)
    assert not {c.column for c in report.columns if c.kind in ("feature", "label", "split")} & leaking(report)


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

    def early_t1(bars, spec, **where):
        labels = original(bars, spec, **where)
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
    monkeypatch.setattr(features._build, "compute_indicators", lambda *args: original(*args).shift(-1))
    with pytest.raises(SystemExit) as leaked:
        main(["audit", str(path), "--cuts", "4"])
    assert leaked.value.code == 3 and "leaks found in: 1d_rsi_14" in capsys.readouterr().out


FORWARD = parse_strategy(
    "name: f\ndata: {source: synthetic, bars: 1200}\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"
    "labels: {type: forward_return, horizon: 10}\ntraining: {class_weights: balanced}\n"
)
CHRONOLOGICAL = parse_strategy(
    "name: c\ndata: {source: synthetic, bars: 900}\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"
    "split: {method: chronological, embargo: 7}\n"
)
ROLLING_FUZZY = parse_strategy(
    "name: r\ndata: {source: synthetic, bars: 1200}\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"
    "split: {folds: 3, scheme: rolling, train_window: 0.3, first_train: 0.4}\n"
    "model: {type: fuzzy, rules: 8, antecedents: 1}\n"
)
CHECKS = {"purge", "embargo", "scaler", "training targets", "baselines"}


def checked(report) -> dict[str, str]:
    return {c.column: c.kind for c in report.columns if c.kind in ("split", "fitted")}


def test_the_split_and_fitted_state_are_checked_and_clean_strategies_pass() -> None:
    for spec, extra in ((FORWARD, {"quantile thresholds", "class weights"}), (CHRONOLOGICAL, set())):
        report = audit(spec, cuts=3)
        assert report.ok, report.leaks
        assert set(checked(report)) == CHECKS | extra
        assert all(c.cuts > 0 for c in report.columns)
    report = audit(ROLLING_FUZZY, cuts=3)
    assert report.ok, report.leaks
    assert report.folds == 3 and "model preparation" in checked(report)
    fitted = {c.column: c.cuts for c in report.columns if c.kind == "fitted"}
    # every fold under both perturbations; the baselines (slow, the same code in every fold) in the first fold only
    assert fitted.pop("baselines") == 2 and set(fitted.values()) == {3 * 2}


def unpurged_splits(times, t1, spec):
    """The walk-forward folds made as if every label ended on its own bar: nothing is purged."""
    s = spec.split
    return splits.walk_forward_splits(
        times, pd.Series(times), folds=s.folds, first_train=s.first_train, validation=s.validation, embargo=s.embargo
    )


def test_catches_a_split_that_does_not_purge(monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "make_splits", unpurged_splits)
    report = audit(DAILY, cuts=3)
    assert leaking(report) == {"purge"}
    leak = report.leaks[0]
    assert leak.kind == "split" and leak.fold == 1
    assert "training sample" in leak.detail and "not before the validation window's first bar" in leak.detail
    assert "it was not purged" in leak.detail


def test_catches_a_split_without_the_embargo(monkeypatch) -> None:
    def no_embargo(times, t1, spec):
        s = spec.split
        return splits.walk_forward_splits(times, t1, folds=s.folds, first_train=s.first_train, validation=s.validation)

    monkeypatch.setattr(pipeline, "make_splits", no_embargo)
    report = audit(DAILY, cuts=3)  # DAILY's split has the default embargo of 5 bars
    assert leaking(report) == {"embargo"}
    assert "lies in the validation window's first 5 bars" in report.leaks[0].detail


def test_catches_a_split_that_trains_on_the_test_window(monkeypatch) -> None:
    original = pipeline.make_splits

    def peeking(times, t1, spec):
        out = original(times, t1, spec)
        return [dataclasses.replace(s, train=np.union1d(s.train, s.test[-3:])) for s in out]

    monkeypatch.setattr(pipeline, "make_splits", peeking)
    report = audit(DAILY, cuts=3)
    assert "purge" in leaking(report)
    leak = next(lk for lk in report.leaks if lk.column == "purge")
    assert "lies in or after the validation window" in leak.detail


def test_catches_terciles_fitted_on_every_row(monkeypatch) -> None:
    def every_row(table: pd.DataFrame, split):
        quantiles = labels.QuantileClasses(3).fit(table["ret"].to_numpy())  # test returns included
        return quantiles.transform(table["ret"].to_numpy()), quantiles

    monkeypatch.setattr(pipeline, "fold_targets", every_row)
    report = audit(FORWARD, cuts=3)
    found = leaking(report)
    assert {"quantile thresholds", "training targets", "class weights"} <= found
    assert not {c.column for c in report.columns if c.kind in ("feature", "label", "split")} & found
    leak = next(lk for lk in report.leaks if lk.column == "quantile thresholds")
    assert leak.kind == "fitted" and "it depends on more than the training rows" in leak.detail


def test_catches_fuzzy_sets_placed_on_every_row(monkeypatch) -> None:
    original = _folds._prepare

    def every_row(net, x, train, extras, quantiles=None):
        original(net, x, np.arange(len(x)), extras, quantiles)

    monkeypatch.setattr(_folds, "_prepare", every_row)
    assert leaking(audit(ROLLING_FUZZY, cuts=3)) == {"model preparation"}


def test_catches_a_feature_that_drops_its_last_rows(monkeypatch) -> None:
    original = features.feature_frame

    def dropping(bars, spec):
        out = original(bars, spec)
        out["1d_rsi_14"] = out["1d_rsi_14"].shift(-1)  # the next bar's RSI, and no row where there is none yet
        return out.dropna()

    monkeypatch.setattr(features, "feature_frame", dropping)
    report = audit(DAILY, cuts=6)
    assert "1d_rsi_14" in leaking(report)
    leak = next(lk for lk in report.leaks if lk.column == "1d_rsi_14")
    assert leak.detail == "row missing with the history cut, present with more bars after the cut"
    assert leak.at == report.cuts[0] - pd.Timedelta("1D")  # the last bar before the first cut


def test_cli_shows_split_leaks_and_exits_3(monkeypatch, tmp_path, capsys) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: t\ndata: {source: synthetic, bars: 900}\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"
    )
    monkeypatch.setattr(pipeline, "make_splits", unpurged_splits)
    with pytest.raises(SystemExit) as leaked:
        main(["audit", str(path), "--cuts", "3"])
    out = capsys.readouterr().out
    assert leaked.value.code == 3 and "leaks found in: purge" in out
    assert "fold 1:" in out and "split" in out


def test_catches_a_fold_that_stops_early_on_its_test_window(monkeypatch) -> None:
    """The rows train_fold really uses are audited, not only the split it was handed."""
    original = _folds.fold_rows

    def stops_on_test(split, lookback):
        train, _, test = original(split, lookback)
        return train, test, test

    monkeypatch.setattr(_folds, "fold_rows", stops_on_test)
    report = audit(DAILY, cuts=3)
    assert "purge" in leaking(report)
    assert any("validation sample" in leak.detail for leak in report.leaks)


def test_catches_a_fold_that_trains_on_its_validation_rows(monkeypatch) -> None:
    original = _folds.fold_rows

    def trains_on_validation(split, lookback):
        train, val, test = original(split, lookback)
        return np.union1d(train, val), val, test

    monkeypatch.setattr(_folds, "fold_rows", trains_on_validation)
    assert "purge" in leaking(audit(DAILY, cuts=3))
