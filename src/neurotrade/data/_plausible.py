"""Plausibility of prices read from a file: bar-to-bar moves beyond a bound, and float noise at the envelope.

These checks belong to readers, not to the frame contract: a frame built in Python may hold any consistent
prices, while a file with a price of 1e308 or a close 1e6 times the previous one is almost surely broken.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from neurotrade.data._frame import PRICE_COLUMNS, Rows, format_time
from neurotrade.data._repairs import Repair
from neurotrade.errors import DataError

__all__ = ["DEFAULT_MAX_MOVE", "NOISE", "check_max_move", "clip_float_noise", "drop_implausible", "move_problems"]

# Real bar-to-bar moves stay well inside x10 either way: splits are 2:1 to 20:1 and arrive as such only in raw
# prices (split-adjust removes them first), crashes of -90 % in one bar are rare enough to deserve a look.
DEFAULT_MAX_MOVE = 10.0

# Adjusted prices are products of floats: a close may land a few ulps (~1e-15 relative) outside [low, high].
NOISE = 1e-9

# implausible-drop removes short runs of bad ticks; a run longer than this is a change of level (an unadjusted
# split, prices switching units), which dropping rows would hide rather than repair.
_MAX_RUN = 5

_FIX_MOVE = (
    "If these are bad ticks, pass repair=['implausible-drop'] (CLI: --repair implausible-drop; strategy: "
    "data.repair: [implausible-drop]) to drop them; if the move is real (a split in raw prices, a change of "
    "units), split-adjust or fix the source, or raise the bound with max_move=... (CLI: --max-move)."
)


def check_max_move(max_move: float | None) -> float:
    """The bound as a float (``inf`` when None, meaning no check), refusing bounds that are not above 1."""
    if max_move is None:
        return math.inf
    try:
        bound = float(max_move)
    except (TypeError, ValueError) as e:
        raise DataError(f"max_move must be a number above 1 (e.g. 10), got {max_move!r}.") from e
    if not bound > 1.0:  # also refuses NaN
        raise DataError(f"max_move must be above 1 (a ratio such as 10 for x10 either way), got {max_move!r}.")
    return bound


def clip_float_noise(frame: pd.DataFrame, rows: Rows, source: str) -> tuple[pd.DataFrame, Repair | None]:
    """Clip an open or close that sits outside [low, high] by at most :data:`NOISE` (relative) onto the bound.

    Further outside is left alone, for the contract check to refuse. Returns the frame (a copy when changed)
    and the notice to report, or None.
    """
    low = frame["low"].to_numpy(dtype=np.float64)
    high = frame["high"].to_numpy(dtype=np.float64)
    changed = np.zeros(len(frame), dtype=bool)
    clipped = {}
    with np.errstate(invalid="ignore"):
        usable = (low > 0) & (high >= low) & np.isfinite(high)
        for col in ("open", "close"):
            values = frame[col].to_numpy(dtype=np.float64)
            above = usable & (values > high) & (values - high <= NOISE * high)
            below = usable & (values < low) & (low - values <= NOISE * low)
            if above.any() or below.any():
                clipped[col] = np.where(above, high, np.where(below, low, values))
                changed |= above | below
    if not changed.any():
        return frame, None
    out = frame.copy()
    for col, values in clipped.items():
        out[col] = values
    n = int(changed.sum())
    where = rows.at(np.flatnonzero(changed), frame.index)
    message = (
        f"{source}: clipped the open or close of {n} bar{'s' if n > 1 else ''} onto [low, high], which "
        f"{'they' if n > 1 else 'it'} missed by at most {NOISE:g} (relative): float noise of adjusted prices "
        f"({where})"
    )
    return out, Repair("float-noise", message, rows=n)


def _move_ratios(frame: pd.DataFrame) -> np.ndarray:
    """Each bar's open, high, low and close over the previous close (the first bar: over its own close)."""
    close = frame["close"].to_numpy(dtype=np.float64)
    reference = np.concatenate((close[:1], close[:-1]))
    prices = frame[list(PRICE_COLUMNS)].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return prices / reference[:, None]  # (N, 4)


