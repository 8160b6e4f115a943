"""The model factory: each model module registers a builder for its ``model.type``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from neurotrade.errors import ModelError

Builder = Callable[[Any, int, int], nn.Module]
_BUILDERS: dict[str, Builder] = {}


def register_model(kind: str, builder: Builder) -> None:
    """Make ``model.type: kind`` build with ``builder(spec, n_inputs, n_classes)`` (called at import time)."""
    if kind in _BUILDERS:
        raise ValueError(f"model type {kind!r} is registered twice")
    _BUILDERS[kind] = builder


def model_types() -> list[str]:
    """Every registered ``model.type``, sorted.

    Examples
    --------
    >>> "mlp" in model_types()
    True
    """
    return sorted(_BUILDERS)


def build_model(spec: Any, *, n_inputs: int, n_classes: int) -> nn.Module:
    """Build the network a ``model:`` section declares.

    Every model maps its input to raw class logits ``(B, C)``. Its ``input_kind`` says what it reads:
    ``"rows"`` (``(B, F)`` feature rows) or ``"windows"`` (``(B, L, F)``: the ``lookback`` rows ending at each
    sample's own bar).

    Examples
    --------
    >>> from neurotrade.config import MLPSpec
    >>> build_model(MLPSpec(hidden=[16]), n_inputs=5, n_classes=3).net[0].in_features
    5
    """
    if n_inputs < 1:
        raise ModelError(f"a model needs at least one input feature, got {n_inputs}")
    builder = _BUILDERS.get(spec.type)
    if builder is None:
        raise ModelError(f"unknown model type {spec.type!r}; available: {', '.join(model_types())}")
    return builder(spec, n_inputs, n_classes)
