"""The leakage audit of a universe: it passes clean universes, checks them through the run's own universe code, and
catches each kind of planted leak, naming the symbol (and fold) where it is."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from neurotrade import _universe, features
from neurotrade.audit import ColumnAudit, _change_future_bars, _own_frames, audit
from neurotrade.cli import main
from neurotrade.cli._context import console
from neurotrade.config import parse_strategy
from neurotrade.features import Standardizer
from neurotrade.splits import pooled_splits, walk_forward_splits

UNIVERSE = """\
name: u
data: {source: synthetic, symbols: 3, bars: 900}
indicators: {rsi_14: {}, adx_14: {}}
nn_inputs:
  indicators: [rsi_14, adx_14]
  cross_section: {rank: [rsi_14], zscore: [adx_14]}
  symbol_embedding: true
split: {folds: 2, embargo: 5}
training: {epochs: 2}
"""
SYNTHETIC = parse_strategy(UNIVERSE)
PER_SYMBOL = parse_strategy(
    UNIVERSE.replace("symbol_embedding: true", "scaling: per_symbol")
)  # no embedding: see the spec
SAMPLE = parse_strategy(
    "name: s\ndata: {source: sample, symbols: [AAPL, GOOG]}\nindicators: {rsi_14: {}, adx_14: {}}\n"
    "nn_inputs: {indicators: [rsi_14, adx_14], cross_section: {rank: [rsi_14]}}\n"
    "labels: {type: triple_barrier, max_holding: 10}\nsplit: {folds: 3, embargo: 10}\ntraining: {epochs: 2}\n"
)
SYMBOLS = ["S001", "S002", "S003"]
POOLED_CHECKS = {"purge", "embargo", "test window", "scaler", "training targets", "baselines"}


def leaking(report) -> set[str]:
    return {leak.column for leak in report.leaks}


def leak_of(report, column: str):
    return next(leak for leak in report.leaks if leak.column == column)


def test_a_clean_synthetic_universe_passes_every_check(tmp_path) -> None:
    report = audit(SYNTHETIC, home=tmp_path, cuts=6)
    assert report.ok, report.leaks
    assert report.symbols == SYMBOLS and report.folds == 2
    kinds = {c.column: c.kind for c in report.columns}
    assert {name for name, kind in kinds.items() if kind in ("split", "fitted")} == POOLED_CHECKS
    assert kinds["1d_rsi_14_xrank"] == kinds["1d_adx_14_xz"] == kinds["symbol_S002"] == "feature"
    assert kinds["feature matrix"] == "matrix" and kinds["scaled features"] == "scaled"
    assert all(c.cuts > 0 for c in report.columns)
    checks = {c.column: c.cuts for c in report.columns}
    # every cut: each symbol cut and extended, then each symbol's future changed with every symbol compared
    assert checks["1d_rsi_14_xrank"] == len(report.cuts) * (3 + 3 * 3)
    assert checks["feature matrix"] == 3 and checks["purge"] == 2
    # the splits audited are the run's own
    u = _universe.load_universe_data(SYNTHETIC, tmp_path, lambda event: None)
    assert report.folds == len(_universe.universe_splits(u, SYNTHETIC))


def test_the_sample_universe_with_a_shorter_history_passes(tmp_path) -> None:
    report = audit(SAMPLE, home=tmp_path, cuts=4)  # GOOG starts in 2004, AAPL in 2000
    assert report.ok, report.leaks
    assert report.symbols == ["AAPL", "GOOG"] and report.folds == 3
    assert all(c.cuts > 0 for c in report.columns)
    # GOOG is not listed at the first cuts: its labels are checked only at the cuts inside its history
    goog_start = pd.Timestamp("2004-08-19", tz="UTC")
    labels = next(c for c in report.columns if c.column == "label")
    assert labels.cuts == sum(1 + (cut > goog_start) for cut in report.cuts)


def test_catches_one_symbols_feature_that_reads_the_next_bar(monkeypatch, tmp_path) -> None:
    original = _universe.compute_indicator_panels

    def peeking_on_s002(bars, specs, *device):
        out = original(bars, specs, *device)
        if "S002" in out:
            out["S002"]["rsi_14"] = out["S002"]["rsi_14"].shift(-1)
        return out

    monkeypatch.setattr(_universe, "compute_indicator_panels", peeking_on_s002)
    report = audit(SYNTHETIC, home=tmp_path, cuts=3)
    found = leaking(report)
    # S002's own column, and the cross-section through it; the run refuses the NaN it leaves, so no fold is checked
    assert {"1d_rsi_14", "1d_rsi_14_xrank"} <= found and "1d_adx_14" not in found
    assert leak_of(report, "1d_rsi_14").symbol == "S002"
    assert not {c.column for c in report.columns if c.kind in ("split", "fitted")}


def test_catches_a_single_symbol_indicator_kernel_that_reads_the_next_bar(monkeypatch, tmp_path) -> None:
    """A universe's coarser timeframes come from the one-symbol indicator code: its leaks are caught too."""
    original = features._build.compute_indicators
    monkeypatch.setattr(features._build, "compute_indicators", lambda *args: original(*args).shift(-1))
    spec = parse_strategy(UNIVERSE.replace("cross_section:", "timeframes: [1d, 1w]\n  cross_section:"))
    report = audit(spec, home=tmp_path, cuts=3)
    assert {"1w_rsi_14", "1w_adx_14"} <= leaking(report)
    assert not {"1d_rsi_14", "1d_adx_14"} & leaking(report)


