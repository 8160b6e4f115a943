"""The registry of torch forms: which indicators have one, and the function that computes each.

A form is ``form(x, p) -> [output, ...]``: ``x`` maps each of the indicator's inputs to an ``(S, T)`` tensor of
left-aligned bars, ``p`` holds its validated parameters, and it returns one ``(S, T)`` tensor per output in the
registry's order. Warm-up columns may hold anything finite: the caller overwrites the registry's warm-up with NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

__all__ = ["FORMS", "Form", "torch_form"]

Form = Callable[[Mapping[str, torch.Tensor], Mapping[str, int | float]], list[torch.Tensor]]

FORMS: dict[str, Form] = {}


def torch_form(*names: str) -> Callable[[Form], Form]:
    """Register ``form`` as the torch form of each of ``names`` (registered indicators)."""

    def add(form: Form) -> Form:
        for name in names:
            if name in FORMS:
                raise ValueError(f"torch form of {name!r} registered twice")
            FORMS[name] = form
        return form

    return add
