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

A universe is audited through ``neurotrade._universe`` in the same way (``load_universe_data``,
``compute_indicator_panels``, ``add_universe_features``, ``universe_splits``, ``symbol_split``, ``_scale`` and the
pooled fold's targets, preparation and baselines): each cut cuts every symbol at the same time; each symbol's bars
after a cut are also changed one symbol at a time, and no symbol's row before the cut (its own features or the
cross-section) may move; the recomputed feature matrix must be the run's own. The pooled splits are checked in time
on the shared axis for the samples of every symbol, each symbol's traded bars inside its fold's test window; the
fold's fitted state is refitted with every row outside the training samples of all symbols perturbed (and, scaled
per symbol, each symbol's scaler with every row but its own training samples perturbed). Every leak names its
symbol. The rows a window model drops (``lookback - 1`` per symbol) are not re-derived: the split's rows, a
superset, are checked.
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

from neurotrade import _folds, _universe, data, features, pipeline
from neurotrade._workspace import resolve_home
from neurotrade.config import Strategy, load_strategy
from neurotrade.errors import FeatureError
from neurotrade.models import build_network
from neurotrade.splits import PooledSplit, Split

log = logging.getLogger(__name__)


# The perturbations of the rows outside a fold's training samples: each must leave the fold's fitted state as it was.
# One moves every value above the others and one below, so a quantile over all rows moves under at least one.
PERTURBATIONS = ("scaled by 3 and shifted up", "reversed in time, scaled by -2 and shifted down")


@dataclass(frozen=True)
class Leak:
    """One column (or split check, or fitted state) that changed or broke the rules.

    For a feature or label, ``cut`` is the cut time and ``at`` the row before it that changed. For a split check
    or a fitted state, ``fold`` is the fold (from 1), ``cut`` the first bar of the window that was reached and
    ``at`` the offending sample (or, for fitted state, that same first bar). In a universe, ``symbol`` is the
    symbol whose row, sample or fitted state broke the rule (None for one symbol).
    """

    column: str
    kind: str
    cut: pd.Timestamp
    at: pd.Timestamp
    detail: str
    fold: int | None = None
    symbol: str | None = None


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
    symbols
        The symbols of a universe (empty for one symbol). A universe adds the split check ``test window`` and the
        column ``feature matrix`` (kind ``matrix``: the features the audit recomputed are the run's own); each
        column's ``cuts`` then counts every symbol checked, and a leak names its symbol.
    """

    strategy: str
    cuts: list[pd.Timestamp] = field(default_factory=list)
    columns: list[ColumnAudit] = field(default_factory=list)
    start_shift: int = 0
    folds: int = 0
    symbols: list[str] = field(default_factory=list)

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

    A universe (``data.symbols`` or ``data.universe``) is audited through the run's own universe code: every
    symbol's features and labels, and the cross-section over all symbols, on histories cut at each cut time and
    extended past it, and with each symbol's bars from the cut on changed in turn; every pooled fold's purge,
    embargo and test window in time, for every symbol's samples and traded bars; what each pooled fold fits
    (pooled or per-symbol scalers included). A leak names its symbol.

    Parameters
    ----------
    strategy
        A :class:`~neurotrade.config.Strategy` or its YAML file.
    home
        The workspace (for ``data.source: store``, a universe's ``universes.yaml`` and its feature cache).
    cuts
        How many cut points to check (a third random, a third after swings, a third at timeframe borders); in a
        universe, drawn an equal share from each symbol's history, each cutting every symbol.
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

    A universe is checked symbol by symbol and across its symbols, its pooled splits in time on the shared axis
    (the run's feature cache in ``home`` is used, as by a run):

    >>> import tempfile
    >>> spec = parse_strategy("name: u\\ndata: {source: synthetic, symbols: 2, bars: 600}\\nindicators: {rsi_14: {}}\\n"
    ...                       "nn_inputs: {indicators: [rsi_14], cross_section: {rank: [rsi_14]}}\\n")
    >>> report = audit(spec, home=tempfile.mkdtemp(), cuts=3)
    >>> report.ok, report.symbols, [c.column for c in report.columns if c.kind == "split"]
    (True, ['S001', 'S002'], ['purge', 'embargo', 'test window'])
    """
    spec = strategy if isinstance(strategy, Strategy) else load_strategy(strategy)
    home_dir = resolve_home(home)
    if spec.data.is_universe:
        return _audit_universe(spec, home_dir, cuts, seed, progress)
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
        (bars.index > (train_times[-1] if len(train_times) else bars.index[-1]))
        & (np.arange(len(bars)) >= lo)
        & (np.arange(len(bars)) < hi)
    )
    if len(after_train):
        chosen |= set(rng.choice(after_train, size=min(share, len(after_train)), replace=False).tolist())
    return sorted(chosen)


