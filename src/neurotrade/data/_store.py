"""The workspace's bar store: one Parquet file per symbol and timeframe, and a manifest of their hashes."""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path

import pandas as pd
import pyarrow as pa
from filelock import FileLock

from neurotrade.data._frame import INDEX_NAME, TIME_UNIT, validate_ohlcv
from neurotrade.data._timeframe import TIMEFRAMES, infer_timeframe, parse_timeframe
from neurotrade.errors import DataError

__all__ = ["DataStore", "StoreEntry"]

_log = logging.getLogger(__name__)

_SYMBOL = re.compile(r"^[A-Z0-9._-]+$")
_MANIFEST_VERSION = 1


@dataclass(frozen=True)
class StoreEntry:
    """What the manifest records about one stored series.

    Attributes
    ----------
    symbol, timeframe
        The key: an upper-case symbol and a canonical timeframe (``'1d'``).
    rows
        Number of bars.
    first, last
        ISO 8601 open times of the first and last bar.
    sha256
        Hash of the Parquet file as written; :meth:`DataStore.get` refuses a file that differs.
    source
        Where the bars came from (a file path, ``'sample:AAPL'`` ...), as given to :meth:`DataStore.put`.
    imported_at
        ISO 8601 UTC time of the import.
    """

    symbol: str
    timeframe: str
    rows: int
    first: str
    last: str
    sha256: str
    source: str
    imported_at: str

    @property
    def key(self) -> str:
        """``'AAPL/1d'``: how messages and listings name the entry."""
        return f"{self.symbol}/{self.timeframe}"


