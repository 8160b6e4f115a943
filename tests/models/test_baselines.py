"""Baselines: logistic regression on the training rows, and a kNN that only votes with labels already known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurotrade.errors import ModelError
from neurotrade.models._baselines import LogisticBaseline, LorentzianKNN


def hours(n: int, start: str = "2024-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="h", tz="UTC", name="time")


def planted(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = np.where(x[:, 0] > 0.5, 2, np.where(x[:, 0] < -0.5, 0, 1))
    return x, y


def brute_force(knn_x, knn_y, t1, x, times, k):
    """The definition, one query at a time: the k nearest rows whose t1 is before the query's time."""
    out = []
    for row, t in zip(x, times, strict=True):
        known = np.flatnonzero(t1 < t)
        d = np.log1p(np.abs(knn_x[known] - row)).sum(axis=1)
        out.append(known[np.argsort(d, kind="stable")[:k]])
    return out


def test_logistic_learns_and_is_deterministic() -> None:
    x, y = planted(400)
    a = LogisticBaseline().fit(x[:300], y[:300])
    b = LogisticBaseline().fit(x[:300], y[:300])
    proba = a.predict_proba(x[300:])
    np.testing.assert_array_equal(proba, b.predict_proba(x[300:]))
    assert proba.shape == (100, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba.argmax(axis=1) == y[300:]).mean() > 0.8


def test_logistic_fills_absent_classes_with_zero() -> None:
    x, y = planted(200)
    keep = y != 1
    proba = LogisticBaseline().fit(x[keep], y[keep]).predict_proba(x[:5])
    assert proba.shape == (5, 3) and (proba[:, 1] == 0).all()
    only = LogisticBaseline().fit(x[:10], np.full(10, 2))
    assert only.predict_proba(x[:3]).tolist() == [[0.0, 0.0, 1.0]] * 3


def test_logistic_errors() -> None:
    x, y = planted(50)
    with pytest.raises(ModelError, match="not fitted yet; call fit"):
        LogisticBaseline().predict_proba(x)
    x_nan = x.copy()
    x_nan[4, 2] = np.nan
    with pytest.raises(ModelError, match=r"x is not finite at row 4, feature 2"):
        LogisticBaseline().fit(x_nan, y)
    with pytest.raises(ModelError, match=r"x has 3 features, but the model was fitted on 4"):
        LogisticBaseline().fit(x, y).predict_proba(x[:, :3])
    with pytest.raises(ModelError, match=r"y holds classes 0..2, but n_classes is 2"):
        LogisticBaseline(n_classes=2).fit(x, y)


def test_knn_never_votes_with_a_label_not_yet_known() -> None:
    n, k = 300, 8
    x, y = planted(n, seed=1)
    times = hours(n)
    rng = np.random.default_rng(2)
    t1 = times + pd.to_timedelta(rng.integers(1, 30, n), unit="h")  # labels known 1..29 bars later
    knn = LorentzianKNN(k=k, max_back=None, stride=1).fit(x, y, times, t1)  # the exact brute force
    nearest = knn.neighbours(x, times)  # every training bar, queried at its own time
    assert nearest.shape == (n, k)
    found = nearest >= 0
    assert found.any() and not found[0].any()  # the first bar knows no label at all
    used_t1 = np.where(found, t1.asi8[np.maximum(nearest, 0)], np.iinfo(np.int64).min)
    assert (used_t1 < times.asi8[:, None]).all()  # strictly before the query's time
    for i, expected in enumerate(brute_force(x, y, t1.asi8, x, times.asi8, k)):
        assert nearest[i, : len(expected)].tolist() == expected.tolist()
        assert (nearest[i, len(expected) :] == -1).all()


def test_knn_an_identical_row_counts_only_once_its_label_is_known() -> None:
    times = hours(3)
    x = np.array([[1.0, 1.0], [9.0, 9.0], [1.0, 1.0]])
    y = np.array([2, 0, 0])
    query_time = times[2]
    # Row 0 is identical to the query; its label becomes known exactly at the query's time: not usable yet.
    knn = LorentzianKNN(k=1).fit(x[:2], y[:2], times[:2], pd.DatetimeIndex([query_time, times[1]]))
    assert knn.neighbours(x[2:], [query_time]).tolist() == [[1]]
    assert knn.predict_proba(x[2:], [query_time]).tolist() == [[1.0, 0.0, 0.0]]
    # One nanosecond earlier it is known, and it is the nearest.
    earlier = pd.DatetimeIndex([query_time - pd.Timedelta(1, "ns"), times[1]])
    knn = LorentzianKNN(k=1).fit(x[:2], y[:2], times[:2], earlier)
    assert knn.neighbours(x[2:], [query_time]).tolist() == [[0]]
    assert knn.predict_proba(x[2:], [query_time]).tolist() == [[0.0, 0.0, 1.0]]


