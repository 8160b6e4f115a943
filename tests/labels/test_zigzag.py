"""ZigZag labels and t1: hand-checked values, a plain reference, and t1 as the true horizon of each label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade.labels import BUY, HOLD, SELL, class_balance, zigzag_labels


def series(values: list[float]) -> pd.Series:
    idx = pd.date_range("2024-01-01", periods=len(values), freq="D", tz="UTC", name="time")
    return pd.Series(values, index=idx, dtype=float)


def reference(close: np.ndarray, threshold: float, lookahead: int) -> list[tuple[float, int]]:
    """The definition written plainly: first touch of +-threshold within the horizon, else HOLD."""
    out = []
    n = len(close)
    for t in range(n):
        result = (np.nan, -1)
        for j in range(t + 1, min(n, t + lookahead + 1)):
            if close[j] >= close[t] * (1 + threshold):
                result = (BUY, j)
                break
            if close[j] <= close[t] * (1 - threshold):
                result = (SELL, j)
                break
        if result[1] < 0 and t + lookahead < n:
            result = (HOLD, t + lookahead)
        out.append(result)
    return out


def test_hand_checked_example() -> None:
    out = zigzag_labels(series([100, 103, 106, 101, 95]), threshold_pct=5, lookahead=2)
    assert out["label"].tolist()[:4] == [BUY, HOLD, SELL, SELL]
    assert np.isnan(out["label"].iloc[4]) and pd.isna(out["t1"].iloc[4])
    assert [t.day for t in out["t1"].iloc[:4]] == [3, 4, 5, 5]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(50, 150), min_size=2, max_size=80),
    st.floats(0.5, 20),
    st.integers(1, 15),
)
def test_matches_the_plain_definition(values: list[float], threshold_pct: float, lookahead: int) -> None:
    out = zigzag_labels(series(values), threshold_pct=threshold_pct, lookahead=lookahead)
    expected = reference(np.asarray(values), threshold_pct / 100, lookahead)
    positions = out.index.get_indexer(out["t1"])
    for (label, t1), got_label, got_t1 in zip(expected, out["label"], positions, strict=True):
        assert (np.isnan(label) and np.isnan(got_label)) or label == got_label
        assert t1 == got_t1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(50, 150), min_size=30, max_size=120), st.integers(0, 10_000))
def test_a_label_depends_on_no_bar_after_its_t1(values: list[float], seed: int) -> None:
    close = series(values)
    out = zigzag_labels(close, threshold_pct=3, lookahead=8)
    rng = np.random.default_rng(seed)
    for t in np.flatnonzero(out["label"].notna().to_numpy())[:10]:
        t1 = close.index.get_loc(out["t1"].iloc[t])
        changed = close.copy()
        changed.iloc[t1 + 1 :] = rng.uniform(50, 150, len(close) - t1 - 1)
        again = zigzag_labels(changed, threshold_pct=3, lookahead=8)
        assert again["label"].iloc[t] == out["label"].iloc[t]
        assert again["t1"].iloc[t] == out["t1"].iloc[t]


def test_t1_is_never_before_t(bars: pd.DataFrame) -> None:
    out = zigzag_labels(bars["close"], threshold_pct=3, lookahead=10).dropna()
    assert (out["t1"] > out.index).all()


def test_class_balance_and_bad_arguments() -> None:
    assert class_balance(pd.Series([BUY, SELL, BUY, np.nan])) == {"SELL": 1, "HOLD": 0, "BUY": 2}
    with pytest.raises(ValueError, match="threshold_pct must be > 0"):
        zigzag_labels(series([1.0, 2.0]), threshold_pct=0, lookahead=2)
