"""Backtest a saved bundle over any stretch of bars through the live decision engine, bar by bar.

A single symbol's bundle runs through :class:`~neurotrade.decision.DecisionEngine` and one backtest; a universe's
through :class:`~neurotrade.decision.UniverseEngine` and the run's shared-cash portfolio, beside its equal-weight
buy-and-hold. Over the window the bundle's model traded in its run (the last fold's out-of-sample window: a bundle
holds the last fold's model only), a universe's replay is compared with the run's own trades.
"""

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
from neurotrade.decision import DecisionEngine, UniverseEngine
from neurotrade.errors import BacktestError
from neurotrade.labels import CLASS_NAMES
from neurotrade.store import Bundle, BundleRef, load_bundle

log = logging.getLogger(__name__)

_PROBA = [f"p_{c.lower()}" for c in CLASS_NAMES]
_FIELDS = ("open", "high", "low", "close", "volume")
#: How close a replayed trade's quantity and P&L must be to the run's (relative): float64 paths on any x86-64.
_MATCH_RTOL = 1e-9


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


@dataclass(frozen=True)
class UniverseBacktest:
    """A universe's saved model traded over a window by the universe engine, as one shared-cash portfolio.

    Attributes
    ----------
    bundle
        The bundle that decided.
    result, benchmark
        The portfolio (:func:`neurotrade.backtest.simulate_portfolio`, the run's position fraction, costs and
        sizes) and the equal-weight buy-and-hold of the universe over the same bars.
    metrics
        Performance of both, the signal counts, ``in_sample`` (as for one symbol), ``universe`` (symbols,
        selection, position fraction, each symbol's contribution) and ``run``: the comparison with the run's own
        trades (``compared``, and ``matches``, ``fold``, ``trades`` when compared, else the ``reason``).
    decisions
        Per bar and symbol of the window (``symbol`` column): probabilities, signal, target, size, and the
        ``portfolio_target`` the portfolio was given.
    """

    bundle: BundleRef
    result: backtest.PortfolioResult
    benchmark: backtest.PortfolioResult
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
) -> BundleBacktest | UniverseBacktest:
    """Trade a strategy's saved model over ``[start, end]`` through :class:`~neurotrade.decision.DecisionEngine`
    (or, for a universe's bundle, :class:`~neurotrade.decision.UniverseEngine` and one shared-cash portfolio).

    The bars come from the strategy's ``data`` section (so a model can be tried on another symbol); features,
    model, scaler and rules come from the bundle. Every bar from the first one is fed to the engine so the
    indicators warm up as in training; trading starts flat at ``start`` and fills at the next bar's open.

    A universe is traded as its run traded each fold: every symbol's decisions (or the ``top_k`` choice) through
    :func:`neurotrade.backtest.simulate_portfolio` with the run's position fraction, costs and sizes, over the
    bars at which some symbol could decide, beside the universe's equal-weight buy-and-hold. When the window is
    the last fold's out-of-sample window (``metrics.json``'s last fold; the bundle holds that fold's model), the
    trades are compared with the run's ``trades.parquet`` (``metrics["run"]``).

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
    if bundle.documents.get("features", {}).get("symbols"):
        return _backtest_universe(spec, bundle, home_dir, start, end, progress)
    if spec.data.is_universe:
        raise BacktestError(
            f"{spec.name}'s data names a universe ({spec.data.instrument}), but bundle {bundle.ref.name} is one "
            f"symbol's ({bundle.documents.get('data', {}).get('symbol')}): name one symbol in data.symbol to trade "
            "it, or train the universe first (`neurotrade run`)"
        )
    engine = DecisionEngine.from_bundle(bundle)
    bars = load_bars(spec.data, home=home_dir, seed=spec.seed)
    first = bars.index[0] if start is None else _utc(start)
    last = bars.index[-1] if end is None else _utc(end)
    inside = (bars.index >= first) & (bars.index <= last)
    if inside.sum() < 2:
        raise BacktestError(
            f"the window {first.date()} to {last.date()} holds {int(inside.sum())} bar(s) of {spec.data.instrument}; "
            f"the data runs from {bars.index[0].date()} to {bars.index[-1].date()}"
        )
    rows = []
    started = False
    stop = int(np.flatnonzero(inside)[-1]) + 1
    # Plain dicts of the row's values, not iterrows()'s Series: building a Series per bar cost more than the
    # engine's own work on it.
    columns, values = list(bars.columns), bars.to_numpy()
    for i, time in enumerate(bars.index[:stop]):
        bar = dict(zip(columns, values[i], strict=True))
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
    per_year = _periods_per_year(spec, bars.index)
    trained_until, in_sample = _in_sample(bundle.documents, window.index[0])
    metrics = {
        "window": {"first": window.index[0].isoformat(), "last": window.index[-1].isoformat()},
        "in_sample": bool(in_sample),
        "trained_until": None if trained_until is None else trained_until.isoformat(),
        "signals": {c: int((decisions["signal"] == c).sum()) for c in CLASS_NAMES},
        "strategy": backtest.performance(result, periods_per_year=per_year),
        "buy_and_hold": backtest.performance(benchmark, periods_per_year=per_year),
    }
    return BundleBacktest(bundle.ref, result, benchmark, metrics, decisions)


def _backtest_universe(
    spec: Strategy,
    bundle: Bundle,
    home: Path,
    start: str | pd.Timestamp | None,
    end: str | pd.Timestamp | None,
    progress: Callable[[int, int], None] | None,
) -> UniverseBacktest:
    """:func:`backtest_bundle` for a universe's bundle: every symbol's bars through the universe engine, time by
    time, then the run's shared-cash portfolio over the bars at which some symbol decided."""
    from neurotrade._stages import load_universe
    from neurotrade._universe import position_fraction

    symbols = list(bundle.documents["features"]["symbols"])
    if not spec.data.is_universe:
        raise BacktestError(
            f"bundle {bundle.ref.name} is a universe's ({', '.join(symbols)}), but {spec.name}'s data names one "
            f"symbol ({spec.data.instrument}): list the universe in data.symbols (e.g. symbols: {symbols}) to trade it"
        )
    engine = UniverseEngine.from_bundle(bundle)
    loaded = load_universe(spec.data, home=home, seed=spec.seed)
    unknown = [s for s in loaded if s not in symbols]
    if unknown:
        raise BacktestError(
            f"{spec.name}'s data lists {unknown}, not in bundle {bundle.ref.name}'s universe {symbols}: the model "
            "knows those symbols only (their cross-section, one-hot columns and scalers); list only those in "
            "data.symbols, or train a universe with the others"
        )
    order = [s for s in symbols if s in loaded]  # the universe's order, as the run traded them
    bars = {s: loaded[s] for s in order}
    union = bars[order[0]].index
    for s in order[1:]:
        union = union.union(bars[s].index)
    first = union[0] if start is None else _utc(start)
    last = union[-1] if end is None else _utc(end)
    times = union[union <= last]
    columns = {s: {c: b[c].to_numpy(dtype=np.float64) for c in _FIELDS} for s, b in bars.items()}
    where = {s: pd.Series(np.arange(len(b)), index=b.index) for s, b in bars.items()}
    position = {s: where[s].reindex(times).to_numpy() for s in order}  # each symbol's bar at each time, or NaN
    rows = []
    started = False
    for i, time in enumerate(times):
        at = {s: int(position[s][i]) for s in order if not np.isnan(position[s][i])}
        inside = time >= first
        if inside and not started:
            engine.start_account()  # every symbol flat with fresh rules, as each fold of the run started
            started = True
        decided = engine.step(time, {s: {c: columns[s][c][j] for c in _FIELDS} for s, j in at.items()})
        if inside:
            for s, d in decided.items():
                proba = d.proba if d.proba is not None else np.full(len(CLASS_NAMES), np.nan)
                rows.append({"time": time, "symbol": s, **dict(zip(_PROBA, proba, strict=True)),
                             "signal": d.signal or "WARMUP", "target": d.target, "size": d.size,
                             "size_reason": d.reason, "portfolio_target": d.portfolio_target, **d.outputs})  # fmt: skip
        if progress is not None:
            progress(i + 1, len(times))
    decisions = pd.DataFrame(rows or {"time": pd.DatetimeIndex([], tz="UTC"), "signal": []}).set_index("time")
    ready = decisions[decisions["signal"] != "WARMUP"]
    # The portfolio trades the bars at which some symbol decided, as each fold of the run did (the union of the
    # symbols' traded bars); a symbol without a bar there is NaN, never filled.
    window = pd.DatetimeIndex(ready.index.unique()).sort_values()
    if len(window) < 2:
        raise BacktestError(
            f"the window {first.date()} to {last.date()} holds {len(window)} bar(s) at which a symbol of "
            f"{', '.join(order)} could decide (after its indicators' warm-up); the data runs from "
            f"{union[0].date()} to {union[-1].date()}"
        )
    aligned = {s: bars[s].reindex(window) for s in order}
    # A symbol that did not decide at a bar wants no position there: the portfolio's 0, as the run gave it.
    wanted = ready.pivot(columns="symbol", values="portfolio_target").reindex(index=window, columns=order)
    targets = {s: wanted[s].fillna(0).to_numpy(dtype=np.int64) for s in order}
    # Equal-weight buy-and-hold: each symbol held over the bars it decided at, as the run's benchmark.
    bought = {s: np.isin(window, ready.index[ready["symbol"] == s]).astype(np.int64) for s in order}
    sizes = None
    if spec.portfolio.selection != "top_k":  # top_k holds its choice at the fixed fraction, as the run did
        entry = ready.pivot(columns="symbol", values="size").reindex(index=window, columns=order)
        sizes = {s: entry[s].fillna(0.0).to_numpy(dtype=np.float64) for s in order}
    bt = spec.backtest
    costs = backtest.CostModel(bt.commission_pct, bt.commission_fixed, bt.slippage_pct)
    fraction = position_fraction(spec, len(order))
    account: dict[str, Any] = {"fraction": fraction, "costs": costs, "initial_cash": bt.initial_cash}
    result = backtest.simulate_portfolio(aligned, targets, size=sizes, **account)
    # The benchmark holds the universe in equal shares, whatever top_k or the position cap allow (as the run).
    benchmark = backtest.simulate_portfolio(aligned, bought, **(account | {"fraction": bt.fraction / len(order)}))
    per_year = _periods_per_year(spec, union)
    trained_until, in_sample = _in_sample(bundle.documents, window[0])
    mine = result.trades
    metrics = {
        "window": {"first": window[0].isoformat(), "last": window[-1].isoformat()},
        "in_sample": bool(in_sample),
        "trained_until": None if trained_until is None else trained_until.isoformat(),
        "signals": {c: int((ready["signal"] == c).sum()) for c in CLASS_NAMES},
        "strategy": backtest.performance(result, periods_per_year=per_year),
        "buy_and_hold": backtest.performance(benchmark, periods_per_year=per_year),
        "universe": {
            "symbols": order,
            "selection": spec.portfolio.selection,
            "position_fraction": fraction,
            "contribution": {
                s: {
                    "trades": int((mine["symbol"] == s).sum()),
                    "pnl": float(mine.loc[mine["symbol"] == s, "pnl"].sum()),
                    "pnl_pct": 100.0 * float(mine.loc[mine["symbol"] == s, "pnl"].sum()) / result.initial_cash,
                }
                for s in order
            },
        },
        "run": compare_with_run(result, home / "runs" / bundle.ref.strategy / bundle.ref.path.name),
    }
    return UniverseBacktest(bundle.ref, result, benchmark, metrics, decisions)