def test_catches_a_cross_section_that_reads_the_next_bar(monkeypatch, tmp_path) -> None:
    rank = features._cross_section.rank_pct

    def next_row(panel):
        out = rank(panel)
        return np.vstack([out[1:], out[-1:]])  # every symbol's rank at the next bar

    monkeypatch.setitem(features._cross_section.CROSS_SECTION, "rank", ("xrank", next_row))
    report = audit(SYNTHETIC, home=tmp_path, cuts=3)
    assert "1d_rsi_14_xrank" in leaking(report)
    assert not {"1d_rsi_14", "1d_adx_14", "1d_adx_14_xz", "feature matrix"} & leaking(report)
    leak = leak_of(report, "1d_rsi_14_xrank")
    assert leak.symbol in SYMBOLS and leak.at < leak.cut


def test_changing_one_symbols_future_moves_no_earlier_cross_section(monkeypatch, tmp_path) -> None:
    """The perturbation check alone: a clean cross-section passes it; one over each column's whole history fails
    it, and the leak names the symbol whose row moved and the symbol whose bars were changed."""
    bars = _universe.load_universe(SYNTHETIC.data, home=tmp_path, seed=SYNTHETIC.seed)
    specs = {s: _universe._one_symbol(SYNTHETIC, s) for s in bars}
    own = _own_frames(bars, specs, SYNTHETIC)
    cut = bars["S001"].index[500]

    def check() -> ColumnAudit:
        full = _universe.add_universe_features(own, SYNTHETIC)
        columns = {name: ColumnAudit(name, "feature") for name in full["S001"].columns}
        _change_future_bars(bars, specs, full, SYNTHETIC, cut, columns)
        assert all(c.cuts == 3 * 3 for c in columns.values())
        return columns["1d_adx_14_xz"]

    assert check().first_leak is None
    zscore = features._cross_section.zscore

    def whole_history(panel):  # each symbol's values standardised over all its bars first
        return zscore((panel - np.nanmean(panel, axis=0)) / np.nanstd(panel, axis=0))

    monkeypatch.setitem(features._cross_section.CROSS_SECTION, "zscore", ("xz", whole_history))
    leak = check().first_leak
    assert leak is not None and leak.symbol == "S001" and leak.at < cut
    assert "with S001's bars from the cut on changed" in leak.detail


def planting(monkeypatch, symbol: str, fold: int) -> None:
    """Make the universe's splits train on one sample of ``symbol`` whose label reaches the fold's test window."""
    original = _universe.universe_splits

    def planted(u, spec):
        out = original(u, spec)
        split = out[fold - 1]
        test_start = split.time.times[split.time.starts["test"]]
        block = u.blocks[symbol]
        times, ends = u.times(symbol), pd.DatetimeIndex(u.table["t1"].iloc[block])
        reaching = np.flatnonzero((times < test_start) & (ends >= test_start))
        row = block.start + int(reaching[0])
        rows = dataclasses.replace(split.rows, train=np.union1d(split.rows.train, [row]))
        out[fold - 1] = dataclasses.replace(split, rows=rows)
        return out

    monkeypatch.setattr(_universe, "universe_splits", planted)


def test_catches_a_training_sample_of_one_symbol_whose_label_reaches_the_test_window(monkeypatch, tmp_path) -> None:
    planting(monkeypatch, "S002", fold=2)
    report = audit(SYNTHETIC, home=tmp_path, cuts=3)
    assert "purge" in leaking(report)
    leak = leak_of(report, "purge")
    assert leak.kind == "split" and leak.fold == 2 and leak.symbol == "S002"
    assert leak.detail.startswith("S002 training sample")
    assert "not before the test window's first bar" in leak.detail and "it was not purged" in leak.detail
    purge = next(c for c in report.columns if c.column == "purge")
    assert purge.leaks == 1  # fold 1 is clean


def test_cli_names_the_symbol_and_fold_and_exits_3(monkeypatch, tmp_path, capsys) -> None:
    path = tmp_path / "u.yaml"
    path.write_text(UNIVERSE)
    with pytest.raises(SystemExit) as clean:
        main(["--home", str(tmp_path), "audit", str(path), "--cuts", "3"])
    out = capsys.readouterr().out
    assert clean.value.code in (0, None) and "no leaks found" in out and "3 symbols (S001, S002, S003)" in out
    planting(monkeypatch, "S003", fold=1)
    monkeypatch.setattr(console, "width", 400)  # room for the whole first leak on one line
    with pytest.raises(SystemExit) as leaked:
        main(["--home", str(tmp_path), "audit", str(path), "--cuts", "3"])
    out = capsys.readouterr().out
    # the planted sample trains on a validation-window row, so the kNN baseline also sees validation neighbours
    assert leaked.value.code == 3 and "leaks found in: purge (S003), baselines" in out
    assert "fold 1: S003 training sample" in out and "not before the test window's first bar" in out


