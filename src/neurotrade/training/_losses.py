"""Classification losses on raw logits: cross-entropy and the focal loss, both with optional class weights."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def focal_loss(
    logits: torch.Tensor, target: torch.Tensor, *, gamma: float = 2.0, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean focal loss ``-w_y (1 - p_y) ** gamma * log p_y`` (Lin et al., 2017).

    Samples the model already gets right with confidence (``p_y`` near 1) count less, so training attends to the
    hard ones. With ``weight``, the mean is taken as cross-entropy takes it: divided by the summed weights of the
    samples, so ``gamma = 0`` gives exactly the weighted cross-entropy.

    Parameters
    ----------
    logits
        ``(B, C)`` raw scores.
    target
        ``(B,)`` class indices.
    gamma
        Focusing exponent; 0 is plain cross-entropy.
    weight
        ``(C,)`` per-class weights, or None.

    Examples
    --------
    >>> logits, target = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0])
    >>> bool(torch.isclose(focal_loss(logits, target, gamma=0.0), F.cross_entropy(logits, target)))
    True
    >>> bool(focal_loss(logits, target, gamma=2.0) < F.cross_entropy(logits, target))
    True
    """
    log_p = F.log_softmax(logits.float(), dim=-1).gather(1, target[:, None]).squeeze(1)  # (B,)
    focal = (1.0 - log_p.exp()).clamp(min=0.0).pow(gamma) * -log_p  # (B,)
    if weight is None:
        return focal.mean()
    w = weight[target]  # (B,)
    return (w * focal).sum() / w.sum()


def make_loss(kind: str, *, gamma: float = 2.0, weight: torch.Tensor | None = None) -> LossFn:
    """The training loss ``training.loss`` names: ``cross_entropy`` or ``focal``.

    Examples
    --------
    >>> make_loss("focal", gamma=1.0)(torch.zeros(2, 3), torch.tensor([0, 2])).item() > 0
    True
    """
    if kind == "focal":
        return lambda logits, target: focal_loss(logits, target, gamma=gamma, weight=weight)
    return lambda logits, target: F.cross_entropy(logits.float(), target, weight=weight)