def compare_with_run(result: backtest.PortfolioResult, run_dir: Path) -> dict[str, Any]:
    """Whether a replayed portfolio traded what the run traded over the same window.

    The run's trades of its last fold (the only one whose model the bundle holds) are compared with ``result``'s
    when ``result`` covers exactly that fold's window: symbol, entry and exit time and side exactly; quantity
    and P&L to 1e-9 relative, once the replay (which starts from the initial cash) is scaled by the growth of the
    run's earlier folds (its chained equity carried that growth into the fold).

    Returns
    -------
    dict
        ``compared`` (bool); if compared, ``fold``, ``matches``, ``trades`` (the run's), ``replayed`` and
        ``difference`` (the first one found, or None); else ``reason``.

    Examples
    --------
    >>> from pathlib import Path
    >>> from neurotrade.backtest import simulate_portfolio
    >>> from neurotrade.data import synthetic_ohlcv
    >>> bars = synthetic_ohlcv(10, seed=1)
    >>> out = simulate_portfolio({"A": bars}, {"A": pd.Series(1, index=bars.index)})
    >>> compare_with_run(out, Path("/nowhere"))["compared"]
    False
    """
    import json

    files = [run_dir / "metrics.json", run_dir / "trades.parquet", run_dir / "equity.parquet"]
    if not all(f.is_file() for f in files):
        return {"compared": False, "reason": f"no run folder at {run_dir} to compare with"}
    folds = json.loads((run_dir / "metrics.json").read_text()).get("folds") or []
    if not folds or "window" not in folds[-1]:
        return {"compared": False, "reason": f"{run_dir / 'metrics.json'} names no fold window"}
    fold = folds[-1]
    first, last = pd.Timestamp(fold["window"]["first"]), pd.Timestamp(fold["window"]["last"])
    index = result.equity.index
    if index[0] != first or index[-1] != last:
        return {
            "compared": False,
            "reason": (
                f"the replay traded {_stamp(index[0])} to {_stamp(index[-1])}, not the run's last fold's "
                f"out-of-sample window ({_stamp(first)} to {_stamp(last)}), the only one this bundle's model traded "
                f"in its run; replay --from {_stamp(first)} --to {_stamp(last)} to compare"
            ),
        }
    number = int(fold.get("fold", len(folds)))
    theirs = pd.read_parquet(run_dir / "trades.parquet")
    theirs = theirs[theirs["fold"] == number].reset_index(drop=True)
    equity = pd.read_parquet(run_dir / "equity.parquet")["strategy"]
    before = equity[equity.index < first]
    growth = float(before.iloc[-1]) / result.initial_cash if len(before) else 1.0
    ours = result.trades.reset_index(drop=True)
    out: dict[str, Any] = {"compared": True, "fold": number, "trades": len(theirs), "replayed": len(ours)}
    out["difference"] = _first_difference(ours, theirs, growth)
    out["matches"] = out["difference"] is None
    return out


