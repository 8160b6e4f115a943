"""Membership functions: shape, edges, shoulders, NaN, and parameters that cannot make a set."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade.fuzzy import (
    FuzzySet,
    breakpoint_problem,
    gaussian,
    generalized_bell,
    sigmoid,
    trapezoidal,
    triangular,
)

finite = st.floats(-1e6, 1e6, allow_nan=False)


def test_triangular_shape_and_edges() -> None:
    x = [10, 20, 25, 30, 35, 40, 50]
    assert triangular(x, 20, 30, 40).tolist() == [0.0, 0.0, 0.5, 1.0, 0.5, 0.0, 0.0]


def test_trapezoidal_plateau_and_shoulders() -> None:
    assert trapezoidal([5, 10, 15, 25, 35, 40, 45], 10, 20, 30, 40).tolist() == [0, 0, 0.5, 1, 0.5, 0, 0]
    assert trapezoidal([0, 10, 30, 35, 40], 0, 0, 30, 40).tolist() == [1, 1, 1, 0.5, 0]  # left shoulder
    assert trapezoidal([60, 65, 70, 100], 60, 70, 100, 100).tolist() == [0, 0.5, 1, 1]  # right shoulder
    assert trapezoidal([-1, 0, 100, 101], 0, 0, 100, 100).tolist() == [0, 1, 1, 0]  # a crisp interval


def test_gaussian_peak_symmetry_and_width() -> None:
    values = gaussian([30.0, 40.0, 50.0], 40.0, 10.0)
    assert values[1] == 1.0
    assert values[0] == pytest.approx(values[2]) == pytest.approx(np.exp(-0.5))


def test_sigmoid_crosses_one_half_at_the_center_and_slope_sets_direction() -> None:
    x = np.array([-1e6, 40.0, 49.0, 50.0, 51.0, 60.0, 1e6])
    rising, falling = sigmoid(x, 0.5, 50.0), sigmoid(x, -0.5, 50.0)
    assert rising[3] == falling[3] == 0.5
    assert (np.diff(rising) > 0).sum() >= 5 and (np.diff(rising) >= 0).all()
    assert (np.diff(falling) <= 0).all()
    assert rising[[0, -1]].tolist() == [0.0, 1.0] and falling[[0, -1]].tolist() == [1.0, 0.0]
    assert rising[2] + rising[4] == pytest.approx(1.0)  # point-symmetric about (center, 0.5)
    assert rising[4] == pytest.approx(1 / (1 + np.exp(-0.5)))
    assert sigmoid([51.0], 2.0, 50.0)[0] > rising[4]  # a larger slope is a sharper step


def test_bell_is_one_at_the_center_and_one_half_at_center_plus_minus_width() -> None:
    values = generalized_bell([50.0, 40.0, 60.0, 70.0, 1e9], 10.0, 2.0, 50.0)
    assert values.tolist()[:3] == [1.0, 0.5, 0.5]
    assert values[3] == pytest.approx(1 / (1 + 2.0**4))
    assert values[4] == pytest.approx(0.0, abs=1e-30)
    gentle, steep = (
        generalized_bell([45.0, 55.0, 65.0], 10.0, 1.0, 50.0),
        generalized_bell([45.0, 65.0], 10.0, 5.0, 50.0),
    )
    assert gentle[0] == gentle[1]
    assert steep[0] > gentle[0] and steep[1] < gentle[2]  # steeper sides: flatter top, thinner tails


def test_extreme_inputs_give_limits_without_numpy_warnings() -> None:
    x = [-np.inf, -1e308, 1e308, np.inf]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sigmoid(x, 1e3, 0.0).tolist() == [0.0, 0.0, 1.0, 1.0]
        assert generalized_bell(x, 1.0, 3.0, 0.0).tolist() == [0.0, 0.0, 0.0, 0.0]
        assert gaussian(x, 0.0, 1e-3).tolist() == [0.0, 0.0, 0.0, 0.0]
        assert trapezoidal(x, -1e308, 0.0, 1.0, 1e308).tolist() == [0.0, 0.0, 0.0, 0.0]


ALL_SHAPES = [
    ("triangular", (20.0, 30.0, 40.0), triangular),
    ("trapezoidal", (0.0, 0.0, 30.0, 40.0), trapezoidal),
    ("gaussian", (40.0, 10.0), gaussian),
    ("sigmoid", (-0.3, 50.0), sigmoid),
    ("bell", (10.0, 1.5, 50.0), generalized_bell),
]


@pytest.mark.parametrize(("shape", "params", "function"), ALL_SHAPES, ids=[s[0] for s in ALL_SHAPES])
def test_every_shape_keeps_nan_and_fuzzy_set_dispatches_to_its_function(shape, params, function) -> None:
    x = np.array([np.nan, 0.0, 25.0, 45.0, 50.0, 100.0])
    values = FuzzySet("s", shape, params)(x)
    np.testing.assert_array_equal(values, function(x, *params))
    assert np.isnan(values[0]) and not np.isnan(values[1:]).any()


@pytest.mark.parametrize(
    ("shape", "params", "message"),
    [
        ("triangular", (30, 20, 40), "breakpoints must be in increasing order, got [30, 20, 40]"),
        ("triangular", (30, 30, 30), "breakpoints must span a range (first < last), got [30, 30, 30]"),
        ("triangular", (1, 2), "a triangular set needs 3 values, got 2"),
        ("triangular", (0, float("nan"), 1), "breakpoints must be finite numbers, got [0, nan, 1]"),
        ("trapezoidal", (0, 10, 5, 20), "breakpoints must be in increasing order, got [0, 10, 5, 20]"),
        ("trapezoidal", (5, 5, 5, 5), "breakpoints must span a range (first < last), got [5, 5, 5, 5]"),
        ("trapezoidal", (0, 1, 2), "a trapezoidal set needs 4 values, got 3"),
        ("trapezoidal", (0, 1, 2, float("inf")), "breakpoints must be finite numbers, got [0, 1, 2, inf]"),
        ("gaussian", (0, 0), "sigma must be > 0, got 0"),
        ("gaussian", (0, -2.5), "sigma must be > 0, got -2.5"),
        ("gaussian", (float("nan"), 1), "mean and sigma must be finite numbers, got [nan, 1]"),
        ("gaussian", (1,), "a gaussian set needs 2 values, got 1"),
        ("sigmoid", (0, 50), "slope must not be 0 (a positive slope rises to the right, a negative one falls), got 0"),
        ("sigmoid", (1, float("inf")), "slope and center must be finite numbers, got [1, inf]"),
        ("sigmoid", (1, 2, 3), "a sigmoid set needs 2 values, got 3"),
        ("bell", (0, 2, 50), "width must be > 0, got 0"),
        ("bell", (-10, 2, 50), "width must be > 0, got -10"),
        ("bell", (10, 0, 50), "slope must be > 0, got 0"),
        ("bell", (10, -1, 50), "slope must be > 0, got -1"),
        ("bell", (10, 2, float("nan")), "width, slope and center must be finite numbers, got [10, 2, nan]"),
        ("bell", (10, 2), "a bell set needs 3 values, got 2"),
        ("triangular", ("a", 1, 2), "breakpoints must be numbers, got ['a', 1, 2]"),
        (
            "sigmod",
            (1, 2),
            "unknown shape 'sigmod'; did you mean 'sigmoid'? "
            "(shapes: triangular, trapezoidal, gaussian, sigmoid, bell)",
        ),
    ],
)
def test_degenerate_parameters_are_rejected_for_every_shape(shape: str, params: tuple, message: str) -> None:
    assert breakpoint_problem(shape, params) == message
    with pytest.raises(ValueError, match=re.escape(f"fuzzy set 'x': {message}")):
        FuzzySet("x", shape, params)


@pytest.mark.parametrize(
    ("shape", "params"),
    [
        ("triangular", (0, 0, 30)),  # left shoulder
        ("triangular", (70, 100, 100)),  # right shoulder
        ("trapezoidal", (0, 0, 0, 1)),
        ("trapezoidal", (0, 1, 1, 1)),
        ("sigmoid", (-1e-9, 0)),
        ("bell", (1e-9, 1e-3, -5)),
    ],
)
def test_edge_parameters_that_still_make_a_set_are_accepted(shape: str, params: tuple) -> None:
    assert breakpoint_problem(shape, params) is None
    values = FuzzySet("x", shape, params)(np.linspace(-10, 110, 49))
    assert ((values >= 0) & (values <= 1)).all()


@given(st.lists(finite, min_size=4, max_size=4, unique=True), st.lists(finite, min_size=1, max_size=50))
@settings(max_examples=60)
def test_memberships_stay_in_unit_interval_and_peak_on_the_plateau(points: list[float], xs: list[float]) -> None:
    a, b, c, d = sorted(points)
    values = trapezoidal(xs, a, b, c, d)
    assert ((values >= 0) & (values <= 1)).all()
    assert trapezoidal([b, c], a, b, c, d).tolist() == [1.0, 1.0]
    assert trapezoidal([a, d], a, b, c, d).tolist() == [0.0, 0.0]


@given(
    center=finite,
    scale=st.floats(1e-3, 1e3),
    slope=st.floats(0.1, 20.0),
    xs=st.lists(finite, min_size=1, max_size=50),
)
@settings(max_examples=60)
def test_smooth_shapes_stay_in_unit_interval(center: float, scale: float, slope: float, xs: list[float]) -> None:
    for values in (
        gaussian(xs, center, scale),
        sigmoid(xs, slope / scale, center),
        sigmoid(xs, -slope / scale, center),
        generalized_bell(xs, scale, slope, center),
    ):
        assert ((values >= 0) & (values <= 1)).all()
