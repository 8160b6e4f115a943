"""``POST /predict`` decides exactly as the decision engine in-process on the same bars, refuses a bundle whose
features differ from what its strategy computes, and bounds every request."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd
import pytest

from neurotrade.data import synthetic_ohlcv
from neurotrade.serve import ServeSettings
from neurotrade.serve._engines import EngineCache


def bars_json(bars: pd.DataFrame) -> list[dict]:
    return [{"time": t.isoformat(), **{k: float(v) for k, v in row.items()}} for t, row in bars.iterrows()]


@pytest.mark.parametrize(("n", "seed", "position"), [(60, 1, None), (120, 2, None), (90, 3, 1), (15, 4, None)])
def test_predict_equals_the_engine_in_process(tiny_home: Path, client: httpx.Client, n, seed, position) -> None:
    from neurotrade import load_bundle
    from neurotrade.decision import DecisionEngine

    bars = synthetic_ohlcv(n, seed=seed)
    body = {"model": "tiny/1d_v1", "bars": bars_json(bars)}
    if position is not None:
        body["position"] = position
    response = client.post("/predict", json=body)
    assert response.status_code == 200, response.text
    got = response.json()

    engine = DecisionEngine.from_bundle(load_bundle("tiny/1d_v1", home=tiny_home))
    last = len(bars) - 1
    for i, (time, bar) in enumerate(bars.iterrows()):
        want = engine.update(bar, time=time, position=position if i == last else None)
    assert got["model"] == "tiny/1d_v1" and got["bars"] == n
    assert pd.Timestamp(got["time"]) == want.time
    assert got["ready"] == want.ready
    assert (got["signal"], got["target"], got["size"], got["reason"]) == (
        want.signal,
        want.target,
        want.size,
        want.reason,
    )
    if want.ready:
        # JSON carries a float's shortest repr, which reads back to the same double: equal, not just close.
        assert [got["proba"][c] for c in ("SELL", "HOLD", "BUY")] == want.proba.tolist()
        assert list(got["features"].values()) == want.features.tolist()
    else:
        assert got["proba"] is None and got["signal"] is None


def test_the_same_bars_twice_decide_the_same(client: httpx.Client) -> None:
    body = {"model": "tiny", "bars": bars_json(synthetic_ohlcv(80, seed=9))}
    first, second = client.post("/predict", json=body).json(), client.post("/predict", json=body).json()
    assert first == second and first["model"] == "tiny/1d_v1"


def test_a_bundle_whose_features_differ_is_refused(tiny_home: Path, client: httpx.Client) -> None:
    from neurotrade import load_bundle
    from neurotrade.store import save_bundle

    bundle = load_bundle("tiny/1d_v1", home=tiny_home)
    documents = json.loads(json.dumps(bundle.documents))
    features = documents["features"]["resolved_features"]
    documents["features"]["resolved_features"] = features[::-1]  # same names, another order
    save_bundle(tiny_home / "models", "swapped", "1d", weights=bundle.weights, documents=documents)
    response = client.post("/predict", json={"model": "swapped/1d_v1", "bars": bars_json(synthetic_ohlcv(30))})
    assert response.status_code == 422, response.text
    assert "another order" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("change", "status", "field", "words"),
    [
        (lambda b: b.update(model="nosuch/1d_v1"), 404, "body.model", "no model bundles for strategy"),
        (lambda b: b.update(model="tiny/1d_v7"), 404, "body.model", "its bundles: tiny/1d_v1"),
        (lambda b: b.update(model="../etc/passwd"), 422, "body.model", "pattern"),
        (lambda b: b["bars"][3].update(high=1.0), 422, "body.bars[3]", "inconsistent bar"),
        (lambda b: b["bars"][5].update(time=b["bars"][4]["time"]), 422, "body", "strictly increasing"),
        (lambda b: b["bars"][0].update(close=float("nan")), 422, "body.bars[0].close", "finite"),
        (lambda b: b["bars"][0].update(volume=-1), 422, "body.bars[0].volume", "greater than or equal"),
        (lambda b: b["bars"][0].update(time="1600-01-01T00:00:00"), 422, "body.bars[0].time", "between 1678"),
        (lambda b: b.update(bars=[]), 422, "body.bars", "at least 1"),
        (lambda b: b.update(bars=b["bars"] * 400), 422, "body.bars", "at most 10000"),
        (lambda b: b.update(position=2), 422, "body.position", "less than or equal to 1"),
        (lambda b: b.update(position=False), 422, "body.position", "valid integer"),
        (lambda b: b["bars"][0].update(time=0), 422, "body.bars[0].time", "ISO 8601"),
        (lambda b: b["bars"][0].update(open="101.5"), 422, "body.bars[0].open", "valid number"),
        (lambda b: b.update(extra=1), 422, "body.extra", "Extra inputs"),
    ],
)
def test_bad_requests_name_the_field(client: httpx.Client, change, status, field, words) -> None:
    body = {"model": "tiny/1d_v1", "bars": bars_json(synthetic_ohlcv(30, seed=1))}
    change(body)
    response = client.post(
        "/predict", content=json.dumps(body, allow_nan=True), headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field and words in error["message"], error


def test_a_body_over_the_limit_is_413(served, client: httpx.Client) -> None:
    server, _ = served
    limit = ServeSettings(home=server.home).max_body_bytes
    response = client.post("/predict", content=b"x" * (limit + 1), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "larger than" in response.json()["error"]["message"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    response = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["field"] == "body"


def test_the_engine_cache_keeps_the_most_recent(tiny_home: Path) -> None:
    cache = EngineCache(tiny_home / "models", size=1)
    name, first = cache.engine("tiny")
    assert name == "tiny/1d_v1" and len(cache) == 1
    _, second = cache.engine("tiny/1d_v1")
    assert second is not first  # a fresh engine per request
    assert second.model is first.model  # built from the one loaded template
    cache.forget("tiny/1d_v1")
    assert len(cache) == 0


def test_only_a_loaded_plain_mlp_is_decided_on_the_event_loop(tiny_home: Path, tmp_path: Path) -> None:
    """A window model costs ~0.5 ms a bar: 512 of them on the event loop held every other request (health
    included) for ~0.25 s; it, like a bundle not loaded yet, goes to the thread pool."""
    from neurotrade import run
    from neurotrade.config import parse_strategy

    cache = EngineCache(tiny_home / "models", 4)
    assert not cache.is_cheap("tiny/1d_v1")  # not loaded yet: a load is file hashing and a network rebuilt
    cache.engine("tiny/1d_v1")
    assert cache.is_cheap("tiny/1d_v1")
    spec = parse_strategy(
        "name: windowed\nseed: 1\ndata: {source: synthetic, bars: 600}\nindicators: {rsi_14: {}}\n"
        "nn_inputs: {indicators: [rsi_14], lookback_periods: 8}\nmodel: {type: lstm, hidden: 4}\n"
        "split: {folds: 2}\ntraining: {epochs: 1}\n"
    )
    run(spec, home=tmp_path, progress=False)
    windowed = EngineCache(tmp_path / "models", 4)
    windowed.engine("windowed/1d_v1")
    assert not windowed.is_cheap("windowed/1d_v1")
