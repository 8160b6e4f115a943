"""A universe: one model trained on the samples of every symbol, traded as one shared-cash portfolio.

The stages are those of one symbol, run per symbol where they read one history (bars, indicators, labels, the
decision context) and pooled where they learn (one time axis, one scaler, one network, one set of baselines):

1. each symbol's bars, features and labels on its own history; the cross-section at each bar from that bar only;
2. the samples stacked symbol by symbol into one array (a sequence model's windows never straddle two symbols);
3. the splits cut on the union time axis, purged and embargoed in time for every symbol (``splits.pooled_splits``);
4. per fold: the scaler fitted on the training rows of all symbols (or of each symbol), the network and the
   baselines trained on them, batches mixing symbols;
5. each symbol's test window traded by the same rules as alone (``FoldTrader``), then all symbols' decisions
   through one shared-cash portfolio beside an equal-weight buy-and-hold of the universe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from neurotrade import backtest, data, labels
from neurotrade._folds import (
    BASELINES,
    CLASSES,
    Fold,
    FoldTrader,
    ProgressCallback,
    ProgressEvent,
    Trading,
    _baselines,
    _deflated,
    _horizon,
    _outputs,
    _readout,
    _signal_counts,
    _tested,
    _up_down_pct,
    evaluate,
    fit_network,
    fold_class_weights,
    neighbours_known,
    network_lookback,
    out_of_sample,
    scored_rows,
)
from neurotrade._resume import split_record
from neurotrade._stages import decision_context, fold_targets, load_universe, make_labels, make_splits, regime_targets
from neurotrade.config import Strategy
from neurotrade.errors import ConfigError, DataError, FeatureError, SplitError
from neurotrade.features import (
    FeatureCache,
    Standardizer,
    add_universe_features,
    build_features,
    compute_indicator_panels,
)
from neurotrade.splits import PooledSplit, Split, pooled_splits
from neurotrade.training import classification_metrics, collapse_warnings

log = logging.getLogger(__name__)

PORTFOLIOS = ("strategy", "buy_and_hold", *BASELINES)


@dataclass
class UniverseData:
    """Every symbol's bars, features, labels and decision context, and the samples stacked into one array.

    ``frame`` and ``table`` hold the samples of every symbol, symbol by symbol (``blocks[s]`` is symbol ``s``'s
    slice), indexed by sample time (repeating across symbols); ``frames[s]`` and ``tables[s]`` are views of
    them, so the feature matrix exists once.
    """

    symbols: list[str]
    bars: dict[str, pd.DataFrame]
    frame: pd.DataFrame
    table: pd.DataFrame
    blocks: dict[str, slice]
    contexts: dict[str, pd.DataFrame]
    resolved_features: list[str]
    warmup_bars: int
    repairs: list[str] = field(default_factory=list)

    def times(self, symbol: str) -> pd.DatetimeIndex:
        """The sample times of ``symbol``."""
        return pd.DatetimeIndex(self.frame.index[self.blocks[symbol]])

    @property
    def symbol_of_row(self) -> np.ndarray:
        """The position in ``symbols`` of every stacked sample's symbol."""
        out = np.empty(len(self.frame), dtype=np.int64)
        for j, s in enumerate(self.symbols):
            out[self.blocks[s]] = j
        return out


def load_universe_data(spec: Strategy, home: Path, say: ProgressCallback) -> UniverseData:
    """Load, featurise and label every symbol of the spec's universe, and stack the samples."""
    repairs: list[str] = []
    bars = load_universe(spec.data, home=home, seed=spec.seed, on_repair=lambda r: repairs.append(r.message))
    symbols = list(bars)
    say(ProgressEvent("features", f"computing {len(spec.indicators)} indicators on {len(symbols)} symbols"))
    cache = FeatureCache(home)
    frames: dict[str, pd.DataFrame] = {}
    warmup = 0
    raw: dict[str, pd.DataFrame] = {}

    def build(symbol: str) -> Callable[[pd.DataFrame, Strategy], Any]:
        def from_panel(symbol_bars: pd.DataFrame, symbol_spec: Strategy) -> Any:
            if not raw:  # the first symbol not cached: every symbol's indicators at once, in parallel
                raw.update(compute_indicator_panels(bars, spec.indicators, spec.indicators_device))
            return build_features(symbol_bars, symbol_spec, raw=raw[symbol])

        return from_panel

    for symbol in symbols:
        try:
            built = cache.load_or_build(bars[symbol], _one_symbol(spec, symbol), build(symbol))
        except (DataError, FeatureError) as error:
            raise type(error)(f"universe symbol {symbol}: {error}") from error
        frames[symbol] = built.frame
        warmup = max(warmup, built.warmup_bars)
    raw.clear()
    frames = add_universe_features(frames, spec)
    say(ProgressEvent("labels", f"labelling ({spec.labels.type}) {len(symbols)} symbols"))
    tables = {s: make_labels(bars[s], spec).loc[frames[s].index] for s in symbols}
    contexts = {s: decision_context(bars[s], spec) for s in symbols}
    sizes = np.cumsum([0] + [len(frames[s]) for s in symbols])
    blocks = {s: slice(int(sizes[j]), int(sizes[j + 1])) for j, s in enumerate(symbols)}
    frame = pd.concat([frames[s] for s in symbols])
    table = pd.concat([tables[s] for s in symbols])
    del frames, tables  # the stacked arrays are the only copy from here on
    return UniverseData(
        symbols=symbols,
        bars=bars,
        frame=frame,
        table=table,
        blocks=blocks,
        contexts=contexts,
        resolved_features=list(frame.columns),
        warmup_bars=warmup,
        repairs=repairs,
    )


