"""The features of a strategy computed bar by bar, equal to :func:`neurotrade.features.feature_frame` row by row.

Each timeframe keeps its own indicator kernels, fuzzy sets, context state and its past base rows (for the lags). A
coarser timeframe aggregates the incoming bars into its own bar (first open, highest high, lowest low, last close,
summed volume) and advances its streams only once that bar's period has ended, which is the rule of
:func:`neurotrade.features.align_to_finer`: a coarse bar labelled T covering [T, T + length) is seen from the first
base bar whose close (its time plus its length) is at or after T + length.

Per bar, nothing is rebuilt: the bar's fields are read and checked once, each indicator's numba kernel (the very
``update`` that :func:`neurotrade.indicators.compute` runs over a whole series, so values stay bit for bit those of
the batch) advances its state in place and writes its outputs straight into one preallocated value vector, and the
row is filled from that vector by precomputed positions. Going through ``IndicatorStream.update`` instead re-checks
the same bar once per indicator and builds a dict per call: about ten times the kernel's own cost.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from neurotrade import data, indicators
from neurotrade.config import Strategy
from neurotrade.errors import FeatureError, IndicatorError
from neurotrade.features import feature_timeframes
from neurotrade.features._build import _base_columns
from neurotrade.indicators._registry import entry

_FIELDS = ("open", "high", "low", "close", "volume")
_POSITION = {name: i for i, name in enumerate(_FIELDS)}
_CLOSE, _VOLUME = _POSITION["close"], _POSITION["volume"]
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday; weekly bars start on Monday


class _Kernels:
    """Indicator kernels run in place: each reads its inputs from a small array and writes into a shared vector.

    ``add`` validates an indicator exactly as :func:`neurotrade.indicators.stream` does (the same error for an
    unknown name or a bad parameter), then keeps the registry's ``init``/``update`` kernels with their own state.
    """

    def __init__(self) -> None:
        self._inputs: dict[tuple[int, ...], np.ndarray] = {}  # one (1, n_inputs) array per distinct input order
        self._runs: list[tuple[Any, Any, np.ndarray, np.ndarray, np.ndarray]] = []
        self._pending: list[tuple[str, dict[str, int | float], tuple[int, ...], int]] = []
        self.size = 0

    def add(self, name: str, params: Mapping[str, int | float], fields: tuple[str, ...] | None = None) -> list[int]:
        """Register an indicator (its inputs read from ``fields``, default its own inputs); its outputs' slots."""
        checked = indicators.stream(name, **params)  # the public validation, and its errors
        info = checked.info
        picks = tuple(_POSITION[f] for f in (fields or info.inputs))
        start = self.size
        self.size += len(info.outputs)
        self._pending.append((name, dict(checked.params), picks, start))
        return list(range(start, self.size))

    def bind(self, values: np.ndarray) -> None:
        """Point every kernel's output at its slots of ``values`` (a 1-D float64 vector of at least ``size``)."""
        for name, params, picks, start in self._pending:
            found = entry(name)
            info = found.info
            vector = np.array([float(params[p.name]) for p in info.params], dtype=np.float64)
            bars = self._inputs.setdefault(picks, np.empty((1, len(picks)), dtype=np.float64))
            out = values[start : start + len(info.outputs)].reshape(1, -1)  # a C-contiguous view: no copy back
            self._runs.append((found.update, found.init(vector), vector, bars, out))

    def update(self, bar: list[float]) -> None:
        """Advance every kernel by one bar (the five fields, in ``_FIELDS`` order)."""
        for picks, array in self._inputs.items():
            row = array[0]
            for j, k in enumerate(picks):
                row[j] = bar[k]
        for update, state, vector, bars, out in self._runs:
            update(state, vector, bars, out)


