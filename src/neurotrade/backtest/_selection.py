"""Cross-sectional selection: from one score per symbol and bar to the targets of a portfolio."""

from __future__ import annotations

import numpy as np

from neurotrade.errors import BacktestError

__all__ = ["top_k_targets"]


def top_k_targets(scores: np.ndarray, k: int, *, allow_short: bool) -> np.ndarray:
    """Long the ``k`` best-scored symbols at each bar, and short the ``k`` worst when ``allow_short``.

    At each bar (column) the symbols with a score (not NaN) are ranked: higher score first, equal scores in
    symbol order (the earlier row ranks higher), so the choice is deterministic. With ``n`` symbols scored
    at that bar, the first ``min(k, ceil(n / 2))`` of the ranking get +1 and, with ``allow_short``, the last
    ``min(k, floor(n / 2))`` get -1; without it, the first ``min(k, n)`` get +1. So no symbol is ever on
    both sides: with ``n >= 2k`` there are k of each, with fewer the scored symbols split in two halves
    (the odd one out long). Everything else is 0: the symbols ranked in between, and every NaN (a symbol
    without a bar or without a score is never selected).

    Only ranks count, not the scores' sign: the best of ``n`` bad scores is still long (set a score to NaN
    to keep its symbol out). The result feeds :func:`~neurotrade.backtest.simulate_portfolio` row by row,
    whose 0 at a bar a symbol does not have is what it expects there.

    Parameters
    ----------
    scores
        Symbols x bars, float; higher is better; NaN where a symbol has no bar or no score.
    k
        Symbols held on each side at each bar, >= 1.
    allow_short
        Whether the ``k`` lowest-scored symbols are held short.

    Returns
    -------
    numpy.ndarray
        int64, symbols x bars: +1 long, -1 short, 0 flat.

    Raises
    ------
    BacktestError
        When ``scores``, ``k`` or ``allow_short`` cannot be used, with what to change.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[0.9, 0.1, np.nan],
    ...                    [0.5, 0.5, 0.2],
    ...                    [0.1, 0.5, np.nan],
    ...                    [0.3, 0.7, 0.4]])
    >>> top_k_targets(scores, 1, allow_short=True).tolist()  # the last bar has 2 scores: one long, one short
    [[1, -1, 0], [0, 0, -1], [-1, 0, 0], [0, 1, 1]]
    >>> top_k_targets(scores, 2, allow_short=False)[:, 1].tolist()  # the tie of 0.5: the earlier symbol wins
    [0, 1, 0, 1]
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise BacktestError(f"k must be a whole number of symbols >= 1, got {k!r}; e.g. k=3 for the 3 best")
    if not isinstance(allow_short, bool | np.bool_):
        raise BacktestError(f"allow_short must be True or False, got {allow_short!r}")
    if not isinstance(scores, np.ndarray):
        raise BacktestError(
            f"scores must be a numpy array of symbols x bars, got {type(scores).__name__}; from a frame of bars x "
            "symbols pass frame.to_numpy(dtype=float).T"
        )
    if scores.ndim != 2:
        raise BacktestError(f"scores must be 2-D (symbols x bars), got an array of shape {scores.shape}")
    if np.issubdtype(scores.dtype, np.bool_) or not (
        np.issubdtype(scores.dtype, np.floating) or np.issubdtype(scores.dtype, np.integer)
    ):
        raise BacktestError(f"scores must hold numbers (NaN for none), got dtype {scores.dtype}")
    values = scores.astype(np.float64, copy=False)
    n_symbols, n_bars = values.shape
    scored = ~np.isnan(values)
    # argsort puts NaN last, and a stable sort of -score keeps equal scores in symbol order.
    order = np.argsort(-values, axis=0, kind="stable")  # (symbols, bars): row r holds the symbol ranked r
    rank = np.empty((n_symbols, n_bars), dtype=np.int64)
    np.put_along_axis(rank, order, np.arange(n_symbols, dtype=np.int64)[:, None], axis=0)
    n = scored.sum(axis=0)  # (bars,)
    if allow_short:
        n_long = np.minimum(k, (n + 1) // 2)
        n_short = np.minimum(k, n // 2)
    else:
        n_long = np.minimum(k, n)
        n_short = np.zeros_like(n)
    targets = np.zeros((n_symbols, n_bars), dtype=np.int64)
    # Ranks below n are exactly the scored symbols, so neither side can pick a NaN.
    targets[rank < n_long] = 1
    targets[(rank >= n - n_short) & (rank < n)] = -1
    return targets
