"""Drift and retraining in the paper loop (the strategy's ``live:`` section).

A planted shift (the replay's later bars turned into a steady rise, which pins RSI near 100) is flagged, naming the
feature, in the session's ``drift`` table and its metrics; the same history unshifted raises no flag. A
drift-triggered retrain switches models at a bar boundary (one bar after the trigger), and replaying the same
history with the same settings makes the same switch at the same bar. ``every: N`` retrains on schedule, each on
the history up to its trigger only.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from neurotrade import run
from neurotrade.config import parse_strategy
from neurotrade.data import synthetic_ohlcv
from neurotrade.live import PaperSession, PaperStep, ReplayFeed
from neurotrade.store import load_bundle

BASE = """\
name: drifty
seed: 3
data: {source: synthetic, bars: 900}
indicators: {rsi_14: {}}
nn_inputs: {indicators: [rsi_14], context: {returns: [5]}}
split: {folds: 2}
model: {hidden: [8]}
training: {epochs: 1}
"""
SHIFT_AT = 650  # bars from here on rise 1 % a bar
START = 400  # trading starts at this bar


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """One bundle (drifty/1d_v1) and the synthetic bars it was trained on, plain and shifted."""
    home = tmp_path_factory.mktemp("drift")
    run(parse_strategy(BASE), home=home, progress=False)
    torch.set_num_threads(1)
    bars = synthetic_ohlcv(900, seed=3)
    rise = np.exp(0.01 * np.clip(np.arange(len(bars)) - SHIFT_AT, 0, None))
    shifted = bars.copy()
    for column in ("open", "high", "low", "close"):
        shifted[column] = shifted[column] * rise
    return home, bars, shifted


def _spec(live: str):
    return parse_strategy(BASE + f"live: {live}\n")


def _run(home, spec, bars, name, *, end=None, steps=None, write_files=False):
    session = PaperSession(spec, ReplayFeed({"AAPL": bars}), model="1d_v1", session=name, home=home,
                           start=bars.index[START], end=end, write_files=write_files,
                           on_step=None if steps is None else steps.append)  # fmt: skip
    return session.run()


def _table(home, name: str, table: str) -> list[dict]:
    with sqlite3.connect(home / "paper" / name / "state.sqlite") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(f"SELECT * FROM {table} ORDER BY rowid")]


def test_a_planted_shift_is_flagged_naming_the_feature_and_a_plain_replay_is_not(trained) -> None:
    home, bars, shifted = trained
    spec = _spec("{drift: {window: 250}}")
    _run(home, spec, bars, "plain")
    assert _table(home, "plain", "drift") == []

    steps: list[PaperStep] = []
    out = _run(home, spec, shifted, "shifted", steps=steps, write_files=True)
    flags = _table(home, "shifted", "drift")
    rsi = [f for f in flags if f["kind"] == "psi" and f["feature"] == "1d_rsi_14"]
    assert rsi, flags
    first = pd.Timestamp(rsi[0]["time"], unit="ns", tz="UTC")
    assert first > bars.index[SHIFT_AT]  # raised by the shift, not before it
    assert rsi[0]["value"] > 0.25 and rsi[0]["threshold"] == 0.25 and rsi[0]["engine"] == "drifty/1d_v1"
    # The flag reached the hook with its bar, and the session's metrics and report notes.
    assert any(f["feature"] == "1d_rsi_14" for s in steps for f in s.drift)
    paper = json.loads((out.session_dir / "metrics.json").read_text())["paper"]
    assert any(d["feature"] == "1d_rsi_14" for d in paper["drift"])
    from neurotrade.report._page import paper_notes

    assert any("PSI of 1d_rsi_14" in note for note in paper_notes(paper))


def test_a_drift_triggered_retrain_switches_at_a_bar_boundary_the_same_in_a_second_replay(trained) -> None:
    home, _, shifted = trained
    spec = _spec("{drift: {window: 250, calibration: 0.9}, retrain: {on_drift: true}}")
    # The RSI flag comes at step 687; the session ends with the switch's bar (step 688), before the retrain that
    # the new bundle's own flags (its other scaler) start would be due.
    end = shifted.index[687]
    runs = []
    for name in ("retrain-a", "retrain-b"):
        steps: list[PaperStep] = []
        _run(home, spec, shifted, name, end=end, steps=steps)
        flagged = next(s for s in steps if s.drift)
        switches = _table(home, name, "switches")
        assert len(switches) == 1, switches
        switch = switches[0]
        assert switch["step"] == flagged.seq + 1  # the next bar boundary after the trigger
        assert "drift: 1d_rsi_14" in switch["note"]
        # Decided by the new bundle from that bar on, and by the old one before it.
        engines = {s.seq: s.engine for s in steps}
        assert engines[switch["step"] - 1] == "drifty/1d_v1" and engines[switch["step"]] == switch["bundle"]
        retrained = load_bundle(home / "models", switch["bundle"])
        assert pd.Timestamp(retrained.documents["spec"]["data"]["end"]) == flagged.time + pd.Timedelta("1D")
        decisions = _table(home, name, "decisions")
        runs.append((switch["step"], switch["time"], [(d["time"], d["signal"], d["target"]) for d in decisions]))
    assert runs[0] == runs[1]


def test_every_n_bars_retrains_on_schedule_and_a_retrain_cut_by_a_stop_is_started_again(trained) -> None:
    home, bars, _ = trained
    spec = _spec("{drift: {window: 250}, retrain: {every: 60, delay: 2}}")
    # Stopped after the first trigger (step START + 60) and before its switch: the retrain is ended with the run...
    _run(home, spec, bars, "every", end=bars.index[START + 60])
    assert _table(home, "every", "switches") == []
    # ... and started again when the session resumes (found by replaying its steps), switched in at the same bar.
    _run(home, spec, bars, "every", end=bars.index[START + 125])
    switches = _table(home, "every", "switches")
    # Triggers at the 60th and 120th trading bars (steps START + 60 and START + 120), each due 2 bars later.
    assert [s["step"] for s in switches] == [START + 60 + 2, START + 120 + 2], switches
    assert all("every 60 bars" in s["note"] for s in switches)
    retrained = load_bundle(home / "models", switches[0]["bundle"])
    assert pd.Timestamp(retrained.documents["spec"]["data"]["end"]) == bars.index[START + 59] + pd.Timedelta("1D")


class _Job:
    """A retrain's result as the pool hands it back, done or not."""

    def __init__(self, done: bool) -> None:
        self.done = done

    def ready(self) -> bool:
        return self.done

    def get(self) -> str:
        assert self.done, "a live feed must not wait for a retrain"
        return "drifty/1d_v9"


