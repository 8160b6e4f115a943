"""The weekly session pattern that bars follow, learnt from the bars: gaps, and incomplete coarser periods.

neurotrade has no exchange calendar: :func:`find_gaps` describes how the pattern is learnt from the series
itself, and :func:`incomplete_periods` (behind :func:`~neurotrade.data.resample`) uses the same pattern. The
typical count of bars per period is not used on its own, because it differs by period (an FX Friday holds
fewer hours than a Tuesday, a stock half-day fewer than a full day) and shifts with daylight saving.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from neurotrade.data._frame import format_time

__all__ = ["Gap", "Sessions", "find_gaps", "incomplete_periods"]

_NS_HOUR = 3_600_000_000_000
_NS_DAY = 24 * _NS_HOUR
_NS_WEEK = 7 * _NS_DAY
_ORIGIN = pd.Timestamp("1970-01-05", tz="UTC").value  # a Monday: slots, days and weeks count from here
_OPEN_SHARE = 0.25  # a slot is open when it holds bars in this share of the weeks of the busiest slot
_DST_SLACK = _NS_HOUR  # how far a session's edges move in UTC over the year
_HOLIDAY_DAYS = 2  # the longest run of whole days without bars taken as an exchange closure


@dataclass(frozen=True)
class Gap:
    """Bars missing between two bars, where the series' own sessions expect some.

    Attributes
    ----------
    after
        Open time of the last bar before the gap.
    before
        Open time of the first bar after it.
    missing
        How many bars the session pattern expects in between.
    """

    after: pd.Timestamp
    before: pd.Timestamp
    missing: int

    def __str__(self) -> str:
        return f"{format_time(self.after)} to {format_time(self.before)} ({self.missing} missing)"


@dataclass(frozen=True)
class Sessions:
    """The weekly pattern of one series: which slots of the week are expected to hold a bar.

    Attributes
    ----------
    step
        The length of one slot (the bars' timeframe) in nanoseconds.
    expected
        One flag per slot of the week, Monday 00:00 UTC first.
    closes
        Whether the market has whole closed days, so that a whole day without bars may be a holiday.
    """

    step: int
    expected: np.ndarray
    closes: bool

    @classmethod
    def learn(cls, index: pd.DatetimeIndex, step: pd.Timedelta) -> Sessions:
        """The pattern of the bars at ``index``, whose timeframe is ``step``."""
        ns = int(step.value)
        per_week = max(1, _NS_WEEK // ns)
        slots = _slots(index, ns)
        span = (int(slots[-1]) - int(slots[0]) + 1) * ns if len(slots) else 0
        if per_week == 1 or span >= 2 * _NS_WEEK or (ns >= _NS_DAY and span >= _NS_WEEK):
            open_ = _busy(np.bincount(slots % per_week, minlength=per_week))
        elif ns < _NS_DAY and span >= _NS_DAY:
            # Too few weeks to tell a closed hour from a gap in it: learn the weekdays and the hours apart.
            per_day = _NS_DAY // ns
            days = _busy(np.bincount(np.unique(slots // per_day) % 7, minlength=7))  # dates seen, per weekday
            hours = _busy(np.bincount(slots % per_day, minlength=per_day))
            open_ = np.outer(days, hours).ravel()
        else:
            open_ = np.ones(per_week, dtype=bool)
        expected = open_.copy()
        if ns < _NS_DAY:
            for k in range(1, math.ceil(_DST_SLACK / ns) + 1):
                expected &= np.roll(open_, k) & np.roll(open_, -k)
        closes = ns <= _NS_DAY and not open_.reshape(7, -1).any(axis=1).all()
        return cls(ns, expected, bool(closes))

    def count(self, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
        """How many expected slots lie in the slot ranges ``[start, stop)`` (absolute slot numbers)."""
        cumulative = np.concatenate(([0], np.cumsum(self.expected)))
        per_week = len(self.expected)

        def upto(n: np.ndarray) -> np.ndarray:
            return (n // per_week) * cumulative[-1] + cumulative[n % per_week]

        start, stop = np.asarray(start, dtype=np.int64), np.asarray(stop, dtype=np.int64)
        return np.where(stop > start, upto(np.maximum(stop, start)) - upto(start), 0)

    def _open_days(self, first_day: np.ndarray, stop_day: np.ndarray) -> np.ndarray:
        """How many days in ``[first_day, stop_day)`` hold an expected slot (day 0 is a Monday)."""
        has = self.expected.reshape(7, -1).any(axis=1)
        cumulative = np.concatenate(([0], np.cumsum(has)))

        def upto(d: np.ndarray) -> np.ndarray:
            return (d // 7) * cumulative[-1] + cumulative[d % 7]

        return np.where(stop_day > first_day, upto(np.maximum(stop_day, first_day)) - upto(first_day), 0)

    def holidays(self, after: np.ndarray, before: np.ndarray) -> np.ndarray:
        """Which missing runs between slots ``after`` and ``before`` (bars on both) are holidays: whole days
        without bars, at most two of them, with every expected slot of the bars' own days present."""
        if not self.closes or self.step > _NS_DAY:
            return np.zeros(len(after), dtype=bool)
        per_day = _NS_DAY // self.step
        day_after, day_before = after // per_day, before // per_day
        partial = self.count(after + 1, np.minimum(before, (day_after + 1) * per_day))
        partial += np.where(day_before > day_after, self.count(day_before * per_day, before), 0)
        whole = self._open_days(day_after + 1, day_before)
        return (day_before > day_after) & (partial == 0) & (whole <= _HOLIDAY_DAYS)


def _busy(counts: np.ndarray) -> np.ndarray:
    """The slots holding bars at least a quarter as often as the busiest one."""
    return (counts > 0) & (counts >= _OPEN_SHARE * counts.max())


def _slots(index: pd.DatetimeIndex, step: int) -> np.ndarray:
    """Absolute slot numbers of the bars: whole steps since Monday 1970-01-05 00:00 UTC."""
    return (index.as_unit("ns").asi8 - _ORIGIN) // step


def _missing_runs(slots: np.ndarray, sessions: Sessions) -> tuple[np.ndarray, np.ndarray]:
    """Positions i where expected slots are missing between bar i and bar i + 1 (holidays aside), and how many."""
    after, before = slots[:-1], slots[1:]
    candidates = np.flatnonzero(before - after > 1)
    missing = sessions.count(after[candidates] + 1, before[candidates])
    holiday = sessions.holidays(after[candidates], before[candidates])
    keep = (missing > 0) & ~holiday
    return candidates[keep], missing[keep]


def find_gaps(index: pd.DatetimeIndex, step: pd.Timedelta) -> list[Gap]:
    """Runs of missing bars where the series' own weekly sessions expect bars.

    The pattern is learnt from the bars:

    - The week is cut into slots of the bars' timeframe (168 for hourly bars, 7 for daily ones), counted
      from Monday 00:00 UTC. A slot is **open** when it holds bars in at least a quarter as many weeks as
      the busiest slot; the others are closed (nights, weekends). Intraday bars over less than two weeks
      are too few to tell a closed hour from a gap in it: the open weekdays and the open hours of the day
      are then learnt apart. With less than a day of bars every slot is open.
    - For intraday bars, the slots within an hour of a closed one are open but not **expected**: in UTC a
      session starts and ends an hour earlier half of the year (daylight saving), so its first and last
      bars come and go. Every other open slot is expected.
    - In a market that closes (a weekday without any open slot: stocks, FX), up to two whole days without
      any bar are a **holiday** (an exchange closure), not missing data. Markets open every day (crypto)
      have none.

    A gap is a run of expected slots without bars between two bars, holidays aside. A coarser period is
    incomplete (see :func:`incomplete_periods`) when an expected slot in it has no bar, holidays aside,
    including a period that the data starts or ends inside.

    Parameters
    ----------
    index
        The bars' open times, strictly increasing.
    step
        The bars' timeframe.

    Returns
    -------
    list of Gap
        In time order.

    Examples
    --------
    >>> hours = pd.date_range("2024-01-01", periods=24 * 28, freq="h", tz="UTC")
    >>> [str(g) for g in find_gaps(hours.delete(range(100, 130)), pd.Timedelta(hours=1))]
    ['2024-01-05 03:00:00+00:00 to 2024-01-06 10:00:00+00:00 (30 missing)']
    >>> days = pd.bdate_range("2024-01-01", periods=60, tz="UTC")  # weekends are closed, not missing
    >>> [str(g) for g in find_gaps(days.delete([10, 20, 21, 22]), pd.Timedelta(days=1))]
    ['2024-01-26 to 2024-02-01 (3 missing)']
    """
    if len(index) < 2:
        return []
    sessions = Sessions.learn(index, step)
    slots = _slots(index, sessions.step)
    where, missing = _missing_runs(slots, sessions)
    return [Gap(index[i], index[i + 1], int(m)) for i, m in zip(where, missing, strict=True)]


def incomplete_periods(index: pd.DatetimeIndex, step: pd.Timedelta, period: pd.Timedelta) -> np.ndarray:
    """Start times (ns since 1970, UTC) of the coarser periods of length ``period`` that miss an expected bar.

    Periods start at Monday 00:00 UTC plus whole multiples of ``period``, as :func:`resample` bins them.

    Examples
    --------
    >>> hours = pd.date_range("2024-01-01", periods=24 * 28, freq="h", tz="UTC").delete(range(100, 130))
    >>> starts = incomplete_periods(hours, pd.Timedelta(hours=1), pd.Timedelta(days=1))
    >>> [str(pd.Timestamp(t, tz="UTC").date()) for t in starts]
    ['2024-01-05', '2024-01-06']
    """
    if len(index) == 0:
        return np.zeros(0, dtype=np.int64)
    sessions = Sessions.learn(index, step)
    per_period = max(1, int(period.value) // sessions.step)
    slots = _slots(index, sessions.step)
    where, _ = _missing_runs(slots, sessions)
    after, before = slots[where], slots[where + 1]
    end_of_after = (after // per_period + 1) * per_period
    start_of_before = (before // per_period) * per_period
    flagged = [
        (after // per_period)[sessions.count(after + 1, np.minimum(before, end_of_after)) > 0],
        (before // per_period)[sessions.count(np.maximum(after + 1, start_of_before), before) > 0],
    ]
    first, last = slots[:1], slots[-1:]
    if sessions.count((first // per_period) * per_period, first)[0] > 0:  # the data starts inside its period
        flagged.append(first // per_period)
    if sessions.count(last + 1, (last // per_period + 1) * per_period)[0] > 0:  # ... or ends inside it
        flagged.append(last // per_period)
    periods = np.unique(np.concatenate(flagged))
    return _ORIGIN + periods * per_period * sessions.step
