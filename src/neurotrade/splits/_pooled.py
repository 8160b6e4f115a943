"""Splits of a universe: one time axis for every symbol, purge and embargo in time.

The samples of all symbols are stacked (symbol by symbol) into one array. The windows are cut on the union of
their times with the ordinary splitters, given at each time the *latest* label end over the symbols: a time is
purged from a window when the label of any symbol at that time reaches the next window, and the embargo counts
bars of the shared time axis. Every symbol's sample at a chosen time joins the window (if its own label is
decided). So no training sample of any symbol reaches a later window, and a fold's test window is the same
stretch of time for every symbol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from neurotrade.splits._chronological import WINDOWS, Split


@dataclass(frozen=True)
class PooledSplit:
    """One fold of a universe.

    Attributes
    ----------
    time
        The split on the union time axis (``time.times``): its windows, trading window and test groups are times.
    rows
        The same windows as positions of the stacked samples (``rows.times`` are the samples' times); its
        ``trading_start`` and ``segments`` are not used: each symbol trades the time split's window.
    """

    time: Split
    rows: Split

    def summary(self) -> dict[str, Any]:
        """The time split's description (purge and embargo counted in bars of the time axis), with the samples of
        every symbol together and the bars they span."""
        out = self.time.summary()
        for name in WINDOWS:
            out[name] |= {"samples": len(getattr(self.rows, name)), "bars": len(getattr(self.time, name))}
        return out


def pooled_splits(
    times: pd.DatetimeIndex,
    t1: pd.Series,
    make: Callable[[pd.DatetimeIndex, pd.Series], list[Split]],
) -> list[PooledSplit]:
    """Cut stacked samples of several symbols (``times`` and ``t1`` one per sample, times repeating across
    symbols) into the splits ``make`` gives on their union time axis, purged and embargoed in time.

    Examples
    --------
    Two symbols on eight days; B's label at day 2 runs to day 4, into the validation window, so day 2 leaves the
    training window for both symbols:

    >>> from neurotrade.splits import chronological_split
    >>> days = pd.date_range("2024-01-01", periods=8, freq="D", tz="UTC")
    >>> t1 = pd.Series(list(days) + list(days[:2]) + [days[4]] + list(days[3:]))
    >>> make = lambda u, e: [chronological_split(u, e, train=0.5, validation=0.25, test=0.25)]
    >>> fold = pooled_splits(days.append(days), t1, make)[0]
    >>> fold.rows.train.tolist(), fold.rows.test.tolist()
    ([0, 1, 3, 8, 9, 11], [6, 7, 14, 15])
    """
    times = pd.DatetimeIndex(times)
    end = pd.DatetimeIndex(t1)
    union = times.unique().sort_values()
    at = union.get_indexer(times)
    decided = ~end.isna()
    # The latest label end at each time over the symbols decided there (NaT where none is).
    latest = pd.Series(end[decided], index=at[decided]).groupby(level=0).max()
    union_t1 = pd.Series(pd.NaT, index=np.arange(len(union)), dtype=end.dtype)
    union_t1.loc[latest.index] = latest.to_numpy()
    out = []
    for split in make(union, union_t1):
        chosen = {}
        for name in WINDOWS:
            mask = np.zeros(len(union), dtype=bool)
            mask[getattr(split, name)] = True
            chosen[name] = np.flatnonzero(mask[at] & decided)
        rows = Split(
            train=chosen["train"],
            validation=chosen["validation"],
            test=chosen["test"],
            starts={},
            trading_start=0,
            purged=split.purged,  # bars of the shared time axis, each dropping every symbol's sample there
            embargoed=split.embargoed,
            times=times,
        )
        out.append(PooledSplit(time=split, rows=rows))
    return out
