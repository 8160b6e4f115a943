"""Running indicators: over a whole OHLCV frame or a panel of symbols (:func:`compute`), or one bar at a time
(:func:`stream`)."""

from __future__ import annotations

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
    # _panel builds on this module's helpers, hence the import here rather than at the top.
    from neurotrade.indicators._panel import compute_panel, is_panel

    if is_panel(df):
        return compute_panel(df, name, **params)
    found = entry(name)
    values = validate_params(name, **params)
    if not isinstance(df, pd.DataFrame):
        raise IndicatorError(
            f"indicator {found.info.name!r} needs a pandas DataFrame of OHLCV bars, got {type(df).__name__}"
        )
    x = _input_matrix(df, found.info)
    out = np.empty((x.shape[0], len(found.info.outputs)), dtype=np.float64)
    vector = _param_vector(found.info, values)
    found.update(found.init(vector), vector, x, out)
    return pd.DataFrame(out, index=df.index, columns=list(found.info.outputs), copy=False)


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


def _param_vector(info: IndicatorInfo, values: Mapping[str, int | float]) -> np.ndarray:
    """Lay the parameters out in declaration order, as the kernels read them."""
    return np.array([float(values[p.name]) for p in info.params], dtype=np.float64)


def _input_matrix(df: pd.DataFrame, info: IndicatorInfo) -> np.ndarray:
    """Copy the indicator's input columns into one C-contiguous ``(n_bars, n_inputs)`` float64 array."""
    missing = [c for c in info.inputs if c not in df.columns]
    if missing:
        present = ", ".join(map(str, df.columns)) or "none"
        raise IndicatorError(
            f"indicator {info.name!r} needs column(s) {', '.join(map(repr, missing))}, which the frame "
            f"lacks (it has: {present}); column names must be lower case OHLCV names"
        )
    columns = []
    for column in info.inputs:
        if not df.columns.is_unique and (df.columns == column).sum() > 1:
            raise IndicatorError(
                f"indicator {info.name!r}: column {column!r} appears more than once in the frame; "
                "keep one and drop or rename the others"
            )
        series = df[column]
        try:
            # A NumPy-backed float column is read as it is (no copy); others (ints, nullable, object) are converted.
            if isinstance(series.dtype, np.dtype) and series.dtype == np.float64:
                values = series.to_numpy()
            else:
                values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as e:
            raise IndicatorError(
                f"indicator {info.name!r}: column {column!r} must be numeric, it is {series.dtype}"
            ) from e
        columns.append(np.ascontiguousarray(values))
    x = np.empty((len(df), len(columns)), dtype=np.float64)
    if len(columns) == 1:
        x[:, 0] = columns[0]
        clean = bool(np.isfinite(columns[0]).all())
    else:  # one pass, row by row: about twice as fast as writing strided columns and checking them apart
        clean = _pack_rows(tuple(columns), x)
    if not clean:
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


@njit(cache=True)
def _pack_rows(columns, out):
    """Copy same-length float64 columns into the rows of ``out``; False if any value is NaN or infinite."""
    clean = True
    for i in range(out.shape[0]):
        for j in range(len(columns)):
            value = columns[j][i]
            out[i, j] = value
            clean = clean and np.isfinite(value)
    return clean


def _keys(bar: object) -> str:
    keys = bar.keys() if hasattr(bar, "keys") else []
    return ", ".join(map(repr, keys)) or "no named fields"
