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

from neurotrade import indicators
from neurotrade.config import IndicatorSpec, Strategy
from neurotrade.config._spec import GaussianSet, TrapezoidalSet, TriangularSet
from neurotrade.errors import FeatureError

log = logging.getLogger(__name__)

FuzzySpec = TriangularSet | TrapezoidalSet | GaussianSet


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


def compute_indicators(bars: pd.DataFrame, specs: Mapping[str, IndicatorSpec]) -> pd.DataFrame:
    """Every declared indicator on ``bars``, one column per output.

    A single-output indicator's column is its name (``rsi_14``); a multi-output one's are ``name.output``
    (``macd.hist``). Warm-up rows are NaN.

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
        out = indicators.compute(bars, spec.type, **spec.params)
        if out.shape[1] == 1:
            columns[key] = out.iloc[:, 0]
        else:
            for name in out.columns:
                columns[f"{key}.{name}"] = out[name]
    return pd.DataFrame(columns, index=bars.index)


def fuzzy_memberships(values: pd.DataFrame, fuzzy_sets: Mapping[str, Mapping[str, FuzzySpec]]) -> pd.DataFrame:
    """Membership of each indicator output in each of its fuzzy sets; column ``{output}_{set}``.

    Examples
    --------
    >>> v = pd.DataFrame({"rsi_14": [25.0, 50.0, np.nan]})
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

    Base features come first (fuzzy memberships in declaration order, then raw outputs as listed), then each
    lag as a block: all ``_lag1`` columns, all ``_lag2`` columns, ...

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> s = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nfuzzy_sets: {rsi_14: {low: [0, 0, 30]}}\\n"
    ...                    "nn_inputs: {indicators: [rsi_14], lookback_periods: 1}\\n")
    >>> resolve_features(s)
    ['1d_rsi_14_low', '1d_rsi_14', '1d_rsi_14_low_lag1', '1d_rsi_14_lag1']
    """
    return [_name(strategy, base) for base in _lagged(strategy, _base_columns(strategy))]


def build_features(bars: pd.DataFrame, strategy: Strategy) -> FeatureMatrix:
    """Compute the feature matrix of ``strategy`` on ``bars``, warm-up rows dropped, never filled.

    Every value at bar t depends only on bars up to t: indicators are causal, memberships act on one row, lags
    look back. A NaN after the warm-up is an error, not something to fill.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.data import synthetic_ohlcv
    >>> s = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n")
    >>> fm = build_features(synthetic_ohlcv(300, seed=1), s)
    >>> fm.resolved_features, fm.warmup_bars, len(fm.frame)
    (['1d_rsi_14'], 14, 286)
    """
    raw = compute_indicators(bars, strategy.indicators)
    memberships = fuzzy_memberships(raw, strategy.fuzzy_sets)
    pool = pd.concat([memberships, raw], axis=1)
    base = _base_columns(strategy)
    lag_columns: dict[str, pd.Series] = {}
    for lag in range(strategy.nn_inputs.lookback_periods + 1):
        for column in base:
            key = column if lag == 0 else f"{column}_lag{lag}"
            # shift(+lag) reads bar t - lag: the past only.
            lag_columns[key] = pool[column].shift(lag)
    frame = pd.DataFrame(lag_columns, index=bars.index)
    frame.columns = [_name(strategy, c) for c in frame.columns]
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


def _base_columns(strategy: Strategy) -> list[str]:
    nn = strategy.nn_inputs
    if nn.fuzzy == "all":
        fuzzy = [f"{source}_{name}" for source, sets in strategy.fuzzy_sets.items() for name in sets]
    else:
        fuzzy = ["_".join(ref.rsplit(".", 1)) for ref in nn.fuzzy]
    return fuzzy + list(nn.indicators)


def _lagged(strategy: Strategy, base: list[str]) -> list[str]:
    lags = range(strategy.nn_inputs.lookback_periods + 1)
    return [column if lag == 0 else f"{column}_lag{lag}" for lag in lags for column in base]


def _name(strategy: Strategy, column: str) -> str:
    return f"{strategy.data.timeframe}_{column}"
