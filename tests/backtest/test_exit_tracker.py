"""ExitTracker, fed one bar at a time, holds what simulate holds and reports the stops its trades record."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from neurotrade.backtest import CostModel, ExitTracker, atr_for_stops, simulate
from neurotrade.data import synthetic_ohlcv
from neurotrade.errors import BacktestError

STOP_REASONS = ("stop_loss", "take_profit", "trailing_stop", "atr_stop", "margin_call")

# Each case: the stops of simulate and ExitTracker alike (percent, and the ATR multiple).
CASES = {
    "stop_loss": {"stop_loss_pct": 1.5},
    "take_profit": {"take_profit_pct": 2.0},
    "trailing": {"trailing_stop_pct": 1.5},
    "atr": {"atr_stop_multiple": 1.0},
    "combined": {"stop_loss_pct": 2.5, "take_profit_pct": 3.0, "trailing_stop_pct": 2.0, "atr_stop_multiple": 1.5},
    "none": {},
}


def _replay(
    bars: pd.DataFrame,
    target: np.ndarray,
    fill: str,
    stops: dict,
    atr: np.ndarray,
    size: np.ndarray,
    costs: CostModel | None = None,
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """The tracker's held side and equity per bar and its (bar, reason) stop and margin exits."""
    tracker = ExitTracker(fill=fill, **stops, costs=costs, initial_cash=1_000.0)
    held = np.empty(len(bars), dtype=np.int64)
    equity = np.empty(len(bars))
    exits = []
    rows = bars[["open", "high", "low", "close"]].to_numpy()
    for i, (o, h, lo, c) in enumerate(rows):
        held[i], reason = tracker.update(o, h, lo, c, int(target[i]), atr=float(atr[i]), size=float(size[i]))
        assert tracker.held == held[i]
        equity[i] = tracker.equity
        if reason is not None:
            exits.append((i, reason))
        if reason == "margin_call":
            assert tracker.ruined
    return held, equity, exits


def _check_parity(
    bars: pd.DataFrame,
    target: np.ndarray,
    fill: str,
    stops: dict,
    size: np.ndarray | None = None,
    costs: CostModel | None = None,
) -> list[tuple[int, str]]:
    """Assert the tracker and simulate agree bar by bar; return the stop and margin exits for coverage checks."""
    atr = atr_for_stops(bars, 5)
    size = np.ones(len(bars)) if size is None else size
    kwargs = dict(stops)
    if "atr_stop_multiple" in stops:
        kwargs["atr"] = atr
    result = simulate(bars, target, fill=fill, initial_cash=1_000.0, size=size, costs=costs, **kwargs)
    held, equity, exits = _replay(bars, target, fill, stops, atr, size, costs)
    expected = np.sign(result.position.to_numpy()).astype(np.int64)
    compared = len(bars) if fill == "next_open" else len(bars) - 1  # see below for the last bar
    np.testing.assert_array_equal(held[:compared], expected[:compared])
    # The tracker keeps the kernel's cash with the kernel's own fills: the same equity to the last bit, up to
    # the last bar (where the backtest closes what is open, and with "same_close" opens nothing).
    np.testing.assert_array_equal(equity[:-1], result.equity.to_numpy()[:-1])
    if fill == "same_close":
        # The backtest opens nothing at the very last close (nothing would hold it); the tracker cannot know
        # a bar is the last, so it reports the entry. Anything else there must agree.
        last = len(bars) - 1
        assert held[last] == expected[last] or (expected[last] == 0 and held[last] == target[last])
    trades = result.trades
    stopped = trades[trades["exit_reason"].isin(STOP_REASONS)]
    recorded = [
        (int(bars.index.get_loc(t)), r) for t, r in zip(stopped["exit_time"], stopped["exit_reason"], strict=True)
    ]
    assert exits == recorded
    return exits


def _random_target(rng: np.random.Generator, n: int, shorts: bool) -> np.ndarray:
    """Runs of random sides, long enough for stops to fire inside them."""
    sides = [-1, 0, 1] if shorts else [0, 1]
    lengths = rng.integers(1, 15, size=n)
    values = rng.choice(sides, size=n)
    return np.repeat(values, lengths)[:n].astype(np.float64)


@pytest.mark.parametrize("fill", ["next_open", "same_close"])
@pytest.mark.parametrize("case", list(CASES))
def test_tracker_matches_simulate_over_synthetic_bars(fill: str, case: str) -> None:
    bars = synthetic_ohlcv(600, seed=11)
    rng = np.random.default_rng(zlib.crc32(f"{fill}/{case}".encode()))  # str hash() is salted per process
    reasons = set()
    for _ in range(4):
        target = _random_target(rng, len(bars), shorts=True)
        exits = _check_parity(bars, target, fill, CASES[case])
        reasons |= {reason for _, reason in exits}
    # Each case must actually exercise its stops, or parity proves nothing.
    expected = {
        "stop_loss": {"stop_loss"},
        "take_profit": {"take_profit"},
        "trailing": {"trailing_stop"},
        "atr": {"atr_stop"},
        "combined": {"take_profit", "trailing_stop"},
        "none": set(),
    }[case]
    assert expected <= reasons


def test_tracker_matches_simulate_with_zero_sizes_and_shorts_only() -> None:
    bars = synthetic_ohlcv(500, seed=4)
    rng = np.random.default_rng(4)
    target = -np.abs(_random_target(rng, len(bars), shorts=True))
    size = np.where(rng.random(len(bars)) < 0.3, 0.0, 1.5)
    for fill in ("next_open", "same_close"):
        exits = _check_parity(bars, target, fill, CASES["combined"], size=size)
        assert exits


