"""Learning-rate schedules: a pure function for cosine with warm-up, a small state machine for plateaus.

The cosine rate is a function of the step alone, so resuming a run needs nothing but the step count; the plateau
schedule keeps three numbers, which a checkpoint saves as plain values.
"""

from __future__ import annotations

import math
from typing import Any


def cosine_lr(step: int, *, base_lr: float, total_steps: int, warmup_steps: int = 0, min_lr: float = 0.0) -> float:
    """The learning rate at optimizer step ``step`` (counted from 0): linear warm-up, then half a cosine.

    During the first ``warmup_steps`` steps the rate climbs linearly to ``base_lr``; from there it follows half a
    cosine down to ``min_lr``, reached at ``total_steps`` and held after it.

    Examples
    --------
    >>> [round(cosine_lr(s, base_lr=1.0, total_steps=10, warmup_steps=2, min_lr=0.1), 3) for s in (0, 1, 2, 6, 10)]
    [0.333, 0.667, 1.0, 0.55, 0.1]
    """
    if step < warmup_steps:
        # (step + 1) so the very first step already moves the weights.
        return base_lr * (step + 1) / (warmup_steps + 1)
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (base_lr - min_lr)


class PlateauScheduler:
    """Cut the learning rate by ``factor`` when the validation loss stalls for more than ``patience`` epochs.

    The behaviour of torch's ``ReduceLROnPlateau`` in ``min`` mode with an absolute threshold and no cooldown,
    kept to plain numbers so that a checkpoint holds it without pickling an object.

    Examples
    --------
    >>> plateau = PlateauScheduler(lr=1.0, factor=0.5, patience=1, threshold=0.0, min_lr=0.3)
    >>> [plateau.step(loss) for loss in (1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5)]
    [1.0, 1.0, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3]
    """

    def __init__(self, *, lr: float, factor: float, patience: int, threshold: float, min_lr: float) -> None:
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.min_lr = min_lr
        self.lr = lr
        self.best = math.inf
        self.bad_epochs = 0

    def step(self, val_loss: float) -> float:
        """Record one epoch's validation loss; return the learning rate for the next epoch."""
        if val_loss < self.best - self.threshold:
            self.best, self.bad_epochs = val_loss, 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.lr, self.bad_epochs = max(self.lr * self.factor, self.min_lr), 0
        return self.lr

    def state_dict(self) -> dict[str, Any]:
        """The changing state, as plain numbers."""
        return {"lr": self.lr, "best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s numbers."""
        self.lr, self.best, self.bad_epochs = float(state["lr"]), float(state["best"]), int(state["bad_epochs"])
