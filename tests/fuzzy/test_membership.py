"""Membership functions: shape, edges, shoulders, NaN, and breakpoints that cannot make a set."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurotrade.fuzzy import FuzzySet, breakpoint_problem, gaussian, trapezoidal, triangular

finite = st.floats(-1e6, 1e6, allow_nan=False)


def test_triangular_shape_and_edges() -> None:
    x = [10, 20, 25, 30, 35, 40, 50]
    assert triangular(x, 20, 30, 40).tolist() == [0.0, 0.0, 0.5, 1.0, 0.5, 0.0, 0.0]


def test_trapezoidal_plateau_and_shoulders() -> None:
    assert trapezoidal([5, 10, 15, 25, 35, 40, 45], 10, 20, 30, 40).tolist() == [0, 0, 0.5, 1, 0.5, 0, 0]
    assert trapezoidal([0, 10, 30, 35, 40], 0, 0, 30, 40).tolist() == [1, 1, 1, 0.5, 0]  # left shoulder
    assert trapezoidal([60, 65, 70, 100], 60, 70, 100, 100).tolist() == [0, 0.5, 1, 1]  # right shoulder


def test_gaussian_peak_symmetry_and_width() -> None:
    values = gaussian([30.0, 40.0, 50.0], 40.0, 10.0)
    assert values[1] == 1.0
    assert values[0] == pytest.approx(values[2]) == pytest.approx(np.exp(-0.5))


def test_nan_stays_nan_never_becomes_a_membership() -> None:
    for values in (triangular([np.nan], 0, 1, 2), trapezoidal([np.nan], 0, 1, 2, 3), gaussian([np.nan], 0, 1)):
        assert np.isnan(values[0])


@pytest.mark.parametrize(
    ("shape", "params", "message"),
    [
        ("triangular", (30, 20, 40), "breakpoints must be in increasing order, got [30, 20, 40]"),
        ("triangular", (30, 30, 30), "breakpoints must span a range (first < last), got [30, 30, 30]"),
        ("trapezoidal", (0, 10, 5, 20), "breakpoints must be in increasing order, got [0, 10, 5, 20]"),
        ("triangular", (1, 2), "a triangular set needs 3 values, got 2"),
        ("gaussian", (0, 0), "sigma must be > 0, got 0"),
        ("triangular", (0, float("nan"), 1), "breakpoints must be finite numbers, got [0, nan, 1]"),
    ],
)
def test_degenerate_breakpoints_are_rejected(shape: str, params: tuple, message: str) -> None:
    assert breakpoint_problem(shape, params) == message
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        FuzzySet("x", shape, params)


@given(st.lists(finite, min_size=4, max_size=4, unique=True), st.lists(finite, min_size=1, max_size=50))
def test_memberships_stay_in_unit_interval_and_peak_on_the_plateau(points: list[float], xs: list[float]) -> None:
    a, b, c, d = sorted(points)
    values = trapezoidal(xs, a, b, c, d)
    assert ((values >= 0) & (values <= 1)).all()
    assert trapezoidal([b, c], a, b, c, d).tolist() == [1.0, 1.0]
    assert trapezoidal([a, d], a, b, c, d).tolist() == [0.0, 0.0]
