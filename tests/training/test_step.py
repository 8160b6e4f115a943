"""Issue 15, item 2: the CPU training step without torch.optim's per-step Python, on a thread count that fits the
step. The shortcuts must give exactly what the plain calls give."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from neurotrade.config import LSTMSpec, TrainingSpec, TransformerSpec
from neurotrade.models import build_model
from neurotrade.training import seed_everything, train_classifier
from neurotrade.training._step import ONE_THREAD_WORK, FusedAdamStep, clip_grad_norm, step_threads, torch_threads


def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))


def batches(n: int = 12) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 5, generator=g), torch.randint(0, 3, (8,), generator=g)) for _ in range(n)]


@pytest.mark.parametrize(
    ("kind", "weight_decay"), [(torch.optim.Adam, 0.0), (torch.optim.Adam, 0.01), (torch.optim.AdamW, 0.01)]
)
def test_the_fused_step_gives_the_optimizers_weights_bit_for_bit(kind: type, weight_decay: float) -> None:
    plain, fast = net(), net()
    opt_plain = kind(plain.parameters(), lr=0.01, weight_decay=weight_decay, fused=True)
    opt_fast = kind(fast.parameters(), lr=0.01, weight_decay=weight_decay, fused=True)
    stepper = FusedAdamStep(opt_fast)
    assert stepper.eligible
    for i, (x, y) in enumerate(batches()):
        for model, step in ((plain, opt_plain.step), (fast, stepper.step)):
            for p in model.parameters():
                p.grad = None
            nn.functional.cross_entropy(model(x), y).backward()
            if i == 5:  # a parameter without a gradient this step: torch skips it, and so must the shortcut
                model[2].bias.grad = None
            step()
        for group in opt_fast.param_groups:
            group["lr"] *= 0.9  # a schedule changes the rate between steps
        for group in opt_plain.param_groups:
            group["lr"] *= 0.9
    for a, b in zip(plain.parameters(), fast.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(opt_plain.state.values(), opt_fast.state.values(), strict=True):
        assert all(torch.equal(a[key], b[key]) for key in ("step", "exp_avg", "exp_avg_sq"))
    # The optimizer's own state is what moved, so a checkpoint of it continues the same run.
    assert int(opt_fast.state_dict()["state"][0]["step"]) == len(batches())


def test_an_optimizer_the_shortcut_does_not_cover_steps_as_itself() -> None:
    model = net()
    for optimizer in (
        torch.optim.SGD(model.parameters(), lr=0.1),
        torch.optim.Adam(model.parameters(), lr=0.1),  # not fused
        torch.optim.Adam(model.parameters(), lr=0.1, amsgrad=True, fused=True),
    ):
        stepper = FusedAdamStep(optimizer)
        assert not stepper.eligible
        before = [p.detach().clone() for p in model.parameters()]
        nn.functional.cross_entropy(model(batches()[0][0]), batches()[0][1]).backward()
        stepper.step()
        assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
        model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("max_norm", [1e-3, 1.0, 1e6])
def test_clipping_gives_torchs_gradients_bit_for_bit(max_norm: float) -> None:
    a, b = net(), net()
    x, y = batches()[0]
    for model in (a, b):
        nn.functional.cross_entropy(model(x * 100), y).backward()
    nn.utils.clip_grad_norm_(a.parameters(), max_norm)
    clip_grad_norm(list(b.parameters()), max_norm)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p.grad, q.grad)


def test_small_steps_run_on_one_thread_and_large_ones_keep_the_count() -> None:
    cpu = torch.device("cpu")
    small = build_model(LSTMSpec(lookback=30, hidden=32, layers=1), n_inputs=36, n_classes=3)
    assert step_threads(small, 64, 30, cpu) == 1
    large = nn.Linear(1024, 1024)  # ~1 M weights: a batch of 128 is above the limit
    assert ONE_THREAD_WORK <= 1024 * 1024 * 128
    assert step_threads(large, 128, 1, cpu) == torch.get_num_threads()
    assert step_threads(small, 64, 30, torch.device("cuda")) == torch.get_num_threads()


def test_the_thread_count_comes_back_after_the_block_even_on_an_error() -> None:
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def fit_on(threads: int) -> nn.Module:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    seed_everything(3)
    # A transformer: on the process's own count its weights came out different on 1 and 4 threads (LayerNorm,
    # MKL's products); a tiny MLP did not.
    model = build_model(
        TransformerSpec(lookback=16, d_model=16, heads=2, layers=1, feed_forward=32), n_inputs=6, n_classes=2
    )
    spec = TrainingSpec(epochs=2, batch_size=35, grad_clip=0.5, schedule="cosine", device="cpu")
    train, val = np.arange(15, 315), np.arange(315, 400)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        train_classifier(model, x, y[train], x, y[val], spec, seed=3, train_positions=train, val_positions=val)
        assert torch.get_num_threads() == threads  # the trainer's own count ends with the training
    finally:
        torch.set_num_threads(before)
    return model


def test_a_small_network_trains_to_the_same_weights_whatever_the_process_thread_count() -> None:
    """The step's thread count follows from the network and batch alone, so the floats do too."""
    one, four = fit_on(1), fit_on(4)
    for name, tensor in one.state_dict().items():
        assert torch.equal(tensor, four.state_dict()[name])
