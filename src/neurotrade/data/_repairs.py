"""Repairs a reader applies only when asked, each one reported; and the split detector they rely on."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from neurotrade.data._frame import PRICE_COLUMNS, Rows, format_time
from neurotrade.errors import DataError

__all__ = ["REPAIRS", "Repair"]

# Repairs are reported on the package logger itself (not a module child) so that a handler or filter
# set on "neurotrade.data" sees them.
_log = logging.getLogger("neurotrade.data")

REPAIRS: tuple[str, ...] = ("sort", "dedupe", "split-adjust", "implausible-drop")
ADJ_CLOSE = "adj_close"

# A day-to-day change of the adjustment factor beyond this is a split, not a dividend: the largest
# dividend in the bundled data (MSFT's special dividend of 2004) moves the factor by 11%, while the
# smallest common split (5:4) moves it by 25%.
_SPLIT_STEP = 1.2


@dataclass(frozen=True)
class Repair:
    """One repair a reader applied to the data, as logged and passed to ``on_repair``.

    Attributes
    ----------
    kind
        The repair's name: one of :data:`REPAIRS` (``"sort"``, ``"dedupe"``, ``"split-adjust"``,
        ``"implausible-drop"``) when it was asked for; ``"float-noise"`` (an open or close clipped onto
        [low, high] it missed by at most 1e-9, relative) and ``"incomplete"`` (periods that resampling dropped
        or marked) are applied without asking and reported the same way.
    message
        What was changed, starting with the source's name.
    rows
        How many rows the repair moved, dropped or rescaled.
    """

    kind: str
    message: str
    rows: int


@dataclass(frozen=True)
class Split:
    """A split found as an overnight jump of the adjustment factor matched by one in the price."""

    time: pd.Timestamp
    ratio: float

    @property
    def label(self) -> str:
        """``'2:1'`` for a 2-for-1 split, ``'1:10'`` for a 1-for-10 reverse split."""
        frac = Fraction(self.ratio).limit_denominator(10)
        return f"{frac.numerator}:{frac.denominator}"

    def __str__(self) -> str:
        return f"{format_time(self.time)} ({self.label})"


def parse_repairs(repair: Iterable[str] | str) -> frozenset[str]:
    """The repair names asked for; ``"sort,dedupe"`` and ``split_adjust`` are accepted spellings."""
    items = [repair] if isinstance(repair, str) else list(repair)
    names: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise DataError(f"repair names must be strings, got {item!r}. Known repairs: {', '.join(REPAIRS)}.")
        for part in item.split(","):
            name = part.strip().lower().replace("_", "-")
            if not name:
                continue
            if name not in REPAIRS:
                close = difflib.get_close_matches(name, REPAIRS, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise DataError(f"unknown repair {part.strip()!r}.{hint} Known repairs: {', '.join(REPAIRS)}.")
            names.add(name)
    return frozenset(names)


def report(repair: Repair, on_repair: Callable[[Repair], None] | None) -> None:
    """Tell the user about a repair: a WARNING on ``neurotrade.data`` and the ``on_repair`` callback."""
    _log.warning("%s", repair.message)
    if on_repair is not None:
        on_repair(repair)


def dedupe(frame: pd.DataFrame, rows: Rows, source: str) -> tuple[pd.DataFrame, Rows, Repair | None]:
    """Drop rows equal to an earlier row in time and every value; rows that only share a time stay."""
    keyed = frame.reset_index()
    dup = keyed.duplicated(keep="first").to_numpy()
    if not dup.any():
        return frame, rows, None
    where = rows.at(np.flatnonzero(dup), frame.index).removeprefix("at ")
    n = int(dup.sum())
    keep = np.flatnonzero(~dup)
    repair = Repair("dedupe", f"{source}: dropped {n} exact duplicate row{'s' if n > 1 else ''} ({where})", rows=n)
    return frame.iloc[keep], rows.take(keep), repair


def sort(frame: pd.DataFrame, rows: Rows, source: str) -> tuple[pd.DataFrame, Rows, Repair | None]:
    """Order the rows by time; rows with equal times keep their order in the file."""
    if frame.index.is_monotonic_increasing:
        return frame, rows, None
    order = np.argsort(frame.index.asi8, kind="stable")
    moved = int((order != np.arange(len(order))).sum())
    repair = Repair("sort", f"{source}: sorted the rows by time ({moved} rows were out of place)", rows=moved)
    return frame.iloc[order], rows.take(order), repair


# Ratios of the splits companies actually do (2:1, 3:2, 1:10 ...); a gap within 2 % of one of them, on a log
# scale, looks more like an unadjusted split than a market move.
_COMMON_SPLITS = (2.0, 3.0, 4.0, 5.0, 10.0, 1.5, 1.25, 7.0, 8.0, 20.0)


def suspected_splits(frame: pd.DataFrame) -> list[Split]:
    """Overnight gaps that match a common split ratio, in a frame with no adjusted close to tell.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    >>> f = pd.DataFrame({"open": [100.0, 101.0, 50.6], "close": [100.5, 101.2, 50.8]}, index=idx)
    >>> [str(s) for s in suspected_splits(f)]
    ['2024-01-03 (2:1)']
    """
    if len(frame) < 2:
        return []
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.log(frame["open"].to_numpy()[1:] / frame["close"].to_numpy()[:-1])
    ratios = np.log(np.array(_COMMON_SPLITS))
    found = []
    for i in np.flatnonzero(np.isfinite(gap) & (np.abs(gap) > np.log(1.2))):
        distance = np.abs(np.abs(gap[i]) - ratios)
        if distance.min() < 0.02:
            ratio = float(np.exp(ratios[distance.argmin()]))
            found.append(Split(frame.index[i + 1], ratio if gap[i] < 0 else 1 / ratio))
    return found


def find_splits(frame: pd.DataFrame, factor: np.ndarray) -> tuple[list[Split], list[Split]]:
    """Splits in a time-sorted frame, from the adjustment factor ``adj_close / close``.

    A split shows as a jump of the factor between two consecutive bars (beyond x1.2 either way) that
    the raw prices mirror overnight: the next open sits near the previous close divided by the jump.
    Returns the splits found and the factor jumps with no matching price gap (suspect adjustments).
    """
    if len(frame) < 2:
        return [], []
    open_ = frame["open"].to_numpy()
    close = frame["close"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.log(factor[1:] / factor[:-1])
        gap = np.log(open_[1:] / close[:-1])
    jump = np.isfinite(step) & (np.abs(step) > np.log(_SPLIT_STEP))
    # The overnight gap undoes the factor's jump: within half of it on a log scale.
    mirrored = jump & (np.abs(gap + step) < np.abs(step) / 2)
    times = frame.index
    ratios = np.exp(step)
    splits = [Split(times[i + 1], float(ratios[i])) for i in np.flatnonzero(mirrored)]
    unmatched = [Split(times[i + 1], float(ratios[i])) for i in np.flatnonzero(jump & ~mirrored)]
    return splits, unmatched


def split_adjust(frame: pd.DataFrame, source: str, adj_label: str) -> tuple[pd.DataFrame, Repair | None]:
    """Scale prices by ``adj_close / close`` and volume by its inverse, so traded value is unchanged.

    No repair is returned when the adjusted close equals the close everywhere (nothing changed).
    """
    factor = frame[ADJ_CLOSE].to_numpy() / frame["close"].to_numpy()
    splits, unmatched = find_splits(frame, factor)
    adjusted = frame.drop(columns=[ADJ_CLOSE])
    for col in PRICE_COLUMNS:
        adjusted[col] = adjusted[col].to_numpy() * factor
    adjusted["volume"] = adjusted["volume"].to_numpy() / factor
    changed = int((factor != 1.0).sum())
    if not changed:
        return adjusted, None
    found = f"splits found: {', '.join(map(str, splits))}" if splits else "no splits found"
    message = (
        f"{source}: split-adjusted {changed} rows (open, high, low, close multiplied by "
        f"{adj_label!r} / close, volume divided by it); {found}"
    )
    if unmatched:
        message += (
            f"; the factor also jumps without a matching price gap on {', '.join(map(str, unmatched))}, "
            f"check {adj_label!r} there"
        )
    return adjusted, Repair("split-adjust", message, rows=changed)
