"""A universe on one time axis: per-bar sizes, symbols with missing bars, top-k selection.

The contract: a symbol trades exactly as it would alone on its own bars (no forward fill); sizes of 1 change
nothing, bit for bit; one symbol at fraction 1 is ``simulate``'s next-open backtest, except where ``simulate``
margin-calls or the portfolio refuses a position too small to pay its own exit.
"""

from __future__ import annotations

import hashlib
import logging
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from neurotrade.backtest import CostModel, simulate, simulate_portfolio, top_k_targets
from neurotrade.errors import BacktestError

PRICES = ["open", "high", "low", "close"]
COSTS = [
    None,
    CostModel(commission_pct=0.1, slippage_pct=0.05),
    CostModel(commission_pct=0.1, commission_fixed=1.0, slippage_pct=0.1),
]
FLOATS = ["entry_price", "exit_price", "quantity", "pnl", "return_pct", "costs"]


def _random_bars(n: int, seed: int, vol: float = 0.03) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    closes = 50.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    opens = closes * np.exp(rng.normal(0.0, vol / 3.0, n))
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


def _blank(bars: pd.DataFrame, missing: np.ndarray) -> pd.DataFrame:
    """The bars with no bar (all four prices NaN) where ``missing``."""
    out = bars.copy()
    out.loc[missing, PRICES] = np.nan
    return out


def _gaps(rng: np.random.Generator, n: int, *, leading: int, trailing: int, interior: float) -> np.ndarray:
    missing = rng.random(n) < interior
    missing[:leading] = True
    missing[n - trailing :] = True
    return missing


def _flat(prices: list[float]) -> pd.DataFrame:
    px = np.asarray(prices, dtype=np.float64)
    index = pd.date_range("2024-01-01", periods=len(px), freq="D", tz="UTC", name="time")
    return pd.DataFrame({"open": px, "high": px, "low": px, "close": px, "volume": 1.0}, index=index)


def _assert_same_trades(got: pd.DataFrame, want: pd.DataFrame, *, bars_held: bool = True) -> None:
    """Decisions exact (times, sides, reasons), money within 1e-9 relative."""
    exact = [c for c in want.columns if c not in FLOATS and (bars_held or c != "bars_held")]
    pd.testing.assert_frame_equal(got[exact].reset_index(drop=True), want[exact].reset_index(drop=True))
    for column in FLOATS:
        np.testing.assert_allclose(got[column].to_numpy(), want[column].to_numpy(), rtol=1e-9, atol=0.0)


def _digest(result) -> str:
    h = hashlib.sha256()
    for array in (
        result.equity.to_numpy(),
        result.cash.to_numpy(),
        result.positions.to_numpy(),
        result.trades.select_dtypes("number").to_numpy(dtype=np.float64),
        result.fills.select_dtypes("number").to_numpy(dtype=np.float64),
    ):
        h.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
    return h.hexdigest()[:32]


# ---------------------------------------------------------------------------------------------------------------------
# (a) Without missing bars and sizes, nothing changed.