def test_knn_probabilities_are_vote_shares_and_uniform_without_knowledge() -> None:
    n = 200
    x, y = planted(n, seed=3)
    times = hours(n)
    knn = LorentzianKNN(k=5, max_back=None, stride=1).fit(x, y, times, times + pd.Timedelta("3h"))
    proba = knn.predict_proba(x, times)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba[:4], np.full((4, 3), 1 / 3))  # bars 0..3 know no label
    assert proba[4].max() == 1.0  # bar 4 knows exactly one label
    nearest = knn.neighbours(x, times)
    row = 150
    votes = np.bincount(y[nearest[row]], minlength=3) / 5
    np.testing.assert_array_equal(proba[row], votes)
    assert (proba[50:].argmax(axis=1) == y[50:]).mean() > 0.6  # the planted signal is found


def test_knn_lorentzian_distance_resists_one_extreme_feature() -> None:
    times = hours(3)
    # Row 0 differs by 30 in one feature; row 1 by 3 in each of four. L1 prefers row 1 (12 < 30), Lorentzian row 0:
    # log(31) = 3.43 < 4 log(4) = 5.55.
    x = np.array([[30.0, 0, 0, 0], [3.0, 3, 3, 3]])
    knn = LorentzianKNN(k=1, stride=1).fit(x, np.array([0, 2]), times[:2], times[:2])  # both rows are candidates
    assert knn.neighbours(np.zeros((1, 4)), times[2:]).tolist() == [[0]]


def test_knn_errors() -> None:
    x, y = planted(20)
    times = hours(20)
    with pytest.raises(ModelError, match=r"not fitted yet; call fit\(x, y, times, t1\)"):
        LorentzianKNN().predict_proba(x, times)
    with pytest.raises(ModelError, match=r"t1 is missing \(NaT\) at row 3"):
        t1 = pd.Series(times).astype(object)
        t1[3] = pd.NaT
        LorentzianKNN().fit(x, y, times, pd.DatetimeIndex(t1))
    with pytest.raises(ModelError, match=r"times are in None but the model was fitted on UTC"):
        LorentzianKNN().fit(x, y, times, times).predict_proba(x, times.tz_localize(None))
    with pytest.raises(ModelError, match=r"t1 has 19 timestamps for 20 rows"):
        LorentzianKNN().fit(x, y, times, times[:19])
    with pytest.raises(ModelError, match=r"k must be a whole number >= 1"):
        LorentzianKNN(k=0)
    with pytest.raises(ModelError, match=r"max_back must be a whole number >= 1 .* or None"):
        LorentzianKNN(max_back=0)
    with pytest.raises(ModelError, match=r"max_back must be a whole number"):
        LorentzianKNN(max_back=100.5)  # type: ignore[arg-type]
    with pytest.raises(ModelError, match=r"stride must be a whole number >= 1"):
        LorentzianKNN(stride=0)
    with pytest.raises(ModelError, match=r"stride must be a whole number"):
        LorentzianKNN(stride=True)  # type: ignore[arg-type]
    with pytest.raises(
        ModelError, match=r"max_back=20 leaves fewer than k=8 candidates at stride=4; use max_back >= k \* stride = 32"
    ):
        LorentzianKNN(k=8, max_back=20, stride=4)
    LorentzianKNN(k=8, max_back=np.int64(32), stride=4)  # numpy integers count as whole numbers


def bounded_reference(knn_x, t1, x, times, k, max_back, stride):
    """The bounded search by its definition, in plain numpy: per query, the known rows in t1 order, the last
    ``max_back`` of them, every ``stride``-th counting back from the most recent, then the k nearest (ties to the
    earlier row in t1 order). Rows as indexed in ``fit``; fewer than k where fewer candidates exist."""
    order = np.argsort(t1, kind="stable")
    out = []
    for row, t in zip(x, times, strict=True):
        known = order[t1[order] < t]  # training rows whose label is known, in t1 order
        window = known if max_back is None else known[-max_back:]
        candidates = window[::-1][::stride][::-1]  # counted back from the most recent, walked oldest first
        d = np.log1p(np.abs(knn_x[candidates] - row)).sum(axis=1)
        out.append(candidates[np.argsort(d, kind="stable")[:k]])
    return out