def test_tracker_matches_simulate_through_margin_calls() -> None:
    """Leverage up to 10x, shorts and costs: margin calls (with stops beside them) fire, and the tracker agrees."""
    bars = synthetic_ohlcv(400, seed=21)
    rng = np.random.default_rng(21)
    costs = CostModel(commission_pct=0.1, slippage_pct=0.05, commission_fixed=0.5)
    reasons = set()
    for attempt in range(40):
        target = _random_target(rng, len(bars), shorts=True)
        size = rng.choice([0.0, 1.0, 5.0, 10.0], size=len(bars))
        stops = CASES["combined"] if attempt % 2 else {"stop_loss_pct": 9.5}
        for fill in ("next_open", "same_close"):
            reasons |= {reason for _, reason in _check_parity(bars, target, fill, stops, size=size, costs=costs)}
    assert {"margin_call", "stop_loss"} <= reasons


@st.composite
def _scenario(draw: st.DrawFn) -> tuple[pd.DataFrame, np.ndarray, str, dict]:
    n = draw(st.integers(2, 40))
    seed = draw(st.integers(0, 2**16))
    bars = synthetic_ohlcv(n + 10, seed=seed).iloc[10:]  # a window that does not start at the series' start
    target = np.asarray(draw(st.lists(st.sampled_from([-1.0, 0.0, 1.0]), min_size=n, max_size=n)))
    fill = draw(st.sampled_from(["next_open", "same_close"]))
    stops = {}
    if draw(st.booleans()):
        stops["stop_loss_pct"] = draw(st.floats(0.2, 4.0))
    if draw(st.booleans()):
        stops["take_profit_pct"] = draw(st.floats(0.2, 4.0))
    if draw(st.booleans()):
        stops["trailing_stop_pct"] = draw(st.floats(0.2, 4.0))
    if draw(st.booleans()):
        stops["atr_stop_multiple"] = draw(st.floats(0.1, 3.0))
    return bars, target, fill, stops


@st.composite
def _sizing(draw: st.DrawFn, n: int) -> tuple[np.ndarray, CostModel]:
    """Sizes per bar up to the 10x limit (0 included), and costs with a fixed part."""
    size = np.asarray(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0, 10.0]), min_size=n, max_size=n)))
    costs = CostModel(
        commission_pct=draw(st.sampled_from([0.0, 0.1, 1.0])),
        slippage_pct=draw(st.sampled_from([0.0, 0.05])),
        commission_fixed=draw(st.sampled_from([0.0, 1.0])),
    )
    return size, costs


@settings(max_examples=100, deadline=None)
@given(_scenario())
def test_tracker_matches_simulate_on_any_targets_and_stops(
    scenario: tuple[pd.DataFrame, np.ndarray, str, dict],
) -> None:
    bars, target, fill, stops = scenario
    _check_parity(bars, target, fill, stops)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_tracker_matches_simulate_with_leverage_costs_and_margin_calls(data: st.DataObject) -> None:
    bars, target, fill, stops = data.draw(_scenario())
    size, costs = data.draw(_sizing(len(bars)))
    # Wider moves (log-returns times 1 or 10, which keeps the prices positive and the ranges ordered), so that
    # margin calls come: at 10x one needs a move of under 10 %.
    power = data.draw(st.sampled_from([1.0, 10.0]))
    first = float(bars["close"].iloc[0])
    for column in ("open", "high", "low", "close"):
        bars[column] = first * (bars[column] / first) ** power
    exits = _check_parity(bars, target, fill, stops, size=size, costs=costs)
    event(f"margin calls: {sum(reason == 'margin_call' for _, reason in exits)}")


def test_tracker_reports_the_stop_of_a_hand_made_short() -> None:
    tracker = ExitTracker(fill="same_close", atr_stop_multiple=1.5)
    assert tracker.update(100.0, 100.0, 100.0, 100.0, target=-1, atr=2.0) == (-1, None)  # short at the close, 100
    assert tracker.update(100.0, 103.5, 99.0, 101.0, target=-1) == (0, "atr_stop")  # 100 + 1.5 * 2 = 103
    assert tracker.update(101.0, 101.0, 101.0, 101.0, target=-1) == (0, None)  # stays flat while short is wanted
    assert tracker.update(101.0, 101.0, 101.0, 101.0, target=1) == (1, None)


def test_tracker_refuses_bad_inputs_and_keeps_its_state() -> None:
    with pytest.raises(BacktestError, match=r"fill must be 'next_open' or 'same_close'"):
        ExitTracker(fill="next-open")
    with pytest.raises(BacktestError, match=r"stop_loss_pct must be > 0 and <= 100, got 150"):
        ExitTracker(stop_loss_pct=150)
    with pytest.raises(BacktestError, match=r"atr_stop_multiple must be > 0"):
        ExitTracker(atr_stop_multiple=-1.0)
    tracker = ExitTracker(fill="same_close")
    tracker.update(100.0, 100.0, 100.0, 100.0, target=1)
    with pytest.raises(BacktestError, match=r"target must be -1, 0 or \+1 .*got 2"):
        tracker.update(100.0, 100.0, 100.0, 100.0, target=2)
    with pytest.raises(BacktestError, match=r"low must be a finite price > 0, got nan"):
        tracker.update(100.0, 100.0, math.nan, 100.0, target=0)
    with pytest.raises(BacktestError, match=r"atr must be >= 0 and finite, or NaN"):
        tracker.update(100.0, 100.0, 100.0, 100.0, target=0, atr=-1.0)
    with pytest.raises(BacktestError, match=r"size must be finite, >= 0 and <= 10, got 11"):
        tracker.update(100.0, 100.0, 100.0, 100.0, target=0, size=11)
    assert tracker.held == 1
