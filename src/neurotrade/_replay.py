"""Backtest a saved bundle over any stretch of bars through the live decision engine, bar by bar."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurotrade import backtest
from neurotrade._stages import load_bars
from neurotrade._workspace import resolve_home
from neurotrade.config import Strategy, load_strategy
from neurotrade.decision import DecisionEngine
from neurotrade.errors import BacktestError
from neurotrade.labels import CLASS_NAMES
from neurotrade.store import BundleRef, load_bundle

log = logging.getLogger(__name__)

_PROBA = [f"p_{c.lower()}" for c in CLASS_NAMES]


@dataclass(frozen=True)
class BundleBacktest:
    """A saved model traded over a window by the decision engine.

    Attributes
    ----------
    bundle
        The bundle that decided.
    result, benchmark
        The strategy's backtest and buy-and-hold over the same bars.
    metrics
        Performance of both, the signal counts, and ``in_sample``: True when the window starts before the end of
        the data the model was trained and stopped on (its numbers are then not out of sample).
    decisions
        Per bar of the window: probabilities, signal, target.
    """

    bundle: BundleRef
    result: backtest.BacktestResult
    benchmark: backtest.BacktestResult
    metrics: dict[str, Any]
    decisions: pd.DataFrame


def backtest_bundle(
    strategy: Strategy | str | Path,
    *,
    model: str = "latest",
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    home: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BundleBacktest:
    """Trade a strategy's saved model over ``[start, end]`` through :class:`~neurotrade.decision.DecisionEngine`.

    The bars come from the strategy's ``data`` section (so a model can be tried on another symbol); features,
    model, scaler and rules come from the bundle. Every bar from the first one is fed to the engine so the
    indicators warm up as in training; trading starts flat at ``start`` and fills at the next bar's open.

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.pipeline import run
    >>> spec = parse_strategy("name: bt\\ndata: {source: synthetic, bars: 900}\\nindicators: {rsi_14: {}}\\n"
    ...                       "nn_inputs: {indicators: [rsi_14]}\\nsplit: {folds: 2}\\ntraining: {epochs: 2}\\n")
    >>> home = tempfile.mkdtemp()
    >>> _ = run(spec, home=home)
    >>> out = backtest_bundle(spec, home=home, start="2003-01-01")
    >>> out.bundle.name, out.metrics["in_sample"]
    ('bt/1d_v1', False)
    """
    spec = strategy if isinstance(strategy, Strategy) else load_strategy(strategy)
    home_dir = resolve_home(home)
    # "latest" is the newest bundle of the data's timeframe: the strategy's newest overall may be another timeframe's.
    timeframe = spec.data.timeframe
    name = f"{spec.name}/latest-{timeframe}" if model == "latest" else f"{spec.name}/{model}"
    bundle = load_bundle(home_dir / "models", name)
    if bundle.ref.timeframe != timeframe:
        raise BacktestError(
            f"bundle {bundle.ref.name} was trained on {bundle.ref.timeframe} bars, but {spec.name}'s data is "
            f"{timeframe} (data.timeframe): its features would be computed on bars it never saw. Use a {timeframe} "
            f"bundle (see `neurotrade models list {spec.name}`), or set data.timeframe: {bundle.ref.timeframe}."
        )
    engine = DecisionEngine.from_bundle(bundle)
    bars = load_bars(spec.data, home=home_dir, seed=spec.seed)
    first = bars.index[0] if start is None else pd.Timestamp(start, tz="UTC")
    last = bars.index[-1] if end is None else pd.Timestamp(end, tz="UTC")
    inside = (bars.index >= first) & (bars.index <= last)
    if inside.sum() < 2:
        raise BacktestError(
            f"the window {first.date()} to {last.date()} holds {int(inside.sum())} bar(s) of {spec.data.instrument}; "
            f"the data runs from {bars.index[0].date()} to {bars.index[-1].date()}"
        )
    rows = []
    started = False
    stop = int(np.flatnonzero(inside)[-1]) + 1
    for i, (time, bar) in enumerate(bars.iloc[:stop].iterrows()):
        if inside[i] and not started:
            # Trading starts flat with fresh rules, as each fold of the run did: no spacing or daily count carried
            # in from decisions before the window.
            engine.start_account()
        decision = engine.update(bar, time=time)
        if inside[i]:
            started = True
            proba = decision.proba if decision.proba is not None else np.full(len(CLASS_NAMES), np.nan)
            extra = {"size": decision.size, "size_reason": decision.reason, **decision.outputs}
            if decision.side is not None:
                extra["side"] = decision.side
            rows.append({"time": time, **dict(zip(_PROBA, proba, strict=True)), "signal": decision.signal or "WARMUP",
                         "target": decision.target, **extra})  # fmt: skip
        if progress is not None:
            progress(i + 1, stop)
    decisions = pd.DataFrame(rows).set_index("time")
    window = bars.loc[decisions.index]
    bt = spec.backtest
    costs = backtest.CostModel(bt.commission_pct, bt.commission_fixed, bt.slippage_pct)
    # The engine's bundle holds the rules; sizes and exits are traded exactly as the run traded them.
    atr = backtest.atr_for_stops(bars.iloc[:stop], bt.atr_stop.period)[inside[:stop]] if bt.atr_stop else None
    result = backtest.simulate(
        window,
        decisions["target"].to_numpy(),
        fill=bt.fill,
        costs=costs,
        initial_cash=bt.initial_cash,
        fraction=bt.fraction,
        size=decisions["size"].to_numpy(dtype=np.float64),
        stop_loss_pct=bt.stop_loss_pct,
        take_profit_pct=bt.take_profit_pct,
        trailing_stop_pct=bt.trailing_stop_pct,
        atr=atr,
        atr_stop_multiple=bt.atr_stop.multiple if bt.atr_stop else None,
    )
    benchmark = backtest.buy_and_hold(window, costs=costs, initial_cash=bt.initial_cash, fill=bt.fill)
    per_year = backtest.observed_periods_per_year(bars.index)
    trained_until = _trained_until(bundle.documents)
    in_sample = trained_until is not None and window.index[0] <= trained_until
    if in_sample:
        log.warning(
            "the window starts %s, before the end of the data this model was trained and stopped on (%s): "
            "these numbers are in sample, not an out-of-sample test",
            window.index[0].date(),
            trained_until.date(),
        )
    metrics = {
        "window": {"first": window.index[0].isoformat(), "last": window.index[-1].isoformat()},
        "in_sample": bool(in_sample),
        "trained_until": None if trained_until is None else trained_until.isoformat(),
        "signals": {c: int((decisions["signal"] == c).sum()) for c in CLASS_NAMES},
        "strategy": backtest.performance(result, periods_per_year=per_year),
        "buy_and_hold": backtest.performance(benchmark, periods_per_year=per_year),
    }
    return BundleBacktest(bundle.ref, result, benchmark, metrics, decisions)


def _trained_until(documents: dict[str, Any]) -> pd.Timestamp | None:
    """The last bar the saved model's training or early stopping depended on: the latest label end time (t1) of
    its fold's training and validation samples. A window starting at or before it is in sample.

    Bundles written before ``trained_until`` was recorded name only their last validation sample, whose label
    reaches further. For those the bound is just before the last fold's test window: purging kept every training
    and validation label's t1 before that window's first bar.
    """
    split = documents.get("split", {})
    if split.get("trained_until"):
        return pd.Timestamp(split["trained_until"])
    folds = split.get("folds") or []
    if not folds:
        return None
    test_first = folds[-1].get("test", {}).get("first")
    if test_first is not None:
        return pd.Timestamp(test_first) - pd.Timedelta(1, "ns")
    last = folds[-1].get("validation", {}).get("last")
    return None if last is None else pd.Timestamp(last)
