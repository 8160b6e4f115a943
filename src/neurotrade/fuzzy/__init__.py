"""Fuzzy sets over indicator outputs: triangular, trapezoidal, gaussian, sigmoid and bell memberships."""

from neurotrade.fuzzy._coverage import coverage_gaps
from neurotrade.fuzzy._membership import (
    FuzzySet,
    breakpoint_problem,
    gaussian,
    generalized_bell,
    sigmoid,
    trapezoidal,
    triangular,
)

__all__ = [
    "FuzzySet",
    "breakpoint_problem",
    "coverage_gaps",
    "gaussian",
    "generalized_bell",
    "sigmoid",
    "trapezoidal",
    "triangular",
]
