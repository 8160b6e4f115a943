"""From bars to the feature matrix a model sees: indicators -> fuzzy memberships -> selection -> lags.

Names are stable and readable, prefixed by the timeframe: ``1d_rsi_14`` (a raw output), ``1d_macd.hist``,
``1d_rsi_14_oversold`` (a fuzzy membership), ``1d_rsi_14_oversold_lag1`` (the previous bar's value). The ordered
list of names is ``resolved_features``; a model is bound to it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from neurotrade import data, indicators
from neurotrade.config import IndicatorSpec, Strategy
from neurotrade.config._spec import ContextSpec, FuzzySetSpec
from neurotrade.errors import FeatureError
from neurotrade.indicators._torch import compute_on

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureMatrix:
    """Feature rows after warm-up.

    Attributes
    ----------
    frame
        float64, one column per name in ``resolved_features``, indexed by bar time; no NaN.
    resolved_features
        The ordered feature names.
    warmup_bars
        Leading bars dropped because some feature was still warming up.
    """

    frame: pd.DataFrame
    resolved_features: list[str]
    warmup_bars: int


def compute_indicators(bars: pd.DataFrame, specs: Mapping[str, IndicatorSpec], device: str = "cpu") -> pd.DataFrame:
    """Every declared indicator on ``bars``, one column per output.

    A single-output indicator's column is its name (``rsi_14``); a multi-output one's are ``name.output``
    (``macd.hist``). Warm-up rows are NaN. ``device`` is a strategy's ``indicators_device``: ``cpu`` (the numba
    kernels), ``cuda`` or ``auto`` (the torch forms on CUDA where an indicator has one; within 1e-9 of the
    kernels, not bit for bit).

    Examples
    --------
    >>> from neurotrade.data import synthetic_ohlcv
    >>> bars = synthetic_ohlcv(300, seed=1)
    >>> cols = compute_indicators(bars, {"rsi_14": IndicatorSpec(type="rsi", params={"period": 14})})
    >>> list(cols.columns), int(cols["rsi_14"].isna().sum())
    (['rsi_14'], 14)
    """
    columns: dict[str, pd.Series] = {}
    for key, spec in specs.items():
        assert spec.type is not None  # the loader resolves every type
        out = compute_on(bars, spec.type, device, **spec.params)
        if out.shape[1] == 1:
            columns[key] = out.iloc[:, 0]
        else:
            for name in out.columns:
                columns[f"{key}.{name}"] = out[name]
    return pd.DataFrame(columns, index=bars.index)


def compute_indicator_panels(
    bars: Mapping[str, pd.DataFrame], specs: Mapping[str, IndicatorSpec], device: str = "cpu"
) -> dict[str, pd.DataFrame]:
    """Every declared indicator on every symbol of a universe at once, through the numba panel runner (the
    symbols in parallel; each symbol's values bit for bit those of :func:`compute_indicators` on its own bars),
    returned per symbol on its own bars. With ``device`` ``cuda`` or ``auto`` (a strategy's
    ``indicators_device``), the indicators that have a torch form run as one panel on the GPU instead.

    Examples
    --------
    >>> from neurotrade.data import synthetic_ohlcv
    >>> bars = {"A": synthetic_ohlcv(300, seed=1), "B": synthetic_ohlcv(200, seed=2)}
    >>> specs = {"rsi_14": IndicatorSpec(type="rsi", params={"period": 14})}
    >>> out = compute_indicator_panels(bars, specs)
    >>> out["B"].equals(compute_indicators(bars["B"], specs)), len(out["A"]), len(out["B"])
    (True, 300, 200)
    """
    columns: dict[str, dict[str, np.ndarray]] = {s: {} for s in bars}
    for key, spec in specs.items():
        assert spec.type is not None  # the loader resolves every type
        panel = compute_on(dict(bars), spec.type, device, **spec.params)
        outputs = list(dict.fromkeys(panel.columns.get_level_values("output")))
        positions = {s: panel.index.get_indexer(frame.index) for s, frame in bars.items()}
        for s in bars:
            for name in outputs:
                column = key if len(outputs) == 1 else f"{key}.{name}"
                columns[s][column] = panel[s, name].to_numpy()[positions[s]]
    return {s: pd.DataFrame(columns[s], index=bars[s].index) for s in bars}


def fuzzy_memberships(values: pd.DataFrame, fuzzy_sets: Mapping[str, Mapping[str, FuzzySetSpec]]) -> pd.DataFrame:
    """Membership of each indicator output in each of its fuzzy sets; column ``{output}_{set}``.

    Examples
    --------
    >>> v = pd.DataFrame({"rsi_14": [25.0, 50.0, np.nan]})
    >>> from neurotrade.config import TriangularSet
    >>> m = fuzzy_memberships(v, {"rsi_14": {"oversold": TriangularSet(points=[20, 30, 40])}})
    >>> m["rsi_14_oversold"].tolist()
    [0.5, 0.0, nan]
    """
    columns: dict[str, np.ndarray] = {}
    for source, sets in fuzzy_sets.items():
        if source not in values:
            raise FeatureError(f"fuzzy sets refer to {source!r}, which is not a computed indicator output")
        x = values[source].to_numpy(dtype=np.float64)
        for name, spec in sets.items():
            columns[f"{source}_{name}"] = spec.to_fuzzy_set(name)(x)
    return pd.DataFrame(columns, index=values.index)


def resolve_features(strategy: Strategy) -> list[str]:
    """The ordered feature names a strategy's network sees, without touching data.

    Timeframes come finest first. Within one, base features come first (fuzzy memberships in declaration order,
    raw outputs as listed, then context), then each lag as a block: all ``_lag1`` columns, all ``_lag2`` ...

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> s = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nfuzzy_sets: {rsi_14: {low: [0, 0, 30]}}\\n"
    ...                    "nn_inputs: {indicators: [rsi_14], lookback_periods: 1}\\n")
    >>> resolve_features(s)
    ['1d_rsi_14_low', '1d_rsi_14', '1d_rsi_14_low_lag1', '1d_rsi_14_lag1']
    """
    return [f"{tf}_{column}" for tf in feature_timeframes(strategy) for column in _lagged(strategy)]


def feature_timeframes(strategy: Strategy) -> list[str]:
    """The timeframes features are computed on, finest first (the loader resolves ``all`` and the default)."""
    return list(strategy.nn_inputs.timeframes or [strategy.data.timeframe])


def build_features(bars: pd.DataFrame, strategy: Strategy, *, raw: pd.DataFrame | None = None) -> FeatureMatrix:
    """Compute the feature matrix of ``strategy`` on ``bars``, warm-up rows dropped, never filled.

    Every value at bar t depends only on bars up to t: indicators are causal, memberships act on one row, lags
    look back, and a coarser timeframe's bar is used only from the first bar that closes at or after the end of
    its period (so a daily feature changes only once the day is over). A NaN after the warm-up is an error, not
    something to fill.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.data import synthetic_ohlcv
    >>> s = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n")
    >>> fm = build_features(synthetic_ohlcv(300, seed=1), s)
    >>> fm.resolved_features, fm.warmup_bars, len(fm.frame)
    (['1d_rsi_14'], 14, 286)
    """
    frame = feature_frame(bars, strategy, raw=raw)
    complete = frame.notna().all(axis=1).to_numpy()
    if not complete.any():
        raise FeatureError(
            f"no bar has every feature: {len(bars)} bars are fewer than the longest warm-up; use more data"
        )
    first = int(np.argmax(complete))
    late_gaps = ~complete[first:]
    if late_gaps.any():
        row = first + int(np.argmax(late_gaps))
        missing = [c for c in frame.columns if np.isnan(frame.iloc[row][c])]
        raise FeatureError(
            f"features {missing} are NaN at {bars.index[row]} after their warm-up; the input bars have a gap or "
            "a value the indicator cannot use. neurotrade does not fill features: fix the data"
        )
    return FeatureMatrix(
        frame=frame.iloc[first:].astype(np.float64),
        resolved_features=list(frame.columns),
        warmup_bars=first,
    )


def feature_frame(bars: pd.DataFrame, strategy: Strategy, *, raw: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every feature on every bar, warm-up rows still NaN: what :func:`build_features` checks and trims.

    The leakage audit compares this frame across truncated histories, so it is kept free of any row filtering.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.data import synthetic_ohlcv
    >>> s = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n")
    >>> feature_frame(synthetic_ohlcv(300, seed=1), s).shape
    (300, 1)
    """
    blocks = []
    for tf in feature_timeframes(strategy):
        tf_bars = bars if tf == strategy.data.timeframe else data.resample(bars, tf, incomplete="keep")
        block = _timeframe_block(tf_bars, strategy, tf, raw if tf == strategy.data.timeframe else None)
        if tf != strategy.data.timeframe:
            block = align_to_finer(block, tf, bars.index, strategy.data.timeframe)
        blocks.append(block)
    return pd.concat(blocks, axis=1)


