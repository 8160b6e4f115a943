"""compute(): a frame in, a float64 frame on the same index out; bad input is refused clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.errors import IndicatorError
from neurotrade.indicators import compute


def test_returns_float64_outputs_on_the_same_index(ohlcv: pd.DataFrame) -> None:
    out = compute(ohlcv, "bbands", period=10)
    assert list(out.columns) == ["upper", "middle", "lower"]
    assert out.index.equals(ohlcv.index)
    assert (out.dtypes == np.float64).all()
    valid = out.dropna()
    assert (valid["lower"] <= valid["middle"]).all() and (valid["middle"] <= valid["upper"]).all()


def test_reads_only_the_inputs_it_needs(ohlcv: pd.DataFrame) -> None:
    closes = ohlcv[["close"]]
    assert compute(closes, "rsi").equals(compute(ohlcv, "rsi"))


def test_integer_columns_are_accepted() -> None:
    bars = pd.DataFrame({"close": [1, 2, 3, 4]})
    assert compute(bars, "sma", period=2)["sma"].tolist()[1:] == [1.5, 2.5, 3.5]


def test_missing_columns_are_named(ohlcv: pd.DataFrame) -> None:
    with pytest.raises(IndicatorError) as caught:
        compute(ohlcv[["close", "volume"]], "atr")
    assert str(caught.value) == (
        "indicator 'atr' needs column(s) 'high', 'low', which the frame lacks (it has: close, volume); "
        "column names must be lower case OHLCV names"
    )


def test_nan_in_an_input_is_refused_with_its_row(ohlcv: pd.DataFrame) -> None:
    broken = ohlcv.copy()
    broken.loc[broken.index[[5, 9]], "close"] = np.nan
    with pytest.raises(IndicatorError) as caught:
        compute(broken, "ema")
    assert str(caught.value) == (
        "indicator 'ema': column 'close' has 2 NaN or infinite value(s), the first at row 5 "
        "(index 2020-01-01 05:00:00+00:00); the OHLCV contract forbids missing or infinite values; "
        "repair or drop those rows explicitly before computing indicators"
    )


def test_nan_in_a_column_it_does_not_read_is_not_its_business(ohlcv: pd.DataFrame) -> None:
    broken = ohlcv.copy()
    broken["volume"] = np.nan
    assert compute(broken, "rsi").equals(compute(ohlcv, "rsi"))


def test_non_numeric_column_is_refused() -> None:
    with pytest.raises(IndicatorError, match="indicator 'sma': column 'close' must be numeric, it is str"):
        compute(pd.DataFrame({"close": ["a", "b"]}), "sma")


def test_duplicate_column_is_refused(ohlcv: pd.DataFrame) -> None:
    doubled = pd.concat([ohlcv[["close"]], ohlcv[["close"]]], axis=1)
    with pytest.raises(IndicatorError, match="column 'close' appears more than once"):
        compute(doubled, "sma")


def test_something_else_than_a_frame_is_refused(ohlcv: pd.DataFrame) -> None:
    with pytest.raises(IndicatorError, match="needs a pandas DataFrame of OHLCV bars, got Series"):
        compute(ohlcv["close"], "sma")  # type: ignore[arg-type]


def test_bad_parameters_are_refused_before_any_work(ohlcv: pd.DataFrame) -> None:
    with pytest.raises(IndicatorError, match="period: must be an integer from 2 to 100000, got 0"):
        compute(ohlcv, "sma", period=0)


def test_flat_prices_give_the_documented_values() -> None:
    flat = pd.DataFrame({"high": [5.0] * 40, "low": [5.0] * 40, "close": [5.0] * 40})
    assert (compute(flat, "rsi")["rsi"].dropna() == 0.0).all()
    assert (compute(flat, "atr")["atr"].dropna() == 0.0).all()
    assert (compute(flat, "adx", period=5)["adx"].dropna() == 0.0).all()
    bands = compute(flat, "bbands", period=5).dropna()
    assert (bands["upper"] == 5.0).all() and (bands["lower"] == 5.0).all()