class _TimeframeStream:
    """One timeframe's block of features (base columns, then each lag as a block), one of its bars at a time."""

    def __init__(self, strategy: Strategy, timeframe: str) -> None:
        kernels = _Kernels()
        slots: dict[str, int] = {}  # every named value a base column may read -> its slot in self._values
        for key, spec in strategy.indicators.items():
            assert spec.type is not None  # the loader resolves every type
            outputs = indicators.get(spec.type).outputs
            found = kernels.add(spec.type, spec.params)
            if len(outputs) == 1:
                slots[key] = found[0]
            else:
                slots.update({f"{key}.{name}": slot for name, slot in zip(outputs, found, strict=True)})
        c = strategy.nn_inputs.context
        self._price_sma = [(f"close_over_sma_{n}", kernels.add("sma", {"period": n})[0]) for n in c.price_over_ma]
        self._volume_sma = [
            (f"volume_ratio_{n}", kernels.add("sma", {"period": n}, fields=("volume",))[0]) for n in c.volume_ratio
        ]
        size = kernels.size
        base = _base_columns(strategy)
        self._fuzzy: list[tuple[int, int, Any]] = []
        for source, sets in strategy.fuzzy_sets.items():
            for name, spec in sets.items():
                column = f"{source}_{name}"
                if column not in base:
                    continue
                if source not in slots:
                    raise FeatureError(f"fuzzy sets refer to {source!r}, which is not a computed indicator output")
                slots[column] = size
                self._fuzzy.append((size, slots[source], spec.to_fuzzy_set(name)))
                size += 1
        self._returns: list[tuple[int, int]] = []
        for k in c.returns:
            slots[f"ret_{k}"] = size
            self._returns.append((k, size))
            size += 1
        self._context: list[tuple[int, int, bool]] = []  # (slot, its SMA's slot, is a volume ratio)
        for column, sma in self._price_sma:
            slots[column] = size
            self._context.append((size, sma, False))
            size += 1
        for column, sma in self._volume_sma:
            slots[column] = size
            self._context.append((size, sma, True))
            size += 1
        unknown = [column for column in base if column not in slots]
        if unknown:
            raise FeatureError(f"features {unknown} are not computed by the strategy's indicators or context")
        self._values = np.full(size, np.nan)
        kernels.bind(self._values)
        self._kernels = kernels
        self._take = np.array([slots[column] for column in base], dtype=np.intp)
        self._closes: deque[float] = deque(maxlen=max(c.returns, default=0) + 1)
        self._log = np.empty(1, dtype=np.float64)
        self._width = len(base)
        self._lags = strategy.nn_inputs.lookback_periods
        self.names = [
            f"{timeframe}_{column}" if lag == 0 else f"{timeframe}_{column}_lag{lag}"
            for lag in range(self._lags + 1)
            for column in base
        ]
        #: The latest row, updated in place (copy it to keep it): NaN until every block has been filled.
        self.row = np.full(len(self.names), np.nan)

    def update(self, bar: list[float]) -> np.ndarray:
        """Add one bar (the five fields, in ``_FIELDS`` order, already checked); the row, updated in place."""
        self._kernels.update(bar)
        values = self._values
        for slot, source, fuzzy_set in self._fuzzy:
            values[slot] = fuzzy_set.membership(values[source])
        close, volume = bar[_CLOSE], bar[_VOLUME]
        closes = self._closes
        closes.append(close)
        log = self._log
        for k, slot in self._returns:
            if len(closes) > k:
                # A one-element array goes through NumPy's own log loop, as the batch does (libm may round apart).
                log[0] = close / closes[-1 - k]
                np.log(log, out=log)
                values[slot] = log[0]
            else:
                values[slot] = math.nan
        for slot, sma, is_volume in self._context:
            mean = float(values[sma])
            if not is_volume:
                values[slot] = close / mean - 1.0
            else:
                values[slot] = volume / mean if mean > 0 else (math.nan if math.isnan(mean) else 1.0)
        row, width = self.row, self._width
        if self._lags:
            row[width:] = row[:-width]  # each lag block moves one back (NumPy copies through a buffer on overlap)
        values.take(self._take, out=row[:width])
        return row


