"""The registry: what each indicator is called, reads and returns, and how unknown names are met."""

from __future__ import annotations

import pytest

from neurotrade.errors import IndicatorError
from neurotrade.indicators import available, get

OHLCV = {"open", "high", "low", "close", "volume"}


def test_available_is_sorted_and_complete() -> None:
    names = [info.name for info in available()]
    assert names == sorted(names)
    assert {"sma", "ema", "rsi", "macd", "atr", "bbands", "adx"} <= set(names)


def test_every_declaration_is_consistent() -> None:
    for info in available():
        assert info.name == info.name.lower()
        assert info.description and "\n" not in info.description
        assert set(info.inputs) <= OHLCV and info.inputs
        assert len(set(info.outputs)) == len(info.outputs) > 0
        assert get(info.name) is info


def test_outputs_and_inputs() -> None:
    assert {info.name: info.outputs for info in available() if info.name in {"sma", "macd", "bbands"}} == {
        "bbands": ("upper", "middle", "lower"),
        "macd": ("macd", "signal", "hist"),
        "sma": ("sma",),
    }
    assert get("adx").inputs == get("atr").inputs == ("high", "low", "close")
    assert get("rsi").inputs == ("close",)


def test_names_are_case_insensitive() -> None:
    assert get("RSI") is get("rsi")


def test_unknown_indicator_suggests_the_closest_name() -> None:
    with pytest.raises(IndicatorError) as caught:
        get("rsii")
    message = str(caught.value)
    names = ", ".join(info.name for info in available())
    assert message == f"unknown indicator 'rsii'; did you mean 'rsi'? Available indicators: {names}"


def test_unknown_indicator_without_a_close_match_lists_them_all() -> None:
    with pytest.raises(IndicatorError) as caught:
        get("zzz")
    names = ", ".join(info.name for info in available())
    assert str(caught.value) == f"unknown indicator 'zzz'. Available indicators: {names}"


def test_a_name_must_be_a_string() -> None:
    with pytest.raises(IndicatorError, match="an indicator name must be a string, got 14"):
        get(14)  # type: ignore[arg-type]
