"""Feeds and the gate: every bar checked as it arrives (readable, the OHLCV contract, known symbol, strictly after the
symbol's last bar); a malformed, out-of-order or duplicate bar is rejected, recorded once and never traded, and the
loop goes on. A followed file and a websocket stream trade exactly what a replay of the same good bars trades."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from neurotrade import run
from neurotrade.cli import main
from neurotrade.config import parse_strategy
from neurotrade.data import synthetic_ohlcv, validate_ohlcv
from neurotrade.errors import DataError
from neurotrade.live import BarGate, FeedBar, FollowFeed, PaperSession, Rejection, ReplayFeed, WebSocketFeed
from neurotrade.live._bars import _meets_contract

STRATEGY = """\
name: feeds
seed: 5
data: {source: synthetic, bars: 400}
indicators: {rsi_14: {}}
nn_inputs: {indicators: [rsi_14], context: {returns: [5]}}
labels: {threshold_pct: 2, lookahead: 10}
split: {folds: 2}
model: {hidden: [4]}
training: {epochs: 1, class_weights: balanced}
decisions: {confidence_threshold: 0.34, allow_short: true}
backtest: {commission_pct: 0.1, slippage_pct: 0.05}
"""
START = "2000-09-01"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """A tiny bundle, its bars, and the trades of a replay session over them (the reference)."""
    home = tmp_path_factory.mktemp("feeds")
    spec = parse_strategy(STRATEGY)
    run(spec, home=home, progress=False)
    torch.set_num_threads(1)
    bars = synthetic_ohlcv(400, seed=spec.seed)
    out = PaperSession(spec, ReplayFeed({"AAPL": bars}), home=home, session="reference", start=START).run()
    return spec, home, bars, out.session_dir


def _same_session(folder: Path, reference: Path) -> None:
    for name in ("decisions.parquet", "trades.parquet", "fills.parquet", "equity.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(folder / name), pd.read_parquet(reference / name), obj=name)


def _row(bar: pd.Series, time: pd.Timestamp) -> dict:
    return {"symbol": "AAPL", "time": time.isoformat(), **{c: float(bar[c]) for c in bar.index}}


# --- the gate ------------------------------------------------------------------------------------------------------


def test_the_gate_rejects_each_kind_of_bad_bar_and_says_why() -> None:
    gate = BarGate(["AAPL", "MSFT"])
    good = {"symbol": "AAPL", "time": "2024-01-03", "open": 10, "high": 11, "low": 9, "close": 10.5, "volume": 1}
    assert isinstance(gate.check(good), FeedBar)
    cases = {
        "not a bar object": "garbage",
        "no symbol": {k: v for k, v in good.items() if k != "symbol"},
        "unknown symbol 'TSLA'": dict(good, symbol="TSLA", time="2024-01-04"),
        "no 'volume' field": {k: v for k, v in good.items() if k != "volume"},
        "open 'ten' is not a number": dict(good, time="2024-01-04", open="ten"),
        "time 'yesterday' is not a time": dict(good, time="yesterday"),
        "'high' is below 'low'": dict(good, time="2024-01-04", high=8.0),
        "'close' is outside": dict(good, time="2024-01-04", close=12.0),
        "'volume' is negative": dict(good, time="2024-01-04", volume=-1),
        "'open' is empty or NaN": dict(good, time="2024-01-04", open=math.nan),
        "'low' is not finite": dict(good, time="2024-01-04", low=-math.inf),
        "duplicate: AAPL already has a bar at 2024-01-03": dict(good),
        "out of order: AAPL already has a bar up to 2024-01-03": dict(good, time="2024-01-02"),
    }
    for expected, raw in cases.items():
        verdict = gate.check(raw)
        assert isinstance(verdict, Rejection), expected
        assert expected in verdict.reason, (expected, verdict.reason)
    gate.floor = pd.Timestamp("2024-01-05", tz="UTC")  # a universe already stepped past 2024-01-04
    assert "late" in gate.check(dict(good, symbol="MSFT", time="2024-01-04")).reason
    assert isinstance(gate.check(dict(good, symbol="MSFT", time="2024-01-05")), FeedBar)


def test_the_fast_contract_check_agrees_with_validate_ohlcv() -> None:
    """The gate's per-bar check is the contract's value rules; on random bars it refuses exactly what
    ``validate_ohlcv`` refuses."""
    rng = np.random.default_rng(3)
    time = pd.Timestamp("2024-01-02", tz="UTC")
    specials = [0.0, -1.0, math.nan, math.inf, 1e-300, 5.0, 5.0000000001]
    for _ in range(2000):
        values = rng.choice(specials, size=5) if rng.random() < 0.3 else rng.uniform(0.5, 10.0, size=5)
        bar = FeedBar("A", time, *map(float, values))
        frame = pd.DataFrame({c: [getattr(bar, c)] for c in ("open", "high", "low", "close", "volume")},
                             index=pd.DatetimeIndex([time], name="time"))  # fmt: skip
        try:
            validate_ohlcv(frame)
            valid = True
        except DataError:
            valid = False
        assert _meets_contract(bar) == valid, bar


# --- replay --------------------------------------------------------------------------------------------------------


def test_replay_paces_in_real_time_by_the_speed_factor() -> None:
    slept: list[float] = []
    bars = synthetic_ohlcv(4, seed=1, timeframe="1h")
    feed = ReplayFeed({"A": bars, "B": bars}, speed=60.0, sleep=slept.append)
    assert [item.raw.symbol for item in feed.items()] == ["A", "B"] * 4
    assert slept == [60.0, 60.0, 60.0]  # an hour between bar times, played 60 times faster; none within a time
    with pytest.raises(DataError, match="speed must be a number > 0"):
        ReplayFeed({"A": bars}, speed=0)


# --- follow --------------------------------------------------------------------------------------------------------


def test_a_followed_csv_trades_as_the_replay_and_rejects_its_bad_lines(trained, tmp_path: Path) -> None:
    """Another process appends lines (one written in two pieces, one malformed, one out of order, one duplicate);
    the session trades the good ones exactly as a replay of them, and records the three bad ones."""
    spec, home, bars, reference = trained
    path = tmp_path / "live.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n")
    lines = [f"{t.date()}," + ",".join(repr(float(b[c])) for c in bars.columns) + "\n" for t, b in bars.iterrows()]
    bad = {150: "2000-07-31,oops,1,1,1,1\n", 200: lines[199], 250: lines[100]}  # malformed, duplicate, old

    def write() -> None:
        with path.open("a") as f:
            for k, line in enumerate(lines):
                if k in bad:
                    f.write(bad[k])
                if k == 300:  # a line caught half-written: read only once its newline is there
                    f.write(line[:10])
                    f.flush()
                    threading.Event().wait(0.05)
                    f.write(line[10:])
                else:
                    f.write(line)
                f.flush()

    writer = threading.Thread(target=write)
    writer.start()
    feed = FollowFeed(path, poll=0.01, idle=1.0)
    out = PaperSession(spec, feed, home=home, session="followed", start=START).run()
    writer.join()
    assert out.rejected == 3 and out.steps == 400
    reasons = pd.read_parquet(out.session_dir / "rejected.parquet")["reason"].tolist()
    assert any("not a number" in r for r in reasons) and any("duplicate" in r for r in reasons)
    assert any("out of order" in r for r in reasons)
    _same_session(out.session_dir, reference)


def test_a_followed_parquet_rewritten_whole_is_read_row_by_row(trained, tmp_path: Path) -> None:
    spec, home, bars, reference = trained
    path = tmp_path / "live.parquet"
    for stop in (150, 320, 400):  # the writer rewrites the file (through a temporary file) as bars come
        tmp = tmp_path / "tmp.parquet"
        bars.iloc[:stop].to_parquet(tmp)
        tmp.replace(path)
        out = PaperSession(spec, FollowFeed(path, poll=0.01, idle=0.05), home=home, session="parquet",
                           start=START).run()  # fmt: skip
        assert out.steps == stop
    _same_session(out.session_dir, reference)


# --- websocket -----------------------------------------------------------------------------------------------------


class _Server:
    """A local JSON bar stream on 127.0.0.1 (a free port): sends ``messages`` to a client, then closes; a client
    that asks for the bars after a time gets only the bar messages after it (``honour_since``)."""

    def __init__(self, messages: list, *, honour_since: bool = True) -> None:
        self.honour_since = honour_since
        from websockets.sync.server import serve

        self.messages = messages
        self.hellos: list[dict] = []
        self.server = serve(self._handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handle(self, connection) -> None:
        hello = json.loads(connection.recv(timeout=5))
        self.hellos.append(hello)
        since = hello["subscribe"]["since"]
        for message in self.messages:
            if since is not None and self.honour_since:
                old = not isinstance(message, dict) or pd.Timestamp(message["time"]) <= pd.Timestamp(since)
                if old:
                    continue
            connection.send(message if isinstance(message, str) else json.dumps(message))

    def __enter__(self) -> _Server:
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def test_a_websocket_stream_trades_as_the_replay_and_rejects_bad_bars(trained) -> None:
    spec, home, bars, reference = trained
    rows = [_row(b, t) for t, b in bars.iterrows()]
    messages: list = [rows[:50]]  # a list of bars in one message, then one bar per message
    for k, row in enumerate(rows[50:], start=50):
        if k == 120:
            messages.append("{not json")
        if k == 180:
            messages.append(dict(rows[10]))  # out of order
        if k == 240:
            messages.append(dict(row, close=row["high"] * 2))  # breaks the contract
        messages.append(row)
    with _Server(messages) as server:
        out = PaperSession(spec, WebSocketFeed(server.url, idle=0.5, retry=0.05), home=home, session="ws",
                           start=START).run()  # fmt: skip
    # Reconnecting after the server closed, the feed asked for the bars after the last one it had.
    assert server.hellos[0] == {"subscribe": {"since": None}}
    assert server.hellos[1] == {"subscribe": {"since": pd.Timestamp(rows[-1]["time"]).isoformat()}}
    assert out.rejected == 3 and out.steps == 400
    _same_session(out.session_dir, reference)


def test_a_resumed_websocket_session_skips_what_it_traded_while_catching_up(trained) -> None:
    """Killed (here: stopped) halfway and started again against a server that sends everything from the start: the
    bars already traded are skipped, not rejected; the session ends as the replay."""
    spec, home, bars, reference = trained
    rows = [_row(b, t) for t, b in bars.iterrows()]
    with _Server(rows[:230]) as first:
        PaperSession(spec, WebSocketFeed(first.url, idle=0.5, retry=0.05), home=home, session="ws2",
                     start=START).run()  # fmt: skip
    with _Server(rows, honour_since=False) as second:
        out = PaperSession(spec, WebSocketFeed(second.url, idle=0.5, retry=0.05), home=home, session="ws2").run()
    assert second.hellos[0] == {"subscribe": {"since": pd.Timestamp(rows[229]["time"]).isoformat()}}
    assert out.resumed and out.rejected == 0 and out.new_steps == 170
    _same_session(out.session_dir, reference)


def test_the_command_prints_rejections_and_refuses_a_bad_feed(trained, capsys) -> None:
    _, home, bars, _ = trained
    strategy = home / "feeds.yaml"
    strategy.write_text(STRATEGY)
    rows = [_row(b, t) for t, b in bars.iloc[:60].iterrows()]
    with _Server([*rows[:30], "[1, 2]", *rows[30:]]) as server, pytest.raises(SystemExit) as done:
        main(["--home", str(home), "paper", str(strategy), "--session", "cli", "--feed", server.url, "--idle", "0.5"])
    assert done.value.code in (0, None)
    printed = capsys.readouterr().out
    assert "rejected ? bar: malformed: not a bar object" in printed
    assert "60 steps (60 new), 2 bars rejected" in printed.replace("\n", " ")
    with pytest.raises(SystemExit) as done:
        main(["--home", str(home), "paper", str(strategy), "--feed", "tcp://x"])
    assert done.value.code == 2
    assert "is not a feed; give replay" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["--home", str(home), "paper", str(strategy), "--feed", "follow:x.csv", "--speed", "10"])
    assert done.value.code == 2 and "--speed paces a replay" in capsys.readouterr().err