def _first_difference(a: np.ndarray, b: np.ndarray) -> int | None:
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return None if same.all() else int(np.argmin(same))


def _record(
    audit_of: ColumnAudit,
    leak_at: pd.Timestamp | None,
    cut: pd.Timestamp,
    detail: str,
    fold: int | None = None,
    symbol: str | None = None,
) -> None:
    audit_of.cuts += 1
    if leak_at is None:
        return
    audit_of.leaks += 1
    if audit_of.first_leak is None:
        audit_of.first_leak = Leak(audit_of.column, audit_of.kind, cut, leak_at, detail, fold, symbol)


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


# How the two histories a cut compares are named in a leak's detail.
CUT_SIDES = ("with the history cut", "with more bars after the cut")


def _missing_detail(has_short: bool, sides: tuple[str, str] = CUT_SIDES) -> str:
    if has_short:
        return f"row present {sides[0]}, missing {sides[1]}"
    return f"row missing {sides[0]}, present {sides[1]}"


def _compare_features(
    short: pd.DataFrame,
    long: pd.DataFrame,
    cut: pd.Timestamp,
    columns: dict[str, ColumnAudit],
    *,
    symbol: str | None = None,
    sides: tuple[str, str] = CUT_SIDES,
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
            detail = _missing_detail(bool(has_short[row]), sides)
        else:
            detail = f"{a[row]!r} {sides[0]}, {b[row]!r} {sides[1]}"
        _record(audit_of, None if row is None else rows[row], cut, detail, symbol=symbol)


def _compare_labels(
    short: pd.DataFrame,
    long: pd.DataFrame,
    cut: pd.Timestamp,
    columns: dict[str, ColumnAudit],
    *,
    symbol: str | None = None,
) -> None:
    n = len(short)
    later = long.iloc[:n]
    decided = (later["t1"] < cut).to_numpy()  # labels settled before the cut must not change
    label_a, label_b = short["label"].to_numpy(dtype=np.float64), later["label"].to_numpy(dtype=np.float64)
    expected = np.where(decided, label_b, np.nan)  # and the others must be missing, not guessed
    row = _first_difference(label_a, expected)
    detail = "" if row is None else f"{label_a[row]!r} with the history cut, expected {expected[row]!r}"
    _record(columns["label"], None if row is None else short.index[row], cut, detail, symbol=symbol)
    t1_a = short["t1"].to_numpy()
    t1_b = np.where(decided, later["t1"].to_numpy(), np.datetime64("NaT"))
    same = (t1_a == t1_b) | (pd.isna(t1_a) & pd.isna(t1_b))
    row = None if same.all() else int(np.argmin(same))
    detail = "" if row is None else f"{t1_a[row]} with the history cut, expected {t1_b[row]}"
    _record(columns["t1"], None if row is None else short.index[row], cut, detail, symbol=symbol)


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
    train: np.ndarray, bar_times: pd.DatetimeIndex, times: pd.DatetimeIndex, t1: pd.Series
) -> np.ndarray:
    """Which bars lie inside some training sample's [t, t1] (a training label's own bars), as a mask."""
    if not len(train):
        return np.zeros(len(bar_times), dtype=bool)
    # searchsorted, not get_indexer: a time missing from the bars must still cover the bars around it.
    starts = np.searchsorted(bar_times.asi8, times[train].asi8, side="left")
    ends_at = pd.DatetimeIndex(t1.iloc[train])
    ends = np.searchsorted(bar_times.asi8, ends_at.fillna(times[train[0]]).asi8, side="right") - 1
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
    new_frame, new_table = _perturbed_samples(frame, table, outside, how)
    far = ~_bars_the_training_labels_span(split.train, bars.index, frame.index, table["t1"])
    return _perturbed_bars(bars, far, how), new_frame, new_table


