"""Ehlers' Hilbert-transform studies (TA-Lib's HT_* and MAMA) beyond the registry-wide contract tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from neurotrade.indicators import compute, stream


def _cycle(period: float, n: int = 600) -> pd.DataFrame:
    return pd.DataFrame({"close": 100.0 + 5.0 * np.sin(2.0 * np.pi * np.arange(n) / period)})


@pytest.mark.parametrize("period", [15.0, 20.0, 30.0])
def test_the_dominant_cycle_period_of_a_pure_cycle(period: float) -> None:
    found = compute(_cycle(period), "ht_dcperiod")["dcperiod"].to_numpy()[-200:]
    assert np.abs(found - period).max() < 0.1 * period


def test_the_sine_wave_of_a_pure_cycle_is_in_phase_with_it() -> None:
    bars = _cycle(20.0)
    out = compute(bars, "ht_sine").iloc[-200:]
    phase = 2.0 * np.pi * np.arange(600)[-200:] / 20.0
    assert np.corrcoef(out["sine"], np.sin(phase))[0, 1] > 0.999
    assert np.corrcoef(out["leadsine"], np.sin(phase + np.pi / 4.0))[0, 1] > 0.999


def test_mama_follows_a_trend_and_fama_follows_mama() -> None:
    bars = pd.DataFrame({"close": np.linspace(100.0, 200.0, 400)})
    out = compute(bars, "mama").iloc[-50:]
    assert (out["mama"] < bars["close"].iloc[-50:]).all() and (out["fama"] < out["mama"]).all()
    assert (bars["close"].iloc[-50:] - out["mama"]).max() < 5.0


@pytest.mark.parametrize(
    ("name", "theirs"),
    [
        ("ht_dcperiod", lambda c: [talib.HT_DCPERIOD(c)]),
        ("ht_dcphase", lambda c: [talib.HT_DCPHASE(c)]),
        ("ht_phasor", lambda c: list(talib.HT_PHASOR(c))),
        ("ht_sine", lambda c: list(talib.HT_SINE(c))),
        ("ht_trendline", lambda c: [talib.HT_TRENDLINE(c)]),
        ("mama", lambda c: list(talib.MAMA(c, 0.5, 0.05))),
    ],
)
def test_equal_to_talib_over_a_long_series_computed_in_chunks(name: str, theirs) -> None:
    rng = np.random.default_rng(5)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 20_000)))
    bars = pd.DataFrame({"close": close})
    batch = compute(bars, name).to_numpy()
    assert np.array_equal(batch, np.column_stack(theirs(close)), equal_nan=True)
    live = stream(name)
    tail = [list(live.update({"close": c}).values()) for c in close[:300]]
    assert np.array_equal(np.array(tail), batch[:300], equal_nan=True)
