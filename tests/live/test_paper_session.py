"""A session's settings and hooks. The hooks a monitor (drift, calibration, retraining) uses: every step reported
with the engine's features and probabilities (and the stored steps again, marked as replayed, when a session
resumes), and a switch to another bundle that takes effect at the next bar boundary, is committed with that bar, and
is replayed at the same bar. A session keeps its bundle and settings, and one process trades it at a time."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest
import torch

from neurotrade import run
from neurotrade.config import parse_strategy
from neurotrade.data import synthetic_ohlcv
from neurotrade.errors import StoreError
from neurotrade.live import PaperSession, PaperStep, ReplayFeed

STRATEGY = """\
name: hooks
seed: {seed}
data: {{source: synthetic, bars: 400}}
indicators: {{rsi_14: {{}}}}
nn_inputs: {{indicators: [rsi_14], context: {{returns: [5]}}}}
split: {{folds: 2}}
model: {{hidden: [4]}}
training: {{epochs: 1, class_weights: balanced}}
decisions: {{confidence_threshold: 0.34, allow_short: true}}
"""
START = "2000-09-01"
SWITCH_AT = 300  # the monitor asks for the second model after this step


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory):
    """Two bundles of one strategy (trained with different seeds: hooks/1d_v1 and hooks/1d_v2)."""
    home = tmp_path_factory.mktemp("hooks")
    for seed in (5, 6):
        run(parse_strategy(STRATEGY.format(seed=seed)), home=home, progress=False)
    torch.set_num_threads(1)
    spec = parse_strategy(STRATEGY.format(seed=5))
    return spec, home, synthetic_ohlcv(400, seed=5)


def _session(spec, home, bars, name, *, end=None, steps=None, switch=True) -> PaperSession:
    session = PaperSession(spec, ReplayFeed({"AAPL": bars}), model="1d_v1", session=name, start=START, end=end,
                           home=home, on_step=None)  # fmt: skip

    def monitor(step: PaperStep) -> None:
        if steps is not None:
            steps.append(step)
        if switch and not step.replay and step.seq == SWITCH_AT:
            session.switch_engine("hooks/1d_v2", note="drift in ret_5")

    session.on_step = monitor
    return session


def test_each_step_is_reported_with_features_and_probabilities(two_models) -> None:
    spec, home, bars = two_models
    steps: list[PaperStep] = []
    _session(spec, home, bars, "reported", steps=steps, switch=False).run()
    assert [s.seq for s in steps] == list(range(1, 401)) and not any(s.replay for s in steps)
    decision = steps[-1].decisions["AAPL"]
    assert decision.features.shape == (2,) and decision.proba.shape == (3,)
    assert steps[0].phase == "warmup" and steps[-1].phase == "trading" and steps[-1].events is not None
    # Resumed, the stored steps are reported again as replayed (a monitor rebuilds its window from them).
    replayed: list[PaperStep] = []
    _session(spec, home, bars, "reported", steps=replayed, switch=False).run()
    assert len(replayed) == 400 and all(s.replay and s.events is None for s in replayed)
    np.testing.assert_array_equal(replayed[-1].decisions["AAPL"].features, decision.features)


def test_a_switch_takes_effect_at_the_next_bar_and_is_replayed_there(two_models) -> None:
    spec, home, bars = two_models
    out = _session(spec, home, bars, "switched").run()
    db = sqlite3.connect(out.session_dir / "state.sqlite")
    switches = db.execute("SELECT step, bundle, note FROM switches").fetchall()
    engines = [row[0] for row in db.execute("SELECT engine FROM steps ORDER BY seq")]
    db.close()
    assert switches == [(SWITCH_AT + 1, "hooks/1d_v2", "drift in ret_5")]
    assert set(engines[:SWITCH_AT]) == {"hooks/1d_v1"} and set(engines[SWITCH_AT:]) == {"hooks/1d_v2"}
    assert out.metrics["paper"]["switches"][0]["bundle"] == "hooks/1d_v2"
    assert "need not match" in out.metrics["paper"]["parity"]["note"]

    # Stopped right after the switch was asked for (before the bar it takes effect at), and again later, then
    # resumed to the end: the same session, switch included (the request was committed; the resumed runs replay
    # the stored bars through v1, then v2 from the switch on, checking every decision).
    for end in (bars.index[SWITCH_AT - 1], bars.index[SWITCH_AT + 20], None):
        again = _session(spec, home, bars, "in_parts", end=end).run()
    for name in ("decisions.parquet", "trades.parquet", "equity.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(again.session_dir / name),
                                      pd.read_parquet(out.session_dir / name), obj=name)  # fmt: skip
    # The second model decided differently from the first on some bar after the switch (the switch mattered).
    first = pd.read_parquet(out.session_dir.parent / "reported" / "decisions.parquet")
    second = pd.read_parquet(out.session_dir / "decisions.parquet")
    after = second.index > bars.index[SWITCH_AT - 1]
    assert not np.allclose(first.loc[after, "p_buy"], second.loc[after, "p_buy"])
    assert (first.loc[~after, "p_buy"].to_numpy() == second.loc[~after, "p_buy"].to_numpy()).all()


def test_a_session_keeps_its_settings_and_one_process(two_models) -> None:
    spec, home, bars = two_models
    _session(spec, home, bars, "kept", end=bars.index[250], switch=False).run()
    with pytest.raises(StoreError, match=r"started trading at 2000-09-01T00:00:00\+00:00, not 2000-10-02"):
        PaperSession(spec, ReplayFeed({"AAPL": bars}), session="kept", start="2000-10-02", home=home).run()
    with pytest.raises(StoreError, match=r"trades bundle hooks/1d_v1, not hooks/1d_v2; .* \(--session NAME\)"):
        PaperSession(spec, ReplayFeed({"AAPL": bars}), model="1d_v2", session="kept", home=home).run()
    dearer = parse_strategy(STRATEGY.format(seed=5) + "backtest: {commission_pct: 0.5}\n")
    with pytest.raises(StoreError, match="other backtest settings"):
        PaperSession(dearer, ReplayFeed({"AAPL": bars}), session="kept", home=home).run()
    from filelock import FileLock

    with FileLock(home / "paper" / "kept" / "session.lock"), pytest.raises(StoreError, match="another process"):
        PaperSession(spec, ReplayFeed({"AAPL": bars}), session="kept", home=home).run()
    out = PaperSession(spec, ReplayFeed({"AAPL": bars}), session="kept", home=home).run()  # the same: goes on
    assert out.resumed and out.steps == 400