def align_to_finer(block: pd.DataFrame, timeframe: str, index: pd.DatetimeIndex, finer: str) -> pd.DataFrame:
    """Show each row of a coarser timeframe's ``block`` on the finer bars ``index``, once its period has ended.

    A coarse bar labelled T covers [T, T + its length); it is complete only when that period is over. A finer
    bar labelled t closes at t + its own length, so it may use the latest coarse bar whose period ended by then.
    Before the first coarse bar ends, the values are NaN (part of the warm-up).

    Examples
    --------
    >>> days = pd.date_range("2024-01-01", periods=2, freq="D", tz="UTC")
    >>> hours = pd.date_range("2024-01-01 22:00", periods=4, freq="h", tz="UTC")
    >>> align_to_finer(pd.DataFrame({"x": [1.0, 2.0]}, index=days), "1d", hours, "1h")["x"].tolist()
    [nan, 1.0, 1.0, 1.0]
    """
    ends = (block.index + data.parse_timeframe(timeframe).delta).asi8
    closes = (index + data.parse_timeframe(finer).delta).asi8
    row = np.searchsorted(ends, closes, side="right") - 1  # the last coarse bar ended by each finer close
    values = block.to_numpy(dtype=np.float64)
    out = np.full((len(index), values.shape[1]), np.nan)
    seen = row >= 0
    out[seen] = values[row[seen]]
    return pd.DataFrame(out, index=index, columns=block.columns)


