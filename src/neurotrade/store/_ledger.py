"""The workspace's trial ledger: every configuration evaluated on every dataset, so a deflated Sharpe ratio can
count the trials a researcher really made instead of trusting a number typed into the spec.

A *configuration* is the resolved strategy spec less what cannot change its numbers (its name, description, the
device and ``backtest.trials`` itself): renaming a strategy does not make it a new idea; changing a seed, a
threshold or a feature does. A *dataset* is the sha256 fingerprint of the bars; each row also names the
instrument and timeframe, so a summary can say how many configurations were tried on other versions of the
same market's data (a re-download, a longer history) or on universes sharing one of its symbols, which the exact
count per fingerprint does not include. A universe's dataset is the order-free fingerprint of its symbols' bars. The
ledger is one SQLite file in the workspace (``ledger.sqlite``), written in WAL mode with a busy timeout, so
concurrent runs each add their row without losing another's.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neurotrade.errors import StoreError

FILENAME = "ledger.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL,
    instrument TEXT NOT NULL,
    configuration TEXT NOT NULL,
    strategy TEXT NOT NULL,
    kind TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS evaluations_dataset ON evaluations (dataset);
CREATE TABLE IF NOT EXISTS holdout_looks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL,
    holdout_start TEXT NOT NULL,
    study TEXT NOT NULL,
    configuration TEXT NOT NULL,
    looked_at TEXT NOT NULL
);
"""


# Keys that cannot change what a configuration earns: (section, key) pairs, or a top-level key with None.
_IRRELEVANT = (
    ("name", None),
    ("description", None),
    ("search", None),  # how a study varies the spec, not what this configuration is
    ("tracking", None),  # where a run is logged to MLflow
    ("live", None),  # how a paper session watches and retrains the model, not what is trained
    ("training", "device"),
    ("backtest", "trials"),
)


def configuration_hash(spec: Mapping[str, Any]) -> str:
    """The identity of a configuration: sha256 of the resolved spec (as JSON, keys sorted) less its name,
    description, ``training.device`` and ``backtest.trials``.

    Examples
    --------
    >>> configuration_hash({"name": "a", "seed": 1}) == configuration_hash({"name": "b", "seed": 1})
    True
    >>> on = {"cpu": {"seed": 1, "training": {"device": "cpu"}}, "cuda": {"seed": 1, "training": {"device": "cuda"}}}
    >>> configuration_hash(on["cpu"]) == configuration_hash(on["cuda"])
    True
    >>> configuration_hash({"seed": 1}) == configuration_hash({"seed": 2})
    False
    """
    body = dict(spec)
    for section, key in _IRRELEVANT:
        if key is None:
            body.pop(section, None)
        elif isinstance(body.get(section), Mapping):
            body[section] = {k: v for k, v in body[section].items() if k != key}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _instrument_parts(instrument: str) -> tuple[str, set[str]]:
    """``"source:A,B 1d"`` as ``("source 1d", {"A", "B"})``; a string of another shape stands for itself."""
    head, _, timeframe = instrument.rpartition(" ")
    source, _, symbols = head.rpartition(":")
    if not head or not symbols:
        return instrument, {instrument}
    return f"{source} {timeframe}", set(symbols.split(","))


