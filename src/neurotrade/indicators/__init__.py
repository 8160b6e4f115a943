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

# The family modules register their indicators when imported.
from neurotrade.indicators import (  # noqa: F401
    _averages,
    _channels,
    _composite,
    _directional,
    _ehlers,
    _momentum,
    _oscillators,
    _range,
    _trend,
    _volatility,
    _volume,
)
from neurotrade.indicators._compute import IndicatorStream, compute, stream
from neurotrade.indicators._params import Param
from neurotrade.indicators._registry import (
    IndicatorInfo,
    available,
    check_params,
    get,
    validate_params,
)

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
