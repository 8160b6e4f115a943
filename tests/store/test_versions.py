from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from neurotrade.errors import StoreError
from neurotrade.store import list_bundles, load_bundle, save_bundle, verify_bundle


def _save(models_dir, strategy="trend", timeframe="1d", value=0.0, **documents):
    return save_bundle(models_dir, strategy, timeframe, weights={"w": torch.full((2,), value)}, documents=documents)


def _entries(strategy_dir: Path) -> list[str]:
    # .lock and .last_version (the highest version ever taken) are the store's own bookkeeping.
    return sorted(p.name for p in strategy_dir.iterdir() if p.name not in (".lock", ".last_version"))


def test_versions_count_up_and_latest_follows(models_dir):
    refs = [_save(models_dir, value=float(i)) for i in range(3)]
    assert [r.name for r in refs] == ["trend/1d_v1", "trend/1d_v2", "trend/1d_v3"]
    assert all(r.is_latest for r in refs)

    latest = models_dir / "trend" / "latest"
    assert latest.is_symlink()
    assert latest.readlink() == Path("1d_v3")  # relative, so the workspace can move
    assert load_bundle(models_dir, "trend").weights["w"].tolist() == [2.0, 2.0]
    assert [(r.name, r.is_latest) for r in list_bundles(models_dir)] == [
        ("trend/1d_v1", False),
        ("trend/1d_v2", False),
        ("trend/1d_v3", True),
    ]
    assert _entries(models_dir / "trend") == ["1d_v1", "1d_v2", "1d_v3", "latest", "latest-1d"]
    assert (models_dir / "trend" / "latest-1d").readlink() == Path("1d_v3")
    assert (models_dir / "trend" / ".last_version").read_text() == "3\n"


def test_versions_are_numbered_per_strategy_across_timeframes(models_dir):
    _save(models_dir, timeframe="1d")
    ref = _save(models_dir, timeframe="4h")
    other = _save(models_dir, strategy="meanrev", timeframe="1d")
    assert (ref.name, other.name) == ("trend/4h_v2", "meanrev/1d_v1")
    assert [r.name for r in list_bundles(models_dir)] == ["meanrev/1d_v1", "trend/1d_v1", "trend/4h_v2"]
    assert [r.name for r in list_bundles(models_dir, "trend")] == ["trend/1d_v1", "trend/4h_v2"]
    assert load_bundle(models_dir, "trend").ref.name == "trend/4h_v2"
    assert load_bundle(models_dir, "trend/latest-1d").ref.name == "trend/1d_v1"


def test_concurrent_saves_in_threads_get_distinct_versions(models_dir):
    n = 8
    barrier = threading.Barrier(n)
    refs, errors = [], []

    def work(i: int) -> None:
        barrier.wait()
        try:
            refs.append(_save(models_dir, value=float(i)))
        except StoreError as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sorted(r.version for r in refs) == list(range(1, n + 1))
    for ref in list_bundles(models_dir):
        verify_bundle(ref.path)
    assert load_bundle(models_dir, "trend").ref.version == n
    assert not any(p.name.startswith((".tmp", ".latest")) for p in (models_dir / "trend").iterdir())


def test_failed_save_leaves_nothing_and_latest_unchanged(models_dir):
    _save(models_dir, value=1.0)
    before = _entries(models_dir / "trend")

    with pytest.raises(StoreError) as info:
        _save(models_dir, metrics={"test": {"sharpe": float("nan")}})
    assert str(info.value) == (
        "document 'metrics' holds nan at metrics.test.sharpe; JSON cannot store NaN or infinity. "
        "Store a finite number or None (null) there before saving."
    )
    assert _entries(models_dir / "trend") == before
    assert load_bundle(models_dir, "trend").ref.name == "trend/1d_v1"
    assert _save(models_dir).version == 2


def test_failed_first_save_creates_no_strategy_directory(models_dir):
    with pytest.raises(StoreError, match=r"holds inf at x\.a"):
        _save(models_dir, x={"a": float("inf")})
    assert not (models_dir / "trend").exists()


