"""Issue 9 item 15: a symbolic link inside a bundle is refused, even one whose target matches the manifest."""

from __future__ import annotations

import shutil

import pytest

from neurotrade.errors import StoreError
from neurotrade.store import list_bundles, load_bundle, read_document, save_bundle, verify_bundle

NO_LINKS = "A bundle holds plain files only: replace each link with a copy of the saved file, or retrain."


@pytest.fixture
def ref(models_dir, weights, documents):
    save_bundle(models_dir, "trend", "1d", weights=weights, documents=documents)
    return save_bundle(models_dir, "trend", "1d", weights=weights, documents=documents)


def _link_outside(ref, name, tmp_path):
    """Move ``name`` out of the bundle and leave a link to it: same bytes, same sha256."""
    outside = tmp_path / "elsewhere" / name
    outside.parent.mkdir(exist_ok=True)
    shutil.move(ref.path / name, outside)
    (ref.path / name).symlink_to(outside)
    return outside


def test_a_linked_weights_file_with_matching_content_is_refused(models_dir, ref, tmp_path):
    outside = _link_outside(ref, "weights.safetensors", tmp_path)
    expected = (
        f"bundle models/trend/1d_v2 failed verification: weights.safetensors is a symbolic link (to {outside}), "
        f"not a file the bundle holds. {NO_LINKS}"
    )
    for check in (lambda: verify_bundle(ref.path), lambda: load_bundle(models_dir, "trend")):
        with pytest.raises(StoreError) as info:
            check()
        assert str(info.value) == expected


def test_a_linked_document_is_refused_when_read_alone(ref, tmp_path):
    _link_outside(ref, "metrics.json", tmp_path)
    with pytest.raises(StoreError, match=r"metrics\.json is a symbolic link \(to .*elsewhere/metrics\.json\)"):
        read_document(ref, "metrics")
    assert read_document(ref, "seed") == 7  # the other documents are still plain files


def test_a_relative_link_inside_the_bundle_is_refused_too(ref):
    # Even pointing at a copy inside the bundle directory: the manifest lists files, not links.
    (ref.path / "seed.json").rename(ref.path / "seed.copy")
    (ref.path / "seed.json").symlink_to("seed.copy")
    with pytest.raises(StoreError) as info:
        verify_bundle(ref.path)
    assert "seed.json is a symbolic link (to seed.copy), not a file the bundle holds" in str(info.value)
    assert "seed.copy is not in the manifest; it was added after saving" in str(info.value)


def test_a_linked_manifest_is_refused(ref, tmp_path):
    outside = _link_outside(ref, "manifest.json", tmp_path)
    with pytest.raises(StoreError) as info:
        verify_bundle(ref.path)
    assert str(info.value) == (
        f"bundle models/trend/1d_v2 failed verification: manifest.json is a symbolic link (to {outside}), "
        f"not a file the bundle holds. {NO_LINKS}"
    )


def test_latest_is_a_link_beside_the_bundles_and_still_loads(models_dir, ref):
    assert (models_dir / "trend" / "latest").is_symlink()
    assert (models_dir / "trend" / "latest-1d").is_symlink()
    assert load_bundle(models_dir, "trend").ref.name == "trend/1d_v2"
    assert load_bundle(models_dir, "trend/latest").ref.name == "trend/1d_v2"
    assert load_bundle(models_dir, "trend/latest-1d").ref.name == "trend/1d_v2"
    assert [r.name for r in list_bundles(models_dir)] == ["trend/1d_v1", "trend/1d_v2"]