class DataStore:
    """OHLCV bars kept in the workspace, verified on every read.

    Files live at ``{home}/data/{SYMBOL}/{timeframe}.parquet``; ``{home}/data/manifest.json`` lists each
    with its row count, first and last bar, sha256, source and import time. Writes go to a temporary
    file renamed into place, and the manifest is rewritten the same way under a file lock, so a reader
    never sees half a file and two imports do not lose each other's entries.

    Parameters
    ----------
    home
        The workspace directory (see ``neurotrade --home``); nothing is created until :meth:`put`.

    Examples
    --------
    >>> import tempfile
    >>> from neurotrade.data import synthetic_ohlcv
    >>> store = DataStore(tempfile.mkdtemp())
    >>> entry = store.put(synthetic_ohlcv(100), "demo", "1d", source="synthetic")
    >>> entry.key, entry.rows
    ('DEMO/1d', 100)
    >>> len(store.get("demo"))
    100
    """

    def __init__(self, home: str | PathLike[str]) -> None:
        self.home = Path(home)
        self.root = self.home / "data"
        self.manifest_path = self.root / "manifest.json"

    def __repr__(self) -> str:
        return f"DataStore({str(self.home)!r})"

    def path(self, symbol: str, timeframe: str = "1d") -> Path:
        """Where the Parquet file of ``symbol`` at ``timeframe`` lives (whether or not it exists)."""
        return self.root / _symbol(symbol) / f"{parse_timeframe(timeframe).name}.parquet"

    def put(self, df: pd.DataFrame, symbol: str, timeframe: str, *, source: str = "") -> StoreEntry:
        """Store bars, replacing any earlier ones for the same symbol and timeframe.

        Parameters
        ----------
        df
            An OHLCV frame (validated first).
        symbol
            Upper-cased; letters, digits, ``.``, ``_`` and ``-`` only.
        timeframe
            The bars' timeframe; it must agree with their spacing when that is one of the supported ones.
        source
            Where the bars came from, kept in the manifest.

        Returns
        -------
        StoreEntry
            The manifest entry written.

        Raises
        ------
        DataError
            Invalid symbol or timeframe, bars that break the contract or do not match the timeframe.
        """
        sym = _symbol(symbol)
        tf = parse_timeframe(timeframe).name
        validate_ohlcv(df, source=f"{sym}/{tf}")
        if len(df) == 0:
            raise DataError(f"{sym}/{tf}: no bars to store.")
        spaced = _spacing(df)
        if spaced is not None and spaced != tf:
            raise DataError(
                f"{sym}/{tf}: the bars are {spaced} apart (median spacing), not {tf}. "
                f"Store them as {spaced}, or resample them first: neurotrade.data.resample(df, {tf!r})."
            )
        target = self.path(sym, tf)
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / ".lock")):
            digest = _write_atomically(target, lambda tmp: df.to_parquet(tmp, engine="pyarrow", index=True))
            entry = StoreEntry(
                symbol=sym,
                timeframe=tf,
                rows=len(df),
                first=df.index[0].isoformat(),
                last=df.index[-1].isoformat(),
                sha256=digest,
                source=source,
                imported_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            entries = {e.key: e for e in self._read_manifest()}
            entries[entry.key] = entry
            self._write_manifest(entries.values())
        _log.debug("stored %s: %d bars in %s", entry.key, entry.rows, target)
        return entry

    def entry(self, symbol: str, timeframe: str = "1d") -> StoreEntry:
        """The manifest entry of ``symbol`` at ``timeframe``.

        Raises
        ------
        DataError
            If nothing is stored under that key; the message lists what is, with the closest key.
        """
        sym = _symbol(symbol)
        tf = parse_timeframe(timeframe).name
        entries = {e.key: e for e in self._read_manifest()}
        key = f"{sym}/{tf}"
        if key in entries:
            return entries[key]
        if not entries:
            raise DataError(
                f"no {key} in the data store: {self.root} holds nothing yet. "
                f"Import it with: neurotrade data import FILE --symbol {sym} --timeframe {tf}"
            )
        close = difflib.get_close_matches(key, list(entries), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"no {key} in the data store.{hint} Stored: {', '.join(sorted(entries))}. "
            f"Import it with: neurotrade data import FILE --symbol {sym} --timeframe {tf}"
        )

    def get(self, symbol: str, timeframe: str = "1d") -> pd.DataFrame:
        """Load stored bars after checking the file against its sha256 in the manifest.

        Raises
        ------
        DataError
            If nothing is stored under that key, the file is missing, or it changed since import.
        """
        entry = self.entry(symbol, timeframe)
        path = self.path(entry.symbol, entry.timeframe)
        reimport = (
            f"Re-import it with: neurotrade data import FILE --symbol {entry.symbol} --timeframe {entry.timeframe}"
        )
        try:
            data = path.read_bytes()
        except FileNotFoundError as e:
            raise DataError(f"{entry.key}: the manifest lists {path} but the file is missing. {reimport}") from e
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry.sha256:
            raise DataError(
                f"{entry.key}: {path} changed since it was imported on {entry.imported_at} "
                f"(sha256 {digest[:12]}... instead of {entry.sha256[:12]}...). {reimport}"
            )
        try:
            df = pd.read_parquet(pa.BufferReader(data))
        except (OSError, ValueError, pa.ArrowException) as e:
            raise DataError(f"{entry.key}: {path} cannot be read as Parquet ({e}). {reimport}") from e
        if isinstance(df.index, pd.DatetimeIndex):
            df.index = df.index.as_unit(TIME_UNIT).rename(INDEX_NAME)
        validate_ohlcv(df, source=str(path))
        return df

    def list(self) -> list[StoreEntry]:
        """Every stored entry, sorted by symbol then timeframe (shortest first)."""
        order = {name: i for i, name in enumerate(TIMEFRAMES)}
        return sorted(self._read_manifest(), key=lambda e: (e.symbol, order.get(e.timeframe, len(order))))

    def _read_manifest(self) -> list[StoreEntry]:
        try:
            text = self.manifest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        fix = f"Delete {self.manifest_path} and import the data again."
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"{self.manifest_path} is not valid JSON ({e}). {fix}") from e
        try:
            return [StoreEntry(**item) for item in doc["entries"]]
        except (KeyError, TypeError) as e:
            raise DataError(f"{self.manifest_path} is not a neurotrade data manifest ({e!r}). {fix}") from e

    def _write_manifest(self, entries: Iterable[StoreEntry]) -> None:
        items = sorted((asdict(e) for e in entries), key=lambda d: (d["symbol"], d["timeframe"]))
        doc = {"version": _MANIFEST_VERSION, "entries": items}
        payload = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
        _write_atomically(self.manifest_path, lambda tmp: tmp.write_bytes(payload))


def _spacing(df: pd.DataFrame) -> str | None:
    """The timeframe the bars' spacing shows, or None when it is irregular or too short to tell."""
    try:
        return infer_timeframe(df)
    except DataError:
        return None


def _symbol(symbol: str) -> str:
    sym = str(symbol).strip().upper()
    if not _SYMBOL.match(sym):
        raise DataError(
            f"invalid symbol {symbol!r}: use letters, digits, '.', '_' and '-' only (e.g. 'BRK.B', 'BTC-USD')."
        )
    return sym


def _write_atomically(target: Path, write: Callable[[Path], object]) -> str:
    """Write through ``write(tmp_path)`` to a temporary file next to ``target``, then rename it over.

    Returns the sha256 of the bytes written.
    """
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return digest
