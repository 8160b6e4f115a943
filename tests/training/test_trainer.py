"""The trainer: determinism from one seed, early stopping that restores the best state, clear failures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurotrade.config import EarlyStoppingSpec, MLPSpec, TrainingSpec
from neurotrade.errors import ModelError
from neurotrade.models import build_model
from neurotrade.training import seed_everything, select_device, train_classifier


def data(seed: int = 0, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    return x, y


def fit(seed: int, spec: TrainingSpec, **model) -> tuple[torch.nn.Module, object]:
    x, y = data()
    seed_everything(seed)
    net = build_model(MLPSpec(**model), n_inputs=5, n_classes=3)
    result = train_classifier(net, x[:300], y[:300], x[300:], y[300:], spec, seed=seed)
    return net, result


def test_one_seed_gives_identical_weights() -> None:
    spec = TrainingSpec(epochs=8, batch_size=16, device="cpu")
    a, _ = fit(5, spec, dropout=0.3)
    b, _ = fit(5, spec, dropout=0.3)
    c, _ = fit(6, spec, dropout=0.3)
    for name, tensor in a.state_dict().items():
        assert torch.equal(tensor, b.state_dict()[name])
    assert any(not torch.equal(t, c.state_dict()[k]) for k, t in a.state_dict().items())


def test_early_stopping_restores_the_best_epoch() -> None:
    spec = TrainingSpec(epochs=300, learning_rate=0.05, early_stopping=EarlyStoppingSpec(patience=5), device="cpu")
    net, result = fit(1, spec, hidden=[64, 64], dropout=0.0)
    assert result.stopped_early and len(result.history) == result.best_epoch + 5
    x, y = data()
    loss = torch.nn.functional.cross_entropy(
        net(torch.as_tensor(x[300:], dtype=torch.float32)), torch.as_tensor(y[300:])
    )
    assert loss.item() == pytest.approx(result.best_val_loss, rel=1e-6)
    assert result.best_val_loss == min(h["val_loss"] for h in result.history)


def test_sgd_and_activations_train() -> None:
    for activation in ("relu", "tanh", "sigmoid", "leaky_relu"):
        _, result = fit(0, TrainingSpec(optimizer="sgd", epochs=3, device="cpu"), activation=activation)
        assert len(result.history) == 3


def test_a_diverging_loss_stops_with_a_clear_error() -> None:
    x, y = data()
    x[5, 0] = np.inf
    net = build_model(MLPSpec(), n_inputs=5, n_classes=3)
    with pytest.raises(
        ModelError, match=r"the training loss became (nan|inf) at epoch 1; lower training.learning_rate"
    ):
        train_classifier(net, x, y, x, y, TrainingSpec(epochs=2, device="cpu"), seed=0)


def test_device_choice() -> None:
    assert select_device("auto").type in ("cuda", "mps", "cpu")
    assert select_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match=r"training\.device is 'cuda' but this machine has no CUDA device"):
            select_device("cuda")


def test_outputs_are_logits_and_probabilities_sum_to_one() -> None:
    net = build_model(MLPSpec(hidden=[4]), n_inputs=5, n_classes=3)
    x = torch.randn(7, 5)
    proba = net.predict_proba(x)
    assert proba.dtype == torch.float64
    torch.testing.assert_close(proba.sum(dim=1), torch.ones(7, dtype=torch.float64))
    assert net.training  # predict_proba switched dropout off only for itself
    torch.testing.assert_close(torch.softmax(net.eval()(x).double(), dim=1), proba)
