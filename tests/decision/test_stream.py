"""FeatureStream equals the batch feature frame, row by row, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.config import parse_strategy
from neurotrade.data import resample, synthetic_ohlcv
from neurotrade.decision import FeatureStream
from neurotrade.decision._stream import _CoarseStream
from neurotrade.errors import FeatureError
from neurotrade.features import feature_frame

_MULTI = """\
name: multi
data: {{source: synthetic, timeframe: {tf}}}
indicators: {{rsi_14: {{}}, macd: {{}}, sma_5: {{type: sma, period: 5}}, bbands: {{}}}}
fuzzy_sets:
  rsi_14: {{low: [0, 0, 30, 40], high: {{shape: gaussian, mean: 70, sigma: 10}}}}
  bbands.upper: {{far: {{shape: sigmoid, slope: 0.5, center: 110}}}}
nn_inputs:
  indicators: [rsi_14, macd.hist, sma_5]
  timeframes: {timeframes}
  lookback_periods: 2
  context: {{returns: [1, 3], price_over_ma: [5], volume_ratio: [4]}}
"""

CASES = {
    "hourly with 4h and 1d, gaps": ("1h", "[1h, 4h, 1d]", 1200, [100, 101, 102, 700]),
    "daily with 1w, gaps": ("1d", "[1d, 1w]", 500, [30, 31, 200]),
    "one timeframe": ("1d", "[1d]", 200, []),
    "hourly seeing only 4h, gaps": ("1h", "[4h]", 600, [50, 51, 300]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_stream_equals_feature_frame(case: str) -> None:
    tf, timeframes, n, dropped = CASES[case]
    spec = parse_strategy(_MULTI.format(tf=tf, timeframes=timeframes))
    bars = synthetic_ohlcv(n, seed=4, timeframe=tf)
    bars = bars.drop(bars.index[dropped])
    expected = feature_frame(bars, spec)
    stream = FeatureStream(spec)
    assert stream.names == list(expected.columns)
    rows = np.array([stream.update(t, bar) for t, bar in bars.iterrows()])
    np.testing.assert_array_equal(rows, expected.to_numpy())  # NaN where NaN, equal bits elsewhere
    assert not np.isnan(rows[-1]).any()


@pytest.mark.parametrize(("tf", "coarse"), [("1h", "4h"), ("1h", "1d"), ("1d", "1w"), ("15m", "1h")])
def test_periods_are_those_of_resample(tf: str, coarse: str) -> None:
    spec = parse_strategy(
        f"name: p\ndata: {{timeframe: {tf}}}\nindicators: {{rsi_14: {{}}}}\nnn_inputs: {{indicators: [rsi_14]}}\n"
    )
    bars = synthetic_ohlcv(400, seed=2, timeframe=tf)
    labels = resample(bars, coarse, incomplete="keep").index.as_unit("ns").asi8
    stream = _CoarseStream(spec, coarse)
    starts = {stream._period(t) for t in bars.index.as_unit("ns").asi8}
    assert sorted(starts) == labels.tolist()


def test_naive_and_repeated_times_are_refused() -> None:
    spec = parse_strategy("name: p\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n")
    bars = synthetic_ohlcv(5, seed=2)
    stream = FeatureStream(spec)
    with pytest.raises(FeatureError, match="has no time zone"):
        stream.update(pd.Timestamp("2024-01-01"), bars.iloc[0])
    stream.update(bars.index[1], bars.iloc[1])
    with pytest.raises(FeatureError, match="is not after the previous bar"):
        stream.update(bars.index[1], bars.iloc[1])
