"""Combinatorial purged CV: C(N, k) splits, C(N-1, k-1) paths, and no training label overlaps a test label."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade.errors import SplitError
from neurotrade.splits import combinatorial_purged_cv


def make(n: int, horizons: list[int]) -> tuple[pd.DatetimeIndex, pd.Series]:
    """Daily bars whose label at i ends ``horizons[i]`` bars later; a negative horizon is an undecided label."""
    times = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC")
    ends = [times[i + h] if h >= 0 and i + h < n else pd.NaT for i, h in enumerate(horizons)]
    return times, pd.Series(pd.DatetimeIndex(ends))


def purge_zone_end(cv, t1: pd.Series, group: int) -> int:
    """Position of the later of a group's last bar and its decided labels' last t1."""
    start, stop = cv.bounds[group]
    ends = t1.iloc[start:stop].dropna()
    last = max(cv.times[stop - 1], ends.max()) if len(ends) else cv.times[stop - 1]
    return int(cv.times.get_loc(last))


cases = st.integers(60, 300).flatmap(
    lambda n: st.tuples(st.just(n), st.lists(st.integers(-1, 15), min_size=n, max_size=n))
)


@settings(max_examples=100, deadline=None)
@given(cases, st.integers(3, 8).flatmap(lambda g: st.tuples(st.just(g), st.integers(1, g - 1))), st.integers(0, 6))
def test_no_training_label_overlaps_a_test_group(
    case: tuple[int, list[int]], shape: tuple[int, int], embargo: int
) -> None:
    n, horizons = case
    groups, k = shape
    times, t1 = make(n, horizons)
    try:
        cv = combinatorial_purged_cv(times, t1, groups=groups, test_groups=k, embargo=embargo)
    except SplitError as error:
        assert "has no training samples left" in str(error) or "has no sample with a decided label" in str(error)
        return
    t = times.to_numpy()
    end = t1.to_numpy()
    labelled = t1.notna().to_numpy()
    # groups are contiguous, cover every bar, and differ in size by at most one
    assert cv.bounds[0][0] == 0 and cv.bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(cv.bounds, cv.bounds[1:], strict=False))
    sizes = [stop - start for start, stop in cv.bounds]
    assert max(sizes) - min(sizes) <= 1
    assert len(cv.splits) == math.comb(groups, k)
    assert len(set(cv.test_groups)) == len(cv.test_groups)
    for (train, test), combo, purged, embargoed in zip(cv.splits, cv.test_groups, cv.purged, cv.embargoed, strict=True):
        in_test = np.zeros(n, dtype=bool)
        for g in combo:
            in_test[cv.bounds[g][0] : cv.bounds[g][1]] = True
        assert test.tolist() == np.flatnonzero(in_test & labelled).tolist()
        assert len(train) and not in_test[train].any() and labelled[train].all()
        # no training label overlaps a test label, on either side (de Prado's purge)
        overlap = (t[train, None] <= end[None, test]) & (t[None, test] <= end[train, None])
        assert not overlap.any()
        for g in combo:
            start, stop = cv.bounds[g]
            # no training label reaches into the test group's bars, decided or not
            assert not ((t[train] <= t[stop - 1]) & (end[train] >= t[start])).any()
            # embargo: the bars after the group's purge zone (its last bar or its labels' last t1) stay out too
            after = purge_zone_end(cv, t1, g) + 1
            assert not ((train >= stop) & (train < after + embargo)).any()
        assert purged + embargoed + len(train) == (labelled & ~in_test).sum()
    # every group appears exactly once on each path, tested by a split that holds it out
    paths = cv.paths()
    assert len(paths) == math.comb(groups - 1, k - 1) == k * math.comb(groups, k) // groups
    for path in paths:
        assert [group for group, _ in path] == list(range(groups))
        assert all(group in cv.test_groups[index] for group, index in path)
    # and over all paths each (group, split) pair is used once: every split's predictions serve exactly one path
    used = Counter(pair for path in paths for pair in path)
    assert set(used.values()) == {1}
    assert len(used) == len(cv.splits) * k


@pytest.mark.parametrize(
    ("groups", "k", "splits", "paths"), [(6, 2, 15, 5), (10, 3, 120, 36), (5, 1, 5, 1), (4, 3, 4, 3)]
)
def test_counts(groups: int, k: int, splits: int, paths: int) -> None:
    times, t1 = make(120, [0] * 120)
    cv = combinatorial_purged_cv(times, t1, groups=groups, test_groups=k)
    assert (len(cv.splits), len(cv.paths())) == (splits, paths)
    assert cv.n_groups == groups and cv.n_test_groups == k
    summary = cv.summary()
    assert summary["paths"] == paths and len(summary["splits"]) == splits and len(summary["groups"]) == groups


def test_purge_on_both_sides_and_embargo() -> None:
    times, t1 = make(60, [3] * 60)  # six groups of ten bars
    cv = combinatorial_purged_cv(times, t1, groups=6, test_groups=2, embargo=2)
    index = cv.test_groups.index((1, 4))
    train, test = cv.splits[index]
    assert test.tolist() == list(range(10, 20)) + list(range(40, 50))
    # before each test group: labels 7..9 and 37..39 reach into it; after: test labels end up to 3 bars past the
    # group, so bars 20..22 and 50..52 are purged, and the embargo holds out the two bars after that: 23, 24, 53, 54
    expected = [*range(7), *range(25, 37), 55, 56]  # 57..59 are undecided
    assert train.tolist() == expected
    assert cv.embargoed[index] == 4 and cv.purged[index] == 3 + 3 + 3 + 3
    assert cv.summary()["splits"][index] == {
        "test_groups": [1, 4],
        "train": len(expected),
        "test": 20,
        "purged": 12,
        "embargoed": 4,
    }


def test_the_embargo_follows_the_purge_zone() -> None:
    """de Prado's embargo (AFML 7.4.2): the bars after the later of a test group's last bar and its labels' last
    t1. With a 20-bar horizon, an embargo counted from the group's last bar would lie inside the purge zone."""
    n, horizon, embargo = 300, 20, 5
    times, t1 = make(n, [horizon] * n)
    plain = combinatorial_purged_cv(times, t1, groups=6, test_groups=2, embargo=0)
    embargoed = combinatorial_purged_cv(times, t1, groups=6, test_groups=2, embargo=embargo)
    labelled = t1.notna().to_numpy()
    checked = differ = 0
    for index, combo in enumerate(embargoed.test_groups):
        train0, _ = plain.splits[index]
        train5, _ = embargoed.splits[index]
        assert set(train5) <= set(train0)
        differ += set(train5) != set(train0)  # embargo 5 takes samples away that embargo 0 kept
        removed = set(train0) - set(train5)
        zones = set()
        for g in combo:
            end = purge_zone_end(embargoed, t1, g)
            zones |= set(range(end + 1, min(end + 1 + embargo, n)))
            later = train5[train5 > end]
            first = end + 1 + embargo
            if first < n and labelled[first] and first in set(train0):
                checked += 1
                assert later[0] == first, (combo, g, later[:3])  # exactly `embargo` bars after the purge zone
        assert removed == zones & set(train0)  # nothing else moved: the purge before each group is unchanged
        assert embargoed.embargoed[index] == len(removed) and embargoed.purged[index] == plain.purged[index]
        assert plain.embargoed[index] == 0
    # every split but (4, 5), whose only bars after a purge zone are in test group 5 or undecided
    assert differ == len(embargoed.splits) - 1 and checked >= 10