@pytest.mark.parametrize(
    ("seed", "fraction", "costs", "digest"),
    [
        (11, 0.5, None, "0deb04a2572bf6df4bbded96563f5cae"),
        (
            12,
            0.3,
            CostModel(commission_pct=0.1, commission_fixed=1.0, slippage_pct=0.05),
            "3daa22431051101bff9f65b34ba90f9e",
        ),
        (13, 1.0, CostModel(commission_pct=0.2), "54825e212671241df1dd9502f0a03a96"),
    ],
)
def test_results_are_bit_identical_to_those_before_sizes_and_missing_bars(
    seed: int, fraction: float, costs: CostModel | None, digest: str
) -> None:
    """The digests were taken from simulate_portfolio before size and missing bars existed (commit 65a93d0).

    Prices are multiples of 1/8, so the inputs are exact on any machine; the kernel uses only IEEE + - * /.
    """
    rng = np.random.default_rng(seed)
    n = 60
    index = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC", name="time")
    bars, targets = {}, {}
    for symbol in ("A", "B", "C"):
        closes = 100.0 + np.cumsum(rng.integers(-8, 9, n)) / 8.0
        opens = closes + rng.integers(-4, 5, n) / 8.0
        bars[symbol] = pd.DataFrame(
            {
                "open": opens,
                "high": np.maximum(opens, closes) + 0.5,
                "low": np.minimum(opens, closes) - 0.5,
                "close": closes,
                "volume": 1.0,
            },
            index=index,
        )
        targets[symbol] = rng.choice([-1.0, 0.0, 1.0], size=n)
    result = simulate_portfolio(bars, targets, fraction=fraction, costs=costs, initial_cash=10_000.0)
    assert _digest(result) == digest


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 70),
    symbols=st.integers(1, 4),
    fraction=st.sampled_from([0.1, 0.35, 1.0]),
    costs=st.sampled_from(COSTS),
    as_series=st.booleans(),
)
def test_sizes_of_one_are_bit_identical_to_no_sizes(
    seed: int, n: int, symbols: int, fraction: float, costs: CostModel | None, as_series: bool
) -> None:
    rng = np.random.default_rng(seed)
    bars = {f"S{k}": _random_bars(n, seed + k) for k in range(symbols)}
    targets = {s: rng.choice([-1.0, 0.0, 1.0], size=n) for s in bars}
    ones = {s: pd.Series(1.0, index=b.index) if as_series else np.ones(n) for s, b in bars.items()}
    plain = simulate_portfolio(bars, targets, fraction=fraction, costs=costs, initial_cash=5_000.0)
    sized = simulate_portfolio(bars, targets, fraction=fraction, costs=costs, initial_cash=5_000.0, size=ones)
    for name in ("equity", "cash"):
        assert getattr(plain, name).to_numpy().tobytes() == getattr(sized, name).to_numpy().tobytes()
    assert plain.positions.to_numpy().tobytes() == sized.positions.to_numpy().tobytes()
    pd.testing.assert_frame_equal(plain.trades, sized.trades, check_exact=True)
    pd.testing.assert_frame_equal(plain.fills, sized.fills, check_exact=True)


