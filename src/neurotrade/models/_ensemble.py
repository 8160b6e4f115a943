"""The ensemble: base models combined per sample by a learned weight predictor and a meta-learner.

Training happens in two stages, and the caller (the pipeline) runs them in this order:

1. each member alone, on its own part of the input (:meth:`Ensemble.member_input`, or the same feature matrix
   and sample positions, from which the trainer cuts each member's own window), as if it were the model: with
   the same preparation (``init_from`` for a neuro-fuzzy member, ``fit_target_scale`` and the extra targets for
   a regime member);
2. :meth:`Ensemble.freeze_members`, then the whole ensemble, so that only the combiner learns.

The combiner has two parts. A small gate reads the sample's latest feature row and gives each member a weight
(a softmax, so the weights are positive and sum to 1: which member to trust in which conditions). A linear
meta-learner reads the weighted members' log-probabilities and the weights, and corrects their sum. Both start at
zero output, so before the combiner learns, the ensemble is the equally weighted geometric mean of its members'
probabilities; training moves it away from that only as far as the validation loss rewards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from neurotrade.errors import ModelError
from neurotrade.models._registry import build_model, register_model


class Ensemble(nn.Module):
    """Members of any type, weighed per sample by a gate and combined by a meta-learner.

    The ensemble reads windows when any member does (``lookback`` is then the longest member's), else rows. From
    a window, a member that reads rows gets the window's last row (the sample's own bar) and a member with a
    shorter lookback gets the window's tail, so every member sees exactly what it would see alone.

    Parameters
    ----------
    members
        Built models (``input_kind`` ``"rows"`` or ``"windows"``, logits out), at least two.
    n_inputs, n_classes
        Feature columns per row, and classes.
    gate_hidden, dropout
        Width of the gate's hidden layer, and its dropout.

    Examples
    --------
    >>> from neurotrade.models import MLP
    >>> _ = torch.manual_seed(0)
    >>> net = Ensemble([MLP(4, 3, [8]), MLP(4, 3, [16])], n_inputs=4, n_classes=3)
    >>> x = torch.randn(5, 4)  # (B, F)
    >>> net(x).shape, net.member_weights(x)[0].tolist()  # the untrained gate trusts every member equally
    (torch.Size([5, 3]), [0.5, 0.5])
    """

    def __init__(
        self,
        members: Sequence[nn.Module],
        n_inputs: int,
        n_classes: int,
        gate_hidden: int = 16,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.members_frozen = False
        if len(members) < 2:
            raise ModelError(f"an ensemble needs at least two members, got {len(members)}")
        for i, member in enumerate(members):
            kind = getattr(member, "input_kind", None)
            if kind not in ("rows", "windows"):
                raise ModelError(
                    f"ensemble member {i} ({type(member).__name__}) has input_kind {kind!r}; "
                    "a member must read 'rows' or 'windows'"
                )
        self.members = nn.ModuleList(members)
        windowed = any(m.input_kind == "windows" for m in members)
        self.input_kind = "windows" if windowed else "rows"
        self.lookback = max(int(m.lookback) for m in members) if windowed else 1
        self.n_inputs = n_inputs
        n_members = len(members)
        self.gate = nn.Sequential(
            nn.Linear(n_inputs, gate_hidden), nn.Tanh(), nn.Dropout(dropout), nn.Linear(gate_hidden, n_members)
        )
        self.meta = nn.Linear(n_members * n_classes + n_members, n_classes)
        # Zero outputs at the start: equal weights and no correction, i.e. the members' plain geometric mean.
        for layer in (self.gate[-1], self.meta):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def member_input(self, x: Any, i: int) -> Any:
        """The part of an ensemble input that member ``i`` reads (a tensor or a NumPy array; a view, no copy).

        Use it to train each member alone on the same samples as the ensemble.

        Examples
        --------
        >>> import numpy as np
        >>> from neurotrade.models import MLP
        >>> net = Ensemble([MLP(2, 3, [4]), MLP(2, 3, [4])], n_inputs=2, n_classes=3)
        >>> net.member_input(np.zeros((10, 2)), 1).shape
        (10, 2)
        """
        if self.input_kind == "rows":
            return x
        member = self.members[i]
        if member.input_kind == "rows":
            return x[:, -1, :]  # (B, F): the sample's own bar
        return x[:, x.shape[1] - member.lookback :, :]  # (B, l, F): the last l rows

    def _last_row(self, x: torch.Tensor) -> torch.Tensor:
        expected = (-1, self.n_inputs) if self.input_kind == "rows" else (-1, self.lookback, self.n_inputs)
        if x.dim() != len(expected) or tuple(x.shape[1:]) != expected[1:]:
            shape = ", ".join(["batch", *map(str, expected[1:])])
            raise ModelError(f"this ensemble reads {self.input_kind} of shape ({shape}), got {tuple(x.shape)}")
        return x if self.input_kind == "rows" else x[:, -1, :]  # (B, F)

    def _combine(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The logits and the member weights."""
        weights = torch.softmax(self.gate(self._last_row(x)), dim=1)  # (B, M)
        log_p = torch.stack(
            [torch.log_softmax(m(self.member_input(x, i)), dim=1) for i, m in enumerate(self.members)], dim=1
        )  # (B, M, C)
        weighted = weights[:, :, None] * log_p  # (B, M, C)
        correction = self.meta(torch.cat([weighted.flatten(1), weights], dim=1))  # (B, C)
        return weighted.sum(dim=1) + correction, weights  # (B, C), (B, M)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._combine(x)[0]  # (B, C)

    def freeze_members(self) -> None:
        """Stop the members learning: their parameters stop requiring gradients and they stay in eval mode
        (no dropout, batch norm statistics fixed) even when the ensemble is put in train mode.

        Call it after each member has been trained alone and before the ensemble is trained, so that only the
        gate and the meta-learner learn.

        Examples
        --------
        >>> from neurotrade.models import MLP
        >>> net = Ensemble([MLP(2, 3, [4], dropout=0.5), MLP(2, 3, [4])], n_inputs=2, n_classes=3)
        >>> net.freeze_members(); _ = net.train()
        >>> net.members[0].training, net.gate.training, any(p.requires_grad for p in net.members.parameters())
        (False, True, False)
        """
        for parameter in self.members.parameters():
            parameter.requires_grad_(False)
        self.members_frozen = True
        self.members.eval()

    def train(self, mode: bool = True) -> Ensemble:
        super().train(mode)
        if self.members_frozen:
            self.members.eval()
        return self

    @torch.no_grad()
    def member_weights(self, x: torch.Tensor) -> torch.Tensor:
        """How much the gate trusts each member for each sample, in eval mode: ``(B, M)``, rows summing to 1."""
        was_training = self.training
        self.eval()
        try:
            return torch.softmax(self.gate(self._last_row(x)), dim=1)  # (B, M)
        finally:
            self.train(was_training)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities, in eval mode (no dropout)."""
        was_training = self.training
        self.eval()
        try:
            return torch.softmax(self(x).double(), dim=-1)  # (B, C), float64 so rows sum to 1
        finally:
            self.train(was_training)


def _build(spec: Any, n_inputs: int, n_classes: int) -> Ensemble:
    members = [build_model(member, n_inputs=n_inputs, n_classes=n_classes) for member in spec.members]
    return Ensemble(members, n_inputs, n_classes, spec.gate_hidden, spec.dropout)


register_model("ensemble", _build)
