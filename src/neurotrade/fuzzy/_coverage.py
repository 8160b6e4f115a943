"""Where a family of fuzzy sets leaves its axis uncovered.

A value that no set covers reaches the network as all (near) zeros, indistinguishable from a warm-up row or a
value far out of range, so a gap between sets is usually a slip in the breakpoints rather than an intention.
"""

from __future__ import annotations

from collections.abc import Iterable

from neurotrade.fuzzy._membership import FuzzySet

COVERED = 0.01  # a membership below this counts as "no set holds the value"


def coverage_gaps(
    sets: Iterable[FuzzySet],
    within: tuple[float, float] | None = None,
    threshold: float = COVERED,
) -> tuple[tuple[float, float], list[tuple[float, float]]]:
    """The range checked and the intervals of it where no set has membership >= ``threshold``.

    Parameters
    ----------
    sets
        The fuzzy sets of one indicator output.
    within
        The range the output's values can take (e.g. ``(0, 100)`` for an RSI): every uncovered part of it is
        reported, edges included. ``None`` when the range is unknown: the range is then the span of the sets'
        own landmarks (breakpoints, means, centers) and only gaps between sets count, since the sets' outer
        edges say nothing about where the values end.
    threshold
        The membership that counts as covered.

    Returns
    -------
    range, gaps
        ``range`` is ``within`` or the span of the landmarks; ``gaps`` the uncovered open intervals in order,
        empty when the sets cover the range.

    Examples
    --------
    >>> low = FuzzySet("low", "trapezoidal", (0, 0, 30, 40))
    >>> high = FuzzySet("high", "trapezoidal", (60, 70, 100, 100))
    >>> coverage_gaps([low, high], within=(0, 100))
    ((0, 100), [(39.9, 60.1)])
    >>> coverage_gaps([low, high])[1]
    [(39.9, 60.1)]
    """
    sets = list(sets)
    if not sets:
        raise ValueError("coverage_gaps needs at least one fuzzy set")
    supports = sorted(s.support(threshold) for s in sets)
    if within is None:
        landmarks = [p for s in sets for p in s.landmarks()]
        span = (min(landmarks), max(landmarks))
        # Only the stretch between the first set's cover and the last one's is "between sets".
        lo, hi = max(span[0], supports[0][0]), min(span[1], max(end for _, end in supports))
    else:
        span = within
        lo, hi = within
    if not lo < hi:
        return span, []
    tolerance = 1e-12 * max(1.0, abs(lo), abs(hi))  # rounding in the support ends, not a real gap
    gaps: list[tuple[float, float]] = []
    reached = lo
    for start, end in supports:
        if start > reached + tolerance:
            gaps.append((reached, min(start, hi)))
        reached = max(reached, end)
        if reached >= hi:
            break
    if reached < hi - tolerance:
        gaps.append((reached, hi))
    return span, [(a, b) for a, b in gaps if a < b]
