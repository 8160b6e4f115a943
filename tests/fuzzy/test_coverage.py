"""Coverage of an output's range by its fuzzy sets: the gaps, and the located warning the loader logs."""

from __future__ import annotations

import logging
import math

import pytest

from neurotrade.config import parse_strategy
from neurotrade.fuzzy import FuzzySet, coverage_gaps
from neurotrade.indicators import IndicatorInfo, get
from neurotrade.indicators._registry import register

RSI_SETS = {
    "low": FuzzySet("low", "trapezoidal", (0, 0, 30, 40)),
    "mid": FuzzySet("mid", "triangular", (30, 50, 70)),
    "high": FuzzySet("high", "trapezoidal", (60, 70, 100, 100)),
}


def test_support_is_where_membership_reaches_the_threshold_for_every_shape() -> None:
    sets = [
        FuzzySet("t", "triangular", (20, 30, 40)),
        FuzzySet("z", "trapezoidal", (0, 0, 30, 40)),
        FuzzySet("g", "gaussian", (40, 10)),
        FuzzySet("s", "sigmoid", (0.5, 50)),
        FuzzySet("f", "sigmoid", (-0.5, 50)),
        FuzzySet("b", "bell", (10, 2, 50)),
    ]
    for fuzzy_set in sets:
        lo, hi = fuzzy_set.support(0.01)
        for end, outward in ((lo, -1e-6), (hi, 1e-6)):
            if math.isfinite(end):
                assert fuzzy_set.membership(end) == pytest.approx(0.01, rel=1e-9) or fuzzy_set.membership(end) == 1
                assert fuzzy_set.membership(end + outward) < 0.01
        inside = [v for v in (lo + 1e-6, hi - 1e-6, (lo + hi) / 2) if math.isfinite(v)]
        assert all(fuzzy_set.membership(v) >= 0.01 for v in inside)
    assert sets[1].support(0.01) == (0.0, 39.9)  # a shoulder is covered right from its corner
    assert sets[3].support(0.01)[1] == math.inf and sets[4].support(0.01)[0] == -math.inf
    with pytest.raises(ValueError, match="threshold must be between 0 and 1"):
        sets[0].support(1.0)


def test_a_partition_without_gaps_reports_none() -> None:
    assert coverage_gaps(RSI_SETS.values(), within=(0, 100)) == ((0, 100), [])
    assert coverage_gaps(RSI_SETS.values()) == ((0, 100), [])


def test_gap_between_sets_and_at_the_edges_of_known_bounds() -> None:
    low, high = FuzzySet("low", "trapezoidal", (0, 0, 30, 40)), FuzzySet("high", "triangular", (60, 70, 80))
    assert coverage_gaps([low, high], within=(0, 100)) == ((0, 100), [(39.9, 60.1), (79.9, 100)])
    assert coverage_gaps([high, low], within=(-10, 100))[1] == [(-10, 0), (39.9, 60.1), (79.9, 100)]


def test_without_bounds_only_gaps_between_sets_count() -> None:
    lone = FuzzySet("mid", "triangular", (20, 30, 40))
    assert coverage_gaps([lone]) == ((20, 40), [])  # its own feet are not a gap
    low, high = FuzzySet("lo", "sigmoid", (-20, -0.5)), FuzzySet("hi", "sigmoid", (20, 0.5))
    span, gaps = coverage_gaps([low, high])
    assert span == (-0.5, 0.5)
    ((a, b),) = gaps
    assert a == pytest.approx(-0.5 + math.log(99) / 20) and b == pytest.approx(-a)
    soft = [FuzzySet("lo", "sigmoid", (-4, -0.5)), FuzzySet("hi", "sigmoid", (4, 0.5))]
    assert coverage_gaps(soft)[1] == []


def test_sets_that_touch_at_zero_membership_leave_a_narrow_gap() -> None:
    left, right = FuzzySet("l", "triangular", (0, 0, 30)), FuzzySet("r", "triangular", (30, 60, 60))
    assert coverage_gaps([left, right], within=(0, 60))[1] == [(29.7, 30.3)]
    ((a, b),) = coverage_gaps([left, right], within=(0, 60), threshold=1e-9)[1]
    assert b - a == pytest.approx(6e-8, rel=1e-6)


