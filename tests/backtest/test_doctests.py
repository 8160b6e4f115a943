"""The examples in the public docstrings run and give what they show."""

from __future__ import annotations

import doctest

import pytest

from neurotrade.backtest import _costs, _metrics, _simulate


@pytest.mark.parametrize("module", [_costs, _metrics, _simulate], ids=lambda m: m.__name__)
def test_docstring_examples(module: object) -> None:
    outcome = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)  # type: ignore[arg-type]
    assert outcome.attempted > 0
    assert outcome.failed == 0
