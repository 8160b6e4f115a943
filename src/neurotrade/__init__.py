"""neurotrade: neural trading strategies from one YAML file, without look-ahead.

Examples
--------
>>> import neurotrade
>>> neurotrade.parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n").name
'x'
"""

from __future__ import annotations

from neurotrade.config import Strategy, load_strategy, parse_strategy
from neurotrade.errors import (
    BacktestError,
    ConfigError,
    DataError,
    FeatureError,
    IndicatorError,
    ModelError,
    NeurotradeError,
    SplitError,
    StoreError,
)
from neurotrade.pipeline import RunResult, load_bundle, run

__version__ = "0.1.0"

__all__ = [
    "BacktestError",
    "ConfigError",
    "DataError",
    "FeatureError",
    "IndicatorError",
    "ModelError",
    "NeurotradeError",
    "RunResult",
    "SplitError",
    "StoreError",
    "Strategy",
    "__version__",
    "load_bundle",
    "load_strategy",
    "parse_strategy",
    "run",
]
