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
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path

import pandas as pd
import pyarrow as pa
from filelock import FileLock

from neurotrade.data._frame import INDEX_NAME, TIME_UNIT, validate_ohlcv
from neurotrade.data._sessions import Gap, find_gaps
from neurotrade.data._timeframe import TIMEFRAMES, infer_timeframe, parse_timeframe
from neurotrade.errors import DataError

__all__ = ["DataStore", "StoreEntry", "normalise_symbol"]

_log = logging.getLogger(__name__)

# A symbol names a folder of the store, so it must be one plain path component: it starts with a letter or digit
# (no '.', '..', '...' or hidden names), holds no separator, and is short enough for any file system.
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,63}$")
# Version 2 added the gap report; version 1 manifests are still read (their entries' gaps are unknown).
_MANIFEST_VERSION = 2
_KEPT_GAPS = 500  # the longest gaps kept in the manifest (in time order); all are counted


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
    gap_count
        How many gaps the bars have: runs of bars missing where the series' own weekly sessions expect
        some (see :func:`~neurotrade.data.find_gaps`); ``None`` for entries stored before gaps were checked.
    gaps
        The gaps themselves, in time order: all of them, or the 500 longest when there are more.
    """

    symbol: str
    timeframe: str
    rows: int
    first: str
    last: str
    sha256: str
    source: str
    imported_at: str
    gap_count: int | None = None
    gaps: tuple[Gap, ...] = ()

    @property
    def missing_bars(self) -> int:
        """Bars missing in the gaps kept (all gaps unless there are more than 500)."""
        return sum(g.missing for g in self.gaps)

    @property
    def key(self) -> str:
        """``'AAPL/1d'``: how messages and listings name the entry."""
        return f"{self.symbol}/{self.timeframe}"


class DataStore:
    """OHLCV bars kept in the workspace, verified on every read.

    Files live at ``{home}/data/{SYMBOL}/{timeframe}.parquet``; ``{home}/data/manifest.json`` lists each
    with its row count, first and last bar, sha256, source, import time and gaps. Writes go to a temporary
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
        return self.root / normalise_symbol(symbol) / f"{parse_timeframe(timeframe).name}.parquet"

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
            The manifest entry written, with the bars' gaps (``gap_count``, ``gaps``).

        Raises
        ------
        DataError
            Invalid symbol or timeframe, bars that break the contract or do not match the timeframe.
        """
        sym = normalise_symbol(symbol)
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
        gaps = find_gaps(df.index, parse_timeframe(tf).delta)
        if gaps:
            longest = max(gaps, key=lambda g: g.missing)
            # DEBUG: the entry returned carries the gaps, and `data import` prints them with the import.
            _log.debug("%s/%s: %d gap(s) in the bars, the longest %s", sym, tf, len(gaps), longest)
        kept = sorted(sorted(gaps, key=lambda g: -g.missing)[:_KEPT_GAPS], key=lambda g: g.after)
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
                gap_count=len(gaps),
                gaps=tuple(kept),
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
        sym = normalise_symbol(symbol)
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
        except (json.JSONDecodeError, RecursionError) as e:  # nested past the parser's depth: not a manifest
            raise DataError(f"{self.manifest_path} is not valid JSON ({e}). {fix}") from e
        version = doc.get("version") if isinstance(doc, dict) else None
        if isinstance(version, int) and version > _MANIFEST_VERSION:
            raise DataError(
                f"{self.manifest_path} was written by a newer neurotrade (manifest version {version}; this one "
                f"reads up to {_MANIFEST_VERSION}). Upgrade neurotrade, or delete it and import the data again."
            )
        try:
            return [_entry_from_dict(item) for item in doc["entries"]]
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"{self.manifest_path} is not a neurotrade data manifest ({e!r}). {fix}") from e

    def _write_manifest(self, entries: Iterable[StoreEntry]) -> None:
        items = sorted((_entry_to_dict(e) for e in entries), key=lambda d: (d["symbol"], d["timeframe"]))
        doc = {"version": _MANIFEST_VERSION, "entries": items}
        payload = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
        _write_atomically(self.manifest_path, lambda tmp: tmp.write_bytes(payload))


def _entry_to_dict(entry: StoreEntry) -> dict[str, object]:
    item = asdict(entry)
    item["gaps"] = [
        {"after": g.after.isoformat(), "before": g.before.isoformat(), "missing": g.missing} for g in entry.gaps
    ]
    return item


def _entry_from_dict(item: dict[str, object]) -> StoreEntry:
    fields = dict(item)
    gaps = fields.pop("gaps", [])
    entry = StoreEntry(**fields)  # type: ignore[arg-type]
    found = tuple(
        Gap(pd.Timestamp(g["after"]), pd.Timestamp(g["before"]), int(g["missing"]))
        for g in gaps  # type: ignore[union-attr]
    )
    return replace(entry, gaps=found)


def _spacing(df: pd.DataFrame) -> str | None:
    """The timeframe the bars' spacing shows, or None when it is irregular or too short to tell."""
    try:
        return infer_timeframe(df)
    except DataError:
        return None


def normalise_symbol(symbol: str) -> str:
    """The store's key for ``symbol``: upper-cased, and checked to be safe as a folder name.

    Every place where a symbol becomes a path goes through here (:meth:`DataStore.path`, ``put``, ``get``), so
    ``'..'`` or ``'a/b'`` can never lead outside the store.

    Examples
    --------
    >>> normalise_symbol(" brk.b ")
    'BRK.B'
    >>> normalise_symbol("..")
    Traceback (most recent call last):
    ...
    neurotrade.errors.DataError: invalid symbol '..': a symbol starts with a letter or digit and holds only ...
    """
    sym = str(symbol).strip().upper()
    if not _SYMBOL.fullmatch(sym):
        raise DataError(
            f"invalid symbol {symbol!r}: a symbol starts with a letter or digit and holds only letters, digits, "
            "'.', '_' and '-' (no '/', '\\' or spaces), at most 64 characters; e.g. 'AAPL', 'BRK.B', 'BTC-USD'."
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
