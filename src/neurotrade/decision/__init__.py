"""Decisions: the rules that turn model outputs into sized target positions, the causal volatility they may size
by, and the live engines that run a saved bundle (one symbol's, or a universe's) bar by bar exactly as the batch
run did."""

from neurotrade.decision._engine import Decision, DecisionEngine
from neurotrade.decision._rules import BarView, DecisionRules, RuleState, Step
from neurotrade.decision._sizing import SIZING_MODES, Sizer
from neurotrade.decision._stream import FeatureStream
from neurotrade.decision._universe import UniverseDecision, UniverseEngine
from neurotrade.decision._volatility import RealisedVolatility, realised_volatility

__all__ = [
    "SIZING_MODES",
    "BarView",
    "Decision",
    "DecisionEngine",
    "DecisionRules",
    "FeatureStream",
    "RealisedVolatility",
    "RuleState",
    "Sizer",
    "Step",
    "UniverseDecision",
    "UniverseEngine",
    "realised_volatility",
]
