"""``run --resume`` continues only weights trained on the same data, features and splits; every run owns its
checkpoint folder, so runs of one strategy at the same time do not delete each other's checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurotrade._resume import claim_checkpoints
from neurotrade.config import TrainingSpec, parse_strategy
from neurotrade.data import synthetic_ohlcv
from neurotrade.errors import ModelError
from neurotrade.models import MLP
from neurotrade.pipeline import run
from neurotrade.store import load_bundle, verify_bundle
from neurotrade.training import train_classifier

STRATEGY = """
name: resumable
data: {{source: file, path: {path}, symbol: SYN}}
indicators: {{rsi_14: {{}}}}
nn_inputs: {{indicators: [rsi_14]}}
split: {{folds: 2}}
training: {{epochs: 4}}
"""


class Interrupt(Exception):
    """Stands for a kill in the middle of training."""


def _stop_in_fold(fold: int, epoch: int):
    def progress(event) -> None:
        if event.epoch is not None and event.message.startswith(f"fold {fold} ") and event.epoch.epoch == epoch:
            raise Interrupt

    return progress


@pytest.fixture(scope="module")
def two_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two files of the same length and timestamps, but different bars (say, later years, then earlier)."""
    root = tmp_path_factory.mktemp("files")
    bars = synthetic_ohlcv(1400, seed=11)
    later, earlier = bars.iloc[700:].copy(), bars.iloc[:700].copy()
    earlier.index = later.index
    paths = root / "later.csv", root / "earlier.csv"
    for frame, path in zip((later, earlier), paths, strict=True):
        frame.to_csv(path)
    return paths


def test_resume_refuses_a_checkpoint_trained_on_other_data(two_files, tmp_path: Path) -> None:
    later, earlier = two_files
    home = tmp_path / "home"
    with pytest.raises(Interrupt):
        run(parse_strategy(STRATEGY.format(path=later)), home=home, progress=_stop_in_fold(2, 2))
    with pytest.raises(ModelError, match=r"cannot resume: .*data fingerprint .*start afresh"):
        run(parse_strategy(STRATEGY.format(path=earlier)), home=home, resume=True)
    # The other data's checkpoints are still there, untouched, for a resume on the right data.
    result = run(parse_strategy(STRATEGY.format(path=later)), home=home, resume=True)
    resumed = result.metrics["resumed"]
    # fold 1 had finished (its last checkpoint is reloaded), fold 2 stopped after epoch 2
    assert [(f["fold"], f["after_epoch"]) for f in resumed["folds"]] == [(1, 4), (2, 2)]
    assert load_bundle(home / "models", "resumable").documents["training"]["resumed"] == resumed
    assert json.loads((result.run_dir / "metrics.json").read_text())["resumed"] == resumed
    assert not (home / "checkpoints" / "resumable").exists()  # finished: nothing left to resume


def test_a_resumed_run_equals_the_straight_run(two_files, tmp_path: Path) -> None:
    later, _ = two_files
    spec = parse_strategy(STRATEGY.format(path=later))
    straight = run(spec, home=tmp_path / "a")
    with pytest.raises(Interrupt):
        run(spec, home=tmp_path / "b", progress=_stop_in_fold(1, 3))
    resumed = run(spec, home=tmp_path / "b", resume=True)
    assert resumed.metrics["resumed"]["folds"][0] == {"seed": spec.seed, "fold": 1, "after_epoch": 3}
    assert "resumed" not in straight.metrics
    ours, theirs = straight.metrics["aggregate"]["strategy"], resumed.metrics["aggregate"]["strategy"]
    assert ours["final_equity"] == theirs["final_equity"]


def test_resume_with_nothing_to_resume_starts_afresh(two_files, tmp_path: Path, caplog) -> None:
    later, _ = two_files
    with caplog.at_level("WARNING"):
        result = run(parse_strategy(STRATEGY.format(path=later)), home=tmp_path, resume=True)
    assert "no interrupted run of this strategy" in caplog.text and "resumed" not in result.metrics


def test_resume_refuses_other_splits_and_features(tmp_path: Path) -> None:
    identity = {"data": "abc", "features": ["1d_rsi_14"], "folds": [{"train": [0, 9, 10, "d"]}], "spec": {}}
    claim_checkpoints(tmp_path, identity, resume=False).release()
    other_split = {**identity, "folds": [{"train": [0, 19, 20, "e"]}]}
    with pytest.raises(ModelError, match="positions of fold 1 differ"):
        claim_checkpoints(tmp_path, other_split, resume=True)
    with pytest.raises(ModelError, match="resolved features differ"):
        claim_checkpoints(tmp_path, {**identity, "features": ["1d_rsi_7"]}, resume=True)


def test_a_live_runs_checkpoints_are_not_claimed(tmp_path: Path, caplog) -> None:
    held = claim_checkpoints(tmp_path, {"data": "a"}, resume=False)
    with caplog.at_level("WARNING"):
        other = claim_checkpoints(tmp_path, {"data": "a"}, resume=True)
    assert not other.resumed and other.path != held.path
    held.release()
    other.release()


def test_the_trainer_refuses_a_checkpoint_of_other_rows(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(100, 3))
    y = (x[:, 0] > 0).astype(int)
    spec = TrainingSpec(epochs=2)
    path = tmp_path / "c.pt"
    train_classifier(
        MLP(3, 2, [4]), x[:80], y[:80], x[80:], y[80:], spec, seed=0, checkpoint=path, identity={"data": "a"}
    )
    with pytest.raises(ModelError, match="data differs"):
        train_classifier(
            MLP(3, 2, [4]), x[:80], y[:80], x[80:], y[80:], spec, seed=0, resume_from=path, identity={"data": "b"}
        )


CONCURRENT = """
name: together
data: {source: synthetic, bars: 400}
indicators: {rsi_14: {}}
nn_inputs: {indicators: [rsi_14]}
split: {folds: 2}
training: {epochs: 2}
"""


def test_eight_concurrent_runs_of_one_strategy_all_succeed(tmp_path: Path) -> None:
    spec = tmp_path / "together.yaml"
    spec.write_text(CONCURRENT)
    home = tmp_path / "home"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    entry = "from neurotrade.cli import main; main()"
    command = [sys.executable, "-c", entry, "--home", str(home), "run", str(spec)]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(8)]
    outcomes = [(p.wait(timeout=600), p.stderr.read().decode()) for p in runs]
    for p in runs:
        p.stdout.close()
        p.stderr.close()
    assert [code for code, _ in outcomes] == [0] * 8, [err for code, err in outcomes if code]
    versions = sorted(p.name for p in (home / "models" / "together").iterdir() if p.name.startswith("1d_v"))
    assert versions == sorted(f"1d_v{n}" for n in range(1, 9))
    for version in versions:
        verify_bundle(home / "models" / "together" / version)


def test_a_damaged_or_half_started_folder_never_breaks_a_resume(tmp_path: Path, caplog) -> None:
    (tmp_path / "killed-while-starting").mkdir()  # no run.json: killed before it said what it was
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "run.json").write_text('{"data": "ab')
    (tmp_path / "not-a-record").mkdir()
    (tmp_path / "not-a-record" / "run.json").write_text("[]")
    with caplog.at_level("WARNING"):
        claimed = claim_checkpoints(tmp_path, {"data": "a"}, resume=True)
    assert not claimed.resumed
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [claimed.path.name]
    claimed.finish()
