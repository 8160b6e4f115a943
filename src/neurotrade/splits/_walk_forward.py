"""Walk-forward splits: a model per test block, trained only on what came before it.

After an initial segment, the samples are cut into consecutive test blocks. Each fold trains on the bars before its
block (all of them, or a rolling window of fixed length), keeps the last part of that history as a validation window
for early stopping, and is scored and traded on its block alone. Purge and embargo work as in the chronological
split: a training label that reaches the validation window, or a validation label that reaches the test block, is
dropped, and the first ``embargo`` bars of the validation and test windows are left out.
"""

from __future__ import annotations

import difflib
import logging
from typing import Literal

import numpy as np
import pandas as pd

from neurotrade.errors import SplitError
from neurotrade.splits._chronological import Split

logger = logging.getLogger(__name__)

SCHEMES = ("expanding", "rolling")
# Fractions of a sample count are floored after this nudge so that 0.6 + 0.2 of 20 stays 16, not 15.
_EPS = 1e-9


def end_times_ns(times: pd.DatetimeIndex, t1: pd.Series | pd.DatetimeIndex | np.ndarray) -> tuple[np.ndarray, ...]:
    """Check ``times`` and ``t1`` and return them as int64 nanoseconds, with the mask of decided labels.

    Both are brought to one unit first: pandas may hold them at different resolutions, and comparing raw integers
    across units would purge the wrong samples.
    """
    if not isinstance(times, pd.DatetimeIndex):
        raise SplitError(f"times must be a pandas DatetimeIndex, got {type(times).__name__}; pass frame.index")
    if not (times.is_monotonic_increasing and times.is_unique):
        raise SplitError("times must be strictly increasing and unique; sort the frame and drop duplicate bars first")
    # Numbers would pass as nanoseconds since 1970 and purge nothing; refuse them rather than guess.
    dtype = getattr(t1, "dtype", None)
    if dtype is not None and not (pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_object_dtype(dtype)):
        raise SplitError(f"t1 must hold end times (datetime64), got dtype {dtype}; pass the t1 the labeller returned")
    try:
        # Straight from the Series or array: going through np.asarray would box tz-aware times into objects.
        end_times = pd.DatetimeIndex(t1)
    except (TypeError, ValueError) as error:
        raise SplitError(f"t1 must hold end times (datetime64 or NaT): {error}") from error
    if len(end_times) != len(times):
        raise SplitError(f"t1 has {len(end_times)} values for {len(times)} samples; give one end time per sample")
    if (end_times.tz is None) != (times.tz is None):
        raise SplitError(
            f"t1 is {'tz-naive' if end_times.tz is None else f'in {end_times.tz}'} but times are "
            f"{'tz-naive' if times.tz is None else f'in {times.tz}'}; give both the same time zone (UTC)"
        )
    labelled = ~end_times.isna()
    t_ns = times.as_unit("ns").asi8
    t1_ns = end_times.as_unit("ns").asi8
    if (t1_ns[labelled] < t_ns[labelled]).any():
        raise SplitError("a label ends (t1) before its own bar; t1 must be >= t for every sample")
    return t_ns, t1_ns, labelled


def check_integer(name: str, value: object, low: int, high: int | None = None, why: str = "") -> None:
    """Raise a SplitError unless ``value`` is an integer in [low, high] (no upper bound when high is None)."""
    is_int = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not is_int or value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise SplitError(f"{name} must be an integer {bound}{why}, got {value!r}")


def _fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise SplitError(f"{name} must be a fraction in (0, 1), got {value!r}")


