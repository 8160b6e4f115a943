"""``--feed`` text to a feed: ``replay``, ``replay:PATH``, ``follow:PATH``, ``ws://HOST:PORT``."""

from __future__ import annotations

from pathlib import Path

from neurotrade.config import Strategy
from neurotrade.errors import DataError
from neurotrade.live._feed import Feed

FORMS = "replay (the strategy's data), replay:PATH (a CSV/Parquet file), follow:PATH or ws://HOST:PORT"


def open_feed(
    text: str,
    spec: Strategy,
    *,
    home: Path,
    speed: float | None = None,
    idle: float | None = None,
    poll: float = 0.5,
) -> Feed:
    """The feed ``text`` names, for the symbols ``spec``'s data section trades.

    Parameters
    ----------
    text
        ``replay``: the bars of the strategy's ``data`` section, loaded as ``neurotrade backtest`` loads them;
        ``replay:PATH``: a CSV or Parquet file (``{symbol}`` in it for one file per symbol of a universe);
        ``follow:PATH``: a CSV or Parquet file another process appends to; ``ws://HOST:PORT``: a JSON bar stream.
    spec
        The strategy: its data names the symbols and the zone of times written without one.
    speed
        A replay's pace: that many times faster than real time (None: as fast as the session goes).
    idle
        A followed file's or a websocket's end: seconds without a bar (None: until stopped).
    poll
        Seconds between looks at a followed file.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n")
    >>> open_feed("follow:bars.csv", spec, home=Path(".")).name
    'follow:bars.csv'
    >>> open_feed("tcp://x", spec, home=Path("."))
    Traceback (most recent call last):
    ...
    neurotrade.errors.DataError: --feed 'tcp://x' is not a feed; give replay (the strategy's data), ...
    """
    kind, _, rest = text.strip().partition(":")
    if speed is not None and kind != "replay":
        raise DataError(f"--speed paces a replay; the {kind or text} feed comes at its own pace: leave --speed out")
    if kind == "replay":
        from neurotrade.live._replay_feed import ReplayFeed

        if not rest:
            return ReplayFeed.from_strategy(spec, home=home, speed=speed)
        from neurotrade.data import universe_symbols

        symbols = (
            universe_symbols(spec.data.symbols, spec.data.universe, home=home)
            if spec.data.is_universe
            else [spec.data.symbol]
        )
        return ReplayFeed.from_file(rest, symbols, timezone=spec.data.timezone, speed=speed, name=text.strip())
    if kind == "follow" and rest:
        from neurotrade.live._follow_feed import FollowFeed

        return FollowFeed(rest, idle=idle, poll=poll, timezone=spec.data.timezone)
    if kind in ("ws", "wss") and rest.startswith("//"):
        from neurotrade.live._ws_feed import WebSocketFeed

        return WebSocketFeed(text.strip(), idle=idle)
    raise DataError(f"--feed {text!r} is not a feed; give {FORMS}")
