"""Purge and embargo: no training label reaches the validation or test window, whatever the t1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade.errors import SplitError
from neurotrade.splits import chronological_split


def make(n: int, horizons: list[int]) -> tuple[pd.DatetimeIndex, pd.Series]:
    times = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC")
    ends = [times[i + h] if i + h < n else pd.NaT for i, h in enumerate(horizons)]
    return times, pd.Series(pd.DatetimeIndex(ends))


@settings(max_examples=150, deadline=None)
@given(
    st.integers(60, 400).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.integers(0, 30), min_size=n, max_size=n))),
    st.integers(0, 10),
)
def test_no_label_reaches_a_later_window(case: tuple[int, list[int]], embargo: int) -> None:
    n, horizons = case
    times, t1 = make(n, horizons)
    try:
        split = chronological_split(times, t1, train=0.6, validation=0.2, test=0.2, embargo=embargo)
    except SplitError:
        return  # too few samples survive: refusing is the correct answer
    val_start, test_start = times[split.starts["validation"]], times[split.starts["test"]]
    assert (t1.iloc[split.train] < val_start).all()
    assert (t1.iloc[split.validation] < test_start).all()
    assert t1.iloc[split.test].notna().all()
    # embargo: the first `embargo` bars of each later window are left out
    assert (split.validation >= split.starts["validation"] + embargo).all()
    assert (split.test >= split.starts["test"] + embargo).all()
    assert split.trading_start == split.starts["test"] + embargo < n - 1
    assert len(split.train) and len(split.validation) and len(split.test)
    # windows are ordered and disjoint
    assert split.train.max() < split.validation.min()
    if len(split.test):
        assert split.validation.max() < split.test.min()


def test_purge_counts_are_reported() -> None:
    times, t1 = make(100, [5] * 100)
    split = chronological_split(times, t1, train=0.6, validation=0.2, test=0.2, embargo=2)
    summary = split.summary()
    assert summary["train"]["purged"] == 5  # samples 55..59 end at 60 or later
    assert summary["validation"]["embargoed"] == 2 and summary["validation"]["purged"] == 5
    assert summary["test"]["samples"] == 20 - 2 - 5  # the last five are undecided
    assert split.train.tolist() == list(range(55))


def test_errors() -> None:
    times, t1 = make(10, [9] * 10)
    with pytest.raises(SplitError, match="the train window has no samples left after purge"):
        chronological_split(times, t1, train=0.6, validation=0.2, test=0.2)
    with pytest.raises(SplitError, match="must add up to 1"):
        chronological_split(times, t1, train=0.6, validation=0.3, test=0.2)
    with pytest.raises(SplitError, match="one end time per sample"):
        chronological_split(times, t1[:5], train=0.6, validation=0.2, test=0.2)
    # Regression: an embargo that swallowed the test window once gave a silent one-bar backtest.
    times, t1 = make(100, [1] * 100)
    with pytest.raises(SplitError, match=r"the test window has 20 bars, which the embargo \(19 bars\) leaves no room"):
        chronological_split(times, t1, train=0.6, validation=0.2, test=0.2, embargo=19)
    back = pd.Series(np.array(times - pd.Timedelta(days=1)))
    with pytest.raises(SplitError, match="t1 must be >= t"):
        chronological_split(times, back, train=0.6, validation=0.2, test=0.2)