class _CoarseStream:
    """A coarser timeframe fed with finer bars: aggregates them and advances its block once a period ends."""

    def __init__(self, strategy: Strategy, timeframe: str) -> None:
        self.block = _TimeframeStream(strategy, timeframe)
        tf = data.parse_timeframe(timeframe)
        self._length = tf.delta.value
        self._weekly = tf.name == "1w"
        self._start: int | None = None  # the open period's label, ns since the epoch
        self._bar: list[float] = []

    def _period(self, time_ns: int) -> int:
        if self._weekly:
            day = 86_400 * 10**9
            days = time_ns // day
            return (days - (days + _EPOCH_WEEKDAY) % 7) * day
        return time_ns - time_ns % self._length

    def update(self, time_ns: int, close_ns: int, bar: list[float]) -> np.ndarray:
        start = self._period(time_ns)
        if self._start is not None and start != self._start:
            self._close_period()  # a new period began before the old one's last bar came: the old one is over
        if self._start is None:
            self._start = start
            self._bar = list(bar)
        else:
            b = self._bar
            b[1] = max(b[1], bar[1])
            b[2] = min(b[2], bar[2])
            b[3] = bar[3]
            b[4] += bar[4]
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
        # The fields a bar must carry: what the indicators and the context read; all five for a coarser timeframe's
        # aggregate bar. The others are never read (left NaN).
        needed = {"close", "volume"}
        for spec in strategy.indicators.values():
            assert spec.type is not None
            needed.update(indicators.get(spec.type).inputs)
        if any(isinstance(part, _CoarseStream) for part in self._parts):
            needed.update(_FIELDS)
        self._read = [(i, name) for i, name in enumerate(_FIELDS) if name in needed]
        only = self._parts[0] if len(self._parts) == 1 else None
        self._only = only if isinstance(only, _TimeframeStream) else None
        self._last: int | None = None

    def update(self, time: pd.Timestamp, bar: Mapping[str, float]) -> np.ndarray:
        """Add the bar that opened at ``time`` and return the feature row at it (NaN while warming up).

        Raises
        ------
        FeatureError
            If the time has no time zone or is not after the previous bar's.
        IndicatorError
            If a field the features read is missing, not a number, NaN or infinite. Nothing is advanced then, so
            the bar can be fed again once fixed.
        """
        stamp = time if isinstance(time, pd.Timestamp) else pd.Timestamp(time)
        if stamp.tzinfo is None:
            raise FeatureError(f"bar time {stamp} has no time zone; bars are labelled in UTC (tz-aware)")
        time_ns = stamp.value  # nanoseconds since the epoch in UTC, whatever the stamp's zone and unit
        if self._last is not None and time_ns <= self._last:
            raise FeatureError(
                f"bar at {stamp} is not after the previous bar ({pd.Timestamp(self._last, tz='UTC')}); "
                "feed bars once each, in time order"
            )
        values = self._values(bar)
        self._last = time_ns
        if self._only is not None:
            return self._only.update(values).copy()  # the part's row is reused by its next bar
        rows = []
        for part in self._parts:
            if isinstance(part, _TimeframeStream):
                rows.append(part.update(values))
            else:
                rows.append(part.update(time_ns, time_ns + self._length, values))
        return np.concatenate(rows)

    def _values(self, bar: Mapping[str, float]) -> list[float]:
        """The bar's fields as floats, in ``_FIELDS`` order, each checked once for every kernel that reads it."""
        values = [math.nan] * len(_FIELDS)
        for i, name in self._read:
            try:
                raw = bar[name]
            except (KeyError, IndexError, TypeError):
                keys = ", ".join(map(repr, bar.keys())) if hasattr(bar, "keys") else "no named fields"
                raise IndicatorError(f"every bar needs the input {name!r}; this bar has {keys}") from None
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise IndicatorError(f"bar input {name!r} must be a number, got {raw!r}") from None
            if not math.isfinite(value):
                raise IndicatorError(
                    f"bar input {name!r} is {value!r}; the OHLCV contract forbids missing or infinite values: "
                    "repair or drop that bar explicitly"
                )
            values[i] = value
        return values