def _one_symbol(spec: Strategy, symbol: str) -> Strategy:
    """The spec as if it named ``symbol`` alone: what its features (and their cache entry) are computed with."""
    from neurotrade._stages import symbol_spec

    return spec.model_copy(update={"data": symbol_spec(spec.data, symbol)})


def universe_splits(u: UniverseData, spec: Strategy) -> list[PooledSplit]:
    """The spec's splits over the universe's shared time axis (see :func:`neurotrade.splits.pooled_splits`)."""
    times = pd.DatetimeIndex(u.frame.index)
    return pooled_splits(times, u.table["t1"], lambda union, t1: make_splits(union, t1, spec))


@dataclass
class PooledFold:
    """One fold of a universe: the pooled model and its diagnostics, and each symbol's own fold record (its
    decisions and backtests, for the per-symbol metrics and the portfolio)."""

    index: int
    split: PooledSplit
    model: torch.nn.Module
    scalers: dict[str, Standardizer]
    quantiles: labels.QuantileClasses | None
    training: Any
    classification: dict[str, Any]
    y: np.ndarray
    symbols: dict[str, Fold]
    decisions: dict[str, float]
    warnings: list[str]
    readout: dict[str, Any]
    test_rows: np.ndarray


def train_pooled_fold(
    index: int,
    split: PooledSplit,
    u: UniverseData,
    spec: Strategy,
    *,
    seed: int,
    say: ProgressCallback,
    checkpoints: Path | None,
    resume: bool,
    identity: dict[str, Any],
    per_year: float,
) -> PooledFold:
    """Fit one fold on the training samples of every symbol, then trade each symbol's test window."""
    rows = split.rows
    y, quantiles = fold_targets(u.table, rows)
    x, scalers = _scale(u, rows.train, spec)
    lookback = network_lookback(spec, x.shape[1], seed)
    first = lookback - 1
    offset = _offset_in_symbol(u)
    train, val, test = (r[offset[r] >= first] for r in (rows.train, rows.validation, rows.test))
    for name, chosen in (("training", train), ("validation", val)):
        if not len(chosen):
            raise SplitError(f"fold {index + 1}: no {name} samples in any symbol; use more data or fewer folds")
    weights = fold_class_weights(y[train], u.table) if spec.training.class_weights == "balanced" else None
    outcomes = {
        key: np.concatenate(
            [regime_targets(u.bars[s], u.times(s), u.table["t1"].iloc[u.blocks[s]])[key] for s in u.symbols]
        )
        for key in ("ret", "vol")
    }
    model, training = fit_network(
        index,
        spec,
        x,
        y,
        train,
        val,
        seed=seed,
        say=say,
        extras=outcomes,
        quantiles=quantiles,
        weights=weights,
        checkpoints=checkpoints,
        resume=resume,
        identity={**identity, "split": split_record(rows)},
    )
    decided = _up_down_pct(outcomes["ret"], y, train)
    decided["horizon"] = _pooled_horizon(u, train)
    symbols: dict[str, Fold] = {}
    proba_all = np.full((len(x), len(CLASSES)), np.nan)
    for s in u.symbols:
        block = u.blocks[s]
        fold = _symbol_fold(index, split, u, s, spec, model, x[block], y[block], first, per_year, decided)
        if fold is None:
            continue
        fold.scaler = scalers.get(s, scalers.get("*"))  # type: ignore[assignment]
        fold.quantiles = quantiles
        fold.training = training
        proba_all[block] = fold.outputs["proba"]
        symbols[s] = fold
    if not symbols:
        raise SplitError(f"fold {index + 1}: no symbol has bars to trade in its test window")
    # The baselines score only the rows some symbol trades or is tested on (a kNN query costs its neighbours).
    wanted = np.unique(
        np.concatenate(
            [
                u.blocks[s].start + np.union1d(f.split.times.get_indexer(f.window), f.split.test[f.split.test >= first])
                for s, f in symbols.items()
            ]
        )
    )
    known, also = neighbours_known(u.table["t1"], split.time, val)
    baseline_proba = _baselines(x, y, pd.DatetimeIndex(u.frame.index), known, train, also, 0, rows=wanted)
    for s, fold in symbols.items():
        block = u.blocks[s]
        fold.baselines = {
            name: _trade_symbol(fold, p[block], u, s, spec, per_year, decided) for name, p in baseline_proba.items()
        }
    # The symbols traded in this fold; one with no bar in its window (delisted before it) is not scored.
    scored = {
        name: r[np.isfinite(proba_all[r]).all(axis=1)]
        for name, r in (("train", train), ("validation", val), ("test", test))
    }
    scored_test = scored["test"]
    classification = {
        name: classification_metrics(y[r].astype(np.int64), proba_all[r], CLASSES) for name, r in scored.items()
    }
    warnings = collapse_warnings(
        y[scored_test].astype(np.int64),
        proba_all[scored_test],
        x[scored_test],
        class_names=CLASSES,
        feature_names=u.resolved_features,
    )
    for warning in warnings:
        log.warning("fold %d: %s", index + 1, warning)
    readout = _readout(
        model, x, val, test, np.arange(0), pd.DatetimeIndex(u.frame.index), y, proba_all, u.resolved_features, seed
    )
    return PooledFold(
        index=index,
        split=split,
        model=model,
        scalers=scalers,
        quantiles=quantiles,
        training=training,
        classification=classification,
        y=y,
        symbols=symbols,
        decisions=decided,
        warnings=warnings,
        readout=readout,
        test_rows=scored_test,
    )


