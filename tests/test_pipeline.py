"""The whole run: bundle and run folder on disk, versions, determinism, and an honest test-window backtest."""

from __future__ import annotations

import itertools
import json
import shutil
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors.torch import load_file

from neurotrade.config import DataSpec, Strategy, load_strategy
from neurotrade.data import DataStore, infer_timeframe, synthetic_ohlcv
from neurotrade.features import build_features, resolve_features
from neurotrade.labels import zigzag_labels
from neurotrade.pipeline import load_bars, make_splits, run
from neurotrade.store import load_bundle


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, small_strategy_text: str) -> tuple:
    root = tmp_path_factory.mktemp("pipeline")
    spec_file = root / "small.yaml"
    spec_file.write_text(small_strategy_text)
    home = root / "home"
    events: list = []
    first = run(spec_file, home=home, progress=events.append)
    second = run(spec_file, home=home)
    return first, second, home, events


def test_runs_save_numbered_bundles_and_run_folders(two_runs: tuple) -> None:
    first, second, home, _ = two_runs
    assert first.bundle.path == home / "models" / "small_test" / "1d_v1"
    assert second.bundle.path == home / "models" / "small_test" / "1d_v2"
    assert load_bundle(home / "models", "small_test").ref.version == 2  # latest
    for name in ("metrics.json", "trades.parquet", "equity.parquet", "decisions.parquet", "report.html"):
        assert (first.run_dir / name).is_file()
    metrics = json.loads((first.run_dir / "metrics.json").read_text())
    assert set(metrics) >= {"aggregate", "folds"} and len(metrics["folds"]) == 4
    assert set(metrics["aggregate"]) == {
        "window",
        "periods_per_year",
        "test_samples",
        "classification",
        "signals",
        "strategy",
        "buy_and_hold",
        "baselines",
        "warnings",
        "sizing",  # entries and their sizes, whatever the sizing (fixed: backtest.fraction)
    }
    final = metrics["aggregate"]["strategy"]["final_equity"]
    assert final == first.metrics["aggregate"]["strategy"]["final_equity"]


