"""A paper session's state: one SQLite database (WAL), one transaction per bar.

Everything a bar changes is committed together: the bars of that time, the engine's decisions, the orders made
and settled, the fills and trades, the account after it (cash, positions, the state to go on from), the equity,
and the feed's cursor. The bar's time is the step's primary key, so a time can be committed once only; a kill at
any moment leaves either the whole bar or none of it. The engine's own state is not stored: it is rebuilt on
restart by replaying the stored bars (see :mod:`neurotrade.live._session`).

Times are stored as integer nanoseconds since the epoch (UTC), exact and sortable, with ISO text beside them for
people and for readers such as the REST API. Floats are SQLite REALs (IEEE doubles: exact); NaN is stored as
NULL.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from neurotrade.errors import StoreError
from neurotrade.live._bars import FeedBar, Rejection
from neurotrade.live._broker import Fill, Order, Trade

#: Bumped when the tables change; a session written by another format is refused with the fix.
FORMAT = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
    seq INTEGER PRIMARY KEY,
    time INTEGER NOT NULL UNIQUE,
    iso TEXT NOT NULL,
    phase TEXT NOT NULL,
    bar INTEGER,
    equity REAL,
    cash REAL,
    positions TEXT,
    account TEXT,
    cursor TEXT,
    feed TEXT NOT NULL,
    engine TEXT NOT NULL,
    committed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bars (
    time INTEGER NOT NULL, symbol TEXT NOT NULL, open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL,
    close REAL NOT NULL, volume REAL NOT NULL, PRIMARY KEY (symbol, time)
);
CREATE INDEX IF NOT EXISTS bars_by_time ON bars (time);
CREATE TABLE IF NOT EXISTS decisions (
    time INTEGER NOT NULL, symbol TEXT NOT NULL, signal TEXT NOT NULL, target INTEGER NOT NULL, size REAL NOT NULL,
    size_reason TEXT NOT NULL, p_sell REAL, p_hold REAL, p_buy REAL, side INTEGER, portfolio_target INTEGER,
    outputs TEXT NOT NULL, PRIMARY KEY (time, symbol)
);
CREATE TABLE IF NOT EXISTS orders (
    time INTEGER NOT NULL, symbol TEXT NOT NULL, target INTEGER NOT NULL, size REAL NOT NULL, status TEXT NOT NULL,
    filled_at INTEGER, note TEXT NOT NULL, PRIMARY KEY (time, symbol)
);
CREATE TABLE IF NOT EXISTS fills (
    seq INTEGER PRIMARY KEY, step INTEGER NOT NULL, time INTEGER NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
    price REAL NOT NULL, quantity REAL NOT NULL, commission REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trades (
    seq INTEGER PRIMARY KEY, step INTEGER NOT NULL, symbol TEXT NOT NULL, entry_time INTEGER NOT NULL,
    exit_time INTEGER NOT NULL, side TEXT NOT NULL, entry_price REAL NOT NULL, exit_price REAL NOT NULL,
    quantity REAL NOT NULL, pnl REAL NOT NULL, return_pct REAL NOT NULL, bars_held INTEGER NOT NULL,
    costs REAL NOT NULL, exit_reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    key TEXT PRIMARY KEY, symbol TEXT NOT NULL, time INTEGER, reason TEXT NOT NULL, raw TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS switches (
    time INTEGER PRIMARY KEY, step INTEGER NOT NULL, bundle TEXT NOT NULL, note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS drift (
    time INTEGER NOT NULL, step INTEGER NOT NULL, kind TEXT NOT NULL, feature TEXT NOT NULL, value REAL NOT NULL,
    threshold REAL NOT NULL, engine TEXT NOT NULL, PRIMARY KEY (time, kind, feature)
);
"""


def ns(time: pd.Timestamp) -> int:
    """A time as stored: integer nanoseconds since the epoch, UTC."""
    return int(pd.Timestamp(time).value)


def stamp(value: int) -> pd.Timestamp:
    """A stored time back as a UTC timestamp."""
    return pd.Timestamp(int(value), unit="ns", tz="UTC")


def _iso(value: int) -> str:
    return stamp(value).isoformat()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class StepRecord:
    """Everything one time changed, committed in one transaction.

    ``decisions`` rows hold ``symbol, signal, target, size, size_reason, p_sell, p_hold, p_buy, side,
    portfolio_target, outputs`` (a dict); ``settled`` are orders of earlier closes settled at this open; ``account``
    the broker's state after the step (None before trading starts).
    """

    time: pd.Timestamp
    phase: str
    feed: str
    engine: str
    cursor: Any = None
    bars: Sequence[FeedBar] = ()
    decisions: Sequence[dict[str, Any]] = ()
    orders: Sequence[Order] = ()
    settled: Sequence[Order] = ()
    fills: Sequence[Fill] = ()
    trades: Sequence[Trade] = ()
    bar: int | None = None
    equity: float | None = None
    cash: float | None = None
    positions: dict[str, float] | None = None
    account: dict[str, Any] | None = None
    switch: tuple[str, str] | None = None
    drift: Sequence[dict[str, Any]] = ()  # live.drift flags raised at this bar (kind, feature, value, threshold)
    hooks: dict[str, Callable[[], None]] = field(default_factory=dict)


