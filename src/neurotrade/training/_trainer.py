"""The training loop: minibatches sliced from contiguous tensors, validation each epoch, early stopping.

Batches are gathered with one indexing operation per batch from tensors that already sit on the device, rather
than sample by sample through a Dataset/DataLoader: for the small tabular models here that is most of the time.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from neurotrade.config import TrainingSpec
from neurotrade.errors import ModelError
from neurotrade.training._device import select_device


@dataclass(frozen=True)
class EpochReport:
    """What the progress callback hears after each epoch."""

    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    best_val_loss: float
    improved: bool


@dataclass
class TrainResult:
    """The outcome of :func:`train_classifier`; the model itself holds the restored best weights."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.inf
    stopped_early: bool = False
    device: str = "cpu"


def make_optimizer(model: nn.Module, spec: TrainingSpec) -> torch.optim.Optimizer:
    """Adam, or SGD with momentum 0.9, as the spec says.

    Examples
    --------
    >>> type(make_optimizer(nn.Linear(2, 2), TrainingSpec(optimizer="sgd"))).__name__
    'SGD'
    """
    params = model.parameters()
    if spec.optimizer == "adam":
        return torch.optim.Adam(params, lr=spec.learning_rate, weight_decay=spec.weight_decay)
    return torch.optim.SGD(params, lr=spec.learning_rate, momentum=0.9, weight_decay=spec.weight_decay)


def train_classifier(
    model: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    spec: TrainingSpec,
    *,
    seed: int,
    class_weights: np.ndarray | None = None,
    progress: Callable[[EpochReport], None] | None = None,
) -> TrainResult:
    """Fit ``model`` (logits out) with cross-entropy; stop early on the validation loss and restore the best.

    Parameters
    ----------
    model
        A network mapping ``(B, F)`` features to ``(B, C)`` logits.
    x_train, y_train, x_val, y_val
        Scaled features (float) and class indices (int).
    spec
        The ``training`` section.
    seed
        Seeds the minibatch order (the caller seeds the weights' initialisation and dropout).
    class_weights
        Per-class loss weights (e.g. from :func:`neurotrade.labels.class_weights`), applied to the training loss;
        the validation loss that drives early stopping stays unweighted, so it measures the same thing every fold.
    progress
        Called after every epoch with an :class:`EpochReport`.

    Examples
    --------
    >>> from neurotrade.models import MLP
    >>> _ = torch.manual_seed(0)
    >>> x = np.random.default_rng(0).normal(size=(64, 3)); y = (x[:, 0] > 0).astype(int)
    >>> result = train_classifier(MLP(3, 2, [8]), x, y, x, y, TrainingSpec(epochs=3), seed=0)
    >>> len(result.history)
    3
    """
    device = select_device(spec.device)
    model.to(device)
    xt = torch.as_tensor(np.ascontiguousarray(x_train), dtype=torch.float32, device=device)  # (N, F)
    yt = torch.as_tensor(np.ascontiguousarray(y_train), dtype=torch.long, device=device)  # (N,)
    xv = torch.as_tensor(np.ascontiguousarray(x_val), dtype=torch.float32, device=device)  # (M, F)
    yv = torch.as_tensor(np.ascontiguousarray(y_val), dtype=torch.long, device=device)  # (M,)
    if len(xt) == 0 or len(xv) == 0:
        raise ModelError(f"training needs samples in both windows, got {len(xt)} train and {len(xv)} validation")
    weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32, device=device)
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    val_loss_fn = nn.CrossEntropyLoss()
    optimizer = make_optimizer(model, spec)
    order = torch.Generator().manual_seed(seed)  # CPU generator: the same order on every device
    stopping = spec.early_stopping
    result = TrainResult(device=str(device))
    best_state = copy.deepcopy(model.state_dict())
    waited = 0
    for epoch in range(1, spec.epochs + 1):
        model.train()
        permutation = torch.randperm(len(xt), generator=order).to(device)
        total = 0.0
        for start in range(0, len(xt), spec.batch_size):
            batch = permutation[start : start + spec.batch_size]
            logits = model(xt[batch])  # (B, C)
            loss = loss_fn(logits, yt[batch])
            if not torch.isfinite(loss):
                raise ModelError(
                    f"the training loss became {loss.item()} at epoch {epoch}; lower training.learning_rate "
                    "or check the features for extreme values"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        train_loss = total / len(xt)
        val_loss = evaluate_loss(model, xv, yv, val_loss_fn)
        min_delta = stopping.min_delta if stopping else 0.0
        improved = val_loss < result.best_val_loss - min_delta
        if improved:
            result.best_val_loss, result.best_epoch, waited = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
        result.history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
        if progress is not None:
            progress(EpochReport(epoch, spec.epochs, train_loss, val_loss, result.best_val_loss, improved))
        if stopping is not None and waited >= stopping.patience:
            result.stopped_early = True
            break
    model.load_state_dict(best_state)
    model.eval()
    return result


@torch.no_grad()
def evaluate_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module) -> float:
    """Mean loss over a whole window, in eval mode (dropout off)."""
    model.eval()
    return float(loss_fn(model(x), y).item())