def _timeframe_block(
    bars: pd.DataFrame, strategy: Strategy, timeframe: str, raw: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every feature of one timeframe, on that timeframe's bars, lags included, named ``{tf}_...``."""
    if raw is None:  # else computed already, with a universe's other symbols (compute_indicator_panels)
        raw = compute_indicators(bars, strategy.indicators, strategy.indicators_device)
    memberships = fuzzy_memberships(raw, strategy.fuzzy_sets)
    pool = pd.concat([memberships, raw, context_features(bars, strategy.nn_inputs.context)], axis=1)
    base = _base_columns(strategy)
    columns: dict[str, pd.Series] = {}
    for lag in range(strategy.nn_inputs.lookback_periods + 1):
        for column in base:
            key = column if lag == 0 else f"{column}_lag{lag}"
            # shift(+lag) reads bar t - lag of this timeframe: the past only.
            columns[f"{timeframe}_{key}"] = pool[column].shift(lag)
    return pd.DataFrame(columns, index=bars.index)


def context_features(bars: pd.DataFrame, spec: ContextSpec) -> pd.DataFrame:
    """Scale-free price and volume context, each from bars up to t.

    ``ret_k`` is the log return over the last k bars, ``close_over_sma_n`` the close over its n-bar SMA minus 1,
    ``volume_ratio_n`` the volume over its n-bar SMA (1 where that SMA is 0: no volume at all is neutral).

    Examples
    --------
    >>> bars = pd.DataFrame({"close": [100.0, 110.0, 121.0], "volume": [1.0, 2.0, 3.0]})
    >>> context_features(bars, ContextSpec(returns=[1], volume_ratio=[2])).round(4).to_dict("list")
    {'ret_1': [nan, 0.0953, 0.0953], 'volume_ratio_2': [nan, 1.3333, 1.2]}
    """
    close = bars["close"].to_numpy(dtype=np.float64)
    columns: dict[str, np.ndarray] = {}
    for k in spec.returns:
        ret = np.full(len(close), np.nan)
        ret[k:] = np.log(close[k:] / close[:-k])
        columns[f"ret_{k}"] = ret
    for n in spec.price_over_ma:
        sma = indicators.compute(bars, "sma", period=n)["sma"].to_numpy()
        columns[f"close_over_sma_{n}"] = close / sma - 1.0
    for n in spec.volume_ratio:
        volume = bars["volume"].to_numpy(dtype=np.float64)
        sma = indicators.compute(pd.DataFrame({"close": volume}, index=bars.index), "sma", period=n)["sma"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            columns[f"volume_ratio_{n}"] = np.where(sma > 0, volume / sma, np.where(np.isnan(sma), np.nan, 1.0))
    return pd.DataFrame(columns, index=bars.index)


def _base_columns(strategy: Strategy) -> list[str]:
    nn = strategy.nn_inputs
    if nn.fuzzy == "all":
        fuzzy = [f"{source}_{name}" for source, sets in strategy.fuzzy_sets.items() for name in sets]
    else:
        fuzzy = ["_".join(ref.rsplit(".", 1)) for ref in nn.fuzzy]
    c = nn.context
    context = (
        [f"ret_{k}" for k in c.returns]
        + [f"close_over_sma_{n}" for n in c.price_over_ma]
        + [f"volume_ratio_{n}" for n in c.volume_ratio]
    )
    return fuzzy + list(nn.indicators) + context


def _lagged(strategy: Strategy) -> list[str]:
    base = _base_columns(strategy)
    lags = range(strategy.nn_inputs.lookback_periods + 1)
    return [column if lag == 0 else f"{column}_lag{lag}" for lag in lags for column in base]