def test_catches_pooled_splits_without_the_embargo(monkeypatch, tmp_path) -> None:
    def no_embargo(u, spec):
        s = spec.split
        make = lambda times, t1: walk_forward_splits(  # noqa: E731
            times, t1, folds=s.folds, first_train=s.first_train, validation=s.validation
        )
        return pooled_splits(pd.DatetimeIndex(u.frame.index), u.table["t1"], make)

    monkeypatch.setattr(_universe, "universe_splits", no_embargo)
    report = audit(SYNTHETIC, home=tmp_path, cuts=3)
    assert leaking(report) == {"embargo"}
    leak = leak_of(report, "embargo")
    assert leak.symbol in SYMBOLS and leak.detail.startswith(f"{leak.symbol} ")
    assert "5 bars of the shared time axis" in leak.detail


def test_catches_a_symbol_traded_before_its_test_window(monkeypatch, tmp_path) -> None:
    original = _universe.symbol_split

    def early(split, u, symbol):
        mine = original(split, u, symbol)
        if symbol == "S003" and mine is not None:
            mine = dataclasses.replace(mine, trading_start=mine.trading_start - 30)
        return mine

    monkeypatch.setattr(_universe, "symbol_split", early)
    report = audit(SYNTHETIC, home=tmp_path, cuts=3)
    assert leaking(report) == {"test window"}
    leak = leak_of(report, "test window")
    assert leak.symbol == "S003" and leak.fold == 1 and "S003 is traded from" in leak.detail


def test_catches_a_test_sample_of_one_symbol_outside_the_test_window(monkeypatch, tmp_path) -> None:
    original = _universe.universe_splits

    def early_test(u, spec):
        out = original(u, spec)
        split = out[1]
        row = u.blocks["S001"].start + 300  # a sample of S001 from the first fold's training years
        rows = dataclasses.replace(split.rows, test=np.union1d(split.rows.test, [row]))
        out[1] = dataclasses.replace(split, rows=rows)
        return out

    monkeypatch.setattr(_universe, "universe_splits", early_test)
    report = audit(SYNTHETIC, home=tmp_path, cuts=3)
    assert leaking(report) == {"test window"}
    leak = leak_of(report, "test window")
    assert leak.symbol == "S001" and leak.fold == 2
    assert leak.detail.startswith("S001 test sample") and "lies outside the fold's test window" in leak.detail


def test_catches_a_pooled_scaler_fitted_on_every_row(monkeypatch, tmp_path) -> None:
    def every_row(u, train, spec):
        values = u.frame.to_numpy(dtype=np.float64)
        scaler = Standardizer(u.resolved_features).fit(values)  # every symbol's test rows included
        return scaler.transform(values), {"*": scaler}

    monkeypatch.setattr(_universe, "_scale", every_row)
    report = audit(SYNTHETIC, home=tmp_path, cuts=6)
    assert {"scaler", "scaled features"} <= leaking(report)
    assert not {c.column for c in report.columns if c.kind in ("feature", "label", "split")} & leaking(report)
    assert leak_of(report, "scaler").symbol is None  # the pooled scaler is every symbol's
    assert leak_of(report, "scaled features").symbol in SYMBOLS


def test_catches_per_symbol_scalers_fitted_on_every_symbols_training_rows(monkeypatch, tmp_path) -> None:
    """Fitted on training rows only, so only the per-symbol check (the other symbols' rows perturbed) sees it."""

    def pooled_under_each_name(u, train, spec):
        values = u.frame.to_numpy(dtype=np.float64)
        scaler = Standardizer(u.resolved_features).fit(values[train])
        return scaler.transform(values), dict.fromkeys(u.symbols, scaler)

    assert audit(PER_SYMBOL, home=tmp_path, cuts=3).ok
    monkeypatch.setattr(_universe, "_scale", pooled_under_each_name)
    report = audit(PER_SYMBOL, home=tmp_path, cuts=3)
    assert leaking(report) == {"scaler"}
    leak = leak_of(report, "scaler")
    assert leak.symbol == "S001" and leak.fold == 1
    assert "outside S001's own training samples" in leak.detail


def test_catches_a_run_whose_features_are_not_the_audited_ones(monkeypatch, tmp_path) -> None:
    original = _universe.build_features

    def nudged(b, spec, **given):
        built = original(b, spec, **given)
        if spec.data.symbol == "S003":
            built.frame.iloc[-1, 0] += 1e-6  # a stale cache entry, say
        return built

    monkeypatch.setattr(_universe, "build_features", nudged)
    report = audit(SYNTHETIC, home=tmp_path, cuts=3)
    assert "feature matrix" in leaking(report)
    leak = leak_of(report, "feature matrix")
    assert leak.symbol == "S003" and "the run does not use the features audited here" in leak.detail
