"""Issue 9 item 20: ``latest`` per (strategy, timeframe), and a backtest that trades only its data's timeframe."""

from __future__ import annotations

import shutil

import pytest
import torch

from neurotrade.errors import BacktestError, StoreError
from neurotrade.store import bundle_strategy, delete_bundle, list_bundles, load_bundle, save_bundle


def _save(models_dir, timeframe):
    return save_bundle(models_dir, "trend", timeframe, weights={"w": torch.ones(2)}, documents={})


@pytest.fixture
def mixed(models_dir):
    for timeframe in ("1d", "4h", "1d", "1w"):
        _save(models_dir, timeframe)
    return models_dir


def test_each_timeframe_has_its_own_latest(mixed):
    assert load_bundle(mixed, "trend").ref.name == "trend/1w_v4"
    assert load_bundle(mixed, "trend/latest-1d").ref.name == "trend/1d_v3"
    assert load_bundle(mixed, "trend/latest-4h").ref.name == "trend/4h_v2"
    assert [(r.name, r.is_latest, r.is_latest_of_timeframe) for r in list_bundles(mixed)] == [
        ("trend/1d_v1", False, False),
        ("trend/4h_v2", False, True),
        ("trend/1d_v3", False, True),
        ("trend/1w_v4", True, True),
    ]
    ref = load_bundle(mixed, "trend/4h_v2").ref
    assert (ref.is_latest, ref.is_latest_of_timeframe) == (False, True)


def test_a_timeframe_without_bundles_is_explained(mixed):
    with pytest.raises(StoreError) as info:
        load_bundle(mixed, "trend/latest-1h")
    assert str(info.value) == (
        "strategy 'trend' has no 1h bundle: its bundles are 1d_v1, 4h_v2, 1d_v3, 1w_v4 (timeframes 1d, 1w, 4h). "
        "Train it on 1h bars (data.timeframe: 1h) to save one, or use a strategy whose data.timeframe matches a "
        "saved bundle."
    )


def test_deleting_moves_the_timeframes_latest_or_removes_it(mixed):
    delete_bundle(mixed, "trend/1d_v3")
    assert load_bundle(mixed, "trend/latest-1d").ref.name == "trend/1d_v1"
    delete_bundle(mixed, "trend/4h_v2")
    assert not (mixed / "trend" / "latest-4h").is_symlink()
    with pytest.raises(StoreError, match="strategy 'trend' has no 4h bundle"):
        load_bundle(mixed, "trend/latest-4h")
    assert load_bundle(mixed, "trend").ref.name == "trend/1w_v4"


def test_a_timeframes_latest_cannot_be_deleted_by_that_name(mixed):
    with pytest.raises(StoreError, match=r"name the version to delete: 'trend/latest-4h' means .* trend/4h_v2\."):
        delete_bundle(mixed, "trend/latest-4h")
    assert len(list_bundles(mixed)) == 4


def test_without_per_timeframe_pointers_the_highest_version_of_the_timeframe_is_latest(mixed):
    # A store written before these pointers existed.
    for timeframe in ("1d", "4h", "1w"):
        (mixed / "trend" / f"latest-{timeframe}").unlink()
    assert load_bundle(mixed, "trend/latest-1d").ref.name == "trend/1d_v3"
    assert [r.is_latest_of_timeframe for r in list_bundles(mixed)] == [False, True, True, True]


def test_a_dangling_timeframe_pointer_is_explained(mixed):
    shutil.rmtree(mixed / "trend" / "4h_v2")
    with pytest.raises(StoreError) as info:
        load_bundle(mixed, "trend/latest-4h")
    assert str(info.value) == (
        "models/trend/latest-4h points at '4h_v2', which does not exist (was it deleted?). Load a version by name "
        "instead: 1d_v1, 1d_v3, 1w_v4; the next 4h save moves latest-4h again."
    )


@pytest.fixture
def daily_then_weekly(trained_home, tmp_path):
    """tiny_mlp/1d_v1 (a real daily model), then a newer bundle of another timeframe: tiny_mlp/4h_v2."""
    models = tmp_path / "models"
    shutil.copytree(trained_home / "models" / "tiny_mlp", models / "tiny_mlp", symlinks=True)
    daily = load_bundle(models, "tiny_mlp")
    save_bundle(models, "tiny_mlp", "4h", weights=daily.weights, documents=daily.documents)
    return tmp_path, bundle_strategy(daily)


def test_backtest_trades_the_latest_bundle_of_the_datas_timeframe(daily_then_weekly):
    from neurotrade._replay import backtest_bundle

    home, spec = daily_then_weekly
    assert load_bundle(home / "models", "tiny_mlp").ref.name == "tiny_mlp/4h_v2"  # the newest overall
    out = backtest_bundle(spec, home=home, start="2003-01-01")
    assert out.bundle.name == "tiny_mlp/1d_v1"


def test_backtest_refuses_a_named_bundle_of_another_timeframe(daily_then_weekly):
    from neurotrade._replay import backtest_bundle

    home, spec = daily_then_weekly
    with pytest.raises(BacktestError) as info:
        backtest_bundle(spec, model="4h_v2", home=home)
    assert str(info.value) == (
        "bundle tiny_mlp/4h_v2 was trained on 4h bars, but tiny_mlp's data is 1d (data.timeframe): its features "
        "would be computed on bars it never saw. Use a 1d bundle (see `neurotrade models list tiny_mlp`), or set "
        "data.timeframe: 4h."
    )


def test_backtest_of_a_timeframe_without_a_bundle_says_so(daily_then_weekly):
    from neurotrade._replay import backtest_bundle

    home, spec = daily_then_weekly
    weekly = spec.model_copy(update={"data": spec.data.model_copy(update={"timeframe": "1w"})})
    with pytest.raises(StoreError, match=r"strategy 'tiny_mlp' has no 1w bundle: its bundles are 1d_v1, 4h_v2"):
        backtest_bundle(weekly, home=home)
