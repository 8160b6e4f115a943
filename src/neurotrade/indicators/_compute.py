"""Running indicators: over a whole OHLCV frame or a panel of symbols (:func:`compute`), or one bar at a time
(:func:`stream`)."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from neurotrade.errors import IndicatorError
from neurotrade.indicators._registry import Entry, IndicatorInfo, entry, validate_params

__all__ = ["IndicatorStream", "compute", "stream"]

logger = logging.getLogger(__name__)

_MISSING_HINT = (
    "the OHLCV contract forbids missing or infinite values; repair or drop those rows explicitly "
    "before computing indicators"
)


def compute(df: pd.DataFrame | Mapping[Hashable, pd.DataFrame], name: str, **params: Any) -> pd.DataFrame:
    """Compute one indicator over an OHLCV frame, or over every symbol of a panel.

    Parameters
    ----------
    df
        Bars in time order with lower-case columns; only the indicator's ``inputs`` are read. Or a
        panel: a frame with MultiIndex columns ``(symbol, field)``, or a dict ``{symbol: OHLCV
        frame}``, whose symbols are computed in parallel; the result then has MultiIndex columns
        ``(symbol, output)``, and each symbol's values are those of this function over that
        symbol's own bars (rows where all of a symbol's fields are NaN are not bars and give NaN).
    name
        A registered indicator, e.g. ``'rsi'`` (see :func:`available`).
    **params
        Its parameters; missing ones take their defaults.

    Returns
    -------
    pandas.DataFrame
        float64 columns named after the indicator's ``outputs``, on ``df``'s index. The first
        ``get(name).warmup(**params)`` rows are NaN; each value depends only on bars up to its own.

    Raises
    ------
    IndicatorError
        If the indicator or a parameter is invalid, an input column is missing or not numeric, or
        an input holds NaN or an infinite value (in a panel: within a bar).

    Examples
    --------
    >>> import pandas as pd
    >>> from neurotrade.indicators import compute
    >>> bars = pd.DataFrame({"close": [10.0, 11.0, 12.0, 13.0]})
    >>> compute(bars, "sma", period=3)["sma"].tolist()
    [nan, nan, 11.0, 12.0]
    """
    if not isinstance(df, pd.DataFrame) or isinstance(df.columns, pd.MultiIndex):
        # _panel builds on this module's helpers, hence the import here rather than at the top.
        from neurotrade.indicators._panel import compute_panel, is_panel

        if is_panel(df):
            return compute_panel(df, name, **params)
    found, vector, columns = _prepared(name, params)
    if not isinstance(df, pd.DataFrame):
        raise IndicatorError(
            f"indicator {found.info.name!r} needs a pandas DataFrame of OHLCV bars, got {type(df).__name__}"
        )
    x = _input_matrix(df, found.info)
    out = np.empty((x.shape[0], len(found.info.outputs)), dtype=np.float64)
    # The frame is built around `out` before the kernel fills it: its Python work then runs while the
    # interpreter's own data is still in cache, not after the kernel has streamed the bars through it
    # (which made the same work cost several times more).
    result = pd.DataFrame(out, index=df.index, columns=_fresh(columns), copy=False)
    found.update(found.init(vector), vector, x, out)
    return result


def stream(name: str, **params: Any) -> IndicatorStream:
    """Return a streaming form of an indicator: feed it bars one by one.

    The values it returns are exactly (bit for bit) those :func:`compute` gives for the same bars.

    Raises
    ------
    IndicatorError
        If the indicator or a parameter is invalid.

    Examples
    --------
    >>> from neurotrade.indicators import stream
    >>> sma = stream("sma", period=2)
    >>> [sma.update({"close": c})["sma"] for c in (1.0, 2.0, 4.0)]
    [nan, 1.5, 3.0]
    """
    found = entry(name)
    return IndicatorStream(found, validate_params(name, **params))


class IndicatorStream:
    """One indicator updated bar by bar, for live decisions.

    Create it with :func:`stream`. It runs the same kernel as :func:`compute`, one bar per call, so
    after the same bars it holds the same state and returns the same values.

    Attributes
    ----------
    info
        The indicator's description.
    params
        The validated parameters, defaults filled in.
    """

    def __init__(self, found: Entry, params: dict[str, int | float]) -> None:
        self.info: IndicatorInfo = found.info
        self.params: dict[str, int | float] = dict(params)
        self._update = found.update
        self._init = found.init
        self._vector = _param_vector(found.info, params)
        self._bar = np.empty((1, len(found.info.inputs)), dtype=np.float64)
        self._out = np.empty((1, len(found.info.outputs)), dtype=np.float64)
        self._state = self._init(self._vector)

    def update(self, bar: Mapping[str, float]) -> dict[str, float]:
        """Add the next bar and return the indicator's outputs at it (NaN while warming up).

        Parameters
        ----------
        bar
            A mapping (a dict, a pandas Series) holding at least the indicator's ``inputs``.

        Raises
        ------
        IndicatorError
            If an input is missing, not a number, NaN or infinite. The state is left unchanged.
        """
        for j, column in enumerate(self.info.inputs):
            try:
                raw = bar[column]
            except (KeyError, IndexError, TypeError):
                raise IndicatorError(
                    f"indicator {self.info.name!r} needs the input {column!r} in every bar; this bar has {_keys(bar)}"
                ) from None
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise IndicatorError(
                    f"indicator {self.info.name!r}: input {column!r} must be a number, got {raw!r}"
                ) from None
            if not math.isfinite(value):
                raise IndicatorError(f"indicator {self.info.name!r}: input {column!r} is {value!r}; {_MISSING_HINT}")
            self._bar[0, j] = value
        self._update(self._state, self._vector, self._bar, self._out)
        return dict(zip(self.info.outputs, self._out[0].tolist(), strict=True))

    def reset(self) -> None:
        """Forget every bar seen, as if just created."""
        self._state = self._init(self._vector)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"IndicatorStream({self.info.name}({args}))"


def _prepared(name: str, params: dict[str, Any]) -> tuple[Entry, np.ndarray, pd.Index]:
    """The indicator's entry, its parameter vector and its output column labels, for ``compute``.

    Checking the parameters costs about as much as a whole indicator on a few thousand bars, so the
    outcome is kept for the parameters seen last, keyed on each value's type and a float's sign too
    (``True`` is checked apart from ``1``, ``-0.0`` apart from ``0.0``); invalid parameters are never
    kept and raise every time.
    """
    key = (name, tuple((k, type(v), v, math.copysign(1.0, v) if type(v) is float else 0.0) for k, v in params.items()))
    try:
        return _prepare_cached(key)
    except TypeError:  # an unhashable value: checked without the cache (it is refused or converted)
        return _prepare(key)


def _prepare(key: tuple[str, tuple[tuple[str, type, Any, float], ...]]) -> tuple[Entry, np.ndarray, pd.Index]:
    name, items = key
    found = entry(name)
    values = validate_params(name, **{k: v for k, _, v, _ in items})
    # Callers get a copy of the labels (an Index's name can be set in place), never this one.
    return found, _param_vector(found.info, values), pd.Index(list(found.info.outputs))


# Kept for the parameters seen last; a kernel never writes to its parameter vector.
_prepare_cached = functools.lru_cache(maxsize=256)(_prepare)


def _fresh(labels: pd.Index) -> pd.Index:
    """A new Index object over the same labels, whose name a caller may set without touching ``labels``:
    pandas' own shallow copy where it has one (a third of ``copy()``'s cost), else ``copy()``."""
    view = getattr(labels, "_view", None)
    return view() if view is not None else labels.copy()


def _param_vector(info: IndicatorInfo, values: Mapping[str, int | float]) -> np.ndarray:
    """Lay the parameters out in declaration order, as the kernels read them."""
    return np.array([float(values[p.name]) for p in info.params], dtype=np.float64)


def _input_matrix(df: pd.DataFrame, info: IndicatorInfo) -> np.ndarray:
    """The indicator's input columns as one read-only ``(n_bars, n_inputs)`` float64 array, checked finite.

    Where the frame already holds them side by side in memory (a frame of float64 columns in OHLCV
    order keeps them so, one contiguous column after another), the array is a view of the frame's own
    memory, column-major; otherwise they are copied into a new column-major array. Either way each
    input is one contiguous run of memory, which the kernels read in place: an interleaved (row-major)
    copy cost more than most indicators themselves. It is read-only, as pandas' own views are, so that
    every batch call runs the same compiled kernel.
    """
    try:
        columns = [_column_values(df, info, column) for column in info.inputs]
    except (KeyError, IndicatorError):
        # A missing column is reported first, with every other one missing.
        missing = [c for c in info.inputs if c not in df.columns]
        if not missing:
            raise
        present = ", ".join(map(str, df.columns)) or "none"
        raise IndicatorError(
            f"indicator {info.name!r} needs column(s) {', '.join(map(repr, missing))}, which the frame "
            f"lacks (it has: {present}); column names must be lower case OHLCV names"
        ) from None
    x = _side_by_side(columns)
    if x is None:
        x = np.empty((len(df), len(columns)), dtype=np.float64, order="F")
        for j, values in enumerate(columns):
            x[:, j] = values
        x.flags.writeable = False
    if not _all_finite(x):
        for column, values in zip(info.inputs, columns, strict=True):
            bad = ~np.isfinite(values)
            if bad.any():
                first = int(np.argmax(bad))
                raise IndicatorError(
                    f"indicator {info.name!r}: column {column!r} has {int(bad.sum())} NaN or infinite "
                    f"value(s), the first at row {first} (index {df.index[first]}); {_MISSING_HINT}"
                )
    logger.debug("computing %s on %d bars", info.name, x.shape[0])
    return x


def _column_values(df: pd.DataFrame, info: IndicatorInfo, column: str) -> np.ndarray:
    """One input column's values as a 1-D float64 array: the frame's own array when it stores
    float64 in NumPy, else converted (ints, nullable and other extension types)."""
    where = df.columns.get_loc(column) if df.columns.is_unique else None
    if not isinstance(where, (int, np.integer)):
        found = np.flatnonzero(df.columns == column)
        if len(found) == 0:
            raise KeyError(column)
        if len(found) > 1:
            raise IndicatorError(
                f"indicator {info.name!r}: column {column!r} appears more than once in the frame; "
                "keep one and drop or rename the others"
            )
        where = int(found[0])
    # pandas' own accessor for a column's stored values (pandas >= 1.3) skips building a Series, which
    # after a kernel has streamed a long series through the caches costs as much as a short indicator.
    getter = getattr(df, "_get_column_array", None)
    values = getter(where) if getter is not None else None
    if isinstance(values, np.ndarray) and values.dtype == np.float64 and values.shape == (len(df),):
        return values
    series = df.iloc[:, where]
    try:
        # A NumPy-backed float column is read as it is (no copy); others (ints, nullable, object) are converted.
        if isinstance(series.dtype, np.dtype) and series.dtype == np.float64:
            return series.to_numpy()
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as e:
        raise IndicatorError(f"indicator {info.name!r}: column {column!r} must be numeric, it is {series.dtype}") from e


def _side_by_side(columns: list[np.ndarray]) -> np.ndarray | None:
    """A read-only column-major ``(n, k)`` view of the columns where they are consecutive rows of one
    C-contiguous 2-D array (as pandas keeps the float64 columns of a frame), else None.

    Nothing is assumed about that memory; each of these is checked: the array each column views,
    its shape and layout, and each column's address in it.
    """
    first = columns[0]
    n = len(first)
    if len(columns) == 1:
        if not first.flags.c_contiguous:
            return None
        view = first.reshape(n, 1)
    else:
        owner = first.base
        if not (
            n > 0
            and isinstance(owner, np.ndarray)
            and owner.dtype == np.float64
            and owner.ndim == 2
            and owner.shape[1] == n
            and owner.flags.c_contiguous
        ):
            return None
        base = owner.__array_interface__["data"][0]
        row, left = divmod(first.__array_interface__["data"][0] - base, 8 * n)
        if left != 0 or not 0 <= row <= owner.shape[0] - len(columns):
            return None
        for j, values in enumerate(columns):
            # Each column must be that row of the owner itself: same start and contiguous (a strided column that
            # starts on a row boundary would otherwise be read as the owner's row).
            start = values.__array_interface__["data"][0]
            if values.base is not owner or values.strides != (8,) or start != base + (row + j) * 8 * n:
                return None
        view = owner[row : row + len(columns)].T
    view.flags.writeable = False
    return view


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _all_finite(x):
    """Whether every value of ``x`` is finite: ``v - v`` is 0 for a finite ``v`` and NaN for NaN or an
    infinity, so their sum is 0 exactly when all are finite (and cannot overflow). Summing in any order
    (``reassoc``) lets the compiler vectorise it; the check stays exact."""
    total = 0.0
    for j in range(x.shape[1]):
        for i in range(x.shape[0]):
            value = x[i, j]
            total += value - value
    return total == 0.0


def _keys(bar: object) -> str:
    keys = bar.keys() if hasattr(bar, "keys") else []
    return ", ".join(map(repr, keys)) or "no named fields"
