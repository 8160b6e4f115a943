"""Parameter checks: every problem found at once, each message stating the whole constraint."""

from __future__ import annotations

import numpy as np
import pytest

from neurotrade.errors import IndicatorError
from neurotrade.indicators import Param, check_params, get, validate_params


@pytest.mark.parametrize(
    ("name", "given", "problem"),
    [
        ("rsi", {"period": "fourteen"}, ("period", "must be an integer from 2 to 100000, got 'fourteen'")),
        ("rsi", {"period": 1}, ("period", "must be an integer from 2 to 100000, got 1")),
        ("rsi", {"period": 100_001}, ("period", "must be an integer from 2 to 100000, got 100001")),
        ("rsi", {"period": True}, ("period", "must be an integer from 2 to 100000, got True")),
        ("rsi", {"period": None}, ("period", "must be an integer from 2 to 100000, got None")),
        ("rsi", {"period": 14.0}, ("period", "must be an integer from 2 to 100000 (write 14, not 14.0), got 14.0")),
        ("rsi", {"period": 14.5}, ("period", "must be an integer from 2 to 100000, got 14.5")),
        ("rsi", {"perod": 14}, ("perod", "unknown parameter; did you mean 'period'?")),
        ("rsi", {"colour": 1}, ("colour", "unknown parameter; rsi takes period")),
        ("bbands", {"nbdev_up": -1}, ("nbdev_up", "must be a number > 0, got -1")),
        ("bbands", {"nbdev_down": 0.0}, ("nbdev_down", "must be a number > 0, got 0.0")),
        ("bbands", {"nbdev_up": float("inf")}, ("nbdev_up", "must be a finite number > 0, got inf")),
        ("bbands", {"nbdev_up": "2"}, ("nbdev_up", "must be a number > 0, got '2'")),
        ("macd", {"slow": 10}, ("slow", "must be greater than fast (12), got 10")),
        ("macd", {"fast": 26}, ("slow", "must be greater than fast (26), got 26")),
    ],
)
def test_each_problem_is_named_and_explained(name: str, given: dict, problem: tuple[str, str]) -> None:
    _, problems = check_params(name, given)
    assert problems == [problem]


def test_valid_values_are_normalised_and_defaults_filled_in() -> None:
    values, problems = check_params("bbands", {"nbdev_up": 1, "period": np.int64(10)})
    assert problems == []
    assert values == {"period": 10, "nbdev_up": 1.0, "nbdev_down": 2.0}
    assert type(values["period"]) is int and type(values["nbdev_up"]) is float
    assert list(values) == ["period", "nbdev_up", "nbdev_down"]


def test_invalid_values_are_left_out_of_the_result() -> None:
    values, problems = check_params("macd", {"fast": "x", "signal": 3})
    assert values == {"slow": 26, "signal": 3}
    assert problems == [("fast", "must be an integer from 2 to 100000, got 'x'")]


def test_validate_params_lists_every_problem() -> None:
    with pytest.raises(IndicatorError) as caught:
        validate_params("macd", fast=12, slow=10, signall=9)
    assert str(caught.value) == (
        "invalid parameters for indicator 'macd':\n"
        "  signall: unknown parameter; did you mean 'signal'?\n"
        "  slow: must be greater than fast (12), got 10"
    )


def test_validate_params_returns_the_full_set() -> None:
    assert validate_params("MACD", slow=30) == {"fast": 12, "slow": 30, "signal": 9}


@pytest.mark.parametrize(
    ("param", "text"),
    [
        (Param("n", int, 5, 2, None, ""), "an integer >= 2"),
        (Param("n", int, 5, None, 9, ""), "an integer <= 9"),
        (Param("n", int, 5, None, None, ""), "an integer"),
        (Param("x", float, 1.0, 0.5, 2.5, ""), "a number from 0.5 to 2.5"),
        (Param("x", float, 1.0, 0.0, 3.0, "", exclusive_minimum=True), "a number > 0 and <= 3"),
    ],
)
def test_constraint_text_comes_from_the_declaration(param: Param, text: str) -> None:
    assert param.constraint() == text


def test_declared_parameters() -> None:
    periods = [p for name in ("sma", "ema", "rsi", "atr", "adx", "bbands") for p in get(name).params[:1]]
    periods += list(get("macd").params)
    assert all((p.kind, p.minimum, p.maximum) == (int, 2, 100_000) for p in periods)
    assert {name: get(name).defaults() for name in ("sma", "ema", "rsi", "atr", "adx")} == {
        "sma": {"period": 20},
        "ema": {"period": 20},
        "rsi": {"period": 14},
        "atr": {"period": 14},
        "adx": {"period": 14},
    }
    assert get("macd").defaults() == {"fast": 12, "slow": 26, "signal": 9}
    assert get("bbands").defaults() == {"period": 20, "nbdev_up": 2.0, "nbdev_down": 2.0}
