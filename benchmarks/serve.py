"""``POST /predict`` latency and throughput on loopback: p50 / p99 and requests per second at 1, 8 and 32
concurrent clients (issue 14's goal: p99 < 20 ms at 8 clients for an MLP bundle).

The script trains a small MLP bundle on synthetic bars in a temporary workspace, creates an API key, starts
``neurotrade serve`` on a free loopback port (a subprocess, as a user would) and then, for each number of clients,
keeps that many keep-alive connections busy, each sending the same request and waiting for its answer before the
next: the bundle's name and ``--bars`` daily bars (enough for every feature to be warm, so the model and the rules
run on the last one). Every answer is checked (200, ``ready: true``). Each level is bounded in requests and in
time; the first requests of each level warm up and are not counted.

The clients are a few lines of asyncio speaking HTTP/1.1 on raw sockets in one process, so the load generator
takes little of the CPU the server needs (httpx costs about a millisecond of CPU per request on its own). On a
2-core machine the server and the clients still share the cores: the numbers are those of one busy laptop, not
of a server with cores to spare.

The server decides on a fresh decision engine per request (its own feature streams, rules state and float64
model copy, fed every posted bar), as ``DecisionEngine.from_bundle`` would in-process; the in-process time of the
same work is printed beside the table as the floor HTTP adds to.

Run from the repository root::

    .venv/bin/python benchmarks/serve.py                      # 1, 8 and 32 clients, 64 bars per request
    .venv/bin/python benchmarks/serve.py --bars 256           # a longer history per request
    .venv/bin/python benchmarks/serve.py --workers 2          # two uvicorn worker processes
    .venv/bin/python benchmarks/serve.py --quick              # a smoke run (a few hundred requests)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STRATEGY = """\
name: bench
seed: 1
data: {source: synthetic, bars: 1200}
indicators: {rsi_14: {}, adx_14: {}, natr_14: {}}
nn_inputs: {indicators: [rsi_14, adx_14, natr_14], lookback_periods: 1}
split: {folds: 2}
model: {type: mlp, hidden: [32, 16]}
training: {epochs: 3}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(home: Path) -> str:
    from neurotrade import run
    from neurotrade.config import parse_strategy

    return run(parse_strategy(STRATEGY), home=home, progress=False).bundle.name


def bar_rows(n: int, seed: int) -> list[dict[str, Any]]:
    from neurotrade.data import synthetic_ohlcv

    frame = synthetic_ohlcv(n, seed=seed)
    return [{"time": t.isoformat(), **{k: float(v) for k, v in r.items()}} for t, r in frame.iterrows()]


