"""Fixtures for the indicator tests: realistic random OHLCV bars and per-indicator parameter sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.indicators import IndicatorInfo, available, check_params, get

N_BARS = 2_000


def make_ohlcv(n: int, seed: int, *, flat: bool = False, start: str = "2020-01-01") -> pd.DataFrame:
    """Random-walk bars that honour the OHLCV contract (positive, ``low <= open, close <= high``).

    With ``flat`` a stretch of identical bars (``open == high == low == close``) is spliced in, so
    that zero ranges, zero moves and zero variances are exercised.
    """
    rng = np.random.default_rng(seed)
    vol = 0.01
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0.0, vol / 4, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, vol / 2, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, vol / 2, n)))
    if flat:
        lo, hi = n // 3, n // 3 + 120
        open_[lo:hi] = high[lo:hi] = low[lo:hi] = close[lo:hi] = close[lo]
    volume = rng.lognormal(10.0, 1.0, n)
    index = pd.date_range(start, periods=n, freq="h", tz="UTC", name="time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)


VARIANTS = ("defaults", "short")


def variant_params(info: IndicatorInfo, variant: str) -> dict[str, int | float]:
    """The defaults, or short windows (and other band widths) that still satisfy every constraint."""
    if variant == "defaults":
        return info.defaults()
    short: dict[str, int | float] = {}
    for i, param in enumerate(info.params):
        short[param.name] = 2 + 3 * i if param.kind is int else float(param.default) * 0.75
    values, problems = check_params(info.name, short)
    if problems:  # constraints between parameters the generic recipe does not know: shorten what it can
        values = info.defaults()
        for param in info.params:
            if param.kind is int and param.minimum is not None:
                trial = {**values, param.name: max(int(param.minimum), int(param.default) // 2)}
                if not check_params(info.name, trial)[1]:
                    values = trial
    return values


@pytest.fixture(params=[(info.name, v) for info in available() for v in VARIANTS], ids="-".join)
def case(request: pytest.FixtureRequest) -> tuple[str, dict[str, int | float]]:
    """Every registered indicator, with its default and its short parameters."""
    name, variant = request.param
    return name, variant_params(get(name), variant)


@pytest.fixture(scope="session")
def other_bars() -> pd.DataFrame:
    """Bars unrelated to ``ohlcv``, to splice in as a different future."""
    return make_ohlcv(N_BARS, seed=99)


@pytest.fixture(scope="session")
def ohlcv() -> pd.DataFrame:
    return make_ohlcv(N_BARS, seed=7)


@pytest.fixture(scope="session")
def ohlcv_flat() -> pd.DataFrame:
    return make_ohlcv(N_BARS, seed=8, flat=True)


@pytest.fixture(params=[(info.name, v) for info in available() if info.talib is None for v in VARIANTS], ids="-".join)
def case_beyond_talib(request: pytest.FixtureRequest) -> tuple[str, dict[str, int | float]]:
    """Every registered indicator that TA-Lib lacks, with its default and its short parameters."""
    name, variant = request.param
    return name, variant_params(get(name), variant)
