"""The focal loss: cross-entropy at gamma 0 (with the same class weighting), smaller on confident samples."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from neurotrade.training import focal_loss


def test_gamma_zero_is_cross_entropy_weighted_or_not() -> None:
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(50, 3, generator=g), torch.randint(0, 3, (50,), generator=g)
    weight = torch.tensor([0.5, 1.0, 3.0])
    torch.testing.assert_close(focal_loss(logits, target, gamma=0.0), F.cross_entropy(logits, target))
    torch.testing.assert_close(
        focal_loss(logits, target, gamma=0.0, weight=weight), F.cross_entropy(logits, target, weight=weight)
    )


def test_focal_discounts_confident_right_answers_most() -> None:
    confident = torch.tensor([[6.0, 0.0, 0.0]])
    unsure = torch.tensor([[0.2, 0.0, 0.0]])
    target = torch.tensor([0])
    ratio_confident = focal_loss(confident, target, gamma=2.0) / F.cross_entropy(confident, target)
    ratio_unsure = focal_loss(unsure, target, gamma=2.0) / F.cross_entropy(unsure, target)
    assert ratio_confident < 1e-4 < ratio_unsure < 1.0


def test_focal_gradient_flows() -> None:
    logits = torch.zeros(4, 3, requires_grad=True)
    focal_loss(logits, torch.tensor([0, 1, 2, 0]), gamma=2.0).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
