"""compute(): a frame in, a float64 frame on the same index out; bad input is refused clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.errors import IndicatorError
from neurotrade.indicators import compute, get
from neurotrade.indicators._compute import _input_matrix


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


# --- the inputs read in place ------------------------------------------------------------------------
def test_the_frames_own_memory_is_read_read_only_and_unchanged(ohlcv: pd.DataFrame) -> None:
    bars = ohlcv.copy()
    before = bars.to_numpy().copy()
    x = _input_matrix(bars, get("atr"))
    assert x.shape == (len(bars), 3) and x.flags.f_contiguous and not x.flags.writeable
    assert np.shares_memory(x, bars["close"].to_numpy())
    assert np.array_equal(x, bars[["high", "low", "close"]].to_numpy())
    compute(bars, "atr")
    assert np.array_equal(bars.to_numpy(), before)


def _layouts(bars: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The same bars held in memory in different ways."""
    reordered = bars[["volume", "close", "low", "high", "open"]].copy()
    interleaved = pd.DataFrame(np.ascontiguousarray(bars.to_numpy()), index=bars.index, columns=bars.columns)
    mixed = bars.assign(volume=bars["volume"].round().astype(np.int64))
    nullable = bars.astype("Float64")
    column_by_column = pd.DataFrame(index=bars.index)
    for column in bars.columns:
        column_by_column[column] = bars[column].to_numpy().copy()
    return {
        "reordered": reordered,
        "interleaved": interleaved,
        "mixed": mixed,
        "nullable": nullable,
        "column_by_column": column_by_column,
    }


@pytest.mark.parametrize("name", ["atr", "ad", "medprice", "bop", "obv", "trange", "midprice", "sma"])
def test_every_memory_layout_gives_the_same_values(ohlcv: pd.DataFrame, name: str) -> None:
    whole = ohlcv.assign(volume=ohlcv["volume"].round())  # whole volumes, which an integer column holds exactly
    want = compute(whole, name)
    for layout, bars in _layouts(whole).items():
        x = _input_matrix(bars, get(name))
        assert not x.flags.writeable, layout
        assert np.array_equal(x, whole[list(get(name).inputs)].to_numpy()), layout
        got = compute(bars, name)
        assert np.array_equal(got.to_numpy(), want.to_numpy(), equal_nan=True), f"{name} on {layout} bars"


def test_columns_are_found_without_pandas_private_accessor(ohlcv: pd.DataFrame, monkeypatch) -> None:
    want = compute(ohlcv, "adosc")
    monkeypatch.delattr(pd.DataFrame, "_get_column_array")
    assert np.array_equal(compute(ohlcv, "adosc").to_numpy(), want.to_numpy(), equal_nan=True)


@pytest.mark.parametrize("layout", ["side by side", "interleaved"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_bad_value_is_refused_whatever_the_layout(ohlcv: pd.DataFrame, layout: str, bad: float) -> None:
    broken = ohlcv.copy()
    broken.loc[broken.index[[7, 1500]], "low"] = bad
    if layout == "interleaved":
        broken = pd.DataFrame(np.ascontiguousarray(broken.to_numpy()), index=broken.index, columns=broken.columns)
    with pytest.raises(IndicatorError) as caught:
        compute(broken, "atr")
    assert str(caught.value) == (
        "indicator 'atr': column 'low' has 2 NaN or infinite value(s), the first at row 7 "
        "(index 2020-01-01 07:00:00+00:00); the OHLCV contract forbids missing or infinite values; "
        "repair or drop those rows explicitly before computing indicators"
    )


def test_the_missing_column_is_named_before_a_duplicate_or_a_bad_type(ohlcv: pd.DataFrame) -> None:
    frame = pd.concat([ohlcv[["high"]], ohlcv[["high"]]], axis=1).assign(low=["x"] * len(ohlcv))
    with pytest.raises(IndicatorError, match=r"needs column\(s\) 'close', which the frame lacks"):
        compute(frame, "atr")


def test_an_empty_frame_gives_an_empty_result() -> None:
    empty = pd.DataFrame({c: np.empty(0) for c in ("open", "high", "low", "close", "volume")})
    assert compute(empty, "atr").shape == (0, 1)
    assert compute(empty, "midprice").shape == (0, 1)


# --- parameters checked once, and never a checked one for an unchecked one -----------------------------
def test_a_value_equal_to_a_valid_one_but_of_another_type_is_still_refused(ohlcv: pd.DataFrame) -> None:
    # 3 == 3.0 and 1 == True, with equal hashes: a cache keyed on the values alone would take these for valid.
    compute(ohlcv, "sma", period=3)
    with pytest.raises(IndicatorError, match="period: must be an integer"):
        compute(ohlcv, "sma", period=3.0)
    compute(ohlcv, "mom", period=1)
    with pytest.raises(IndicatorError, match="period: must be an integer"):
        compute(ohlcv, "mom", period=True)


def test_an_invalid_parameter_is_refused_every_time(ohlcv: pd.DataFrame) -> None:
    for _ in range(2):
        with pytest.raises(IndicatorError, match="period: must be an integer from 2"):
            compute(ohlcv, "sma", period=1)


def test_each_result_has_its_own_column_labels(ohlcv: pd.DataFrame) -> None:
    first = compute(ohlcv, "bbands")
    first.columns.name = "output"
    second = compute(ohlcv, "bbands")
    assert second.columns.name is None
    assert list(second.columns) == ["upper", "middle", "lower"]


def test_a_strided_column_that_starts_on_a_row_of_its_owner_is_not_read_as_that_row() -> None:
    """A column viewing every other value of its owner's memory, starting where a row starts, passed the
    side-by-side test and the kernel read the owner's contiguous row instead (wrong MIDPRICE values)."""
    n = 6
    owner = np.arange(3 * n, dtype=np.float64).reshape(3, n) + 100.0
    high, low = owner[0], owner.reshape(-1)[n : 3 * n : 2]
    frame = pd.DataFrame({"high": high, "low": low}, copy=False)
    assert np.shares_memory(frame["low"].to_numpy(), owner)  # the frame holds the strided view itself
    expected = (frame["high"].rolling(2).max() + frame["low"].rolling(2).min()) / 2
    np.testing.assert_allclose(compute(frame, "midprice", period=2)["midprice"], expected, rtol=1e-12)