def _utc(value: str | pd.Timestamp) -> pd.Timestamp:
    """A ``start``/``end`` as a UTC time: a naive one is read as UTC, an aware one converted."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _stamp(time: pd.Timestamp) -> str:
    """A time as ``--from``/``--to`` take it: the date alone at midnight UTC, else the ISO time."""
    return time.date().isoformat() if time == time.normalize() else time.isoformat()


def _first_difference(ours: pd.DataFrame, theirs: pd.DataFrame, growth: float) -> str | None:
    """The first way two portfolios' trade lists differ (None: they match), the replay's sizes scaled by
    ``growth``."""
    if len(ours) != len(theirs):
        return f"the replay made {len(ours)} trades, the run {len(theirs)}"
    for column in ("symbol", "entry_time", "exit_time", "side"):
        differ = np.flatnonzero(ours[column].to_numpy() != theirs[column].to_numpy())
        if len(differ):
            k = int(differ[0])
            return f"trade {k + 1}: {column} {ours[column].iloc[k]} in the replay, {theirs[column].iloc[k]} in the run"
    for column in ("quantity", "pnl"):
        mine, run = ours[column].to_numpy() * growth, theirs[column].to_numpy()
        close = np.isclose(mine, run, rtol=_MATCH_RTOL, atol=0.0)
        if not close.all():
            k = int(np.flatnonzero(~close)[0])
            return f"trade {k + 1}: {column} {mine[k]!r} in the replay, {run[k]!r} in the run"
    return None


def _periods_per_year(spec: Strategy, index: pd.DatetimeIndex) -> float:
    """Bars per year as the run measured them: from every loaded bar (``backtest.calendar: auto``), else the
    named calendar's."""
    if spec.backtest.calendar == "auto":
        return backtest.observed_periods_per_year(index)
    return backtest.periods_per_year(spec.data.timeframe, calendar=spec.backtest.calendar)


def _in_sample(documents: dict[str, Any], start: pd.Timestamp) -> tuple[pd.Timestamp | None, bool]:
    """When the model's training data ends, and whether a window starting at ``start`` is in sample (said)."""
    trained_until = _trained_until(documents)
    in_sample = trained_until is not None and start <= trained_until
    if in_sample:
        assert trained_until is not None
        log.warning(
            "the window starts %s, before the end of the data this model was trained and stopped on (%s): "
            "these numbers are in sample, not an out-of-sample test",
            start.date(),
            trained_until.date(),
        )
    return trained_until, in_sample


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
