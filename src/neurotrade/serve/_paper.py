"""The paper sessions' state, read-only: ``{home}/paper/{session}/state.sqlite`` as ``neurotrade.live`` writes it
(format 1: a ``meta`` table, and a ``steps`` table with one row per committed bar: ISO time, equity, cash and the
positions as JSON).

``live.SessionStore(read_only=True)`` reads a whole session; the API needs two narrow views of it (the last
positions, and a page of the equity curve with LIMIT/OFFSET) on every request, so it queries the ``steps`` table
itself, against the format ``live`` writes (``FORMAT`` is live's own constant).

The database is opened read-only (``mode=ro``): the API never writes a session's state, and a paper loop writing
it at the same time (WAL) keeps its one transaction per bar.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neurotrade.live._state import FORMAT  # the state format this reader knows: the one the paper loop writes
from neurotrade.serve._errors import ApiError
from neurotrade.serve._plain import plain

STATE_FILE = "state.sqlite"


def sessions(home: Path) -> list[dict[str, Any]]:
    """Every session folder with a state database: its name, strategy, bundle, last bar and when it changed.

    Examples
    --------
    >>> import tempfile
    >>> home = Path(tempfile.mkdtemp())
    >>> demo_session(home / "paper" / "s1")
    >>> [(s["session"], s["strategy"], s["steps"], s["last_time"]) for s in sessions(home)]
    [('s1', 'demo', 3, '2024-01-03T00:00:00+00:00')]
    """
    root = home / "paper"
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(p for p in root.iterdir() if (p / STATE_FILE).is_file()):
        db_file = folder / STATE_FILE
        changed = max(f.stat().st_mtime for f in folder.glob(f"{STATE_FILE}*"))
        info: dict[str, Any] = {"session": folder.name, "strategy": None, "bundle": None, "steps": 0}
        info["updated_at"] = datetime.fromtimestamp(changed, UTC).isoformat(timespec="seconds")
        info["last_time"] = None
        try:
            with _Reader(db_file) as db:
                meta = _meta(db)
                info.update(strategy=meta.get("strategy"), bundle=meta.get("bundle"))
                if "steps" in _tables(db):
                    count, last = db.execute("SELECT count(*), max(iso) FROM steps").fetchone()
                    info.update(steps=int(count), last_time=last)
        except sqlite3.Error:
            pass  # listed without its numbers; reading its rows says what is wrong
        out.append(info)
    return out


def positions(home: Path, session: str) -> tuple[str | None, list[dict[str, Any]], dict[str, Any]]:
    """The positions after the session's last committed bar: its time, one row per symbol, and cash and equity."""
    with _session(home, session) as db:
        row = db.execute(
            "SELECT iso, positions, cash, equity FROM steps WHERE positions IS NOT NULL ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    if row is None:
        return None, [], {}
    held = json.loads(row["positions"]) if row["positions"] else {}
    rows = [{"symbol": symbol, "position": plain(value)} for symbol, value in sorted(held.items())]
    return row["iso"], rows, {"cash": plain(row["cash"]), "equity": plain(row["equity"])}


def equity(home: Path, session: str, *, limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The equity curve: the last ``limit`` points (after skipping ``offset`` of the newest), oldest first, and
    how many points there are.

    Examples
    --------
    >>> import tempfile
    >>> home = Path(tempfile.mkdtemp())
    >>> demo_session(home / "paper" / "s1")
    >>> rows, total = equity(home, "s1", limit=2)
    >>> [r["equity"] for r in rows], total
    ([100010.0, 99990.0], 3)
    """
    with _session(home, session) as db:
        total = db.execute("SELECT count(*) FROM steps WHERE equity IS NOT NULL").fetchone()[0]
        found = db.execute(
            "SELECT iso AS time, bar, equity, cash FROM steps WHERE equity IS NOT NULL ORDER BY seq DESC "
            "LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
    return [{k: plain(r[k]) for k in r.keys()} for r in reversed(found)], int(total)  # noqa: SIM118  (sqlite3.Row)


class _Reader:
    """A read-only connection, closed on exit."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=5)
        self.db.row_factory = sqlite3.Row

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc: object) -> None:
        self.db.close()


class _session(_Reader):
    """A session's database, checked: it exists (404) and is in the format this reader knows (409)."""

    def __init__(self, home: Path, session: str) -> None:
        db_file = home / "paper" / session / STATE_FILE
        if not db_file.is_file():
            known = ", ".join(s["session"] for s in sessions(home)[-20:]) or "none"
            raise ApiError(
                404, f"no paper session {session!r} in this workspace; sessions: {known}", field="path.session"
            )
        try:
            super().__init__(db_file)
            found = _meta(self.db).get("format")
            tables = _tables(self.db)
        except sqlite3.Error as e:
            raise ApiError(409, f"paper session {session!r}: its state cannot be read now ({e}); retry") from e
        if "steps" not in tables or (found is not None and found != FORMAT):
            self.db.close()
            raise ApiError(
                409,
                f"paper session {session!r} was written in another state format ({found}); this server reads "
                f"format {FORMAT}: upgrade neurotrade to read it",
            )


def _tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _meta(db: sqlite3.Connection) -> dict[str, Any]:
    if "meta" not in _tables(db):
        return {}
    out = {}
    for key, value in db.execute("SELECT key, value FROM meta"):
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def demo_session(folder: Path) -> None:
    """Write a small session database in format 1 (for examples and tests).

    Examples
    --------
    >>> import tempfile
    >>> demo_session(Path(tempfile.mkdtemp()) / "s")
    """
    folder.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(folder / STATE_FILE)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [("format", "1"), ("strategy", '"demo"'), ("bundle", '"demo/1d_v1"')],
    )
    db.execute(
        "CREATE TABLE steps (seq INTEGER PRIMARY KEY, time INTEGER NOT NULL UNIQUE, iso TEXT NOT NULL, "
        "phase TEXT NOT NULL, bar INTEGER, equity REAL, cash REAL, positions TEXT)"
    )
    for i, (eq, pos) in enumerate([(1e5, {"SYN": 0}), (100010.0, {"SYN": 1}), (99990.0, {"SYN": 1})], start=1):
        iso = f"2024-01-0{i}T00:00:00+00:00"
        db.execute(
            "INSERT INTO steps VALUES (?, ?, ?, 'trading', ?, ?, ?, ?)",
            (i, i * 86_400 * 10**9, iso, i, eq, 0.0 if pos["SYN"] else eq, json.dumps(pos)),
        )
    db.commit()
    db.close()