def _pooled_horizon(u: UniverseData, train: np.ndarray) -> float:
    """The average bars from a training sample to its label's end, over the training samples of every symbol."""
    total, count = 0.0, 0
    for s in u.symbols:
        block = u.blocks[s]
        mine = train[(train >= block.start) & (train < block.stop)] - block.start
        if len(mine):
            total += _horizon(u.table.iloc[block], mine) * len(mine)
            count += len(mine)
    return total / count if count else 1.0


def _scale(u: UniverseData, train: np.ndarray, spec: Strategy) -> tuple[np.ndarray, dict[str, Standardizer]]:
    """The standardised feature matrix: statistics of the training rows of every symbol together (``*``), or of
    each symbol's own training rows (``nn_inputs.scaling: per_symbol``); never of a later row."""
    values = u.frame.to_numpy(dtype=np.float64)
    if spec.nn_inputs.scaling == "pooled":
        scaler = Standardizer(u.resolved_features).fit(values[train])
        return scaler.transform(values), {"*": scaler}
    x = np.empty_like(values)
    scalers = {}
    for s in u.symbols:
        block = u.blocks[s]
        mine = train[(train >= block.start) & (train < block.stop)]
        if len(mine) < 2:
            raise ConfigError(
                f"nn_inputs.scaling: per_symbol needs training rows of every symbol, and {s} has {len(mine)} in a "
                "fold; use scaling: pooled, or symbols with a longer history"
            )
        scalers[s] = Standardizer(u.resolved_features).fit(values[mine])
        x[block] = scalers[s].transform(values[block])
    return x, scalers


def _offset_in_symbol(u: UniverseData) -> np.ndarray:
    """Each stacked sample's position within its own symbol's samples (a window model needs ``lookback - 1``
    earlier rows of the same symbol)."""
    out = np.empty(len(u.frame), dtype=np.int64)
    for s in u.symbols:
        block = u.blocks[s]
        out[block] = np.arange(block.stop - block.start)
    return out


def symbol_split(split: PooledSplit, u: UniverseData, symbol: str) -> Split | None:
    """One symbol's view of a pooled fold: its own samples in each window (positions in its block) and the fold's
    trading window in its bar times; None when it has no bar in that window."""
    block = u.blocks[symbol]
    times = u.times(symbol)
    union = split.time.times

    def local(rows: np.ndarray) -> np.ndarray:
        return rows[(rows >= block.start) & (rows < block.stop)] - block.start

    start = int(times.searchsorted(union[split.time.trading_start], side="left"))
    if split.time.trading_end is None:
        end = len(times) - 1
    else:
        end = int(times.searchsorted(union[split.time.trading_end], side="right")) - 1
    if start > end:
        return None
    return Split(
        train=local(split.rows.train),
        validation=local(split.rows.validation),
        test=local(split.rows.test),
        starts={},
        trading_start=start,
        purged=split.time.purged,
        embargoed=split.time.embargoed,
        times=times,
        trading_end=None if split.time.trading_end is None else end,
    )


def _symbol_fold(
    index: int,
    split: PooledSplit,
    u: UniverseData,
    symbol: str,
    spec: Strategy,
    model: torch.nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    first: int,
    per_year: float,
    decided: dict[str, float],
) -> Fold | None:
    """The pooled model's outputs on one symbol's rows, traded over the fold's window by the spec's rules."""
    mine = symbol_split(split, u, symbol)
    if mine is None:
        return None
    times = mine.times
    scored = scored_rows(mine, first, len(times))
    if not len(scored):
        return None
    upto = max([int(scored.max()) + 1, *(int(r.max()) + 1 for r in (mine.train, mine.validation, mine.test) if len(r))])
    valid = np.arange(first, max(upto, first))
    outputs = _outputs(model, x, valid, len(times), spec)
    ret_vol = regime_targets(u.bars[symbol], times, u.table["t1"].iloc[u.blocks[symbol]])
    outputs |= {"realised_return": ret_vol["ret"], "realised_vol": ret_vol["vol"]}
    trader = FoldTrader(spec, u.bars[symbol], times, u.contexts[symbol], per_year, **decided)
    test = mine.test[mine.test >= first]
    network = trader.trade(outputs["proba"], outputs, scored)
    network.classification = classification_metrics(y[test].astype(np.int64), outputs["proba"][test], CLASSES)
    return Fold(
        index=index,
        split=mine,
        model=model,
        scaler=None,  # type: ignore[arg-type]  # set by the caller
        quantiles=None,
        y=y,
        training=None,  # type: ignore[arg-type]
        classification={"test": network.classification},
        window=times[scored],
        network=network,
        benchmark=trader.benchmark(scored),
        warnings=[],
        outputs=outputs,
        decisions=decided,
    )


def _trade_symbol(
    fold: Fold, proba: np.ndarray, u: UniverseData, symbol: str, spec: Strategy, per_year: float, decided: dict
) -> Trading:
    """A baseline's probabilities on one symbol traded over the symbol's fold window, as the network's are."""
    times = fold.split.times
    trader = FoldTrader(spec, u.bars[symbol], times, u.contexts[symbol], per_year, **decided)
    rows = times.get_indexer(fold.window)
    trading = trader.trade(proba, {}, rows)
    test = fold.split.test[np.isin(fold.split.test, rows)]
    trading.classification = classification_metrics(fold.y[test].astype(np.int64), proba[test], CLASSES)
    return trading


# --- the portfolio -----------------------------------------------------------------------------------------------


@dataclass
class Portfolio:
    """The universe's out-of-sample portfolios (strategy, equal-weight buy-and-hold, the baselines), the folds'
    windows chained; with which fold decided each bar, and the targets each symbol was given."""

    results: dict[str, backtest.PortfolioResult]
    fold_of_bar: np.ndarray
    targets: dict[str, pd.DataFrame]
    fraction: float


