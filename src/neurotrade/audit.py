"""The leakage audit: compute the pipeline on a history cut at e and on the same history extended past e, and
require every row before e to be identical; then check the strategy's real split and everything fitted per fold.

A causal feature at bar t depends on bars 0..t only, so adding bars after e cannot change any row before e, nor
add or remove one. A label may look ahead, but only up to its t1: a label whose t1 is before e must not change,
and one whose t1 is at or after e must be missing (NaN) in the cut history rather than guessed. Scaled features are
checked for cuts after the training window, where a scaler fitted on the training rows only cannot move. Cut
points are drawn at random and where leaks like to hide: just after swing highs and lows, and at the borders of
coarser timeframes.

The split the pipeline makes on the whole history is checked fold by fold: every training label ends (t1) before
the validation window's first bar, every validation label before the test window's, nothing is learned from the
test window, and the embargo bars (the first ``embargo`` bars of the validation and test windows, and those after
the test window) hold no sample they must not. What a fold fits (the scaler, forward-return quantile thresholds,
the training targets, class weights, the models' preparation from training rows, the baselines) is refitted with
every row outside the fold's training samples perturbed, and must come out identical.

The audit calls the same functions the pipeline calls (``features.feature_frame``, ``pipeline.make_labels``,
``pipeline.make_splits``, ``pipeline.scale_features``, ``pipeline.fold_targets``, ``pipeline.regime_targets``, and
the fold's own model preparation and baselines), looked up at call time, so it checks what actually runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from neurotrade import _folds, data, features, pipeline
from neurotrade._workspace import resolve_home
from neurotrade.config import Strategy, load_strategy
from neurotrade.models import build_network
from neurotrade.splits import Split

log = logging.getLogger(__name__)


# The perturbations of the rows outside a fold's training samples: each must leave the fold's fitted state as it was.
# One moves every value above the others and one below, so a quantile over all rows moves under at least one.
PERTURBATIONS = ("scaled by 3 and shifted up", "reversed in time, scaled by -2 and shifted down")


@dataclass(frozen=True)
class Leak:
    """One column (or split check, or fitted state) that changed or broke the rules.

    For a feature or label, ``cut`` is the cut time and ``at`` the row before it that changed. For a split check
    or a fitted state, ``fold`` is the fold (from 1), ``cut`` the first bar of the window that was reached and
    ``at`` the offending sample (or, for fitted state, that same first bar).
    """

    column: str
    kind: str
    cut: pd.Timestamp
    at: pd.Timestamp
    detail: str
    fold: int | None = None


@dataclass
class ColumnAudit:
    """The verdict on one column: how many cuts checked it, the first leak found, and its warm-up."""

    column: str
    kind: str
    cuts: int = 0
    leaks: int = 0
    first_leak: Leak | None = None
    converges_after: int | None = None


@dataclass
class AuditReport:
    """Everything :func:`audit` found.

    Attributes
    ----------
    cuts
        The cut times checked.
    columns
        One :class:`ColumnAudit` per feature, scaled feature group and label column (kinds ``feature``,
        ``scaled``, ``label``; ``cuts`` counts the cuts that checked it), per split check (kind ``split``: ``purge``
        and ``embargo``; ``cuts`` counts folds) and per fitted state (kind ``fitted``; ``cuts`` counts folds times
        perturbations).
    start_shift
        How many bars the start was moved by to measure each feature's warm-up.
    folds
        How many folds of the strategy's split were checked.
    """

    strategy: str
    cuts: list[pd.Timestamp] = field(default_factory=list)
    columns: list[ColumnAudit] = field(default_factory=list)
    start_shift: int = 0
    folds: int = 0

    @property
    def leaks(self) -> list[Leak]:
        """The first leak of every leaking column."""
        return [c.first_leak for c in self.columns if c.first_leak is not None]

    @property
    def ok(self) -> bool:
        """True when no column leaked at any cut, the split held and no fitted state moved."""
        return not self.leaks


def audit(
    strategy: Strategy | str | Path,
    *,
    home: str | Path | None = None,
    cuts: int = 24,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> AuditReport:
    """Check every feature column and every label of a strategy for look-ahead, and its split and fitted state.

    Parameters
    ----------
    strategy
        A :class:`~neurotrade.config.Strategy` or its YAML file.
    home
        The workspace (for ``data.source: store``).
    cuts
        How many cut points to check (a third random, a third after swings, a third at timeframe borders).
    seed
        Seeds the random cut points.
    progress
        Called with ``(done, total)`` after each cut and each fold.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\ndata: {source: synthetic, bars: 600}\\nindicators: {rsi_14: {}}\\n"
    ...                       "nn_inputs: {indicators: [rsi_14]}\\n")
    >>> report = audit(spec, cuts=6)
    >>> report.ok, report.folds, [c.column for c in report.columns if c.kind in ("feature", "label")]
    (True, 4, ['1d_rsi_14', 'label', 't1'])
    >>> [c.column for c in report.columns if c.kind in ("split", "fitted")]
    ['purge', 'embargo', 'scaler', 'training targets', 'baselines']
    """
    spec = strategy if isinstance(strategy, Strategy) else load_strategy(strategy)
    home_dir = resolve_home(home)
    bars = pipeline.load_bars(spec.data, home=home_dir, seed=spec.seed)
    # Not build_features: a leaking feature may leave NaN after the warm-up, which it would refuse; here that is
    # evidence to report, not a reason to stop.
    full = _trimmed(features.feature_frame(bars, spec))
    warmup = len(bars) - len(full)
    horizon = _label_horizon(spec) + 5
    table = pipeline.make_labels(bars, spec, home=home_dir).loc[full.index]
    fold_splits = pipeline.make_splits(full.index, table["t1"], spec)
    train_times = full.index[fold_splits[0].train]
    positions = _cut_points(bars, spec, warmup, horizon, train_times, cuts, seed)
    total = len(positions) + len(fold_splits)
    report = AuditReport(strategy=spec.name, folds=len(fold_splits))
    columns = {name: ColumnAudit(name, "feature") for name in full.columns}
    scaled = ColumnAudit("scaled features", "scaled")
    label_columns = {name: ColumnAudit(name, "label") for name in ("label", "t1")}
    train_end = bars.index.get_loc(train_times[-1])
    for done, e in enumerate(positions, start=1):
        cut_time = bars.index[e]
        report.cuts.append(cut_time)
        short, long = bars.iloc[:e], bars.iloc[: e + horizon]
        _compare_features(features.feature_frame(short, spec), features.feature_frame(long, spec), cut_time, columns)
        _compare_labels(
            pipeline.make_labels(short, spec, home=home_dir),
            pipeline.make_labels(long, spec, home=home_dir),
            cut_time,
            label_columns,
        )
        if e > train_end + 1:
            with _warnings_once():  # the first fold's own fit below says what its scaler has to say, once
                _compare_scaled(short, long, spec, train_times, cut_time, scaled)
        if progress is not None:
            progress(done, total)
    _measure_warmup(bars, spec, warmup, columns, report)
    split_checks = {name: ColumnAudit(name, "split") for name in ("purge", "embargo")}
    fitted: dict[str, ColumnAudit] = {}
    lookback = int(getattr(_seeded_model(spec, full.shape[1]), "lookback", 1))
    for k, split in enumerate(fold_splits):
        # The rows train_fold really uses (looked up at call time), not only the split it was given.
        train, val, test = _folds.fold_rows(split, lookback)
        used = replace(split, train=train, validation=val, test=test)
        check = _check_cpcv_split if split.segments is not None else _check_split
        check(k, used, full.index, table["t1"], spec.split.embargo, split_checks)
        _check_fitted(k, split, bars, full, table, spec, fitted)
        if progress is not None:
            progress(len(positions) + k + 1, total)
    report.columns = [*columns.values(), scaled, *label_columns.values(), *split_checks.values(), *fitted.values()]
    return report


def _label_horizon(spec: Strategy) -> int:
    labels = spec.labels.model_dump()
    for key in ("lookahead", "max_holding", "horizon"):
        if key in labels:
            return int(labels[key])
    return 50


def _trimmed(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame from its first complete row on (the warm-up dropped, later gaps kept)."""
    complete = frame.notna().all(axis=1).to_numpy()
    return frame.iloc[int(np.argmax(complete)) :] if complete.any() else frame.iloc[len(frame) :]


