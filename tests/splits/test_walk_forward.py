"""Walk-forward folds: windows ordered and disjoint, purged by t1 and embargoed; test blocks tile the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade.errors import SplitError
from neurotrade.splits import chronological_split, walk_forward_splits


def make(n: int, horizons: list[int]) -> tuple[pd.DatetimeIndex, pd.Series]:
    """Daily bars whose label at i ends ``horizons[i]`` bars later; a negative horizon is an undecided label."""
    times = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC")
    ends = [times[i + h] if h >= 0 and i + h < n else pd.NaT for i, h in enumerate(horizons)]
    return times, pd.Series(pd.DatetimeIndex(ends))


cases = st.integers(80, 400).flatmap(
    lambda n: st.tuples(st.just(n), st.lists(st.integers(-1, 25), min_size=n, max_size=n))
)


@settings(max_examples=120, deadline=None)
@given(
    cases,
    st.integers(1, 5),
    st.sampled_from(["expanding", "rolling"]),
    st.sampled_from([0.3, 0.4, 0.5]),
    st.sampled_from([0.15, 0.2, 0.3]),
    st.sampled_from([None, 0.2, 0.3]),
    st.integers(0, 8),
)
def test_folds_never_leak(
    case: tuple[int, list[int]],
    folds: int,
    scheme: str,
    first_train: float,
    validation: float,
    train_window: float | None,
    embargo: int,
) -> None:
    n, horizons = case
    times, t1 = make(n, horizons)
    window = train_window if scheme == "rolling" else None
    try:
        splits = walk_forward_splits(
            times,
            t1,
            folds=folds,
            scheme=scheme,  # type: ignore[arg-type]
            first_train=first_train,
            validation=validation,
            train_window=window,
            embargo=embargo,
        )
    except SplitError as error:
        # refusing is right only for these reasons, each named in the message
        assert "no samples left after purge" in str(error) or "leaves no room to trade" in str(error)
        return
    labelled = t1.notna().to_numpy()
    t1_ns = t1.to_numpy()
    assert len(splits) == folds
    assert splits[0].starts["test"] == int(n * first_train + 1e-9)
    assert splits[-1].trading_end == n - 1
    history = int(n * (window or first_train) + 1e-9)
    for k, split in enumerate(splits):
        hs, vs, ts = split.starts["train"], split.starts["validation"], split.starts["test"]
        end = split.trading_end
        assert end is not None
        if k + 1 < folds:
            assert end == splits[k + 1].starts["test"] - 1  # blocks tile the bars after the initial segment
        assert hs == 0 if scheme == "expanding" else ts - hs == history
        assert ts - vs == int((ts - hs) * validation + 1e-9)
        # windows are non-empty, ordered and disjoint, inside their bounds
        assert len(split.train) and len(split.validation) and len(split.test)
        assert hs <= split.train.min() and split.train.max() < vs
        assert vs + embargo <= split.validation.min() and split.validation.max() < ts
        assert ts + embargo <= split.test.min() and split.test.max() <= end
        assert split.trading_start == ts + embargo < end
        # purge: no training label reaches validation, no validation label reaches the test block
        assert (t1_ns[split.train] < times[vs]).all()
        assert (t1_ns[split.validation] < times[ts]).all()
        assert labelled[split.test].all()
        # nothing is dropped without a reason, and every drop is counted
        for name, lo, hi, skip, limit in (
            ("train", hs, vs, 0, times[vs]),
            ("validation", vs, ts, embargo, times[ts]),
            ("test", ts, end + 1, embargo, None),
        ):
            position = np.arange(lo, hi)
            eligible = position[labelled[lo:hi] & (position >= lo + skip)]
            if limit is not None:
                eligible = eligible[t1_ns[eligible] < limit]
            assert getattr(split, name).tolist() == eligible.tolist()
            total = split.purged[name] + split.embargoed[name] + len(getattr(split, name))
            assert total == labelled[lo:hi].sum()


def test_expanding_and_rolling_positions() -> None:
    times, t1 = make(100, [3] * 100)
    expanding = walk_forward_splits(times, t1, folds=3, first_train=0.4, validation=0.25, embargo=2)
    assert [(s.starts["test"], s.trading_start, s.trading_end) for s in expanding] == [
        (40, 42, 59),
        (60, 62, 79),
        (80, 82, 99),
    ]
    middle = expanding[1]
    assert middle.starts == {"train": 0, "validation": 45, "test": 60}
    assert middle.train.tolist() == list(range(42))  # 42..44 end at 45 or later
    assert middle.validation.tolist() == list(range(47, 57))  # 45, 46 embargoed; 57..59 reach the test block
    assert middle.test.tolist() == list(range(62, 80))  # test labels may run past the block's end
    assert middle.purged == {"train": 3, "validation": 3, "test": 0}
    assert middle.embargoed == {"train": 0, "validation": 2, "test": 2}
    assert expanding[-1].test.tolist() == list(range(82, 97))  # the last three labels are undecided

    rolling = walk_forward_splits(times, t1, folds=3, scheme="rolling", train_window=0.3, validation=0.2)
    assert [s.starts for s in rolling] == [
        {"train": 10, "validation": 34, "test": 40},
        {"train": 30, "validation": 54, "test": 60},
        {"train": 50, "validation": 74, "test": 80},
    ]
    assert rolling[2].train.tolist() == list(range(50, 71))


def test_summary_names_the_trading_end_only_when_bounded() -> None:
    times, t1 = make(100, [1] * 100)
    fold = walk_forward_splits(times, t1, folds=2)[0]
    summary = fold.summary()
    assert summary["trading_start"] == times[40].isoformat()
    assert summary["trading_end"] == times[69].isoformat()
    chronological = chronological_split(times, t1, train=0.6, validation=0.2, test=0.2)
    assert chronological.trading_end is None
    assert "trading_end" not in chronological.summary()


def test_errors() -> None:
    times, t1 = make(100, [1] * 100)
    with pytest.raises(SplitError, match=r"unknown walk-forward scheme 'roling'; .* did you mean 'rolling'\?"):
        walk_forward_splits(times, t1, folds=2, scheme="roling")  # type: ignore[arg-type]
    with pytest.raises(SplitError, match=r"folds must be an integer >= 1, got 0"):
        walk_forward_splits(times, t1, folds=0)
    with pytest.raises(SplitError, match=r"embargo must be an integer >= 0 \(bars\), got -1"):
        walk_forward_splits(times, t1, folds=2, embargo=-1)
    with pytest.raises(SplitError, match=r"validation must be a fraction in \(0, 1\), got 1.0"):
        walk_forward_splits(times, t1, folds=2, validation=1.0)
    with pytest.raises(SplitError, match="train_window applies to the rolling scheme only"):
        walk_forward_splits(times, t1, folds=2, train_window=0.2)
    with pytest.raises(SplitError, match=r"train_window \(0.5\) cannot exceed first_train \(0.4\)"):
        walk_forward_splits(times, t1, folds=2, scheme="rolling", train_window=0.5)
    with pytest.raises(SplitError, match=r"100 samples are too few for an initial segment of 0\.4 and 31 test blocks"):
        walk_forward_splits(times, t1, folds=31)
    with pytest.raises(SplitError, match=r"fold 1 of 4: the test block has 15 bars, which the embargo \(14 bars\)"):
        walk_forward_splits(times, t1, folds=4, embargo=14)
    with pytest.raises(
        SplitError, match=r"fold 1 of 2: a validation fraction of 0\.01 of 40 bars leaves no validation"
    ):
        walk_forward_splits(times, t1, folds=2, validation=0.01)
    times, t1 = make(100, [12] * 100)
    with pytest.raises(SplitError, match=r"fold 1 of 2: the validation window has no samples left after purge \(8\)"):
        walk_forward_splits(times, t1, folds=2, embargo=0)
    with pytest.raises(SplitError, match="one end time per sample"):
        walk_forward_splits(times, t1[:50], folds=2)
    with pytest.raises(SplitError, match="t1 is tz-naive but times are in UTC"):
        walk_forward_splits(times, pd.Series(times.tz_localize(None)), folds=2)
    with pytest.raises(SplitError, match=r"t1 must hold end times \(datetime64\), got dtype int64"):
        walk_forward_splits(times, pd.Series(np.arange(100)), folds=2)  # positions are not times
    with pytest.raises(SplitError, match="strictly increasing"):
        walk_forward_splits(times[::-1], t1, folds=2)
    with pytest.raises(SplitError, match="t1 must be >= t"):
        walk_forward_splits(times, pd.Series(times - pd.Timedelta(days=1)), folds=2)
