"""synthetic_ohlcv: valid, reproducible, and carrying a signal a causal feature can learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.data import infer_timeframe, synthetic_ohlcv, validate_ohlcv
from neurotrade.errors import DataError

HORIZON = 5


def _reversion_accuracy(close: pd.Series, train_share: float = 0.6) -> float:
    """Held-out accuracy of the sign of a causal feature for the sign of the next HORIZON bars' return.

    The feature is the close's distance from its trailing 20-bar mean (bars t-19..t only). Its
    direction is fitted on the first bars; the accuracy is measured on the rest.
    """
    feature = (close / close.rolling(20).mean() - 1).to_numpy()
    future = close.to_numpy()[HORIZON:] / close.to_numpy()[:-HORIZON] - 1  # the label, never a feature
    feature = feature[:-HORIZON]
    keep = ~np.isnan(feature)
    feature, future = feature[keep], future[keep]
    split = int(len(feature) * train_share)
    direction = np.sign(np.corrcoef(feature[:split], future[:split])[0, 1])
    hits = np.sign(direction * feature[split:]) == np.sign(future[split:])
    return float(hits.mean())


def test_a_valid_ohlcv_frame():
    df = synthetic_ohlcv(300)
    validate_ohlcv(df)
    assert len(df) == 300
    assert df.index[0] == pd.Timestamp("2000-01-03", tz="UTC")
    assert (df.index.day_of_week < 5).all()
    assert infer_timeframe(df) == "1d"


def test_same_seed_same_frame_other_seed_other_frame():
    pd.testing.assert_frame_equal(synthetic_ohlcv(500, seed=7), synthetic_ohlcv(500, seed=7))
    other = synthetic_ohlcv(500, seed=8)
    assert not np.allclose(other["close"].to_numpy(), synthetic_ohlcv(500, seed=7)["close"].to_numpy())


@pytest.mark.parametrize(("timeframe", "spacing"), [("1m", "1min"), ("4h", "4h"), ("1w", "7D")])
def test_timeframes(timeframe, spacing):
    df = synthetic_ohlcv(50, timeframe=timeframe, start="2021-03-01")
    validate_ohlcv(df)
    assert (np.diff(df.index.asi8) == pd.Timedelta(spacing).value // 1000).all()
    assert infer_timeframe(df) == timeframe
    if timeframe == "1w":
        assert (df.index.day_of_week == 0).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_planted_signal_is_learnable_on_held_out_bars(seed):
    accuracy = _reversion_accuracy(synthetic_ohlcv(2000, seed=seed)["close"])
    assert accuracy > 0.55


def test_without_the_structure_the_same_feature_is_at_chance():
    # The same returns in a shuffled order keep their distribution but lose the mean reversion.
    close = synthetic_ohlcv(2000, seed=0)["close"]
    returns = np.diff(np.log(close.to_numpy()))
    shuffled = np.random.default_rng(0).permutation(returns)
    walk = pd.Series(100 * np.exp(np.concatenate(([0.0], np.cumsum(shuffled)))))
    assert abs(_reversion_accuracy(walk) - 0.5) < 0.05


def test_the_volatile_regime_shows_in_volatility():
    returns = np.diff(np.log(synthetic_ohlcv(3000, seed=3)["close"].to_numpy()))
    rolling = pd.Series(returns).rolling(20).std().dropna()
    # Two regimes with noise 1% and 2%: the rolling volatility spans both levels.
    assert rolling.quantile(0.1) < 0.012
    assert rolling.quantile(0.95) > 0.017


@pytest.mark.parametrize("n_bars", [0, -5, 2.5])
def test_bad_length(n_bars):
    with pytest.raises(DataError, match="n_bars must be a positive integer"):
        synthetic_ohlcv(n_bars)  # type: ignore[arg-type]


def test_bad_start_and_timeframe():
    with pytest.raises(DataError, match="cannot read start='soon' as a date"):
        synthetic_ohlcv(10, start="soon")
    with pytest.raises(DataError, match="unknown timeframe '2d'"):
        synthetic_ohlcv(10, timeframe="2d")
