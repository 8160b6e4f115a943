from __future__ import annotations

import shutil

import pytest
import torch

from neurotrade.errors import StoreError
from neurotrade.store import delete_bundle, list_bundles, load_bundle, save_bundle


@pytest.fixture
def three(models_dir):
    for _ in range(3):
        save_bundle(models_dir, "trend", "1d", weights={"w": torch.ones(2)}, documents={"seed": 1})
    return models_dir


def _state(models_dir):
    return [(ref.name, ref.is_latest) for ref in list_bundles(models_dir)]


def test_deleting_an_older_version_leaves_latest_alone(three):
    ref = delete_bundle(three, "trend/1d_v2")
    assert (ref.name, ref.is_latest) == ("trend/1d_v2", False)
    assert not ref.path.exists()
    assert _state(three) == [("trend/1d_v1", False), ("trend/1d_v3", True)]


def test_deleting_latest_moves_it_to_the_newest_remaining_version(three):
    delete_bundle(three, "trend/1d_v1")
    ref = delete_bundle(three, "trend/v3")
    assert (ref.name, ref.is_latest) == ("trend/1d_v3", True)
    assert _state(three) == [("trend/1d_v2", True)]
    assert load_bundle(three, "trend").ref.name == "trend/1d_v2"
    # Numbers are never reused: v3 was deleted, so the next save is v4 (it used to reuse v3, whose run folder
    # still held the deleted run's files).
    assert save_bundle(three, "trend", "1d", weights={"w": torch.ones(1)}, documents={}).name == "trend/1d_v4"


def test_deleting_the_last_version_removes_latest(three):
    for name in ("trend/1d_v1", "trend/1d_v2", "trend/1d_v3"):
        delete_bundle(three, name)
    assert list_bundles(three) == []
    assert not (three / "trend" / "latest").exists()
    assert not (three / "trend" / "latest").is_symlink()
    assert not (three / "trend" / "latest-1d").is_symlink()
    # Only the lock and the high-water mark stay, so a new save still counts on from v3.
    assert sorted(p.name for p in (three / "trend").iterdir()) == [".last_version", ".lock"]
    with pytest.raises(StoreError, match="no model bundles for strategy 'trend'"):
        load_bundle(three, "trend")


@pytest.mark.parametrize("name", ["trend", "trend/latest"])
def test_a_name_that_means_latest_is_refused_with_the_explicit_name(three, name):
    with pytest.raises(StoreError, match=r"name the version to delete: .* trend/1d_v3\. Run `neurotrade models delete"):
        delete_bundle(three, name)
    assert len(list_bundles(three)) == 3


def test_names_that_are_not_bundles_are_refused(three, tmp_path):
    with pytest.raises(StoreError, match=r"no bundle '1d_v9'.*Bundles: 1d_v1, 1d_v2, 1d_v3 \(latest\)"):
        delete_bundle(three, "trend/1d_v9")
    with pytest.raises(StoreError, match=r"no model bundles for strategy 'trnd'.*Did you mean 'trend'\?"):
        delete_bundle(three, "trnd/1d_v1")
    with pytest.raises(StoreError, match=r"does not name a saved bundle.*never a path"):
        delete_bundle(three, str(three / "trend" / "1d_v1"))
    assert len(list_bundles(three)) == 3


def test_a_bundle_that_fails_verification_can_still_be_deleted(three):
    (three / "trend" / "1d_v2" / "manifest.json").unlink()
    (three / "trend" / "1d_v3" / "weights.safetensors").write_bytes(b"tampered")
    assert delete_bundle(three, "trend/1d_v2").created_at == ""
    assert delete_bundle(three, "trend/1d_v3").is_latest
    assert _state(three) == [("trend/1d_v1", True)]


def test_a_dangling_latest_is_repaired_by_the_next_delete(three):
    # latest names v3; v3 vanishes by hand; deleting v1 must leave latest on a bundle that exists.
    shutil.rmtree(three / "trend" / "1d_v3")
    delete_bundle(three, "trend/1d_v1")
    assert _state(three) == [("trend/1d_v2", True)]
