"""Anything fitted sees the training window only: changing the test data changes no training feature or label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.config import parse_strategy
from neurotrade.data import synthetic_ohlcv
from neurotrade.features import build_features
from neurotrade.pipeline import fold_targets, make_labels, make_splits, run, scale_features

SPEC = parse_strategy(
    "name: t\ndata: {source: synthetic, bars: 1500}\nindicators: {rsi_14: {}, adx_14: {}}\n"
    "nn_inputs: {indicators: [rsi_14, adx_14], context: {returns: [1, 5], price_over_ma: [20]}}\n"
    "labels: {type: forward_return, horizon: 5}\nsplit: {folds: 3, embargo: 5}\n"
)


def prepared(bars: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]]:
    features = build_features(bars, SPEC)
    table = make_labels(bars, SPEC).loc[features.frame.index]
    out = []
    for split in make_splits(features.frame.index, table["t1"], SPEC):
        x, _ = scale_features(features.frame, split.train)
        y, _ = fold_targets(table, split)
        out.append((x[split.train], y[split.train], features.frame.index[split.train]))
    return out


def test_changing_the_test_window_changes_no_training_feature_or_label() -> None:
    bars = synthetic_ohlcv(1500, seed=21)
    before = prepared(bars)
    features = build_features(bars, SPEC)
    first_fold = make_splits(features.frame.index, make_labels(bars, SPEC).loc[features.frame.index, "t1"], SPEC)[0]
    first_test = features.frame.index[first_fold.trading_start]
    changed = bars.copy()
    later = changed.index >= first_test
    rng = np.random.default_rng(5)
    factor = np.exp(np.cumsum(rng.normal(0, 0.02, later.sum())))[:, None]
    changed.loc[later, ["open", "high", "low", "close"]] = changed.loc[later, ["open", "high", "low", "close"]] * factor
    after = prepared(changed)
    x0, y0, t0 = before[0]
    x1, y1, t1 = after[0]
    assert t0.equals(t1)
    np.testing.assert_array_equal(x0, x1)  # scaled with statistics of the training rows only
    np.testing.assert_array_equal(y0, y1)  # tercile thresholds fitted on the training returns only
    assert not np.array_equal(before[-1][0], after[-1][0])  # later folds train on the changed bars, as they should


@pytest.mark.parametrize(
    "labels",
    ["{type: triple_barrier, profit_take: 1.5, stop_loss: 1.5, max_holding: 10}", "{type: forward_return, horizon: 5}"],
)
def test_every_label_type_runs_end_to_end_with_class_weights(tmp_path, labels: str) -> None:
    spec = parse_strategy(
        "name: t\ndata: {source: synthetic, bars: 900}\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"
        f"labels: {labels}\nsplit: {{folds: 2}}\ntraining: {{epochs: 3, class_weights: balanced}}\n"
    )
    result = run(spec, home=tmp_path)
    aggregate = result.metrics["aggregate"]
    assert aggregate["test_samples"] > 100
    assert set(aggregate["classification"]["per_class"]) == {"SELL", "HOLD", "BUY"}
    balance = result.metrics["folds"][0]["labels"]["train"]
    assert min(balance.values()) > 0
