"""Window models: batches gathered from one matrix by position, exactly the windows the features module builds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurotrade.config import MLPSpec, TrainingSpec
from neurotrade.errors import ModelError
from neurotrade.features import windows
from neurotrade.models import build_model
from neurotrade.training import predict_proba, seed_everything, train_classifier
from neurotrade.training._batches import make_inputs

CPU = torch.device("cpu")


def test_gathered_windows_equal_the_strided_windows() -> None:
    matrix = np.random.default_rng(0).normal(size=(40, 3))
    positions = np.array([4, 39, 17, 4, 9])
    inputs = make_inputs(matrix, positions, kind="windows", lookback=5, device=CPU, name="x")
    batch = inputs.batch(torch.tensor([0, 1, 2, 3, 4]))  # (B, L, F)
    strided = windows(matrix, 5)  # window i ends at row i + 4
    np.testing.assert_array_equal(batch.numpy(), strided[positions - 4].astype(np.float32))


def test_rows_by_position_are_the_rows() -> None:
    matrix = np.arange(20.0).reshape(10, 2)
    inputs = make_inputs(matrix, np.array([3, 0, 9]), kind="rows", lookback=1, device=CPU, name="x")
    assert inputs.batch(torch.tensor([2, 0])).tolist() == [[18.0, 19.0], [6.0, 7.0]]


def test_positions_without_a_full_window_are_refused() -> None:
    matrix = np.zeros((50, 2))
    with pytest.raises(
        ModelError,
        match=r"positions for x_train include row 3, but the model's windows need 10 rows ending at the sample's "
        r"own row: rows before 9 have no full window; leave those samples out \(keep positions >= 9\)",
    ):
        make_inputs(matrix, np.array([20, 3, 30]), kind="windows", lookback=10, device=CPU, name="x_train")
    with pytest.raises(ModelError, match=r"positions for x include row 50, but x has 50 rows"):
        make_inputs(matrix, np.array([50]), kind="rows", lookback=1, device=CPU, name="x")
    with pytest.raises(ModelError, match=r"x has shape \(50, 2\), but the model reads windows of 10 rows"):
        make_inputs(matrix, None, kind="windows", lookback=10, device=CPU, name="x")


def test_training_by_positions_equals_training_on_built_windows(make_data, window_net) -> None:
    matrix, labels = make_data(n=300, features=3)
    lookback = 6
    train_pos, val_pos = np.arange(lookback - 1, 220), np.arange(225, 300)
    spec = TrainingSpec(epochs=3, batch_size=16, device="cpu")

    seed_everything(4)
    by_position = window_net(3, lookback)
    a = train_classifier(
        by_position,
        matrix,
        labels[train_pos],
        matrix,
        labels[val_pos],
        spec,
        seed=4,
        train_positions=train_pos,
        val_positions=val_pos,
    )
    built = windows(matrix, lookback)  # window i ends at row i + lookback - 1
    seed_everything(4)
    by_window = window_net(3, lookback)
    b = train_classifier(
        by_window,
        built[train_pos - lookback + 1],
        labels[train_pos],
        built[val_pos - lookback + 1],
        labels[val_pos],
        spec,
        seed=4,
    )
    assert a.history == b.history
    for name, tensor in by_position.state_dict().items():
        assert torch.equal(tensor, by_window.state_dict()[name])


def test_training_refuses_positions_before_the_first_window(make_data, window_net) -> None:
    matrix, labels = make_data(n=100, features=3)
    spec = TrainingSpec(epochs=1, device="cpu")
    positions = np.arange(0, 80)
    with pytest.raises(ModelError, match=r"positions for x_train include row 0, .* \(keep positions >= 7\)"):
        train_classifier(
            window_net(3, 8),
            matrix,
            labels[positions],
            matrix,
            labels[90:],
            spec,
            seed=0,
            train_positions=positions,
            val_positions=np.arange(90, 100),
        )


def test_rows_models_train_by_position_as_on_sliced_rows(make_data) -> None:
    x, y = make_data(n=200)
    train_pos, val_pos = np.arange(0, 150), np.arange(160, 200)
    spec = TrainingSpec(epochs=2, batch_size=16, device="cpu")
    nets = []
    for by_position in (True, False):
        seed_everything(2)
        net = build_model(MLPSpec(hidden=[8]), n_inputs=5, n_classes=3)
        if by_position:
            args = (x, y[train_pos], x, y[val_pos])
            kwargs = {"train_positions": train_pos, "val_positions": val_pos}
        else:
            args, kwargs = (x[train_pos], y[train_pos], x[val_pos], y[val_pos]), {}
        train_classifier(net, *args, spec, seed=2, **kwargs)
        nets.append(net)
    for name, tensor in nets[0].state_dict().items():
        assert torch.equal(tensor, nets[1].state_dict()[name])


def test_predict_proba_reads_windows_by_position(window_net) -> None:
    matrix = np.random.default_rng(0).normal(size=(30, 2))
    net = window_net(2, 4).eval()
    positions = np.array([3, 10, 29])
    proba = predict_proba(net, matrix, positions)
    expected = torch.softmax(net(torch.as_tensor(windows(matrix, 4)[positions - 3], dtype=torch.float32)), -1)
    np.testing.assert_allclose(proba, expected.detach().double().numpy(), rtol=1e-6)
    assert proba.dtype == np.float64 and net.training is False
