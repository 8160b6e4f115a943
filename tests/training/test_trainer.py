"""The trainer: determinism from one seed, early stopping that restores the best state, optimizers, schedules,
clipping, losses, models with their own loss, clear failures."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from neurotrade.config import EarlyStoppingSpec, MLPSpec, TrainingSpec
from neurotrade.errors import ModelError
from neurotrade.models import build_model
from neurotrade.training import cosine_lr, make_optimizer, seed_everything, select_device, train_classifier


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


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_each_optimizer_learns_the_planted_signal(optimizer: str) -> None:
    spec = TrainingSpec(optimizer=optimizer, learning_rate=0.05, epochs=15, early_stopping=None, device="cpu")
    _net, result = fit(0, spec, hidden=[16], dropout=0.0)
    assert result.history[-1]["train_loss"] < 0.8 * result.history[0]["train_loss"]
    assert not result.amp  # mixed precision is for CUDA only


def test_history_records_losses_and_learning_rate_and_times_apart() -> None:
    _, result = fit(0, TrainingSpec(epochs=3, device="cpu"))
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert all(set(h) == {"epoch", "train_loss", "val_loss", "lr"} for h in result.history)
    assert len(result.seconds) == 3 and all(s > 0 for s in result.seconds)


def test_progress_hears_every_epoch_with_its_rate() -> None:
    heard = []
    x, y = data()
    seed_everything(0)
    net = build_model(MLPSpec(hidden=[4]), n_inputs=5, n_classes=3)
    spec = TrainingSpec(epochs=4, schedule="cosine", device="cpu", early_stopping=None)
    train_classifier(net, x[:300], y[:300], x[300:], y[300:], spec, seed=0, progress=heard.append)
    assert [r.epoch for r in heard] == [1, 2, 3, 4]
    assert heard[0].lr > heard[-1].lr and all(r.seconds > 0 for r in heard)


def test_gradients_are_clipped_to_the_max_norm() -> None:
    x, y = data(n=64)
    x = x * 1e3  # enormous gradients
    spec = TrainingSpec(optimizer="sgd", learning_rate=0.1, batch_size=64, epochs=1, grad_clip=0.01, device="cpu")
    seed_everything(0)
    net = build_model(MLPSpec(hidden=[8], dropout=0.0), n_inputs=5, n_classes=3)
    before = torch.cat([p.detach().flatten().clone() for p in net.parameters()])
    train_classifier(net, x, y, x, y, spec, seed=0)
    after = torch.cat([p.detach().flatten() for p in net.parameters()])
    # One SGD step (the momentum buffer starts as the gradient): the move is lr times the clipped gradient.
    assert torch.linalg.vector_norm(after - before).item() == pytest.approx(0.1 * 0.01, rel=1e-4)


def test_focal_loss_trains_and_validation_stays_cross_entropy() -> None:
    x, y = data()
    seed_everything(0)
    net = build_model(MLPSpec(hidden=[8], dropout=0.0), n_inputs=5, n_classes=3)
    spec = TrainingSpec(loss="focal", focal_gamma=2.0, epochs=3, early_stopping=None, device="cpu")
    result = train_classifier(net, x[:300], y[:300], x[300:], y[300:], spec, seed=0)
    # The model ends on its best epoch; its validation loss is the plain cross-entropy, whatever it trained on.
    ce = torch.nn.functional.cross_entropy(net(torch.as_tensor(x[300:], dtype=torch.float32)), torch.as_tensor(y[300:]))
    assert ce.item() == pytest.approx(result.best_val_loss, rel=1e-6)
    assert result.history[0]["train_loss"] < result.history[0]["val_loss"]  # focal is below cross-entropy


def test_class_weights_change_the_training() -> None:
    x, y = data()
    spec = TrainingSpec(epochs=2, early_stopping=None, device="cpu")
    seed_everything(0)
    a = build_model(MLPSpec(hidden=[8]), n_inputs=5, n_classes=3)
    train_classifier(a, x, y, x, y, spec, seed=0)
    seed_everything(0)
    b = build_model(MLPSpec(hidden=[8]), n_inputs=5, n_classes=3)
    train_classifier(b, x, y, x, y, spec, seed=0, class_weights=np.array([1.0, 1.0, 5.0]))
    assert not torch.equal(a.net[0].weight, b.net[0].weight)


def test_plateau_schedule_cuts_the_rate_when_validation_stalls() -> None:
    x, y = data()
    rng = np.random.default_rng(1)
    y_noise = rng.integers(0, 3, size=len(y))  # validation labels the features cannot predict
    spec = TrainingSpec(
        learning_rate=0.05,
        epochs=12,
        early_stopping=None,
        schedule={"type": "plateau", "patience": 1, "factor": 0.5},
        device="cpu",
    )
    seed_everything(0)
    net = build_model(MLPSpec(hidden=[16], dropout=0.0), n_inputs=5, n_classes=3)
    result = train_classifier(net, x[:300], y[:300], x[300:], y_noise[300:], spec, seed=0)
    rates = [h["lr"] for h in result.history]
    assert rates[0] == 0.05 and rates[-1] < 0.05
    assert all(later in (earlier, earlier * 0.5) for earlier, later in itertools.pairwise(rates))


def test_cosine_schedule_follows_the_pure_function() -> None:
    spec = TrainingSpec(epochs=4, batch_size=100, early_stopping=None, device="cpu", schedule="cosine")
    _, result = fit(0, spec)  # 300 rows: 3 steps per epoch, the epoch's last step is 3k + 2
    expected = [cosine_lr(3 * k + 2, base_lr=1e-3, total_steps=12, min_lr=1e-4) for k in range(4)]
    assert [h["lr"] for h in result.history] == pytest.approx(expected)


def test_bad_targets_are_refused_with_the_sample() -> None:
    x, y = data(n=50)
    net = build_model(MLPSpec(hidden=[4]), n_inputs=5, n_classes=3)
    y_nan = y.astype(float)
    y_nan[7] = np.nan
    spec = TrainingSpec(epochs=1, device="cpu")
    with pytest.raises(ModelError, match=r"y_train holds nan at sample 7: class indices must be whole numbers"):
        train_classifier(net, x, y_nan, x, y, spec, seed=0)
    with pytest.raises(ModelError, match=r"y_val must hold one class index per sample \(50\), got shape \(49,\)"):
        train_classifier(net, x, y, x, y[1:], spec, seed=0)
    with pytest.raises(ModelError, match=r"training needs samples in both windows, got 50 train and 0 validation"):
        train_classifier(net, x, y, x[:0], y[:0], spec, seed=0)


def test_a_model_with_its_own_loss_gets_aligned_extras(multitask_net) -> None:
    x, y = data()
    seed_everything(0)
    net = multitask_net(5)
    spec = TrainingSpec(epochs=3, batch_size=32, early_stopping=None, device="cpu")
    result = train_classifier(
        net,
        x[:300],
        y[:300],
        x[300:],
        y[300:],
        spec,
        seed=0,
        extras_train={"ret": x[:300, 0]},
        extras_val={"ret": x[300:, 0]},
    )
    assert net.calls >= 3 * 10  # the training went through its loss (and validated with it)
    last = result.history[-1]
    assert {"train_ce", "train_mse", "val_ce", "val_mse"} <= set(last)
    assert last["val_loss"] == pytest.approx(last["val_ce"] + last["val_mse"], rel=1e-5)


def test_extras_are_checked() -> None:
    x, y = data(n=50)
    net = build_model(MLPSpec(hidden=[4]), n_inputs=5, n_classes=3)
    bad = np.ones(50)
    bad[3] = np.inf
    spec = TrainingSpec(epochs=1, device="cpu")
    with pytest.raises(ModelError, match=r"extras_train\['vol'\] is not finite at sample 3"):
        train_classifier(net, x, y, x, y, spec, seed=0, extras_train={"vol": bad})
    with pytest.raises(ModelError, match=r"extras_val\['vol'\] has 10 rows, but there are 50 samples"):
        train_classifier(net, x, y, x, y, spec, seed=0, extras_val={"vol": np.ones(10)})


def test_frozen_parameters_stay_out_of_the_optimizer() -> None:
    net = build_model(MLPSpec(hidden=[4]), n_inputs=5, n_classes=3)
    net.net[0].requires_grad_(False)
    optimizer = make_optimizer(net, TrainingSpec())
    assert sum(len(g["params"]) for g in optimizer.param_groups) == 2
    net.requires_grad_(False)
    with pytest.raises(ModelError, match="has no trainable parameters"):
        make_optimizer(net, TrainingSpec())
