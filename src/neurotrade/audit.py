"""The leakage audit: compute the pipeline on a history cut at e and on the same history extended past e, and
require every row before e to be identical.

A causal feature at bar t depends on bars 0..t only, so adding bars after e cannot change any row before e. A
label may look ahead, but only up to its t1: a label whose t1 is before e must not change, and one whose t1 is at
or after e must be missing (NaN) in the cut history rather than guessed. Scaled features are checked for cuts after
the training window, where a scaler fitted on the training rows only cannot move. Cut points are drawn at random
and where leaks like to hide: just after swing highs and lows, and at the borders of coarser timeframes.

The audit calls the same functions the pipeline calls (``features.feature_frame``, ``pipeline.make_labels``,
``pipeline.scale_features``), looked up at call time, so it checks what actually runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from neurotrade import data, features, pipeline
from neurotrade._workspace import resolve_home
from neurotrade.config import Strategy, load_strategy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Leak:
    """One column that changed before the cut when bars after the cut were added."""

    column: str
    kind: str
    cut: pd.Timestamp
    at: pd.Timestamp
    detail: str


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
        One :class:`ColumnAudit` per feature, scaled feature group and label column.
    start_shift
        How many bars the start was moved by to measure each feature's warm-up.
    """

    strategy: str
    cuts: list[pd.Timestamp] = field(default_factory=list)
    columns: list[ColumnAudit] = field(default_factory=list)
    start_shift: int = 0

    @property
    def leaks(self) -> list[Leak]:
        """The first leak of every leaking column."""
        return [c.first_leak for c in self.columns if c.first_leak is not None]

    @property
    def ok(self) -> bool:
        """True when no column leaked at any cut."""
        return not self.leaks


def audit(
    strategy: Strategy | str | Path,
    *,
    home: str | Path | None = None,
    cuts: int = 24,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> AuditReport:
    """Check every feature column and every label of a strategy for look-ahead.

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
        Called with ``(done, total)`` after each cut.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\ndata: {source: synthetic, bars: 600}\\nindicators: {rsi_14: {}}\\n"
    ...                       "nn_inputs: {indicators: [rsi_14]}\\n")
    >>> report = audit(spec, cuts=6)
    >>> report.ok, [c.column for c in report.columns]
    (True, ['1d_rsi_14', 'scaled features', 'label', 't1'])
    """
    spec = strategy if isinstance(strategy, Strategy) else load_strategy(strategy)
    bars = pipeline.load_bars(spec.data, home=resolve_home(home), seed=spec.seed)
    # Not build_features: a leaking feature may leave NaN after the warm-up, which it would refuse; here that is
    # evidence to report, not a reason to stop.
    full = _trimmed(features.feature_frame(bars, spec))
    warmup = len(bars) - len(full)
    horizon = _label_horizon(spec) + 5
    train_times = _training_times(bars, spec, full)
    positions = _cut_points(bars, spec, warmup, horizon, train_times, cuts, seed)
    report = AuditReport(strategy=spec.name)
    columns = {name: ColumnAudit(name, "feature") for name in full.columns}
    scaled = ColumnAudit("scaled features", "scaled")
    label_columns = {name: ColumnAudit(name, "label") for name in ("label", "t1")}
    train_end = bars.index.get_loc(train_times[-1])
    for done, e in enumerate(positions, start=1):
        cut_time = bars.index[e]
        report.cuts.append(cut_time)
        short, long = bars.iloc[:e], bars.iloc[: e + horizon]
        _compare_features(features.feature_frame(short, spec), features.feature_frame(long, spec), cut_time, columns)
        _compare_labels(pipeline.make_labels(short, spec), pipeline.make_labels(long, spec), cut_time, label_columns)
        if e > train_end + 1:
            _compare_scaled(short, long, spec, train_times, cut_time, scaled)
        if progress is not None:
            progress(done, len(positions))
    _measure_warmup(bars, spec, warmup, columns, report)
    report.columns = [*columns.values(), scaled, *label_columns.values()]
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


def _training_times(bars: pd.DataFrame, spec: Strategy, full: pd.DataFrame) -> pd.DatetimeIndex:
    """The first training window's sample times, from the split the pipeline makes on the whole history."""
    labels = pipeline.make_labels(bars, spec).loc[full.index]
    split = pipeline.make_splits(full.index, labels["t1"], spec)[0]
    return full.index[split.train]


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
        period = data.resample(bars, tf).index
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


def _record(audit_of: ColumnAudit, leak_at: pd.Timestamp | None, cut: pd.Timestamp, detail: str) -> None:
    audit_of.cuts += 1
    if leak_at is None:
        return
    audit_of.leaks += 1
    if audit_of.first_leak is None:
        audit_of.first_leak = Leak(audit_of.column, audit_of.kind, cut, leak_at, detail)


def _compare_features(
    short: pd.DataFrame, long: pd.DataFrame, cut: pd.Timestamp, columns: dict[str, ColumnAudit]
) -> None:
    n = len(short)
    for name, audit_of in columns.items():
        a = short[name].to_numpy(dtype=np.float64)
        b = long[name].to_numpy(dtype=np.float64)[:n]
        row = _first_difference(a, b)
        detail = "" if row is None else f"{a[row]!r} with the history cut, {b[row]!r} with more bars after the cut"
        _record(audit_of, None if row is None else short.index[row], cut, detail)


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
    n = len(x_a)
    differs = ~((x_a == x_b[:n]) | (np.isnan(x_a) & np.isnan(x_b[:n])))
    rows = np.flatnonzero(differs.any(axis=1))
    at = frame_a.index[rows[0]] if len(rows) else None
    detail = "" if at is None else f"columns {list(frame_a.columns[differs[rows[0]]])[:3]} moved"
    _record(audit_of, at, cut, detail)


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
    reference = features.feature_frame(bars, spec).iloc[shift:]
    moved = features.feature_frame(bars.iloc[shift:], spec)
    for name, audit_of in columns.items():
        a, b = moved[name].to_numpy(), reference[name].to_numpy()
        close = np.isclose(a, b, rtol=1e-9, atol=0.0) | (np.isnan(a) & np.isnan(b))
        bad = np.flatnonzero(~close)
        audit_of.converges_after = 0 if len(bad) == 0 else (int(bad[-1]) + 1 if bad[-1] < len(a) - 1 else None)