def test_paths_for_four_groups() -> None:
    times, t1 = make(12, [0] * 12)
    cv = combinatorial_purged_cv(times, t1, groups=4, test_groups=2)
    assert cv.test_groups == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert cv.paths() == [
        [(0, 0), (1, 0), (2, 1), (3, 2)],
        [(0, 1), (1, 3), (2, 3), (3, 4)],
        [(0, 2), (1, 4), (2, 5), (3, 5)],
    ]


def test_errors() -> None:
    times, t1 = make(60, [1] * 60)
    with pytest.raises(SplitError, match=r"groups must be an integer in \[2, 60\] \(at most one group per sample\)"):
        combinatorial_purged_cv(times, t1, groups=61, test_groups=1)
    with pytest.raises(SplitError, match=r"test_groups must be an integer in \[1, 5\] \(fewer than groups\), got 6"):
        combinatorial_purged_cv(times, t1, groups=6, test_groups=6)
    with pytest.raises(SplitError, match=r"embargo must be an integer >= 0 \(bars\), got 1.5"):
        combinatorial_purged_cv(times, t1, groups=6, test_groups=2, embargo=1.5)  # type: ignore[arg-type]
    with pytest.raises(SplitError, match="one end time per sample"):
        combinatorial_purged_cv(times, t1[:10], groups=6, test_groups=2)
    times, t1 = make(60, [1] * 50 + [-1] * 10)
    with pytest.raises(SplitError, match=r"group 5 \(bars 50..59, 2020-02-20.* has no sample with a decided label"):
        combinatorial_purged_cv(times, t1, groups=6, test_groups=2)
    times, t1 = make(60, [25] * 20 + [0] * 40)
    with pytest.raises(
        SplitError,
        match=r"split 1 \(test groups 0, 2\) has no training samples left: of 20 bars outside its test groups, 0 "
        r"have no decided label \(t1\), 20 were purged and 0 embargoed; use fewer test groups",
    ):
        combinatorial_purged_cv(times, t1, groups=3, test_groups=2)