# ---------------------------------------------------------------------------------------------------------------------
# (b) A symbol with missing bars trades as it would alone on its own bars.


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(2, 60),
    leading=st.integers(1, 30),
    costs=st.sampled_from(COSTS),
    missing_target=st.sampled_from([0.0, np.nan]),
)
def test_a_late_listing_trades_as_the_symbol_alone_from_its_first_bar(
    seed: int, n: int, leading: int, costs: CostModel | None, missing_target: float
) -> None:
    leading = min(leading, n - 1)
    rng = np.random.default_rng(seed)
    bars = _random_bars(n, seed)
    target = rng.choice([-1.0, 0.0, 1.0], size=n)
    late = _blank(bars, np.arange(n) < leading)
    late_target = target.copy()
    late_target[:leading] = missing_target
    book = simulate_portfolio(
        {"OTHER": _random_bars(n, seed + 1), "A": late},
        {"OTHER": np.zeros(n), "A": late_target},
        fraction=1.0,
        costs=costs,
        initial_cash=10_000.0,
    )
    alone = simulate_portfolio(
        {"A": bars.iloc[leading:]}, {"A": target[leading:]}, fraction=1.0, costs=costs, initial_cash=10_000.0
    )
    _assert_same_trades(book.trades, alone.trades)
    pd.testing.assert_frame_equal(book.fills.reset_index(drop=True), alone.fills, check_exact=False, rtol=1e-9)
    # OTHER is flat, so the book's equity is A's P&L: the initial cash until A's first bar, then A's own.
    assert (book.equity.iloc[: leading + 1] == 10_000.0).all()
    np.testing.assert_allclose(book.equity.iloc[leading:], alone.equity, rtol=1e-9, atol=0.0)
    np.testing.assert_allclose(book.positions["A"].iloc[leading:], alone.positions["A"], rtol=1e-9, atol=0.0)
    assert (book.positions["A"].iloc[:leading] == 0.0).all()


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(2, 60),
    leading=st.integers(0, 20),
    trailing=st.integers(0, 15),
    interior=st.sampled_from([0.0, 0.2, 0.5]),
    costs=st.sampled_from(COSTS),
    sized=st.booleans(),
)
def test_a_symbol_with_gaps_trades_as_it_would_alone_on_its_own_bars(
    seed: int, n: int, leading: int, trailing: int, interior: float, costs: CostModel | None, sized: bool
) -> None:
    """Halts and a delisting too: decisions fill at the symbol's next own bar, the end closes at its last close."""
    rng = np.random.default_rng(seed)
    missing = _gaps(rng, n, leading=leading, trailing=trailing, interior=interior)
    missing[rng.integers(0, n)] = False  # at least one bar of its own
    own = ~missing
    bars = _random_bars(n, seed)
    target = rng.choice([-1.0, 0.0, 1.0], size=n)
    size = rng.choice([0.0, 0.3, 1.0, 2.0], size=n) if sized else np.ones(n)
    gappy_target = np.where(missing, rng.choice([0.0, np.nan], size=n), target)
    gappy_size = np.where(missing, np.nan, size)
    book = simulate_portfolio(
        {"A": _blank(bars, missing), "OTHER": _random_bars(n, seed + 1)},
        {"A": gappy_target, "OTHER": np.zeros(n)},
        fraction=1.0,
        costs=costs,
        initial_cash=10_000.0,
        size={"A": gappy_size, "OTHER": np.ones(n)},
    )
    alone = simulate_portfolio(
        {"A": bars[own]}, {"A": target[own]}, fraction=1.0, costs=costs, initial_cash=10_000.0, size={"A": size[own]}
    )
    # bars_held counts the universe's closes, missing ones included; everything else is the symbol's own run.
    _assert_same_trades(book.trades, alone.trades, bars_held=False)
    spans = alone.trades["exit_time"].to_numpy() - alone.trades["entry_time"].to_numpy()
    held = (spans // np.timedelta64(1, "h")).astype(np.int64)
    np.testing.assert_array_equal(book.trades["bars_held"], held + alone.trades["closed_at_end"].to_numpy())
    # OTHER stays flat: at A's own bars the book's equity is A's alone (its last one closes everything, with costs,
    # in both runs only at the very end), and over A's missing bars it stays at A's last mark (the initial cash
    # before A's first bar).
    last_own = int(np.flatnonzero(own)[-1])
    at_own = np.flatnonzero(own)[:-1]
    np.testing.assert_allclose(book.equity.to_numpy()[at_own], alone.equity.to_numpy()[:-1], rtol=1e-9, atol=0.0)
    assert book.equity.iloc[-1] == pytest.approx(alone.equity.iloc[-1], rel=1e-9)
    marked = pd.Series(np.where(own, book.equity.to_numpy(), np.nan)).ffill().fillna(10_000.0).to_numpy()
    inside = np.flatnonzero(missing & (np.arange(n) < last_own) & (np.arange(n) > 0))
    np.testing.assert_array_equal(book.equity.to_numpy()[inside], marked[inside])


def test_a_decision_before_a_halt_fills_at_the_first_bar_after_it() -> None:
    bars = {"A": _flat([10.0, 10.0, 12.0, np.nan, np.nan, 15.0, 16.0]), "B": _flat([5.0] * 7)}
    # A: long from bar 1; the exit decided at bar 2's close (the last before the halt) fills at bar 5's open.
    targets = {"A": np.array([1.0, 1.0, 0.0, np.nan, 0.0, 0.0, 0.0]), "B": np.zeros(7)}
    result = simulate_portfolio(bars, targets, fraction=1.0, initial_cash=1_000.0)
    trade = result.trades.iloc[0]
    assert (trade["entry_time"], trade["exit_time"]) == (bars["A"].index[1], bars["A"].index[5])
    assert (trade["exit_price"], trade["pnl"], trade["bars_held"]) == (15.0, 500.0, 4)
    # Held through the halt and marked at its last close, 12.
    np.testing.assert_array_equal(result.equity.iloc[2:5], [1_200.0, 1_200.0, 1_200.0])
    np.testing.assert_array_equal(result.positions["A"].iloc[1:5], [100.0] * 4)


def test_a_halted_position_counts_at_its_last_close_in_the_equity_that_sizes_entries() -> None:
    bars = {"A": _flat([10.0, 10.0, 12.0, np.nan, np.nan, 20.0]), "B": _flat([5.0] * 6)}
    targets = {"A": np.array([1.0, 1.0, 1.0, np.nan, np.nan, 1.0]), "B": np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])}
    result = simulate_portfolio(bars, targets, fraction=0.4, initial_cash=1_000.0)
    # A: 400 at 10 -> 40 units, 600 cash. B enters at bar 4's open while A is halted: 0.4 * (600 + 40 * 12).
    assert result.positions["B"].iloc[4] == pytest.approx(0.4 * 1_080.0 / 5.0)
    assert result.equity.iloc[3] == pytest.approx(1_080.0)
    assert result.equity.iloc[-1] == pytest.approx(600.0 - 432.0 + 40 * 20.0 + 432.0)


