"""Checkpoints: an interrupted run resumed from its last checkpoint ends exactly where the straight run ends."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from neurotrade.config import EarlyStoppingSpec, MLPSpec, TrainingSpec
from neurotrade.errors import ModelError
from neurotrade.models import build_model
from neurotrade.training import load_checkpoint, seed_everything, train_classifier


class Interrupt(Exception):
    """Stands for a crash or Ctrl-C after an epoch's checkpoint was written."""


def stop_after(epoch: int):
    def progress(report) -> None:
        if report.epoch == epoch:
            raise Interrupt

    return progress


CASES = {
    "adam-cosine": TrainingSpec(epochs=6, batch_size=16, schedule={"type": "cosine", "warmup_epochs": 1}),
    "sgd-plateau-clip": TrainingSpec(
        optimizer="sgd", epochs=6, batch_size=16, grad_clip=0.5, schedule={"type": "plateau", "patience": 0}
    ),
    "adamw-focal": TrainingSpec(optimizer="adamw", loss="focal", epochs=6, batch_size=16, weight_decay=0.01),
}


@pytest.mark.parametrize("case", list(CASES))
def test_six_epochs_straight_equal_three_plus_three_resumed(case: str, tmp_path: Path, make_data) -> None:
    spec = CASES[case].model_copy(update={"device": "cpu", "early_stopping": None})
    x, y = make_data(n=240)

    def run(path: Path, **kwargs):
        seed_everything(9)
        net = build_model(MLPSpec(hidden=[8], dropout=0.3), n_inputs=5, n_classes=3)
        result = train_classifier(net, x[:180], y[:180], x[180:], y[180:], spec, seed=9, checkpoint=path, **kwargs)
        return net, result

    straight, whole = run(tmp_path / "straight.pt")
    with pytest.raises(Interrupt):
        run(tmp_path / "resumed.pt", progress=stop_after(3))
    assert load_checkpoint(tmp_path / "resumed.pt")["epoch"] == 3
    torch.manual_seed(12345)  # whatever happened to the global generator meanwhile, the checkpoint restores it
    resumed, rest = run(tmp_path / "resumed.pt", resume_from=tmp_path / "resumed.pt")

    assert rest.resumed_from == 3 and rest.history == whole.history
    assert (rest.best_epoch, rest.best_val_loss) == (whole.best_epoch, whole.best_val_loss)
    for name, tensor in straight.state_dict().items():  # the restored best weights
        assert torch.equal(tensor, resumed.state_dict()[name])
    last_a, last_b = load_checkpoint(tmp_path / "straight.pt"), load_checkpoint(tmp_path / "resumed.pt")
    for name, tensor in last_a["model"].items():  # and the weights after the last epoch
        assert torch.equal(tensor, last_b["model"][name])


def test_window_models_resume_exactly(tmp_path: Path, make_data, window_net) -> None:
    matrix, labels = make_data(n=200, features=3)
    train_pos, val_pos = np.arange(4, 150), np.arange(160, 200)
    spec = TrainingSpec(epochs=4, batch_size=16, device="cpu", early_stopping=None)

    def run(path: Path, **kwargs):
        seed_everything(1)
        net = window_net(3, 5)
        train_classifier(
            net,
            matrix,
            labels[train_pos],
            matrix,
            labels[val_pos],
            spec,
            seed=1,
            train_positions=train_pos,
            val_positions=val_pos,
            checkpoint=path,
            **kwargs,
        )
        return net

    straight = run(tmp_path / "a.pt")
    with pytest.raises(Interrupt):
        run(tmp_path / "b.pt", progress=stop_after(2))
    resumed = run(tmp_path / "b.pt", resume_from=tmp_path / "b.pt")
    for name, tensor in straight.state_dict().items():
        assert torch.equal(tensor, resumed.state_dict()[name])


def test_a_finished_early_stopped_run_resumes_to_its_result(tmp_path: Path, make_data) -> None:
    x, y = make_data(n=200)
    spec = TrainingSpec(epochs=200, learning_rate=0.05, early_stopping=EarlyStoppingSpec(patience=2), device="cpu")
    seed_everything(0)
    net = build_model(MLPSpec(hidden=[32, 32], dropout=0.0), n_inputs=5, n_classes=3)
    first = train_classifier(net, x[:150], y[:150], x[150:], y[150:], spec, seed=0, checkpoint=tmp_path / "c.pt")
    assert first.stopped_early
    seed_everything(0)
    again = build_model(MLPSpec(hidden=[32, 32], dropout=0.0), n_inputs=5, n_classes=3)
    second = train_classifier(again, x[:150], y[:150], x[150:], y[150:], spec, seed=0, resume_from=tmp_path / "c.pt")
    assert second.history == first.history and second.stopped_early
    for name, tensor in net.state_dict().items():
        assert torch.equal(tensor, again.state_dict()[name])


def test_checkpoint_of_another_run_is_refused(tmp_path: Path, make_data) -> None:
    x, y = make_data(n=100)
    seed_everything(0)
    net = build_model(MLPSpec(hidden=[4]), n_inputs=5, n_classes=3)
    spec = TrainingSpec(epochs=1, device="cpu")
    train_classifier(net, x[:80], y[:80], x[80:], y[80:], spec, seed=0, checkpoint=tmp_path / "c.pt")
    other = spec.model_copy(update={"learning_rate": 0.01, "epochs": 5})  # epochs may change, the rate may not
    with pytest.raises(
        ModelError,
        match=r"was written by a different training run: seed 0 \(now 1\); training.learning_rate 0.001 \(now 0.01\); "
        r"resume with the same data, seed and training settings \(only epochs and device may change\)",
    ):
        train_classifier(net, x[:80], y[:80], x[80:], y[80:], other, seed=1, resume_from=tmp_path / "c.pt")


def test_a_cosine_schedule_cannot_resume_with_other_epochs(tmp_path: Path, make_data) -> None:
    """The cosine schedule's length is the epochs: a resume with more would continue on another schedule."""
    x, y = make_data(n=100)
    seed_everything(0)
    net = build_model(MLPSpec(hidden=[4]), n_inputs=5, n_classes=3)
    spec = TrainingSpec(epochs=2, device="cpu", schedule={"type": "cosine"})
    train_classifier(net, x[:80], y[:80], x[80:], y[80:], spec, seed=0, checkpoint=tmp_path / "c.pt")
    longer = spec.model_copy(update={"epochs": 4})
    with pytest.raises(ModelError, match=r"training.epochs 2 \(now 4\)"):
        train_classifier(net, x[:80], y[:80], x[80:], y[80:], longer, seed=0, resume_from=tmp_path / "c.pt")


def test_checkpoints_load_weights_only(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"format": 1, "payload": Payload()}, protocol=2))
    with pytest.raises(ModelError, match=r"cannot read the checkpoint .*evil\.pt"):
        load_checkpoint(path)
    with pytest.raises(ModelError, match=r"no checkpoint at .*missing\.pt"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"epoch": 1}, tmp_path / "plain.pt")
    with pytest.raises(ModelError, match=r"is not a neurotrade training checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")
