"""Features of a universe across its symbols: at each bar, from that bar's values only.

A rank or z-score across symbols is causal as long as it reads one row of the (time x symbols) panel: nothing
from another bar, and only the symbols that have that bar (a symbol not yet listed, or halted, is left out,
never filled). The batch run and the live engine call the same row-wise functions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from neurotrade.config import Strategy
from neurotrade.errors import ConfigError


def rank_pct(panel: np.ndarray) -> np.ndarray:
    """Each value's rank among the finite values of its row, from 0 (lowest) to 1 (highest); ties share their
    average rank; 0.5 where a row has one value; NaN stays NaN.

    Examples
    --------
    >>> rank_pct(np.array([[3.0, 1.0, 2.0], [1.0, np.nan, 1.0], [5.0, np.nan, np.nan]])).tolist()
    [[1.0, 0.0, 0.5], [0.5, nan, 0.5], [0.5, nan, nan]]
    """
    ranks = pd.DataFrame(panel).rank(axis=1, method="average").to_numpy(dtype=np.float64)
    n = np.isfinite(panel).sum(axis=1, keepdims=True).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n > 1, (ranks - 1.0) / (n - 1.0), 0.5)
    return np.where(np.isfinite(panel), out, np.nan)


def zscore(panel: np.ndarray) -> np.ndarray:
    """Each value minus its row's mean over the row's standard deviation (population), over the finite values of
    the row; 0 where the row does not vary; NaN stays NaN.

    Examples
    --------
    >>> zscore(np.array([[1.0, 3.0, np.nan], [2.0, 2.0, 2.0]])).tolist()
    [[-1.0, 1.0, nan], [0.0, 0.0, 0.0]]
    """
    finite = np.isfinite(panel)
    n = finite.sum(axis=1, keepdims=True)
    filled = np.where(finite, panel, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=1, keepdims=True) / n
        var = (np.where(finite, panel - mean, 0.0) ** 2).sum(axis=1, keepdims=True) / n
        std = np.sqrt(var)
        out = np.where(std > 0, (panel - mean) / std, 0.0)
    return np.where(finite, out, np.nan)


CROSS_SECTION = {"rank": ("xrank", rank_pct), "zscore": ("xz", zscore)}


def cross_section_columns(strategy: Strategy) -> list[tuple[str, str, str]]:
    """``(source column, new column, kind)`` for every cross-sectional feature the strategy asks for, on the data's
    timeframe, in declaration order (ranks, then z-scores).

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> s = parse_strategy("name: x\\ndata: {symbols: [A, B]}\\nindicators: {rsi_14: {}}\\n"
    ...     "nn_inputs: {indicators: [rsi_14], cross_section: {rank: [rsi_14]}}\\n")
    >>> cross_section_columns(s)
    [('1d_rsi_14', '1d_rsi_14_xrank', 'rank')]
    """
    tf = strategy.data.timeframe
    spec = strategy.nn_inputs.cross_section
    out = []
    for kind, names in (("rank", spec.rank), ("zscore", spec.zscore)):
        suffix = CROSS_SECTION[kind][0]
        out += [(f"{tf}_{name}", f"{tf}_{name}_{suffix}", kind) for name in names]
    return out


def symbol_columns(symbols: list[str]) -> list[str]:
    """The one-hot columns of ``nn_inputs.symbol_embedding``: with them the network's first layer learns a vector
    per symbol (its weights on the symbol's column), the learned symbol embedding.

    Examples
    --------
    >>> symbol_columns(["AAPL", "MSFT"])
    ['symbol_AAPL', 'symbol_MSFT']
    """
    return [f"symbol_{s}" for s in symbols]


def add_universe_features(frames: Mapping[str, pd.DataFrame], strategy: Strategy) -> dict[str, pd.DataFrame]:
    """Each symbol's feature frame with the universe's cross-sectional features and symbol columns appended.

    The cross-section at a bar is over the symbols whose feature row exists at that bar (warmed up, listed).

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> s = parse_strategy("name: x\\ndata: {symbols: [A, B]}\\nindicators: {rsi_14: {}}\\n"
    ...     "nn_inputs: {indicators: [rsi_14], cross_section: {zscore: [rsi_14]}, symbol_embedding: true}\\n")
    >>> idx = pd.date_range("2020-01-01", periods=2, freq="D", tz="UTC")
    >>> frames = {"A": pd.DataFrame({"1d_rsi_14": [10.0, 20.0]}, index=idx),
    ...           "B": pd.DataFrame({"1d_rsi_14": [30.0]}, index=idx[1:])}
    >>> out = add_universe_features(frames, s)
    >>> out["A"].to_numpy().tolist(), out["B"].to_numpy().tolist()
    ([[10.0, 0.0, 1.0, 0.0], [20.0, -1.0, 1.0, 0.0]], [[30.0, 1.0, 0.0, 1.0]])
    """
    symbols = list(frames)
    columns = cross_section_columns(strategy)
    extra: dict[str, dict[str, np.ndarray]] = {s: {} for s in symbols}
    if columns:
        index = frames[symbols[0]].index
        for frame in list(frames.values())[1:]:
            index = index.union(frame.index)
        positions = {s: index.get_indexer(frames[s].index) for s in symbols}
        for source, name, kind in columns:
            if source not in frames[symbols[0]]:
                available = ", ".join(c.split("_", 1)[1] for c in frames[symbols[0]].columns if "_lag" not in c)
                raise ConfigError(
                    f"nn_inputs.cross_section.{kind}: {source.split('_', 1)[1]!r} is not one of the network's base "
                    f"features on {strategy.data.timeframe} ({available}); list a name from nn_inputs"
                )
            panel = np.full((len(index), len(symbols)), np.nan)
            for j, s in enumerate(symbols):
                panel[positions[s], j] = frames[s][source].to_numpy(dtype=np.float64)
            values = CROSS_SECTION[kind][1](panel)
            for j, s in enumerate(symbols):
                extra[s][name] = values[positions[s], j]
    if strategy.nn_inputs.symbol_embedding:
        for j, s in enumerate(symbols):
            for k, name in enumerate(symbol_columns(symbols)):
                extra[s][name] = np.full(len(frames[s]), 1.0 if k == j else 0.0)
    clashes = sorted(set(extra[symbols[0]]) & set(frames[symbols[0]].columns))
    if clashes:  # assign() would overwrite a base feature with the universe's column without a word
        raise ConfigError(
            f"the universe's column(s) {', '.join(clashes)} clash with base features of the same name; rename the "
            "indicator or context input so that its feature names do not end in _xrank, _xz or start with symbol_"
        )
    return {s: frames[s].assign(**extra[s]) if extra[s] else frames[s] for s in symbols}
