"""Chronological train / validation / test split with purge and embargo.

Windows follow each other in time. A sample belongs to a window by its time t, but its label depends on bars up
to t1, so a training sample whose [t, t1] reaches into the validation window would carry validation prices into
training: it is purged. The same holds between validation and test. The first ``embargo`` bars after each window
are left out of the next one, so that serial correlation across the border cannot leak either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from neurotrade.errors import SplitError

WINDOWS = ("train", "validation", "test")


@dataclass(frozen=True)
class Split:
    """Positions of the samples in each window, after purge and embargo.

    Attributes
    ----------
    train, validation, test
        Integer positions into the sample index, labelled samples only.
    starts
        Position of each window's first bar (before the embargo).
    trading_start
        First position of the out-of-sample trading window: the test window after its embargo. The backtest
        runs from here to ``trading_end``, labelled or not.
    purged, embargoed
        How many samples each window lost to purge and to the embargo.
    times
        The sample times the positions index into.
    trading_end
        Last position (inclusive) of the trading window, or None for the last bar. A walk-forward fold ends
        where the next fold's test block begins, so its backtest must stop here.
    segments
        For a combinatorial purged CV split, the ``(start, stop)`` positions of each of its test groups: it trades
        each of them separately (the training groups between them are in sample). None for one trading window.
    """

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    starts: dict[str, int]
    trading_start: int
    purged: dict[str, int]
    embargoed: dict[str, int]
    times: pd.DatetimeIndex
    trading_end: int | None = None
    segments: tuple[tuple[int, int], ...] | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-ready description: counts, first and last time of each window, purge and embargo counts."""
        out: dict[str, Any] = {}
        for name in WINDOWS:
            positions = getattr(self, name)
            out[name] = {
                "samples": len(positions),
                "first": self.times[positions[0]].isoformat() if len(positions) else None,
                "last": self.times[positions[-1]].isoformat() if len(positions) else None,
                "purged": self.purged[name],
                "embargoed": self.embargoed[name],
            }
        out["trading_start"] = self.times[self.trading_start].isoformat()
        # Only a bounded window names its end, so a chronological split's summary keeps its shape.
        if self.trading_end is not None:
            out["trading_end"] = self.times[self.trading_end].isoformat()
        if self.segments is not None:
            out["test_groups"] = [
                {"first": self.times[start].isoformat(), "last": self.times[stop - 1].isoformat()}
                for start, stop in self.segments
            ]
        return out


def chronological_split(
    times: pd.DatetimeIndex,
    t1: pd.Series | pd.DatetimeIndex | np.ndarray,
    *,
    train: float,
    validation: float,
    test: float,
    embargo: int = 0,
) -> Split:
    """Split samples in time order, purging labels that reach into a later window.

    Parameters
    ----------
    times
        Sample times, strictly increasing.
    t1
        For each sample, the time of the last bar its label depends on (NaT for an undecided label, which is left
        out of every window).
    train, validation, test
        Fractions of the samples, adding up to 1.
    embargo
        Bars left out at the start of the validation and of the test window.

    Examples
    --------
    >>> times = pd.date_range("2024-01-01", periods=20, freq="D", tz="UTC")
    >>> t1 = pd.Series(times).shift(-2)  # every label looks two bars ahead; the last two are undecided
    >>> s = chronological_split(times, t1, train=0.6, validation=0.2, test=0.2, embargo=1)
    >>> s.train.tolist(), s.validation.tolist(), s.test.tolist()
    ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [13], [17])
    """
    n = len(times)
    if abs(train + validation + test - 1.0) > 1e-9:
        raise SplitError(f"train + validation + test must add up to 1, got {train + validation + test:g}")
    end_times = pd.DatetimeIndex(t1)  # straight from the Series: np.asarray would box tz-aware times (slow)
    if len(end_times) != n:
        raise SplitError(f"t1 has {len(end_times)} values for {n} samples; give one end time per sample")
    labelled = ~end_times.isna()
    if (end_times[labelled] < times[labelled]).any():
        raise SplitError("a label ends (t1) before its own bar; t1 must be >= t for every sample")
    # The small epsilon keeps 0.6 + 0.2 of 20 samples at 16, not 15, despite binary fractions.
    val_start = int(n * train + 1e-9)
    test_start = int(n * (train + validation) + 1e-9)
    starts = {"train": 0, "validation": val_start, "test": test_start}
    if not 0 < val_start < test_start < n:
        raise SplitError(f"{n} samples are too few to split {train:g}/{validation:g}/{test:g}; use more data")
    position = np.arange(n)
    bounds = {"train": (0, val_start), "validation": (val_start, test_start), "test": (test_start, n)}
    # A window's labels must end before the next window starts; the last window's labels end inside the data.
    next_start = {"train": times[val_start], "validation": times[test_start], "test": None}
    chosen: dict[str, np.ndarray] = {}
    purged: dict[str, int] = {}
    embargoed: dict[str, int] = {}
    for name, (lo, hi) in bounds.items():
        in_window = (position >= lo) & (position < hi) & labelled
        after_embargo = in_window & (position >= lo + (embargo if lo > 0 else 0))
        embargoed[name] = int(in_window.sum() - after_embargo.sum())
        keep = after_embargo
        if next_start[name] is not None:
            keep = keep & (end_times < next_start[name])
        purged[name] = int(after_embargo.sum() - keep.sum())
        chosen[name] = position[keep]
    if test_start + embargo >= n - 1:
        raise SplitError(
            f"the test window has {n - test_start} bars, which the embargo ({embargo} bars) leaves no room to "
            "trade; give the test window a larger fraction, use more data or a smaller embargo"
        )
    for name in WINDOWS:
        if len(chosen[name]) == 0:
            raise SplitError(
                f"the {name} window has no samples left after purge ({purged[name]}) and embargo "
                f"({embargoed[name]}); use more data, a shorter label lookahead or a smaller embargo"
            )
    trading_start = test_start + embargo
    return Split(
        train=chosen["train"],
        validation=chosen["validation"],
        test=chosen["test"],
        starts=starts,
        trading_start=trading_start,
        purged=purged,
        embargoed=embargoed,
        times=times,
    )