def _flagged(ratios: np.ndarray, bound: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return ((ratios > bound) | (ratios < 1.0 / bound)).any(axis=1)


def move_problems(frame: pd.DataFrame, rows: Rows, max_move: float, *, after_drop: bool = False) -> list[str]:
    """One problem line naming the bars that move beyond ``max_move`` from the previous close, or none."""
    if not math.isfinite(max_move) or len(frame) == 0:
        return []
    ratios = _move_ratios(frame)
    flagged = np.flatnonzero(_flagged(ratios, max_move))
    if not len(flagged):
        return []
    first = int(flagged[0])
    with np.errstate(divide="ignore"):
        worst = int(np.argmax(np.abs(np.log(ratios[first]))))
    col = PRICE_COLUMNS[worst]
    value = frame[col].iloc[first]
    if first == 0:
        detail = f"its {col} is {value:.6g} against its own close {frame['close'].iloc[0]:.6g}"
    else:
        detail = f"{col} {value:.6g} after a close of {frame['close'].iloc[first - 1]:.6g}"
    detail += f" (x{ratios[first, worst]:.3g})"
    if after_drop:
        return [
            f"prices move beyond x{max_move:g} from one bar to the next {rows.at(flagged, frame.index)}: {detail}, "
            f"and stay there for more than {_MAX_RUN} bars: a change of level (an unadjusted split? prices in "
            "other units?), not a bad tick, so implausible-drop does not remove it. Fix the source data, "
            "split-adjust, or raise the bound with max_move=... (CLI: --max-move)."
        ]
    return [
        f"implausible prices: a move beyond x{max_move:g} from one bar to the next {rows.at(flagged, frame.index)}: "
        f"{detail}. {_FIX_MOVE}"
    ]


def drop_implausible(
    frame: pd.DataFrame, rows: Rows, source: str, max_move: float
) -> tuple[pd.DataFrame, Rows, Repair | None]:
    """Drop short runs of bad ticks: bars whose prices lie beyond ``max_move`` from the local median close.

    The local median is taken over the 11 bars centred on each bar, so up to 5 bad bars in a row cannot move
    it; only bars next to a flagged bar-to-bar move are candidates, so a steady trend is never touched. A
    lasting change of level is not a bad tick and is left for :func:`move_problems` to refuse.
    """
    if not math.isfinite(max_move) or len(frame) < 2:
        return frame, rows, None
    flagged = np.flatnonzero(_flagged(_move_ratios(frame), max_move))
    if not len(flagged):
        return frame, rows, None
    near = np.zeros(len(frame), dtype=bool)
    for k in flagged:  # few: only the bars around a flagged move
        near[max(0, k - _MAX_RUN) : k + _MAX_RUN + 1] = True
    median = frame["close"].rolling(2 * _MAX_RUN + 1, center=True, min_periods=1).median().to_numpy()
    prices = frame[list(PRICE_COLUMNS)].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = prices / median[:, None]
    drop = near & _flagged(ratio, max_move)
    if not drop.any():
        return frame, rows, None
    positions = np.flatnonzero(drop)
    n = len(positions)
    values = ", ".join(
        f"{format_time(frame.index[p])}: close {frame['close'].iloc[p]:.6g}, high {frame['high'].iloc[p]:.6g}"
        for p in positions[:3]
    )
    message = (
        f"{source}: dropped {n} bar{'s' if n > 1 else ''} with implausible prices, beyond x{max_move:g} from the "
        f"bars around {'them' if n > 1 else 'it'} ({rows.at(positions, frame.index).removeprefix('at ')}; {values}"
        f"{', ...' if n > 3 else ''})"
    )
    keep = np.flatnonzero(~drop)
    return frame.iloc[keep], rows.take(keep), Repair("implausible-drop", message, rows=n)