def test_a_delisted_position_is_closed_at_its_last_close() -> None:
    bars = {"A": _flat([10.0, 10.0, 11.0, np.nan, np.nan]), "B": _flat([5.0, 5.0, 5.0, 5.0, 6.0])}
    targets = {"A": np.array([1.0, 1.0, 1.0, np.nan, np.nan]), "B": np.array([0.0, 1.0, 1.0, 1.0, 1.0])}
    result = simulate_portfolio(bars, targets, fraction=0.5, initial_cash=1_000.0)
    trades = result.trades.set_index("symbol")
    assert trades.loc["A", "exit_time"] == bars["A"].index[2]
    assert trades.loc["A", "exit_reason"] == "end" and bool(trades.loc["A", "closed_at_end"])
    assert (trades.loc["A", "exit_price"], trades.loc["A", "pnl"], trades.loc["A", "bars_held"]) == (11.0, 50.0, 2)
    assert trades.loc["B", "exit_time"] == bars["B"].index[4]
    # A: 50 units at 10. B, at bar 2's open: min(0.5 * (500 + 50 * 11), 500 of cash) = 500, 100 units at 5.
    assert result.positions["B"].iloc[2] == pytest.approx(100.0)
    # A's proceeds arrive with the end of the data: until then it is held at its last close, 11.
    assert (result.cash.iloc[2:4] == 0.0).all()
    assert result.equity.iloc[3] == pytest.approx(50.0 * 11.0 + 100.0 * 5.0)
    assert result.equity.iloc[-1] == pytest.approx(1_000.0 + 50.0 + 100.0)


def test_a_symbol_first_entered_at_its_second_bar_and_one_without_bars_never_trades() -> None:
    bars = {
        "NEW": _flat([np.nan, np.nan, 10.0, 11.0, 12.0]),
        "NONE": _flat([np.nan] * 5),
        "OLD": _flat([10.0] * 5),
    }
    targets = {"NEW": np.array([np.nan, np.nan, 1.0, 1.0, 1.0]), "NONE": np.zeros(5), "OLD": np.zeros(5)}
    result = simulate_portfolio(bars, targets, fraction=1.0, initial_cash=1_000.0)
    assert result.trades["symbol"].tolist() == ["NEW"]
    assert result.trades["entry_time"].iloc[0] == bars["NEW"].index[3]
    assert (result.positions["NONE"] == 0.0).all()


