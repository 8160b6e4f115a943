"""What every feed is: closed bars, one at a time, each with the cursor that resumes the feed just after it."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from neurotrade.live._bars import FeedBar


@dataclass(frozen=True)
class FeedItem:
    """One thing a feed delivered.

    Attributes
    ----------
    raw
        A :class:`~neurotrade.live.FeedBar` (from a validated history), a mapping of cells (a line, a JSON
        object) or the text of a message that could not be read: the session's gate decides what it is.
    cursor
        JSON-able: where the feed resumes to deliver what comes after this item (:meth:`Feed.items`), or None for a
        feed that cannot resume (a live stream).
    """

    raw: FeedBar | Mapping[str, Any] | str
    cursor: Any = None


class Feed(abc.ABC):
    """A source of closed bars.

    A feed yields every bar once, in the order it has them (a universe's symbols merged in time order); it does
    not judge them (the session's :class:`~neurotrade.live.BarGate` does). A resumable feed gives each item a
    cursor and can start just after any cursor it gave; the paper session commits the cursor with the bar, so a
    restarted session reads on from exactly where the last committed bar was.

    Attributes
    ----------
    name
        What the feed reads, as ``--feed`` names it (``replay``, ``follow:PATH``, ``ws://HOST:PORT``).
    timezone
        The zone of times the feed writes without an offset.
    """

    name: str = "feed"
    timezone: str = "UTC"

    @abc.abstractmethod
    def items(self, after: Any = None, *, since: pd.Timestamp | None = None) -> Iterator[FeedItem]:
        """The feed's items from just after cursor ``after`` (None: from its start).

        Parameters
        ----------
        after
            A cursor this feed gave (resume exactly after it), or None.
        since
            The last time the session has already traded, for a feed that cannot resume by cursor: a live
            stream may ask its server for newer bars only. Ignored by feeds that resume by cursor.
        """

    def close(self) -> None:  # noqa: B027  (a feed with nothing to release needs no override)
        """Release what the feed holds open (a connection, a file)."""