def _perturbed_samples(
    frame: pd.DataFrame, table: pd.DataFrame, outside: np.ndarray, how: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The feature and label rows marked ``outside`` moved by perturbation ``how`` (label end times kept)."""

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
    return new_frame, new_table


def _perturbed_bars(bars: pd.DataFrame, far: np.ndarray, how: int) -> pd.DataFrame:
    """The bars with those marked ``far`` scaled (how=0) or reversed in time (how=1); each bar stays valid."""
    prices = ["open", "high", "low", "close"]
    new_bars = bars.copy()
    if how == 0:
        new_bars.loc[far, prices] = bars.loc[far, prices].to_numpy() * 1.5
    else:
        new_bars.loc[far, [*prices, "volume"]] = bars.loc[far, [*prices, "volume"]].to_numpy()[::-1]
    return new_bars


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


# --- universes ---------------------------------------------------------------------------------------------------

# The split checks of a universe's folds: the purge and embargo in time on the shared axis, and every symbol's test
# samples and traded bars inside the fold's test window.
POOLED_SPLIT_CHECKS = ("purge", "embargo", "test window")

# (first bar of the window reached, offending sample, why, symbol): what a pooled split check found.
Problem = tuple[pd.Timestamp, pd.Timestamp, str, str | None]


def _audit_universe(
    spec: Strategy, home: Path, cuts: int, seed: int, progress: Callable[[int, int], None] | None
) -> AuditReport:
    """:func:`audit` of a universe, through the universe's own code (``neurotrade._universe``, looked up at call
    time): every symbol's features, the cross-section over all of them and every symbol's labels on cut and
    extended histories; each symbol's future bars changed one symbol at a time; the pooled splits in time; what
    each pooled fold fits."""
    u, refused = _load_universe(spec, home)
    bars = u.bars if u is not None else _universe.load_universe(spec.data, home=home, seed=spec.seed)
    symbols = list(bars)
    specs = {s: _universe._one_symbol(spec, s) for s in symbols}
    own = _own_frames(bars, specs, spec)
    full = _universe.add_universe_features(own, spec)
    fold_splits = [] if u is None else _universe.universe_splits(u, spec)
    report = AuditReport(strategy=spec.name, folds=len(fold_splits), symbols=symbols)
    columns = {name: ColumnAudit(name, "feature") for name in full[symbols[0]].columns}
    matrix = ColumnAudit("feature matrix", "matrix")
    if u is not None:
        _compare_matrix(full, u, matrix)
    scaled = ColumnAudit("scaled features", "scaled")
    label_columns = {name: ColumnAudit(name, "label") for name in ("label", "t1")}
    train_times = _first_training_times(fold_splits, u, symbols)
    horizon = _label_horizon(spec) + 5
    cut_times = _universe_cut_times(bars, specs, own, horizon, train_times, cuts, seed)
    scaled_from = _after_first_training_window(fold_splits)
    total = len(cut_times) + len(fold_splits)
    for done, cut in enumerate(cut_times, start=1):
        report.cuts.append(cut)
        short, long = _cut_universe(bars, specs, own, spec, cut, horizon, columns, label_columns)
        if u is not None and scaled_from is not None and cut > scaled_from:
            with _warnings_once():
                _compare_scaled_universe(short, long, u, spec, train_times, cut, scaled)
        if len(symbols) > 1:
            _change_future_bars(bars, specs, full, spec, cut, columns)
        if progress is not None:
            progress(done, total)
    _measure_universe_warmup(bars, specs, own, full, spec, columns, report)
    split_checks = {name: ColumnAudit(name, "split") for name in POOLED_SPLIT_CHECKS}
    fitted: dict[str, ColumnAudit] = {}
    for k, split in enumerate(fold_splits):
        assert u is not None
        _check_pooled_split(k, split, u, spec.split.embargo, split_checks)
        _check_pooled_fitted(k, split, u, spec, fitted)
        if progress is not None:
            progress(len(cut_times) + k + 1, total)
    report.columns = [
        *columns.values(),
        *([matrix] if u is not None else []),
        scaled,
        *label_columns.values(),
        *(split_checks.values() if fold_splits else []),
        *fitted.values(),
    ]
    if refused is not None:
        if report.ok:
            raise refused
        log.warning("the run refuses these features (%s): its split and fitted state were not checked", refused)
    return report


def _load_universe(spec: Strategy, home: Path) -> tuple[_universe.UniverseData | None, FeatureError | None]:
    """The run's own universe data, or the error with which the run refuses its features (NaN after the warm-up,
    which a leaking feature may leave: evidence the cuts then report, not a reason to stop)."""
    try:
        return _universe.load_universe_data(spec, home, lambda event: None), None
    except FeatureError as error:
        return None, error


def _own_frames(
    bars: dict[str, pd.DataFrame],
    specs: dict[str, Strategy],
    spec: Strategy,
    empty: dict[str, pd.DataFrame] | None = None,
) -> dict[str, pd.DataFrame]:
    """Each symbol's own features, warm-up trimmed, computed as the run computes them: every symbol's indicators
    at once (``compute_indicator_panels``, looked up in ``neurotrade._universe``), then its features from them.
    Not the run's ``build_features``: a leaking feature may leave NaN after the warm-up, which it refuses. A symbol
    without bars (listed after a cut) gets ``empty[symbol]``."""
    present = {s: b for s, b in bars.items() if len(b)}
    raw = _universe.compute_indicator_panels(present, spec.indicators, spec.indicators_device) if present else {}
    out = {}
    for s, b in bars.items():
        if s in raw:
            out[s] = _trimmed(features.feature_frame(b, specs[s], raw=raw[s]))
        else:
            assert empty is not None, f"{s} has no bars"
            out[s] = empty[s]
    return out


def _stacked(frames: dict[str, pd.DataFrame], symbols: list[str]) -> tuple[pd.DataFrame, dict[str, slice]]:
    """The frames stacked symbol by symbol, as the run stacks its samples, and each symbol's slice."""
    sizes = np.cumsum([0] + [len(frames[s]) for s in symbols])
    blocks = {s: slice(int(sizes[j]), int(sizes[j + 1])) for j, s in enumerate(symbols)}
    return pd.concat([frames[s] for s in symbols]), blocks


