"""Execution timing: a decision on bar t's close never fills before bar t+1's open."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from neurotrade.backtest import CostModel, simulate

COSTS = CostModel(commission_pct=0.1, slippage_pct=0.2)

targets = st.integers(min_value=2, max_value=30).flatmap(
    lambda n: arrays(np.int64, n, elements=st.sampled_from([-1, 0, 1]))
)


def _bars(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    closes = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))
    opens = closes * np.exp(rng.normal(0.0, 0.01, n))
    index = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC", name="time")
    return pd.DataFrame(
        {
            "open": opens,
            "high": np.maximum(opens, closes) * 1.01,
            "low": np.minimum(opens, closes) * 0.99,
            "close": closes,
            "volume": 1.0,
        },
        index=index,
    )


@settings(max_examples=60, deadline=None)
@given(target=targets, seed=st.integers(0, 2**16))
def test_next_open_fills_follow_the_previous_close(target: np.ndarray, seed: int) -> None:
    n = target.size
    bars = _bars(n, seed)
    result = simulate(bars, target, costs=COSTS)

    # The position held at each close is the target decided one bar earlier.
    held = np.concatenate(([0], target[:-1]))
    np.testing.assert_array_equal(np.sign(result.position.to_numpy()), held)

    fills = result.fills[~result.fills["closed_at_end"]]
    rows = bars.index.get_indexer(fills["time"])
    assert (rows >= 1).all()
    # Fills happen exactly at bars whose previous decision changed the position, at that bar's open.
    changed = np.flatnonzero(held[1:] != held[:-1]) + 1
    np.testing.assert_array_equal(np.unique(rows), changed)
    slip = np.where(fills["side"] == "buy", 1.002, 0.998)
    np.testing.assert_allclose(fills["price"], bars["open"].to_numpy()[rows] * slip, rtol=1e-12)

    end = result.fills[result.fills["closed_at_end"]]
    assert len(end) == int(held[-1] != 0)
    if len(end):
        assert end["time"].iloc[0] == bars.index[-1]
    # Every cash flow belongs to a trade: the final equity is the start plus the trades' pnl.
    assert result.equity.iloc[-1] == pytest.approx(100_000.0 + result.trades["pnl"].sum(), rel=1e-10)


@settings(max_examples=40, deadline=None)
@given(target=targets, seed=st.integers(0, 2**16), data=st.data())
def test_changing_the_future_does_not_change_the_past(target: np.ndarray, seed: int, data: st.DataObject) -> None:
    n = target.size
    bars = _bars(n, seed)
    k = data.draw(st.integers(0, n - 1), label="k")
    future = data.draw(arrays(np.int64, n - k, elements=st.sampled_from([-1, 0, 1])), label="future")
    altered = target.copy()
    altered[k:] = future
    base = simulate(bars, target, costs=COSTS)
    other = simulate(bars, altered, costs=COSTS)
    # Decisions from bar k on can first act at bar k + 1's open: bars 0..k are untouched.
    np.testing.assert_array_equal(base.equity.to_numpy()[: k + 1], other.equity.to_numpy()[: k + 1])
    np.testing.assert_array_equal(base.position.to_numpy()[: k + 1], other.position.to_numpy()[: k + 1])
    cutoff = bars.index[k]
    early = base.fills[(base.fills["time"] <= cutoff) & ~base.fills["closed_at_end"]]
    other_early = other.fills[(other.fills["time"] <= cutoff) & ~other.fills["closed_at_end"]]
    pd.testing.assert_frame_equal(early.reset_index(drop=True), other_early.reset_index(drop=True))


@settings(max_examples=40, deadline=None)
@given(target=targets, seed=st.integers(0, 2**16))
def test_same_close_fills_at_the_deciding_bars_close(target: np.ndarray, seed: int) -> None:
    n = target.size
    bars = _bars(n, seed)
    result = simulate(bars, target, fill="same_close", costs=COSTS)

    # The last close opens nothing (nothing would hold it), but may close.
    held = target.copy()
    if held[-1] != 0 and (n == 1 or held[-1] != held[-2]):
        held[-1] = 0
    np.testing.assert_array_equal(np.sign(result.position.to_numpy()), held)

    fills = result.fills[~result.fills["closed_at_end"]]
    rows = bars.index.get_indexer(fills["time"])
    changed = np.flatnonzero(np.diff(np.concatenate(([0], held))) != 0)
    np.testing.assert_array_equal(np.unique(rows), changed)
    slip = np.where(fills["side"] == "buy", 1.002, 0.998)
    np.testing.assert_allclose(fills["price"], bars["close"].to_numpy()[rows] * slip, rtol=1e-12)


def test_last_target_never_fills_with_next_open(make_bars: Callable[..., pd.DataFrame]) -> None:
    bars = make_bars([10.0, 11.0, 12.0], [10.5, 11.5, 12.5])
    result = simulate(bars, np.array([0, 0, 1]))
    assert result.fills.empty
    assert result.trades.empty
    assert (result.equity == 100_000.0).all()


def test_first_bar_decision_fills_at_second_open_not_first_close(
    make_bars: Callable[..., pd.DataFrame],
) -> None:
    bars = make_bars([10.0, 11.0, 12.0], [10.5, 11.5, 12.5])
    nxt = simulate(bars, np.array([1, 1, 1]))
    same = simulate(bars, np.array([1, 1, 1]), fill="same_close")
    assert nxt.fills["time"].iloc[0] == bars.index[1]
    assert nxt.fills["price"].iloc[0] == 11.0
    assert same.fills["time"].iloc[0] == bars.index[0]
    assert same.fills["price"].iloc[0] == 10.5
    assert nxt.equity.iloc[0] == 100_000.0
    assert same.equity.iloc[-1] == pytest.approx(100_000.0 / 10.5 * 12.5, rel=1e-12)
