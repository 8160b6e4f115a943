"""The strategy spec: pydantic models for every YAML section, and a loader whose errors name file:line."""

from neurotrade.config._loader import load_strategy, parse_strategy
from neurotrade.config._spec import (
    BacktestSpec,
    DataSpec,
    DecisionSpec,
    EarlyStoppingSpec,
    GaussianSet,
    IndicatorSpec,
    MLPSpec,
    NNInputsSpec,
    SplitSpec,
    Strategy,
    TrainingSpec,
    TrapezoidalSet,
    TriangularSet,
    ZigZagLabels,
)

__all__ = [
    "BacktestSpec",
    "DataSpec",
    "DecisionSpec",
    "EarlyStoppingSpec",
    "GaussianSet",
    "IndicatorSpec",
    "MLPSpec",
    "NNInputsSpec",
    "SplitSpec",
    "Strategy",
    "TrainingSpec",
    "TrapezoidalSet",
    "TriangularSet",
    "ZigZagLabels",
    "load_strategy",
    "parse_strategy",
]