def _compare_matrix(full: dict[str, pd.DataFrame], u: _universe.UniverseData, audit_of: ColumnAudit) -> None:
    """The features the audit recomputes must be the run's own, row for row, or it would audit something else
    (a cache entry from other code, a stage the audit does not call)."""
    for s in u.symbols:
        ours, theirs = full[s], u.frame.iloc[u.blocks[s]]
        at, detail = None, ""
        if list(ours.columns) != list(theirs.columns):
            at = theirs.index[0] if len(theirs) else ours.index[0]
            detail = f"{s}: columns {list(theirs.columns)[:4]}... in the run, {list(ours.columns)[:4]}... recomputed"
        elif not ours.index.equals(theirs.index):
            odd = ours.index.symmetric_difference(theirs.index)
            at = odd[0] if len(odd) else theirs.index[0]
            detail = f"{s}: row {_when(at)} is in only one of the run's matrix and the recomputed one"
        else:
            a, b = ours.to_numpy(dtype=np.float64), theirs.to_numpy(dtype=np.float64)
            differs = ~((a == b) | (np.isnan(a) & np.isnan(b)))
            if differs.any():
                row, col = np.argwhere(differs)[0]
                at = theirs.index[row]
                value, ours_value = b[row, col], a[row, col]
                detail = f"{s} {ours.columns[col]} at {_when(at)}: {value!r} in the run, {ours_value!r} recomputed"
        if at is None:
            _record(audit_of, None, pd.Timestamp(0, tz="UTC"), "")
        else:
            _record(audit_of, at, at, f"{detail}: the run does not use the features audited here", symbol=s)


def _first_training_times(
    fold_splits: list[PooledSplit], u: _universe.UniverseData | None, symbols: list[str]
) -> dict[str, pd.DatetimeIndex]:
    """The times of each symbol's training samples in the first fold (none without folds)."""
    empty = pd.DatetimeIndex([], tz="UTC")
    if not fold_splits or u is None:
        return {s: empty for s in symbols}
    train = fold_splits[0].rows.train
    out = {}
    for s in symbols:
        block = u.blocks[s]
        mine = train[(train >= block.start) & (train < block.stop)] - block.start
        out[s] = u.times(s)[mine]
    return out


def _after_first_training_window(fold_splits: list[PooledSplit]) -> pd.Timestamp | None:
    """The bar of the shared axis after the first fold's last training sample: cuts after it check the scaler."""
    if not fold_splits or not len(fold_splits[0].rows.train):
        return None
    first = fold_splits[0]
    last = first.rows.times[first.rows.train].max()
    axis = first.time.times
    return axis[min(int(axis.searchsorted(last, side="right")), len(axis) - 1)]


