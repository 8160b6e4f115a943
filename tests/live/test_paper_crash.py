"""kill -9 at any moment, then the same command: the session goes on from its last committed bar and ends in the
same state as a run never interrupted (every table of its database, and its trace files), with no order, fill or
trade lost or repeated.

Each kill point is a process killed with SIGKILL: at a chosen point of a chosen step (``NEUROTRADE_PAPER_CRASH``:
before a step, mid-transaction, before and after the commit, while the session folder is written) or after a random
delay (anywhere: starting up, replaying the stored bars, trading). To keep 20+ restarts fast, one driver process
imports neurotrade once and forks a child per run of the command (the driver itself never computes, so forking it
is safe); one more run is a plain subprocess of the real ``neurotrade`` command killed after a random delay.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurotrade import run
from neurotrade.config import parse_strategy

STRATEGY = """\
name: crash
seed: 5
data: {source: synthetic, bars: 500}
indicators: {rsi_14: {}, adx_14: {}}
nn_inputs: {indicators: [rsi_14, adx_14], context: {returns: [5]}}
labels: {threshold_pct: 2, lookahead: 10}
split: {folds: 2}
model: {hidden: [8]}
training: {epochs: 1, class_weights: balanced}
decisions: {confidence_threshold: 0.34, allow_short: true, sizing: confidence}
backtest: {commission_pct: 0.1, slippage_pct: 0.05, stop_loss_pct: 3, trailing_stop_pct: 5}
"""
START = "2001-01-01"  # bars before it warm the engine up; ~240 bars are traded after it

# Imports neurotrade once, then runs each planned command in a forked child: with a kill point in its environment,
# or killed by the driver after a delay. Writes the children's exit codes as JSON.
DRIVER = """
import json, os, signal, sys, time
from neurotrade.cli import main
from neurotrade.cli import _commands  # noqa: F401  (every command registered before forking)
import neurotrade.live, neurotrade.decision, neurotrade._replay  # noqa: F401  (loaded once, shared by the forks)

plan, out = json.loads(sys.argv[1]), sys.argv[2]
codes = []
for run in plan:
    if run.get("real"):  # the real command in a process of its own (imports and all), killed after a delay
        import subprocess
        proc = subprocess.Popen([sys.executable, "-c", "from neurotrade.cli import main; main()", *run["argv"]],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            codes.append(proc.wait(timeout=run["after"]))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            codes.append(proc.wait())
        continue
    pid = os.fork()
    if pid == 0:
        os.environ.update(run.get("env", {}))
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        code = 0
        try:
            main(run["argv"])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        os._exit(code)
    if run.get("after") is not None:
        deadline = time.monotonic() + run["after"]
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.005)
        else:
            os.kill(pid, signal.SIGKILL)
            done, status = os.waitpid(pid, 0)
    else:
        _, status = os.waitpid(pid, 0)
    codes.append(os.waitstatus_to_exitcode(status))
with open(out, "w") as f:
    json.dump(codes, f)
"""


def _drive(plan: list[dict], tmp_path: Path) -> list[int]:
    out = tmp_path / f"codes_{time.monotonic_ns()}.json"
    env = dict(os.environ, NEUROTRADE_THREADS="1")
    subprocess.run([sys.executable, "-c", DRIVER, json.dumps(plan), str(out)], env=env, timeout=240, check=True,
                   stderr=subprocess.DEVNULL)  # fmt: skip
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A trained bundle (one epoch: decisions enough to trade ~35 times) and the strategy file."""
    home = tmp_path_factory.mktemp("paper_crash")
    path = home / "crash.yaml"
    path.write_text(STRATEGY)
    run(parse_strategy(STRATEGY), home=home, progress=False)
    return home, path


def _argv(home: Path, path: Path, session: str) -> list[str]:
    return ["--home", str(home), "--threads", "1", "paper", str(path), "--session", session, "--from", START]


