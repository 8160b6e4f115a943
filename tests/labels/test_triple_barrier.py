"""Triple-barrier labels, meta-labels and the causal volatility that scales them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurotrade.errors import DataError
from neurotrade.labels import BUY, HOLD, SELL, causal_volatility, triple_barrier_labels


def series(values: list[float]) -> pd.Series:
    idx = pd.date_range("2024-01-01", periods=len(values), freq="D", tz="UTC", name="time")
    return pd.Series(values, index=idx, dtype=float)


def reference(
    close: list[float], vol: list[float], side: list[float] | None, pt: float, sl: float, hold: int
) -> list[tuple[float, int]]:
    """The definition written plainly: (label, t1 position or -1) per bar."""
    n = len(close)
    out = []
    for t in range(n):
        s = 1.0 if side is None else side[t]
        if math.isnan(vol[t]) or s not in (1.0, -1.0):
            out.append((math.nan, -1))
            continue
        profit = close[t] * math.exp(s * pt * vol[t]) if pt > 0 else None
        stop = close[t] * math.exp(-s * sl * vol[t]) if sl > 0 else None
        result = None
        for j in range(t + 1, min(n, t + hold + 1)):
            if profit is not None and s * (close[j] - profit) >= 0:
                result = ("profit", j)
                break
            if stop is not None and s * (close[j] - stop) <= 0:
                result = ("stop", j)
                break
        if result is None and t + hold < n:
            result = ("vertical", t + hold)
        if result is None:
            out.append((math.nan, -1))
        elif side is None:
            out.append(({"profit": BUY, "stop": SELL, "vertical": HOLD}[result[0]], result[1]))
        else:
            out.append((1.0 if result[0] == "profit" else 0.0, result[1]))
    return out


def positions(out: pd.DataFrame) -> list[int]:
    return out.index.get_indexer(out["t1"]).tolist()


def test_hand_worked_labels() -> None:
    # vol 0.02: from 100 the barriers are 102.02 and 98.02; from 103, 105.08 and 100.96; from 99, 101.00 and 97.04.
    close = series([100, 103, 99, 97.5, 98.5, 98])
    out = triple_barrier_labels(close, profit_take=1, stop_loss=1, max_holding=2, volatility=series([0.02] * 6))
    assert out["label"].tolist()[:4] == [BUY, SELL, HOLD, HOLD]
    assert out["label"].iloc[4:].isna().all() and out["t1"].iloc[4:].isna().all()
    assert positions(out)[:4] == [1, 2, 4, 5]
    assert out["ret"].iloc[:4].tolist() == pytest.approx(
        [math.log(103 / 100), math.log(99 / 103), math.log(98.5 / 99), math.log(98 / 97.5)]
    )
    assert out["ret"].iloc[4:].isna().all()
    assert list(out.columns) == ["label", "t1", "ret"]


def test_asymmetric_and_switched_off_barriers() -> None:
    close = series([100, 101.5, 97, 100, 100])
    vol = series([0.01] * 5)
    # profit_take 2 -> upper 102.02 (not reached); stop_loss 0.5 -> lower 99.50, touched at bar 2.
    out = triple_barrier_labels(close, profit_take=2, stop_loss=0.5, max_holding=3, volatility=vol)
    assert out["label"].iloc[0] == SELL and positions(out)[0] == 2
    # With the stop-loss off, bar 0 waits for the vertical barrier.
    out = triple_barrier_labels(close, profit_take=2, stop_loss=0, max_holding=3, volatility=vol)
    assert out["label"].iloc[0] == HOLD and positions(out)[0] == 3


def test_a_touch_near_the_end_decides_but_an_open_horizon_does_not() -> None:
    close = series([100, 100, 100, 110])
    out = triple_barrier_labels(close, profit_take=1, stop_loss=1, max_holding=10, volatility=series([0.01] * 4))
    assert out["label"].tolist()[:3] == [BUY, BUY, BUY]
    assert positions(out) == [3, 3, 3, -1]


def test_warm_up_volatility_gives_no_label() -> None:
    close = series([100 * 1.01**i * (1 + 0.02 * (-1) ** i) for i in range(40)])
    out = triple_barrier_labels(close, profit_take=1, stop_loss=1, max_holding=3, span=10)
    assert out["label"].iloc[:10].isna().all() and out["t1"].iloc[:10].isna().all()
    assert out["label"].iloc[10:37].notna().all()


def test_meta_labels_follow_the_side() -> None:
    close = series([100, 103, 99, 97.5, 98.5, 98])
    vol = series([0.02] * 6)
    side = series([-1, -1, 1, np.nan, 0, 1])
    out = triple_barrier_labels(close, profit_take=1, stop_loss=1, max_holding=2, volatility=vol, side=side)
    # short from 100: stop at 102.02 hit first -> 0; short from 103: profit at 100.96 hit -> 1;
    # long from 99: vertical -> 0; no side -> NaN; long from 98 at the end -> undecided.
    assert out["label"].tolist()[:3] == [0.0, 1.0, 0.0]
    assert out["label"].iloc[3:].isna().all()
    assert positions(out) == [1, 2, 4, -1, -1, -1]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(90, 110), min_size=2, max_size=60),
    st.data(),
    st.sampled_from([0.0, 0.5, 1.0, 2.5]),
    st.sampled_from([0.0, 0.7, 1.0, 3.0]),
    st.integers(1, 12),
    st.booleans(),
)
def test_matches_the_plain_definition(
    values: list[float], data: st.DataObject, pt: float, sl: float, hold: int, meta: bool
) -> None:
    n = len(values)
    vol = data.draw(st.lists(st.one_of(st.floats(0, 0.2), st.just(math.nan)), min_size=n, max_size=n))
    side = data.draw(st.lists(st.sampled_from([1.0, -1.0, 0.0, math.nan]), min_size=n, max_size=n)) if meta else None
    if pt == 0 and (sl == 0 or meta):
        pt = 1.0
    out = triple_barrier_labels(
        series(values),
        profit_take=pt,
        stop_loss=sl,
        max_holding=hold,
        volatility=series(vol),
        side=None if side is None else series(side),
    )
    expected = reference(values, vol, side, pt, sl, hold)
    got = list(zip(out["label"], positions(out), strict=True))
    for (label, t1), (got_label, got_t1) in zip(expected, got, strict=True):
        assert (math.isnan(label) and math.isnan(got_label)) or label == got_label
        assert t1 == got_t1


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(50, 150), min_size=40, max_size=100), st.integers(0, 10_000), st.booleans())
def test_a_label_depends_on_no_bar_after_its_t1(values: list[float], seed: int, meta: bool) -> None:
    close = series(values)
    rng = np.random.default_rng(seed)
    side = series(rng.choice([-1.0, 1.0], len(values)).tolist()) if meta else None
    kwargs = {"profit_take": 1.0, "stop_loss": 1.5, "max_holding": 8, "span": 10, "side": side}
    out = triple_barrier_labels(close, **kwargs)
    for t in np.flatnonzero(out["label"].notna().to_numpy())[:8]:
        t1 = close.index.get_loc(out["t1"].iloc[t])
        changed = close.copy()
        changed.iloc[t1 + 1 :] = rng.uniform(50, 150, len(close) - t1 - 1)
        again = triple_barrier_labels(changed, **kwargs)
        assert again["label"].iloc[t] == out["label"].iloc[t]
        assert again["t1"].iloc[t] == out["t1"].iloc[t]
        assert again["ret"].iloc[t] == out["ret"].iloc[t]


def test_t1_is_after_t_and_every_class_occurs(bars: pd.DataFrame) -> None:
    out = triple_barrier_labels(bars["close"], profit_take=1.5, stop_loss=1.5, max_holding=10).dropna()
    assert len(out) > 1000
    assert (out["t1"] > out.index).all()
    horizon = bars.index.get_indexer(out["t1"]) - bars.index.get_indexer(out.index)
    assert horizon.min() >= 1 and horizon.max() == 10
    assert set(out["label"].unique()) == {SELL, HOLD, BUY}


def test_causal_volatility_matches_the_pandas_recursion(bars: pd.DataFrame) -> None:
    close = bars["close"].iloc[:300]
    got = causal_volatility(close, span=15)
    expected = np.sqrt(np.log(close).diff().ewm(span=15, adjust=False).var(bias=True))
    assert got.iloc[:15].isna().all()
    np.testing.assert_allclose(got.iloc[15:], expected.iloc[15:], rtol=1e-9)
    assert got.index.equals(close.index) and got.name == "volatility"


def test_causal_volatility_is_causal(bars: pd.DataFrame) -> None:
    close = bars["close"].iloc[:200]
    before = causal_volatility(close, span=20)
    changed = close.copy()
    changed.iloc[120:] = changed.iloc[120:] * np.linspace(0.5, 2.0, 80)
    after = causal_volatility(changed, span=20)
    pd.testing.assert_series_equal(before.iloc[:120], after.iloc[:120])
    assert not np.allclose(before.iloc[121:], after.iloc[121:])


def test_causal_volatility_short_input_is_all_warm_up() -> None:
    assert causal_volatility(series([100, 101, 102]), span=5).isna().all()
    assert causal_volatility(series([]), span=5).empty


def test_bad_inputs_say_what_and_how_to_fix() -> None:
    close = series([100, 101, 102, 103])
    vol = series([0.01] * 4)
    with pytest.raises(DataError, match=r"close must be > 0 and not NaN.*2024-01-02"):
        triple_barrier_labels(series([100, np.nan, 1, 2]), profit_take=1, stop_loss=1, max_holding=2)
    with pytest.raises(DataError, match=r"volatility must be on close's index.*reindex\(close.index\)"):
        triple_barrier_labels(close, profit_take=1, stop_loss=1, max_holding=2, volatility=vol.iloc[1:])
    with pytest.raises(DataError, match=r"volatility must be finite and >= 0.*-0.5"):
        triple_barrier_labels(
            close, profit_take=1, stop_loss=1, max_holding=2, volatility=series([0.01, -0.5, 0.01, 0.01])
        )
    with pytest.raises(DataError, match=r"side must be \+1 \(long\), -1 \(short\).*2024-01-03 .*\(0.5\)"):
        triple_barrier_labels(
            close, profit_take=1, stop_loss=1, max_holding=2, volatility=vol, side=series([1, -1, 0.5, 0])
        )
    with pytest.raises(ValueError, match="both 0"):
        triple_barrier_labels(close, profit_take=0, stop_loss=0, max_holding=2)
    with pytest.raises(ValueError, match="profit_take must be > 0"):
        triple_barrier_labels(close, profit_take=0, stop_loss=1, max_holding=2, side=series([1] * 4))
    with pytest.raises(ValueError, match=r"stop_loss must be a finite number >= 0.*-1"):
        triple_barrier_labels(close, profit_take=1, stop_loss=-1, max_holding=2)
    with pytest.raises(ValueError, match="max_holding must be an int >= 1, got 0"):
        triple_barrier_labels(close, profit_take=1, stop_loss=1, max_holding=0)
    with pytest.raises(ValueError, match="span must be an int >= 2, got 1"):
        causal_volatility(close, span=1)
