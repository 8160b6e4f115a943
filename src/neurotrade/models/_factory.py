"""One place that turns a ``model:`` section into a network."""

from __future__ import annotations

from torch import nn

from neurotrade.config import MLPSpec
from neurotrade.errors import ModelError
from neurotrade.models._mlp import MLP


def build_model(spec: MLPSpec, *, n_inputs: int, n_classes: int) -> nn.Module:
    """Build the network a ``model:`` section declares.

    Examples
    --------
    >>> build_model(MLPSpec(hidden=[16]), n_inputs=5, n_classes=3).net[0].in_features
    5
    """
    if n_inputs < 1:
        raise ModelError(f"a model needs at least one input feature, got {n_inputs}")
    if spec.type == "mlp":
        return MLP(n_inputs, n_classes, list(spec.hidden), spec.activation, spec.dropout)
    raise ModelError(f"unknown model type {spec.type!r}")