def test_failure_after_rename_rolls_the_bundle_back(models_dir, monkeypatch):
    from neurotrade.store import _bundle

    _save(models_dir)
    real_point = _bundle._point_latest

    def broken_latest(strategy_dir, dir_name, pointer="latest"):
        if pointer == "latest":  # latest-1d has moved already and must be moved back
            raise PermissionError(13, "Permission denied", str(strategy_dir / pointer))
        real_point(strategy_dir, dir_name, pointer)

    monkeypatch.setattr(_bundle, "_point_latest", broken_latest)
    with pytest.raises(StoreError) as info:
        _save(models_dir)
    monkeypatch.undo()

    assert str(info.value).startswith(f"cannot save a bundle for 'trend' in {models_dir / 'trend'}: ")
    assert str(info.value).endswith("Check that the directory is writable and that the disk has space.")
    assert _entries(models_dir / "trend") == ["1d_v1", "latest", "latest-1d"]
    assert load_bundle(models_dir, "trend").ref.version == 1
    assert load_bundle(models_dir, "trend/latest-1d").ref.version == 1
    # The failed save's number stays taken: a number names one save only, even one that was rolled back.
    assert _save(models_dir).version == 3


def test_failure_while_writing_files_removes_the_temporary_directory(models_dir, monkeypatch):
    _save(models_dir)
    real_open = Path.open
    calls = []

    def failing_open(self, mode="r", *args, **kwargs):
        if "x" in mode:
            calls.append(self.name)
            if len(calls) == 2:
                raise OSError(28, "No space left on device")
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", failing_open)
    with pytest.raises(StoreError, match="No space left on device"):
        _save(models_dir, seed=1)
    monkeypatch.undo()
    assert len(calls) == 2
    assert _entries(models_dir / "trend") == ["1d_v1", "latest", "latest-1d"]


def test_latest_falls_back_to_a_text_file_without_symlinks(models_dir, monkeypatch):
    def no_symlinks(self, target, target_is_directory=False):
        raise OSError(1, "symbolic links are not available")

    monkeypatch.setattr(Path, "symlink_to", no_symlinks)
    _save(models_dir)
    _save(models_dir)
    latest = models_dir / "trend" / "latest"
    assert not latest.is_symlink()
    assert latest.read_text() == "1d_v2\n"
    assert load_bundle(models_dir, "trend/latest").ref.name == "trend/1d_v2"
    assert [r.is_latest for r in list_bundles(models_dir)] == [False, True]

    # Where symlinks work again, the next save swaps the file for a link in one rename.
    monkeypatch.undo()
    _save(models_dir)
    assert latest.is_symlink()
    assert load_bundle(models_dir, "trend").ref.version == 3


def test_without_a_latest_pointer_the_highest_version_is_latest(models_dir):
    _save(models_dir)
    _save(models_dir)
    (models_dir / "trend" / "latest").unlink()
    assert load_bundle(models_dir, "trend").ref.name == "trend/1d_v2"
    assert [r.is_latest for r in list_bundles(models_dir)] == [False, True]


def test_dangling_latest_is_explained(models_dir):
    import shutil

    _save(models_dir)
    ref = _save(models_dir)
    shutil.rmtree(ref.path)
    with pytest.raises(StoreError) as info:
        load_bundle(models_dir, "trend")
    assert str(info.value) == (
        "models/trend/latest points at '1d_v2', which does not exist (was it deleted?). Load a version by "
        "name instead: 1d_v1; the next save moves latest again."
    )
    assert load_bundle(models_dir, "trend/1d_v1").ref.is_latest is False


def test_list_skips_unreadable_bundles_and_leftovers(models_dir, caplog):
    _save(models_dir)
    broken = _save(models_dir)
    (broken.path / "manifest.json").unlink()
    (models_dir / "trend" / ".tmp-1d-leftover").mkdir()
    (models_dir / "trend" / "not_a_bundle").mkdir()
    (models_dir / ".hidden").mkdir()

    with caplog.at_level("WARNING", logger="neurotrade.store._bundle"):
        refs = list_bundles(models_dir)
    assert [r.name for r in refs] == ["trend/1d_v1"]
    assert "skipping trend/1d_v2" in caplog.text
    assert list_bundles(models_dir.parent / "no_models_here") == []
