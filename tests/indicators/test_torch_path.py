"""The torch path (``indicators._torch``) against the numba kernels, on the CPU device.

Every indicator in ``torch_forms()`` is tested here by its registration alone. Tolerances, per (symbol, output)
column, relative to that column's largest magnitude in the kernels' values (``scale``): float64 within
``1e-9 * scale``, float32 within ``1e-4 * scale``. Scaling by the column rather than by each value is how values
near zero are handled: an oscillator crossing 0 or a MACD histogram is a difference of nearly equal numbers, whose
own relative error says nothing about the computation. NaN masks (the warm-up, rows without a bar) are identical.

One exception, named in ``RATIO_OF_ROUNDINGS``: on symbol S6's perfectly flat stretch (open == high == low == close
for 120 bars) WaveTrend's channel index is (ap - esa) / (0.015 * d) with ap - esa at the last ulp of esa while d
still decays above the kernel's 1e-12 guard, so the kernel itself divides rounding by a small number and any other
order of additions gives another value (up to 1e-5 of the scale in float64); CCI in float32 likewise right after
the stretch (a mean deviation of a few float32 ulps). The Lorentzian features built on them, lorentzian_wt (that
channel index) and lorentzian_cci in float32 (the CCI of the close), then divide by their running range, so a
value from the stretch moves the symbol's later ones too. PGO on the stretch is the kernel's close - SMA (an ulp of
the price where the exact value is 0) over an ATR that has decayed towards 0: -2e-7 where this form, which sums
differences of neighbouring closes, gives exactly 0. Those columns keep their NaN masks checked; their values are
compared on the other symbols.

A second, named in ``NEAR_SINGULAR``: BETA over 2 returns (the short variant) regresses on two returns that are at
times nearly equal, and there the kernel's sums about a shift lose digits to cancellation (1.8e-9 of the value at
S0's bar 158, 1814.46..., where exact rational arithmetic on the kernel's own returns gives this form's value to the
last bit); that case is compared within 1e-8 of the scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from neurotrade.errors import ConfigError, IndicatorError
from neurotrade.indicators import compute, get, stream
from neurotrade.indicators._torch import (
    DEVICE_OVERRIDE_ENV,
    compute_on,
    compute_torch,
    has_torch_form,
    resolve_device,
    torch_forms,
)
from neurotrade.indicators._torch._core import linear_scan, masked_scan, two_pole_scan

from .conftest import VARIANTS, make_ohlcv, variant_params

FORMS = torch_forms()
N_BARS = 700


def _panel(seed: int = 0) -> pd.DataFrame:
    """Symbols with every kind of missing bar: late listing, holes, early delisting, too few bars for any
    warm-up, no bars at all, and a flat stretch (zero ranges, moves and variances)."""
    rng = np.random.default_rng(seed)
    frames = {}
    for s in range(7):
        bars = make_ohlcv(N_BARS, seed + s, flat=s == 6)
        present = np.ones(N_BARS, dtype=bool)
        if s == 1:
            present[: rng.integers(50, 300)] = False
        elif s == 2:
            present[rng.random(N_BARS) < 0.25] = False
        elif s == 3:
            present[rng.integers(300, 600) :] = False
        elif s == 4:
            present[:] = False
            present[100:105] = True  # fewer bars than any warm-up but the shortest
        elif s == 5:
            present[:] = False
        frames[f"S{s}"] = bars.where(np.repeat(present[:, None], bars.shape[1], axis=1))
    return pd.concat(frames, axis=1)


PANEL = _panel()


FLAT_SYMBOL = "S6"
RATIO_OF_ROUNDINGS = {
    ("wavetrend", "float64"),
    ("wavetrend", "float32"),
    ("cci", "float32"),
    ("lorentzian_wt", "float64"),
    ("lorentzian_wt", "float32"),
    ("lorentzian_cci", "float32"),
    ("pgo", "float64"),
}
NEAR_SINGULAR = {("beta", "short"): 1e-8}


def _assert_close(expected: pd.DataFrame, got: pd.DataFrame, tolerance: float, skip_flat: bool = False) -> None:
    assert got.shape == expected.shape
    assert got.columns.equals(expected.columns) and got.index.equals(expected.index)
    a, b = expected.to_numpy(), got.to_numpy()
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg="NaN masks differ")
    if skip_flat:
        kept = expected.columns.get_level_values(0) != FLAT_SYMBOL
        a, b, expected = a[:, kept], b[:, kept], expected.loc[:, kept]
    scale = np.nanmax(np.abs(a), axis=0, initial=0.0)
    error = np.where(np.isnan(a), 0.0, np.abs(a - b))
    worst = (error - tolerance * scale).max(axis=0, initial=-np.inf)
    bad = np.flatnonzero(worst > 0)
    assert bad.size == 0, (
        f"columns {[expected.columns[i] for i in bad[:5]]} off by up to "
        f"{[(error[:, i].max(), scale[i]) for i in bad[:5]]} (error, scale)"
    )


def _cases() -> list[tuple[str, str]]:
    return [(name, variant) for name in FORMS for variant in VARIANTS]


@pytest.mark.parametrize(("name", "variant"), _cases(), ids=[f"{n}-{v}" for n, v in _cases()])
def test_float64_equals_the_kernels_on_a_panel_with_missing_bars(name: str, variant: str) -> None:
    params = variant_params(get(name), variant)
    got = compute_torch(PANEL, name, device="cpu", **params)
    tolerance = NEAR_SINGULAR.get((name, variant), 1e-9)
    _assert_close(compute(PANEL, name, **params), got, tolerance, (name, "float64") in RATIO_OF_ROUNDINGS)


@pytest.mark.parametrize("name", FORMS)
def test_float32_within_1e_4_of_the_kernels(name: str) -> None:
    params = variant_params(get(name), "defaults")
    got = compute_torch(PANEL, name, device="cpu", dtype=torch.float32, **params)
    _assert_close(compute(PANEL, name, **params), got, 1e-4, (name, "float32") in RATIO_OF_ROUNDINGS)


# Ratios within one bar (BOP: (close - open) / (high - low)) that scaling a whole bar leaves as they are: after
# the cut their bars are also put in reverse order, so that the perturbation changes their values.
WITHIN_ONE_BAR = {"bop"}


@pytest.mark.parametrize("name", FORMS)
def test_causal_values_before_a_perturbation_do_not_move(name: str) -> None:
    params = variant_params(get(name), "short")
    cut = 400
    before = compute_torch(PANEL, name, device="cpu", **params)
    perturbed = PANEL.copy()
    rng = np.random.default_rng(7)
    factor = np.exp(rng.normal(0.0, 0.05, (len(PANEL) - cut, 1)))
    # Scale whole bars (every price field alike) so each stays a valid bar; volumes too.
    perturbed.iloc[cut:] = perturbed.iloc[cut:].to_numpy() * factor
    if name in WITHIN_ONE_BAR:
        perturbed.iloc[cut:] = perturbed.iloc[cut:].to_numpy()[::-1]  # other bars, each still valid
    after = compute_torch(perturbed, name, device="cpu", **params)
    np.testing.assert_array_equal(before.iloc[:cut].to_numpy(), after.iloc[:cut].to_numpy())
    changed = ~np.isclose(before.iloc[cut:].to_numpy(), after.iloc[cut:].to_numpy(), equal_nan=True)
    assert changed.any(), "the perturbation changed nothing after the cut: the test would not see a leak"


@pytest.mark.parametrize("name", FORMS)
def test_a_single_frame_equals_the_numba_stream_bar_by_bar(name: str) -> None:
    params = variant_params(get(name), "short")
    bars = make_ohlcv(150, 3)
    live = stream(name, **params)
    streamed = pd.DataFrame([live.update(bar) for _, bar in bars.iterrows()], index=bars.index)
    got = compute_torch(bars, name, device="cpu", **params)
    assert list(got.columns) == list(get(name).outputs)
    _assert_close(streamed[list(got.columns)], got, 1e-9)


def test_a_dict_of_frames_on_different_indexes_equals_the_kernels() -> None:
    frames = {"A": make_ohlcv(300, 1), "B": make_ohlcv(200, 2, start="2020-01-05")}
    _assert_close(compute(frames, "adx", period=9), compute_torch(frames, "adx", device="cpu", period=9), 1e-9)


def test_every_form_is_a_registered_indicator_and_others_are_refused() -> None:
    assert {"rsi", "cci", "adx", "dx", "plus_di", "minus_di", "wavetrend", "sma", "ema", "macd", "bbands"} <= set(FORMS)
    for name in FORMS:
        assert get(name).name == name
        assert has_torch_form(name)
    assert not has_torch_form("mama")
    with pytest.raises(IndicatorError, match="no torch form"):
        compute_torch(PANEL, "mama")
    with pytest.raises(IndicatorError, match="period"):
        compute_torch(PANEL, "rsi", period=1)


def test_a_bar_with_a_missing_input_is_refused_as_by_compute() -> None:
    broken = PANEL.copy()
    broken.loc[broken.index[10], ("S0", "close")] = np.nan
    with pytest.raises(IndicatorError) as numba_error:
        compute(broken, "rsi")
    with pytest.raises(IndicatorError) as torch_error:
        compute_torch(broken, "rsi")
    assert str(torch_error.value) == str(numba_error.value)


def _loop(b: np.ndarray, a: float, active: np.ndarray | None = None) -> np.ndarray:
    y = np.zeros_like(b)
    prev = np.zeros(b.shape[0])
    for t in range(b.shape[1]):
        on = np.ones(b.shape[0], dtype=bool) if active is None else active[:, t]
        prev = np.where(on, a * prev + b[:, t], prev)
        y[:, t] = prev
    return y


@pytest.mark.parametrize("a", [-0.34, 0.0, 0.3, 13 / 14, 0.999, 1.0])  # -0.34: the decycler's pole at hp_period 2
@pytest.mark.parametrize("length", [1, 63, 64, 65, 1000, 4200])
def test_blocked_scan_equals_the_sequential_recurrence(a: float, length: int) -> None:
    b = np.random.default_rng(length).normal(100.0, 10.0, (3, length))
    got = linear_scan(torch.from_numpy(b), a).numpy()
    expected = _loop(b, a)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("lp_period", [2, 10, 150])
def test_two_pole_scan_equals_the_sequential_recurrence(lp_period: int) -> None:
    # The roofing filter's super smoother: complex poles at angle 1.414 * pi / lp_period (near 0 for 150 bars).
    a1 = np.exp(-1.414 * 3.14159 / lp_period)
    c2, c3 = 2.0 * a1 * np.cos(1.414 * np.pi / lp_period), -a1 * a1
    b = np.random.default_rng(lp_period).normal(0.0, 1.0, (3, 3000))
    expected = np.zeros_like(b)
    for t in range(b.shape[1]):
        expected[:, t] = (
            b[:, t] + (c2 * expected[:, t - 1] if t >= 1 else 0.0) + (c3 * expected[:, t - 2] if t >= 2 else 0.0)
        )
    got = two_pole_scan(torch.from_numpy(b), c2, c3).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-11 * np.abs(expected).max())


@pytest.mark.parametrize("a", [0.5, 13 / 14, 1.0])
def test_masked_scan_holds_its_value_on_inactive_bars(a: float) -> None:
    rng = np.random.default_rng(1)
    b = rng.normal(1.0, 1.0, (4, 777))
    active = rng.random((4, 777)) < 0.7
    active[1, 100:400] = False  # a long hold across blocks
    got = masked_scan(torch.from_numpy(b), a, torch.from_numpy(active)).numpy()
    np.testing.assert_allclose(got, _loop(b, a, active), rtol=1e-12, atol=1e-12 * np.abs(b).sum())


def test_indicators_device_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEVICE_OVERRIDE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("cpu") is None
    assert resolve_device("auto") is None  # no CUDA: the numba kernels
    with pytest.raises(ConfigError, match="indicators_device: is 'cuda' but this machine has no CUDA device"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="indicators_device"):
        resolve_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    monkeypatch.setenv(DEVICE_OVERRIDE_ENV, "cpu")
    assert resolve_device("cuda") == torch.device("cpu")


def test_compute_on_runs_torch_only_where_asked_and_possible(monkeypatch: pytest.MonkeyPatch) -> None:
    bars = make_ohlcv(200, 5)
    monkeypatch.delenv(DEVICE_OVERRIDE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    # cpu (and auto without CUDA) is the kernels, bit for bit.
    pd.testing.assert_frame_equal(compute_on(bars, "rsi", "auto"), compute(bars, "rsi"))
    monkeypatch.setenv(DEVICE_OVERRIDE_ENV, "cpu")
    torch_rsi = compute_on(bars, "rsi", "cuda")
    assert not torch_rsi.equals(compute(bars, "rsi"))  # the torch form ran: not bit for bit
    _assert_close(compute(bars, "rsi"), torch_rsi, 1e-9)
    # An indicator without a torch form stays on the kernels.
    pd.testing.assert_frame_equal(compute_on(bars, "mama", "cuda"), compute(bars, "mama"))
