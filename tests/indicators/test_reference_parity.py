"""Indicators without a TA-Lib twin equal their definition written plainly in pandas (reference/*.py)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurotrade.indicators import available, compute, get

REFERENCE_DIR = Path(__file__).parent / "reference"


def load_references() -> dict[str, Callable[[pd.DataFrame, dict], pd.DataFrame]]:
    """Every ``REFERENCES`` table in ``reference/*.py``, merged."""
    found: dict[str, Callable[[pd.DataFrame, dict], pd.DataFrame]] = {}
    for path in sorted(REFERENCE_DIR.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"reference_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        overlap = set(found) & set(module.REFERENCES)
        assert not overlap, f"{path.name} redefines {overlap}"
        found.update(module.REFERENCES)
    return found


REFERENCES = load_references()
WITHOUT_TALIB = [info.name for info in available() if info.talib is None]


@pytest.mark.parametrize("name", WITHOUT_TALIB)
def test_every_indicator_beyond_talib_has_a_plain_definition(name: str) -> None:
    assert name in REFERENCES, f"write the plain definition of {name!r} in tests/indicators/reference/"
    assert get(name).definition, f"{name!r} needs a definition citing its published source"


@pytest.mark.parametrize("data", ["ohlcv", "ohlcv_flat"])
def test_kernels_equal_the_plain_definitions(case_beyond_talib, data: str, request: pytest.FixtureRequest) -> None:
    name, params = case_beyond_talib
    bars = request.getfixturevalue(data)
    ours = compute(bars, name, **params)
    theirs = REFERENCES[name](bars, dict(params))
    assert list(theirs.columns) == list(ours.columns)
    for column in ours.columns:
        mine, ref = ours[column].to_numpy(), theirs[column].to_numpy(dtype=np.float64)
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(ref), err_msg=f"{name}{params}.{column}: NaN")
        finite = ~np.isnan(ref)
        scale = float(np.max(np.abs(ref[finite]))) if finite.any() else 0.0
        np.testing.assert_allclose(
            mine[finite], ref[finite], rtol=1e-9, atol=1e-12 * scale, err_msg=f"{name}{params}.{column}"
        )
