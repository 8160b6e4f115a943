"""Membership functions: how strongly a value belongs to a fuzzy set, in [0, 1].

Each function is vectorised over NumPy arrays and keeps NaN as NaN (a warm-up bar has no membership, not a
membership of 0). Breakpoints are checked once, by :class:`FuzzySet`, so the functions themselves stay plain.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Shape = Literal["triangular", "trapezoidal", "gaussian", "sigmoid", "bell"]

# What each shape's parameters are called, in the order FuzzySet.params holds them.
PARAMETERS: dict[str, tuple[str, ...]] = {
    "triangular": ("a", "b", "c"),
    "trapezoidal": ("a", "b", "c", "d"),
    "gaussian": ("mean", "sigma"),
    "sigmoid": ("slope", "center"),
    "bell": ("width", "slope", "center"),
}


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
    # + 0.0 turns a -0.0 (from x = -0.0) into 0.0, so the one-value form below needs no sign-of-zero rules.
    out = np.clip(np.minimum(rise, fall), 0.0, 1.0) + 0.0
    return np.where(np.isnan(x), np.nan, out)


def _trapezoidal_one(x: float, a: float, b: float, c: float, d: float) -> float:
    """:func:`trapezoidal` of one value, with the same float operations in the same order (hence bit for bit)."""
    if math.isnan(x):
        return math.nan
    rise = (1.0 if x >= b else (x - a) / (b - a)) if b > a else float(x >= a)
    fall = (1.0 if x <= c else (d - x) / (d - c)) if d > c else float(x <= d)
    return min(max(min(rise, fall), 0.0), 1.0) + 0.0


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
    with np.errstate(over="ignore"):  # a square that overflows is a membership of 0, which exp(-inf) gives
        return np.exp(-0.5 * ((x - mean) / sigma) ** 2)


def sigmoid(x: ArrayLike, slope: float, center: float) -> NDArray[np.float64]:
    """S-curve ``1 / (1 + exp(-slope (x - center)))``: 0.5 at ``center``.

    A positive ``slope`` rises to the right (a soft right shoulder, "high"), a negative one falls (a soft left
    shoulder, "low"); its size is how steep the step is (the derivative at ``center`` is ``slope / 4``).

    Examples
    --------
    >>> sigmoid([0.0, 50.0, 100.0], 0.2, 50.0).round(4).tolist()
    [0.0, 0.5, 1.0]
    >>> sigmoid([40.0, 60.0], -0.2, 50.0).round(4).tolist()
    [0.8808, 0.1192]
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):  # exp overflowing to inf gives 1 / inf = 0, the right limit
        return 1.0 / (1.0 + np.exp(-slope * (x - center)))


