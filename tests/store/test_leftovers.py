"""Issue 9 item 16: what a killed save leaves behind is removed by the next save, and nothing a live save holds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from neurotrade.store import _bundle, list_bundles, load_bundle, save_bundle, verify_bundle

pytestmark = pytest.mark.skipif(_bundle.fcntl is None, reason="stale temporary folders are told by flock")


def _save(models_dir, value=0.0):
    return save_bundle(models_dir, "trend", "1d", weights={"w": torch.full((2,), value)}, documents={"v": value})


def _hidden(strategy_dir: Path) -> list[str]:
    return sorted(p.name for p in strategy_dir.iterdir() if p.name.startswith(".") and p.name != ".lock")


# A save that stops after writing its first file, says so on stdout, and goes on only when told on stdin.
_PAUSED_SAVER = """
import sys, torch
from neurotrade.store import _bundle, save_bundle
real = _bundle._write_durable
calls = []
def paused(path, data):
    real(path, data)
    calls.append(path)
    if len(calls) == 1:
        print(path.parent.name, flush=True)
        sys.stdin.readline()
_bundle._write_durable = paused
ref = save_bundle(sys.argv[1], "trend", "1d", weights={"w": torch.ones(2)}, documents={"v": 9.0})
print(ref.name, flush=True)
"""


def _start_paused_saver(models_dir: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _PAUSED_SAVER, str(models_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    tmp_name = proc.stdout.readline().strip()
    assert tmp_name.startswith(".tmp-1d-"), tmp_name
    return proc, tmp_name


def test_a_planted_orphan_is_removed_by_the_next_save(models_dir):
    _save(models_dir, 1.0)
    strategy_dir = models_dir / "trend"
    orphan = strategy_dir / ".tmp-1d-orphan"
    orphan.mkdir()
    (orphan / "weights.safetensors").write_bytes(b"half written")
    (strategy_dir / ".latest-0123abcd").symlink_to("1d_v1")
    (strategy_dir / ".deleting-1d_v0-0123abcd").mkdir()
    (strategy_dir / ".last_version-0123abcd").write_text("5\n")

    ref = _save(models_dir, 2.0)
    assert ref.name == "trend/1d_v2"
    assert _hidden(strategy_dir) == [".last_version"]
    verify_bundle(ref.path)


def test_the_temporary_folder_of_a_killed_save_is_removed(models_dir):
    proc, tmp_name = _start_paused_saver(models_dir)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    strategy_dir = models_dir / "trend"
    assert (strategy_dir / tmp_name).is_dir()  # what kill -9 leaves behind

    ref = _save(models_dir, 1.0)
    assert ref.name == "trend/1d_v1"
    assert not (strategy_dir / tmp_name).exists()
    assert _hidden(strategy_dir) == [".last_version"]


def test_a_live_save_in_another_process_keeps_its_temporary_folder(models_dir):
    proc, tmp_name = _start_paused_saver(models_dir)
    try:
        strategy_dir = models_dir / "trend"
        mine = _save(models_dir, 1.0)  # cleans up while the other save is half way through
        assert (strategy_dir / tmp_name).is_dir()
        out, _ = proc.communicate("go\n", timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert out.split() == ["trend/1d_v2"]
    assert mine.name == "trend/1d_v1"
    for ref in list_bundles(models_dir):
        verify_bundle(ref.path)
    assert load_bundle(models_dir, "trend/1d_v2").documents["v"] == 9.0
    assert _hidden(strategy_dir) == [".last_version"]


def test_a_live_save_in_another_thread_keeps_its_temporary_folder(models_dir, monkeypatch):
    # flock locks belong to open files, not processes: a thread of the same process sees the other's lock too.
    real = _bundle._write_durable
    paused, resume = threading.Event(), threading.Event()
    slow = threading.local()

    def write(path, data):
        real(path, data)
        if getattr(slow, "on", False) and not paused.is_set():
            paused.set()
            resume.wait(60)

    monkeypatch.setattr(_bundle, "_write_durable", write)
    results = []

    def slow_save():
        slow.on = True
        results.append(_save(models_dir, 2.0))

    thread = threading.Thread(target=slow_save)
    thread.start()
    assert paused.wait(60)
    first = _save(models_dir, 1.0)
    resume.set()
    thread.join(60)
    assert first.name == "trend/1d_v1"
    assert [r.name for r in results] == ["trend/1d_v2"]
    for ref in list_bundles(models_dir):
        verify_bundle(ref.path)


_WORKER = """
import sys, torch
from neurotrade.store import save_bundle
sys.stdin.readline()  # start together
for i in range(3):
    ref = save_bundle(sys.argv[1], "trend", "1d", weights={"w": torch.full((64,), float(i))}, documents={"i": i})
    print(ref.version)
"""


def test_eight_concurrent_savers_get_distinct_verified_versions(models_dir):
    (models_dir / "trend").mkdir(parents=True)
    (models_dir / "trend" / ".tmp-1d-orphan").mkdir()  # every saver cleans up while the others save
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(models_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    versions = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0
        versions += [int(line) for line in out.split()]
    assert sorted(versions) == list(range(1, 25))
    refs = list_bundles(models_dir)
    assert [r.version for r in refs] == list(range(1, 25))
    for ref in refs:
        verify_bundle(ref.path)
    assert _hidden(models_dir / "trend") == [".last_version"]
