"""Indicator parameters: declared once, and every error message is derived from the declaration."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = ["MAX_PERIOD", "Greater", "Param", "check_value", "nbdev", "period"]

# TA-Lib refuses longer periods; staying inside its range keeps every value comparable with it.
MAX_PERIOD = 100_000


@dataclass(frozen=True)
class Param:
    """One parameter of an indicator.

    Attributes
    ----------
    name
        The keyword, e.g. ``'period'``.
    kind
        ``int`` or ``float``. An ``int`` parameter accepts only integers (not ``True``, not ``14.0``);
        a ``float`` parameter accepts any real number, integers included.
    default
        The value used when the parameter is not given.
    minimum, maximum
        Bounds, inclusive, or ``None`` for no bound. ``exclusive_minimum`` turns the lower bound
        into a strict one (``nbdev_up > 0``).
    description
        One line for help texts.
    exclusive_minimum
        Whether ``minimum`` itself is refused.

    Examples
    --------
    >>> Param("period", int, 14, 2, 100_000, "bars in the window").constraint()
    'an integer from 2 to 100000'
    """

    name: str
    kind: type
    default: int | float
    minimum: float | None
    maximum: float | None
    description: str
    exclusive_minimum: bool = False

    def constraint(self) -> str:
        """Describe every condition a value must meet, e.g. ``'a number > 0'``."""
        noun = "an integer" if self.kind is int else "a number"
        low, high = self.minimum, self.maximum
        if low is not None and high is not None and not self.exclusive_minimum:
            return f"{noun} from {_fmt(low)} to {_fmt(high)}"
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if self.exclusive_minimum else '>='} {_fmt(low)}")
        if high is not None:
            bounds.append(f"<= {_fmt(high)}")
        return " ".join([noun, " and ".join(bounds)]) if bounds else noun


@dataclass(frozen=True)
class Greater:
    """A constraint between two parameters: ``param`` must be greater than ``other``."""

    param: str
    other: str

    def check(self, values: dict[str, int | float]) -> tuple[str, str] | None:
        """Return ``(param, message)`` when violated; ``None`` when it holds or cannot be judged."""
        if self.param not in values or self.other not in values:
            return None
        mine, theirs = values[self.param], values[self.other]
        if mine > theirs:
            return None
        return self.param, f"must be greater than {self.other} ({theirs!r}), got {mine!r}"


def check_value(param: Param, value: object) -> tuple[int | float | None, str | None]:
    """Check one value against its declaration.

    Returns ``(normalised value, None)`` when it is acceptable (a Python ``int`` or ``float``) and
    ``(None, message)`` otherwise; the message states the whole constraint and ends with
    ``, got <repr(value)>``.
    """
    constraint = param.constraint()
    refused = f"must be {constraint}, got {value!r}"
    # bool is an Integral in Python, but ``period: true`` in a YAML file is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None, refused
    if param.kind is int:
        if not isinstance(value, numbers.Integral):
            if isinstance(value, float) and value.is_integer():
                return None, f"must be {constraint} (write {int(value)}, not {value!r}), got {value!r}"
            return None, refused
        number: int | float = int(value)
    else:
        number = float(value)
        if not math.isfinite(number):
            return None, f"must be a finite {constraint.removeprefix('a ')}, got {value!r}"
    low, high = param.minimum, param.maximum
    if low is not None and (number <= low if param.exclusive_minimum else number < low):
        return None, refused
    if high is not None and number > high:
        return None, refused
    return number, None


def period(default: int, description: str = "bars in the window", name: str = "period") -> Param:
    """Declare an integer window length in TA-Lib's range."""
    return Param(name, int, default, 2, MAX_PERIOD, description)


def nbdev(name: str, default: float, description: str) -> Param:
    """Declare a band width in standard deviations (strictly positive)."""
    return Param(name, float, default, 0.0, None, description, exclusive_minimum=True)


def _fmt(bound: float) -> str:
    """Write ``2.0`` as ``2`` so that messages read like the user's own numbers."""
    return str(int(bound)) if float(bound).is_integer() else repr(float(bound))
