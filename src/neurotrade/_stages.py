"""The stages of a run, each usable alone: bars, labels, splits, scaling, per-fold targets.

``pipeline.run`` and the leakage audit both call these, so the audit checks the code that runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurotrade import data, labels, splits
from neurotrade._workspace import resolve_home
from neurotrade.config import DataSpec, Strategy
from neurotrade.errors import ConfigError, DataError
from neurotrade.features import Standardizer
from neurotrade.splits import Split

log = logging.getLogger(__name__)


def load_bars(spec: DataSpec, *, home: Path, seed: int, on_repair: Callable[[Any], None] | None = None) -> pd.DataFrame:
    """The bars a ``data:`` section names, at its timeframe (resampled from a finer one when needed).

    Examples
    --------
    >>> bars = load_bars(DataSpec(source="synthetic", bars=500), home=Path("."), seed=1)
    >>> len(bars), list(bars.columns)
    (500, ['open', 'high', 'low', 'close', 'volume'])
    """
    if spec.source == "sample":
        bars = data.load_sample(spec.symbol, on_repair=on_repair)
    elif spec.source == "store":
        bars = _from_store(data.DataStore(home), spec.symbol, spec.timeframe)
    elif spec.source == "file":
        assert spec.path is not None  # the spec requires it
        bars = data.read_ohlcv(
            spec.path,
            symbol=spec.symbol,
            timezone=spec.timezone,
            repair=spec.repair,
            on_repair=on_repair,
            max_move=spec.max_move,
        )
    else:
        bars = data.synthetic_ohlcv(spec.bars, seed=seed, timeframe=spec.timeframe)
    found = data.infer_timeframe(bars)
    if found != spec.timeframe:
        if data.parse_timeframe(found).delta > data.parse_timeframe(spec.timeframe).delta:
            raise DataError(
                f"data.timeframe is {spec.timeframe} but the bars are {found}; neurotrade can aggregate to a "
                f"coarser timeframe, not invent finer bars. Use timeframe: {found} or finer source data"
            )
        log.info("resampling %s bars to %s", found, spec.timeframe)
        bars = data.resample(bars, spec.timeframe, incomplete=spec.incomplete, on_repair=on_repair)
    if spec.end is not None:  # every later stage sees a history that ends here (the search's locked holdout)
        end = pd.Timestamp(spec.end)
        bars = bars[bars.index < end]
        if len(bars) == 0:
            raise DataError(f"data.end {end.isoformat()} is before the first bar; nothing is left to load")
    return bars


def load_universe(
    spec: DataSpec, *, home: Path, seed: int, on_repair: Callable[[Any], None] | None = None
) -> dict[str, pd.DataFrame]:
    """The bars of every symbol of a universe, each on its own history (aligned by time later, never filled).

    Examples
    --------
    >>> bars = load_universe(DataSpec(source="synthetic", symbols=2, bars=400), home=Path("."), seed=1)
    >>> list(bars), [len(b) for b in bars.values()]
    (['S001', 'S002'], [400, 400])
    """
    symbols = data.universe_symbols(spec.symbols, spec.universe, home=home)
    out: dict[str, pd.DataFrame] = {}
    for position, symbol in enumerate(symbols):
        one = symbol_spec(spec, symbol)
        try:
            out[symbol] = load_bars(one, home=home, seed=data.symbol_seed(seed, position), on_repair=on_repair)
        except (DataError, ConfigError, OSError) as error:
            raise DataError(f"universe symbol {symbol}: {error}") from error
    return out


def symbol_spec(spec: DataSpec, symbol: str) -> DataSpec:
    """The ``data:`` section of one symbol of a universe (a file source's ``{symbol}`` filled in).

    Examples
    --------
    >>> symbol_spec(DataSpec(source="file", path="d/{symbol}.csv", symbols=["A", "B"]), "B").path
    'd/B.csv'
    """
    path = None if spec.path is None else spec.path.replace("{symbol}", symbol)
    return DataSpec.model_validate(
        {**spec.model_dump(exclude={"symbols", "universe", "symbol", "path"}), "symbol": symbol, "path": path}
    )


def _from_store(store: data.DataStore, symbol: str, timeframe: str) -> pd.DataFrame:
    """The stored bars at ``timeframe``, else the coarsest stored finer ones (to be resampled)."""
    wanted = data.parse_timeframe(timeframe).delta
    finer = [
        entry
        for entry in store.list()
        if entry.symbol == symbol.upper() and data.parse_timeframe(entry.timeframe).delta <= wanted
    ]
    if not finer:
        return store.get(symbol, timeframe)  # raises, listing what is stored
    best = max(finer, key=lambda entry: data.parse_timeframe(entry.timeframe).delta)
    return store.get(symbol, best.timeframe)


def make_labels(
    bars: pd.DataFrame, spec: Strategy, *, home: Path | None = None, side: pd.Series | None = None
) -> pd.DataFrame:
    """The strategy's labels on every bar: ``label`` (NaN while undecided), its end time ``t1``, and for forward
    returns the return ``ret`` that each fold turns into classes with thresholds fitted on its training rows.

    Meta-labels (``labels.meta``) add the primary ``side`` of every bar; the label is BUY (act: the side's
    profit-take came first) or HOLD (pass), and NaN where the primary takes no side. ``home`` is the workspace a
    primary bundle is loaded from; ``side`` the primary side when already computed (:func:`decision_context`).

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n")
    >>> list(make_labels(data.synthetic_ohlcv(300, seed=1), spec).columns)
    ['label', 't1']
    """
    spec_labels = spec.labels
    close = bars["close"]
    if spec_labels.type == "zigzag":
        return labels.zigzag_labels(close, threshold_pct=spec_labels.threshold_pct, lookahead=spec_labels.lookahead)
    if spec_labels.type == "triple_barrier":
        if spec_labels.meta is None:
            side = None
        elif side is None:
            from neurotrade._primary import primary_side

            side = primary_side(bars, spec, home=resolve_home(home))
        out = labels.triple_barrier_labels(
            close,
            profit_take=spec_labels.profit_take,
            stop_loss=spec_labels.stop_loss,
            max_holding=spec_labels.max_holding,
            span=spec_labels.volatility_span,
            side=None if side is None else side.where(side != 0).astype(np.float64),
        )
        if side is None:
            return out[["label", "t1"]]
        # act -> BUY, pass -> HOLD: the network's BUY probability is the probability that the bet pays.
        act = out["label"].map({1.0: float(labels.BUY), 0.0: float(labels.HOLD)})
        return pd.DataFrame({"label": act, "t1": out["t1"], "side": side}, index=bars.index)
    forward = labels.forward_returns(close, horizon=spec_labels.horizon)
    return pd.DataFrame({"label": np.nan, "t1": forward["t1"], "ret": forward["ret"]}, index=bars.index)


def check_primary_sides(side: pd.Series, spec: Strategy) -> None:
    """A meta-labelled run needs bets: refuse a primary rule that takes no side on any bar, naming why.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n"
    ...     "labels: {type: triple_barrier, meta: {side: {indicator: rsi_14, long_below: 0}}}\\n")
    >>> try:
    ...     check_primary_sides(pd.Series([0, 0, 0]), spec)
    ... except Exception as e:
    ...     print(str(e)[:69])
    labels.meta.side: the primary rule takes no side on any of the 3 bars
    """
    if not (side != 0).any():
        hint = "" if spec.decisions.allow_short else " (short sides count only with decisions.allow_short: true)"
        raise ConfigError(
            f"labels.meta.side: the primary rule takes no side on any of the {len(side)} bars{hint}, so there is "
            "no bet to learn to act on; check its indicators and levels"
        )


def make_splits(times: pd.DatetimeIndex, t1: pd.Series, spec: Strategy) -> list[Split]:
    """The evaluation splits the ``split:`` section asks for, purged by ``t1`` and embargoed.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n"
    ...                       "split: {folds: 3, embargo: 0}\\n")
    >>> times = pd.date_range("2020-01-01", periods=100, freq="D", tz="UTC")
    >>> [len(s.test) for s in make_splits(times, pd.Series(times), spec)]
    [20, 20, 20]
    """
    s = spec.split
    if s.method == "cpcv":
        folds, _ = splits.cpcv_fold_splits(
            times, t1, groups=s.groups, test_groups=s.test_groups, validation=s.validation, embargo=s.embargo
        )
        return folds
    if s.method == "chronological":
        train, validation, test = s.train, s.validation, s.test
        if s.test_start is not None:  # test from a time: train and validation share what comes before
            before = int(times.searchsorted(pd.Timestamp(s.test_start))) / len(times)
            if not 0 < before < 1:
                raise ConfigError(
                    f"split.test_start {s.test_start} leaves no samples {'before' if before == 0 else 'after'} it "
                    f"(the samples run from {times[0].isoformat()} to {times[-1].isoformat()})"
                )
            train, validation = (
                before * s.train / (s.train + s.validation),
                before * s.validation / (s.train + s.validation),
            )
            test = 1.0 - train - validation
        return [splits.chronological_split(times, t1, train=train, validation=validation, test=test, embargo=s.embargo)]
    return splits.walk_forward_splits(
        times,
        t1,
        folds=s.folds,
        scheme=s.scheme,
        first_train=s.first_train,
        validation=s.validation,
        train_window=s.train_window,
        embargo=s.embargo,
    )


def scale_features(frame: pd.DataFrame, train_rows: np.ndarray) -> tuple[np.ndarray, Standardizer]:
    """Standardise every row with statistics of the training rows only.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0, 3.0, 100.0]})
    >>> x, scaler = scale_features(frame, np.array([0, 1]))
    >>> x.ravel().tolist(), scaler.mean_.tolist()
    ([-1.0, 1.0, 98.0], [2.0])
    """
    scaler = Standardizer(list(frame.columns)).fit(frame.to_numpy()[train_rows])
    return scaler.transform(frame.to_numpy()), scaler


def fold_targets(table: pd.DataFrame, split: Split) -> tuple[np.ndarray, labels.QuantileClasses | None]:
    """The class of every sample for one fold: the label itself, or forward returns cut into terciles with
    thresholds fitted on this fold's training rows only.

    Examples
    --------
    >>> table = pd.DataFrame({"label": np.nan, "ret": [-0.02, 0.0, 0.03, 0.5]})
    >>> times = pd.date_range("2020-01-01", periods=4, freq="D", tz="UTC")
    >>> split = Split(np.array([0, 1, 2]), np.array([], int), np.array([3]), {}, 3, {}, {}, times)
    >>> fold_targets(table, split)[0].tolist()
    [0.0, 1.0, 2.0, 2.0]
    """
    if "ret" not in table:
        return table["label"].to_numpy(dtype=np.float64), None
    quantiles = labels.QuantileClasses(3).fit(table["ret"].to_numpy()[split.train])
    return quantiles.transform(table["ret"].to_numpy()), quantiles


def regime_targets(bars: pd.DataFrame, times: pd.DatetimeIndex, t1: pd.Series) -> dict[str, np.ndarray]:
    """The regime model's extra targets for each sample, over the same bars as its label (t .. t1).

    ``ret`` is the log return from the sample's close to the close at t1; ``vol`` the realised volatility over
    bars t+1..t1 (root mean square of one-bar log returns). Ending at t1 keeps them inside the purge the label
    already gets. Undecided samples (t1 NaT) get NaN.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC")
    >>> bars = pd.DataFrame({"close": [100.0, 110.0, 99.0, 99.0]}, index=idx)
    >>> out = regime_targets(bars, idx[:2], pd.Series([idx[2], pd.NaT]))
    >>> round(float(out["ret"][0]), 4), bool(np.isnan(out["vol"][1]))
    (-0.0101, True)
    """
    close = np.log(bars["close"].to_numpy(dtype=np.float64))
    steps = np.concatenate([[0.0], np.cumsum(np.diff(close) ** 2)])
    start = bars.index.get_indexer(times)
    end_times = pd.DatetimeIndex(t1)
    decided = ~end_times.isna()
    end = np.full(len(times), -1)
    end[decided] = bars.index.get_indexer(end_times[decided])
    ret = np.full(len(times), np.nan)
    vol = np.full(len(times), np.nan)
    ok = decided & (end > start)
    ret[ok] = close[end[ok]] - close[start[ok]]
    vol[ok] = np.sqrt((steps[end[ok]] - steps[start[ok]]) / (end[ok] - start[ok]))
    return {"ret": ret, "vol": vol}


def decision_context(bars: pd.DataFrame, spec: Strategy, *, home: Path | None = None) -> pd.DataFrame:
    """What the decision rules and the backtest read at each bar besides the model, all known at its close: the
    causal realised volatility (sizing), the ATR of ``backtest.atr_stop`` and the primary side of meta-labelling.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n"
    ...                       "backtest: {atr_stop: {period: 5, multiple: 2}}\\n")
    >>> list(decision_context(data.synthetic_ohlcv(50, seed=1), spec).columns)
    ['realised_vol', 'atr']
    """
    from neurotrade import backtest, decision

    close = bars["close"].to_numpy(dtype=np.float64)
    out = pd.DataFrame(
        {"realised_vol": decision.realised_volatility(close, spec.decisions.volatility_span)}, index=bars.index
    )
    if spec.backtest.atr_stop is not None:
        out["atr"] = backtest.atr_for_stops(bars, spec.backtest.atr_stop.period)
    if getattr(spec.labels, "meta", None) is not None:
        from neurotrade._primary import primary_side

        out["side"] = primary_side(bars, spec, home=resolve_home(home))
    return out
