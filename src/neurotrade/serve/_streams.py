"""Decision streams: a bundle fed one symbol's bars as they come, one request per new bar.

``/predict`` answers from a fresh engine fed every posted bar, so a client deciding bar after bar would send (and
the server replay) its whole warm-up history each time. A stream keeps the engine between requests: it is opened
with the history, then each request brings only the bars after the last one, and its decision equals that of
``DecisionEngine.from_bundle`` fed every bar of the stream in order (with each request's ``position`` at its last
bar), in-process.

The bars are the truth, kept in ``{home}/serve/streams.sqlite`` (WAL; one transaction per request); the engine is a
cache of what they imply, in the process that served the stream last. A process that does not hold the stream's
engine (another of uvicorn's workers, a restarted server, an evicted entry) rebuilds it by replaying the stored
bars, as a paper session does after a restart. Two requests appending to one stream at once cannot both win: the
second is told the stream moved on (409) and sends again.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from neurotrade.serve._db import Database, transaction
from neurotrade.serve._engines import EngineCache
from neurotrade.serve._errors import ApiError
from neurotrade.serve._settings import ServeSettings

if TYPE_CHECKING:
    from neurotrade.decision import Decision, DecisionEngine

SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (
    id          TEXT PRIMARY KEY,
    model       TEXT NOT NULL,
    bars        INTEGER NOT NULL,
    last_time   INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    used_at     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS stream_bars (
    stream    TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    time      INTEGER NOT NULL,
    open      REAL NOT NULL,
    high      REAL NOT NULL,
    low       REAL NOT NULL,
    close     REAL NOT NULL,
    volume    REAL NOT NULL,
    position  INTEGER,
    PRIMARY KEY (stream, seq)
) WITHOUT ROWID;
"""
# Engines kept in memory per process (a stream's engine is small: its feature streams and rules state).
ENGINES_KEPT = 1024


@dataclass
class _Held:
    engine: DecisionEngine
    model: str
    fed: int  # bars this engine has been fed: the stream's count when it is in step


@dataclass(frozen=True)
class Fed:
    """What a request to a stream produced."""

    record: dict[str, Any]
    engine: DecisionEngine
    decision: Decision


def _ns(value: Any) -> int:
    return int(pd.Timestamp(value).value)


def _iso_ns(value: int) -> datetime:
    return pd.Timestamp(int(value), unit="ns", tz="UTC").to_pydatetime()


