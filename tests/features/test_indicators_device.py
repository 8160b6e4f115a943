"""`indicators_device: auto | cpu | cuda`: the key from the spec to the feature builder, end to end.

This machine may have no GPU, so the torch forms are exercised on the CPU through the tests-only override
``DEVICE_OVERRIDE_ENV`` (``auto`` and ``cuda`` then run the torch forms on that device).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from neurotrade import run
from neurotrade.config import parse_strategy
from neurotrade.errors import ConfigError
from neurotrade.features import compute_indicator_panels, feature_frame
from neurotrade.indicators._torch import DEVICE_OVERRIDE_ENV

from ..conftest import SMALL_STRATEGY

EXTRA = "  bbands: {period: 10}\n  wavetrend: {}\n  kama: {}\n"  # kama has no torch form: it stays on numba
SPEC = SMALL_STRATEGY.replace("  macd: {}\n", "  macd: {}\n" + EXTRA)


@pytest.fixture
def no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without CUDA and without the override, whatever this one has."""
    monkeypatch.delenv(DEVICE_OVERRIDE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def _spec(device: str | None, text: str = SPEC):
    return parse_strategy(text if device is None else f"{text}indicators_device: {device}\n")


def _close(a: np.ndarray, b: np.ndarray, tolerance: float) -> bool:
    scale = np.nanmax(np.abs(a), axis=0, initial=0.0)
    return bool(((np.isnan(a) == np.isnan(b)).all()) and (np.nan_to_num(np.abs(a - b)) <= tolerance * scale).all())


def test_the_key_defaults_to_cpu_and_is_left_out_of_the_dump_then() -> None:
    assert _spec(None).indicators_device == "cpu"
    assert "indicators_device" not in _spec(None).model_dump(mode="json")  # bundles and ledger hashes unchanged
    assert _spec("cpu").model_dump(mode="json") == _spec(None).model_dump(mode="json")
    assert _spec("auto").model_dump(mode="json")["indicators_device"] == "auto"
    with pytest.raises(ConfigError, match="indicators_device"):
        _spec("gpu")


def test_the_torch_forms_through_the_feature_builder(bars, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_OVERRIDE_ENV, "cpu")
    kernels = feature_frame(bars, _spec("cpu"))
    on_torch = feature_frame(bars, _spec("auto"))
    assert list(on_torch.columns) == list(kernels.columns)
    a, b = kernels.to_numpy(), on_torch.to_numpy()
    assert not np.array_equal(a, b, equal_nan=True)  # the torch forms ran: other last bits
    assert _close(a, b, 1e-9)


def test_a_universe_computes_its_panels_with_torch(bars, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_OVERRIDE_ENV, "cpu")
    universe = {"A": bars, "B": bars.iloc[300:] * 1.5, "C": bars.iloc[::2]}
    spec = _spec("cuda")
    kernels = compute_indicator_panels(universe, spec.indicators)
    on_torch = compute_indicator_panels(universe, spec.indicators, spec.indicators_device)
    for symbol in universe:
        assert on_torch[symbol].index.equals(kernels[symbol].index)
        assert list(on_torch[symbol].columns) == list(kernels[symbol].columns)
        assert _close(kernels[symbol].to_numpy(), on_torch[symbol].to_numpy(), 1e-9)
    assert on_torch["A"]["kama_30" if "kama_30" in on_torch["A"] else "kama"].equals(
        kernels["A"]["kama_30" if "kama_30" in kernels["A"] else "kama"]
    )


def test_cuda_without_a_gpu_is_a_config_error_naming_the_key(bars, tmp_path: Path, no_cuda: None) -> None:
    with pytest.raises(ConfigError, match=r"indicators_device: is 'cuda' but this machine has no CUDA device"):
        feature_frame(bars, _spec("cuda"))
    with pytest.raises(ConfigError, match="indicators_device"):
        run(_spec("cuda"), home=tmp_path)


def test_a_run_with_cpu_and_with_auto_on_a_machine_without_cuda(tmp_path: Path, no_cuda: None) -> None:
    text = SPEC.replace("epochs: 15", "epochs: 2")
    results = {device: run(_spec(device, text), home=tmp_path / device) for device in ("cpu", "auto")}
    # Without CUDA, auto is the numba kernels: the same features, so the same model and the same trades.
    assert results["auto"].metrics == results["cpu"].metrics
    specs = {
        device: json.loads((tmp_path / device / "models" / "small_test" / "1d_v1" / "spec.json").read_text())
        for device in results
    }
    assert specs["auto"]["indicators_device"] == "auto"
    assert "indicators_device" not in specs["cpu"]
