"""The locked final holdout: the last share of the history, which no trial of a study ever loads.

A trial's spec gets ``data.end`` = the holdout's first bar, so its bars, and everything computed from them
(indicators, features, labels and their ``t1``, scalers, early stopping), end before the holdout: isolation
by construction, not by care in each stage. ``neurotrade confirm`` is the only path that loads past it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from neurotrade.config import Strategy
from neurotrade.errors import ConfigError


@dataclass(frozen=True)
class Holdout:
    """Where the holdout lies: from ``start`` (its first bar) to ``end`` (the last), ``bars`` bars of the
    (union of the symbols') time axis, ``fraction`` of it; ``dataset`` is the full data's fingerprint."""

    fraction: float
    start: str
    end: str
    bars: int
    dataset: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def locate_holdout(spec: Strategy, home: Path) -> Holdout:
    """The holdout of ``spec``'s data: its last ``search.holdout`` share of bars (of every symbol's bars on one
    time axis for a universe).

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\ndata: {source: synthetic, bars: 1000}\\nindicators: {rsi_14: {}}\\n"
    ...     "nn_inputs: {indicators: [rsi_14]}\\nsearch: {holdout: 0.2, space: {training.epochs: {int: [1, 2]}}}\\n")
    >>> h = locate_holdout(spec, Path(tempfile.mkdtemp()))
    >>> h.bars, h.fraction
    (200, 0.2)
    """
    from neurotrade import data
    from neurotrade._stages import load_bars, load_universe

    if spec.search is None:
        raise ConfigError(f"strategy {spec.name!r} has no search: section; add one with the keys to vary")
    if spec.data.end is not None:
        raise ConfigError(
            "data.end is set: a search locks its own holdout at the end of the data; remove data.end (or choose a "
            "source that ends where the study's data should end)"
        )
    if spec.data.is_universe:
        bars = load_universe(spec.data, home=home, seed=spec.seed)
        times = pd.DatetimeIndex(sorted(set().union(*(b.index for b in bars.values()))))
        dataset = data.universe_fingerprint(bars)
    else:
        one = load_bars(spec.data, home=home, seed=spec.seed)
        times = pd.DatetimeIndex(one.index)
        dataset = data.fingerprint(one)
    fraction = spec.search.holdout
    first = int(len(times) * (1.0 - fraction) + 1e-9)
    if first < 1 or first >= len(times):
        raise ConfigError(f"search.holdout {fraction:g} of {len(times)} bars leaves no bars on one side")
    if spec.data.is_universe:
        late = sorted(s for s, b in bars.items() if b.index[0] >= times[first])
        if late:
            raise ConfigError(
                f"universe symbol(s) {', '.join(late)} begin inside the holdout (from {times[first].date()}): no trial "
                "could train on them; leave them out of the study's universe or lower search.holdout"
            )
    _primary_before(spec, home, times[first])
    return Holdout(
        fraction=fraction,
        start=times[first].isoformat(),
        end=times[-1].isoformat(),
        bars=len(times) - first,
        dataset=dataset,
    )


def _primary_before(spec: Strategy, home: Path, start: pd.Timestamp) -> None:
    """A meta-labelling primary bundle must have been trained before the holdout: its sides there would be in
    sample, and every trial and the confirmation would trade on them."""
    meta = getattr(spec.labels, "meta", None)
    if meta is None or meta.side.bundle is None:
        return
    from neurotrade.store import load_bundle

    name = meta.side.bundle if "/" in meta.side.bundle else f"{meta.side.bundle}/latest-{spec.data.timeframe}"
    until = load_bundle(home / "models", name).documents.get("split", {}).get("trained_until")
    if until is None or pd.Timestamp(until) >= start:
        raise ConfigError(
            f"the primary bundle {name} was trained on bars up to {str(until)[:10]}, at or after the holdout's start "
            f"{start.date()}: its sides on the holdout would be in sample; train the primary with data.end "
            f"{start.date()} or earlier"
        )
