"""Technical indicators: causal numba kernels behind one registry.

Every indicator is declared once (name, parameters, inputs, outputs) and written once as an update
over a small state; :func:`compute` runs it over a whole frame, :func:`stream` one bar at a time,
and both give the same values, bit for bit. Every value depends only on the bars up to its own.
Where TA-Lib has the indicator, values and warm-up length match it.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from neurotrade import indicators
>>> bars = pd.DataFrame({"close": np.linspace(100.0, 120.0, 30)})
>>> rsi = indicators.compute(bars, "rsi", period=14)
>>> int(rsi["rsi"].isna().sum()) == indicators.get("rsi").warmup(period=14)
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from neurotrade.indicators._params import Param
from neurotrade.indicators._registry import (
    IndicatorInfo,
    available,
    check_params,
    get,
    validate_params,
)

# compute and stream need pandas and the numba kernels: they load on first use, so describing indicators and
# validating a strategy's parameters (the registry's declarations) stays fast.
if TYPE_CHECKING:
    from neurotrade.indicators._compute import IndicatorStream, compute, stream

_LAZY = {"IndicatorStream", "compute", "stream"}

__all__ = [
    "IndicatorInfo",
    "IndicatorStream",
    "Param",
    "available",
    "check_params",
    "compute",
    "get",
    "stream",
    "validate_params",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'neurotrade.indicators' has no attribute {name!r}")
    value = getattr(importlib.import_module("neurotrade.indicators._compute"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
