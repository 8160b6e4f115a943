"""Indicators over many symbols at once: a panel in, a panel out, the symbols computed in parallel.

A *panel* is a DataFrame indexed by time whose columns are a two-level MultiIndex
``(symbol, field)``, the fields being lower-case OHLCV names: ``panel["AAPL", "close"]`` is one
symbol's closes. A row in which every field of a symbol is NaN means that the symbol has no bar
then (it was listed later, delisted earlier, or halted): each symbol is computed over its own bars
only, in order, and its outputs are NaN on the rows where it has none. Anything in between (some
of a symbol's fields NaN on a row, others not, where the indicator reads a NaN one) breaks the
OHLCV contract and is refused. A dict ``{symbol: OHLCV frame}`` is accepted too; its frames are
aligned on the union of their indexes.

How the symbols run in parallel: one numba function, compiled once and kept in numba's on-disk
cache, loops over the symbols with ``prange`` and calls the indicator's ``update`` kernel through a
first-class function type (a pointer to the kernel's compiled code). A runner that took the kernel
as an ordinary dispatcher argument would be specialised on each kernel and recompiled in every
process (numba cannot cache it: ~0.4 s per indicator and process); a thread pool would need every
kernel compiled with ``nogil``. The symbols' bars are packed one symbol after another into one
C-contiguous array and each kernel call gets its own slice, so a panel gives exactly, bit for bit,
what :func:`compute` gives for each symbol alone. Packing, checking and unpacking are numba loops
too: with a few NumPy passes each, they cost more than the indicators themselves.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import logging
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import numba
import numpy as np
import pandas as pd
from numba import njit, prange, types

from neurotrade.errors import IndicatorError
from neurotrade.indicators._compute import _MISSING_HINT, _input_matrix, _param_vector
from neurotrade.indicators._registry import IndicatorInfo, entry, validate_params

__all__ = ["compute_panel", "is_panel"]

logger = logging.getLogger(__name__)

_VECTOR = types.Array(types.float64, 1, "C")
_MATRIX = types.Array(types.float64, 2, "C")
_OFFSETS = types.Array(types.int64, 1, "C")
# Every update kernel has this type as a function pointer, so one runner serves them all.
_UPDATE = types.FunctionType(types.none(_VECTOR, _VECTOR, _MATRIX, _MATRIX))
_SIGNATURE = types.void(_UPDATE, _MATRIX, _VECTOR, _MATRIX, _OFFSETS, _MATRIX)

# Below this many bars per thread, waking threads costs more than it saves (and on a busy machine
# a thread that is not scheduled at once holds up the whole call), so small panels get fewer threads.
_MIN_BARS_PER_THREAD = 50_000

# What _scan finds wrong with a symbol's rows, if anything.
_OK = 0
_PARTIAL = 1  # some inputs NaN or infinite, others not
_HALF_EMPTY = 2  # every input NaN, but another field of the symbol has a value


# The runner exists once, compiled with parallel=True, and runs on as many threads as _threads allows.
# (Compiling it twice, with and without parallel, would not do: numba keys its on-disk cache on the
# function and its signature, not on its options, so one variant would load the other's machine code.)
# Scanning, packing and unpacking are one pass each over memory, too cheap to be worth a parallel
# region: every region wakes the threads, and on a busy machine waits for the slowest to be scheduled.
def _run_symbols(update, states, params, bars, starts, out):  # pragma: no cover - compiled by numba
    for s in prange(states.shape[0]):
        begin, end = starts[s], starts[s + 1]
        update(states[s], params, bars[begin:end], out[begin:end])


@functools.cache
def _runner() -> Any:
    """The compiled runner, built (or loaded from numba's cache) on first use, not when neurotrade is imported."""
    return njit(_SIGNATURE, cache=True, parallel=True, error_model="numpy")(_run_symbols)


@njit(cache=True, error_model="numpy")
def _scan(columns, inputs, others, has_bar, counts, problems):  # pragma: no cover - compiled by numba
    """Find which rows of each symbol hold a bar, and the first problem of each symbol.

    ``columns`` is ``(n_columns, n_rows)``: the panel transposed, so that each column is contiguous.
    ``inputs[s]`` holds the column of each input of symbol ``s``, ``others[s]`` those of its other
    fields (-1 where it lacks one). Fills ``has_bar[s]``, ``counts[s]`` (its bars) and
    ``problems[s]`` (kind, row, column). Every inner loop runs down one contiguous column: a loop
    over the inputs inside the loop over rows is several times slower.
    """
    n_symbols, n_inputs = inputs.shape
    n_rows = columns.shape[1]
    for s in range(n_symbols):
        present = has_bar[s]
        missing = np.zeros(n_rows, dtype=np.int64)
        unusable = np.zeros(n_rows, dtype=np.int64)
        for j in range(n_inputs):
            column = columns[inputs[s, j]]
            for r in range(n_rows):
                value = column[r]
                gap = value - value  # NaN for NaN and for an infinity: counted without a branch
                missing[r] += value != value
                unusable[r] += gap != gap
        kind, where, which, count = _OK, -1, -1, 0
        for r in range(n_rows):
            present[r] = False
            if missing[r] == n_inputs:
                for f in range(others.shape[1]):
                    c = others[s, f]
                    if c >= 0 and not np.isnan(columns[c, r]):
                        kind, where, which = _HALF_EMPTY, r, c
                        break
            elif unusable[r] > 0:
                kind, where = _PARTIAL, r
            else:
                present[r] = True
                count += 1
            if kind != _OK:
                break
        counts[s] = count
        problems[s, 0], problems[s, 1], problems[s, 2] = kind, where, which


@njit(cache=True, error_model="numpy")
def _pack(columns, inputs, has_bar, starts, bars):  # pragma: no cover - compiled by numba
    """Copy each symbol's bars to its block of ``bars``, from ``starts[s]`` on."""
    n_symbols, n_inputs = inputs.shape
    n_rows = columns.shape[1]
    for s in range(n_symbols):
        present = has_bar[s]
        for j in range(n_inputs):
            column = columns[inputs[s, j]]
            k = starts[s]
            for r in range(n_rows):
                if present[r]:
                    bars[k, j] = column[r]
                    k += 1


@njit(cache=True, error_model="numpy")
def _unpack(out, has_bar, starts, table):  # pragma: no cover - compiled by numba
    """Spread the packed outputs over ``table`` (``(n_symbols * n_outputs, n_rows)``), NaN where a symbol has no bar."""
    n_symbols, n_rows = has_bar.shape
    n_outputs = out.shape[1]
    for s in range(n_symbols):
        present = has_bar[s]
        for o in range(n_outputs):
            row = table[s * n_outputs + o]
            k = starts[s]
            for r in range(n_rows):
                if present[r]:
                    row[r] = out[k, o]
                    k += 1
                else:
                    row[r] = np.nan


@contextlib.contextmanager
def _threads(n_symbols: int, n_bars: int) -> Iterator[None]:
    """Run the numba calls inside on as many threads as the work is worth (numba's count belongs to
    the calling thread, and is put back afterwards)."""
    available = numba.get_num_threads()
    wanted = max(1, min(available, n_symbols, n_bars // _MIN_BARS_PER_THREAD))
    if wanted == available:
        yield
        return
    numba.set_num_threads(wanted)
    try:
        yield
    finally:
        numba.set_num_threads(available)


def is_panel(data: object) -> bool:
    """Whether ``data`` is a panel (a dict of frames, or a frame with two column levels) rather than one frame."""
    if isinstance(data, Mapping):
        return True
    return isinstance(data, pd.DataFrame) and isinstance(data.columns, pd.MultiIndex)


def compute_panel(panel: pd.DataFrame | Mapping[Hashable, pd.DataFrame], name: str, **params: Any) -> pd.DataFrame:
    """Compute one indicator for every symbol of a panel, the symbols in parallel.

    Parameters
    ----------
    panel
        A DataFrame indexed by time with MultiIndex columns ``(symbol, field)`` (see the module
        docstring for the layout and for rows without a bar), or a dict ``{symbol: OHLCV frame}``.
    name
        A registered indicator, e.g. ``'rsi'``.
    **params
        Its parameters; missing ones take their defaults.

    Returns
    -------
    pandas.DataFrame
        On the panel's index (for a dict: the frames' common index, else the sorted union of
        their indexes), MultiIndex columns ``(symbol, output)`` in the panel's symbol order. Each
        symbol's values equal, bit for bit, :func:`compute` over that symbol's own bars; rows where
        the symbol has no bar are NaN.

    Raises
    ------
    IndicatorError
        If the indicator or a parameter is invalid, a symbol lacks an input field, or a bar has a
        NaN or infinite input (the message names the symbol, field and row).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from neurotrade.indicators import compute
    >>> index = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC", name="time")
    >>> panel = pd.DataFrame(
    ...     {("A", "close"): [1.0, 2.0, 3.0, 4.0], ("B", "close"): [np.nan, 10.0, 20.0, 30.0]}, index=index
    ... )
    >>> out = compute(panel, "sma", period=2)
    >>> out["A", "sma"].tolist(), out["B", "sma"].tolist()
    ([nan, 1.5, 2.5, 3.5], [nan, nan, 15.0, 25.0])
    """
    found = entry(name)
    info = found.info
    values = validate_params(name, **params)
    if isinstance(panel, Mapping):
        packed = _from_frames(panel, info)
    elif isinstance(panel, pd.DataFrame) and isinstance(panel.columns, pd.MultiIndex):
        packed = _from_panel(panel, info)
    else:
        raise IndicatorError(
            f"indicator {info.name!r}: a panel is a DataFrame with (symbol, field) MultiIndex columns or a dict "
            f"{{symbol: OHLCV frame}}, got {type(panel).__name__}"
        )
    n_symbols, n_rows = packed.has_bar.shape
    vector = _param_vector(info, values)
    # init depends on the parameters alone, so every symbol starts from a copy of the same state.
    states = np.ascontiguousarray(np.tile(found.init(vector), (n_symbols, 1)))
    n_outputs = len(info.outputs)
    out = np.empty((packed.bars.shape[0], n_outputs), dtype=np.float64)
    # Laid out (symbol and output, row), its transpose is what pandas keeps for a frame: no copy.
    table = np.empty((n_symbols * n_outputs, n_rows), dtype=np.float64)
    logger.debug("computing %s on %d symbols, %d bars in all", info.name, n_symbols, packed.bars.shape[0])
    with _threads(n_symbols, packed.bars.shape[0]):
        _runner()(found.update, states, vector, packed.bars, packed.starts, out)
    _unpack(out, packed.has_bar, packed.starts, table)
    columns = pd.MultiIndex.from_product([packed.symbols, list(info.outputs)], names=["symbol", "output"])
    return pd.DataFrame(table.T, index=packed.index, columns=columns, copy=False)


@dataclass(frozen=True)
class _Packed:
    """A panel's bars packed for the runner: ``bars`` holds each symbol's bars in time order, one
    symbol after another, symbol ``s``'s from row ``starts[s]`` to ``starts[s + 1]``, and
    ``has_bar[s, r]`` says whether symbol ``s`` has a bar on row ``r`` of ``index``."""

    symbols: list[Hashable]
    index: pd.Index
    bars: np.ndarray
    has_bar: np.ndarray
    starts: np.ndarray


def _from_panel(panel: pd.DataFrame, info: IndicatorInfo) -> _Packed:
    """Pack a (symbol, field) panel, refusing bars with missing inputs."""
    if panel.columns.nlevels != 2:
        raise IndicatorError(
            f"indicator {info.name!r}: a panel's columns are (symbol, field) pairs, a MultiIndex with 2 levels; "
            f"this one has {panel.columns.nlevels}"
        )
    layout = _Layout(panel.columns, info)
    inputs = np.empty((len(layout.symbols), len(info.inputs)), dtype=np.int64)
    for j, field in enumerate(info.inputs):
        inputs[:, j] = layout.positions(field)
        if (inputs[:, j] < 0).any():
            raise IndicatorError(layout.missing_field(field, int(np.argmax(inputs[:, j] < 0))))
    others = [layout.positions(f) for f in layout.fields if f not in info.inputs]
    other_columns = np.stack(others, axis=1) if others else np.empty((len(layout.symbols), 0), dtype=np.int64)
    columns = _columns(panel, info, inputs)
    n_symbols, n_rows = len(layout.symbols), len(panel)
    has_bar = np.empty((n_symbols, n_rows), dtype=np.bool_)
    counts = np.empty(n_symbols, dtype=np.int64)
    problems = np.empty((n_symbols, 3), dtype=np.int64)
    _scan(columns, inputs, other_columns, has_bar, counts, problems)
    failed = np.flatnonzero(problems[:, 0] != _OK)
    if failed.size:
        _refuse(panel, info, layout, columns, inputs, int(failed[0]), problems[failed[0]])
    starts = np.zeros(n_symbols + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    bars = np.empty((int(starts[-1]), len(info.inputs)), dtype=np.float64)
    _pack(columns, inputs, has_bar, starts, bars)
    return _Packed(layout.symbols, panel.index, bars, has_bar, starts)


def _refuse(
    panel: pd.DataFrame,
    info: IndicatorInfo,
    layout: _Layout,
    columns: np.ndarray,
    inputs: np.ndarray,
    s: int,
    problem: np.ndarray,
) -> NoReturn:
    """Raise the error for the first problem _scan found (in the first symbol that has one)."""
    kind, row, column = (int(v) for v in problem)
    if kind == _PARTIAL:
        cells = columns[inputs[s], row]
        bad = [field for field, value in zip(info.inputs, cells, strict=True) if not np.isfinite(value)]
        raise IndicatorError(
            f"indicator {info.name!r}: symbol {layout.symbols[s]!r} has {_listed(bad)} NaN or infinite at row {row} "
            f"(index {panel.index[row]}) while its other inputs have values; a row is 'no bar' only when all of the "
            f"symbol's fields are NaN, and {_MISSING_HINT}"
        )
    raise IndicatorError(
        f"indicator {info.name!r}: symbol {layout.symbols[s]!r} has {panel.columns[column][1]!r} at row {row} "
        f"(index {panel.index[row]}) but {_listed(list(info.inputs))} NaN there; a row is 'no bar' only "
        f"when all of the symbol's fields are NaN, and {_MISSING_HINT}"
    )


def _columns(panel: pd.DataFrame, info: IndicatorInfo, inputs: np.ndarray) -> np.ndarray:
    """The panel as a C-contiguous ``(n_columns, n_rows)`` float64 array; a non-numeric field that the
    indicator does not read counts only as present or missing (0.0 or NaN)."""
    try:
        # One pass over pandas' blocks; the result is usually Fortran-ordered, so the transpose is free.
        values = panel.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        numeric = np.array([pd.api.types.is_numeric_dtype(dtype) for dtype in panel.dtypes])
        text = set(np.flatnonzero(~numeric).tolist())
        for where in inputs.ravel().tolist():
            if where in text:
                label = panel.columns[where]
                raise IndicatorError(
                    f"indicator {info.name!r}: panel column {label!r} must be numeric, it is {panel.dtypes.iloc[where]}"
                ) from None
        values = np.empty(panel.shape, dtype=np.float64, order="F")
        kept = np.flatnonzero(numeric)
        values[:, kept] = panel.iloc[:, kept].to_numpy(dtype=np.float64, na_value=np.nan)
        rest = np.flatnonzero(~numeric)
        values[:, rest] = np.where(panel.iloc[:, rest].notna().to_numpy(), 0.0, np.nan)
    return np.ascontiguousarray(values.T)


class _Layout:
    """Where each (symbol, field) column of a panel is, read from the MultiIndex codes (no tuple lookups)."""

    def __init__(self, columns: pd.MultiIndex, info: IndicatorInfo) -> None:
        self.columns, self.info = columns, info
        symbol_codes, field_codes = (np.asarray(c, dtype=np.int64) for c in columns.codes)
        if (symbol_codes < 0).any() or (field_codes < 0).any():
            raise IndicatorError(f"indicator {info.name!r}: the panel has a column labelled NaN; name every column")
        n_fields = len(columns.levels[1])
        flat = symbol_codes * n_fields + field_codes
        if len(np.unique(flat)) != len(flat):
            twice = columns[columns.duplicated()][0]
            raise IndicatorError(
                f"indicator {info.name!r}: the panel has the column {twice!r} more than once; keep one and drop "
                "the others"
            )
        # Symbols and fields in the order they first appear, not in the (sorted) order of the levels.
        _, first = np.unique(symbol_codes, return_index=True)
        order = symbol_codes[np.sort(first)]
        if order.size == 0:
            raise IndicatorError(f"indicator {info.name!r}: the panel has no symbols")
        self.symbols: list[Hashable] = list(columns.levels[0][order])
        table = np.full((len(columns.levels[0]), n_fields), -1, dtype=np.int64)
        table[symbol_codes, field_codes] = np.arange(len(flat))
        self._table = table[order]
        _, first = np.unique(field_codes, return_index=True)
        self.fields: list[Hashable] = list(columns.levels[1][field_codes[np.sort(first)]])

    def positions(self, field: Hashable) -> np.ndarray:
        """The column position of ``field`` for each symbol, -1 where a symbol lacks it."""
        code = self.columns.levels[1].get_indexer([field])[0]
        if code < 0:
            return np.full(len(self.symbols), -1, dtype=np.int64)
        return self._table[:, code]

    def missing_field(self, field: str, s: int) -> str:
        at = np.sort(self._table[s][self._table[s] >= 0])
        has = [str(f) for f in self.columns.get_level_values(1)[at]]
        message = (
            f"indicator {self.info.name!r} needs the field {field!r} of every symbol; symbol {self.symbols[s]!r} "
            f"has {', '.join(has) or 'no fields'}"
        )
        close = difflib.get_close_matches(field, [str(f) for f in self.fields], n=1)
        if field not in self.fields and close:
            message += f"; did you mean {close[0]!r}? Fields must be lower-case OHLCV names"
        return message


def _from_frames(frames: Mapping[Hashable, pd.DataFrame], info: IndicatorInfo) -> _Packed:
    """Pack a dict of per-symbol OHLCV frames, each checked as :func:`compute` checks one frame."""
    if not frames:
        raise IndicatorError(f"indicator {info.name!r}: the dict of frames is empty; give at least one symbol")
    symbols = list(frames)
    matrices = []
    for symbol in symbols:
        frame = frames[symbol]
        if not isinstance(frame, pd.DataFrame):
            raise IndicatorError(
                f"indicator {info.name!r}: symbol {symbol!r} must map to a pandas DataFrame of OHLCV bars, "
                f"got {type(frame).__name__}"
            )
        try:
            matrices.append(_input_matrix(frame, info))
        except IndicatorError as e:
            raise IndicatorError(f"symbol {symbol!r}: {e}") from e
    starts = np.zeros(len(symbols) + 1, dtype=np.int64)
    np.cumsum([len(m) for m in matrices], out=starts[1:])
    # The runner reads row-major bars, whatever layout each frame's columns had.
    bars = np.concatenate(matrices, out=np.empty((int(starts[-1]), len(info.inputs)), dtype=np.float64))
    indexes = [frames[symbol].index for symbol in symbols]
    first = indexes[0]
    if all(index.equals(first) for index in indexes[1:]):
        return _Packed(symbols, first, bars, np.ones((len(symbols), len(first)), dtype=np.bool_), starts)
    for symbol, index in zip(symbols, indexes, strict=True):
        if not (index.is_unique and index.is_monotonic_increasing):
            raise IndicatorError(
                f"indicator {info.name!r}: the frames' indexes differ, so they are aligned on time, which needs "
                f"each index unique and increasing; symbol {symbol!r}'s is not (sort it and drop duplicate rows)"
            )
    try:
        union = functools.reduce(lambda a, b: a.union(b), indexes[1:], first)
    except TypeError as e:
        raise IndicatorError(
            f"indicator {info.name!r}: the frames' indexes cannot be aligned ({e}); give every frame the same kind "
            "of index (UTC timestamps)"
        ) from e
    has_bar = np.zeros((len(symbols), len(union)), dtype=np.bool_)
    for s, index in enumerate(indexes):
        has_bar[s, union.get_indexer(index)] = True
    return _Packed(symbols, union, bars, has_bar, starts)


def _listed(names: list) -> str:
    return ", ".join(map(repr, names))
