"""One value at a time (a live bar) gives exactly the membership the whole series gives, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade.fuzzy import FuzzySet

SETS = [
    FuzzySet("tri", "triangular", (20.0, 30.0, 40.0)),
    FuzzySet("tri_shoulder", "triangular", (0, 0, 30)),
    FuzzySet("trap", "trapezoidal", (0.1, 0.7, 3.3, 9.1)),
    FuzzySet("trap_right", "trapezoidal", (60, 70, 100, 100)),
    FuzzySet("gauss", "gaussian", (41.3, 7.7)),
    FuzzySet("rise", "sigmoid", (0.37, 52.1)),
    FuzzySet("fall", "sigmoid", (-1.9, -0.3)),
    FuzzySet("bell", "bell", (9.3, 1.37, 48.2)),
    FuzzySet("bell_int_power", "bell", (10, 2, 50)),
]

EDGES = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-300, -1e308, 1e308, 20.0, 30.0, 40.0, 52.1, 48.2 + 9.3]


def bits(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)


@pytest.mark.parametrize("fuzzy_set", SETS, ids=lambda s: s.name)
def test_one_value_at_a_time_equals_the_series_bit_for_bit(fuzzy_set: FuzzySet) -> None:
    rng = np.random.default_rng(7)
    series = np.concatenate([EDGES, rng.normal(40.0, 30.0, 2000), rng.uniform(-5, 105, 2000)])
    batch = fuzzy_set(series)
    streamed = np.array([fuzzy_set.membership(v) for v in series])
    np.testing.assert_array_equal(bits(streamed), bits(batch))
    # A column of a frame is often a strided view: the batch result must not depend on the memory layout.
    wide = np.repeat(series[:, None], 3, axis=1)
    np.testing.assert_array_equal(bits(fuzzy_set(wide[:, 1])), bits(batch))


@pytest.mark.parametrize("fuzzy_set", SETS, ids=lambda s: s.name)
def test_membership_takes_a_number_and_returns_a_python_float(fuzzy_set: FuzzySet) -> None:
    for value in (35, np.float64(35.0), np.float32(35.0), 35.0):
        out = fuzzy_set.membership(value)
        assert type(out) is float
        assert out == fuzzy_set([float(value)])[0]
    assert np.isnan(fuzzy_set.membership(float("nan")))


shapes = st.sampled_from(["triangular", "trapezoidal", "gaussian", "sigmoid", "bell"])
numbers = st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False)


@st.composite
def fuzzy_sets(draw: st.DrawFn) -> FuzzySet:
    shape = draw(shapes)
    if shape in ("triangular", "trapezoidal"):
        n = 3 if shape == "triangular" else 4
        points = sorted(draw(st.lists(numbers, min_size=n, max_size=n)))
        if points[0] == points[-1]:
            points[-1] += 1.0
        return FuzzySet("h", shape, tuple(points))
    positive = st.floats(1e-3, 1e3)
    if shape == "gaussian":
        return FuzzySet("h", shape, (draw(numbers), draw(positive)))
    if shape == "sigmoid":
        return FuzzySet("h", shape, (draw(positive) * draw(st.sampled_from([-1, 1])), draw(numbers)))
    return FuzzySet("h", shape, (draw(positive), draw(st.floats(0.1, 10.0)), draw(numbers)))


@given(fuzzy_sets(), st.lists(numbers, min_size=1, max_size=40))
@settings(max_examples=80, deadline=None)
def test_streaming_matches_batch_for_random_sets(fuzzy_set: FuzzySet, xs: list[float]) -> None:
    batch = fuzzy_set(np.array(xs))
    streamed = np.array([fuzzy_set.membership(v) for v in xs])
    np.testing.assert_array_equal(bits(streamed), bits(batch))