def test_one_seed_gives_identical_bundles(two_runs: tuple) -> None:
    first, second, _, _ = two_runs
    a = load_file(first.bundle.path / "weights.safetensors")
    b = load_file(second.bundle.path / "weights.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    assert first.metrics == second.metrics


def test_bundle_holds_what_a_model_needs(two_runs: tuple) -> None:
    _, _, home, _ = two_runs
    bundle = load_bundle(home / "models", "small_test/1d_v1")
    docs = bundle.documents
    assert {"spec", "features", "scaler", "labels", "split", "data", "training", "environment", "metrics"} <= set(docs)
    assert docs["features"]["resolved_features"][:2] == ["1d_rsi_14_low", "1d_rsi_14_mid"]
    assert docs["scaler"]["features"] == docs["features"]["resolved_features"]
    assert docs["training"]["seed"] == 3 and docs["environment"]["torch"]
    assert len(docs["data"]["sha256"]) == 64


def test_spec_in_the_bundle_rebuilds_the_same_feature_order(two_runs: tuple) -> None:
    # Regression: the bundle's JSON once sorted its keys, which reordered fuzzy sets and so the features.
    _, _, home, _ = two_runs
    docs = load_bundle(home / "models", "small_test/1d_v1").documents
    assert resolve_features(load_strategy_from_docs(docs)) == docs["features"]["resolved_features"]


def test_scaler_is_fitted_on_the_last_folds_training_rows_only(two_runs: tuple) -> None:
    _, _, home, _ = two_runs
    docs = load_bundle(home / "models", "small_test/1d_v1").documents
    spec = load_strategy_from_docs(docs)
    bars = load_bars(spec.data, home=home, seed=spec.seed)
    features = build_features(bars, spec).frame
    labels = zigzag_labels(bars["close"], threshold_pct=2, lookahead=10).loc[features.index]
    last = make_splits(features.index, labels["t1"], spec)[-1]
    assert len(last.train) == docs["split"]["folds"][-1]["train"]["samples"]
    train_mean = features.to_numpy()[last.train].mean(axis=0)
    np.testing.assert_allclose(docs["scaler"]["mean"], train_mean, rtol=1e-12)
    assert not np.allclose(docs["scaler"]["mean"], features.mean().to_numpy(), rtol=1e-3)


def test_each_fold_trains_only_on_what_came_before_its_test_window(two_runs: tuple) -> None:
    first, *_ = two_runs
    folds = first.metrics["folds"]
    for fold in folds:
        split = fold["split"]
        assert pd.Timestamp(split["train"]["last"]) < pd.Timestamp(split["validation"]["first"])
        assert pd.Timestamp(split["validation"]["last"]) < pd.Timestamp(fold["window"]["first"])
        assert pd.Timestamp(split["test"]["first"]) >= pd.Timestamp(fold["window"]["first"])
        assert pd.Timestamp(split["test"]["last"]) <= pd.Timestamp(fold["window"]["last"])
    for earlier, later in itertools.pairwise(folds):
        assert pd.Timestamp(earlier["window"]["last"]) < pd.Timestamp(later["window"]["first"])
        assert pd.Timestamp(later["split"]["train"]["last"]) > pd.Timestamp(earlier["split"]["train"]["last"])


def test_backtest_runs_on_the_test_window_only_and_fills_next_open(two_runs: tuple) -> None:
    first, _, home, _ = two_runs
    folds = first.metrics["folds"]
    equity = pd.read_parquet(first.run_dir / "equity.parquet")
    assert equity.index[0] == pd.Timestamp(folds[0]["split"]["trading_start"])
    assert equity.index[-1] == pd.Timestamp(folds[-1]["window"]["last"])
    assert sorted(set(equity["fold"])) == [1, 2, 3, 4]
    decisions = pd.read_parquet(first.run_dir / "decisions.parquet")
    bars = load_bars(first.strategy.data, home=home, seed=first.strategy.seed)
    trades = first.trades
    assert len(trades) >= 3 and set(trades["side"]) == {"long", "short"}
    for trade in trades.itertuples():
        # the decision was taken at the close of the bar before the fill, and the fill is that next bar's open
        decided = decisions.index[decisions.index < trade.entry_time][-1]
        assert bars.index.get_loc(trade.entry_time) == bars.index.get_loc(decided) + 1
        assert decisions.loc[decided, "target"] == (1 if trade.side == "long" else -1)
        slip = 1.0005 if trade.side == "long" else 0.9995
        assert trade.entry_price == pytest.approx(bars.loc[trade.entry_time, "open"] * slip, rel=1e-12)


def test_progress_reports_every_stage_and_epoch(two_runs: tuple) -> None:
    *_, events = two_runs
    stages = [e.stage for e in events if e.epoch is None]
    assert stages == [
        "data",
        "features",
        "labels",
        "split",
        "train",
        "train",
        "train",
        "train",
        "evaluate",
        "save",
        "report",
    ]
    epochs = [(e.message.split(":")[0], e.epoch.epoch) for e in events if e.epoch is not None]
    for fold in ("fold 1", "fold 2", "fold 3", "fold 4"):
        numbers = [n for name, n in epochs if name == fold]
        assert numbers == list(range(1, len(numbers) + 1))


def load_strategy_from_docs(docs: dict) -> Strategy:
    return Strategy.model_validate(docs["spec"])


def test_default_strategy_runs_on_the_bundled_data(tmp_path: Path) -> None:
    spec = load_strategy(Path(__file__).resolve().parents[1] / "strategies" / "default.yaml")
    result = run(spec.model_copy(update={"training": spec.training.model_copy(update={"epochs": 3})}), home=tmp_path)
    assert result.bundle.name == "stocks_universe/1d_v1"
    data = load_bundle(tmp_path / "models", "stocks_universe").documents["data"]
    assert data["symbols"] == ["AAPL", "MSFT", "IBM", "GOOG"]
    assert any("2000-06-21 (2:1)" in r for r in data["repairs"])  # AAPL's split, adjusted on load and reported
    assert result.metrics["aggregate"]["universe"]["traded"] == data["symbols"]


def test_the_single_symbol_example_runs_on_the_bundled_data(tmp_path: Path) -> None:
    spec = load_strategy(Path(__file__).resolve().parents[1] / "strategies" / "aapl_fuzzy_mlp.yaml")
    result = run(spec.model_copy(update={"training": spec.training.model_copy(update={"epochs": 3})}), home=tmp_path)
    data = load_bundle(tmp_path / "models", "aapl_fuzzy_mlp").documents["data"]
    assert result.bundle.name == "aapl_fuzzy_mlp/1d_v1"
    assert data["symbol"] == "AAPL" and any("2000-06-21 (2:1)" in r for r in data["repairs"])


def test_file_source_selects_the_strategy_symbol(tmp_path: Path) -> None:
    # Regression: a multi-symbol file once failed asking for the symbol the strategy already named.
    sample = resources.files("neurotrade.data") / "samples" / "stocks.csv.gz"
    spec = DataSpec(source="file", path=str(sample), symbol="MSFT", repair=["split-adjust"])
    bars = load_bars(spec, home=tmp_path, seed=0)
    assert len(bars) == 3270 and bars.index[0] == pd.Timestamp("2000-03-01", tz="UTC")


def test_store_source_resamples_from_a_finer_stored_timeframe(tmp_path: Path) -> None:
    # Regression: asking the store for weekly bars when daily ones were stored used to fail.
    DataStore(tmp_path).put(synthetic_ohlcv(400, seed=2), "XYZ", "1d")
    weekly = load_bars(DataSpec(source="store", symbol="XYZ", timeframe="1w"), home=tmp_path, seed=0)
    assert infer_timeframe(weekly) == "1w" and (weekly.index.day_of_week == 0).all()


def test_returns_are_annualised_by_the_data_calendar(two_runs: tuple) -> None:
    first, *_ = two_runs
    # synthetic daily bars are business days: about 261 a year, not an assumed 252
    assert first.metrics["aggregate"]["periods_per_year"] == pytest.approx(261, abs=1)


def test_the_decision_trace_holds_features_probabilities_signal_and_position(two_runs: tuple) -> None:
    first, *_ = two_runs
    trace = pd.read_parquet(first.run_dir / "decisions.parquet")
    features = json.loads((first.bundle.path / "features.json").read_text())["resolved_features"]
    assert {"p_sell", "p_hold", "p_buy", "signal", "target", "position", "fold", *features} <= set(trace.columns)
    equity = pd.read_parquet(first.run_dir / "equity.parquet")
    assert (trace["position"].to_numpy() == equity["position"].to_numpy()).all()
    for key in ("deflated_sharpe_excess", "deflated_sharpe_absolute"):
        deflated = first.metrics["aggregate"]["strategy"][key]
        assert deflated is None or 0.0 <= deflated <= 1.0


def test_diagnostics_one_might_tune_on_come_from_validation_rows(two_runs: tuple) -> None:
    """Calibration and permutation importance are read on each fold's validation rows, never its test window."""
    first, *_ = two_runs
    calibration = json.loads((first.run_dir / "calibration.json").read_text())
    importance = json.loads((first.run_dir / "importance.json").read_text())
    assert calibration["rows"] == importance["rows"] == "validation"
    validation = sum(f["split"]["validation"]["samples"] for f in first.metrics["folds"])
    test = sum(f["split"]["test"]["samples"] for f in first.metrics["folds"])
    assert calibration["samples"] == validation != test


def test_the_data_section_controls_the_plausibility_check(tmp_path: Path) -> None:
    """data.max_move and data.repair: [implausible-drop] reach the reader from the strategy file."""
    from neurotrade.errors import DataError

    bars = synthetic_ohlcv(400, seed=1)
    bars.iloc[200, bars.columns.get_loc("high")] *= 1000
    bars.iloc[200, bars.columns.get_loc("close")] *= 1000
    path = tmp_path / "bad.csv"
    bars.to_csv(path)
    with pytest.raises(DataError, match=r"implausible prices: .* at line 202"):
        load_bars(DataSpec(source="file", path=str(path), symbol="X"), home=tmp_path, seed=1)
    assert (
        len(load_bars(DataSpec(source="file", path=str(path), symbol="X", max_move=None), home=tmp_path, seed=1)) == 400
    )
    repairs: list = []
    spec = DataSpec(source="file", path=str(path), symbol="X", repair=["implausible-drop"])
    assert len(load_bars(spec, home=tmp_path, seed=1, on_repair=repairs.append)) == 399
    assert [r.kind for r in repairs] == ["implausible-drop"]


def test_a_run_folder_left_by_a_bundle_deleted_by_hand_is_cleared(tmp_path: Path, small_strategy_text: str) -> None:
    spec_file = tmp_path / "small.yaml"
    spec_file.write_text(small_strategy_text)
    first = run(spec_file, home=tmp_path / "home")
    (first.run_dir / "attention.json").write_text("{}")  # a file this run would not write
    shutil.rmtree(tmp_path / "home" / "models")  # the bundles go, the run folders stay
    second = run(spec_file, home=tmp_path / "home")
    assert second.run_dir == first.run_dir and not (second.run_dir / "attention.json").exists()
