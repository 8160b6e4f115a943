"""Metrics: expected calibration error, and the warnings that a model collapsed instead of learning."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from neurotrade.training import classification_metrics, collapse_warnings, expected_calibration_error

NAMES = ("SELL", "HOLD", "BUY")


def test_ece_by_hand_with_equal_width_bins() -> None:
    # Confidence 0.95 (bin 0.9-1.0): 2 of 4 right; confidence 0.55 (bin 0.5-0.6): 1 of 1 right.
    proba = np.array([[0.95, 0.05, 0.0]] * 4 + [[0.2, 0.25, 0.55]])
    y = np.array([0, 0, 1, 2, 2])
    expected = 4 / 5 * abs(0.5 - 0.95) + 1 / 5 * abs(1.0 - 0.55)
    assert expected_calibration_error(y, proba) == pytest.approx(expected)
    assert classification_metrics(y, proba, NAMES)["ece"] == pytest.approx(expected)


def test_ece_is_zero_when_confidence_matches_accuracy_in_every_bin() -> None:
    # 10 samples at confidence 0.7, 7 of them right.
    proba = np.tile([0.7, 0.2, 0.1], (10, 1))
    y = np.array([0] * 7 + [1] * 3)
    assert expected_calibration_error(y, proba) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, (40, 3), elements=st.floats(0.01, 1.0)), st.integers(0, 2**16), st.integers(1, 20))
def test_ece_lies_between_zero_and_one(raw: np.ndarray, seed: int, bins: int) -> None:
    proba = raw / raw.sum(axis=1, keepdims=True)
    y = np.random.default_rng(seed).integers(0, 3, size=40)
    assert 0.0 <= expected_calibration_error(y, proba, bins=bins) <= 1.0


def test_a_healthy_model_raises_no_warning() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300)
    proba = np.full((300, 3), 0.2)
    proba[np.arange(300), y] = 0.6  # right and moderately sure
    x = rng.normal(size=(300, 4))
    assert collapse_warnings(y, proba, x, class_names=NAMES) == []


def test_one_class_for_nearly_every_sample() -> None:
    y = np.arange(100) % 3
    proba = np.tile([0.2, 0.5, 0.3], (100, 1))
    proba[:4] = [0.6, 0.2, 0.2]  # 96 % HOLD
    (warning,) = collapse_warnings(y, proba, None, class_names=NAMES)
    assert warning.startswith("the model predicts HOLD for 96.0 % of the 100 samples: it has collapsed onto one class")
    proba[:6] = [0.6, 0.2, 0.2]  # 94 %: not yet
    assert collapse_warnings(y, proba, None, class_names=NAMES) == []


def test_constant_and_nan_features_over_windows() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4, 3))  # (samples, lookback, features)
    x[:, :, 1] = 2.5
    x[7, 2, 2] = np.nan
    y = np.arange(50) % 3
    proba = np.eye(3)[y] * 0.5 + 0.5 / 3
    found = collapse_warnings(y, proba, x, feature_names=["rsi", "adx", "macd"])
    assert found == [
        "input feature 'macd' is NaN in 1 of 200 rows: features must be complete after warm-up; find where it comes "
        "from rather than filling it",
        "input feature 'adx' is constant (2.5) over the samples: it carries no information; check its indicator and "
        "fuzzy sets",
    ]


def test_extreme_confidence() -> None:
    y = np.arange(90) % 3
    saturated = np.full((90, 3), 0.001)
    saturated[np.arange(90), y] = 0.998
    (warning,) = collapse_warnings(y, saturated, None)
    assert warning.startswith("the mean confidence is 0.998 (above 0.99): the probabilities are saturated")
    # 0.98 sure while no better than the majority rate: class 0 is 60 % of the samples, the model right on half.
    y = np.r_[np.zeros(60, dtype=int), np.ones(40, dtype=int)]
    predicted = np.r_[np.zeros(30, dtype=int), np.ones(30, dtype=int), np.zeros(20, dtype=int), np.ones(20, dtype=int)]
    sure = np.full((100, 3), 0.01)
    sure[np.arange(100), predicted] = 0.98
    (warning,) = collapse_warnings(y, sure, None)
    assert warning == (
        "the mean confidence is 0.980 while the accuracy (0.500) is no better than always answering the most common "
        "class (0.600): the model is sure of answers it gets wrong"
    )
    right = sure.copy()
    right[np.arange(100), predicted], right[np.arange(100), y] = 0.01, 0.98  # as sure, and right: no warning
    assert collapse_warnings(y, right, None) == []
