"""The primary signal of meta-labelling: the side (+1 long, -1 short, 0 none) a rule or a saved model takes at each
bar's close.

The batch run computes it over the whole history (:func:`primary_side`); the live engine one bar at a time
(:class:`PrimaryStream`). Both run the same indicator kernels (``indicators.compute`` and ``indicators.stream``
share them) or the same saved model's decision engine, so the side the meta model was trained on is the side it
trades with. A side only ever reads bars up to its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurotrade import indicators
from neurotrade.config import PrimarySide, Strategy
from neurotrade.errors import ConfigError


def primary_side(bars: pd.DataFrame, spec: Strategy, *, home: Path) -> pd.Series:
    """The primary side at every bar of ``bars`` (0 while its indicators warm up), for ``labels.meta.side``.

    A short side is kept only with ``decisions.allow_short``; otherwise it is 0 (no bet).

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.data import synthetic_ohlcv
    >>> spec = parse_strategy("name: m\\nindicators: {sma_5: {period: 5}, sma_20: {period: 20}}\\n"
    ...     "nn_inputs: {indicators: [sma_5]}\\n"
    ...     "labels: {type: triple_barrier, meta: {side: {fast: sma_5, slow: sma_20}}}\\n")
    >>> side = primary_side(synthetic_ohlcv(300, seed=1), spec, home=Path("."))
    >>> sorted(set(side.tolist())), int(side.iloc[:19].abs().sum())
    ([0, 1], 0)
    """
    rule = _rule(spec)
    if rule.rule == "bundle":
        stream = PrimaryStream(spec, home=home)
        values = [stream.update(bar, time=time) for time, bar in bars.iterrows()]
        return pd.Series(np.asarray(values, dtype=np.int64), index=bars.index, name="side")
    columns = {ref: _compute(bars, spec, ref) for ref in rule.references}
    sides = np.array(
        [_side(rule, {ref: float(v[i]) for ref, v in columns.items()}) for i in range(len(bars))], dtype=np.int64
    )
    if not spec.decisions.allow_short:
        sides[sides < 0] = 0
    return pd.Series(sides, index=bars.index, name="side")


class PrimaryStream:
    """The primary side one bar at a time, equal to :func:`primary_side` bar for bar.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.data import synthetic_ohlcv
    >>> spec = parse_strategy("name: m\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n"
    ...     "labels: {type: triple_barrier, meta: {side: {indicator: rsi_14, long_below: 45}}}\\n")
    >>> bars = synthetic_ohlcv(200, seed=3)
    >>> stream = PrimaryStream(spec, home=Path("."))
    >>> [stream.update(bar) for _, bar in bars.iterrows()] == primary_side(bars, spec, home=Path(".")).tolist()
    True
    """

    def __init__(self, spec: Strategy, *, home: Path) -> None:
        self.rule = _rule(spec)
        self.allow_short = spec.decisions.allow_short
        self._engine: Any = None
        self._streams: dict[str, tuple[Any, str]] = {}
        if self.rule.rule == "bundle":
            self._engine = _bundle_engine(spec, self.rule, home)
        else:
            for ref in self.rule.references:
                key, output = _output_of(spec, ref)
                params = spec.indicators[key]
                assert params.type is not None  # the loader resolves every type
                self._streams[ref] = (indicators.stream(params.type, **params.params), output)

    def update(self, bar: Mapping[str, Any], *, time: pd.Timestamp | None = None) -> int:
        """Add the next bar and return the side at its close."""
        if self._engine is not None:
            decision = self._engine.update(bar, time=time)
            side = int(decision.target) if decision.ready else 0
        else:
            values = {ref: stream.update(bar)[output] for ref, (stream, output) in self._streams.items()}
            side = _side(self.rule, values)
        return side if side >= 0 or self.allow_short else 0


def _rule(spec: Strategy) -> PrimarySide:
    meta = getattr(spec.labels, "meta", None)
    if meta is None:
        raise ConfigError("the primary side is read only with labels: {type: triple_barrier, meta: {side: ...}}")
    return meta.side


def _side(rule: PrimarySide, values: Mapping[str, float]) -> int:
    """The side the rule takes given its indicator values at one bar (0 when one is NaN)."""
    if any(math.isnan(v) for v in values.values()):
        return 0
    if rule.rule == "cross":
        assert rule.fast is not None and rule.slow is not None
        fast, slow = values[rule.fast], values[rule.slow]
        return 1 if fast > slow else -1 if fast < slow else 0
    assert rule.indicator is not None
    x = values[rule.indicator]
    long = (rule.long_below is not None and x < rule.long_below) or (
        rule.long_above is not None and x > rule.long_above
    )
    short = (rule.short_above is not None and x > rule.short_above) or (
        rule.short_below is not None and x < rule.short_below
    )
    return 0 if long == short else 1 if long else -1


def _output_of(spec: Strategy, ref: str) -> tuple[str, str]:
    """``sma_10`` -> (sma_10, its only output); ``bbands_20.upper`` -> (bbands_20, upper)."""
    key, _, output = ref.partition(".")
    params = spec.indicators[key]
    assert params.type is not None
    return key, output or indicators.get(params.type).outputs[0]


def _compute(bars: pd.DataFrame, spec: Strategy, ref: str) -> np.ndarray:
    key, output = _output_of(spec, ref)
    params = spec.indicators[key]
    assert params.type is not None
    return indicators.compute(bars, params.type, **params.params)[output].to_numpy(dtype=np.float64)


def _bundle_engine(spec: Strategy, rule: PrimarySide, home: Path) -> Any:
    """The decision engine of the saved model the rule names (its latest bundle of this timeframe by default)."""
    from neurotrade.decision import DecisionEngine
    from neurotrade.store import load_bundle

    assert rule.bundle is not None
    name = rule.bundle if "/" in rule.bundle else f"{rule.bundle}/latest-{spec.data.timeframe}"
    bundle = load_bundle(home / "models", name)
    if bundle.ref.timeframe != spec.data.timeframe:
        raise ConfigError(
            f"labels.meta.side.bundle: {bundle.ref.name} trades {bundle.ref.timeframe} bars, this strategy's data is "
            f"{spec.data.timeframe}; name a bundle of the same timeframe"
        )
    return DecisionEngine.from_bundle(bundle)
