"""Fuzzy sets over indicator outputs: triangular, trapezoidal and gaussian memberships."""

from neurotrade.fuzzy._membership import FuzzySet, breakpoint_problem, gaussian, trapezoidal, triangular

__all__ = ["FuzzySet", "breakpoint_problem", "gaussian", "trapezoidal", "triangular"]