class SessionStore:
    """The SQLite database of one paper session.

    Parameters
    ----------
    path
        ``state.sqlite`` in the session's folder; created (with its tables) when missing.
    read_only
        Open an existing database for reading only (``mode=ro``: a reader such as the report or the REST API never
        writes a session a paper loop may be writing; WAL lets both go on). Writing methods then raise.

    Examples
    --------
    >>> import tempfile
    >>> store = SessionStore(Path(tempfile.mkdtemp()) / "state.sqlite")
    >>> store.set_meta({"strategy": "demo"})
    >>> t = pd.Timestamp("2024-01-02", tz="UTC")
    >>> store.commit(StepRecord(t, "warmup", "replay", "demo/1d_v1", cursor=1,
    ...                         bars=[FeedBar("A", t, 10.0, 11.0, 9.0, 10.5, 100.0)]))
    1
    >>> store.last_step()["cursor"], store.meta()["strategy"]
    (1, 'demo')
    >>> store.close()
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if read_only:
            if not self.path.is_file():
                raise StoreError(f"no paper session's database at {self.path}; run `neurotrade paper` to start one")
            try:
                self.db = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True, timeout=30.0)
                tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{self.path} is not a paper session's database ({e})") from e
            if not {"meta", "steps", "bars"} <= tables:
                raise StoreError(f"{self.path} is not a paper session's database (tables {sorted(tables)})")
            self._check_format()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: transactions are begun and ended here, explicitly, one per bar.
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL: a committed bar survives the process being killed (kill -9 at any moment); only a
            # power cut could lose the last few, never corrupt the file.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path} is not a paper session's database ({e}); move it away or start a new "
                             "session (--session NAME)") from e  # fmt: skip
        self._check_format()

    def _check_format(self) -> None:
        found = self.meta().get("format")
        if found is not None and found != FORMAT:
            raise StoreError(f"{self.path} was written by another version of neurotrade (format {found}, this one "
                             f"reads {FORMAT}); start a new session (--session NAME)")  # fmt: skip

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    # --- meta ----------------------------------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        """The session's settings, as recorded when it started."""
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM meta")}

    def set_meta(self, values: dict[str, Any]) -> None:
        """Record settings (in one transaction)."""
        with self._transaction():
            for key, value in {"format": FORMAT, **values}.items():
                self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    # --- writing -------------------------------------------------------------------------------------------------

    def commit(self, step: StepRecord) -> int:
        """Commit one time: every table it touches, in one transaction. Returns the step's number.

        ``step.hooks`` (tests) are called at named points: ``bars`` (after the bars are written), ``before_commit``
        (everything written, not committed) and ``after_commit``.
        """
        time = ns(step.time)
        with self._transaction():
            seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM steps").fetchone()[0]
            self.db.executemany(
                "INSERT INTO bars VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(ns(b.time), b.symbol, b.open, b.high, b.low, b.close, b.volume) for b in step.bars],
            )
            _call(step.hooks, "bars")
            self.db.executemany(
                "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(time, d["symbol"], d["signal"], int(d["target"]), float(d["size"]), d["size_reason"], d["p_sell"],
                  d["p_hold"], d["p_buy"], d["side"], d["portfolio_target"], json.dumps(d["outputs"]))
                 for d in step.decisions],
            )  # fmt: skip
            self.db.executemany(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, NULL, '')",
                [(ns(o.time), o.symbol, o.target, o.size, o.status) for o in step.orders],
            )
            self.db.executemany(
                "UPDATE orders SET status = ?, filled_at = ?, note = ? WHERE time = ? AND symbol = ?",
                [(o.status, time, o.note, ns(o.time), o.symbol) for o in step.settled],
            )
            self.db.executemany(
                "INSERT INTO fills (step, time, symbol, side, price, quantity, commission) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(seq, ns(f.time), f.symbol, f.side, f.price, f.quantity, f.commission) for f in step.fills],
            )
            self.db.executemany(
                "INSERT INTO trades (step, symbol, entry_time, exit_time, side, entry_price, exit_price, quantity, "
                "pnl, return_pct, bars_held, costs, exit_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(seq, t.symbol, ns(t.entry_time), ns(t.exit_time), t.side, t.entry_price, t.exit_price, t.quantity,
                  t.pnl, t.return_pct, t.bars_held, t.costs, t.exit_reason) for t in step.trades],
            )  # fmt: skip
            if step.switch is not None:
                self.db.execute("INSERT INTO switches VALUES (?, ?, ?, ?)", (time, seq, *step.switch))
                self.db.execute("DELETE FROM meta WHERE key = 'pending_switch'")  # the request is carried out
            self.db.executemany(
                "INSERT INTO drift VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(time, seq, f["kind"], f["feature"], f["value"], f["threshold"], step.engine) for f in step.drift],
            )
            self.db.execute(
                "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, time, _iso(time), step.phase, step.bar, step.equity, step.cash,
                 None if step.positions is None else json.dumps(step.positions),
                 None if step.account is None else json.dumps(step.account, allow_nan=False),
                 json.dumps(step.cursor), step.feed, step.engine, _now()),
            )  # fmt: skip
            _call(step.hooks, "before_commit")
        _call(step.hooks, "after_commit")
        return int(seq)

    def reject(self, rejection: Rejection) -> bool:
        """Record a rejected bar (once: the same bar rejected again after a restart is not counted twice).
        Returns True when it was new."""
        time = None if rejection.time is None else ns(rejection.time)
        key = hashlib.sha256(json.dumps([rejection.symbol, time, rejection.reason, rejection.raw]).encode()).hexdigest()
        with self._transaction():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO rejected VALUES (?, ?, ?, ?, ?, ?)",
                (key, rejection.symbol, time, rejection.reason, rejection.raw, _now()),
            )
        return cursor.rowcount == 1

    # --- reading -------------------------------------------------------------------------------------------------

    def last_step(self) -> dict[str, Any] | None:
        """The last committed step (``seq``, ``time``, ``phase``, ``bar``, ``account``, ``cursor``, ``feed`` ...)."""
        rows = self._dicts("SELECT * FROM steps ORDER BY seq DESC LIMIT 1")
        return rows[0] if rows else None

    def last_trading_step(self) -> dict[str, Any] | None:
        """The last step at which the account traded (its state is the broker's to go on from)."""
        rows = self._dicts("SELECT * FROM steps WHERE account IS NOT NULL ORDER BY seq DESC LIMIT 1")
        return rows[0] if rows else None

    def steps(self) -> list[dict[str, Any]]:
        """Every committed step in order (its account state left out: only the last one is ever needed)."""
        return self._dicts(
            "SELECT seq, time, iso, phase, bar, equity, cash, positions, feed, engine FROM steps ORDER BY seq"
        )

    def bars(self) -> Iterator[tuple[int, list[FeedBar]]]:
        """The stored bars, time by time in step order: ``(time ns, bars)``."""
        query = "SELECT time, symbol, open, high, low, close, volume FROM bars ORDER BY time, rowid"
        current: int | None = None
        group: list[FeedBar] = []
        for time, symbol, o, h, lo, c, v in self.db.execute(query):
            if time != current:
                if group:
                    yield current, group  # type: ignore[misc]
                current, group = time, []
            group.append(FeedBar(symbol, stamp(time), o, h, lo, c, v))
        if group:
            yield current, group  # type: ignore[misc]

    def decisions(self) -> list[dict[str, Any]]:
        """Every stored decision, time by time (each time's symbols in the order they were decided)."""
        rows = self._dicts("SELECT * FROM decisions ORDER BY time, rowid")
        for row in rows:
            row["outputs"] = json.loads(row["outputs"])
        return rows

    def table(self, name: str) -> list[dict[str, Any]]:
        """Every row of ``fills``, ``trades``, ``orders``, ``rejected``, ``switches`` or ``drift``, in the order
        written."""
        if name not in {"fills", "trades", "orders", "rejected", "switches", "drift"}:
            raise StoreError(f"no table {name!r} in a paper session's database")
        if name == "drift" and self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'drift'").fetchone() is None:
            return []  # a session written before the table existed, opened read-only
        return self._dicts(f"SELECT * FROM {name} ORDER BY rowid")  # a name from the set above

    def count_rejected(self) -> int:
        """How many distinct bars were rejected."""
        return int(self.db.execute("SELECT COUNT(*) FROM rejected").fetchone()[0])

    def _dicts(self, query: str, *args: Any) -> list[dict[str, Any]]:
        with closing(self.db.execute(query, args)) as cursor:
            names = [c[0] for c in cursor.description]
            out = [dict(zip(names, row, strict=True)) for row in cursor]
        for row in out:
            for key in ("account", "positions", "cursor"):
                if isinstance(row.get(key), str):
                    row[key] = json.loads(row[key])
        return out

    def _transaction(self) -> _Transaction:
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only; a paper session's state is written by its loop only")
        return _Transaction(self.db)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception (KeyboardInterrupt included)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")


def _call(hooks: dict[str, Callable[[], None]], name: str) -> None:
    hook = hooks.get(name)
    if hook is not None:
        hook()
