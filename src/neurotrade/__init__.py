"""neurotrade: neural trading strategies from one YAML file, without look-ahead.

The public names are loaded on first use (PEP 562), so ``import neurotrade`` and the command line's ``--help``
do not pay for torch, numba and scikit-learn until something needs them.

Examples
--------
>>> import neurotrade
>>> neurotrade.parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n").name
'x'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from neurotrade._examples import example_strategy
    from neurotrade._threads import configure_threads
    from neurotrade.config import Strategy, load_strategy, parse_strategy
    from neurotrade.pipeline import RunResult, load_bundle, run

__version__ = "0.1.0"

# Where each lazily loaded public name lives.
_LAZY = {
    "RunResult": "neurotrade.pipeline",
    "Strategy": "neurotrade.config",
    "configure_threads": "neurotrade._threads",
    "example_strategy": "neurotrade._examples",
    "load_bundle": "neurotrade.pipeline",
    "load_strategy": "neurotrade.config",
    "parse_strategy": "neurotrade.config",
    "run": "neurotrade.pipeline",
}

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
    "configure_threads",
    "example_strategy",
    "load_bundle",
    "load_strategy",
    "parse_strategy",
    "run",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'neurotrade' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