def position_fraction(spec: Strategy, n_symbols: int) -> float:
    """The share of the equity a new position takes: ``portfolio.max_position_pct``, else an equal share of
    ``backtest.fraction`` (per symbol, or per position ``top_k`` can hold).

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\ndata: {symbols: [A, B, C, D]}\\nindicators: {rsi_14: {}}\\n"
    ...                       "nn_inputs: {indicators: [rsi_14]}\\n")
    >>> position_fraction(spec, 4)
    0.25
    """
    p = spec.portfolio
    if p.max_position_pct is not None:
        return p.max_position_pct / 100.0
    if p.selection == "top_k":
        held = min(p.top_k, n_symbols) * (2 if spec.decisions.allow_short else 1)
        return spec.backtest.fraction / max(held, 1)
    return spec.backtest.fraction / n_symbols


def trade_portfolio(folds: list[PooledFold], u: UniverseData, spec: Strategy) -> Portfolio:
    """Every symbol's decisions through one shared-cash account, fold by fold (each window starts flat), beside
    an equal-weight buy-and-hold of the universe and the baselines' decisions through the same account."""
    bt = spec.backtest
    costs = backtest.CostModel(bt.commission_pct, bt.commission_fixed, bt.slippage_pct)
    fraction = position_fraction(spec, len(u.symbols))
    # The benchmark is always the universe held in equal shares, whatever top_k or the position cap allow.
    held_equally = bt.fraction / len(u.symbols)
    per_fold: dict[str, list[backtest.PortfolioResult]] = {name: [] for name in PORTFOLIOS}
    targets_by: dict[str, list[pd.DataFrame]] = {name: [] for name in PORTFOLIOS}
    fold_of_bar = []
    for fold in folds:
        window = _window_times(fold)
        aligned = {s: u.bars[s].reindex(window) for s in u.symbols}  # NaN where a symbol has no bar: never filled
        for name in PORTFOLIOS:
            targets, sizes = _portfolio_targets(fold, name, window, u, spec)
            result = backtest.simulate_portfolio(
                aligned,
                {s: targets[s].to_numpy() for s in u.symbols},
                fraction=held_equally if name == "buy_and_hold" else fraction,
                costs=costs,
                initial_cash=bt.initial_cash,
                size=None if sizes is None else {s: sizes[s].to_numpy() for s in u.symbols},
            )
            per_fold[name].append(result)
            targets_by[name].append(targets)
        fold_of_bar.append(np.full(len(window), fold.index + 1))
    return Portfolio(
        results={name: backtest.chain_portfolios(results) for name, results in per_fold.items()},
        fold_of_bar=np.concatenate(fold_of_bar),
        targets={name: pd.concat(frames) for name, frames in targets_by.items()},
        fraction=fraction,
    )


def _window_times(fold: PooledFold) -> pd.DatetimeIndex:
    """The union of the symbols' traded bars in the fold's window."""
    window = None
    for f in fold.symbols.values():
        window = f.window if window is None else window.union(f.window)
    assert window is not None
    return window


