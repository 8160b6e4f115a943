"""A real server for the tests: ``neurotrade serve`` started on a free loopback port in a subprocess, talked to
over HTTP with httpx, and stopped (or killed) by the test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from neurotrade.serve import Database, ServeSettings, create_key

# A strategy that trains in a couple of seconds on two cores.
TINY = """\
name: tiny
seed: 5
data: {source: synthetic, bars: 900}
indicators: {rsi_14: {}, adx_14: {}}
nn_inputs: {indicators: [rsi_14, adx_14]}
labels: {threshold_pct: 2, lookahead: 10}
split: {folds: 2}
model: {hidden: [8]}
training: {epochs: 3, batch_size: 64}
decisions: {confidence_threshold: 0.34, allow_short: true}
"""
START_TIMEOUT_S = 60.0


def free_port() -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``neurotrade --home HOME serve --port PORT`` in a subprocess."""

    def __init__(self, home: Path, *args: str) -> None:
        self.home, self.args = home, args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home / f"server-{self.port}.log"

    def start(self) -> Server:
        command = [sys.executable, "-c", "from neurotrade.cli import main; main()", "--home", str(self.home)]
        command += ["serve", "--port", str(self.port), *self.args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEUROTRADE_")}
        env["NEUROTRADE_SERVE_POLL_SECONDS"] = "0.1"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"the server did not answer /health within {START_TIMEOUT_S} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        """Stop it as Ctrl-C would (jobs still running end interrupted)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """kill -9."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def make_key(home: Path) -> str:
    """A valid API key for the workspace."""
    return create_key(Database(ServeSettings(home=home).database), "tests")


@pytest.fixture(scope="session")
def tiny_strategy() -> str:
    """The YAML of a strategy that trains in seconds (test modules cannot import conftest: importlib mode)."""
    return TINY


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    """Start servers (``start_server(home, *cli_args)``); any still running at the end are killed."""
    started: list[Server] = []

    def start(home: Path, *args: str) -> Server:
        started.append(Server(home, *args).start())
        return started[-1]

    yield start
    for server in started:
        server.kill()


@pytest.fixture(scope="session")
def new_key() -> Callable[[Path], str]:
    """``new_key(home)``: a valid API key for that workspace."""
    return make_key


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding one trained bundle, tiny/1d_v1, and its run's report."""
    from neurotrade import run
    from neurotrade.config import parse_strategy

    home = tmp_path_factory.mktemp("serve_home")
    run(parse_strategy(TINY), home=home, progress=False)
    return home


@pytest.fixture(scope="module")
def served(tiny_home: Path) -> Iterator[tuple[Server, str]]:
    """A server over ``tiny_home`` and a key it accepts."""
    key = make_key(tiny_home)
    server = Server(tiny_home).start()
    try:
        yield server, key
    finally:
        server.stop()


@pytest.fixture
def client(served: tuple[Server, str]) -> Iterator[httpx.Client]:
    """An httpx client on the server, sending the key."""
    server, key = served
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        yield c