def http_post(port: int, key: str, path: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def open_stream(port: int, key: str, model: str, history: list[dict[str, Any]]) -> str:
    """Open a stream on the history (a plain blocking request) and return its id."""
    body = json.dumps({"model": model, "bars": history}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(http_post(port, key, "/streams", body))
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
        while len(rest) < length:
            rest += s.recv(65536)
    if not head.startswith(b"HTTP/1.1 201"):
        raise RuntimeError(f"cannot open a stream: {head[:100]!r} {rest[:300]!r}")
    return json.loads(rest)["stream"]["id"]


def in_process_ms(home: Path, model: str, body: bytes, repeats: int = 200) -> float:
    """The same decision without HTTP: a fresh engine per request from the loaded bundle, fed every bar."""
    import pandas as pd
    import torch

    from neurotrade import load_bundle
    from neurotrade.decision import DecisionEngine

    torch.set_num_threads(1)
    template = DecisionEngine.from_bundle(load_bundle(model, home=home))
    bars = json.loads(body)["bars"]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        engine = template.fresh()  # as the server's engine cache does
        for bar in bars:
            decision = engine.update(bar, time=pd.Timestamp(bar["time"]))
        times.append(time.perf_counter() - start)
    assert decision.ready
    return 1000 * statistics.median(times)


def start_server(home: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from neurotrade.cli import main; main()", "--home", str(home), "serve"]
    command += ["--port", str(port), "--workers", str(workers)]
    env = {**os.environ, "NEUROTRADE_HOME": str(home)}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: bench\r\n\r\n")
                if b"200 OK" in s.recv(1024):
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start: " + process.stderr.read().decode()[-2000:])


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return status, await reader.readexactly(length)


async def client(port: int, requests: Any, stop: float, budget: list[int], latencies: list[float]) -> None:
    """One keep-alive connection sending ``next(requests)`` and waiting for each answer, while budget and time
    last."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while budget[0] > 0 and time.perf_counter() < stop:
            budget[0] -= 1
            request = next(requests)
            start = time.perf_counter()
            writer.write(request)
            status, body = await _read_response(reader)
            latencies.append(time.perf_counter() - start)
            if status != 200 or b'"ready":true' not in body:
                raise RuntimeError(f"unexpected answer {status}: {body[:300]!r}")
    finally:
        writer.close()


async def level(port: int, make: Any, clients: int, requests: int, seconds: float, warmup: int) -> dict:
    """One concurrency level: warm-up requests (not counted), then at most ``requests`` or ``seconds``.
    ``make(i)`` gives client i's endless iterator of requests (it carries on after the warm-up)."""
    sources = [make(i) for i in range(clients)]
    await asyncio.gather(*(client(port, src, time.perf_counter() + 60, [warmup], []) for src in sources))
    latencies: list[float] = []
    budget = [requests]
    start = time.perf_counter()
    stop = start + seconds
    await asyncio.gather(*(client(port, src, stop, budget, latencies) for src in sources))
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "requests": len(ordered),
        "p50_ms": 1000 * ordered[len(ordered) // 2],
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "max_ms": 1000 * ordered[-1],
        "rps": len(ordered) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=64, help="bars per request (default 64)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrency levels")
    parser.add_argument("--requests", type=int, default=3000, help="requests per level at most (default 3000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per level at most (default 20)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 requests, 5 s per level")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.seconds = 200, 5.0

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        print(f"training an MLP bundle on synthetic bars in {home} ...", flush=True)
        model = train(home)
        from neurotrade.serve import Database, ServeSettings, create_key

        key = create_key(Database(ServeSettings(home=home).database), "benchmark")
        history = bar_rows(args.bars, seed=7)
        body = json.dumps({"model": model, "bars": history}).encode()
        floor = in_process_ms(home, model, body)
        port = free_port()
        server = start_server(home, port, args.workers)
        predict = http_post(port, key, "/predict", body)

        def same_request(i: int) -> Any:
            return itertools.repeat(predict)

        def stream_requests(i: int) -> Any:
            # Each client its own symbol's history, then one new bar per request, for as long as it is asked.
            bars = bar_rows(args.bars + args.requests + 200, seed=100 + i)
            stream = open_stream(port, key, model, bars[: args.bars])
            path = f"/streams/{stream}/bars"
            return (http_post(port, key, path, json.dumps({"bars": [b]}).encode()) for b in bars[args.bars :])

        tables = {}
        try:
            for mode, make in (("predict", same_request), ("stream", stream_requests)):
                tables[mode] = [
                    asyncio.run(level(port, make, c, args.requests, args.seconds, warmup=max(5, 40 // c)))
                    for c in args.clients
                ]
        finally:
            server.terminate()
            server.wait(timeout=30)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print()
    print(
        f"bundle {model} (MLP over {len(json.loads(body)['bars'])}-bar histories), {args.workers} uvicorn "
        "worker(s), loopback; every answer checked (200, ready)"
    )
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {load:.2f}")
    print()
    titles = {
        "predict": f"POST /predict: {args.bars} bars per request, a fresh engine fed them all",
        "stream": "POST /streams/{id}/bars: one new bar per request, each client its own stream",
    }
    for mode, rows in tables.items():
        print(titles[mode])
        print(f"{'clients':>7}  {'requests':>8}  {'p50 ms':>7}  {'p99 ms':>7}  {'max ms':>7}  {'req/s':>7}")
        for r in rows:
            print(
                f"{r['clients']:>7}  {r['requests']:>8}  {r['p50_ms']:>7.2f}  {r['p99_ms']:>7.2f}  "
                f"{r['max_ms']:>7.1f}  {r['rps']:>7.0f}"
            )
        print()
    print(f"in-process floor of /predict (fresh engine + {args.bars} updates, no HTTP): {floor:.2f} ms per request")
    for mode, rows in tables.items():
        eight = next((r for r in rows if r["clients"] == 8), None)
        if eight is not None:
            verdict = "met" if eight["p99_ms"] < 20 else "NOT met"
            print(f"goal p99 < 20 ms at 8 clients, {mode}: {verdict} ({eight['p99_ms']:.1f} ms)")


if __name__ == "__main__":
    main()
