"""The server's SQLite database (``{home}/serve/serve.sqlite``): API keys and jobs, in WAL mode.

Every process of a server (uvicorn's workers, the job supervisor) opens its own connections; SQLite's locking
makes each write one atomic transaction, and ``synchronous=FULL`` makes a committed job survive a kill -9 (and a
power cut) of whoever wrote it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    salt        BLOB NOT NULL,
    digest      BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE TABLE IF NOT EXISTS jobs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    kind              TEXT NOT NULL,
    state             TEXT NOT NULL,
    strategy          TEXT NOT NULL,
    params            TEXT NOT NULL,
    resume            INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    pid               INTEGER,
    exit_code         INTEGER,
    error             TEXT,
    result            TEXT,
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, id);
"""

# How long a writer waits for another process's transaction before giving up (they last milliseconds).
BUSY_TIMEOUT_MS = 10_000


def connect(path: Path, schema: str = SCHEMA, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open (creating if needed) a database of the server at ``path``, its tables made and WAL on.

    The connection is in autocommit mode: use :func:`transaction` for anything that must be atomic.
    ``synchronous=NORMAL`` (the streams' bars) survives a killed process, not a power cut, and spares an fsync
    per commit.

    Examples
    --------
    >>> import tempfile
    >>> db = connect(Path(tempfile.mkdtemp()) / "serve" / "serve.sqlite")
    >>> sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))[:2]
    ['api_keys', 'jobs']
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA synchronous = {synchronous}")
    db.executescript(schema)
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on an exception): one writer at a time, all or nothing.

    Examples
    --------
    >>> import tempfile
    >>> db = connect(Path(tempfile.mkdtemp()) / "s.sqlite")
    >>> with transaction(db):
    ...     _ = db.execute("INSERT INTO api_keys VALUES ('a', 'n', x'00', x'00', 't', NULL)")
    >>> db.execute("SELECT count(*) FROM api_keys").fetchone()[0]
    1
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class Database:
    """One connection per thread to the server database (a sqlite3 connection must not carry two threads'
    transactions at once), the schema made on first use.

    Examples
    --------
    >>> import tempfile
    >>> db = Database(Path(tempfile.mkdtemp()) / "serve.sqlite")
    >>> db.conn.execute("SELECT count(*) FROM jobs").fetchone()[0]
    0
    """

    def __init__(self, path: Path, schema: str = SCHEMA, synchronous: str = "FULL") -> None:
        self.path, self.schema, self.synchronous = Path(path), schema, synchronous
        self._local = threading.local()

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        db = getattr(self._local, "conn", None)
        if db is None:
            db = self._local.conn = connect(self.path, self.schema, self.synchronous)
        return db
