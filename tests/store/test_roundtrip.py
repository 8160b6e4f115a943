from __future__ import annotations

import hashlib
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade.store import load_bundle, read_document, save_bundle, verify_bundle


def _bits(t: torch.Tensor) -> bytes:
    return t.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes()


def test_round_trip_weights_bit_identical_and_documents_equal(models_dir, weights, documents):
    ref = save_bundle(models_dir, "trend", "1d", weights=weights, documents=documents)
    bundle = load_bundle(models_dir, "trend")

    assert bundle.ref == ref
    assert set(bundle.weights) == set(weights)
    for name, tensor in weights.items():
        loaded = bundle.weights[name]
        assert loaded.dtype == tensor.dtype
        assert loaded.shape == tensor.shape
        assert _bits(loaded) == _bits(tensor)
    assert bundle.documents == documents


def test_weights_keep_nan_and_inf_bits(models_dir):
    w = torch.tensor([float("nan"), float("inf"), -0.0, 1e-45])
    save_bundle(models_dir, "s", "1d", weights={"w": w}, documents={})
    assert _bits(load_bundle(models_dir, "s").weights["w"]) == _bits(w)


def test_tied_and_non_contiguous_weights_are_stored_whole(models_dir):
    shared = torch.arange(6.0).reshape(2, 3)
    weights = {"a": shared, "b": shared, "t": shared.t()}
    save_bundle(models_dir, "s", "1d", weights=weights, documents={})
    loaded = load_bundle(models_dir, "s").weights
    for name, tensor in weights.items():
        assert torch.equal(loaded[name], tensor)


def test_manifest_records_every_file_and_the_identity(models_dir, weights, documents):
    ref = save_bundle(models_dir, "trend", "1d", weights=weights, documents=documents)
    manifest = json.loads((ref.path / "manifest.json").read_text())

    expected_files = {"weights.safetensors", *(f"{name}.json" for name in documents)}
    assert set(manifest["files"]) == expected_files
    for name, entry in manifest["files"].items():
        data = (ref.path / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert manifest["format_version"] == 1
    assert (manifest["strategy"], manifest["timeframe"], manifest["version"]) == ("trend", "1d", 1)
    created = datetime.fromisoformat(manifest["created_at"])
    assert created.utcoffset() == timedelta(0)
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60
    assert ref.created_at == manifest["created_at"]
    assert sorted(p.name for p in ref.path.iterdir()) == sorted([*expected_files, "manifest.json"])


def test_documents_are_indented_json_in_their_given_key_order(models_dir):
    # The order of a spec's indicators and fuzzy sets decides the feature order: sorting keys would change it.
    ref = save_bundle(models_dir, "s", "1d", weights={"w": torch.ones(1)}, documents={"d": {"b": 1, "a": [1]}})
    assert (ref.path / "d.json").read_text() == '{\n  "b": 1,\n  "a": [\n    1\n  ]\n}\n'
    assert list(load_bundle(models_dir, "s").documents["d"]) == ["b", "a"]


def test_numpy_values_and_tuples_become_plain_json(models_dir):
    documents = {
        "scaler": {"mean": np.array([1.5, 2.0]), "n": np.int64(3), "ok": np.bool_(True), "pair": (1, 2)},
    }
    save_bundle(models_dir, "s", "1d", weights={"w": torch.ones(1)}, documents=documents)
    loaded = load_bundle(models_dir, "s").documents["scaler"]
    assert loaded == {"mean": [1.5, 2.0], "n": 3, "ok": True, "pair": [1, 2]}
    assert type(loaded["n"]) is int


def test_verify_and_read_document_on_a_good_bundle(models_dir, weights, documents):
    ref = save_bundle(models_dir, "trend", "1d", weights=weights, documents=documents)
    verify_bundle(ref.path)
    assert read_document(ref, "metrics") == documents["metrics"]
    assert read_document(ref.path, "seed") == 7


def test_weights_load_without_pickle(models_dir, weights, monkeypatch):
    ref = save_bundle(models_dir, "trend", "1d", weights=weights, documents={})

    def refuse(*args, **kwargs):
        raise AssertionError("torch.load must not be used for bundles")

    monkeypatch.setattr(torch, "load", refuse)
    assert set(load_bundle(models_dir, ref.name).weights) == set(weights)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=25, deadline=None)
@given(doc=_json)
def test_any_finite_json_document_round_trips(doc):
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models"
        save_bundle(models, "s", "1d", weights={"w": torch.zeros(1)}, documents={"doc": doc})
        assert load_bundle(models, "s").documents["doc"] == doc