class TrialLedger:
    """Every evaluated configuration per dataset in one workspace.

    Parameters
    ----------
    home
        The workspace directory; the ledger is ``home / "ledger.sqlite"``.

    Examples
    --------
    >>> import tempfile
    >>> ledger = TrialLedger(tempfile.mkdtemp())
    >>> ledger.record("data-sha", {"name": "x", "seed": 1}, strategy="x", instrument="AAPL 1d")
    1
    >>> ledger.record("data-sha", {"name": "x", "seed": 2}, strategy="x", instrument="AAPL 1d")
    2
    >>> ledger.record("data-sha", {"name": "y", "seed": 2}, strategy="y", instrument="AAPL 1d")  # seen before
    2
    >>> ledger.trials("data-sha"), ledger.trials("other-data"), ledger.elsewhere("other-data", "AAPL 1d")
    (2, 0, 2)
    """

    def __init__(self, home: str | Path) -> None:
        self.path = Path(home) / FILENAME

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        """One transaction, committed on success, and the connection closed either way."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30.0)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
            with connection:
                yield connection
        except sqlite3.DatabaseError as e:
            raise StoreError(
                f"the trial ledger {self.path} cannot be used ({e}); it is damaged or not a neurotrade ledger: "
                "move it aside (trial counts then start again from zero) or restore it from a backup"
            ) from e
        finally:
            connection.close()

    def record(
        self, dataset: str, spec: Mapping[str, Any], *, strategy: str, instrument: str = "", kind: str = "run"
    ) -> int:
        """Add one evaluation and return how many distinct configurations this dataset has seen, itself included."""
        with self._session() as connection:
            connection.execute(
                "INSERT INTO evaluations (dataset, instrument, configuration, strategy, kind, recorded_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (dataset, instrument, configuration_hash(spec), strategy, kind, datetime.now(UTC).isoformat()),
            )
            return self._count(connection, dataset)

    def elsewhere(self, dataset: str, instrument: str) -> int:
        """Distinct configurations evaluated on other datasets that share a symbol with ``instrument`` (same
        source and timeframe): another version of its data, or a universe that holds one of its symbols. They
        are not counted in the DSR's trials, which are per dataset, but worth saying: they were tried on
        overlapping history.

        Examples
        --------
        >>> import tempfile
        >>> ledger = TrialLedger(tempfile.mkdtemp())
        >>> _ = ledger.record("one", {"seed": 1}, strategy="x", instrument="sample:AAPL 1d")
        >>> _ = ledger.record("two", {"seed": 2}, strategy="x", instrument="sample:IBM,MSFT 1d")
        >>> ledger.elsewhere("four", "sample:AAPL,MSFT 1d"), ledger.elsewhere("five", "sample:GOOG 1d")
        (2, 0)
        """
        if not instrument or not self.path.is_file():
            return 0
        where, mine = _instrument_parts(instrument)
        with self._session() as connection:
            rows = connection.execute(
                "SELECT DISTINCT instrument, configuration FROM evaluations WHERE dataset != ? "
                "AND configuration NOT IN (SELECT configuration FROM evaluations WHERE dataset = ?)",
                (dataset, dataset),
            ).fetchall()
        overlapping = set()
        for other, configuration in rows:
            at, symbols = _instrument_parts(other)
            if at == where and symbols & mine:
                overlapping.add(configuration)
        return len(overlapping)

    def trials(self, dataset: str) -> int:
        """How many distinct configurations were evaluated on ``dataset`` (0 when none)."""
        if not self.path.is_file():
            return 0
        with self._session() as connection:
            return self._count(connection, dataset)

    @staticmethod
    def _count(connection: sqlite3.Connection, dataset: str) -> int:
        row = connection.execute(
            "SELECT COUNT(DISTINCT configuration) FROM evaluations WHERE dataset = ?", (dataset,)
        ).fetchone()
        return int(row[0])

    def record_look(self, dataset: str, holdout_start: str, *, study: str, spec: Mapping[str, Any]) -> int:
        """Record one evaluation on a study's locked holdout; returns how many times that holdout (these bars,
        from that start) has now been looked at, this look included, by any study or configuration.

        Examples
        --------
        >>> import tempfile
        >>> ledger = TrialLedger(tempfile.mkdtemp())
        >>> ledger.record_look("sha", "2012-01-03", study="s", spec={"seed": 1})
        1
        >>> ledger.record_look("sha", "2012-01-03", study="s", spec={"seed": 2}), ledger.looks("sha", "2012-01-03")
        (2, 2)
        """
        with self._session() as connection:
            connection.execute(
                "INSERT INTO holdout_looks (dataset, holdout_start, study, configuration, looked_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (dataset, holdout_start, study, configuration_hash(spec), datetime.now(UTC).isoformat()),
            )
            return self._looks(connection, dataset, holdout_start)

    def looks(self, dataset: str, holdout_start: str) -> int:
        """How many times the holdout of ``dataset`` from ``holdout_start`` has been evaluated (0 when never)."""
        if not self.path.is_file():
            return 0
        with self._session() as connection:
            return self._looks(connection, dataset, holdout_start)

    @staticmethod
    def _looks(connection: sqlite3.Connection, dataset: str, holdout_start: str) -> int:
        row = connection.execute(
            "SELECT COUNT(*) FROM holdout_looks WHERE dataset = ? AND holdout_start = ?", (dataset, holdout_start)
        ).fetchone()
        return int(row[0])
