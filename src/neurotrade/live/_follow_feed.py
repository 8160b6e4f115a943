"""A CSV or Parquet file that another process appends bars to, followed by polling.

CSV: the header names the columns (read with ``read_ohlcv``'s own aliases: ``Date``, ``Open``, ``Vol`` ...; a
``symbol``/``ticker`` column for several symbols); every complete line after it is one bar, delivered as soon as
its newline is written (a line still being written waits for the next poll). The cursor is the byte offset after
the last line delivered.

Parquet cannot be appended to in place: the writer rewrites the file (best through a temporary file renamed over
it, so a reader never sees half of one); each change of its size or time is read whole and the rows past the last
one delivered are new. The cursor is the number of rows delivered.
"""

from __future__ import annotations

import csv
import io
import logging
import time as _time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from neurotrade.errors import DataError
from neurotrade.live._feed import Feed, FeedItem

log = logging.getLogger(__name__)

_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".txt", ".tsv")


class FollowFeed(Feed):
    """Bars appended to a file by another process, polled.

    Parameters
    ----------
    path
        A ``.csv`` (or ``.txt``/``.tsv``) or ``.parquet`` file. It may not exist yet: the feed waits for it.
    poll
        Seconds between looks at the file when nothing new was there.
    idle
        Stop after this many seconds without a new bar (None: follow until the session is stopped).
    timezone
        The zone of times written without an offset.
    clock, sleep
        Time and pause functions (tests pass fake ones).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "bars.csv"
    >>> _ = path.write_text("Date,Open,High,Low,Close,Volume\\n2024-01-02,10,11,9,10.5,100\\n2024-01-03,10.5,1")
    >>> feed = FollowFeed(path, idle=0.0)
    >>> [(item.raw["time"], item.raw["close"], item.cursor) for item in feed.items()]  # the last line is unfinished
    [('2024-01-02', '10.5', {'offset': 60})]
    """

    def __init__(
        self,
        path: str | Path,
        *,
        poll: float = 0.5,
        idle: float | None = None,
        timezone: str = "UTC",
        clock: Callable[[], float] = _time.monotonic,
        sleep: Callable[[float], None] = _time.sleep,
    ) -> None:
        self.path = Path(path)
        name = self.path.name.lower()
        if not name.endswith(_PARQUET + _CSV):
            raise DataError(
                f"follow:{self.path}: neurotrade follows .csv (or .txt/.tsv) and .parquet files; a gzipped file "
                "cannot be appended to. Write the bars to a .csv or .parquet file"
            )
        if poll <= 0:
            raise DataError(f"the follow feed's poll interval must be > 0 seconds, got {poll!r}")
        self.parquet = name.endswith(_PARQUET)
        self.poll = float(poll)
        self.idle = idle
        self.timezone = timezone
        self.name = f"follow:{self.path}"
        self._clock = clock
        self._sleep = sleep
        self._shrunk = False

    def items(self, after: Any = None, *, since: pd.Timestamp | None = None) -> Iterator[FeedItem]:
        """Every bar after cursor ``after``, then each new one as it is written, until ``idle`` seconds pass
        without one."""
        read = self._parquet_rows if self.parquet else self._csv_lines
        cursor = after
        quiet_since = self._clock()
        while True:
            delivered = False
            for item in read(cursor):
                delivered = True
                cursor = item.cursor
                yield item
            now = self._clock()
            if delivered:
                quiet_since = now
            elif self.idle is not None and now - quiet_since >= self.idle:
                log.info("%s: no new bar for %.1f s; the feed ends", self.path, now - quiet_since)
                return
            self._sleep(self.poll)

    # --- CSV -----------------------------------------------------------------------------------------------------

    def _csv_lines(self, cursor: Any) -> Iterator[FeedItem]:
        """The complete lines after the cursor's byte offset, each as a mapping of contract names to cells."""
        if not self.path.is_file():
            return
        with self.path.open("rb") as f:
            header_line = f.readline()
            if not header_line.endswith(b"\n"):
                return  # the header itself is still being written
            columns = self._columns(header_line)
            offset = len(header_line) if cursor is None else int(cursor["offset"])
            size = f.seek(0, 2)
            if size < offset:  # truncated or replaced by a shorter file: nothing past the offset until it grows back
                if not self._shrunk:
                    log.warning("%s: the file is shorter (%d bytes) than what was read (%d); only what is appended "
                                "past that is read", self.path, size, offset)  # fmt: skip
                    self._shrunk = True
                return
            f.seek(offset)
            for line in f:
                if not line.endswith(b"\n"):
                    return  # the writer has not finished this line: read it at the next poll
                offset += len(line)
                text = line.decode("utf-8", errors="replace").strip("\r\n")
                if not text.strip():
                    continue
                yield FeedItem(self._row(text, columns), {"offset": offset})

    def _columns(self, header_line: bytes) -> tuple[str, dict[str, int]]:
        """The separator and, per contract name (and ``symbol``), the column's position in a line."""
        from neurotrade.data._readers import _map_columns

        header = header_line.decode("utf-8", errors="replace").strip("\r\n").lstrip("\ufeff")
        counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
        sep = max(counts, key=lambda s: counts[s]) if any(counts.values()) else ","
        names = next(csv.reader([header], delimiter=sep))
        # read_ohlcv's own column aliases and their errors (a missing column is named, with close matches).
        mapping = _map_columns(pd.DataFrame(columns=names), f"follow:{self.path}", split_adjust=False)
        positions = {name: names.index(column) for name, column in mapping.items() if name != "adj_close"}
        return sep, positions

    @staticmethod
    def _row(text: str, columns: tuple[str, dict[str, int]]) -> dict[str, Any] | str:
        sep, positions = columns
        cells = next(csv.reader(io.StringIO(text), delimiter=sep), [])
        if len(cells) <= max(positions.values()):
            return text  # too few cells: the gate refuses it as malformed
        return {name: cells[k].strip() for name, k in positions.items()}

    # --- Parquet -------------------------------------------------------------------------------------------------

    def _parquet_rows(self, cursor: Any) -> Iterator[FeedItem]:
        """The rows after the cursor's row count, when the file could be read whole."""
        if not self.path.is_file():
            return
        try:
            frame = pd.read_parquet(self.path)
        except (OSError, ValueError) as e:  # most likely caught mid-rewrite: read it again at the next poll
            log.debug("%s: cannot read it now (%s); trying again", self.path, e)
            return
        if isinstance(frame.index, pd.DatetimeIndex):
            frame = frame.reset_index(names=frame.index.name or "time")
        from neurotrade.data._readers import _map_columns

        mapping = _map_columns(frame.iloc[:0].copy(), f"follow:{self.path}", split_adjust=False)
        start = 0 if cursor is None else int(cursor["row"])
        if start > len(frame):
            log.warning("%s: it holds %d rows, fewer than the %d read before; only rows past them are read",
                        self.path, len(frame), start)  # fmt: skip
            return
        names = {name: column for name, column in mapping.items() if name != "adj_close"}
        records = frame.iloc[start:][list(names.values())].to_dict("records")
        for k, record in enumerate(records, start=start + 1):
            yield FeedItem({name: record[column] for name, column in names.items()}, {"row": k})