def _cut_points(
    bars: pd.DataFrame,
    spec: Strategy,
    warmup: int,
    horizon: int,
    train_times: pd.DatetimeIndex,
    count: int,
    seed: int,
) -> list[int]:
    """Cut positions: random ones, ones just after swing highs and lows, ones at coarser timeframes' borders."""
    rng = np.random.default_rng(seed)
    lo, hi = warmup + 2, len(bars) - horizon - 1
    if hi <= lo:
        return []
    candidates = np.arange(lo, hi)
    share = max(1, count // 3)
    chosen = set(rng.choice(candidates, size=min(share, len(candidates)), replace=False).tolist())
    close = bars["close"].to_numpy()
    window = 5
    swings = [
        i + 1
        for i in range(lo + window, hi - window)
        if close[i] in (close[i - window : i + window + 1].max(), close[i - window : i + window + 1].min())
    ]
    if swings:
        chosen |= set(rng.choice(swings, size=min(share, len(swings)), replace=False).tolist())
    borders: list[int] = []
    for tf in features.feature_timeframes(spec):
        if tf == spec.data.timeframe:
            continue
        period = data.resample(bars, tf, incomplete="keep").index
        starts = bars.index.searchsorted(period)
        borders += [p + d for p in starts for d in (-1, 0, 1) if lo <= p + d < hi]
    if borders:
        chosen |= set(rng.choice(borders, size=min(share, len(borders)), replace=False).tolist())
    # Always include cuts after the training window, where the scaler check applies.
    after_train = np.flatnonzero(
        (bars.index > train_times[-1]) & (np.arange(len(bars)) >= lo) & (np.arange(len(bars)) < hi)
    )
    if len(after_train):
        chosen |= set(rng.choice(after_train, size=min(share, len(after_train)), replace=False).tolist())
    return sorted(chosen)


def _first_difference(a: np.ndarray, b: np.ndarray) -> int | None:
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return None if same.all() else int(np.argmin(same))


def _record(
    audit_of: ColumnAudit, leak_at: pd.Timestamp | None, cut: pd.Timestamp, detail: str, fold: int | None = None
) -> None:
    audit_of.cuts += 1
    if leak_at is None:
        return
    audit_of.leaks += 1
    if audit_of.first_leak is None:
        audit_of.first_leak = Leak(audit_of.column, audit_of.kind, cut, leak_at, detail, fold)


def _aligned(
    short: pd.Index, long: pd.Index, cut: pd.Timestamp
) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows before the cut in either history, and where each history has them.

    Rows are matched by time, not position: a leaking feature that drops its last rows on a cut history would
    otherwise shift nothing into view and pass. Returns the times, each history's row positions (-1 where it
    lacks the row) and the masks of present rows.
    """
    rows = short[short < cut].union(long[long < cut])
    in_short, in_long = short.get_indexer(rows), long.get_indexer(rows)
    return rows, in_short, in_long, in_short >= 0, in_long >= 0


def _missing_detail(has_short: bool) -> str:
    if has_short:
        return "row present with the history cut, missing with more bars after the cut"
    return "row missing with the history cut, present with more bars after the cut"


def _compare_features(
    short: pd.DataFrame, long: pd.DataFrame, cut: pd.Timestamp, columns: dict[str, ColumnAudit]
) -> None:
    rows, in_short, in_long, has_short, has_long = _aligned(short.index, long.index, cut)
    both = has_short & has_long
    for name, audit_of in columns.items():
        a = np.full(len(rows), np.nan)
        b = np.full(len(rows), np.nan)
        a[has_short] = short[name].to_numpy(dtype=np.float64)[in_short[has_short]]
        b[has_long] = long[name].to_numpy(dtype=np.float64)[in_long[has_long]]
        differs = ~(((a == b) | (np.isnan(a) & np.isnan(b))) & both) & (has_short | has_long)
        row = int(np.argmax(differs)) if differs.any() else None
        if row is None:
            detail = ""
        elif not both[row]:
            detail = _missing_detail(bool(has_short[row]))
        else:
            detail = f"{a[row]!r} with the history cut, {b[row]!r} with more bars after the cut"
        _record(audit_of, None if row is None else rows[row], cut, detail)


def _compare_labels(
    short: pd.DataFrame, long: pd.DataFrame, cut: pd.Timestamp, columns: dict[str, ColumnAudit]
) -> None:
    n = len(short)
    later = long.iloc[:n]
    decided = (later["t1"] < cut).to_numpy()  # labels settled before the cut must not change
    label_a, label_b = short["label"].to_numpy(dtype=np.float64), later["label"].to_numpy(dtype=np.float64)
    expected = np.where(decided, label_b, np.nan)  # and the others must be missing, not guessed
    row = _first_difference(label_a, expected)
    detail = "" if row is None else f"{label_a[row]!r} with the history cut, expected {expected[row]!r}"
    _record(columns["label"], None if row is None else short.index[row], cut, detail)
    t1_a = short["t1"].to_numpy()
    t1_b = np.where(decided, later["t1"].to_numpy(), np.datetime64("NaT"))
    same = (t1_a == t1_b) | (pd.isna(t1_a) & pd.isna(t1_b))
    row = None if same.all() else int(np.argmin(same))
    detail = "" if row is None else f"{t1_a[row]} with the history cut, expected {t1_b[row]}"
    _record(columns["t1"], None if row is None else short.index[row], cut, detail)


def _compare_scaled(
    short: pd.DataFrame,
    long: pd.DataFrame,
    spec: Strategy,
    train_times: pd.DatetimeIndex,
    cut: pd.Timestamp,
    audit_of: ColumnAudit,
) -> None:
    """Scaled rows before the cut must not move: the scaler may only have seen the training rows."""
    frame_a = _trimmed(features.feature_frame(short, spec))
    frame_b = _trimmed(features.feature_frame(long, spec))
    x_a, _ = pipeline.scale_features(frame_a, frame_a.index.get_indexer(train_times))
    x_b, _ = pipeline.scale_features(frame_b, frame_b.index.get_indexer(train_times))
    rows, in_a, in_b, has_a, has_b = _aligned(frame_a.index, frame_b.index, cut)
    missing = np.flatnonzero(has_a != has_b)
    a, b = x_a[in_a[has_a & has_b]], x_b[in_b[has_a & has_b]]
    differs = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    moved = np.flatnonzero(differs.any(axis=1))
    first_moved = rows[has_a & has_b][moved[0]] if len(moved) else None
    first_missing = rows[missing[0]] if len(missing) else None
    if first_missing is not None and (first_moved is None or first_missing < first_moved):
        _record(audit_of, first_missing, cut, _missing_detail(bool(has_a[missing[0]])))
    elif first_moved is not None:
        _record(audit_of, first_moved, cut, f"columns {list(frame_a.columns[differs[moved[0]]])[:3]} moved")
    else:
        _record(audit_of, None, cut, "")


def _measure_warmup(
    bars: pd.DataFrame,
    spec: Strategy,
    warmup: int,
    columns: dict[str, ColumnAudit],
    report: AuditReport,
) -> None:
    """For each feature, how many bars after a later start it takes to agree with the full history (rtol 1e-9).

    Recursive indicators (EMA, Wilder smoothing) remember their start; this says how much data a live system
    must feed them before their values can be trusted.
    """
    shift = min(max(warmup * 2, 50), len(bars) // 4)
    report.start_shift = shift
    moved = features.feature_frame(bars.iloc[shift:], spec)
    reference = features.feature_frame(bars, spec).reindex(moved.index)  # by time: a frame may drop rows
    for name, audit_of in columns.items():
        a, b = moved[name].to_numpy(), reference[name].to_numpy()
        close = np.isclose(a, b, rtol=1e-9, atol=0.0) | (np.isnan(a) & np.isnan(b))
        bad = np.flatnonzero(~close)
        audit_of.converges_after = 0 if len(bad) == 0 else (int(bad[-1]) + 1 if bad[-1] < len(a) - 1 else None)


def _when(t: pd.Timestamp) -> str:
    return f"{t:%Y-%m-%d %H:%M}"


def _window_starts(split: Split) -> tuple[int | None, int]:
    """Positions of the first bar of the validation window (None when there is none before the test window) and
    of the test window: what the split says, or its first sample (or first traded bar) if one comes earlier, so a
    split cannot pass by misstating where its windows begin."""
    said = split.starts
    test = min([split.trading_start, *split.test[:1].tolist(), *([said["test"]] if "test" in said else [])])
    candidates = [*split.validation[:1].tolist(), *([said["validation"]] if "validation" in said else [])]
    validation = min(candidates) if candidates else None
    return (validation if validation is not None and validation < test else None), int(test)


def _check_split(
    k: int,
    split: Split,
    times: pd.DatetimeIndex,
    t1: pd.Series,
    embargo: int,
    checks: dict[str, ColumnAudit],
) -> None:
    """One fold's purge and embargo, against the labels' real end times."""
    fold = k + 1
    val_start, test_start = _window_starts(split)
    ends = pd.DatetimeIndex(t1)
    found = _purge_problem(split, times, ends, val_start, test_start)
    if found is None:
        _record(checks["purge"], None, times[test_start], "", fold)
    else:
        _record(checks["purge"], found[1], found[0], found[2], fold)
    found = _embargo_problem(split, times, embargo, val_start, test_start)
    if found is None:
        _record(checks["embargo"], None, times[test_start], "", fold)
    else:
        _record(checks["embargo"], found[1], found[0], found[2], fold)


def _check_cpcv_split(
    k: int,
    split: Split,
    times: pd.DatetimeIndex,
    t1: pd.Series,
    embargo: int,
    checks: dict[str, ColumnAudit],
) -> None:
    """One CPCV split's purge and embargo, against the labels' real end times (de Prado, 2018, 7.4).

    Purge: no training or validation sample's [t, t1] may touch a test group's span, from the group's first bar to
    the later of its last bar and its test labels' last t1; no training label may reach the validation window.
    Embargo: no training or validation sample may start in the ``embargo`` bars after a group's span.
    """
    fold = k + 1
    ends = pd.DatetimeIndex(t1)
    learned = np.union1d(split.train, split.validation)
    assert split.segments is not None
    purge: tuple[pd.Timestamp, pd.Timestamp, str] | None = None
    embargoed: tuple[pd.Timestamp, pd.Timestamp, str] | None = None
    for start, stop in split.segments:
        tested = split.test[(split.test >= start) & (split.test < stop)]
        span_end = max([times[stop - 1], *ends[tested].dropna()])
        touching = learned[(times[learned] <= span_end) & (ends[learned].isna() | (ends[learned] >= times[start]))]
        if purge is None and len(touching):
            t = times[touching[0]]
            purge = (
                times[start],
                t,
                f"training sample {_when(t)} (label to {_when(ends[touching[0]])}) touches the test group "
                f"{_when(times[start])} to {_when(span_end)}: it was not purged",
            )
        after = int(np.searchsorted(times.asi8, span_end.value, side="right"))
        inside = learned[(learned >= after) & (learned < after + embargo)]
        if embargoed is None and len(inside):
            t = times[inside[0]]
            embargoed = (
                times[min(after, len(times) - 1)],
                t,
                f"training sample {_when(t)} lies in the {embargo} bars after the test group ending {_when(span_end)}: "
                "the embargo must keep them empty",
            )
    if purge is None and len(split.validation) and len(split.train):
        reach = split.train[ends[split.train] >= times[split.validation[0]]]
        if len(reach):
            t = times[reach[0]]
            purge = (times[split.validation[0]], t, f"training sample {_when(t)}'s label reaches the validation window")
    first = times[split.segments[0][0]]
    for name, found in (("purge", purge), ("embargo", embargoed)):
        if found is None:
            _record(checks[name], None, first, "", fold)
        else:
            _record(checks[name], found[1], found[0], found[2], fold)


def _purge_problem(
    split: Split, times: pd.DatetimeIndex, ends: pd.DatetimeIndex, val_start: int | None, test_start: int
) -> tuple[pd.Timestamp, pd.Timestamp, str] | None:
    """The first training or validation sample that lies in or reaches a later window: (border, sample, why)."""
    border, border_name = (val_start, "validation") if val_start is not None else (test_start, "test")
    for window, rows, limit, limit_name in (
        ("training", split.train, border, border_name),
        ("validation", split.validation, test_start, "test"),
    ):
        limit_time = times[limit]
        rows_ends = ends[rows]
        bad = np.flatnonzero((rows >= limit) | rows_ends.isna() | (rows_ends >= limit_time))
        if not len(bad):
            continue
        position, end = rows[bad[0]], rows_ends[bad[0]]
        t = times[position]
        if position >= limit:
            why = f"{window} sample {_when(t)} lies in or after the {limit_name} window ({_when(limit_time)} on)"
        elif pd.isna(end):
            why = f"{window} sample {_when(t)} has no decided label (t1 is NaT)"
        else:
            why = (
                f"{window} sample {_when(t)}'s label ends at {_when(end)} (t1), not before the {limit_name} "
                f"window's first bar {_when(limit_time)}: it was not purged"
            )
        return limit_time, t, why
    return None


def _embargo_problem(
    split: Split, times: pd.DatetimeIndex, embargo: int, val_start: int | None, test_start: int
) -> tuple[pd.Timestamp, pd.Timestamp, str] | None:
    """The first sample in the bars the embargo must keep empty: the first ``embargo`` bars of the validation and
    test windows (of every window's samples) and the ``embargo`` bars after the test window (of training and
    validation samples); and a trading window that starts inside the embargo."""
    if embargo == 0:
        return None
    n = len(times)
    every = np.union1d(np.union1d(split.train, split.validation), split.test)
    learned = np.union1d(split.train, split.validation)
    test_end = int(split.trading_end) if split.trading_end is not None else n - 1
    test_end = max(test_end, int(split.test[-1]) if len(split.test) else test_end)
    zones = [(test_start, "the test window's first", every)]
    if val_start is not None:
        zones.insert(0, (val_start, "the validation window's first", every))
    if test_end + 1 < n:
        zones.append((test_end + 1, "the bars after the test window, first", learned))
    for first, what, rows in zones:
        inside = rows[(rows >= first) & (rows < first + embargo)]
        if len(inside):
            window = (
                "training" if inside[0] in split.train else "validation" if inside[0] in split.validation else "test"
            )
            return (
                times[first],
                times[inside[0]],
                f"{window} sample {_when(times[inside[0]])} lies in {what} {embargo} bars ({_when(times[first])} "
                "on): the embargo must keep them empty",
            )
    if split.trading_start < test_start + embargo:
        return (
            times[test_start],
            times[split.trading_start],
            f"trading starts at {_when(times[split.trading_start])}, inside the test window's first {embargo} bars",
        )
    return None


def _check_fitted(
    k: int,
    split: Split,
    bars: pd.DataFrame,
    frame: pd.DataFrame,
    table: pd.DataFrame,
    spec: Strategy,
    fitted: dict[str, ColumnAudit],
) -> None:
    """Refit the fold's state with every row outside its training samples perturbed; nothing may move."""
    fold = k + 1
    val_start, test_start = _window_starts(split)
    after = frame.index[val_start if val_start is not None else test_start]
    reference = _fitted_state(split, bars, frame, table, spec, with_baselines=k == 0)
    if k == 0 and "baselines" not in reference:
        log.warning("audit fold %d: the scaled features hold NaN after the warm-up; baselines not refitted", fold)
    for how in range(len(PERTURBATIONS)):
        with _warnings_once():
            perturbed = _perturbed(split, bars, frame, table, how)
            state = _fitted_state(split, *perturbed, spec, with_baselines=k == 0)
        for name, arrays in reference.items():
            audit_of = fitted.setdefault(name, ColumnAudit(name, "fitted"))
            moved = name not in state or any(
                a.shape != b.shape or not np.array_equal(a, b, equal_nan=True)
                for a, b in zip(arrays, state.get(name, []), strict=False)
            )
            detail = (
                f"{name} changed when every row outside the fold's training samples was {PERTURBATIONS[how]}: "
                "it depends on more than the training rows"
            )
            _record(audit_of, after if moved else None, after, detail if moved else "", fold)