# ---------------------------------------------------------------------------------------------------------------------
# (c) Cash and bookkeeping with gaps and sizes.


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), fraction=st.sampled_from([0.2, 0.5, 1.0]), costs=st.sampled_from(COSTS))
def test_cash_never_negative_and_nothing_happens_at_a_missing_bar(
    seed: int, fraction: float, costs: CostModel | None
) -> None:
    rng = np.random.default_rng(seed)
    n = 80
    bars, targets, sizes = {}, {}, {}
    for k, symbol in enumerate(["A", "B", "C"]):
        missing = _gaps(rng, n, leading=int(rng.integers(0, 30)), trailing=int(rng.integers(0, 20)), interior=0.15)
        bars[symbol] = _blank(_random_bars(n, seed + k), missing)
        targets[symbol] = np.where(missing, np.nan, rng.choice([-1.0, 0.0, 1.0], size=n, p=[0.25, 0.25, 0.5]))
        sizes[symbol] = np.where(missing, np.nan, rng.choice([0.0, 0.5, 1.0, 3.0, 10.0], size=n))
    result = simulate_portfolio(bars, targets, fraction=fraction, costs=costs, initial_cash=10_000.0, size=sizes)

    assert (result.cash >= -1e-9).all()
    has_bar = pd.DataFrame({s: b["close"].notna() for s, b in bars.items()})
    marks = pd.DataFrame({s: b["close"] for s, b in bars.items()}).ffill()
    held = result.positions.to_numpy()
    marked = result.cash.to_numpy() + np.where(held != 0.0, held * marks.to_numpy(), 0.0).sum(axis=1)
    np.testing.assert_allclose(result.equity.iloc[:-1], marked[:-1], rtol=1e-10)
    assert result.equity.iloc[-1] == pytest.approx(10_000.0 + result.trades["pnl"].sum(), rel=1e-10)
    # Every fill at a bar of its symbol; no position changes where the symbol has no bar.
    for fill in result.fills.itertuples():
        assert has_bar.loc[fill.time, fill.symbol], fill
    changed = np.diff(held, axis=0, prepend=0.0) != 0.0
    assert not (changed & ~has_bar.to_numpy()).any()
    # A decision needs a close: nothing is entered at a symbol's first bar.
    for trade in result.trades.itertuples():
        assert trade.entry_time > bars[trade.symbol]["close"].first_valid_index()


# ---------------------------------------------------------------------------------------------------------------------
# (d) One symbol at fraction 1 is simulate's next-open backtest.


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 80),
    vol=st.sampled_from([0.01, 0.05, 0.2]),
    costs=st.sampled_from([*COSTS, CostModel(commission_fixed=5.0)]),
    initial_cash=st.sampled_from([100.0, 10_000.0]),
)
def test_one_symbol_at_fraction_one_is_simulate(
    seed: int, n: int, vol: float, costs: CostModel | None, initial_cash: float
) -> None:
    rng = np.random.default_rng(seed)
    bars = _random_bars(n, seed, vol)
    target = rng.choice([-1.0, 0.0, 1.0], size=n)
    single = simulate(bars, target, fill="next_open", fraction=1.0, costs=costs, initial_cash=initial_cash)
    # The two differ by design in two places, shown by the tests below: simulate liquidates a position whose
    # equity reaches zero (a margin call; the portfolio has none), and the portfolio refuses a position too small
    # to pay the fixed fee of its own exit (simulate takes it and overdraws when it closes).
    assume(not (single.trades["exit_reason"] == "margin_call").any())
    fixed = 0.0 if costs is None else costs.commission_fixed
    rate = 0.0 if costs is None else costs.commission_rate
    notional = single.trades["entry_price"] * single.trades["quantity"] * (1.0 - rate)
    assume(not (notional < fixed * (1.0 + 1e-9)).any())
    book = simulate_portfolio({"X": bars}, {"X": target}, fraction=1.0, costs=costs, initial_cash=initial_cash)
    _assert_same_trades(book.trades.drop(columns="symbol"), single.trades)
    assert book.equity.iloc[-1] == pytest.approx(single.equity.iloc[-1], rel=1e-9, abs=0.0)
    np.testing.assert_allclose(book.equity, single.equity, rtol=1e-9, atol=0.0)


