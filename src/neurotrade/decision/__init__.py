"""The decision rules that turn model probabilities into target positions, bar by bar."""

from neurotrade.decision._rules import DecisionRules

__all__ = ["DecisionRules"]