@contextmanager
def _warnings_once() -> Iterator[None]:
    """Hold back the library's warnings while refitting on cut or perturbed rows: a clean refit repeats the
    reference fit's warnings (constant features, an empty class) word for word, and a leaking one is reported
    anyway."""
    root = logging.getLogger("neurotrade")
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _bars_the_training_labels_span(
    split: Split, bar_times: pd.DatetimeIndex, times: pd.DatetimeIndex, t1: pd.Series
) -> np.ndarray:
    """Which bars lie inside some training sample's [t, t1] (a training label's own bars), as a mask."""
    if not len(split.train):
        return np.zeros(len(bar_times), dtype=bool)
    # searchsorted, not get_indexer: a time missing from the bars must still cover the bars around it.
    starts = np.searchsorted(bar_times.asi8, times[split.train].asi8, side="left")
    ends_at = pd.DatetimeIndex(t1.iloc[split.train])
    ends = np.searchsorted(bar_times.asi8, ends_at.fillna(times[split.train[0]]).asi8, side="right") - 1
    ends = np.clip(np.where(ends_at.isna(), starts, np.maximum(ends, starts)), 0, len(bar_times) - 1)
    starts = np.clip(starts, 0, len(bar_times) - 1)
    steps = np.zeros(len(bar_times) + 1, dtype=np.int64)
    np.add.at(steps, starts, 1)
    np.add.at(steps, ends + 1, -1)
    return np.cumsum(steps[:-1]) > 0