def _universe_cut_times(
    bars: dict[str, pd.DataFrame],
    specs: dict[str, Strategy],
    own: dict[str, pd.DataFrame],
    horizon: int,
    train_times: dict[str, pd.DatetimeIndex],
    count: int,
    seed: int,
) -> list[pd.Timestamp]:
    """Cut times drawn from every symbol's own history (random, after its swings, at its coarser timeframes'
    borders, after the training window), an equal share each; each cut then cuts every symbol."""
    share = max(1, -(-count // len(bars)))
    chosen: set[pd.Timestamp] = set()
    for j, (s, b) in enumerate(bars.items()):
        positions = _cut_points(b, specs[s], len(b) - len(own[s]), horizon, train_times[s], share, seed + j)
        chosen |= {b.index[e] for e in positions}
    return sorted(chosen)


def _cut_universe(
    bars: dict[str, pd.DataFrame],
    specs: dict[str, Strategy],
    own: dict[str, pd.DataFrame],
    spec: Strategy,
    cut: pd.Timestamp,
    horizon: int,
    columns: dict[str, ColumnAudit],
    label_columns: dict[str, ColumnAudit],
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Cut every symbol's history at ``cut`` and extend it ``horizon`` of its bars past it: every symbol's
    features (its own and the cross-section) and labels before the cut must not change. A symbol listed after the
    cut has no bar in the cut history; one whose history ends before it has all of its bars in both. Returns both
    universes' feature frames."""
    short_bars: dict[str, pd.DataFrame] = {}
    long_bars: dict[str, pd.DataFrame] = {}
    for s, b in bars.items():
        e = int(b.index.searchsorted(cut))
        short_bars[s], long_bars[s] = b.iloc[:e], b.iloc[: e + horizon]
        if 0 < e < len(b):
            _compare_labels(
                _universe.make_labels(short_bars[s], spec),
                _universe.make_labels(long_bars[s], spec),
                cut,
                label_columns,
                symbol=s,
            )
    empty = {s: frame.iloc[:0] for s, frame in own.items()}
    short = _universe.add_universe_features(_own_frames(short_bars, specs, spec, empty), spec)
    long = _universe.add_universe_features(_own_frames(long_bars, specs, spec, empty), spec)
    for s in bars:
        _compare_features(short[s], long[s], cut, columns, symbol=s)
    return short, long


def _change_future_bars(
    bars: dict[str, pd.DataFrame],
    specs: dict[str, Strategy],
    full: dict[str, pd.DataFrame],
    spec: Strategy,
    cut: pd.Timestamp,
    columns: dict[str, ColumnAudit],
) -> None:
    """Change one symbol's bars from the cut on (reversed in time and scaled), one symbol at a time: no symbol's
    features before the cut, its own or the cross-section over all, may move. Truncating every symbol at once
    cannot see a cross-section that lines symbols up by position instead of time; this can."""
    for changed, b in bars.items():
        later = np.arange(len(b)) >= int(b.index.searchsorted(cut))
        if not later.any():
            continue
        moved_bars = _perturbed_bars(_perturbed_bars(b, later, 1), later, 0)
        # Every symbol recomputed: the run computes all symbols' indicators together.
        moved = _universe.add_universe_features(_own_frames({**bars, changed: moved_bars}, specs, spec), spec)
        sides = ("as loaded", f"with {changed}'s bars from the cut on changed")
        for s in bars:
            _compare_features(full[s], moved[s], cut, columns, symbol=s, sides=sides)


def _scaled_universe(
    frames: dict[str, pd.DataFrame], u: _universe.UniverseData, spec: Strategy, train_times: dict[str, pd.DatetimeIndex]
) -> tuple[np.ndarray, dict[str, slice]]:
    """The universe's frames stacked and scaled by the run's own scaling, fitted on the first fold's training
    samples (found by symbol and time)."""
    stacked, blocks = _stacked(frames, u.symbols)
    train = []
    for s in u.symbols:
        at = frames[s].index.get_indexer(train_times[s])
        train.append(blocks[s].start + at[at >= 0])
    x, _ = _universe._scale(replace(u, frame=stacked, blocks=blocks), np.concatenate(train), spec)
    return x, blocks


def _compare_scaled_universe(
    short: dict[str, pd.DataFrame],
    long: dict[str, pd.DataFrame],
    u: _universe.UniverseData,
    spec: Strategy,
    train_times: dict[str, pd.DatetimeIndex],
    cut: pd.Timestamp,
    audit_of: ColumnAudit,
) -> None:
    """Scaled rows of every symbol before the cut must not move: the scaler may only have seen training rows."""
    x_a, blocks_a = _scaled_universe(short, u, spec, train_times)
    x_b, blocks_b = _scaled_universe(long, u, spec, train_times)
    for s in u.symbols:
        rows, in_a, in_b, has_a, has_b = _aligned(short[s].index, long[s].index, cut)
        missing = np.flatnonzero(has_a != has_b)
        both = has_a & has_b
        a, b = x_a[blocks_a[s]][in_a[both]], x_b[blocks_b[s]][in_b[both]]
        differs = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        moved = np.flatnonzero(differs.any(axis=1))
        first_moved = rows[both][moved[0]] if len(moved) else None
        first_missing = rows[missing[0]] if len(missing) else None
        if first_missing is not None and (first_moved is None or first_missing < first_moved):
            _record(audit_of, first_missing, cut, f"{s}: {_missing_detail(bool(has_a[missing[0]]))}", symbol=s)
            return
        if first_moved is not None:
            names = list(short[s].columns[differs[moved[0]]])[:3]
            _record(audit_of, first_moved, cut, f"{s}: columns {names} moved", symbol=s)
            return
    _record(audit_of, None, cut, "")


def _measure_universe_warmup(
    bars: dict[str, pd.DataFrame],
    specs: dict[str, Strategy],
    own: dict[str, pd.DataFrame],
    full: dict[str, pd.DataFrame],
    spec: Strategy,
    columns: dict[str, ColumnAudit],
    report: AuditReport,
) -> None:
    """:func:`_measure_warmup` with every symbol's start moved at once: a column converges after the most bars
    any symbol needs (the cross-section waits for every symbol it ranks)."""
    warmup = max(len(b) - len(own[s]) for s, b in bars.items())
    shift = min(max(warmup * 2, 50), min(len(b) for b in bars.values()) // 4)
    report.start_shift = shift
    moved_start = {s: b.iloc[shift:] for s, b in bars.items()}
    later = _universe.add_universe_features(_own_frames(moved_start, specs, spec), spec)
    worst: dict[str, int | None] = dict.fromkeys(columns, 0)
    for s, b in bars.items():
        moved, reference = later[s], full[s].reindex(later[s].index)  # by time
        after_start = b.index[shift:].get_indexer(moved.index)  # bars from the moved start to each row
        for name in columns:
            a, r = moved[name].to_numpy(), reference[name].to_numpy()
            bad = np.flatnonzero(~(np.isclose(a, r, rtol=1e-9, atol=0.0) | (np.isnan(a) & np.isnan(r))))
            if not len(bad):
                continue
            needed = None if bad[-1] == len(a) - 1 else int(after_start[bad[-1]]) + 1
            current = worst[name]
            worst[name] = None if needed is None or current is None else max(current, needed)
    for name, audit_of in columns.items():
        audit_of.converges_after = worst[name]


def _check_pooled_split(
    k: int, split: PooledSplit, u: _universe.UniverseData, embargo: int, checks: dict[str, ColumnAudit]
) -> None:
    """One pooled fold's purge, embargo and test window, in time on the shared axis, for every symbol's samples."""
    fold = k + 1
    times = pd.DatetimeIndex(u.frame.index)
    ends = pd.DatetimeIndex(u.table["t1"])
    names = np.asarray(u.symbols)[u.symbol_of_row]
    if split.time.segments is not None:  # the spec refuses CPCV for a universe; its check would be another one
        raise NotImplementedError("the audit checks a universe's walk-forward or chronological splits, not CPCV")
    found = _pooled_problems(split, u, times, ends, names, embargo)
    first = split.time.times[_window_starts(split.time)[1]]
    for name in POOLED_SPLIT_CHECKS:
        problem = found.get(name)
        if problem is None:
            _record(checks[name], None, first, "", fold)
        else:
            _record(checks[name], problem[1], problem[0], problem[2], fold, problem[3])


def _sample(r: int, names: np.ndarray, window: str, times: pd.DatetimeIndex) -> str:
    return f"{names[r]} {window} sample {_when(times[r])}"


def _reaching(
    rows: np.ndarray,
    window: str,
    borders: list[tuple[pd.Timestamp, str]],
    times: pd.DatetimeIndex,
    ends: pd.DatetimeIndex,
    names: np.ndarray,
) -> Problem | None:
    """The first of ``rows`` (one window's samples, any symbol) that has no decided label, lies in a later window or
    whose label reaches (t1) a later window's first bar; the latest window first, so a label reaching the test
    window is named as such."""
    undecided = rows[ends[rows].isna()]
    if len(undecided):
        r = undecided[0]
        why = f"{_sample(r, names, window, times)} has no decided label (t1 is NaT)"
        return borders[-1][0], times[r], why, str(names[r])
    for border, border_name in borders:
        inside = rows[times[rows] >= border]
        if len(inside):
            r = inside[0]
            why = f"{_sample(r, names, window, times)} lies in or after the {border_name} window ({_when(border)} on)"
            return border, times[r], why, str(names[r])
        reach = rows[ends[rows] >= border]
        if len(reach):
            r = reach[0]
            why = (
                f"{_sample(r, names, window, times)}'s label ends at {_when(ends[r])} (t1), not before the "
                f"{border_name} window's first bar {_when(border)}: it was not purged"
            )
            return border, times[r], why, str(names[r])
    return None


def _pooled_problems(
    split: PooledSplit,
    u: _universe.UniverseData,
    times: pd.DatetimeIndex,
    ends: pd.DatetimeIndex,
    names: np.ndarray,
    embargo: int,
) -> dict[str, Problem | None]:
    """A walk-forward or chronological pooled fold against the windows of its time split: no training or
    validation sample of any symbol in or reaching (t1) a later window; no sample in the first ``embargo`` bars of
    the shared axis of the validation and test windows, nor a training or validation one in those after the test
    window; every test sample, and every symbol's traded bars, inside the fold's test window."""
    axis, rows = split.time.times, split.rows
    n = len(axis)
    val_start, test_start = _window_starts(split.time)
    test_end = n - 1 if split.time.trading_end is None else int(split.time.trading_end)
    if len(split.time.test):
        test_end = max(test_end, int(split.time.test[-1]))
    borders = [(axis[test_start], "test")]
    if val_start is not None:
        borders.append((axis[val_start], "validation"))
    out: dict[str, Problem | None] = {
        "purge": _reaching(rows.train, "training", borders, times, ends, names)
        or _reaching(rows.validation, "validation", borders[:1], times, ends, names)
    }
    learned = np.union1d(rows.train, rows.validation)
    every = np.union1d(learned, rows.test)
    zones = [(test_start, "the test window's first", every)]
    if val_start is not None:
        zones.insert(0, (val_start, "the validation window's first", every))
    if test_end + 1 < n:
        zones.append((test_end + 1, "the bars after the test window, first", learned))
    out["embargo"] = None
    for first, what, chosen in zones if embargo else []:
        stop = axis[first + embargo] if first + embargo < n else None
        inside = chosen[(times[chosen] >= axis[first]) & ((times[chosen] < stop) if stop is not None else True)]
        if len(inside):
            r = inside[0]
            window = "training" if r in rows.train else "validation" if r in rows.validation else "test"
            out["embargo"] = (
                axis[first],
                times[r],
                f"{_sample(r, names, window, times)} lies in {what} {embargo} bars of the shared time axis "
                f"({_when(axis[first])} on): the embargo must keep them empty",
                str(names[r]),
            )
            break
    trading_start = int(split.time.trading_start)
    if out["embargo"] is None and embargo and trading_start < test_start + embargo:
        out["embargo"] = (
            axis[test_start],
            axis[trading_start],
            f"trading starts at {_when(axis[trading_start])}, inside the test window's first {embargo} bars",
            None,
        )
    out["test window"] = _outside_test_window(
        split, u, times, names, (axis[test_start], axis[test_end]), (axis[trading_start], axis[test_end])
    )
    return out


def _outside_test_window(
    split: PooledSplit,
    u: _universe.UniverseData,
    times: pd.DatetimeIndex,
    names: np.ndarray,
    tested: tuple[pd.Timestamp, pd.Timestamp],
    traded: tuple[pd.Timestamp, pd.Timestamp],
) -> Problem | None:
    """A test sample outside the fold's test window ``tested``, or a symbol whose traded bars (``symbol_split``,
    what each symbol is traded over) reach outside the fold's trading window ``traded``."""
    test = split.rows.test
    t = times[test]
    outside = test[(t < tested[0]) | (t > tested[1])]
    if len(outside):
        r = outside[0]
        why = (
            f"{_sample(r, names, 'test', times)} lies outside the fold's test window ({_when(tested[0])} to "
            f"{_when(tested[1])})"
        )
        return tested[0], times[r], why, str(names[r])
    for s in u.symbols:
        mine = _universe.symbol_split(split, u, s)
        if mine is None:
            continue
        end = len(mine.times) - 1 if mine.trading_end is None else int(mine.trading_end)
        first, last = mine.times[int(mine.trading_start)], mine.times[end]
        if first < traded[0] or last > traded[1]:
            why = (
                f"{s} is traded from {_when(first)} to {_when(last)}, outside the fold's trading window "
                f"({_when(traded[0])} to {_when(traded[1])})"
            )
            return traded[0], first, why, s
    return None


def _check_pooled_fitted(
    k: int, split: PooledSplit, u: _universe.UniverseData, spec: Strategy, fitted: dict[str, ColumnAudit]
) -> None:
    """Refit the pooled fold's state with every row outside its training samples (of every symbol) perturbed;
    nothing may move. With ``scaling: per_symbol``, each symbol's scaler is refitted with every row but that
    symbol's own training samples perturbed, the other symbols' training rows included."""
    fold = k + 1
    val_start, test_start = _window_starts(split.time)
    after = split.time.times[val_start if val_start is not None else test_start]
    train = split.rows.train
    reference = _pooled_fitted_state(split, u, spec, with_baselines=k == 0)
    for how in range(len(PERTURBATIONS)):
        with _warnings_once():
            state = _pooled_fitted_state(split, _perturbed_universe(u, train, how), spec, with_baselines=k == 0)
        for name, per in reference.items():
            moved = [who for who, arrays in per.items() if _moved(arrays, state.get(name, {}).get(who))]
            who = moved[0] if moved else None
            whose = f"{name} of {who}" if who else name
            detail = (
                f"{whose} changed when every row outside the fold's training samples (of every symbol) was "
                f"{PERTURBATIONS[how]}: it depends on more than the training rows"
            )
            audit_of = fitted.setdefault(name, ColumnAudit(name, "fitted"))
            _record(audit_of, after if moved else None, after, detail if moved else "", fold, who)
    if spec.nn_inputs.scaling != "per_symbol":
        return
    for s in u.symbols:
        block = u.blocks[s]
        mine = train[(train >= block.start) & (train < block.stop)]
        for how in range(len(PERTURBATIONS)):
            with _warnings_once():
                _, scalers = _universe._scale(_perturbed_universe(u, mine, how), train, spec)
            moved = _moved(reference["scaler"][s], [scalers[s].mean_, scalers[s].scale_])
            detail = (
                f"scaler of {s} changed when every row outside {s}'s own training samples (the other symbols' "
                f"included) was {PERTURBATIONS[how]}: with scaling per_symbol it must depend on {s}'s rows only"
            )
            if moved:
                _record(fitted["scaler"], after, after, detail, fold, s)
            else:
                _record(fitted["scaler"], None, after, "", fold)


def _moved(reference: list[np.ndarray], state: list[np.ndarray] | None) -> bool:
    return state is None or any(
        a.shape != b.shape or not np.array_equal(a, b, equal_nan=True) for a, b in zip(reference, state, strict=False)
    )


def _perturbed_universe(u: _universe.UniverseData, keep: np.ndarray, how: int) -> _universe.UniverseData:
    """The universe with every stacked sample outside ``keep`` perturbed (:func:`_perturbed_samples`), and each
    symbol's bars outside its kept samples' [t, t1] changed (:func:`_perturbed_bars`)."""
    outside = np.ones(len(u.frame), dtype=bool)
    outside[keep] = False
    frame, table = _perturbed_samples(u.frame, u.table, outside, how)
    bars = {}
    for s in u.symbols:
        block = u.blocks[s]
        mine = keep[(keep >= block.start) & (keep < block.stop)] - block.start
        far = ~_bars_the_training_labels_span(mine, u.bars[s].index, u.times(s), u.table["t1"].iloc[block])
        bars[s] = _perturbed_bars(u.bars[s], far, how)
    return replace(u, frame=frame, table=table, bars=bars)


def _pooled_fitted_state(
    split: PooledSplit, u: _universe.UniverseData, spec: Strategy, *, with_baselines: bool
) -> dict[str, dict[str | None, list[np.ndarray]]]:
    """What ``train_pooled_fold`` fits before training its network, through the same calls, by name and by symbol
    (None: the pooled state of every symbol together)."""
    rows = split.rows
    y, quantiles = _universe.fold_targets(u.table, rows)
    x, scalers = _universe._scale(u, rows.train, spec)
    state: dict[str, dict[str | None, list[np.ndarray]]] = {
        "scaler": {(None if key == "*" else key): [sc.mean_, sc.scale_] for key, sc in scalers.items()}
    }
    if quantiles is not None:
        state["quantile thresholds"] = {None: [quantiles.thresholds_]}
    model = _seeded_model(spec, x.shape[1])
    first = int(getattr(model, "lookback", 1)) - 1
    offset = _universe._offset_in_symbol(u)
    train, val = (r[offset[r] >= first] for r in (rows.train, rows.validation))  # as train_pooled_fold picks them
    state["training targets"] = {None: [y[train]]}
    if spec.training.class_weights == "balanced":
        state["class weights"] = {None: [_universe.fold_class_weights(y[train], u.table)]}
    nets = [*getattr(model, "members", []), model]
    finite = bool(np.isfinite(x[train]).all() and np.isfinite(y[train]).all())
    if finite and any(hasattr(net, "init_from") or hasattr(net, "fit_target_scale") for net in nets):
        extras = None
        if _folds._needs_extras(model):
            per_symbol = [
                _universe.regime_targets(u.bars[s], u.times(s), u.table["t1"].iloc[u.blocks[s]]) for s in u.symbols
            ]
            extras = {key: np.concatenate([p[key] for p in per_symbol]) for key in ("ret", "vol")}
        for net in nets:
            _folds._prepare(net, x, train, extras, quantiles)
        state["model preparation"] = {None: [v.detach().cpu().numpy() for v in model.state_dict().values()]}
    # The baselines predict every stacked row, as in the run; refitted in the first fold only (see _fitted_state).
    if with_baselines and finite and np.isfinite(x).all():
        known, also = _universe.neighbours_known(u.table["t1"], split.time, val)
        probabilities = _universe._baselines(x, y, pd.DatetimeIndex(u.frame.index), known, train, also, 0)
        state["baselines"] = {None: [p[train] for p in probabilities.values()]}
    return state
