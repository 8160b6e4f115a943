"""The training loop: minibatches gathered from contiguous tensors, validation each epoch, early stopping.

Batches are gathered with one indexing operation per batch from tensors that already sit on the device, rather
than sample by sample through a Dataset/DataLoader: for the small models here that is most of the time. Window
models read their windows out of the same ``(rows, features)`` matrix by index arithmetic (``_batches.py``).

One epoch, in order: shuffle with the run's own generator, then per minibatch set the learning rate (cosine),
forward under autocast (CUDA with AMP only), backward through the gradient scaler, clip, step; then the
validation loss, the plateau schedule, early-stopping bookkeeping, the checkpoint, the progress callback. On the
CPU a step is forward, backward, clip and Adam's fused kernel with nothing else around them, on one thread for
the small networks (``_step.py``); the losses stay on the device until the epoch ends.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neurotrade.config import TrainingSpec
from neurotrade.errors import ModelError
from neurotrade.training._batches import Inputs, input_shape, make_inputs
from neurotrade.training._checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from neurotrade.training._device import select_device
from neurotrade.training._losses import make_loss
from neurotrade.training._schedule import PlateauScheduler, cosine_lr
from neurotrade.training._step import FusedAdamStep, clip_grad_norm, step_threads, torch_threads

logger = logging.getLogger(__name__)

# What a checkpoint may differ in from the run resuming it: a longer run, or another machine.
_RESUMABLE_CHANGES = {"epochs", "device"}


@dataclass(frozen=True)
class EpochReport:
    """What the progress callback hears after each epoch."""

    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    best_val_loss: float
    improved: bool
    lr: float = math.nan
    seconds: float = 0.0


@dataclass
class TrainResult:
    """The outcome of :func:`train_classifier`; the model itself holds the restored best weights.

    ``history`` has one entry per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``lr`` (the rate of the epoch's
    last step) and, for a model with its own ``loss``, ``train_<part>`` / ``val_<part>`` for each part it
    reports. Wall-clock times are in ``seconds`` (one per epoch), kept out of ``history`` so that the history of
    two runs with one seed is identical.
    """

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.inf
    stopped_early: bool = False
    device: str = "cpu"
    amp: bool = False
    resumed_from: int = 0
    seconds: list[float] = field(default_factory=list)


def make_optimizer(model: nn.Module, spec: TrainingSpec) -> torch.optim.Optimizer:
    """Adam, AdamW, or SGD with momentum 0.9, over the parameters that require gradients.

    Frozen parameters (an ensemble's trained members) are left out. Adam and AdamW use the fused kernel where
    torch has one (float32 parameters on the CPU or CUDA): one kernel per step instead of several per tensor.

    Examples
    --------
    >>> type(make_optimizer(nn.Linear(2, 2), TrainingSpec(optimizer="sgd"))).__name__
    'SGD'
    >>> type(make_optimizer(nn.Linear(2, 2), TrainingSpec(optimizer="adamw"))).__name__
    'AdamW'
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ModelError(f"{type(model).__name__} has no trainable parameters (all are frozen or there are none)")
    if spec.optimizer == "sgd":
        return torch.optim.SGD(params, lr=spec.learning_rate, momentum=0.9, weight_decay=spec.weight_decay)
    fused = all(p.dtype == torch.float32 and p.device.type in ("cpu", "cuda") for p in params) or None
    kind = torch.optim.AdamW if spec.optimizer == "adamw" else torch.optim.Adam
    return kind(params, lr=spec.learning_rate, weight_decay=spec.weight_decay, fused=fused)


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
    train_positions: np.ndarray | None = None,
    val_positions: np.ndarray | None = None,
    extras_train: Mapping[str, np.ndarray] | None = None,
    extras_val: Mapping[str, np.ndarray] | None = None,
    checkpoint: str | Path | None = None,
    resume_from: str | Path | None = None,
    identity: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Fit ``model`` (logits out); stop early on the validation loss and restore the best weights.

    Parameters
    ----------
    model
        A network mapping its inputs to ``(B, C)`` logits: ``(B, F)`` rows, or ``(B, L, F)`` windows when its
        ``input_kind`` is ``"windows"`` (``L`` = its ``lookback``). A model with a ``loss(x, y, extras)`` method
        returning ``(total, parts)`` is trained on that loss instead (the regime model's multi-task loss).
    x_train, y_train, x_val, y_val
        Scaled features (float) and class indices (int, one per sample). Without positions, ``x_*`` are the
        samples' inputs (rows, or windows for a window model). With positions, ``x_*`` is the whole
        ``(rows, features)`` matrix (pass the same array for both to keep one copy on the device).
    spec
        The ``training`` section: optimizer, loss, schedule, clipping, AMP, early stopping, device.
    seed
        Seeds the minibatch order (the caller seeds the weights' initialisation and dropout).
    class_weights
        Per-class loss weights (e.g. from :func:`neurotrade.labels.class_weights`), applied to the training loss.
        The validation loss that drives early stopping is the unweighted cross-entropy whatever the training loss
        (focal, weighted), so it measures the same thing in every fold; a model with its own ``loss`` is
        validated on that loss.
    progress
        Called after every epoch (and after its checkpoint is written) with an :class:`EpochReport`.
    train_positions, val_positions
        The row of each sample in ``x_train`` / ``x_val``; a window model reads the ``lookback`` rows ending there,
        so no position may be below ``lookback - 1``.
    extras_train, extras_val
        Extra per-sample targets (aligned with ``y_*``) handed to the model's ``loss`` method by name.
    checkpoint
        A file to rewrite after every epoch with everything needed to continue (weights, optimizer, schedule,
        random generators, history, best weights); written with ``torch.save`` of tensors and plain values.
    resume_from
        A checkpoint to continue from: the run goes on after its epoch and ends exactly as the uninterrupted run
        would have (on the CPU). The training spec may differ only in ``epochs`` and ``device``.
    identity
        What else the weights depend on (the data's fingerprint, the features, the fold's sample positions):
        saved in the checkpoint, and a checkpoint whose identity differs is refused on resume.

    Examples
    --------
    >>> from neurotrade.models import MLP
    >>> _ = torch.manual_seed(0)
    >>> x = np.random.default_rng(0).normal(size=(64, 3)); y = (x[:, 0] > 0).astype(int)
    >>> result = train_classifier(MLP(3, 2, [8]), x, y, x, y, TrainingSpec(epochs=3), seed=0)
    >>> len(result.history), sorted(result.history[0])
    (3, ['epoch', 'lr', 'train_loss', 'val_loss'])
    """
    device = select_device(spec.device)
    model.to(device)
    kind, lookback = input_shape(model)
    train = make_inputs(x_train, train_positions, kind=kind, lookback=lookback, device=device, name="x_train")
    shared = train.features if x_val is x_train and train_positions is not None and val_positions is not None else None
    val = make_inputs(x_val, val_positions, kind=kind, lookback=lookback, device=device, name="x_val", matrix=shared)
    if len(train) == 0 or len(val) == 0:
        raise ModelError(f"training needs samples in both windows, got {len(train)} train and {len(val)} validation")
    yt = _targets(y_train, len(train), "y_train", device)  # (S,)
    yv = _targets(y_val, len(val), "y_val", device)  # (M,)
    et = _extras(extras_train, len(train), "extras_train", device)
    ev = _extras(extras_val, len(val), "extras_val", device)

    weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32, device=device)
    loss_fn = make_loss(spec.loss, gamma=spec.focal_gamma, weight=weight)
    own_loss = callable(getattr(model, "loss", None))
    if own_loss:
        loss_fn = _own_loss(model, weight, spec)
    use_amp = device.type == "cuda" and spec.amp in (True, "auto")
    if spec.amp is True and not use_amp:
        logger.info("training.amp is true but the device is %s: mixed precision runs on CUDA only", device.type)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    optimizer = make_optimizer(model, spec)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    steps_per_epoch = math.ceil(len(train) / spec.batch_size)
    schedule = spec.schedule
    plateau = None
    if schedule.type == "plateau":
        plateau = PlateauScheduler(
            lr=spec.learning_rate,
            factor=schedule.factor,
            patience=schedule.patience,
            threshold=schedule.threshold,
            min_lr=schedule.min_lr,
        )
    order = torch.Generator().manual_seed(seed)  # CPU generator: the same order on every device
    stopping = spec.early_stopping
    meta = _meta(spec, seed, kind, lookback, len(train), len(val)) | {"identity": dict(identity or {})}

    result = TrainResult(device=str(device), amp=use_amp)
    best_weights = _clone(model.state_dict())
    waited = step = start = 0
    if resume_from is not None:
        start, step, waited, best_weights = _resume(resume_from, meta, model, optimizer, plateau, scaler, order, result)

    # The CPU path leaves out the gradient scaler (mixed precision is for CUDA only) and torch.optim's per-step
    # Python (_step.py); CUDA steps as before.
    fast = device.type == "cpu"
    stepper = FusedAdamStep(optimizer)
    threads = step_threads(model, spec.batch_size, lookback, device)
    logger.debug("training on %d intra-op thread(s)", threads)
    for epoch in range(start + 1, spec.epochs + 1):
        if result.stopped_early:
            break
        started = time.perf_counter()
        model.train()
        permutation = torch.randperm(len(train), generator=order).to(device)
        losses: list[torch.Tensor] = []  # one per batch, summed after the epoch: no host sync per step
        parts: dict[str, list[torch.Tensor]] = {}
        with torch_threads(threads):
            for idx in permutation.split(spec.batch_size):  # (B,) each
                if schedule.type == "cosine":
                    _set_lr(optimizer, _cosine(step, spec, steps_per_epoch))
                if fast:
                    loss, batch_parts = _batch_loss(model, train, idx, yt, et, loss_fn, own_loss)
                    for p in params:
                        p.grad = None
                    loss.backward()
                    if spec.grad_clip is not None:
                        clip_grad_norm(params, spec.grad_clip)
                    stepper.step()
                else:
                    with torch.autocast("cuda", dtype=torch.float16) if use_amp else contextlib.nullcontext():
                        loss, batch_parts = _batch_loss(model, train, idx, yt, et, loss_fn, own_loss)
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    if spec.grad_clip is not None:
                        scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
                        nn.utils.clip_grad_norm_(params, spec.grad_clip)
                    scaler.step(optimizer)
                    scaler.update()
                losses.append(loss.detach())
                for name, value in batch_parts.items():
                    parts.setdefault(name, []).append(value.detach())
                step += 1
            sizes = _batch_sizes(len(train), spec.batch_size, device)  # (batches,)
            train_loss = _weighted_sum(losses, sizes).item() / len(train)
            if not math.isfinite(train_loss):
                raise ModelError(
                    f"the training loss became {train_loss} at epoch {epoch}; lower training.learning_rate, set "
                    "training.grad_clip, or check the features for extreme values"
                )
            val_loss, val_parts = _evaluate(model, val, yv, ev, own_loss, use_amp)
        if not math.isfinite(val_loss):
            raise ModelError(
                f"the validation loss became {val_loss} at epoch {epoch}; check the validation features for NaN "
                "or extreme values"
            )
        lr = float(optimizer.param_groups[0]["lr"])
        if plateau is not None:
            _set_lr(optimizer, plateau.step(val_loss))

        min_delta = stopping.min_delta if stopping else 0.0
        improved = val_loss < result.best_val_loss - min_delta
        if improved:
            result.best_val_loss, result.best_epoch, waited = val_loss, epoch, 0
            best_weights = _clone(model.state_dict())
        else:
            waited += 1
        record: dict[str, float] = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "lr": lr}
        record |= {f"train_{name}": _weighted_sum(v, sizes).item() / len(train) for name, v in parts.items()}
        record |= {f"val_{name}": value for name, value in val_parts.items()}
        result.history.append(record)
        result.seconds.append(time.perf_counter() - started)
        result.stopped_early = stopping is not None and waited >= stopping.patience
        logger.debug("epoch %d: train %.5f, validation %.5f, lr %.3g", epoch, train_loss, val_loss, lr)

        if checkpoint is not None:
            save_checkpoint(
                checkpoint,
                {
                    "meta": meta,
                    "epoch": epoch,
                    "step": step,
                    "waited": waited,
                    "stopped_early": result.stopped_early,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": plateau.state_dict() if plateau is not None else {},
                    "scaler": scaler.state_dict() if use_amp else {},
                    "rng": rng_state(order),
                    "history": result.history,
                    "seconds": result.seconds,
                    "best_epoch": result.best_epoch,
                    "best_val_loss": result.best_val_loss,
                    "best_weights": best_weights,
                },
            )
        if progress is not None:
            report = EpochReport(
                epoch, spec.epochs, train_loss, val_loss, result.best_val_loss, improved, lr, result.seconds[-1]
            )
            progress(report)
    model.load_state_dict(best_weights)
    model.eval()
    return result


def _resume(
    path: str | Path,
    meta: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    plateau: PlateauScheduler | None,
    scaler: torch.amp.GradScaler,
    order: torch.Generator,
    result: TrainResult,
) -> tuple[int, int, int, dict[str, torch.Tensor]]:
    """Put a checkpoint's state back everywhere it came from; return ``(epoch, step, waited, best_weights)``."""
    state = load_checkpoint(path)
    _check_resumable(state["meta"], meta, path)
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as e:
        raise ModelError(f"the checkpoint {path} does not fit this model or optimizer: {e}") from e
    if plateau is not None:
        plateau.load_state_dict(state["schedule"])
    if scaler.is_enabled() and state["scaler"]:
        scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"], order)
    result.history, result.seconds = list(state["history"]), list(state["seconds"])
    result.best_epoch, result.best_val_loss = state["best_epoch"], state["best_val_loss"]
    result.stopped_early, result.resumed_from = state["stopped_early"], state["epoch"]
    device = next(model.parameters()).device
    best_weights = {name: tensor.to(device) for name, tensor in state["best_weights"].items()}
    logger.info("resuming training from %s after epoch %d", path, state["epoch"])
    return state["epoch"], state["step"], state["waited"], best_weights


def _batch_loss(
    model: nn.Module,
    inputs: Inputs,
    idx: torch.Tensor,
    y: torch.Tensor,
    extras: dict[str, torch.Tensor],
    loss_fn: Callable[..., Any],
    own_loss: bool,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The loss of samples ``idx`` and, for a model with its own loss, its named parts."""
    x = inputs.batch(idx)  # (B, F) or (B, L, F)
    if own_loss:
        total, parts = loss_fn(x, y[idx], {name: value[idx] for name, value in extras.items()})
        return total, dict(parts)
    return loss_fn(model(x), y[idx]), {}  # (B, C) logits -> scalar


def _own_loss(model: nn.Module, weight: torch.Tensor | None, spec: TrainingSpec) -> Callable[..., Any]:
    """The model's ``loss(x, y, extras)``, given the class weights when it takes ``class_weights``."""
    takes_weights = "class_weights" in inspect.signature(model.loss).parameters
    ignored = [f"training.loss: {spec.loss}"] if spec.loss != "cross_entropy" else []
    if weight is not None and not takes_weights:
        ignored.append("class_weights")
    if ignored:
        logger.warning("%s trains on its own loss(), so %s is ignored", type(model).__name__, " and ".join(ignored))
    if weight is not None and takes_weights:
        return lambda x, y, extras: model.loss(x, y, extras, class_weights=weight)
    return model.loss


@torch.inference_mode()
def _evaluate(
    model: nn.Module,
    inputs: Inputs,
    y: torch.Tensor,
    extras: dict[str, torch.Tensor],
    own_loss: bool,
    use_amp: bool,
) -> tuple[float, dict[str, float]]:
    """Mean validation loss over the whole window in eval mode (dropout off), chunk by chunk."""
    model.eval()
    total = 0.0
    parts: dict[str, float] = {}
    for idx, x in inputs.chunks():  # one host sync per chunk; chunks are few
        with torch.autocast("cuda", dtype=torch.float16) if use_amp else contextlib.nullcontext():
            if own_loss:
                loss, chunk_parts = model.loss(x, y[idx], {name: value[idx] for name, value in extras.items()})
                total += loss.item() * len(idx)
                for name, value in chunk_parts.items():
                    parts[name] = parts.get(name, 0.0) + value.item() * len(idx)
            else:
                total += F.cross_entropy(model(x).float(), y[idx], reduction="sum").item()
    n = len(inputs)
    return total / n, {name: value / n for name, value in parts.items()}


def _cosine(step: int, spec: TrainingSpec, steps_per_epoch: int) -> float:
    schedule = spec.schedule
    return cosine_lr(
        step,
        base_lr=spec.learning_rate,
        total_steps=spec.epochs * steps_per_epoch,
        warmup_steps=schedule.warmup_epochs * steps_per_epoch,
        min_lr=schedule.min_lr_ratio * spec.learning_rate,
    )


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def _batch_sizes(n: int, batch_size: int, device: torch.device) -> torch.Tensor:
    """The number of samples in each of an epoch's batches (the last one may be short), as floats."""
    sizes = torch.full((math.ceil(n / batch_size),), float(batch_size), device=device)  # (batches,)
    sizes[-1] = n - batch_size * (len(sizes) - 1)
    return sizes


def _weighted_sum(values: list[torch.Tensor], sizes: torch.Tensor) -> torch.Tensor:
    """Sum of per-batch means times batch sizes: the epoch's total, in one reduction on the device."""
    return (torch.stack(values).float() * sizes).sum()  # ()


def _clone(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in state.items()}


def _targets(y: np.ndarray, n: int, name: str, device: torch.device) -> torch.Tensor:
    """Class indices as a long tensor, refusing NaN, fractions and negatives with the first offending sample."""
    values = np.asarray(y)
    if values.shape != (n,):
        raise ModelError(f"{name} must hold one class index per sample ({n}), got shape {values.shape}")
    if np.issubdtype(values.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
        if len(bad):
            raise ModelError(
                f"{name} holds {values[bad[0]]} at sample {bad[0]}: class indices must be whole numbers; "
                "leave unlabelled samples out"
            )
    elif not np.issubdtype(values.dtype, np.integer):
        raise ModelError(f"{name} must hold integer class indices, got dtype {values.dtype}")
    if n and values.min() < 0:
        raise ModelError(f"{name} holds the negative class index {values.min()}; classes are numbered from 0")
    return torch.as_tensor(values.astype(np.int64), device=device)


def _extras(
    extras: Mapping[str, np.ndarray] | None, n: int, name: str, device: torch.device
) -> dict[str, torch.Tensor]:
    """Extra targets as float32 tensors (int ones as long), one row per sample, all finite."""
    out: dict[str, torch.Tensor] = {}
    for key, value in (extras or {}).items():
        array = np.asarray(value)
        if len(array) != n:
            raise ModelError(f"{name}[{key!r}] has {len(array)} rows, but there are {n} samples")
        if np.issubdtype(array.dtype, np.integer):
            out[key] = torch.as_tensor(array.astype(np.int64), device=device)
            continue
        bad = np.flatnonzero(~np.isfinite(array.reshape(n, -1)).all(axis=1)) if n else []
        if len(bad):
            raise ModelError(f"{name}[{key!r}] is not finite at sample {bad[0]}; leave such samples out")
        out[key] = torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32, device=device)
    return out


def _meta(spec: TrainingSpec, seed: int, kind: str, lookback: int, n_train: int, n_val: int) -> dict[str, Any]:
    """What a checkpoint must agree on with the run that resumes it."""
    return {
        # A cosine schedule's length is the number of epochs: changing it would resume onto another schedule.
        "spec": spec.model_dump(
            mode="json", exclude=_RESUMABLE_CHANGES - ({"epochs"} if spec.schedule.type == "cosine" else set())
        ),
        "seed": seed,
        "input": [kind, lookback],
        "samples": [n_train, n_val],
    }


def _check_resumable(saved: dict[str, Any], current: dict[str, Any], path: str | Path) -> None:
    problems = [
        f"{key} {saved.get(key)} (now {current[key]})"
        for key in ("seed", "input", "samples")
        if saved.get(key) != current[key]
    ]
    old_identity, new_identity = saved.get("identity", {}), current["identity"]
    problems += [
        f"{key} differs ({str(old_identity.get(key))[:40]} now {str(new_identity[key])[:40]})"
        for key in new_identity
        if old_identity.get(key) != new_identity[key]
    ]
    old, new = saved.get("spec", {}), current["spec"]
    problems += [f"training.{key} {old.get(key)!r} (now {new[key]!r})" for key in new if old.get(key) != new[key]]
    if problems:
        raise ModelError(
            f"the checkpoint {path} was written by a different training run: {'; '.join(problems)}; resume with "
            "the same data, seed and training settings (only epochs and device may change)"
        )