@pytest.mark.parametrize(("max_back", "stride"), [(40, 4), (37, 3), (16, 1), (None, 4), (None, 1), (500, 1)])
def test_knn_bounded_search_is_the_brute_force_over_its_candidates(max_back, stride) -> None:
    n, k = 400, 4
    x, y = planted(n, seed=4)
    times = hours(n)
    rng = np.random.default_rng(5)
    # Labels known 1..29 bars later: t1 is not in time order, so "most recently known" is not "most recent bar".
    t1 = times + pd.to_timedelta(rng.integers(1, 30, n), unit="h")
    knn = LorentzianKNN(k=k, max_back=max_back, stride=stride).fit(x, y, times, t1)
    queries, query_times = x[::-1], times[::-1] + pd.Timedelta("30min")  # between bars, in any order
    nearest = knn.neighbours(queries, query_times)
    expected = bounded_reference(x, t1.asi8, queries, query_times.asi8, k, max_back, stride)
    for i, rows in enumerate(expected):
        assert nearest[i, : len(rows)].tolist() == rows.tolist()
        assert (nearest[i, len(rows) :] == -1).all()
    # The votes are the shares of those neighbours' labels.
    proba = knn.predict_proba(queries, query_times)
    for i in (0, 100, 350):
        np.testing.assert_array_equal(proba[i], np.bincount(y[expected[i]], minlength=3) / len(expected[i]))


def test_knn_unbounded_equals_the_exact_brute_force_and_wide_bounds_change_nothing() -> None:
    n, k = 600, 8
    x, y = planted(n, seed=6)
    times = hours(n)
    t1 = times + pd.Timedelta("5h")
    exact = LorentzianKNN(k=k, max_back=None, stride=1).fit(x, y, times, t1).neighbours(x, times)
    for i, rows in enumerate(brute_force(x, y, t1.asi8, x, times.asi8, k)):
        assert exact[i, : len(rows)].tolist() == rows.tolist()
        assert (exact[i, len(rows) :] == -1).all()
    # A window at least as long as the history, at stride 1, is the brute force too.
    wide = LorentzianKNN(k=k, max_back=n, stride=1).fit(x, y, times, t1).neighbours(x, times)
    np.testing.assert_array_equal(wide, exact)


def test_knn_window_follows_the_most_recently_known_rows() -> None:
    # Ten rows on one feature, all labels known; the query equals row 0, but a window of 4 only reaches rows 6..9.
    times = hours(11)
    x = np.arange(10, dtype=np.float64)[:, None]
    y = np.zeros(10, dtype=np.int64)
    knn = LorentzianKNN(k=2, max_back=4, stride=1).fit(x, y, times[:10], times[:10])
    assert knn.neighbours(np.zeros((1, 1)), times[10:]).tolist() == [[6, 7]]
    # Stride 2 counts back from row 9: rows 9 and 7 of the window 6..9.
    knn = LorentzianKNN(k=2, max_back=4, stride=2).fit(x, y, times[:10], times[:10])
    assert knn.neighbours(np.zeros((1, 1)), times[10:]).tolist() == [[7, 9]]
    # Queried at the time of row 5, only rows 0..4 are known: window 1..4, stride 2 from row 4: rows 4 and 2.
    assert knn.neighbours(np.zeros((1, 1)), times[5:6]).tolist() == [[2, 4]]


def test_knn_bounded_never_votes_with_a_label_not_yet_known() -> None:
    n, k = 3000, 8
    x, y = planted(n, seed=7)
    times = hours(n)
    rng = np.random.default_rng(8)
    t1 = times + pd.to_timedelta(rng.integers(0, 60, n), unit="h")  # some labels known at their own bar
    knn = LorentzianKNN(k=k, max_back=400, stride=4).fit(x, y, times, t1)
    nearest = knn.neighbours(x, times)
    found = nearest >= 0
    assert found[100:].all()  # after 100 bars at least k candidates are known
    used_t1 = np.where(found, t1.asi8[np.maximum(nearest, 0)], np.iinfo(np.int64).min)
    assert (used_t1 < times.asi8[:, None]).all()  # strictly before the query's time


def test_knn_bounded_scales_to_long_histories() -> None:
    # 20,000 queries over 20,000 training rows: with the default window each query scores 500 candidates, not up
    # to 20,000 (timing belongs to benchmarks/scale.py; this only runs it at that size).
    n = 20_000
    x, y = planted(n, seed=9)
    times = hours(n)
    knn = LorentzianKNN().fit(x, y, times, times + pd.Timedelta("10h"))
    proba = knn.predict_proba(x, times)
    assert proba.shape == (n, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba[1000:].argmax(axis=1) == y[1000:]).mean() > 0.6  # the planted signal is still found
    nearest = knn.neighbours(x[-1:], times[-1:])[0]
    # The last bar knows rows 0..n-12 (t1 = its time + 10 h < the query's time): only the last 2000 of them were
    # searched, every 4th counted back from row n-12.
    assert (nearest >= n - 11 - 2000).all()
    assert ((n - 12 - nearest) % 4 == 0).all()
