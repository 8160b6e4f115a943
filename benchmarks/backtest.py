"""Our backtester beside backtesting.py: the same trades, the same final equity, and how much faster.

One SMA(10)/SMA(20) crossover, long while the fast average is above the slow one and flat otherwise, on
the same random-walk bars in both backtesters, configured alike:

- the decision taken on bar t's close fills at bar t+1's open (backtesting.py's default for market
  orders, ``trade_on_close=False``; our ``fill="next_open"``);
- commission 0.1 % of the traded value on every fill (``commission=0.001``; ``CostModel(commission_pct=0.1)``);
- no margin (``margin=1``), no hedging, ``exclusive_orders=True``; every entry uses all the equity;
- the target goes flat two bars before the end, so both close the last trade at an open rather than
  handling an open position at the end of data differently.

backtesting.py buys whole units, we buy fractional ones: the initial cash is large (1e10 against prices
near 100) so that the rounding of its unit count moves the final equity by far less than the 1e-6 goal.

Printed: whether the entry and exit times are identical, the final equity of each and their relative
difference (goal <= 1e-6), then the time each takes on ``--bars`` bars (1,000,000) and the ratio (goal:
ours at least 300x faster). backtesting.py is timed on ``--peer-bars`` bars (default: the same number);
when that is fewer than ``--bars``, its time is also scaled linearly to ``--bars`` (its loop is linear
in the bars) and the table says which figures were measured and which extrapolated. Run from the
repository root::

    .venv/bin/python benchmarks/backtest.py
    .venv/bin/python benchmarks/backtest.py --bars 1000000 --peer-bars 200000
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import time
import warnings

import numpy as np
import pandas as pd

from neurotrade.backtest import BacktestResult, CostModel, simulate

COMMISSION = 0.001
CASH = 1e10
GOAL_DIFF = 1e-6
GOAL_SPEED = 300.0


def make_bars(n: int, seed: int) -> pd.DataFrame:
    """A random walk that honours the OHLCV contract, hourly bars from 2000."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0.0, 0.0025, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.005, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.005, n)))
    volume = rng.lognormal(10.0, 1.0, n)
    index = pd.date_range("2000-01-01", periods=n, freq="h", tz="UTC", name="time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)


def sma_cross_target(bars: pd.DataFrame, fast: int = 10, slow: int = 20) -> np.ndarray:
    """+1 while SMA(fast) > SMA(slow) at the close, else 0; 0 during warm-up and on the last two bars."""
    close = bars["close"]
    above = (close.rolling(fast).mean() > close.rolling(slow).mean()).to_numpy()
    target = np.where(above, 1.0, 0.0)
    target[-2:] = 0.0
    return target


def run_ours(bars: pd.DataFrame, target: np.ndarray) -> BacktestResult:
    """Our backtest of the target, configured as :func:`run_peer`."""
    return simulate(bars, target, costs=CostModel(commission_pct=100.0 * COMMISSION), initial_cash=CASH)


def peer_data(bars: pd.DataFrame, target: np.ndarray) -> pd.DataFrame:
    """The bars as backtesting.py wants them (capitalised columns, naive index) with the target as a column."""
    data = bars.rename(columns=str.capitalize)
    data.index = data.index.tz_localize(None)
    data["Target"] = target
    return data


def run_peer(data: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """backtesting.py's trades (entry and exit times) and final equity for the target in ``data``."""
    from backtesting import Backtest, Strategy

    class FollowTarget(Strategy):
        def init(self) -> None:
            pass

        def next(self) -> None:
            wanted = self.data.Target[-1]
            if wanted > 0 and not self.position:
                self.buy()
            elif wanted <= 0 and self.position:
                self.position.close()

    backtest = Backtest(
        data,
        FollowTarget,
        cash=CASH,
        commission=COMMISSION,
        margin=1.0,
        trade_on_close=False,
        hedging=False,
        exclusive_orders=True,
    )
    with warnings.catch_warnings():
        # It warns about the index frequency and open trades; neither concerns this comparison.
        warnings.simplefilter("ignore")
        stats = backtest.run()
    trades = stats["_trades"][["EntryTime", "ExitTime"]].sort_values("EntryTime", ignore_index=True)
    return trades, float(stats["Equity Final [$]"])


def parity(bars: pd.DataFrame) -> dict[str, object]:
    """Run both on the same bars: identical trade times, and the final equities' relative difference."""
    target = sma_cross_target(bars)
    ours = run_ours(bars, target)
    peer_trades, peer_final = run_peer(peer_data(bars, target))
    our_times = ours.trades[["entry_time", "exit_time"]].apply(lambda c: c.dt.tz_localize(None))
    same = len(our_times) == len(peer_trades) and bool(
        (our_times["entry_time"].to_numpy() == peer_trades["EntryTime"].to_numpy()).all()
        and (our_times["exit_time"].to_numpy() == peer_trades["ExitTime"].to_numpy()).all()
    )
    final = float(ours.equity.iloc[-1])
    return {
        "trades": len(ours.trades),
        "peer_trades": len(peer_trades),
        "same_times": same,
        "final": final,
        "peer_final": peer_final,
        "relative_difference": abs(final - peer_final) / abs(peer_final),
    }


def best_of(fn, repeats: int) -> float:
    """The fastest of ``repeats`` timed calls, in seconds (after one untimed call to warm up)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000, help="bars for our timing (default 1,000,000)")
    parser.add_argument("--peer-bars", type=int, default=None, help="bars for backtesting.py's timing")
    parser.add_argument("--parity-bars", type=int, default=20_000, help="bars for the parity check")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats for ours (best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    try:
        import backtesting
    except ImportError:
        sys.exit("backtesting.py is not installed: .venv/bin/pip install backtesting")
    peer_bars = args.bars if args.peer_bars is None else min(args.peer_bars, args.bars)
    print(
        f"neurotrade backtest vs backtesting.py {backtesting.__version__} | Python {platform.python_version()} "
        f"| pandas {pd.__version__} | {platform.machine()}"
    )

    check = parity(make_bars(args.parity_bars, args.seed))
    print(f"\nparity on {args.parity_bars:,} bars, SMA(10/20) long/flat, commission {COMMISSION:g}:")
    print(f"  trades: ours {check['trades']}, backtesting.py {check['peer_trades']}")
    print(f"  entry and exit times identical: {check['same_times']}")
    print(f"  final equity: ours {check['final']:.6f}, backtesting.py {check['peer_final']:.6f}")
    verdict = "ok" if check["relative_difference"] <= GOAL_DIFF else "MISSED"
    print(f"  relative difference {check['relative_difference']:.3e} (goal <= {GOAL_DIFF:g}: {verdict})")

    bars = make_bars(args.bars, args.seed + 1)
    target = sma_cross_target(bars)
    ours = best_of(lambda: run_ours(bars, target), args.repeats)
    data = peer_data(bars.iloc[:peer_bars], target[:peer_bars])
    start = time.perf_counter()
    run_peer(data)
    peer = time.perf_counter() - start
    print(f"\nspeed (ours: simulate() with its checks and output frames, best of {args.repeats}; theirs: one run):")
    print(f"  ours           {args.bars:>10,} bars {ours:10.3f} s")
    print(f"  backtesting.py {peer_bars:>10,} bars {peer:10.3f} s  (measured)")
    if peer_bars < args.bars:
        scaled = peer * args.bars / peer_bars
        print(f"  backtesting.py {args.bars:>10,} bars {scaled:10.3f} s  (extrapolated linearly from {peer_bars:,})")
        peer = scaled
    ratio = peer / ours
    verdict = "ok" if ratio >= GOAL_SPEED else "MISSED"
    print(f"  ratio {ratio:,.0f}x (goal >= {GOAL_SPEED:g}x: {verdict})")


if __name__ == "__main__":
    main()