def test_a_live_feed_never_waits_for_a_retrain_and_switches_once_it_is_done() -> None:
    from neurotrade.config._live import RetrainSpec
    from neurotrade.live._retrain import Retrainer

    retrainer = Retrainer(RetrainSpec(every=1, delay=1), _spec("{}"), Path(), wait=False)
    time = pd.Timestamp("2020-01-01", tz="UTC")
    assert retrainer.after_step(10, time, pd.Timedelta("1D"), "trading", [], replay=True)
    assert retrainer.due == 11 and retrainer.trigger[0] == "2020-01-02T00:00:00+00:00"
    retrainer.job = _Job(done=False)
    assert retrainer.before_step(11) is None and retrainer.before_step(12) is None  # not done: trades on, no wait
    retrainer.job = _Job(done=True)
    assert retrainer.before_step(13) == ("drifty/1d_v9", "retrained on the bars to 2020-01-01T00:00:00+00:00 "
                                         "(every 1 bars)")  # fmt: skip


UNIVERSE = BASE.replace("name: drifty", "name: udrifty").replace(
    "{source: synthetic, bars: 900}", "{source: synthetic, bars: 900, symbols: 3}"
)


def test_a_universe_is_watched_pooled_over_its_symbols_and_a_shift_in_one_symbol_is_flagged(
    tmp_path: Path,
) -> None:
    """The monitor pools a universe's symbols: their plain replay raises nothing, and a planted rise in one symbol
    alone moves the pooled RSI distribution enough to be flagged (after the shift, naming the feature)."""
    from neurotrade._stages import load_universe

    spec = parse_strategy(UNIVERSE + "live: {drift: {window: 250}}\n")
    run(parse_strategy(UNIVERSE), home=tmp_path, progress=False)
    torch.set_num_threads(1)
    bars = load_universe(spec.data, home=tmp_path, seed=spec.seed)
    assert list(bars) == ["S001", "S002", "S003"]
    index = bars["S002"].index
    rise = np.exp(0.02 * np.clip(np.arange(len(index)) - SHIFT_AT, 0, None))
    shifted = dict(bars)
    shifted["S002"] = bars["S002"].copy()
    for column in ("open", "high", "low", "close"):
        shifted["S002"][column] = shifted["S002"][column] * rise

    def session(name: str, frames: dict) -> list[dict]:
        PaperSession(spec, ReplayFeed(frames), model="1d_v1", session=name, home=tmp_path, start=index[START]).run()
        return _table(tmp_path, name, "drift")

    assert session("plain", bars) == []
    flags = session("shifted", shifted)
    rsi = [f for f in flags if f["kind"] == "psi" and f["feature"] == "1d_rsi_14"]
    assert rsi, flags
    assert pd.Timestamp(rsi[0]["time"], unit="ns", tz="UTC") > index[SHIFT_AT]
    assert rsi[0]["engine"] == "udrifty/1d_v1"
