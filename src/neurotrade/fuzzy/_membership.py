"""Membership functions: how strongly a value belongs to a fuzzy set, in [0, 1].

Each function is vectorised over NumPy arrays and keeps NaN as NaN (a warm-up bar has no membership, not a
membership of 0). Breakpoints are checked once, by :class:`FuzzySet`, so the functions themselves stay plain.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Shape = Literal["triangular", "trapezoidal", "gaussian"]


def trapezoidal(x: ArrayLike, a: float, b: float, c: float, d: float) -> NDArray[np.float64]:
    """Trapezoid rising over [a, b], 1 on [b, c], falling over [c, d].

    ``a == b`` makes a left shoulder (1 at and right of ``a``), ``c == d`` a right shoulder.

    Examples
    --------
    >>> trapezoidal([0, 15, 20, 30], 10, 20, 30, 40).tolist()
    [0.0, 0.5, 1.0, 1.0]
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # the result is clipped to [0, 1]
        rise = np.where(x >= b, 1.0, (x - a) / (b - a)) if b > a else np.where(x >= a, 1.0, 0.0)
        fall = np.where(x <= c, 1.0, (d - x) / (d - c)) if d > c else np.where(x <= d, 1.0, 0.0)
    out = np.clip(np.minimum(rise, fall), 0.0, 1.0)
    return np.where(np.isnan(x), np.nan, out)


def triangular(x: ArrayLike, a: float, b: float, c: float) -> NDArray[np.float64]:
    """Triangle rising over [a, b] to 1 at ``b`` and falling over [b, c].

    Examples
    --------
    >>> triangular([20, 25, 30, 40, 45], 20, 30, 40).tolist()
    [0.0, 0.5, 1.0, 0.0, 0.0]
    """
    return trapezoidal(x, a, b, b, c)


def gaussian(x: ArrayLike, mean: float, sigma: float) -> NDArray[np.float64]:
    """Bell curve ``exp(-(x - mean)^2 / (2 sigma^2))``.

    Examples
    --------
    >>> gaussian([35.0], 35.0, 8.0).tolist()
    [1.0]
    """
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * ((x - mean) / sigma) ** 2)


@dataclass(frozen=True)
class FuzzySet:
    """A named fuzzy set with validated breakpoints.

    Parameters
    ----------
    name
        The set's name, e.g. ``oversold``.
    shape
        ``triangular`` (3 points), ``trapezoidal`` (4 points) or ``gaussian`` (mean and sigma).
    params
        The breakpoints, or ``(mean, sigma)`` for a gaussian.

    Examples
    --------
    >>> oversold = FuzzySet("oversold", "triangular", (20.0, 30.0, 40.0))
    >>> oversold([25.0, 30.0]).tolist()
    [0.5, 1.0]
    """

    name: str
    shape: Shape
    params: tuple[float, ...]

    def __post_init__(self) -> None:
        problem = breakpoint_problem(self.shape, self.params)
        if problem:
            raise ValueError(problem)

    def __call__(self, x: ArrayLike) -> NDArray[np.float64]:
        if self.shape == "triangular":
            return triangular(x, *self.params)
        if self.shape == "trapezoidal":
            return trapezoidal(x, *self.params)
        return gaussian(x, *self.params)


def breakpoint_problem(shape: str, params: tuple[float, ...] | list[float]) -> str | None:
    """Why these breakpoints cannot make a fuzzy set, or ``None`` when they can.

    Examples
    --------
    >>> breakpoint_problem("triangular", [30, 20, 40])
    'breakpoints must be in increasing order, got [30, 20, 40]'
    >>> breakpoint_problem("triangular", [20, 30, 40]) is None
    True
    """
    values = [float(p) for p in params]
    if not all(np.isfinite(values)):
        return f"breakpoints must be finite numbers, got {list(params)}"
    expected = {"triangular": 3, "trapezoidal": 4, "gaussian": 2}[shape]
    if len(values) != expected:
        return f"a {shape} set needs {expected} values, got {len(values)}"
    if shape == "gaussian":
        return None if values[1] > 0 else f"sigma must be > 0, got {params[1]!r}"
    if any(later < earlier for earlier, later in pairwise(values)):
        return f"breakpoints must be in increasing order, got {list(params)}"
    if values[0] == values[-1]:
        return f"breakpoints must span a range (first < last), got {list(params)}"
    return None
