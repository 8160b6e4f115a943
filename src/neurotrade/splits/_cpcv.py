"""Combinatorial purged cross-validation (de Prado, *Advances in Financial Machine Learning*, ch. 12).

The samples are cut into N contiguous groups and every choice of k of them is one split's test set, the other
groups its training set. Test groups sit between training groups, so a training label can reach forward into a
test group, and a test label can reach forward into a training sample that follows it: both are purged. The
``embargo`` bars after that purge zone (after the later of the group's last bar and its labels' last t1) are also
kept out of training, against serial correlation across the border: de Prado's embargo (AFML 7.4.2), whose
``getEmbargoTimes`` moves the end of the test span ``h`` bars later before purging. An embargo counted from the
group's last bar would lie inside the purge zone whenever labels look further ahead than the embargo, and remove
nothing. Each group is tested by C(N-1, k-1) splits, which stitch together into as many complete backtest paths.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from neurotrade.errors import SplitError
from neurotrade.splits._chronological import Split
from neurotrade.splits._walk_forward import check_integer, end_times_ns

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CPCV:
    """The splits of a combinatorial purged cross-validation and the backtest paths they form.

    Attributes
    ----------
    splits
        One ``(train, test)`` pair of integer positions per combination of test groups, labelled samples only,
        after purge and embargo.
    test_groups
        The groups each split tests, in the order of ``splits`` (combinations in lexicographic order).
    bounds
        ``(start, stop)`` positions of each group; group g holds positions ``start <= p < stop``.
    purged, embargoed
        How many training samples each split lost to purge (their [t, t1] overlaps a test group's span) and, of
        the others, to the embargo (they start within ``embargo`` bars after a test group's purge zone).
    times
        The sample times the positions index into.
    """

    splits: list[tuple[np.ndarray, np.ndarray]]
    test_groups: list[tuple[int, ...]]
    bounds: list[tuple[int, int]]
    purged: list[int]
    embargoed: list[int]
    times: pd.DatetimeIndex

    @property
    def n_groups(self) -> int:
        """N, the number of contiguous groups."""
        return len(self.bounds)

    @property
    def n_test_groups(self) -> int:
        """k, the number of groups each split tests."""
        return len(self.test_groups[0])

    def paths(self) -> list[list[tuple[int, int]]]:
        """The backtest paths: for each, which split's model predicts each group.

        Group g is tested by C(N-1, k-1) splits; path p takes the p-th of them (in split order) for every group.
        So there are phi = k / N * C(N, k) = C(N-1, k-1) paths, each a list of ``(group, split index)`` covering
        every group exactly once, in time order, and every split serves k groups over all paths.

        Examples
        --------
        >>> times = pd.date_range("2024-01-01", periods=12, freq="D", tz="UTC")
        >>> cv = combinatorial_purged_cv(times, pd.Series(times), groups=4, test_groups=2)
        >>> cv.test_groups
        [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
        >>> cv.paths()
        [[(0, 0), (1, 0), (2, 1), (3, 2)], [(0, 1), (1, 3), (2, 3), (3, 4)], [(0, 2), (1, 4), (2, 5), (3, 5)]]
        """
        owners: list[list[int]] = [[] for _ in self.bounds]
        for index, groups in enumerate(self.test_groups):
            for group in groups:
                owners[group].append(index)
        return [[(group, owners[group][p]) for group in range(self.n_groups)] for p in range(len(owners[0]))]

    def summary(self) -> dict[str, Any]:
        """JSON-ready description: group spans, and per split its test groups, sample counts, purge and embargo."""
        return {
            "groups": [
                {"first": self.times[start].isoformat(), "last": self.times[stop - 1].isoformat()}
                for start, stop in self.bounds
            ],
            "test_groups": self.n_test_groups,
            "paths": math.comb(self.n_groups - 1, self.n_test_groups - 1),
            "splits": [
                {
                    "test_groups": list(groups),
                    "train": len(train),
                    "test": len(test),
                    "purged": purged,
                    "embargoed": embargoed,
                }
                for (train, test), groups, purged, embargoed in zip(
                    self.splits, self.test_groups, self.purged, self.embargoed, strict=True
                )
            ],
        }


def combinatorial_purged_cv(
    times: pd.DatetimeIndex,
    t1: pd.Series | pd.DatetimeIndex | np.ndarray,
    *,
    groups: int,
    test_groups: int,
    embargo: int = 0,
) -> CPCV:
    """Every combination of ``test_groups`` out of ``groups`` contiguous groups, purged and embargoed.

    Parameters
    ----------
    times
        Sample times, strictly increasing.
    t1
        For each sample, the time of the last bar its label depends on (NaT for an undecided label, which is left
        out of every split).
    groups
        N, the number of contiguous groups (sizes differ by at most one bar).
    test_groups
        k, the number of groups each split tests, ``1 <= k < N``.
    embargo
        Bars kept out of training after each test group's purge zone, counted on ``times`` from the first bar
        after the later of the group's last bar and its labels' last t1.

    Returns
    -------
    CPCV
        C(N, k) splits and their phi = k / N * C(N, k) backtest paths (:meth:`CPCV.paths`): N=6, k=2 gives 15
        splits and 5 paths.

    Raises
    ------
    SplitError
        When a parameter is out of range, a group has no decided label, or a split has no training sample left.

    Notes
    -----
    A training sample at t with end time t1 is purged when [t, t1] overlaps any test group's span, from the
    group's first bar to the later of its last bar and its test labels' latest t1. That covers both sides: a
    training label before the group that reaches into it, and a test label that reaches a training sample after
    the group. The embargo then removes the ``embargo`` bars that follow the span's end, so the first training
    sample after a group starts ``embargo`` bars after its purge zone; the purge before a group is unchanged by it.
    A sample that is both purged (by one group) and in an embargo (of another) counts as purged.

    Examples
    --------
    >>> times = pd.date_range("2024-01-01", periods=60, freq="D", tz="UTC")
    >>> t1 = pd.Series(times).shift(-2)  # every label looks two bars ahead; the last two are undecided
    >>> cv = combinatorial_purged_cv(times, t1, groups=6, test_groups=2, embargo=1)
    >>> len(cv.splits), len(cv.paths())
    (15, 5)
    >>> train, test = cv.splits[0]  # tests groups 0 and 1: bars 0..19
    >>> test[[0, -1]].tolist(), train[[0, -1]].tolist()  # 20, 21 reach back to test label 19's t1: 22 embargoed
    ([0, 19], [23, 57])
    """
    t_ns, t1_ns, labelled = end_times_ns(times, t1)
    n = len(times)
    check_integer("groups", groups, 2, n, why=" (at most one group per sample)")
    check_integer("test_groups", test_groups, 1, groups - 1, why=" (fewer than groups)")
    check_integer("embargo", embargo, 0, why=" (bars)")

    edges = [(g * n) // groups for g in range(groups + 1)]
    bounds = [(edges[g], edges[g + 1]) for g in range(groups)]
    group_of = np.repeat(np.arange(groups), np.diff(edges))
    span_start = np.empty(groups, dtype=np.int64)
    span_end = np.empty(groups, dtype=np.int64)
    for g, (start, stop) in enumerate(bounds):
        decided = t1_ns[start:stop][labelled[start:stop]]
        if not len(decided):
            raise SplitError(
                f"group {g} (bars {start}..{stop - 1}, {times[start].isoformat()} to {times[stop - 1].isoformat()}) "
                "has no sample with a decided label (t1); use fewer groups or more data"
            )
        span_start[g] = t_ns[start]
        span_end[g] = max(t_ns[stop - 1], decided.max())
    # The embargo begins at the first bar after the purge zone, not after the group's last bar (which would put it
    # inside the purge zone whenever the labels look further ahead than the embargo).
    embargo_from = np.searchsorted(t_ns, span_end, side="right")

    position = np.arange(n)
    splits: list[tuple[np.ndarray, np.ndarray]] = []
    chosen_groups: list[tuple[int, ...]] = []
    purged: list[int] = []
    embargoed: list[int] = []
    for index, combo in enumerate(itertools.combinations(range(groups), test_groups)):
        in_test = np.isin(group_of, combo)
        candidate = ~in_test & labelled
        blocked = np.zeros(n, dtype=bool)
        overlaps = np.zeros(n, dtype=bool)
        for g in combo:
            blocked[embargo_from[g] : embargo_from[g] + embargo] = True
            # NaT end times are the smallest int64, so undecided samples never overlap; they are not candidates.
            overlaps |= (t_ns <= span_end[g]) & (t1_ns >= span_start[g])
        # Purge first, so the purged count is the overlap alone whatever the embargo; the embargo counts the rest.
        purged_here = candidate & overlaps
        embargoed_here = candidate & ~overlaps & blocked
        keep = candidate & ~overlaps & ~blocked
        train = position[keep]
        if not len(train):
            raise SplitError(
                f"split {index} (test groups {', '.join(map(str, combo))}) has no training samples left: of "
                f"{int((~in_test).sum())} bars outside its test groups, {int((~in_test & ~labelled).sum())} have no "
                f"decided label (t1), {int(purged_here.sum())} were purged and {int(embargoed_here.sum())} "
                "embargoed; use fewer test groups, a shorter label lookahead or a smaller embargo"
            )
        splits.append((train, position[in_test & labelled]))
        chosen_groups.append(combo)
        embargoed.append(int(embargoed_here.sum()))
        purged.append(int(purged_here.sum()))
    logger.debug("CPCV: %d groups, %d test groups, %d splits", groups, test_groups, len(splits))
    return CPCV(
        splits=splits,
        test_groups=chosen_groups,
        bounds=bounds,
        purged=purged,
        embargoed=embargoed,
        times=times,
    )


def cpcv_fold_splits(
    times: pd.DatetimeIndex,
    t1: pd.Series | pd.DatetimeIndex | np.ndarray,
    *,
    groups: int,
    test_groups: int,
    validation: float,
    embargo: int = 0,
) -> tuple[list[Split], CPCV]:
    """The splits of :func:`combinatorial_purged_cv` as training folds: each split's training samples divided into
    training and an early-stopping validation window (the latest ``validation`` share of them, in time).

    The validation window only stops training, but it is still held out honestly: training samples whose label
    reaches its first bar are purged, as a walk-forward fold purges before its validation window. The test
    samples are the split's test groups; each group is traded on its own (``Split.segments``).

    Examples
    --------
    >>> times = pd.date_range("2024-01-01", periods=60, freq="D", tz="UTC")
    >>> t1 = pd.Series(times).shift(-2)
    >>> folds, cv = cpcv_fold_splits(times, t1, groups=6, test_groups=2, validation=0.2, embargo=1)
    >>> len(folds), len(cv.paths()), folds[0].segments
    (15, 5, ((0, 10), (10, 20)))
    >>> train, val = folds[0].train, folds[0].validation
    >>> int(train.max()) < int(val.min()), int(val.max())  # t1 of the last training sample is before validation
    (True, 57)
    """
    if isinstance(validation, bool) or not (0.0 < float(validation) < 1.0):
        raise SplitError(f"validation must be a fraction in (0, 1), got {validation!r}")
    cv = combinatorial_purged_cv(times, t1, groups=groups, test_groups=test_groups, embargo=embargo)
    t_ns, t1_ns, _ = end_times_ns(times, t1)
    out = []
    for index, ((train, test), combo) in enumerate(zip(cv.splits, cv.test_groups, strict=True)):
        n_val = max(1, round(validation * len(train)))
        if n_val >= len(train):
            raise SplitError(
                f"split {index} has {len(train)} training sample(s): too few to hold out a validation share of "
                f"{validation:g}; use fewer groups or more data"
            )
        val = train[-n_val:]
        head = train[:-n_val]
        reaches = t1_ns[head] >= t_ns[val[0]]
        kept = head[~reaches]
        if not len(kept):
            raise SplitError(f"split {index}: every training sample reaches its validation window; use more data")
        segments = tuple(cv.bounds[g] for g in combo)
        out.append(
            Split(
                train=kept,
                validation=val,
                test=test,
                starts={"train": int(train[0]), "validation": int(val[0]), "test": int(segments[0][0])},
                trading_start=int(segments[0][0]),
                purged={"train": int(reaches.sum()) + cv.purged[index], "validation": 0, "test": 0},
                embargoed={"train": cv.embargoed[index], "validation": 0, "test": 0},
                times=times,
                trading_end=int(segments[-1][1]) - 1,
                segments=segments,
            )
        )
    return out, cv
