"""Every indicator equals TA-Lib: values (rtol 1e-9), NaN positions and warm-up length."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from talib import abstract

from neurotrade.indicators import available, check_params, compute, get
from neurotrade.indicators._registry import entry

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _ours(df: pd.DataFrame, name: str, params: dict) -> list[np.ndarray]:
    out = compute(df, name, **params)
    assert list(out.columns) == list(get(name).outputs)
    assert (out.dtypes == np.float64).all()
    return [out[c].to_numpy() for c in out.columns]


WITH_TALIB = [info.name for info in available() if info.talib is not None]


def _talib(df: pd.DataFrame, name: str, params: dict) -> tuple[list[np.ndarray], int]:
    """TA-Lib's outputs and lookback for one of our indicators and its parameters."""
    info = get(name)
    args = entry(name).talib_kwargs(params)
    described = abstract.Function(info.talib)
    assert next(iter(described.input_names.values())) in (info.inputs[0], list(info.inputs))
    result = getattr(talib, info.talib)(*(df[c].to_numpy() for c in info.inputs), **args)
    described.set_parameters(args)
    return list(result) if isinstance(result, tuple) else [result], described.lookback


def assert_matches_talib(df: pd.DataFrame, name: str, params: dict) -> None:
    ours = _ours(df, name, params)
    theirs, lookback = _talib(df, name, params)
    warmup = get(name).warmup(**params)
    assert warmup == lookback, f"{name}{params}: warm-up {warmup}, TA-Lib lookback {lookback}"
    for output, mine, ref in zip(get(name).outputs, ours, theirs, strict=True):
        where = f"{name}{params}.{output}"
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(ref), err_msg=f"{where}: NaN positions")
        assert int(np.isnan(ref[: len(ref)]).sum()) == min(lookback, len(ref)), where
        finite = ~np.isnan(ref)
        # rtol is the contract; the tiny atol only matters where an output crosses zero (MACD).
        scale = float(np.max(np.abs(ref[finite]))) if finite.any() else 0.0
        np.testing.assert_allclose(mine[finite], ref[finite], rtol=1e-9, atol=1e-12 * scale, err_msg=where)


@pytest.mark.parametrize("name", WITH_TALIB)
def test_talib_counterpart_exists(name: str) -> None:
    assert hasattr(talib, get(name).talib), f"TA-Lib has no {get(name).talib}"


@pytest.mark.parametrize("data", ["ohlcv", "ohlcv_flat"])
@pytest.mark.parametrize("name", WITH_TALIB)
def test_defaults_match_talib(name: str, data: str, request: pytest.FixtureRequest) -> None:
    assert_matches_talib(request.getfixturevalue(data), name, get(name).defaults())


def draw_params(data: st.DataObject, name: str) -> dict:
    """Parameter values drawn from each parameter's declared range, rejecting combinations it refuses."""
    drawn: dict[str, int | float] = {}
    for param in get(name).params:
        if param.kind is int:
            lo = int(param.minimum if param.minimum is not None else 1)
            hi = int(min(param.maximum if param.maximum is not None else 120, 120))
            long = [v for v in LONG_WINDOWS if param.maximum is None or v <= param.maximum]
            drawn[param.name] = data.draw(
                st.one_of(st.integers(lo, max(lo, hi)), st.sampled_from(long)) if long else st.integers(lo, hi),
                label=param.name,
            )
        else:
            lo = float(param.minimum) if param.minimum is not None else -4.0
            hi = float(param.maximum) if param.maximum is not None else max(4.0, 4 * abs(float(param.default)))
            value = data.draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False), label=param.name)
            drawn[param.name] = value
    values, problems = check_params(name, drawn)
    assume(not problems)
    return values


# Sometimes a window as long as (or longer than) the 2,000-bar series.
LONG_WINDOWS = (500, 1000, 1001, 1999, 2000, 2001, 5000)


@pytest.mark.parametrize("name", WITH_TALIB)
@SETTINGS
@given(data=st.data())
def test_matches_talib_over_its_parameter_ranges(
    ohlcv: pd.DataFrame, ohlcv_flat: pd.DataFrame, name: str, data
) -> None:
    params = draw_params(data, name)
    assert_matches_talib(data.draw(st.sampled_from([ohlcv, ohlcv_flat]), label="bars"), name, params)


def test_bbands_stays_accurate_on_a_long_low_volatility_series() -> None:
    # Plain running sums of x and x**2 drift far from TA-Lib here (FX-like prices, tiny moves).
    rng = np.random.default_rng(3)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0.0, 1e-4, 60_000)))
    df = pd.DataFrame({"close": close, "high": close, "low": close})
    assert_matches_talib(df, "bbands", {"period": 20, "nbdev_up": 2.0, "nbdev_down": 2.0})


def _talib_version() -> tuple[int, ...]:
    text = talib.__ta_version__.decode().split()[0]
    return tuple(int(part) for part in text.split(".")[:2])


@pytest.mark.skipif(_talib_version() < (0, 8), reason="older TA-Lib rounds Wilder/EMA steps differently")
@pytest.mark.parametrize("name", WITH_TALIB)
def test_bit_for_bit_equal_to_talib_0_8(ohlcv_flat: pd.DataFrame, name: str) -> None:
    # TA-Lib 0.8 computes its smoothers with explicit fused multiply-adds; the kernels do the same.
    shortened = {p.name: (3 if p.name != "slow" else 5) for p in get(name).params if p.kind is int}
    for params in ({}, shortened):
        full = {**get(name).defaults(), **params}
        if check_params(name, full)[1]:
            continue  # the short windows break a constraint between this indicator's parameters
        ours = _ours(ohlcv_flat, name, full)
        theirs, _ = _talib(ohlcv_flat, name, full)
        for output, mine, ref in zip(get(name).outputs, ours, theirs, strict=True):
            assert np.array_equal(mine, ref, equal_nan=True), f"{name}{full}.{output}"
