"""The base of every spec section, and what every ``model:`` section shares."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Training memory is about 16 bytes per parameter (float32 weights, gradients and Adam's two moments), so the
# default ceiling keeps a model near 0.8 GB: far above the example strategies, far below what exhausts a laptop.
DEFAULT_MAX_PARAMETERS = 50_000_000

MaxParameters = Annotated[int, Field(ge=1, le=10**11)]


class Section(BaseModel):
    """Base of every section: unknown keys are errors, numbers are strict and finite, a loaded spec never changes.

    Strict means ``true`` is not 1 and ``2.0`` is not an integer (``bool`` is an ``int`` in Python, and YAML turns
    ``yes`` and ``on`` into ``true``); finite means ``.inf`` and ``.nan`` are refused.

    Examples
    --------
    >>> from pydantic import ValidationError
    >>> class Demo(Section):
    ...     size: int = 1
    >>> try:
    ...     Demo(size=True)
    ... except ValidationError as e:
    ...     print(e.errors()[0]["type"])
    int_type
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