class StreamStore:
    """The streams of a workspace, and this process's engines for them.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> settings = ServeSettings(home=tempfile.mkdtemp())
    >>> store = StreamStore(settings, EngineCache(settings.home / "models", 2))
    >>> try:
    ...     store.get("0123456789abcdef")
    ... except ApiError as e:
    ...     print(e.status, e.message[:28])
    404 no stream '0123456789abcdef'
    """

    def __init__(self, settings: ServeSettings, engines: EngineCache) -> None:
        self.settings, self.engines = settings, engines
        self.db = Database(settings.serve_dir / "streams.sqlite", SCHEMA, synchronous="NORMAL")
        self._held: OrderedDict[str, _Held] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        # One writer at a time in this process: threads queue on a lock instead of on SQLite's busy handler,
        # which sleeps in steps of up to 100 ms (the tail at 32 clients).
        self._write = threading.Lock()

    # --- requests ------------------------------------------------------------------------------------------------

    def open(self, model: str, bars: list[dict[str, Any]], position: int | None) -> Fed:
        """Open a stream on ``bars``; its record, its engine and the decision at the last bar."""
        name, engine = self.engines.engine(model)
        decision = _feed(engine, bars, [None] * (len(bars) - 1) + [position])
        stream_id = secrets.token_hex(8)
        now = time.time()
        with self._write, transaction(self.db.conn) as conn:
            idle = now - self.settings.stream_idle_hours * 3600
            stale = [r[0] for r in conn.execute("SELECT id FROM streams WHERE used_at < ?", (idle,))]
            conn.executemany("DELETE FROM stream_bars WHERE stream = ?", [(s,) for s in stale])
            conn.execute("DELETE FROM streams WHERE used_at < ?", (idle,))
            count = conn.execute("SELECT count(*) FROM streams").fetchone()[0]
            if count >= self.settings.max_streams:
                raise ApiError(
                    429,
                    f"{count} streams are open (the limit is {self.settings.max_streams}); close some with DELETE "
                    "/streams/{id}",
                )
            if len(bars) > self.settings.max_stream_bars:
                raise ApiError(422, f"a stream holds at most {self.settings.max_stream_bars} bars", field="body.bars")
            conn.execute(
                "INSERT INTO streams VALUES (?, ?, ?, ?, ?, ?)",
                (stream_id, name, len(bars), _ns(bars[-1]["time"]), _created(), now),
            )
            _insert_bars(conn, stream_id, 1, bars, position)
        self._keep(stream_id, _Held(engine, name, len(bars)))
        return Fed(self.get(stream_id), engine, decision)

    def append(self, stream_id: str, bars: list[dict[str, Any]], position: int | None) -> Fed:
        """Feed a stream the bars after its last one; its record, its engine and the decision at the last one."""
        with self._lock(stream_id):
            row = self.get(stream_id)
            if _ns(bars[0]["time"]) <= _ns(row["last_time"]):
                raise ApiError(
                    422,
                    f"bar 0 ({pd.Timestamp(bars[0]['time']).isoformat()}) is not after the stream's last bar "
                    f"({row['last_time'].isoformat()}): send only the bars after it",
                    field="body.bars[0].time",
                )
            if row["bars"] + len(bars) > self.settings.max_stream_bars:
                raise ApiError(
                    409,
                    f"stream {stream_id} holds {row['bars']} bars and may hold {self.settings.max_stream_bars}: "
                    "open a new stream with the recent history",
                )
            held = self._in_step(stream_id, row)
            try:
                decision = _feed(held.engine, bars, [None] * (len(bars) - 1) + [position])
            except BaseException:
                self._drop(stream_id)  # fed part of the bars: no longer in step with the stored ones
                raise
            with self._write, transaction(self.db.conn) as conn:
                moved = conn.execute(
                    "UPDATE streams SET bars = ?, last_time = ?, used_at = ? WHERE id = ? AND bars = ?",
                    (row["bars"] + len(bars), _ns(bars[-1]["time"]), time.time(), stream_id, row["bars"]),
                ).rowcount
                if moved:
                    _insert_bars(conn, stream_id, row["bars"] + 1, bars, position)
            if not moved:
                self._drop(stream_id)
                raise ApiError(
                    409, f"stream {stream_id} moved on while this request was served (another request fed it); resend"
                )
            held.fed += len(bars)
        return Fed(self.get(stream_id), held.engine, decision)

    def get(self, stream_id: str) -> dict[str, Any]:
        """The stream's record, or 404."""
        row = self.db.conn.execute(
            "SELECT id, model, bars, last_time, created_at FROM streams WHERE id = ?", (stream_id,)
        ).fetchone()
        if row is None:
            raise ApiError(
                404,
                f"no stream {stream_id!r} (closed, idle longer than {self.settings.stream_idle_hours:g} h, or never "
                "opened): open one with POST /streams",
                field="path.stream_id",
            )
        return {**dict(row), "last_time": _iso_ns(row["last_time"])}

    def close(self, stream_id: str) -> None:
        """Delete the stream and its bars."""
        self.get(stream_id)
        with self._write, transaction(self.db.conn) as conn:
            conn.execute("DELETE FROM stream_bars WHERE stream = ?", (stream_id,))
            conn.execute("DELETE FROM streams WHERE id = ?", (stream_id,))
        self._drop(stream_id)

    # --- this process's engines ----------------------------------------------------------------------------------

    def _in_step(self, stream_id: str, row: dict[str, Any]) -> _Held:
        """This process's engine for the stream, fed exactly the stream's stored bars (replayed if need be)."""
        with self._guard:
            held = self._held.get(stream_id)
            if held is not None:
                self._held.move_to_end(stream_id)
        # A held engine outlives its bundle's deletion (DELETE /models, or the CLI): the stream ends with it, as it
        # does in a process that would have to load the bundle again.
        if not (self.engines.models_dir / row["model"]).is_dir():
            self._drop(stream_id)
            raise ApiError(
                409,
                f"stream {stream_id} decides with bundle {row['model']}, which was deleted: close it (DELETE "
                "/streams/{id}) and open a new stream on another bundle",
                field="path.stream_id",
            )
        if held is not None and held.fed == row["bars"]:
            return held
        name, engine = self.engines.engine(row["model"])
        stored = self.db.conn.execute(
            "SELECT time, open, high, low, close, volume, position FROM stream_bars WHERE stream = ? AND seq <= ? "
            "ORDER BY seq",
            (stream_id, row["bars"]),
        ).fetchall()
        bars = [{"time": pd.Timestamp(r["time"], unit="ns", tz="UTC"), **{k: r[k] for k in _OHLCV}} for r in stored]
        _feed(engine, bars, [r["position"] for r in stored])
        held = _Held(engine, name, len(bars))
        self._keep(stream_id, held)
        return held

    def _keep(self, stream_id: str, held: _Held) -> None:
        with self._guard:
            self._held[stream_id] = held
            self._held.move_to_end(stream_id)
            while len(self._held) > ENGINES_KEPT:
                self._held.popitem(last=False)

    def _drop(self, stream_id: str) -> None:
        with self._guard:
            self._held.pop(stream_id, None)

    def _lock(self, stream_id: str) -> threading.Lock:
        with self._guard:
            if len(self._locks) > 4 * ENGINES_KEPT:  # forget the locks of streams no request holds
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            return self._locks.setdefault(stream_id, threading.Lock())


_OHLCV = ("open", "high", "low", "close", "volume")


def _feed(engine: DecisionEngine, bars: list[dict[str, Any]], positions: list[int | None]) -> Decision:
    from neurotrade.errors import FeatureError

    decision = None
    try:
        for bar, position in zip(bars, positions, strict=True):
            decision = engine.update(bar, time=pd.Timestamp(bar["time"]), position=position)
    except FeatureError as e:
        raise ApiError(422, str(e), field="body.bars") from e
    assert decision is not None
    return decision


def _insert_bars(conn: Any, stream_id: str, first: int, bars: list[dict[str, Any]], position: int | None) -> None:
    last = len(bars) - 1
    conn.executemany(
        "INSERT INTO stream_bars VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (stream_id, first + i, _ns(b["time"]), *(b[k] for k in _OHLCV), position if i == last else None)
            for i, b in enumerate(bars)
        ],
    )


def _created() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