def test_only_simulate_margin_calls_a_short_whose_equity_reaches_zero() -> None:
    opens = [10.0, 10.0, 15.0, 25.0]
    bars = _flat(opens)
    target = np.array([-1.0, -1.0, -1.0, -1.0])
    single = simulate(bars, target, fraction=1.0, initial_cash=1_000.0)
    book = simulate_portfolio({"X": bars}, {"X": target}, fraction=1.0, initial_cash=1_000.0)
    # Short 100 at 10 with 1,000: the equity 2,000 - 100 p is zero at p = 20, which bar 3 opens beyond.
    assert single.trades["exit_reason"].tolist() == ["margin_call"]
    assert book.trades["exit_reason"].tolist() == ["end"]
    assert book.equity.iloc[-1] == pytest.approx(1_000.0 - 100.0 * 15.0)


def test_only_the_portfolio_refuses_a_position_that_cannot_pay_its_exit(caplog: pytest.LogCaptureFixture) -> None:
    bars = _flat([10.0, 10.0, 10.0, 10.0])
    target = np.array([1.0, 1.0, 1.0, 1.0])
    costs = CostModel(commission_fixed=6.0)
    with caplog.at_level(logging.WARNING):
        single = simulate(bars, target, fraction=1.0, costs=costs, initial_cash=10.0)
    book = simulate_portfolio({"X": bars}, {"X": target}, fraction=1.0, costs=costs, initial_cash=10.0)
    # 10 of cash buys 4 worth after the 6 fee; selling them back costs 6 more: simulate ends at -2.
    assert single.trades["quantity"].tolist() == [pytest.approx(0.4)]
    assert single.equity.iloc[-1] == pytest.approx(-2.0)
    assert book.trades.empty and book.equity.iloc[-1] == 10.0


# ---------------------------------------------------------------------------------------------------------------------
# Errors that teach.


def test_a_partly_missing_bar_is_named_with_its_symbol_and_time() -> None:
    bars = {"A": _flat([1.0, 2.0, 3.0]), "B": _flat([1.0, 2.0, 3.0])}
    bars["B"].loc[bars["B"].index[1], ["high", "close"]] = np.nan
    with pytest.raises(
        BacktestError,
        match=r"symbol 'B': bars row 1 \(2024-01-02 00:00:00\+00:00\) has NaN high, close but a price for open, low",
    ):
        simulate_portfolio(bars, {"A": np.zeros(3), "B": np.zeros(3)})


def test_a_position_wanted_at_a_missing_bar_is_refused() -> None:
    bars = {"A": _flat([1.0, np.nan, 3.0])}
    with pytest.raises(
        BacktestError, match=r"symbol 'A': target is 1.0 at row 1 \(2024-01-02 .*\), where the symbol has no bar"
    ):
        simulate_portfolio(bars, {"A": np.array([0.0, 1.0, 0.0])})
    # NaN at a real bar is still a missing decision.
    with pytest.raises(BacktestError, match=r"symbol 'A': target is NaN at row 2"):
        simulate_portfolio(bars, {"A": np.array([0.0, np.nan, np.nan])})


