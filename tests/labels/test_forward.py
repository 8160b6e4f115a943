"""Forward returns with t1, and quantile classes fitted on the training returns only."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade.errors import DataError, FeatureError
from neurotrade.labels import QuantileClasses, forward_returns


def series(values: list[float]) -> pd.Series:
    idx = pd.date_range("2024-01-01", periods=len(values), freq="h", tz="UTC", name="time")
    return pd.Series(values, index=idx, dtype=float)


def test_forward_returns_by_hand() -> None:
    close = series([100, 110, 99, 120])
    out = forward_returns(close, horizon=1)
    assert out["ret"].iloc[:3].tolist() == pytest.approx([math.log(1.1), math.log(0.9), math.log(120 / 99)])
    assert math.isnan(out["ret"].iloc[3]) and pd.isna(out["t1"].iloc[3])
    assert out["t1"].iloc[:3].tolist() == close.index[1:].tolist()
    assert list(out.columns) == ["ret", "t1"] and out.index.equals(close.index)


def test_a_horizon_longer_than_the_data_decides_nothing() -> None:
    out = forward_returns(series([100, 101, 102]), horizon=3)
    assert out["ret"].isna().all() and out["t1"].isna().all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(1, 1000), min_size=1, max_size=50), st.integers(1, 10))
def test_forward_return_depends_on_bars_t_to_t1_only(values: list[float], horizon: int) -> None:
    close = series(values)
    out = forward_returns(close, horizon=horizon)
    pos = out.index.get_indexer(out["t1"])
    for t, (ret, t1) in enumerate(zip(out["ret"], pos, strict=True)):
        if t + horizon < len(values):
            assert t1 == t + horizon
            assert ret == pytest.approx(math.log(values[t1] / values[t]), rel=1e-12, abs=1e-15)
        else:
            assert t1 == -1 and math.isnan(ret)


def test_forward_returns_rejects_bad_input() -> None:
    with pytest.raises(DataError, match=r"forward_returns: close must be > 0.*2024-01-01 01:00:00\+00:00 \(0.0\)"):
        forward_returns(series([1, 0, 2]), horizon=1)
    with pytest.raises(ValueError, match="horizon must be an int >= 1, got 0"):
        forward_returns(series([1, 2]), horizon=0)


def test_quantile_classes_by_hand() -> None:
    q = QuantileClasses(3).fit(np.arange(1.0, 10.0))  # 1..9: tertiles at 11/3 and 19/3
    assert q.thresholds_.tolist() == pytest.approx([11 / 3, 19 / 3])
    got = q.transform(np.array([-5.0, 11 / 3, 3.7, 6.3, 19 / 3, 7.0, np.nan]))
    np.testing.assert_array_equal(got, [0, 0, 1, 1, 1, 2, np.nan])
    assert got.dtype == np.float64


def test_quantile_classes_fit_ignores_nan_and_balances_the_training_window() -> None:
    rng = np.random.default_rng(4)
    train = rng.normal(0, 0.01, 3000)
    q = QuantileClasses(5).fit(np.append(train, [np.nan, np.nan]))
    counts = np.bincount(q.transform(train).astype(int), minlength=5)
    assert counts.tolist() == [600] * 5


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-0.1, 0.1), min_size=5, max_size=60),
    st.lists(st.one_of(st.floats(-1, 1), st.just(math.nan)), min_size=1, max_size=60),
)
def test_thresholds_come_from_the_training_returns_only(train: list[float], test: list[float]) -> None:
    alone = QuantileClasses(3).fit(np.asarray(train))
    q = QuantileClasses(3).fit(np.asarray(train))
    q.transform(np.asarray(test))
    np.testing.assert_array_equal(q.thresholds_, alone.thresholds_)
    changed = np.asarray(test) * -3 + 0.5
    np.testing.assert_array_equal(q.transform(changed), alone.transform(changed))


def test_quantile_classes_round_trip_through_json() -> None:
    q = QuantileClasses(4).fit(np.linspace(-1, 1, 21))
    again = QuantileClasses.from_dict(json.loads(json.dumps(q.to_dict())))
    assert again.n_classes == 4
    np.testing.assert_array_equal(again.thresholds_, q.thresholds_)
    x = np.linspace(-2, 2, 41)
    np.testing.assert_array_equal(again.transform(x), q.transform(x))


def test_quantile_classes_not_fitted_and_bad_state() -> None:
    q = QuantileClasses()
    with pytest.raises(FeatureError, match=r"not fitted yet; call fit\(\) on the training returns before transform"):
        q.transform(np.zeros(3))
    with pytest.raises(FeatureError, match="not fitted"):
        q.to_dict()
    with pytest.raises(FeatureError, match="on 2 non-NaN return"):
        q.fit(np.array([0.1, np.nan, 0.2]))
    with pytest.raises(FeatureError, match="infinite"):
        q.fit(np.array([0.1, np.inf, 0.2, 0.3]))
    with pytest.raises(FeatureError, match="expected a 1-D array"):
        q.fit(np.zeros((3, 2)))
    with pytest.raises(FeatureError, match=r"missing key\(s\) \['thresholds'\]"):
        QuantileClasses.from_dict({"n_classes": 3})
    with pytest.raises(FeatureError, match="must be 2 finite numbers for n_classes=3"):
        QuantileClasses.from_dict({"n_classes": 3, "thresholds": [0.1]})
    with pytest.raises(FeatureError, match="increasing order"):
        QuantileClasses.from_dict({"n_classes": 3, "thresholds": [0.2, 0.1]})
    with pytest.raises(ValueError, match="n_classes must be an int >= 2, got 1"):
        QuantileClasses(1)


def test_tied_thresholds_are_reported(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="neurotrade.labels"):
        q = QuantileClasses(3).fit(np.array([0.0] * 8 + [0.01, -0.01]))
    assert q.thresholds_.tolist() == [0.0, 0.0]
    assert "class(es) [1] can never occur" in caplog.text
