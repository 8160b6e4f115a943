"""A stored history played back as a feed: the strategy's own bars, a file, or frames; optionally in real time."""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurotrade.config import Strategy
from neurotrade.errors import DataError
from neurotrade.live._bars import FeedBar
from neurotrade.live._feed import Feed, FeedItem

_FIELDS = ("open", "high", "low", "close", "volume")


class ReplayFeed(Feed):
    """Bars of one or several symbols played back in time order (at one time, in the order the symbols are given).

    Parameters
    ----------
    bars
        Symbol -> OHLCV frame (each on its own history; a universe's symbols need not share every time), or one
        frame with ``symbol``.
    symbol
        The symbol of a single frame.
    speed
        None (the default) plays as fast as the session takes the bars; a number paces them in real time, that
        many times faster than the bars' own spacing (``86400`` plays a day of bars per second).
    name
        How ``--feed`` named it.
    sleep
        The pause function (tests pass a fake one).

    The cursor is the number of bars delivered, so a session resumes after exactly the bars it committed.

    Examples
    --------
    >>> from neurotrade.data import synthetic_ohlcv
    >>> feed = ReplayFeed({"A": synthetic_ohlcv(3, seed=1), "B": synthetic_ohlcv(2, seed=2)})
    >>> [(item.raw.symbol, item.cursor) for item in feed.items()]
    [('A', 1), ('B', 2), ('A', 3), ('B', 4), ('A', 5)]
    >>> [item.raw.symbol for item in feed.items(after=3)]
    ['B', 'A']
    """

    def __init__(
        self,
        bars: Mapping[str, pd.DataFrame] | pd.DataFrame,
        *,
        symbol: str | None = None,
        speed: float | None = None,
        name: str = "replay",
        sleep: Callable[[float], None] = _time.sleep,
    ) -> None:
        if isinstance(bars, pd.DataFrame):
            if symbol is None:
                raise DataError("ReplayFeed: give symbol= with a single frame of bars (or a dict symbol -> frame)")
            bars = {symbol: bars}
        if not bars:
            raise DataError("ReplayFeed: no bars to replay; give at least one symbol's frame")
        if speed is not None and not (isinstance(speed, int | float) and not isinstance(speed, bool) and speed > 0):
            raise DataError(f"the replay speed must be a number > 0 (e.g. 60 for a minute per second), got {speed!r}")
        self.name = name
        self.speed = None if speed is None else float(speed)
        self._sleep = sleep
        self.symbols = [str(s) for s in bars]
        # Every bar as columns, sorted by time and then by the symbols' order: one pass, no per-bar pandas.
        times = np.concatenate([pd.DatetimeIndex(frame.index).as_unit("ns").asi8 for frame in bars.values()])
        which = np.concatenate([np.full(len(f), k, dtype=np.int64) for k, f in enumerate(bars.values())])
        order = np.lexsort((which, times))
        self._times = times[order]
        self._which = which[order]
        self._values = {c: np.concatenate([f[c].to_numpy(dtype=np.float64) for f in bars.values()])[order]
                        for c in _FIELDS}  # fmt: skip

    def __len__(self) -> int:
        return len(self._times)

    @classmethod
    def from_strategy(
        cls, spec: Strategy, *, home: Path, symbols: list[str] | None = None, **options: Any
    ) -> ReplayFeed:
        """The bars the strategy's ``data`` section names, loaded exactly as ``neurotrade backtest`` loads them
        (store, sample, file or synthetic; resampled to its timeframe); a universe's ``symbols`` (default: all)."""
        from neurotrade._stages import load_bars, load_universe

        if spec.data.is_universe:
            loaded = load_universe(spec.data, home=home, seed=spec.seed)
            order = symbols if symbols is not None else list(loaded)
            return cls({s: loaded[s] for s in order if s in loaded}, **options)
        return cls({spec.data.symbol: load_bars(spec.data, home=home, seed=spec.seed)}, **options)

    @classmethod
    def from_file(cls, path: str | Path, symbols: list[str], *, timezone: str = "UTC", **options: Any) -> ReplayFeed:
        """The bars of a CSV or Parquet file (``read_ohlcv``: column names and times normalised, the contract
        checked); ``{symbol}`` in the path reads one file per symbol, a file with a ticker column is read once per
        symbol, and a plain file holds the one symbol of ``symbols``."""
        from neurotrade.data import read_ohlcv

        text = str(path)
        if "{symbol}" in text:
            frames = {s: read_ohlcv(text.replace("{symbol}", s), timezone=timezone) for s in symbols}
        elif len(symbols) == 1:
            frames = {symbols[0]: read_ohlcv(text, symbol=symbols[0], timezone=timezone)}
        else:
            frames = {s: read_ohlcv(text, symbol=s, timezone=timezone) for s in symbols}
        return cls(frames, **options)

    def items(self, after: Any = None, *, since: pd.Timestamp | None = None) -> Iterator[FeedItem]:
        """Every bar after cursor ``after`` (a count of bars delivered), paced when the feed has a speed."""
        start = 0 if after is None else int(after)
        if not 0 <= start <= len(self._times):
            raise DataError(
                f"the session's replay cursor {start} is past the {len(self._times)} bars of this feed; the bars "
                "changed since the session started: start a new session (--session NAME)"
            )
        previous = None
        values = self._values
        for k in range(start, len(self._times)):
            stamp = int(self._times[k])
            if self.speed is not None and previous is not None and stamp > previous:
                self._sleep((stamp - previous) / 1e9 / self.speed)
            previous = stamp
            bar = FeedBar(
                self.symbols[int(self._which[k])],
                pd.Timestamp(stamp, unit="ns", tz="UTC"),
                float(values["open"][k]),
                float(values["high"][k]),
                float(values["low"][k]),
                float(values["close"][k]),
                float(values["volume"][k]),
            )
            yield FeedItem(bar, k + 1)
