"""The indicator catalog: the registry's declarations without numba, for a fast `neurotrade validate`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from neurotrade.errors import IndicatorError
from neurotrade.indicators import _catalog, _registry

REGENERATE = "stale: run `python -m neurotrade.indicators._catalog` and commit catalog.json"


def test_the_catalog_is_fresh_and_equals_the_registry() -> None:
    on_disk = json.loads(_catalog.CATALOG.read_text(encoding="utf-8"))
    assert on_disk["sources_sha256"] == _catalog.sources_sha256(), REGENERATE
    assert on_disk == _catalog.snapshot(), REGENERATE


def test_the_catalog_reads_back_as_the_registered_declarations() -> None:
    fresh = _catalog.fresh_declarations()
    assert fresh is not None, REGENERATE
    _registry.load_kernels()
    registered = {name: (e.info, e.constraints) for name, e in _registry._REGISTRY.items()}
    assert fresh == registered


def test_describing_and_checking_parameters_loads_no_numba() -> None:
    code = """
import sys
from neurotrade import indicators
print(indicators.get("macd").outputs, indicators.get("rsi").bounds)
print(indicators.check_params("macd", {"fast": 30, "slow": 20})[1])
print(len(indicators.available()), "numba" in sys.modules, "pandas" in sys.modules)
print(indicators.compute.__name__, "numba" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.splitlines() == [
        "('macd', 'signal', 'hist') {'rsi': (0.0, 100.0)}",
        "[('slow', 'must be greater than fast (30), got 20')]",
        f"{len(_catalog.fresh_declarations() or {})} False False",
        "compute True",
    ]


def test_a_stale_catalog_is_ignored_for_the_kernels(tmp_path, monkeypatch) -> None:
    stale = json.loads(_catalog.CATALOG.read_text(encoding="utf-8"))
    stale["sources_sha256"] = "0" * 64
    stale["indicators"] = stale["indicators"][:1]  # would hide every other indicator if it were believed
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(stale))
    monkeypatch.setattr(_catalog, "CATALOG", path)
    _catalog.fresh_declarations.cache_clear()
    try:
        assert _catalog.fresh_declarations() is None
        monkeypatch.setattr(_registry, "_kernels_loaded", False)
        assert len(_registry.available()) > 1 and _registry._kernels_loaded
    finally:
        _catalog.fresh_declarations.cache_clear()


def test_unknown_names_are_refused_from_the_catalog_too() -> None:
    with pytest.raises(IndicatorError, match=r"unknown indicator 'macdd'; did you mean 'macd'\?"):
        _registry._lookup("macdd", _catalog.fresh_declarations() or {})
