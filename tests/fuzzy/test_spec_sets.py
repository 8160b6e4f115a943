"""Fuzzy sets as written in a strategy: every shape, the shorthand that infers it, and located errors."""

from __future__ import annotations

import numpy as np
import pytest

from neurotrade.config import parse_strategy
from neurotrade.config._spec import BellSet, GaussianSet, SigmoidSet, TrapezoidalSet, TriangularSet
from neurotrade.errors import ConfigError
from neurotrade.fuzzy import FuzzySet

HEAD = "name: t\nindicators: {rsi_14: {}}\nfuzzy_sets:\n  rsi_14:\n"


def problems(sets: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_strategy(HEAD + sets, source="x.yaml")
    return info.value.problems


def test_every_shape_loads_and_the_shape_is_inferred_from_the_keys() -> None:
    s = parse_strategy(
        HEAD + "    a: [0, 0, 30]\n"
        "    b: [0, 0, 30, 40]\n"
        "    c: {mean: 50, sigma: 5}\n"
        "    d: {center: 70, slope: 0.4}\n"
        "    e: {center: 50, width: 10}\n"
        "    f: {shape: bell, center: 50, width: 10, slope: 4}\n"
        "    g: {shape: sigmoid, center: 30, slope: -0.4}\n"
    )
    sets = s.fuzzy_sets["rsi_14"]
    kinds = [type(sets[n]) for n in "abcdefg"]
    assert kinds == [TriangularSet, TrapezoidalSet, GaussianSet, SigmoidSet, BellSet, BellSet, SigmoidSet]
    assert sets["e"].to_fuzzy_set("e") == FuzzySet("e", "bell", (10.0, 2.0, 50.0))  # slope defaults to 2
    assert sets["d"].to_fuzzy_set("d") == FuzzySet("d", "sigmoid", (0.4, 70.0))
    assert sets["g"].to_fuzzy_set("g")(np.array([20.0, 30.0, 40.0]))[1] == 0.5


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (
            "    hi: {center: 70, slope: 0}\n",
            "x.yaml:5 fuzzy_sets.rsi_14.hi: slope must not be 0 "
            "(a positive slope rises to the right, a negative one falls), got 0.0",
        ),
        (
            "    hi: {center: .inf, slope: 1}\n",
            "x.yaml:5 fuzzy_sets.rsi_14.hi.center: must be a finite number, got inf",
        ),
        ("    mid: {center: 50, width: 0}\n", "x.yaml:5 fuzzy_sets.rsi_14.mid.width: must be a number > 0, got 0"),
        (
            "    mid: {center: 50, width: 5, slope: -1}\n",
            "x.yaml:5 fuzzy_sets.rsi_14.mid.slope: must be a number > 0, got -1",
        ),
        ("    mid: {center: 50}\n", "x.yaml:5 fuzzy_sets.rsi_14.mid.slope: this key is required"),
        ("    mid: {sigma: 5}\n", "x.yaml:5 fuzzy_sets.rsi_14.mid.mean: this key is required"),
        ("    mid: {shape: bell, width: 5}\n", "x.yaml:5 fuzzy_sets.rsi_14.mid.center: this key is required"),
        (
            "    mid: {mean: .nan, sigma: 2}\n",
            "x.yaml:5 fuzzy_sets.rsi_14.mid.mean: must be a finite number, got nan",
        ),
        ("    mid: {mean: 50, sigma: 0}\n", "x.yaml:5 fuzzy_sets.rsi_14.mid.sigma: must be a number > 0, got 0"),
        (
            "    mid: [50, 50, 50]\n",
            "x.yaml:5 fuzzy_sets.rsi_14.mid: breakpoints must span a range (first < last), got [50.0, 50.0, 50.0]",
        ),
        (
            "    mid: [50, 40, 60, 70]\n",
            "x.yaml:5 fuzzy_sets.rsi_14.mid: breakpoints must be in increasing order, got [50.0, 40.0, 60.0, 70.0]",
        ),
    ],
)
def test_degenerate_sets_are_located_errors(sets: str, expected: str) -> None:
    assert problems(sets) == [expected]


def test_a_misspelt_shape_suggests_the_close_one() -> None:
    (problem,) = problems("    mid: {shape: sigmod, center: 50, slope: 1}\n")
    assert problem.startswith("x.yaml:5 fuzzy_sets.rsi_14.mid: unknown 'shape' 'sigmod'; did you mean 'sigmoid'?")
