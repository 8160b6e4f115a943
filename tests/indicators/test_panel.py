"""Panels: many symbols in, (symbol, output) columns out, each symbol exactly as computed alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.data import synthetic_ohlcv
from neurotrade.errors import IndicatorError
from neurotrade.indicators import compute, get

N_BARS = 260


def make_ohlcv(n: int, seed: int) -> pd.DataFrame:
    return synthetic_ohlcv(n, seed=seed, start="2020-01-01", timeframe="1h")


def _frames() -> dict[str, pd.DataFrame]:
    """Four symbols over one calendar: one complete, one listed late, one delisted early, one halted."""
    full = {name: make_ohlcv(N_BARS, seed) for name, seed in (("ZZZ", 1), ("LATE", 2), ("EARLY", 3), ("HALT", 4))}
    return {
        "ZZZ": full["ZZZ"],
        "LATE": full["LATE"].iloc[70:],
        "EARLY": full["EARLY"].iloc[:150],
        "HALT": full["HALT"].drop(full["HALT"].index[100:130]),
    }


FRAMES = _frames()
PANEL = pd.concat(FRAMES, axis=1)  # NaN-padded where a symbol has no bar


def test_panel_layout_is_what_the_tests_assume() -> None:
    assert PANEL.shape == (N_BARS, 4 * 5)
    assert PANEL["LATE"].iloc[:70].isna().all().all() and PANEL["HALT"].iloc[100:130].isna().all().all()


def test_every_indicator_equals_per_symbol_compute_bit_for_bit(case) -> None:
    name, params = case
    result = compute(PANEL, name, **params)
    outputs = list(get(name).outputs)
    assert list(result.columns) == [(s, o) for s in FRAMES for o in outputs]
    assert result.columns.names == ["symbol", "output"]
    assert result.index.equals(PANEL.index)
    assert (result.dtypes == np.float64).all()
    for symbol, frame in FRAMES.items():
        alone = compute(frame, name, **params)
        mine = result[symbol]
        assert np.array_equal(mine.loc[frame.index].to_numpy(), alone.to_numpy(), equal_nan=True), symbol
        gaps = mine.drop(frame.index)
        assert gaps.isna().all().all(), f"{symbol}: rows without a bar must be NaN"


def test_a_dict_of_frames_gives_the_same_as_the_panel() -> None:
    from_dict = compute(FRAMES, "macd", fast=5, slow=11, signal=4)
    assert from_dict.equals(compute(PANEL, "macd", fast=5, slow=11, signal=4))


def test_a_dict_of_frames_on_one_index_keeps_that_index_as_it_is() -> None:
    frames = {"B": make_ohlcv(50, 5), "A": make_ohlcv(50, 6)}
    reversed_index = {s: f.iloc[::-1] for s, f in frames.items()}
    result = compute(reversed_index, "sma", period=3)
    assert result.index.equals(frames["B"].index[::-1])
    alone = compute(reversed_index["A"], "sma", period=3)["sma"].to_numpy()
    assert np.array_equal(result["A", "sma"].to_numpy(), alone, equal_nan=True)


def test_symbols_keep_their_order_and_a_consolidated_panel_gives_the_same() -> None:
    order = ["ZZZ", "HALT", "EARLY", "LATE"]
    shuffled = pd.concat({s: FRAMES[s] for s in order}, axis=1)
    result = compute(shuffled, "rsi")
    assert list(result.columns.get_level_values("symbol").unique()) == order
    # one float block instead of one per symbol: the same values
    consolidated = pd.DataFrame(shuffled.to_numpy(), index=shuffled.index, columns=shuffled.columns)
    assert compute(consolidated, "rsi").equals(result)
    # fields in another order, and extra fields, change nothing
    extra = shuffled.copy()
    for s in order:
        extra[s, "vwap"] = (extra[s, "high"] + extra[s, "low"] + extra[s, "close"]) / 3.0
    extra = extra[[(s, f) for s in order for f in ("vwap", "volume", "close", "low", "high", "open")]]
    assert compute(extra, "rsi").equals(result)


def test_a_symbol_without_enough_bars_is_nan_and_one_without_any_too() -> None:
    panel = PANEL.copy()
    panel.loc[:, "ZZZ"] = np.nan
    panel.loc[panel.index[3:], "EARLY"] = np.nan
    result = compute(panel, "atr", period=5)
    assert result["ZZZ"].isna().all().all() and result["EARLY"].isna().all().all()
    assert result["LATE"].notna().any().all()


def test_a_panel_of_closes_only_is_enough_for_close_indicators() -> None:
    closes = PANEL.loc[:, (slice(None), "close")]
    assert compute(closes, "ema", period=7).equals(compute(PANEL, "ema", period=7))


@pytest.mark.parametrize("bars_per_thread", [1, 10**9])
def test_one_thread_and_several_give_the_same_values(monkeypatch, bars_per_thread: int) -> None:
    # Small panels run on one thread, big ones on several; force each way on the same panel.
    monkeypatch.setattr("neurotrade.indicators._panel._MIN_BARS_PER_THREAD", bars_per_thread)
    for name in ("sma", "rsi", "bbands"):
        result = compute(PANEL, name)
        for symbol, frame in FRAMES.items():
            alone = compute(frame, name).to_numpy()
            assert np.array_equal(result[symbol].loc[frame.index].to_numpy(), alone, equal_nan=True)


def test_a_missing_field_is_named_with_the_symbol() -> None:
    with pytest.raises(IndicatorError) as caught:
        compute(PANEL.drop(columns=[("EARLY", "high")]), "atr")
    assert str(caught.value) == (
        "indicator 'atr' needs the field 'high' of every symbol; symbol 'EARLY' has open, low, close, volume"
    )


def test_a_misspelt_field_gets_a_suggestion() -> None:
    renamed = PANEL.rename(columns={"close": "Close"}, level=1)
    with pytest.raises(IndicatorError, match="did you mean 'Close'\\? Fields must be lower-case OHLCV names"):
        compute(renamed, "sma")


def test_a_bar_with_some_inputs_missing_is_refused_with_its_place() -> None:
    broken = PANEL.copy()
    broken.loc[broken.index[200], ("ZZZ", "low")] = np.nan
    with pytest.raises(IndicatorError) as caught:
        compute(broken, "atr")
    assert str(caught.value).startswith(
        "indicator 'atr': symbol 'ZZZ' has 'low' NaN or infinite at row 200 (index 2020-01-09 08:00:00+00:00) "
        "while its other inputs have values; a row is 'no bar' only when all of the symbol's fields are NaN"
    )


def test_an_infinite_input_is_refused_even_alone_on_its_row() -> None:
    broken = PANEL.loc[:, (slice(None), "close")].copy()
    broken.loc[broken.index[120], ("HALT", "close")] = np.inf
    with pytest.raises(IndicatorError, match="symbol 'HALT' has 'close' NaN or infinite at row 120"):
        compute(broken, "sma")


def test_inputs_missing_where_another_field_has_a_value_are_refused() -> None:
    # close gone but volume still there: a bar with its close missing, not "no bar"
    broken = PANEL.copy()
    broken.loc[broken.index[10], ("ZZZ", "close")] = np.nan
    with pytest.raises(IndicatorError) as caught:
        compute(broken, "sma")
    assert str(caught.value).startswith(
        "indicator 'sma': symbol 'ZZZ' has 'open' at row 10 (index 2020-01-01 10:00:00+00:00) but 'close' NaN there"
    )
    # the fields the indicator does not read may be missing on their own, as with one frame
    no_volume = PANEL.copy()
    no_volume.loc[no_volume.index[10], ("ZZZ", "volume")] = np.nan
    assert compute(no_volume, "sma").equals(compute(PANEL, "sma"))


def test_badly_shaped_panels_are_refused() -> None:
    three_levels = pd.concat({"x": PANEL}, axis=1)
    with pytest.raises(IndicatorError, match="a MultiIndex with 2 levels; this one has 3"):
        compute(three_levels, "sma")
    doubled = pd.concat([PANEL, PANEL[[("ZZZ", "close")]]], axis=1)
    with pytest.raises(IndicatorError, match="the panel has the column \\('ZZZ', 'close'\\) more than once"):
        compute(doubled, "sma")
    text = PANEL.copy()
    text["ZZZ", "close"] = "n/a"
    with pytest.raises(IndicatorError, match="panel column \\('ZZZ', 'close'\\) must be numeric, it is str"):
        compute(text, "sma")


def test_bad_dicts_are_refused() -> None:
    with pytest.raises(IndicatorError, match="the dict of frames is empty"):
        compute({}, "sma")
    with pytest.raises(IndicatorError, match="symbol 'A' must map to a pandas DataFrame of OHLCV bars, got Series"):
        compute({"A": FRAMES["ZZZ"]["close"]}, "sma")
    broken = FRAMES["ZZZ"].copy()
    broken.iloc[4, 3] = np.nan
    with pytest.raises(IndicatorError) as caught:
        compute({"A": FRAMES["LATE"], "B": broken}, "sma")
    assert str(caught.value).startswith("symbol 'B': indicator 'sma': column 'close' has 1 NaN or infinite value(s)")
    unsorted = FRAMES["ZZZ"].iloc[::-1]
    with pytest.raises(IndicatorError, match="symbol 'B''s is not \\(sort it and drop duplicate rows\\)"):
        compute({"A": FRAMES["LATE"], "B": unsorted}, "sma")


def test_parameters_are_checked_before_the_panel() -> None:
    with pytest.raises(IndicatorError, match="period: must be an integer from 2 to 100000, got 1"):
        compute({}, "sma", period=1)


def test_a_text_field_counts_only_as_present_or_missing() -> None:
    labelled = PANEL.copy()
    for symbol, frame in FRAMES.items():
        labelled[symbol, "venue"] = pd.Series("XNAS", index=frame.index).reindex(PANEL.index)
    assert compute(labelled, "sma").equals(compute(PANEL, "sma"))
    labelled.loc[labelled.index[5], ("LATE", "venue")] = "XNYS"  # LATE has no bar on row 5
    with pytest.raises(IndicatorError, match=r"symbol 'LATE' has 'venue' at row 5 .* but 'close' NaN there"):
        compute(labelled, "sma")
    swapped = labelled.rename(columns={"close": "venue", "venue": "close"}, level=1)  # the text is now read
    with pytest.raises(IndicatorError, match=r"panel column \('ZZZ', 'close'\) must be numeric, it is str"):
        compute(swapped, "sma")


def test_an_empty_panel_gives_an_empty_result() -> None:
    result = compute(PANEL.iloc[:0], "macd")
    assert result.shape == (0, 4 * 3) and list(result.columns.get_level_values("output")[:3]) == [
        "macd",
        "signal",
        "hist",
    ]