def _portfolio_targets(
    fold: PooledFold, name: str, window: pd.DatetimeIndex, u: UniverseData, spec: Strategy
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The target position of every symbol at every bar of the window (0 where it has no bar), and the entry
    sizes the rules gave (None: the fixed fraction)."""
    targets = pd.DataFrame(0, index=window, columns=u.symbols, dtype=np.int64)
    if name == "buy_and_hold":
        for s, f in fold.symbols.items():
            targets.loc[f.window, s] = 1
        return targets, None
    trading = {s: (f.network if name == "strategy" else f.baselines[name]) for s, f in fold.symbols.items()}
    if spec.portfolio.selection == "top_k":
        scores = np.full((len(u.symbols), len(window)), np.nan)
        for j, s in enumerate(u.symbols):
            if s in trading:
                p = trading[s].proba
                at = window.get_indexer(fold.symbols[s].window)
                scores[j, at] = p[:, labels.BUY] - p[:, labels.SELL]
        chosen = backtest.top_k_targets(scores, spec.portfolio.top_k, allow_short=spec.decisions.allow_short)
        return pd.DataFrame(chosen.T, index=window, columns=u.symbols), None
    sizes = pd.DataFrame(0.0, index=window, columns=u.symbols)
    for s, t in trading.items():
        at = fold.symbols[s].window
        targets.loc[at, s] = t.targets
        sizes.loc[at, s] = t.trace["size"].astype(np.float64) if "size" in t.trace else 1.0
    return targets, sizes


# --- metrics -----------------------------------------------------------------------------------------------------


def universe_metrics(
    folds: list[PooledFold],
    portfolio: Portfolio,
    u: UniverseData,
    spec: Strategy,
    per_year: float,
    *,
    trials: int,
    trials_source: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run's metrics (the portfolio's in ``aggregate``, each symbol's in ``symbols``, the pooled folds in
    ``folds``) and each symbol's out-of-sample record (for the run folder)."""
    results = portfolio.results
    strategy = results["strategy"]
    bench = results["buy_and_hold"]
    per_symbol: dict[str, Any] = {}
    outcomes: dict[str, Any] = {}
    for s in u.symbols:
        mine = [f.symbols[s] for f in folds if s in f.symbols]
        if not mine:
            continue
        # A symbol alone is annualised on its own calendar (a stock that trades fewer days than the union of
        # the universe's stamps would otherwise look more volatile and more profitable per year than it is).
        own = symbol_periods_per_year(u, spec, s, per_year)
        outcome = out_of_sample(mine, own)
        outcomes[s] = outcome
        per_symbol[s] = evaluate(mine, own, trials=trials, trials_source=trials_source, outcome=outcome)["aggregate"]
        per_symbol[s]["contribution"] = _contribution(strategy, s)
    y_test, proba_test = _pooled_test(folds)
    baselines = {}
    for name in BASELINES:
        p = np.concatenate(
            [
                f.symbols[s]
                .baselines[name]
                .proba[f.symbols[s].window.get_indexer(f.symbols[s].split.times[_tested(f.symbols[s])])]
                for f in folds
                for s in f.symbols
            ]
        )
        baselines[name] = {
            "classification": classification_metrics(y_test, p, CLASSES),
            "strategy": backtest.performance(results[name], periods_per_year=per_year),
        }
    signals = {k: sum(per_symbol[s]["signals"][k] for s in per_symbol) for k in CLASSES}
    warnings = [f"fold {f.index + 1}: {w}" for f in folds for w in f.warnings]
    hugging = _hugging(strategy, bench, u)
    if hugging["warning"]:
        warnings.append(hugging["warning"])
    window = strategy.equity.index
    aggregate: dict[str, Any] = {
        "window": {"first": window[0].isoformat(), "last": window[-1].isoformat()},
        "periods_per_year": per_year,
        "test_samples": len(y_test),
        "classification": classification_metrics(y_test, proba_test, CLASSES),
        "signals": signals,
        "strategy": {
            **backtest.performance(strategy, periods_per_year=per_year),
            "deflated_sharpe_excess": _deflated(strategy.equity, trials, benchmark=bench.equity),
            "deflated_sharpe_absolute": _deflated(strategy.equity, trials),
            "trials": trials,
            "trials_source": trials_source,
        },
        "buy_and_hold": backtest.performance(bench, periods_per_year=per_year),
        "baselines": baselines,
        "warnings": warnings,
        "universe": {
            "symbols": u.symbols,
            "traded": list(per_symbol),
            "selection": spec.portfolio.selection,
            "position_fraction": portfolio.fraction,
            "exposure": hugging["exposure"],
            "correlation_with_buy_and_hold": hugging["correlation"],
            "buy_and_hold": "equal weight: each symbol bought with an equal share of the equity at its first bar",
        },
    }
    per_fold = []
    offset = 0
    for f, n in zip(folds, _fold_lengths(portfolio), strict=True):
        bars = slice(offset, offset + n)
        offset += n
        entry = {
            "fold": f.index + 1,
            "window": {"first": window[bars][0].isoformat(), "last": window[bars][-1].isoformat()},
            "split": f.split.summary(),
            "symbols": len(f.symbols),
            "training": {
                "best_epoch": f.training.best_epoch,
                "stopped_early": f.training.stopped_early,
                "history": f.training.history,
            },
            "classification": f.classification,
            "labels": {
                name: labels.class_balance(pd.Series(f.y[rows]))
                for name, rows in (
                    ("train", f.split.rows.train),
                    ("validation", f.split.rows.validation),
                    ("test", f.split.rows.test),
                )
            },
            "signals": {k: sum(_signal_counts(sf.network.signals)[k] for sf in f.symbols.values()) for k in CLASSES},
            "strategy": _window_performance(strategy, bars, per_year),
            "buy_and_hold": _window_performance(bench, bars, per_year),
            "baselines": {name: _window_performance(results[name], bars, per_year) for name in BASELINES},
            "decisions": f.decisions,
            "warnings": f.warnings,
        }
        per_fold.append(entry)
    return {"aggregate": aggregate, "folds": per_fold, "symbols": per_symbol}, outcomes


def symbol_periods_per_year(u: UniverseData, spec: Strategy, symbol: str, union: float) -> float:
    """The periods per year that annualise one symbol's own metrics: measured on its bars when the calendar is
    ``auto`` (the portfolio's ``union`` is measured on every symbol's bars together), else the spec's calendar."""
    if spec.backtest.calendar != "auto":
        return union
    return backtest.observed_periods_per_year(u.bars[symbol].index)


def _fold_lengths(portfolio: Portfolio) -> list[int]:
    values, counts = np.unique(portfolio.fold_of_bar, return_counts=True)
    return [int(c) for _, c in sorted(zip(values, counts, strict=True))]


def _window_performance(result: backtest.PortfolioResult, bars: slice, per_year: float) -> dict[str, Any]:
    """The performance of one fold's stretch of a chained portfolio, measured from the equity it started with."""
    equity = result.equity.iloc[bars]
    start = float(result.equity.iloc[bars.start - 1]) if bars.start > 0 else result.initial_cash
    scale = result.initial_cash / start if start > 0 else 1.0
    # Cash amounts (and so the units bought with them) are as if the fold had started from the initial cash;
    # prices and returns are what they were.
    first, last = equity.index[0], equity.index[-1]
    trades = result.trades[result.trades["entry_time"].between(first, last)].copy()
    trades[["pnl", "costs", "quantity"]] *= scale
    fills = result.fills[result.fills["time"].between(first, last)].copy()
    fills[["quantity", "commission"]] *= scale
    piece = backtest.PortfolioResult(
        equity=equity * scale,
        cash=result.cash.iloc[bars] * scale,
        positions=result.positions.iloc[bars] * scale,
        trades=trades,
        fills=fills,
        initial_cash=result.initial_cash,
        fill=result.fill,
        costs=result.costs,
    )
    return backtest.performance(piece, periods_per_year=per_year)


def _pooled_test(folds: list[PooledFold]) -> tuple[np.ndarray, np.ndarray]:
    """The labelled test samples every symbol's model scored, with their probabilities, over all folds."""
    ys, ps = [], []
    for f in folds:
        for sf in f.symbols.values():
            rows = _tested(sf)
            ys.append(sf.y[rows])
            ps.append(sf.network.proba[sf.window.get_indexer(sf.split.times[rows])])
    return np.concatenate(ys).astype(np.int64), np.concatenate(ps)


def _contribution(result: backtest.PortfolioResult, symbol: str) -> dict[str, Any]:
    """What one symbol added to the portfolio: its trades' P&L, in cash and in percent of the initial cash."""
    mine = result.trades[result.trades["symbol"] == symbol]
    pnl = float(mine["pnl"].sum())
    return {"trades": len(mine), "pnl": pnl, "pnl_pct": 100.0 * pnl / result.initial_cash}


def exposure(result: backtest.PortfolioResult, bars: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each symbol's position value over the equity at every close of the portfolio (signed; a missing bar is
    valued at the symbol's last close: the mark, not a trade)."""
    index = result.equity.index
    values = {}
    for s in result.positions.columns:
        close = bars[s]["close"].reindex(index).ffill()  # valuation only: a held position keeps its last mark
        values[s] = result.positions[s].to_numpy() * close.to_numpy()
    frame = pd.DataFrame(values, index=index).fillna(0.0)
    return frame.div(result.equity.to_numpy(), axis=0)


def _hugging(strategy: backtest.PortfolioResult, bench: backtest.PortfolioResult, u: UniverseData) -> dict[str, Any]:
    """How much of the time the portfolio is invested, and how closely it follows equal-weight buy-and-hold: a
    model that holds everything long all the time is buy-and-hold with costs, whatever its Sharpe ratio says."""
    gross = exposure(strategy, u.bars).abs().sum(axis=1)
    net = exposure(strategy, u.bars).sum(axis=1)
    mine = strategy.equity.pct_change().iloc[1:].to_numpy()
    theirs = bench.equity.pct_change().iloc[1:].to_numpy()
    ok = np.isfinite(mine) & np.isfinite(theirs)
    corr = None
    if ok.sum() > 2 and mine[ok].std() > 0 and theirs[ok].std() > 0:
        corr = float(np.corrcoef(mine[ok], theirs[ok])[0, 1])
    bench_gross = exposure(bench, u.bars).abs().sum(axis=1)
    out = {
        "exposure": {
            "mean_gross": float(gross.mean()),
            "mean_net": float(net.mean()),
            "buy_and_hold_mean_gross": float(bench_gross.mean()),
        },
        "correlation": corr,
        "warning": None,
    }
    if corr is not None and corr > 0.9 and gross.mean() > 0.8 * bench_gross.mean():
        out["warning"] = (
            f"the portfolio hugs its benchmark: invested {100 * gross.mean():.0f} % of the equity on average "
            f"(buy-and-hold: {100 * bench_gross.mean():.0f} %), its returns correlate {corr:.2f} with equal-weight "
            "buy-and-hold; judge it by the excess over buy-and-hold, not by its own Sharpe ratio"
        )
    return out


# --- the run -----------------------------------------------------------------------------------------------------


def pooled_fold_summary(fold: PooledFold, per_year: float) -> dict[str, Any]:
    """One pooled fold in a few numbers, for a search to stop a trial early: the pooled classifier's test log
    loss and accuracy, and the symbols' mean Sharpe ratio (alone, whole equity) beside their buy-and-holds'.
    The run's own portfolio metrics come only once every fold is done."""
    from neurotrade.pipeline import _summary

    mine = [backtest.performance(f.network.result, periods_per_year=per_year) for f in fold.symbols.values()]
    held = [backtest.performance(f.benchmark.result, periods_per_year=per_year) for f in fold.symbols.values()]

    def mean(rows: list[dict[str, Any]], key: str) -> float | None:
        values = [r[key] for r in rows if r.get(key) is not None]
        return float(np.mean(values)) if values else None

    keys = ("sharpe", "total_return")
    return _summary(
        {k: mean(mine, k) for k in keys}, {k: mean(held, k) for k in keys}, fold.classification.get("test", {})
    )


def run_universe(
    spec: Strategy,
    home: Path,
    tally: Any,
    resume: bool,
    on_fold: Callable[[int, dict[str, Any]], None] | None = None,
    workers: int = 1,
    address: str | None = None,
) -> Any:
    """``neurotrade.run`` for a universe: the stages above, then the bundle and the run folder."""
    from neurotrade import pipeline
    from neurotrade._parallel import train_folds
    from neurotrade._resume import claim_checkpoints, run_identity
    from neurotrade.report import write_report
    from neurotrade.store import save_bundle
    from neurotrade.training import summarize_seeds

    say = tally.say
    say(ProgressEvent("data", f"loading {spec.data.instrument} bars ({spec.data.source}, {spec.data.timeframe})"))
    u = load_universe_data(spec, home, say)
    say(ProgressEvent("split", f"splitting ({spec.split.method}) on one time axis for {len(u.symbols)} symbols"))
    fold_splits = universe_splits(u, spec)
    bt = spec.backtest
    if bt.calendar == "auto":  # every loaded bar of every symbol measures the market's calendar
        union = u.bars[u.symbols[0]].index
        for s in u.symbols[1:]:
            union = union.union(u.bars[s].index)
        per_year = backtest.observed_periods_per_year(union)
    else:
        per_year = backtest.periods_per_year(spec.data.timeframe, calendar=bt.calendar)
    seeds = list(spec.training.seeds or [spec.seed])
    networks = 1 + len(getattr(spec.model, "members", None) or [])
    tally.total = len(seeds) * len(fold_splits) * networks * spec.training.epochs
    dataset = universe_fingerprint(u)
    spec_json = spec.model_dump(mode="json")
    identity = {"data": dataset, "features": u.resolved_features, "symbols": u.symbols}
    claimed = claim_checkpoints(
        home / "checkpoints" / spec.name,
        run_identity(spec_json, dataset, u.resolved_features, [f.rows for f in fold_splits]),
        resume=resume,
    )
    # The ledger's key ignores the order the symbols are listed in: the same bars in another order are no new data.
    instrument = f"{spec.data.source}:{','.join(sorted(u.symbols))} {spec.data.timeframe}"
    try:
        trials, trials_source = pipeline.count_trials(
            home, universe_dataset_key(u), spec_json, spec.name, stated=bt.trials, instrument=instrument
        )
        runs = []
        trained = None
        if workers > 1:  # every (seed, fold) on Ray at once; the loop below then only takes them in order
            trained = train_folds(
                train_pooled_fold,
                fold_splits,
                seeds,
                shared={"u": u, "spec": spec},
                common={"resume": claimed.resumed, "identity": identity, "per_year": per_year},
                checkpoints=claimed.path,
                workers=workers,
                address=address,
                tally=tally,
                per_job=networks * spec.training.epochs,
                on_fold=None if on_fold is None else lambda k, fold: on_fold(k, pooled_fold_summary(fold, per_year)),
            )
        for seed in seeds:
            folds: list[PooledFold] = []
            for k, split in enumerate(fold_splits):
                if trained is not None:
                    folds.append(trained[seed, k])
                    continue
                say(
                    ProgressEvent(
                        "train",
                        f"seed {seed}, fold {k + 1}/{len(fold_splits)}: training on {len(split.rows.train)} samples "
                        f"of {len(u.symbols)} symbols",
                    )
                )
                folds.append(
                    train_pooled_fold(
                        k,
                        split,
                        u,
                        spec,
                        seed=seed,
                        say=say,
                        checkpoints=claimed.path / f"seed{seed}",
                        resume=claimed.resumed,
                        identity=identity,
                        per_year=per_year,
                    )
                )
                tally.done = (seeds.index(seed) * len(fold_splits) + k + 1) * networks * spec.training.epochs
                if on_fold is not None and seed == seeds[0]:
                    on_fold(k + 1, pooled_fold_summary(folds[-1], per_year))
            say(ProgressEvent("evaluate", f"seed {seed}: trading the universe's portfolio"))
            portfolio = trade_portfolio(folds, u, spec)
            metrics, outcomes = universe_metrics(
                folds, portfolio, u, spec, per_year, trials=trials, trials_source=trials_source
            )
            runs.append((folds, portfolio, metrics, outcomes))
    except BaseException:
        claimed.release()
        raise
    folds, portfolio, metrics, outcomes = runs[0]
    if claimed.resumed:
        resumed = pipeline._resumed_folds([(r[0], r[2]) for r in runs], seeds)  # type: ignore[arg-type]
        metrics["resumed"] = {"checkpoints": str(claimed.path), "folds": resumed}
    last = folds[-1]
    metrics["model"] = pipeline.describe_model(last.model, u.resolved_features, _as_fold(last), spec)
    if len(runs) > 1:
        metrics["seeds"] = {
            "seeds": seeds,
            "aggregate": summarize_seeds([pipeline._comparable(m["aggregate"]) for _, _, m, _ in runs]),
        }
    say(ProgressEvent("save", "writing the model bundle and the run folder"))
    documents = _documents(spec, u, last, folds, metrics, per_year, dataset, seeds[0])
    weights = {name: tensor.detach().cpu().contiguous() for name, tensor in last.model.state_dict().items()}
    ref = save_bundle(home / "models", spec.name, spec.data.timeframe, weights=weights, documents=documents)
    run_dir = home / "runs" / spec.name / ref.path.name
    trades = write_universe_folder(run_dir, ref, metrics, folds, portfolio, outcomes, u)
    say(ProgressEvent("report", "writing the HTML report"))
    write_report(run_dir, bundle_dir=ref.path)
    claimed.finish()
    return pipeline.RunResult(strategy=spec, bundle=ref, run_dir=run_dir, metrics=metrics, trades=trades)


def universe_fingerprint(u: UniverseData) -> str:
    """One fingerprint of every symbol's bars, in the universe's order (a different symbol set is other data)."""
    import hashlib

    digest = hashlib.sha256()
    for s in u.symbols:
        digest.update(f"{s}:{data.fingerprint(u.bars[s])};".encode())
    return digest.hexdigest()


def universe_dataset_key(u: UniverseData) -> str:
    """The trial ledger's name for a universe's data: every symbol's bars, whatever order they are listed in."""
    return data.universe_fingerprint(u.bars)


def _as_fold(fold: PooledFold) -> Fold:
    """The first symbol's fold record with the pooled readout: what ``describe_model`` reads."""
    first = next(iter(fold.symbols.values()))
    first.readout = fold.readout
    return first


def _documents(
    spec: Strategy,
    u: UniverseData,
    last: PooledFold,
    folds: list[PooledFold],
    metrics: dict[str, Any],
    per_year: float,
    dataset: str,
    seed: int,
) -> dict[str, Any]:
    """The bundle's documents: as for one symbol, with the universe's symbols, its scaler(s) and data."""
    from neurotrade import pipeline

    rows = np.union1d(last.split.rows.train, last.split.rows.validation)
    trained_until = pd.Timestamp(u.table["t1"].iloc[rows].max()).isoformat() if len(rows) else None
    pooled = last.scalers.get("*")
    documents: dict[str, Any] = {
        "spec": spec.model_dump(mode="json"),
        "features": {
            "timeframe": spec.data.timeframe,
            "timeframes": list(spec.nn_inputs.timeframes or [spec.data.timeframe]),
            "resolved_features": u.resolved_features,
            "warmup_bars": u.warmup_bars,
            "input_kind": getattr(last.model, "input_kind", "rows"),
            "lookback": int(getattr(last.model, "lookback", 1)),
            "heads": list(getattr(last.model, "heads", ())),
            "symbols": u.symbols,
        },
        "decisions": {**spec.decisions.model_dump(mode="json"), **last.decisions, "periods_per_year": per_year},
        # Pooled scaling: one scaler for every symbol; per_symbol: one each, under "scalers" (and "scaler" is
        # the first symbol's, so a reader that knows one scaler only still finds one of the right shape).
        "scaler": (pooled or next(iter(last.scalers.values()))).to_dict(),
        "labels": {
            **spec.labels.model_dump(mode="json"),
            "classes": list(labels.CLASS_NAMES),
            "quantiles": None if last.quantiles is None else last.quantiles.to_dict(),
        },
        "split": {
            **spec.split.model_dump(mode="json"),
            "folds": [f.split.summary() for f in folds],
            "trained_until": trained_until,
        },
        "data": {
            "symbol": u.symbols[0] if len(u.symbols) == 1 else None,
            "symbols": u.symbols,
            "source": spec.data.source,
            "timeframe": spec.data.timeframe,
            "rows": int(sum(len(b) for b in u.bars.values())),
            "first": min(b.index[0] for b in u.bars.values()).isoformat(),
            "last": max(b.index[-1] for b in u.bars.values()).isoformat(),
            "sha256": dataset,
            "per_symbol": {
                s: {
                    "rows": len(b),
                    "first": b.index[0].isoformat(),
                    "last": b.index[-1].isoformat(),
                    "sha256": data.fingerprint(b),
                }
                for s, b in u.bars.items()
            },
            "repairs": u.repairs,
        },
        "training": {
            "seed": seed,
            "device": last.training.device,
            "fold": last.index,
            "best_epoch": last.training.best_epoch,
            "best_val_loss": last.training.best_val_loss,
            "stopped_early": last.training.stopped_early,
            "history": last.training.history,
            "n_inputs": len(u.resolved_features),
            "n_classes": len(labels.CLASS_NAMES),
            "resumed": metrics.get("resumed"),
        },
        "environment": pipeline.environment(),
        "metrics": metrics,
    }
    if pooled is None:
        documents["scalers"] = {s: scaler.to_dict() for s, scaler in last.scalers.items()}
    return documents


def write_universe_folder(
    run_dir: Path,
    ref: Any,
    metrics: dict[str, Any],
    folds: list[PooledFold],
    portfolio: Portfolio,
    outcomes: dict[str, Any],
    u: UniverseData,
) -> pd.DataFrame:
    """metrics.json and the per-bar tables of a universe run.

    - ``trades.parquet``: the portfolio's trades (``symbol``, ``fold`` columns);
    - ``equity.parquet``: the portfolio's equity beside equal-weight buy-and-hold and the baselines' portfolios,
      its cash, gross exposure and fold;
    - ``exposure.parquet``: each symbol's position value over the equity at every close;
    - ``symbols.parquet``: each symbol traded alone (its own decisions, the whole equity): equity beside its
      buy-and-hold, long format (``symbol`` column);
    - ``decisions.parquet``: every symbol's decision trace (``symbol`` column) with its features.
    """
    import json
    import shutil

    if run_dir.exists():
        log.warning("clearing %s: it holds the files of an earlier run whose bundle is gone", run_dir)
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    summary = {"bundle": ref.name, "bundle_path": str(ref.path), **metrics}
    (run_dir / "metrics.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    strategy = portfolio.results["strategy"]
    index = strategy.equity.index
    fold_of_time = pd.Series(portfolio.fold_of_bar, index=index)
    trades = strategy.trades.assign(fold=fold_of_time.reindex(strategy.trades["entry_time"]).to_numpy())
    trades.to_parquet(run_dir / "trades.parquet")
    shares = exposure(strategy, u.bars)
    equity = {name: result.equity for name, result in portfolio.results.items()}
    equity |= {"cash": strategy.cash, "gross_exposure": shares.abs().sum(axis=1), "fold": fold_of_time}
    pd.DataFrame(equity).to_parquet(run_dir / "equity.parquet")
    shares.to_parquet(run_dir / "exposure.parquet")
    alone, traces = [], []
    for s, (record, _) in outcomes.items():
        result = record.network.result
        alone.append(
            pd.DataFrame({"symbol": s, "strategy": result.equity, "buy_and_hold": record.benchmark.result.equity})
        )
        network = record.network
        trace = pd.DataFrame(
            network.proba, index=result.equity.index, columns=[f"p_{name.lower()}" for name in CLASSES]
        )
        trace.insert(0, "symbol", s)
        trace["signal"] = [CLASSES[i] for i in network.signals]
        trace["target"] = network.targets
        for name, values in network.trace.items():
            trace[name] = values
        trace["portfolio_target"] = portfolio.targets["strategy"][s].reindex(trace.index).to_numpy()
        trace["fold"] = record.fold_of_bar
        block = u.frame.iloc[u.blocks[s]]
        traces.append(trace.join(block.loc[trace.index]))
    pd.concat(alone).to_parquet(run_dir / "symbols.parquet")
    pd.concat(traces).to_parquet(run_dir / "decisions.parquet")
    return trades
