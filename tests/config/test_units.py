"""Price-level inputs: feeding the network an output in price or volume units warns, naming a scale-free alternative
(issue 9, item 7); the table of units agrees with what the kernels compute."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurotrade import indicators
from neurotrade.cli import main
from neurotrade.config import load_strategy, parse_strategy
from neurotrade.config._units import OUTPUT_UNITS, PRICE, PRICE_CHANGE, PRICE_SCALED, SCALE_FREE, VOLUME
from neurotrade.data import synthetic_ohlcv

WHY = (
    "which split adjustment rescales before every split (prices divided by the ratio, volume multiplied), so one value "
    "means different markets in different years"
)


def spec(indicator_block: str, inputs: str, extra: str = "") -> str:
    return f"name: t\nindicators: {indicator_block}\nnn_inputs:\n  indicators: {inputs}\n{extra}"


def warnings_of(text: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="neurotrade.config"):
        parse_strategy(text, source="x.yaml")
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


PPO = "ppo (the fast-slow EMA gap as a percentage of the slow EMA)"
PRICE_UNIT_INPUTS = {
    "sma": ("{sma_50: {period: 50}}", "sma_50", "sma_50 is a price level", "nn_inputs.context.price_over_ma: [50] "
            "(the close over its 50-bar SMA, minus 1)"),
    "atr": ("{atr_14: {}}", "atr_14", "atr_14 is in price units", "natr (the ATR as a percentage of the close)"),
    "obv": ("{obv: {}}", "obv", "obv is in volume units", "nn_inputs.context.volume_ratio: [n] (the volume over its "
            "n-bar average) or a flow oscillator (cmf, mfi)"),
    "macd.hist": ("{macd: {}}", "macd.hist", "macd.hist is in price units", PPO),
    "macd.macd": ("{macd: {}}", "macd.macd", "macd.macd is in price units", PPO),
    "bbands": ("{bb: {type: bbands, period: 30}}", "bb.upper", "bb.upper is a price level",
               "nn_inputs.context.price_over_ma: [30] (the close over its 30-bar SMA, minus 1)"),
    "ema": ("{fast: {type: ema}}", "fast", "fast is a price level", "a ratio to the close, e.g. "
            "nn_inputs.context.price_over_ma: [n] (the close over its n-bar SMA, minus 1), or an oscillator of where "
            "the close sits (willr, stoch, cci)"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PRICE_UNIT_INPUTS))
def test_a_raw_price_unit_input_warns_with_a_scale_free_alternative(
    caplog: pytest.LogCaptureFixture, name: str
) -> None:
    block, ref, what, alternative = PRICE_UNIT_INPUTS[name]
    found = warnings_of(spec(block, f"[rsi_14, {ref}]").replace("indicators: {", "indicators: {rsi_14: {}, "), caplog)
    assert found == [f"x.yaml:4 nn_inputs.indicators[1]: {what}, {WHY}; use {alternative} instead"]


def test_scale_free_inputs_and_price_units_seen_only_through_ratios_or_sets_do_not_warn(caplog) -> None:
    text = spec(
        "{rsi_14: {}, natr_14: {}, ppo: {}, roc_10: {}, sma_50: {period: 50}, macd: {}, st: {type: supertrend}}",
        "[rsi_14, natr_14, ppo, roc_10, st.direction]",
        "  context: {price_over_ma: [50], volume_ratio: [20]}\n"
        "fuzzy_sets:\n  sma_50: {low: [0, 0, 50, 100]}\n  macd.hist: {neg: [-10, -10, 0, 0.5]}\n",
    )
    assert warnings_of(text, caplog) == []


def test_validate_shows_the_warning_and_still_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(spec("{atr_14: {}}", "[atr_14]"))
    with pytest.raises(SystemExit) as info:
        main(["validate", str(file)])
    out = capsys.readouterr()
    assert (info.value.code or 0) == 0
    shown = " ".join((out.out + out.err).split())  # the log handler wraps long lines
    assert "s.yaml:4 nn_inputs.indicators[0]: atr_14 is in price units" in shown and "use natr" in shown


def test_loading_logs_the_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(spec("{sma_50: {period: 50}}", "[sma_50]"))
    with caplog.at_level(logging.WARNING, logger="neurotrade.config"):
        load_strategy(file)
    assert any(f"{file}:4 nn_inputs.indicators[0]: sma_50 is a price level" in r.getMessage() for r in caplog.records)


def test_every_indicator_is_classified_once() -> None:
    names = {info.name for info in indicators.available()}
    assert set(OUTPUT_UNITS) | SCALE_FREE == names
    assert not set(OUTPUT_UNITS) & SCALE_FREE
    for name, units in OUTPUT_UNITS.items():
        assert set(units) <= set(indicators.get(name).outputs), name
        assert set(units.values()) <= {PRICE, PRICE_CHANGE, PRICE_SCALED, VOLUME}, name


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return synthetic_ohlcv(1500, seed=11)


def _outputs(bars: pd.DataFrame, name: str) -> pd.DataFrame:
    return indicators.compute(bars, name).iloc[-600:]  # well past every warm-up and every filter's start-up


@pytest.mark.parametrize("name", sorted(info.name for info in indicators.available()))
def test_the_units_are_what_the_kernels_compute(bars: pd.DataFrame, name: str) -> None:
    """Scale prices by 8 (exact in binary): outputs in price units scale by 8, the others do not move. Shift prices
    by a constant: price levels shift with it, price differences do not. Scale volume: volume outputs follow."""
    prices = ["open", "high", "low", "close"]
    base = _outputs(bars, name)
    scaled_prices = bars.copy()
    scaled_prices[prices] *= 8.0
    shifted = bars.copy()
    shifted[prices] += 50.0
    scaled_volume = bars.copy()
    scaled_volume["volume"] *= 8.0
    by_price, by_shift, by_volume = (_outputs(b, name) for b in (scaled_prices, shifted, scaled_volume))
    units = OUTPUT_UNITS.get(name, {})
    for output in base.columns:
        unit = units.get(output)
        x, ok = base[output].to_numpy(), base[output].notna().to_numpy()
        assert ok.any(), f"{name}.{output} has no values to compare"

        def same(a: np.ndarray, b: np.ndarray, ok: np.ndarray = ok) -> bool:
            return bool(np.allclose(a[ok], b[ok], rtol=1e-6, atol=1e-9 * np.abs(b[ok]).max()))

        if unit == PRICE_SCALED:  # moves with the scale, but not in proportion; not with the level
            assert not same(by_price[output].to_numpy(), x), f"{name}.{output} under prices x 8"
            assert same(by_shift[output].to_numpy(), x), f"{name}.{output} under prices + 50"
            continue
        price_factor = 8.0 if unit in (PRICE, PRICE_CHANGE) else 1.0
        assert same(by_price[output].to_numpy(), price_factor * x), f"{name}.{output} under prices x 8"
        assert same(by_volume[output].to_numpy(), (8.0 if unit == VOLUME else 1.0) * x), f"{name}.{output}, volume"
        # Headley's acceleration bands widen by the bar's range relative to its level: a shift moves them by less.
        if unit == PRICE and name != "accbands":
            assert same(by_shift[output].to_numpy(), x + 50.0), f"{name}.{output} under prices + 50"
        elif unit == PRICE_CHANGE:
            assert same(by_shift[output].to_numpy(), x), f"{name}.{output} under prices + 50"