def _perturbed(
    split: Split, bars: pd.DataFrame, frame: pd.DataFrame, table: pd.DataFrame, how: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The bars, features and labels with everything a fold must not learn from changed.

    Feature and label rows outside the training samples are moved (``how`` picks the perturbation); label end
    times stay, since they define the split. Bars outside every training sample's [t, t1] are changed too, so
    what the model prepares from the training rows' own bars (the regime and return targets) cannot depend on
    them; under CPCV the training samples sit on both sides of the test groups, so that is not one cut in time.
    """
    outside = np.ones(len(frame), dtype=bool)
    outside[split.train] = False

    def moved(values: np.ndarray, change: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``values`` with its non-NaN entries outside the training samples changed (reversed first for how=1);
        NaN stays where it is, so an undecided label stays undecided and the split's view of the rows holds."""
        out = values.astype(np.float64, copy=True)
        where = outside & ~np.isnan(out)
        block = out[where] if how == 0 else out[where][::-1]
        out[where] = change(block)
        return out

    def affine(block: np.ndarray) -> np.ndarray:
        return block * 3.0 + 1.0 if how == 0 else -2.0 * block - 1.0

    def rotate(block: np.ndarray) -> np.ndarray:  # classes stay classes: each moved to the next (or the one after)
        return (block + 1.0 + how) % len(_folds.CLASSES)

    new_frame = frame.copy()
    for column in frame.columns:
        new_frame[column] = moved(frame[column].to_numpy(), affine)
    new_table = table.copy()
    for column in table.columns:
        if column != "t1":
            new_table[column] = moved(table[column].to_numpy(), rotate if column == "label" else affine)
    far = ~_bars_the_training_labels_span(split, bars.index, frame.index, table["t1"])
    prices = ["open", "high", "low", "close"]
    new_bars = bars.copy()
    if how == 0:
        new_bars.loc[far, prices] = bars.loc[far, prices].to_numpy() * 1.5
    else:
        new_bars.loc[far, [*prices, "volume"]] = bars.loc[far, [*prices, "volume"]].to_numpy()[::-1]
    return new_bars, new_frame, new_table


def _fitted_state(
    split: Split,
    bars: pd.DataFrame,
    frame: pd.DataFrame,
    table: pd.DataFrame,
    spec: Strategy,
    *,
    with_baselines: bool,
) -> dict[str, list[np.ndarray]]:
    """What ``train_fold`` fits for one fold before training its network, as arrays, through the same calls.

    The network itself is left out (training it three times per fold would make the audit as slow as a run);
    everything it learns from comes through the scaled training rows and targets checked here.
    """
    y, quantiles = pipeline.fold_targets(table, split)
    x, scaler = pipeline.scale_features(frame, split.train)
    state: dict[str, list[np.ndarray]] = {"scaler": [scaler.mean_, scaler.scale_]}
    if quantiles is not None:
        state["quantile thresholds"] = [quantiles.thresholds_]
    model = _seeded_model(spec, x.shape[1])
    lookback = int(getattr(model, "lookback", 1))
    first = lookback - 1
    train, val, _ = _folds.fold_rows(split, lookback)  # the rows train_fold trains and stops on
    state["training targets"] = [y[train]]
    if spec.training.class_weights == "balanced":
        state["class weights"] = [_folds.fold_class_weights(y[train], table)]
    nets = [*getattr(model, "members", []), model]
    finite = bool(np.isfinite(x[train]).all() and np.isfinite(y[train]).all())
    if finite and any(hasattr(net, "init_from") or hasattr(net, "fit_target_scale") for net in nets):
        extras = pipeline.regime_targets(bars, frame.index, table["t1"]) if _folds._needs_extras(model) else None
        for net in nets:
            _folds._prepare(net, x, train, extras, quantiles)
        state["model preparation"] = [v.detach().cpu().numpy() for v in model.state_dict().values()]
    # The baselines predict every row, which NaN left by a leaking feature would stop (a run refuses such a frame
    # before it gets this far, and the feature columns report it). They cost more than everything else here put
    # together (the kNN compares every row with every earlier one), and their fitting code is the same in every
    # fold, so they are refitted for the first fold only, on the rows up to the end of its test window.
    # A CPCV split trains on groups after its test groups too: its baselines see every row.
    end = len(frame) if split.trading_end is None or split.segments is not None else split.trading_end + 1
    if with_baselines and finite and np.isfinite(x[first:end]).all():
        known, also = _folds.neighbours_known(table["t1"], split, val)
        probabilities = _folds._baselines(x[:end], y[:end], frame.index[:end], known.iloc[:end], train, also, first)
        # Compared on the training rows only: there both baselines may use training rows alone (the kNN's
        # neighbours must have been decided before the row, so the validation rows come too late for it).
        state["baselines"] = [p[train] for p in probabilities.values()]
    return state


def _seeded_model(spec: Strategy, n_inputs: int) -> torch.nn.Module:
    """The fold's network as ``train_fold`` builds it, from the strategy's seed, without touching global RNGs."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        return build_network(spec, n_inputs=n_inputs)
