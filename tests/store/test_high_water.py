"""Issue 9 item 14: a version number names one save only; deleting a bundle never frees its number."""

from __future__ import annotations

import shutil

import pytest
import torch

from neurotrade.errors import StoreError
from neurotrade.store import delete_bundle, list_bundles, load_bundle, save_bundle


def _save(models_dir, timeframe="1d", value=0.0):
    return save_bundle(models_dir, "trend", timeframe, weights={"w": torch.full((2,), value)}, documents={})


def test_deleting_the_newest_does_not_free_its_number(models_dir):
    _save(models_dir, value=1.0)
    _save(models_dir, value=2.0)
    delete_bundle(models_dir, "trend/1d_v2")
    ref = _save(models_dir, value=3.0)
    assert ref.name == "trend/1d_v3"
    assert [r.name for r in list_bundles(models_dir)] == ["trend/1d_v1", "trend/1d_v3"]
    assert load_bundle(models_dir, "trend").weights["w"].tolist() == [3.0, 3.0]


def test_deleting_every_version_still_counts_on(models_dir):
    for _ in range(3):
        _save(models_dir)
    for version in (1, 2, 3):
        delete_bundle(models_dir, f"trend/v{version}")
    assert _save(models_dir).name == "trend/1d_v4"


def test_numbers_are_never_reused_across_timeframes(models_dir):
    _save(models_dir, "1d")
    _save(models_dir, "4h")
    delete_bundle(models_dir, "trend/4h_v2")
    assert _save(models_dir, "1w").name == "trend/1w_v3"


def test_a_store_from_before_the_high_water_mark_is_protected_by_delete(models_dir):
    # Bundles saved before .last_version existed: delete records the number it frees before removing it.
    _save(models_dir)
    _save(models_dir)
    (models_dir / "trend" / ".last_version").unlink()
    delete_bundle(models_dir, "trend/1d_v2")
    assert (models_dir / "trend" / ".last_version").read_text() == "2\n"
    assert _save(models_dir).name == "trend/1d_v3"


def test_a_bundle_removed_by_hand_does_not_free_its_number(models_dir):
    _save(models_dir)
    ref = _save(models_dir)
    shutil.rmtree(ref.path)
    assert _save(models_dir).name == "trend/1d_v3"


def test_bundles_above_the_mark_count_too(models_dir):
    # A bundle copied in by hand with a higher number than the mark.
    ref = _save(models_dir)
    shutil.copytree(ref.path, models_dir / "trend" / "1d_v7")
    assert _save(models_dir).name == "trend/1d_v8"


def test_a_damaged_high_water_mark_is_refused_with_the_fix(models_dir):
    _save(models_dir)
    (models_dir / "trend" / ".last_version").write_text("lots\n")
    with pytest.raises(StoreError) as info:
        _save(models_dir)
    assert str(info.value) == (
        "models/trend/.last_version should hold the highest version number ever saved for 'trend', but holds 'lots'. "
        "Write that number into it (at least the highest version left, as in `neurotrade models list`), so no "
        "deleted version's number is used again."
    )
    assert [r.name for r in list_bundles(models_dir)] == ["trend/1d_v1"]
