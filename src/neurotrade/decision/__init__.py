"""Decisions: the rules that turn model probabilities into target positions, and the live engine that runs a saved
bundle bar by bar exactly as the batch run did."""

from neurotrade.decision._engine import Decision, DecisionEngine
from neurotrade.decision._rules import DecisionRules
from neurotrade.decision._stream import FeatureStream

__all__ = ["Decision", "DecisionEngine", "DecisionRules", "FeatureStream"]
