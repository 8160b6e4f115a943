"""Sequence windows are views of the feature matrix; the feature cache is verified and rebuilt when corrupt."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.config import parse_strategy
from neurotrade.errors import FeatureError
from neurotrade.features import FeatureCache, build_features, context_features, window_rows, windows

SPEC = parse_strategy(
    "name: t\nindicators: {rsi_14: {}}\n"
    "nn_inputs: {indicators: [rsi_14], context: {returns: [1, 5], price_over_ma: [20], volume_ratio: [10]}}\n"
)


def test_windows_share_memory_with_the_feature_matrix(bars: pd.DataFrame) -> None:
    matrix = np.ascontiguousarray(build_features(bars, SPEC).frame.to_numpy())
    w = windows(matrix, 30)
    assert w.shape == (len(matrix) - 29, 30, matrix.shape[1])
    assert np.shares_memory(w, matrix)
    assert w.base is not None and not w.flags.writeable
    rows = window_rows(len(matrix), 30)
    for i in (0, 17, len(w) - 1):
        np.testing.assert_array_equal(w[i], matrix[rows[i] - 29 : rows[i] + 1])  # ends at its own row
    with pytest.raises(FeatureError, match="lookback must be from 1 to the"):
        windows(matrix, len(matrix) + 1)


def test_context_features_are_scale_free_and_causal(bars: pd.DataFrame) -> None:
    ctx = context_features(bars, SPEC.nn_inputs.context)
    assert list(ctx.columns) == ["ret_1", "ret_5", "close_over_sma_20", "volume_ratio_10"]
    scaled = bars.copy()
    scaled[["open", "high", "low", "close"]] *= 37.0  # the same market in another currency
    pd.testing.assert_frame_equal(context_features(scaled, SPEC.nn_inputs.context), ctx, rtol=1e-12)
    part = context_features(bars.iloc[:500], SPEC.nn_inputs.context)
    pd.testing.assert_frame_equal(part, ctx.iloc[:500])


def test_cache_hits_and_rebuilds_a_corrupt_entry(bars: pd.DataFrame, tmp_path, caplog) -> None:
    cache = FeatureCache(tmp_path)
    first = cache.load_or_build(bars, SPEC, build_features)
    assert cache.load_or_build(bars, SPEC, build_features).frame.equals(first.frame) and cache.hits == 1
    (table,) = (tmp_path / "cache" / "features").glob("*.parquet")
    blob = bytearray(table.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    table.write_bytes(bytes(blob))
    with caplog.at_level("WARNING"):
        again = cache.load_or_build(bars, SPEC, build_features)
    assert cache.hits == 1 and "is corrupt (sha256 mismatch); rebuilding it" in caplog.text
    assert again.frame.equals(first.frame)
    assert cache.load_or_build(bars, SPEC, build_features).frame.equals(first.frame) and cache.hits == 2


def test_cache_key_changes_with_data_and_spec(bars: pd.DataFrame, tmp_path) -> None:
    cache = FeatureCache(tmp_path)
    other_spec = SPEC.model_copy(update={"nn_inputs": SPEC.nn_inputs.model_copy(update={"lookback_periods": 1})})
    keys = {cache.key(bars, SPEC), cache.key(bars.iloc[:-1], SPEC), cache.key(bars, other_spec)}
    assert len(keys) == 3
