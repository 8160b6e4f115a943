"""Balanced class weights, worked by hand."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from neurotrade.labels import class_weights


def test_balanced_weights_by_hand() -> None:
    # 10 labels: 2 SELL, 3 HOLD, 5 BUY -> 10/(3*2), 10/(3*3), 10/(3*5); the NaN is not a label.
    labels = pd.Series([0, 0, 1, 1, 1, 2, 2, 2, 2, 2, np.nan])
    w = class_weights(labels, 3)
    assert w.tolist() == pytest.approx([10 / 6, 10 / 9, 10 / 15])
    # Each class then carries the same total weight, n / n_classes.
    counts = np.array([2, 3, 5])
    assert (w * counts).tolist() == pytest.approx([10 / 3] * 3)


def test_balanced_labels_get_weight_one_and_binary_works() -> None:
    assert class_weights(np.array([0, 1, 0, 1]), 2).tolist() == [1.0, 1.0]
    assert class_weights(np.array([1.0, 1.0, 1.0, 0.0]), 2).tolist() == pytest.approx([2.0, 2 / 3])


def test_an_absent_class_gets_zero_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="neurotrade.labels"):
        w = class_weights(np.array([0.0, 2.0, 2.0, 2.0]), 3)
    assert w.tolist() == pytest.approx([4 / 3, 0.0, 4 / 9])
    assert "class 1 (HOLD) has no sample among 4 labels; its weight is 0" in caplog.text


def test_bad_labels_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"whole numbers in 0..2.*found \[0.5, 3.0\]"):
        class_weights(np.array([0, 3, 0.5, 1]), 3)
    with pytest.raises(ValueError, match="no labels to weight"):
        class_weights(np.array([np.nan, np.nan]), 3)
    with pytest.raises(ValueError, match="n_classes must be an int >= 2"):
        class_weights(np.array([0, 1]), 1)
