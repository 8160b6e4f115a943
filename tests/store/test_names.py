from __future__ import annotations

import pytest
import torch

from neurotrade.errors import StoreError
from neurotrade.store import BundleRef, list_bundles, load_bundle, save_bundle


@pytest.fixture
def store(models_dir):
    for timeframe in ("1d", "1d", "4h"):
        save_bundle(models_dir, "trend", timeframe, weights={"w": torch.ones(1)}, documents={})
    save_bundle(models_dir, "meanrev", "1h", weights={"w": torch.ones(1)}, documents={})
    return models_dir


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("trend", "trend/4h_v3"),
        ("trend/", "trend/4h_v3"),
        ("trend/latest", "trend/4h_v3"),
        ("trend/1d_v2", "trend/1d_v2"),
        ("trend/v1", "trend/1d_v1"),
        ("meanrev", "meanrev/1h_v1"),
    ],
)
def test_store_names_resolve(store, name, expected):
    assert load_bundle(store, name).ref.name == expected


def test_paths_resolve_as_path_or_string(store, monkeypatch):
    path = store / "trend" / "1d_v2"
    assert load_bundle(store, path).ref.name == "trend/1d_v2"
    assert load_bundle(store, str(path)).ref.name == "trend/1d_v2"
    # A relative string that is not a strategy in the store is taken as a directory.
    monkeypatch.chdir(store.parent)
    assert load_bundle(store, "models/trend/1d_v1").ref.name == "trend/1d_v1"
    monkeypatch.chdir(store)
    other_models = store.parent / "elsewhere"
    assert load_bundle(other_models, "trend/1d_v1").ref.name == "trend/1d_v1"


def test_bundle_ref_fields(store):
    ref = load_bundle(store, "trend/1d_v2").ref
    assert isinstance(ref, BundleRef)
    assert (ref.strategy, ref.timeframe, ref.version, ref.is_latest) == ("trend", "1d", 2, False)
    assert ref.path == store / "trend" / "1d_v2"
    assert ref.name == "trend/1d_v2"


def test_unknown_strategy_suggests_a_close_one(store):
    with pytest.raises(StoreError) as info:
        load_bundle(store, "trnd")
    assert str(info.value) == (
        f"no model bundles for strategy 'trnd' in {store}. Did you mean 'trend'? "
        "Strategies with bundles: meanrev, trend."
    )
    with pytest.raises(StoreError, match="Did you mean 'trend'"):
        list_bundles(store, "trends")


def test_unknown_strategy_in_an_empty_store(models_dir):
    with pytest.raises(StoreError) as info:
        load_bundle(models_dir, "trend")
    assert str(info.value) == (
        f"no model bundles for strategy 'trend': {models_dir} holds none yet. Train the strategy first to save one."
    )


def test_unknown_version_lists_what_exists(store):
    with pytest.raises(StoreError) as info:
        load_bundle(store, "trend/1d_v9")
    assert str(info.value) == (
        "strategy 'trend' has no bundle '1d_v9'. Did you mean '1d_v2'? "
        "Bundles: 1d_v1, 1d_v2, 4h_v3 (latest). Use 'trend' alone for the latest."
    )
    with pytest.raises(StoreError, match="strategy 'trend' has no bundle 'v7'"):
        load_bundle(store, "trend/v7")


def test_path_that_does_not_exist(store, tmp_path):
    with pytest.raises(StoreError, match=r"no model bundle at .*missing/1d_v1: the directory does not exist"):
        load_bundle(store, tmp_path / "missing" / "1d_v1")


@pytest.mark.parametrize("strategy", ["", "trend/x", "../up", "with space", "dot.ted", 3])
def test_bad_strategy_names_are_refused(models_dir, strategy):
    with pytest.raises(StoreError) as info:
        save_bundle(models_dir, strategy, "1d", weights={"w": torch.ones(1)}, documents={})
    assert str(info.value) == (
        f"strategy {strategy!r} cannot name a model bundle: use only letters, digits, '_' and '-' "
        "(for example 'trend_follow' or '1d')."
    )
    assert not models_dir.exists()


def test_bad_timeframe_is_refused(models_dir):
    with pytest.raises(StoreError, match="timeframe '1 d' cannot name a model bundle"):
        save_bundle(models_dir, "trend", "1 d", weights={"w": torch.ones(1)}, documents={})


@pytest.mark.parametrize("name", ["Metrics", "my-doc", "a.b", "", "manifest"])
def test_bad_document_names_are_refused(models_dir, name):
    with pytest.raises(StoreError) as info:
        save_bundle(models_dir, "trend", "1d", weights={"w": torch.ones(1)}, documents={name: 1})
    if name == "manifest":
        assert "reserved for the bundle's manifest.json" in str(info.value)
    else:
        assert str(info.value).startswith(f"document name {name!r} is not allowed: use lower-case letters")
    assert not models_dir.exists()


@pytest.mark.parametrize(
    ("documents", "message"),
    [
        (
            {"stats": {"std": [1.0, float("-inf")]}},
            "document 'stats' holds -inf at stats.std[1]; JSON cannot store NaN or infinity.",
        ),
        (
            {"stats": {1: "a"}},
            "document 'stats' has the key 1 (int) at stats; JSON keys must be strings.",
        ),
        (
            {"stats": {"t": torch.ones(2)}},
            "document 'stats' holds a Tensor at stats.t, which is not JSON;",
        ),
        (
            {"stats": {"s": {1, 2}}},
            "document 'stats' holds a set at stats.s, which is not JSON;",
        ),
    ],
)
def test_documents_json_cannot_hold_are_refused_with_the_key_path(models_dir, documents, message):
    with pytest.raises(StoreError) as info:
        save_bundle(models_dir, "trend", "1d", weights={"w": torch.ones(1)}, documents=documents)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({}, "weights must be a non-empty mapping of name -> torch.Tensor"),
        ([torch.ones(1)], "weights must be a non-empty mapping of name -> torch.Tensor"),
        ({"w": [1.0]}, "weights['w'] is a list, not a torch.Tensor"),
        ({1: torch.ones(1)}, "weights key 1 is a int; tensor names must be strings."),
    ],
)
def test_bad_weights_are_refused(models_dir, weights, message):
    with pytest.raises(StoreError) as info:
        save_bundle(models_dir, "trend", "1d", weights=weights, documents={})
    assert str(info.value).startswith(message)
    assert not models_dir.exists()