def generalized_bell(x: ArrayLike, width: float, slope: float, center: float) -> NDArray[np.float64]:
    """Generalised bell ``1 / (1 + |(x - center) / width|^(2 slope))``.

    It is 1 at ``center`` and 0.5 at ``center ± width``; ``slope`` sets how steep the sides are there (1 is a
    gentle bump, 5 and above nearly a plateau with sharp edges).

    Examples
    --------
    >>> generalized_bell([50.0, 40.0, 60.0, 30.0], 10.0, 2.0, 50.0).tolist()
    [1.0, 0.5, 0.5, 0.058823529411764705]
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):  # a power that overflows is a membership of 0, which 1 / inf gives
        return 1.0 / (1.0 + np.abs((x - center) / width) ** (2.0 * slope))


@dataclass(frozen=True)
class FuzzySet:
    """A named fuzzy set with validated parameters.

    Parameters
    ----------
    name
        The set's name, e.g. ``oversold``.
    shape
        ``triangular`` (``a, b, c``), ``trapezoidal`` (``a, b, c, d``), ``gaussian`` (``mean, sigma``),
        ``sigmoid`` (``slope, center``) or ``bell`` (``width, slope, center``).
    params
        The parameters, in that order (the arguments of the function of the same shape).

    Raises
    ------
    ValueError
        If the parameters cannot make a set of that shape (see :func:`breakpoint_problem`).

    Examples
    --------
    >>> oversold = FuzzySet("oversold", "triangular", (20.0, 30.0, 40.0))
    >>> oversold([25.0, 30.0]).tolist()
    [0.5, 1.0]
    >>> oversold.membership(25.0)
    0.5
    """

    name: str
    shape: Shape
    params: tuple[float, ...]

    def __post_init__(self) -> None:
        problem = breakpoint_problem(self.shape, self.params)
        if problem:
            raise ValueError(f"fuzzy set {self.name!r}: {problem}")
        # Floats from here on, so that the batch and the one-value forms convert nothing differently.
        object.__setattr__(self, "params", tuple(float(p) for p in self.params))

    def __call__(self, x: ArrayLike) -> NDArray[np.float64]:
        """Membership of every value of ``x`` (NaN stays NaN)."""
        if self.shape == "triangular":
            return triangular(x, *self.params)
        if self.shape == "trapezoidal":
            return trapezoidal(x, *self.params)
        if self.shape == "gaussian":
            return gaussian(x, *self.params)
        if self.shape == "sigmoid":
            return sigmoid(x, *self.params)
        return generalized_bell(x, *self.params)

    def membership(self, value: float) -> float:
        """Membership of one value, for streaming bar by bar: equal, bit for bit, to ``self([value])[0]``.

        Examples
        --------
        >>> FuzzySet("high", "sigmoid", (0.5, 70.0)).membership(70.0)
        0.5
        """
        if self.shape in ("triangular", "trapezoidal"):
            # Plain float arithmetic is IEEE-exact, so Python reproduces NumPy's result at a fraction of the cost.
            return _trapezoidal_one(float(value), *self._corners())
        # exp and pow in libm may round differently from NumPy's SIMD loops, so a one-element array goes through
        # the very loops a whole series does.
        return float(self(np.array([value], dtype=np.float64))[0])

    def _corners(self) -> tuple[float, float, float, float]:
        p = self.params
        return (p[0], p[1], p[1], p[2]) if self.shape == "triangular" else (p[0], p[1], p[2], p[3])

    def support(self, threshold: float = 0.01) -> tuple[float, float]:
        """The interval where membership is at least ``threshold`` (ends may be infinite).

        Every shape is unimodal or monotone, so that region is one interval. Its ends are computed from the
        formula, so they are exact up to rounding.

        Examples
        --------
        >>> FuzzySet("mid", "triangular", (30.0, 50.0, 70.0)).support(0.5)
        (40.0, 60.0)
        >>> FuzzySet("high", "sigmoid", (1.0, 0.0)).support(0.5)
        (0.0, inf)
        """
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be between 0 and 1 (exclusive), got {threshold!r}")
        p = self.params
        if self.shape in ("triangular", "trapezoidal"):
            a, b, c, d = self._corners()
            return (a + threshold * (b - a), d - threshold * (d - c))
        if self.shape == "gaussian":
            half = p[1] * math.sqrt(-2.0 * math.log(threshold))
            return (p[0] - half, p[0] + half)
        odds = math.log((1.0 - threshold) / threshold)
        if self.shape == "sigmoid":
            slope, center = p
            edge = center - odds / slope
            return (edge, math.inf) if slope > 0 else (-math.inf, edge)
        width, slope, center = p
        half = width * math.exp(odds / (2.0 * slope))
        return (center - half, center + half)

    def landmarks(self) -> tuple[float, ...]:
        """The points that place the set on its axis: the breakpoints, a mean or a center.

        Examples
        --------
        >>> FuzzySet("low", "trapezoidal", (0.0, 0.0, 30.0, 40.0)).landmarks()
        (0.0, 0.0, 30.0, 40.0)
        >>> FuzzySet("hot", "bell", (10.0, 2.0, 50.0)).landmarks()
        (50.0,)
        """
        if self.shape in ("triangular", "trapezoidal"):
            return self.params
        return (self.params[0],) if self.shape == "gaussian" else (self.params[-1],)


def breakpoint_problem(shape: str, params: tuple[float, ...] | list[float]) -> str | None:
    """Why these parameters cannot make a fuzzy set of this shape, or ``None`` when they can.

    Examples
    --------
    >>> breakpoint_problem("triangular", [30, 20, 40])
    'breakpoints must be in increasing order, got [30, 20, 40]'
    >>> breakpoint_problem("triangular", [20, 30, 40]) is None
    True
    >>> breakpoint_problem("sigmoid", [0, 50])
    'slope must not be 0 (a positive slope rises to the right, a negative one falls), got 0'
    """
    names = PARAMETERS.get(shape)
    if names is None:
        close = difflib.get_close_matches(str(shape), list(PARAMETERS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown shape {shape!r}{hint} (shapes: {', '.join(PARAMETERS)})"
    if len(params) != len(names):
        return f"a {shape} set needs {len(names)} values, got {len(params)}"
    try:
        values = [float(p) for p in params]
    except (TypeError, ValueError):
        return f"{_what(shape)} must be numbers, got {list(params)}"
    if not all(math.isfinite(v) for v in values):
        return f"{_what(shape)} must be finite numbers, got {list(params)}"
    if shape in ("triangular", "trapezoidal"):
        if any(later < earlier for earlier, later in pairwise(values)):
            return f"breakpoints must be in increasing order, got {list(params)}"
        if values[0] == values[-1]:
            return f"breakpoints must span a range (first < last), got {list(params)}"
        return None
    for name, value, original in zip(names, values, params, strict=True):
        if shape == "sigmoid" and name == "slope" and value == 0:
            direction = "a positive slope rises to the right, a negative one falls"
            return f"slope must not be 0 ({direction}), got {original!r}"
        if shape != "sigmoid" and name in ("sigma", "width", "slope") and value <= 0:
            return f"{name} must be > 0, got {original!r}"
    return None


def _what(shape: str) -> str:
    names = PARAMETERS[shape]
    return "breakpoints" if shape in ("triangular", "trapezoidal") else " and ".join((", ".join(names[:-1]), names[-1]))
