"""Small OHLCV frames built from explicit opens and closes, so fills can be checked by hand."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pytest


def _make_bars(opens: Sequence[float], closes: Sequence[float], start: str = "2024-01-01") -> pd.DataFrame:
    opens_ = np.asarray(opens, dtype=np.float64)
    closes_ = np.asarray(closes, dtype=np.float64)
    index = pd.date_range(start, periods=len(opens_), freq="D", tz="UTC", name="time")
    return pd.DataFrame(
        {
            "open": opens_,
            "high": np.maximum(opens_, closes_) + 1.0,
            "low": np.minimum(opens_, closes_) * 0.99,
            "close": closes_,
            "volume": np.full(len(opens_), 1_000.0),
        },
        index=index,
    )


@pytest.fixture
def make_bars() -> Callable[..., pd.DataFrame]:
    """``make_bars(opens, closes)`` -> a valid daily OHLCV frame starting 2024-01-01 UTC."""
    return _make_bars


@pytest.fixture
def five_bars() -> pd.DataFrame:
    """Opens and closes chosen so that every fill price is distinct and easy to follow."""
    return _make_bars([100.0, 110.0, 120.0, 90.0, 100.0], [105.0, 115.0, 95.0, 98.0, 102.0])