def _state(session_dir: Path) -> dict[str, list[tuple]]:
    """Every table of a session's database, in order, without the wall-clock times it records."""
    db = sqlite3.connect(session_dir / "state.sqlite")
    try:
        out = {}
        for table, order in [("steps", "seq"), ("bars", "time, symbol"), ("decisions", "time, symbol"),
                             ("orders", "time, symbol"), ("fills", "seq"), ("trades", "seq"),
                             ("rejected", "key"), ("switches", "time")]:  # fmt: skip
            cursor = db.execute(f"SELECT * FROM {table} ORDER BY {order}")
            names = [c[0] for c in cursor.description]
            keep = [k for k, n in enumerate(names) if n not in ("committed_at", "seen_at")]
            out[table] = [tuple(row[k] for k in keep) for row in cursor]
        meta = dict(db.execute("SELECT key, value FROM meta"))
        out["meta"] = sorted((k, v) for k, v in meta.items() if k != "created")
        return out
    finally:
        db.close()


def _files(session_dir: Path) -> dict[str, pd.DataFrame]:
    names = ("decisions.parquet", "trades.parquet", "fills.parquet", "equity.parquet", "orders.parquet")
    return {name: pd.read_parquet(session_dir / name) for name in names}


def test_two_dozen_kills_lose_and_repeat_nothing(workspace: tuple[Path, Path], tmp_path: Path) -> None:
    home, path = workspace
    rng = np.random.default_rng(20240613)
    steps = 500  # every bar of the data is a step: warm-up before START, trading after
    points = ("start", "bars", "before_commit", "after_commit")
    killed = _argv(home, path, "killed")
    plan: list[dict] = [{"argv": _argv(home, path, "whole")}]  # the reference: never interrupted
    # 18 kills at chosen points of random steps, in order (each run gets further), one while the folder is written,
    # one of the real command in its own process after a random delay, and the same command to the end.
    seqs = np.sort(rng.choice(np.arange(2, steps + 1), size=18, replace=False))
    plan += [{"argv": killed, "env": {"NEUROTRADE_PAPER_CRASH": f"{int(seq)}:{points[k % len(points)]}"}}
             for k, seq in enumerate(seqs)]  # fmt: skip
    plan.append({"argv": killed, "env": {"NEUROTRADE_PAPER_CRASH": f"{steps}:files"}})
    plan.append({"argv": killed, "real": True, "after": float(rng.uniform(2.0, 4.0))})
    plan.append({"argv": killed})
    # Another session killed only after random delays: anywhere in starting up, replaying, trading or writing.
    timed = _argv(home, path, "timed")
    plan += [{"argv": timed, "after": float(d)} for d in rng.uniform(0.2, 0.9, size=5)]
    plan.append({"argv": timed})
    codes = _drive(plan, tmp_path)
    assert codes[0] == 0 and codes[21] == 0 and codes[-1] == 0, codes
    assert codes[1:20] == [-signal.SIGKILL] * 19, codes
    kills = sum(code == -signal.SIGKILL for code in codes)
    assert kills >= 22, codes  # 19 chosen; a delayed kill may come after its run has finished

    expected = _state(home / "paper" / "whole")
    assert len(expected["steps"]) == steps and len(expected["trades"]) > 20 and len(expected["orders"]) > 40
    theirs = _files(home / "paper" / "whole")
    for session in ("killed", "timed"):
        got = _state(home / "paper" / session)
        for table, rows in expected.items():
            if table != "meta":
                assert rows == got[table], (session, table)
        ours = _files(home / "paper" / session)
        for name, frame in theirs.items():
            pd.testing.assert_frame_equal(ours[name], frame, check_exact=True, obj=f"{session} {name}")
    # Every order was made once and settled once, at the open after its close.
    orders = pd.read_parquet(home / "paper" / "killed" / "orders.parquet")
    assert not orders.duplicated(["time", "symbol"]).any()
    assert set(orders["status"]) <= {"filled", "unfilled"} and (orders["filled_at"] > orders["time"]).all()