def walk_forward_splits(
    times: pd.DatetimeIndex,
    t1: pd.Series | pd.DatetimeIndex | np.ndarray,
    *,
    folds: int,
    scheme: Literal["expanding", "rolling"] = "expanding",
    first_train: float = 0.4,
    validation: float = 0.2,
    train_window: float | None = None,
    embargo: int = 0,
) -> list[Split]:
    """Cut the samples after an initial segment into test blocks, one fold per block.

    Fold k tests block k and learns from the bars before it: all of them (``"expanding"``) or the last
    ``train_window`` of all samples (``"rolling"``, a window of fixed length that slides with the block). The last
    ``validation`` fraction of that history is the fold's validation window, the rest its training window.

    Parameters
    ----------
    times
        Sample times, strictly increasing.
    t1
        For each sample, the time of the last bar its label depends on (NaT for an undecided label, which is left
        out of every window).
    folds
        Number of test blocks; the bars after the initial segment are shared out among them as evenly as possible.
    scheme
        ``"expanding"`` or ``"rolling"``.
    first_train
        Fraction of all samples before the first test block.
    validation
        Fraction of each fold's history (the bars before its test block) used for validation.
    train_window
        Rolling scheme only: length of the history as a fraction of all samples; defaults to ``first_train`` and
        cannot exceed it, so every fold learns from as many bars.
    embargo
        Bars left out at the start of each validation window and each test block.

    Returns
    -------
    list[Split]
        One :class:`Split` per fold, in time order. ``starts`` gives each window's first bar; the backtest of a
        fold trades ``trading_start`` to ``trading_end`` (inclusive): its test block after the embargo.

    Raises
    ------
    SplitError
        When a parameter is out of range, or a window of some fold is left without samples.

    Examples
    --------
    >>> times = pd.date_range("2024-01-01", periods=40, freq="D", tz="UTC")
    >>> t1 = pd.Series(times).shift(-2)  # every label looks two bars ahead; the last two are undecided
    >>> folds = walk_forward_splits(times, t1, folds=3, first_train=0.4, validation=0.25, embargo=1)
    >>> [(f.starts["test"], f.trading_start, f.trading_end) for f in folds]
    [(16, 17, 23), (24, 25, 31), (32, 33, 39)]
    >>> folds[1].train.tolist(), folds[1].validation.tolist(), folds[1].test.tolist()
    ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [19, 20, 21], [25, 26, 27, 28, 29, 30, 31])
    """
    t_ns, t1_ns, labelled = end_times_ns(times, t1)
    n = len(times)
    if scheme not in SCHEMES:
        close = difflib.get_close_matches(str(scheme), SCHEMES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SplitError(f"unknown walk-forward scheme {scheme!r}; choose one of {', '.join(SCHEMES)}{hint}")
    check_integer("folds", folds, 1)
    check_integer("embargo", embargo, 0, why=" (bars)")
    _fraction("first_train", first_train)
    _fraction("validation", validation)
    if scheme == "expanding" and train_window is not None:
        raise SplitError("train_window applies to the rolling scheme only; drop it or set scheme='rolling'")
    if train_window is None:
        train_window = first_train
    _fraction("train_window", train_window)
    if train_window > first_train + _EPS:
        raise SplitError(
            f"train_window ({train_window:g}) cannot exceed first_train ({first_train:g}): the first fold would "
            "reach back before the first bar; lower train_window or raise first_train"
        )

    initial = int(n * first_train + _EPS)
    window = int(n * train_window + _EPS)
    # Block k spans bounds[k]..bounds[k+1]; integer sharing makes blocks differ by at most one bar.
    bounds = [initial + (k * (n - initial)) // folds for k in range(folds + 1)]
    if min(np.diff(bounds)) < 2 or initial < 2:
        raise SplitError(
            f"{n} samples are too few for an initial segment of {first_train:g} and {folds} test blocks of at "
            "least 2 bars; use more data or fewer folds"
        )

    position = np.arange(n)
    splits: list[Split] = []
    for k in range(folds):
        where = f"walk-forward fold {k + 1} of {folds}"
        test_start, test_end = bounds[k], bounds[k + 1]
        history_start = 0 if scheme == "expanding" else test_start - window
        val_start = test_start - int((test_start - history_start) * validation + _EPS)
        if not history_start < val_start < test_start:
            raise SplitError(
                f"{where}: a validation fraction of {validation:g} of {test_start - history_start} bars leaves "
                f"{'no validation' if val_start == test_start else 'no training'} window; "
                "choose a validation fraction nearer 0.2 or use more data"
            )
        if test_start + embargo >= test_end - 1:
            raise SplitError(
                f"{where}: the test block has {test_end - test_start} bars, which the embargo ({embargo} bars) "
                "leaves no room to trade; use fewer folds, more data or a smaller embargo"
            )
        bounds_k = {
            "train": (history_start, val_start, 0),
            "validation": (val_start, test_start, embargo),
            "test": (test_start, test_end, embargo),
        }
        # A window's labels must end before the next window starts; test labels may run past the block's end,
        # since nothing after the block is learned from in this fold.
        next_start = {"train": t_ns[val_start], "validation": t_ns[test_start], "test": None}
        chosen: dict[str, np.ndarray] = {}
        purged: dict[str, int] = {}
        embargoed: dict[str, int] = {}
        for name, (lo, hi, skip) in bounds_k.items():
            in_window = (position >= lo) & (position < hi) & labelled
            after_embargo = in_window & (position >= lo + skip)
            keep = after_embargo if next_start[name] is None else after_embargo & (t1_ns < next_start[name])
            embargoed[name] = int(in_window.sum() - after_embargo.sum())
            purged[name] = int(after_embargo.sum() - keep.sum())
            chosen[name] = position[keep]
            if not len(chosen[name]):
                raise SplitError(
                    f"{where}: the {name} window has no samples left after purge ({purged[name]}) and embargo "
                    f"({embargoed[name]}); use fewer folds, more data, a shorter label lookahead or a smaller "
                    "embargo"
                )
        splits.append(
            Split(
                train=chosen["train"],
                validation=chosen["validation"],
                test=chosen["test"],
                starts={"train": history_start, "validation": val_start, "test": test_start},
                trading_start=test_start + embargo,
                purged=purged,
                embargoed=embargoed,
                times=times,
                trading_end=test_end - 1,
            )
        )
    logger.debug("walk-forward (%s): %d folds, test blocks start at %s", scheme, folds, bounds[:-1])
    return splits