def test_a_missing_bar_still_has_the_other_checks() -> None:
    bars = {"A": _flat([1.0, np.nan, -3.0])}
    with pytest.raises(BacktestError, match=r"symbol 'A': bars column 'open' must hold finite prices > 0.* row 2"):
        simulate_portfolio(bars, {"A": np.zeros(3)})
    other = _flat([1.0, np.nan, 3.0])
    shuffled = other.iloc[[0, 2, 1]]
    with pytest.raises(BacktestError, match=r"symbol 'A': bars' index must be strictly increasing"):
        simulate_portfolio({"A": shuffled}, {"A": np.zeros(3)})


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"A": np.array([1.0, 11.0, 1.0])}, r"symbol 'A': size must be finite, >= 0 and <= 10 .* got 11.0 at row 1"),
        ({"A": np.array([1.0, -0.5, 1.0])}, r"symbol 'A': size .* got -0.5 at row 1"),
        ({"A": np.array([np.nan, 1.0, 1.0])}, r"symbol 'A': size .* got nan at row 0"),
        ({"A": np.ones(2)}, r"symbol 'A': size has 2 values but bars have 3 rows"),
        ({"A": np.array(["1", "1", "1"])}, r"symbol 'A': size must hold numbers"),
        ({"AA": np.ones(3)}, r"size has symbol 'AA' that bars lacks; did you mean 'A'\?"),
        ({}, r"size has no entry for \['A'\]; give sizes \(1.0 for the plain fraction\)"),
        (np.ones(3), r"size must be a dict of symbol -> per-bar sizes, or None"),
    ],
)
def test_bad_sizes_are_named(sizes: object, message: str) -> None:
    with pytest.raises(BacktestError, match=message):
        simulate_portfolio({"A": _flat([1.0, 2.0, 3.0])}, {"A": np.zeros(3)}, size=sizes)


def test_a_size_may_be_nan_where_the_symbol_has_no_bar_and_zero_means_no_entry() -> None:
    bars = {"A": _flat([10.0, np.nan, 10.0, 10.0, 12.0])}
    targets = {"A": np.array([1.0, np.nan, 1.0, 1.0, 1.0])}
    result = simulate_portfolio(bars, targets, fraction=1.0, initial_cash=100.0)
    assert result.trades["entry_time"].iloc[0] == bars["A"].index[2]
    sized = simulate_portfolio(
        bars, targets, fraction=1.0, initial_cash=100.0, size={"A": np.array([0.0, np.nan, 0.5, 1.0, 1.0])}
    )
    # Bar 0's size 0 opens nothing at bar 2 (the next bar of A); bar 2's 0.5 then fills at bar 3.
    trade = sized.trades.iloc[0]
    assert (trade["entry_time"], trade["quantity"]) == (bars["A"].index[3], 5.0)


# ---------------------------------------------------------------------------------------------------------------------
# (e) top_k_targets.


