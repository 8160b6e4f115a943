from __future__ import annotations

import hashlib
import json
import re

import pytest

from neurotrade.errors import StoreError
from neurotrade.store import load_bundle, read_document, save_bundle, verify_bundle

RESTORE = "Retrain or restore it from a backup."


@pytest.fixture
def ref(models_dir, weights, documents):
    return save_bundle(models_dir, "trend", "1d", weights=weights, documents=documents)


def _flip_byte(path, index):
    data = bytearray(path.read_bytes())
    data[index] ^= 0x01
    path.write_bytes(bytes(data))


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_flipped_byte_in_weights_fails_with_a_clear_message(models_dir, ref):
    target = ref.path / "weights.safetensors"
    expected = _sha(target)
    _flip_byte(target, target.stat().st_size - 3)  # inside the tensor data, so the file still parses
    got = _sha(target)

    message = (
        f"bundle models/trend/1d_v1 failed verification: weights.safetensors sha256 mismatch "
        f"(expected {expected[:12]}..., got {got[:12]}...); the file was changed after saving. {RESTORE}"
    )
    with pytest.raises(StoreError) as info:
        verify_bundle(ref.path)
    assert str(info.value) == message
    with pytest.raises(StoreError) as info:
        load_bundle(models_dir, "trend")
    assert str(info.value) == message


def test_flipped_byte_in_a_document_fails(models_dir, ref):
    target = ref.path / "metrics.json"
    expected = _sha(target)
    _flip_byte(target, 5)
    with pytest.raises(StoreError) as info:
        load_bundle(models_dir, "trend/1d_v1")
    assert str(info.value) == (
        f"bundle models/trend/1d_v1 failed verification: metrics.json sha256 mismatch "
        f"(expected {expected[:12]}..., got {_sha(target)[:12]}...); the file was changed after saving. "
        f"{RESTORE}"
    )
    with pytest.raises(StoreError, match=r"metrics\.json sha256 mismatch"):
        read_document(ref, "metrics")
    # Reading one document checks only that one, so an intact neighbour still reads.
    assert read_document(ref, "seed") == 7


def test_changed_size_is_reported_as_such(ref):
    target = ref.path / "spec.json"
    size = target.stat().st_size
    target.write_bytes(target.read_bytes() + b" ")
    with pytest.raises(StoreError) as info:
        verify_bundle(ref.path)
    assert str(info.value) == (
        f"bundle models/trend/1d_v1 failed verification: spec.json size mismatch "
        f"(expected {size} bytes, got {size + 1}); the file was changed after saving. {RESTORE}"
    )


def test_missing_file_is_detected(ref):
    (ref.path / "resolved_features.json").unlink()
    with pytest.raises(StoreError) as info:
        verify_bundle(ref.path)
    assert str(info.value) == (
        "bundle models/trend/1d_v1 failed verification: resolved_features.json is missing; "
        f"it was deleted or moved after saving. {RESTORE}"
    )


def test_extra_file_is_detected(models_dir, ref):
    (ref.path / "notes.txt").write_text("added by hand")
    with pytest.raises(StoreError) as info:
        load_bundle(models_dir, "trend")
    assert str(info.value) == (
        "bundle models/trend/1d_v1 failed verification: notes.txt is not in the manifest; it was added "
        "after saving. Remove the files that were added, or restore the bundle from a backup."
    )


def test_extra_directory_is_detected(ref):
    (ref.path / "sub").mkdir()
    with pytest.raises(StoreError, match="sub is not in the manifest"):
        verify_bundle(ref.path)


def test_several_problems_are_listed_together(ref):
    (ref.path / "seed.json").unlink()
    (ref.path / "extra.json").write_text("{}")
    _flip_byte(ref.path / "spec.json", 3)
    with pytest.raises(StoreError) as info:
        verify_bundle(ref.path)
    lines = str(info.value).splitlines()
    assert lines[0] == "bundle models/trend/1d_v1 failed verification:"
    assert lines[1].startswith("  - seed.json is missing")
    assert lines[2].startswith("  - spec.json sha256 mismatch")
    assert lines[3].startswith("  - extra.json is not in the manifest")
    assert lines[4] == RESTORE


def test_missing_manifest(ref):
    (ref.path / "manifest.json").unlink()
    with pytest.raises(StoreError, match=re.escape("manifest.json is missing, so nothing in it can be trusted")):
        verify_bundle(ref.path)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda m: "not json {", "is not valid JSON"),
        (lambda m: json.dumps([1, 2]), "is not a JSON object"),
        (lambda m: json.dumps({**m, "version": "2"}), "has no valid 'version'"),
        (lambda m: json.dumps({**m, "files": {}}), "lists no files"),
        (
            lambda m: json.dumps({**m, "files": {**m["files"], "../../secret": m["files"]["seed.json"]}}),
            "lists the file name '../../secret', which a bundle cannot hold",
        ),
        (
            lambda m: json.dumps({**m, "files": {**m["files"], "seed.json": {"sha256": "x", "size": 2}}}),
            "has no valid sha256 and size for 'seed.json'",
        ),
    ],
)
def test_damaged_manifest(ref, edit, problem):
    path = ref.path / "manifest.json"
    path.write_text(edit(json.loads(path.read_text())))
    with pytest.raises(StoreError) as info:
        verify_bundle(ref.path)
    assert str(info.value).startswith("bundle models/trend/1d_v1 failed verification: manifest.json ")
    assert problem in str(info.value)


def test_manifest_from_a_newer_format_is_refused(ref):
    path = ref.path / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "format_version": 99}))
    with pytest.raises(StoreError, match="format_version 99, newer than the 1 this neurotrade reads; upgrade"):
        verify_bundle(ref.path)


def test_verify_a_directory_that_does_not_exist(tmp_path):
    with pytest.raises(StoreError, match=r"no model bundle at .*nowhere: the directory does not exist"):
        verify_bundle(tmp_path / "nowhere")


def test_read_document_missing_ok(ref):
    assert read_document(ref, "backtest", missing_ok=True) is None
    with pytest.raises(StoreError, match="has no document 'backtest'"):
        read_document(ref, "backtest")


def test_read_document_unknown_name_suggests(ref):
    with pytest.raises(StoreError) as info:
        read_document(ref, "metric")
    assert str(info.value) == (
        "bundle models/trend/1d_v1 has no document 'metric'. Did you mean 'metrics'? "
        "Documents: metrics, notes, resolved_features, seed, spec."
    )


def test_bundle_renamed_by_hand_is_refused_by_store_name(models_dir, ref):
    ref.path.rename(ref.path.with_name("1d_v5"))
    with pytest.raises(StoreError) as info:
        load_bundle(models_dir, "trend/1d_v5")
    assert str(info.value) == (
        "bundle models/trend/1d_v5 was saved as 'trend/1d_v1' but sits at 'trend/1d_v5'; it was renamed "
        "or copied by hand. Move it back to 'trend/1d_v1', or load it by its path."
    )
    # By path the directory name does not matter: the content is still verified.
    assert load_bundle(models_dir, ref.path.with_name("1d_v5")).ref.version == 1


def test_weights_that_are_not_safetensors_but_match_a_forged_manifest(models_dir, ref):
    target = ref.path / "weights.safetensors"
    target.write_bytes(b"not a safetensors file")
    manifest_path = ref.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["weights.safetensors"] = {"sha256": _sha(target), "size": target.stat().st_size}
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match=r"weights.safetensors is not a valid safetensors file"):
        load_bundle(models_dir, "trend")
