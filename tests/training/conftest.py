"""Small models and data shared by the trainer's tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn


def planted(n: int = 400, features: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose class is decided by the first two features, plus noise features."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    return x, y


class WindowNet(nn.Module):
    """A tiny window model: a linear map of the flattened window, with dropout so RNG state matters."""

    input_kind = "windows"

    def __init__(self, features: int, lookback: int, classes: int = 3) -> None:
        super().__init__()
        self.lookback = lookback
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(features * lookback, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(x.flatten(1)))  # (B, L, F) -> (B, C)


class MultiTaskNet(nn.Module):
    """A rows model with its own loss: cross-entropy plus an MSE on the extra target ``ret``.

    It checks that every batch's ``ret`` belongs to the batch's samples (``ret`` is planted as feature 0).
    """

    def __init__(self, features: int, classes: int = 3) -> None:
        super().__init__()
        self.body = nn.Linear(features, classes + 1)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)[:, :-1]  # (B, C)

    def loss(self, x: torch.Tensor, y: torch.Tensor, extras: dict[str, torch.Tensor]):
        assert torch.equal(extras["ret"], x[:, 0]), "extras misaligned with the batch"
        self.calls += 1
        out = self.body(x)  # (B, C + 1)
        ce = nn.functional.cross_entropy(out[:, :-1], y)
        mse = nn.functional.mse_loss(out[:, -1], extras["ret"])
        return ce + mse, {"ce": ce, "mse": mse}


@pytest.fixture
def make_data():
    """``make_data(n, features, seed) -> (x, y)``: rows with a planted signal."""
    return planted


@pytest.fixture
def window_net() -> type[WindowNet]:
    return WindowNet


@pytest.fixture
def multitask_net() -> type[MultiTaskNet]:
    return MultiTaskNet


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run fastest on one thread; on a busy machine, more threads spin and wait on each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