def test_sets_outside_the_bounds_cover_nothing_of_them() -> None:
    far = FuzzySet("far", "triangular", (200, 300, 400))
    assert coverage_gaps([far], within=(0, 100))[1] == [(0, 100)]
    with pytest.raises(ValueError, match="at least one fuzzy set"):
        coverage_gaps([])


def test_registry_knows_the_bounds_of_rsi_and_adx_and_nothing_else_by_default() -> None:
    assert get("rsi").bounds == {"rsi": (0.0, 100.0)}
    assert get("adx").bounds == {"adx": (0.0, 100.0)}
    assert get("macd").bounds == {}
    assert hash(get("rsi"))  # the mapping does not make the declaration unhashable


def test_register_rejects_bounds_of_an_unknown_output_or_an_empty_range() -> None:
    info = get("sma")
    for bounds in ({"nope": (0.0, 1.0)}, {"sma": (1.0, 1.0)}):
        bad = IndicatorInfo(
            "zz_bounds_probe", info.description, info.params, info.inputs, info.outputs, None, bounds=bounds
        )
        with pytest.raises(ValueError, match="bounds of 'zz_bounds_probe' must map its outputs"):
            register(bad, init=lambda p: p, update=lambda *a: None, lookback=lambda p: 0)
    with pytest.raises(Exception, match="unknown indicator 'zz_bounds_probe'"):
        get("zz_bounds_probe")


def warnings_of(text: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="neurotrade.config"):
        parse_strategy(text, source="x.yaml")
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


HEAD = "name: t\nindicators: {rsi_14: {}, adx_14: {}, macd: {}}\nnn_inputs: {indicators: [rsi_14]}\nfuzzy_sets:\n"


def test_loader_warns_about_a_gap_with_file_line_output_and_interval(caplog: pytest.LogCaptureFixture) -> None:
    text = HEAD + "  rsi_14:\n    low: [0, 0, 35, 45]\n    high: [55, 65, 100, 100]\n"
    assert warnings_of(text, caplog) == [
        "x.yaml:5 fuzzy_sets.rsi_14: no set covers 44.9-55.1 (of 0-100); widen a neighbouring set or add one there"
    ]


def test_loader_uses_the_registry_bounds_and_lists_every_gap(caplog: pytest.LogCaptureFixture) -> None:
    text = HEAD + "  rsi_14: {mid: [30, 50, 70]}\n  adx_14:\n    strong: {mean: 40, sigma: 10}\n"
    assert warnings_of(text, caplog) == [
        "x.yaml:5 fuzzy_sets.rsi_14: no set covers 0-30.2, 69.8-100 (of 0-100); "
        "widen a neighbouring set or add one there",
        "x.yaml:6 fuzzy_sets.adx_14: no set covers 0-9.651, 70.35-100 (of 0-100); "
        "widen a neighbouring set or add one there",
    ]


def test_loader_checks_unbounded_outputs_between_their_sets(caplog: pytest.LogCaptureFixture) -> None:
    text = HEAD + "  macd.hist:\n    falling: {center: -0.5, slope: -20}\n    rising: {center: 0.5, slope: 20}\n"
    assert warnings_of(text, caplog) == [
        "x.yaml:5 fuzzy_sets.macd.hist: no set covers -0.2702 to 0.2702 (of -0.5 to 0.5); "
        "widen a neighbouring set or add one there"
    ]
    overlapping = text.replace("-20", "-4").replace("slope: 20", "slope: 4")
    assert warnings_of(overlapping, caplog) == []


def test_loader_is_silent_when_the_range_is_covered(caplog: pytest.LogCaptureFixture) -> None:
    text = HEAD + "  rsi_14: {low: [0, 0, 30, 40], mid: [30, 50, 70], high: [60, 70, 100, 100]}\n"
    assert warnings_of(text, caplog) == []
    bells = HEAD + "  rsi_14:\n    low: {center: 0, width: 30}\n    high: {center: 100, width: 30}\n"
    assert warnings_of(bells, caplog) == []


def test_interval_shows_enough_digits_to_tell_its_ends_apart(caplog: pytest.LogCaptureFixture) -> None:
    text = HEAD + "  rsi_14:\n    low: [0, 0, 50, 50.001]\n    high: [50.002, 50.003, 100, 100]\n"
    (message,) = warnings_of(text, caplog)
    assert "no set covers 50.001-50.002 (of 0-100)" in message  # four digits would read 50-50
