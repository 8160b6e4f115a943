"""The features of a strategy computed bar by bar, equal to :func:`neurotrade.features.feature_frame` row by row.

Each timeframe keeps its own indicator streams, fuzzy sets, context state and a ring buffer of its past base rows
(for the lags). A coarser timeframe aggregates the incoming bars into its own bar (first open, highest high, lowest
low, last close, summed volume) and advances its streams only once that bar's period has ended, which is the rule of
:func:`neurotrade.features.align_to_finer`: a coarse bar labelled T covering [T, T + length) is seen from the first
base bar whose close (its time plus its length) is at or after T + length.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping

import numpy as np
import pandas as pd

from neurotrade import data, indicators
from neurotrade.config import Strategy
from neurotrade.errors import FeatureError
from neurotrade.features import feature_timeframes
from neurotrade.features._build import _base_columns

_FIELDS = ("open", "high", "low", "close", "volume")
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday; weekly bars start on Monday


class _TimeframeStream:
    """One timeframe's block of features (base columns, then each lag as a block), one of its bars at a time."""

    def __init__(self, strategy: Strategy, timeframe: str) -> None:
        self._indicators: list[tuple[str, indicators.IndicatorStream, bool]] = []
        for key, spec in strategy.indicators.items():
            assert spec.type is not None  # the loader resolves every type
            s = indicators.stream(spec.type, **spec.params)
            self._indicators.append((key, s, len(s.info.outputs) == 1))
        base = _base_columns(strategy)
        self._fuzzy = [
            (f"{source}_{name}", source, spec.to_fuzzy_set(name))
            for source, sets in strategy.fuzzy_sets.items()
            for name, spec in sets.items()
            if f"{source}_{name}" in base
        ]
        c = strategy.nn_inputs.context
        self._returns = list(c.returns)
        self._closes: deque[float] = deque(maxlen=max(self._returns, default=0) + 1)
        self._price_sma = [(f"close_over_sma_{n}", indicators.stream("sma", period=n)) for n in c.price_over_ma]
        self._volume_sma = [(f"volume_ratio_{n}", indicators.stream("sma", period=n)) for n in c.volume_ratio]
        self._base = base
        self._lags = strategy.nn_inputs.lookback_periods
        self._history: deque[np.ndarray] = deque(maxlen=self._lags + 1)
        self.names = [
            f"{timeframe}_{column}" if lag == 0 else f"{timeframe}_{column}_lag{lag}"
            for lag in range(self._lags + 1)
            for column in base
        ]
        self.row = np.full(len(self.names), np.nan)

    def update(self, bar: Mapping[str, float]) -> np.ndarray:
        pool: dict[str, float] = {}
        for key, stream, single in self._indicators:
            out = stream.update(bar)
            if single:
                pool[key] = next(iter(out.values()))
            else:
                pool.update({f"{key}.{name}": value for name, value in out.items()})
        for column, source, fuzzy_set in self._fuzzy:
            if source not in pool:
                raise FeatureError(f"fuzzy sets refer to {source!r}, which is not a computed indicator output")
            pool[column] = fuzzy_set.membership(pool[source])
        close, volume = float(bar["close"]), float(bar["volume"])
        self._closes.append(close)
        for k in self._returns:
            if len(self._closes) > k:
                # A one-element array goes through NumPy's own log loop, as the batch does (libm may round apart).
                pool[f"ret_{k}"] = float(np.log(np.array([close / self._closes[-1 - k]]))[0])
            else:
                pool[f"ret_{k}"] = math.nan
        for column, sma in self._price_sma:
            pool[column] = close / sma.update({"close": close})["sma"] - 1.0
        for column, sma in self._volume_sma:
            mean = sma.update({"close": volume})["sma"]
            pool[column] = volume / mean if mean > 0 else (math.nan if math.isnan(mean) else 1.0)
        base = np.array([pool[column] for column in self._base], dtype=np.float64)
        self._history.appendleft(base)
        row = np.full(len(self.names), np.nan)
        width = len(self._base)
        for lag, past in enumerate(self._history):
            row[lag * width : (lag + 1) * width] = past
        self.row = row
        return row


class _CoarseStream:
    """A coarser timeframe fed with finer bars: aggregates them and advances its block once a period ends."""

    def __init__(self, strategy: Strategy, timeframe: str) -> None:
        self.block = _TimeframeStream(strategy, timeframe)
        tf = data.parse_timeframe(timeframe)
        self._length = tf.delta.value
        self._weekly = tf.name == "1w"
        self._start: int | None = None  # the open period's label, ns since the epoch
        self._bar: dict[str, float] = {}

    def _period(self, time_ns: int) -> int:
        if self._weekly:
            day = 86_400 * 10**9
            days = time_ns // day
            return (days - (days + _EPOCH_WEEKDAY) % 7) * day
        return time_ns - time_ns % self._length

    def update(self, time_ns: int, close_ns: int, bar: Mapping[str, float]) -> np.ndarray:
        start = self._period(time_ns)
        if self._start is not None and start != self._start:
            self._close_period()  # a new period began before the old one's last bar came: the old one is over
        if self._start is None:
            self._start = start
            self._bar = {name: float(bar[name]) for name in _FIELDS}
        else:
            b = self._bar
            b["high"] = max(b["high"], float(bar["high"]))
            b["low"] = min(b["low"], float(bar["low"]))
            b["close"] = float(bar["close"])
            b["volume"] += float(bar["volume"])
        if close_ns >= start + self._length:
            self._close_period()
        return self.block.row

    def _close_period(self) -> None:
        self.block.update(self._bar)
        self._start = None


class FeatureStream:
    """Every feature of ``strategy``, one base bar at a time, in the order of ``resolved_features``.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> from neurotrade.data import synthetic_ohlcv
    >>> s = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n")
    >>> bars = synthetic_ohlcv(20, seed=1)
    >>> fs = FeatureStream(s)
    >>> rows = [fs.update(t, bar) for t, bar in bars.iterrows()]
    >>> fs.names, bool(np.isnan(rows[13][0])), bool(np.isnan(rows[14][0]))
    (['1d_rsi_14'], True, False)
    """

    def __init__(self, strategy: Strategy) -> None:
        self.timeframe = strategy.data.timeframe
        self._length = data.parse_timeframe(self.timeframe).delta.value
        self._parts: list[_TimeframeStream | _CoarseStream] = [
            _TimeframeStream(strategy, tf) if tf == self.timeframe else _CoarseStream(strategy, tf)
            for tf in feature_timeframes(strategy)
        ]
        self.names = [
            name
            for part in self._parts
            for name in (part.names if isinstance(part, _TimeframeStream) else part.block.names)
        ]
        self._last: int | None = None

    def update(self, time: pd.Timestamp, bar: Mapping[str, float]) -> np.ndarray:
        """Add the bar that opened at ``time`` and return the feature row at it (NaN while warming up)."""
        stamp = pd.Timestamp(time)
        if stamp.tzinfo is None:
            raise FeatureError(f"bar time {stamp} has no time zone; bars are labelled in UTC (tz-aware)")
        time_ns = stamp.tz_convert("UTC").as_unit("ns").value
        if self._last is not None and time_ns <= self._last:
            raise FeatureError(
                f"bar at {stamp} is not after the previous bar ({pd.Timestamp(self._last, tz='UTC')}); "
                "feed bars once each, in time order"
            )
        self._last = time_ns
        rows = []
        for part in self._parts:
            if isinstance(part, _TimeframeStream):
                rows.append(part.update(bar))
            else:
                rows.append(part.update(time_ns, time_ns + self._length, bar))
        return np.concatenate(rows)