def _reference_top_k(scores: np.ndarray, k: int, allow_short: bool) -> np.ndarray:
    out = np.zeros(scores.shape, dtype=np.int64)
    for t in range(scores.shape[1]):
        ranked = sorted((i for i in range(scores.shape[0]) if not np.isnan(scores[i, t])), key=lambda i: -scores[i, t])
        n = len(ranked)
        longs = min(k, math.ceil(n / 2)) if allow_short else min(k, n)
        shorts = min(k, n // 2) if allow_short else 0
        for i in ranked[:longs]:
            out[i, t] = 1
        for i in ranked[n - shorts :]:
            out[i, t] = -1
    return out


@settings(max_examples=200, deadline=None)
@given(
    scores=st.integers(1, 8).flatmap(
        lambda s: st.integers(0, 6).flatmap(
            lambda b: st.lists(st.sampled_from([np.nan, -1.0, 0.0, 0.5, 1.0, 2.5]), min_size=s * b, max_size=s * b).map(
                lambda v: np.array(v, dtype=np.float64).reshape(s, b)
            )
        )
    ),
    k=st.integers(1, 5),
    allow_short=st.booleans(),
)
def test_top_k_holds_k_per_side_never_a_nan_and_breaks_ties_by_symbol_order(
    scores: np.ndarray, k: int, allow_short: bool
) -> None:
    targets = top_k_targets(scores, k, allow_short=allow_short)
    assert targets.dtype == np.int64 and targets.shape == scores.shape
    np.testing.assert_array_equal(targets, _reference_top_k(scores, k, allow_short))
    scored = ~np.isnan(scores)
    assert (targets[~scored] == 0).all()
    n = scored.sum(axis=0)
    longs = (targets == 1).sum(axis=0)
    shorts = (targets == -1).sum(axis=0)
    if allow_short:
        np.testing.assert_array_equal(longs, np.minimum(k, (n + 1) // 2))
        np.testing.assert_array_equal(shorts, np.minimum(k, n // 2))
        assert ((n < 2 * k) | ((longs == k) & (shorts == k))).all()
    else:
        np.testing.assert_array_equal(longs, np.minimum(k, n))
        assert (shorts == 0).all()
    for t in range(scores.shape[1]):
        long_scores = scores[targets[:, t] == 1, t]
        rest = scores[scored[:, t] & (targets[:, t] != 1), t]
        if long_scores.size and rest.size:
            assert long_scores.min() >= rest.max()
    np.testing.assert_array_equal(top_k_targets(scores.copy(), k, allow_short=allow_short), targets)


def test_top_k_ties_go_to_the_earlier_symbol_for_longs_and_the_later_for_shorts() -> None:
    scores = np.array([[1.0], [1.0], [1.0], [1.0], [np.nan]])
    assert top_k_targets(scores, 1, allow_short=True)[:, 0].tolist() == [1, 0, 0, -1, 0]
    assert top_k_targets(scores, 2, allow_short=False)[:, 0].tolist() == [1, 1, 0, 0, 0]
    # Three scored symbols and k = 2: two long, one short; one scored: long, whatever its score.
    three = np.array([[0.1], [0.3], [0.2], [np.nan]])
    assert top_k_targets(three, 2, allow_short=True)[:, 0].tolist() == [-1, 1, 1, 0]
    assert top_k_targets(np.array([[-5.0], [np.nan]]), 3, allow_short=True)[:, 0].tolist() == [1, 0]


def test_top_k_targets_feed_the_portfolio() -> None:
    bars = {"A": _flat([10.0, 10.0, 11.0, 12.0]), "B": _flat([np.nan, 20.0, 20.0, 20.0])}
    scores = np.array([[0.2, 0.1, 0.1, 0.1], [np.nan, 0.5, 0.5, 0.5]])
    chosen = top_k_targets(scores, 1, allow_short=False)
    assert chosen.tolist() == [[1, 0, 0, 0], [0, 1, 1, 1]]
    result = simulate_portfolio(dict(bars), {s: chosen[i] for i, s in enumerate(bars)}, fraction=1.0)
    assert result.trades["symbol"].tolist() == ["A", "B"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, r"k must be a whole number of symbols >= 1, got 0"),
        ({"k": -2}, r"k must be .* got -2"),
        ({"k": 1.5}, r"k must be .* got 1.5"),
        ({"k": True}, r"k must be .* got True"),
        ({"allow_short": "yes"}, r"allow_short must be True or False, got 'yes'"),
        ({"scores": [[1.0]]}, r"scores must be a numpy array of symbols x bars, got list"),
        ({"scores": np.ones(3)}, r"scores must be 2-D \(symbols x bars\), got an array of shape \(3,\)"),
        ({"scores": np.ones((2, 2), dtype=bool)}, r"scores must hold numbers \(NaN for none\), got dtype bool"),
    ],
)
def test_top_k_errors_are_named(kwargs: dict, message: str) -> None:
    arguments = {"scores": np.ones((2, 3)), "k": 1, "allow_short": False} | kwargs
    with pytest.raises(BacktestError, match=message):
        top_k_targets(arguments.pop("scores"), arguments.pop("k"), **arguments)
