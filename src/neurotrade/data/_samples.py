"""Real daily bars bundled with neurotrade: AAPL, FB, GOOG, IBM and MSFT, 2000 to 2013 (public domain).

See ``samples/PROVENANCE.md`` for where the file comes from and what its columns hold.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd

from neurotrade.data._readers import read_ohlcv
from neurotrade.data._repairs import Repair
from neurotrade.errors import DataError

__all__ = ["SampleInfo", "load_sample", "sample_info", "sample_symbols"]

SAMPLE_FILE = "stocks.csv.gz"

_log = logging.getLogger(__name__)

# The bundled file never changes, so each symbol is read (and its split-adjust logged) once per process; later
# loads get a copy and the same repairs through ``on_repair``.
_LOADED: dict[str, tuple[pd.DataFrame, tuple[Repair, ...]]] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class SampleInfo:
    """One bundled symbol: how many daily bars and the first and last trading day."""

    symbol: str
    rows: int
    first: pd.Timestamp
    last: pd.Timestamp


@contextmanager
def _sample_path() -> Iterator[Path]:
    ref = resources.files("neurotrade.data").joinpath("samples", SAMPLE_FILE)
    with resources.as_file(ref) as path:
        yield path


@cache
def _index() -> tuple[SampleInfo, ...]:
    with _sample_path() as path:
        table = pd.read_csv(path, usecols=["Ticker", "Date"])
    dates = pd.to_datetime(table["Date"], format="%Y-%m-%d", utc=True)
    info = dates.groupby(table["Ticker"]).agg(["size", "min", "max"])
    return tuple(SampleInfo(str(sym), int(row["size"]), row["min"], row["max"]) for sym, row in info.iterrows())


def sample_symbols() -> list[str]:
    """The symbols of the bundled sample data.

    Examples
    --------
    >>> sample_symbols()
    ['AAPL', 'FB', 'GOOG', 'IBM', 'MSFT']
    """
    return [s.symbol for s in _index()]


def sample_info() -> list[SampleInfo]:
    """Each bundled symbol with its number of daily bars and first and last day.

    Examples
    --------
    >>> info = sample_info()[0]
    >>> info.symbol, info.rows, info.first.date().isoformat(), info.last.date().isoformat()
    ('AAPL', 3270, '2000-03-01', '2013-03-01')
    """
    return list(_index())


def load_sample(symbol: str = "AAPL", *, on_repair: Callable[[Repair], None] | None = None) -> pd.DataFrame:
    """Daily bars of a bundled symbol, split-adjusted.

    The file holds raw prices, which halve overnight at each split (AAPL on 2000-06-21 and
    2005-02-28), and an adjusted close. It is always read with ``repair=['split-adjust']``: open, high,
    low and close are multiplied by ``adj_close / close`` and volume divided by it, and that repair is
    reported (a WARNING on ``neurotrade.data`` and ``on_repair``), naming the splits found. The
    adjusted close also folds in dividends. Each bar's time is UTC midnight of its trading day.

    A symbol is read once per process: later calls return a copy of the same bars, pass the same repair
    to ``on_repair`` and log it only at DEBUG, so a run that loads its bars twice warns once.

    Parameters
    ----------
    symbol
        One of :func:`sample_symbols` (case-insensitive).
    on_repair
        Called with the :class:`Repair` applied.

    Returns
    -------
    pandas.DataFrame
        An OHLCV frame.

    Raises
    ------
    DataError
        For a symbol that is not bundled, with the closest one.

    Examples
    --------
    >>> df = load_sample("AAPL", on_repair=lambda r: print(r.message.split("; ")[-1]))
    splits found: 2000-06-21 (2:1), 2005-02-28 (2:1)
    >>> len(df), list(df.columns)
    (3270, ['open', 'high', 'low', 'close', 'volume'])
    """
    symbols = sample_symbols()
    wanted = str(symbol).strip().upper()
    if wanted not in symbols:
        close = difflib.get_close_matches(wanted, symbols, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(f"no bundled sample for {symbol!r}.{hint} Bundled symbols: {', '.join(symbols)}.")
    with _LOCK:
        loaded = _LOADED.get(wanted)
        if loaded is None:
            applied: list[Repair] = []
            with _sample_path() as path:
                bars = read_ohlcv(path, symbol=wanted, repair=["split-adjust"], on_repair=applied.append)
            loaded = _LOADED[wanted] = (bars, tuple(applied))
        else:
            # A run loads its bars, then its report loads them again: the repair was logged the first time.
            for repair in loaded[1]:
                _log.debug("%s (as reported when first loaded)", repair.message)
    bars, applied = loaded
    if on_repair is not None:
        for repair in applied:
            on_repair(repair)
    return bars.copy()
