"""Decision streams: opened with a history, then fed bar by bar; every decision equals the engine's in-process on
every bar so far, whichever process holds the stream's engine (or none: it is rebuilt from the stored bars)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd

from neurotrade.data import synthetic_ohlcv
from neurotrade.serve import ServeSettings
from neurotrade.serve._engines import EngineCache
from neurotrade.serve._streams import StreamStore


def rows(bars: pd.DataFrame) -> list[dict]:
    return [{"time": t.isoformat(), **{k: float(v) for k, v in r.items()}} for t, r in bars.iterrows()]


def reference(home: Path, bars: list[dict], positions: dict[int, int]) -> list:
    """The in-process engine's decision at every bar (``positions``: bar index -> position held before it)."""
    from neurotrade import load_bundle
    from neurotrade.decision import DecisionEngine

    engine = DecisionEngine.from_bundle(load_bundle("tiny/1d_v1", home=home))
    return [engine.update(b, time=pd.Timestamp(b["time"]), position=positions.get(i)) for i, b in enumerate(bars)]


def same(got: dict, want) -> bool:
    proba = None if want.proba is None else dict(zip(("SELL", "HOLD", "BUY"), want.proba.tolist(), strict=True))
    return (got["signal"], got["target"], got["size"], got["reason"], got["proba"]) == (
        want.signal,
        want.target,
        want.size,
        want.reason,
        proba,
    ) and pd.Timestamp(got["time"]) == want.time


def test_a_stream_decides_bar_by_bar_as_the_engine_in_process(tiny_home: Path, client: httpx.Client) -> None:
    bars = rows(synthetic_ohlcv(90, seed=21))
    positions = {60: 1, 75: -1}
    want = reference(tiny_home, bars, positions)
    opened = client.post("/streams", json={"model": "tiny", "bars": bars[:40]})
    assert opened.status_code == 201, opened.text
    stream = opened.json()["stream"]
    assert stream["model"] == "tiny/1d_v1" and stream["bars"] == 40
    assert same(opened.json()["decision"], want[39])
    for i in range(40, 90):
        body = {"bars": [bars[i]]} | ({"position": positions[i]} if i in positions else {})
        answer = client.post(f"/streams/{stream['id']}/bars", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["stream"]["bars"] == i + 1 and same(answer.json()["decision"], want[i]), i
    assert client.get(f"/streams/{stream['id']}").json()["bars"] == 90

    again = client.post(f"/streams/{stream['id']}/bars", json={"bars": [bars[89]]})
    assert again.status_code == 422 and again.json()["error"]["field"] == "body.bars[0].time"
    assert "not after the stream's last bar" in again.json()["error"]["message"]
    assert client.delete(f"/streams/{stream['id']}").status_code == 200
    gone = client.post(f"/streams/{stream['id']}/bars", json={"bars": [bars[89]]})
    assert gone.status_code == 404 and "open one with POST /streams" in gone.json()["error"]["message"]
    assert client.get("/streams/not-an-id").status_code == 422


def test_another_process_rebuilds_the_engine_from_the_stored_bars(tiny_home: Path) -> None:
    # Two stores over one workspace: two of uvicorn's workers, or a server before and after a restart.
    settings = ServeSettings(home=tiny_home)
    first = StreamStore(settings, EngineCache(tiny_home / "models", 2))
    second = StreamStore(settings, EngineCache(tiny_home / "models", 2))
    bars = [{**b, "time": pd.Timestamp(b["time"]).to_pydatetime()} for b in rows(synthetic_ohlcv(70, seed=22))]
    want = reference(tiny_home, bars, {55: 1})
    fed = first.open("tiny/1d_v1", bars[:50], None)
    stream = fed.record["id"]
    for i in range(50, 70):
        store = first if i % 3 else second  # each switch finds the other's engine behind: it replays
        fed = store.append(stream, [bars[i]], 1 if i == 55 else None)
        d = fed.decision
        assert (d.signal, d.target, d.size, d.time) == (want[i].signal, want[i].target, want[i].size, want[i].time)
        assert d.proba.tolist() == want[i].proba.tolist()
    assert second.get(stream)["bars"] == 70
