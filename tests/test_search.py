"""Search: trials on Ray with Optuna's sampler, the final holdout locked away from every trial, confirm once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurotrade import data, load_bundle
from neurotrade.config import parse_strategy
from neurotrade.errors import ConfigError
from neurotrade.search import confirm, load_study, tune

SPEC = """
name: {name}
data: {data}
indicators: {{rsi_14: {{}}, adx_14: {{}}}}
nn_inputs: {{indicators: [rsi_14, adx_14]}}
split: {{folds: 3}}
model: {{hidden: [16]}}
training: {{epochs: 3, class_weights: balanced}}
search:
  trials: {trials}
  pruner: {pruner}
  seed: 5
  space:
    decisions.confidence_threshold: {{choice: [0.34, 0.97]}}
    training.learning_rate: {{loguniform: [3.0e-3, 3.0e-2]}}
"""


def spec(name: str, data_: str = "{source: synthetic, bars: 1500}", trials: int = 3, pruner: str = "none"):
    return parse_strategy(SPEC.format(name=name, data=data_, trials=trials, pruner=pruner))


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    from neurotrade.cluster import ray_session

    with ray_session(cpus=2):
        yield


def test_no_trial_sees_the_holdout(tmp_path: Path, ray_cluster: None) -> None:
    """The same study over two files that differ only inside the holdout gives the same trials, to the bit:
    nothing of the holdout (features, labels, scalers, early stopping) reaches any trial."""
    bars = data.synthetic_ohlcv(1500, seed=3)
    start = bars.index[int(len(bars) * 0.8)]
    bars.to_csv(tmp_path / "a.csv")
    changed = bars.copy()
    later = changed.index >= start
    changed.loc[later, ["open", "high", "low", "close"]] *= 1.7  # a different holdout, same history before it
    changed.loc[later, "volume"] *= 3.0
    changed.to_csv(tmp_path / "b.csv")
    records = []
    for name in ("a", "b"):
        outcome = tune(
            spec(name, f"{{source: file, path: '{tmp_path}/{name}.csv'}}", trials=2),
            home=tmp_path / name,
            workers=1,
        )
        assert outcome.holdout.start == start.isoformat() and outcome.complete == 2
        study = load_study(tmp_path / name, name)
        records.append([(t.params, t.value, t.user_attrs["folds"], t.user_attrs["aggregate"]) for t in study.trials])
        for trial in study.trials:  # every trial's bars, labels and model end before the holdout
            bundle = load_bundle(trial.user_attrs["bundle"], home=tmp_path / name)
            assert pd.Timestamp(bundle.documents["data"]["last"]) < start
            assert pd.Timestamp(bundle.documents["split"]["trained_until"]) < start
            decisions = pd.read_parquet(Path(trial.user_attrs["run_dir"]) / "decisions.parquet")
            assert decisions.index.max() < start
    assert records[0] == records[1]


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory, ray_cluster: None) -> tuple[Path, object]:
    home = tmp_path_factory.mktemp("study")
    return home, tune(spec("planted", trials=4, pruner="median"), home=home, workers=2)


def test_a_search_finds_the_planted_signal_and_confirms_it_once(searched: tuple[Path, object]) -> None:
    home, outcome = searched
    study = load_study(home, "planted")
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert outcome.complete + outcome.pruned == 4 and outcome.best is not None
    assert outcome.trials_counted >= 4
    deflated = study.user_attrs["deflated"]
    assert deflated["trials_counted"] == outcome.trials_counted and set(deflated["by_trial"]) == {
        str(t.number) for t in complete
    }
    # Every trial deflated by one count: `objective: dsr` would otherwise favour the trials that ran first.
    assert len({t.user_attrs["aggregate"]["trials_counted"] for t in complete}) == 1
    first = confirm("planted", home=home)
    assert first.looks == 1 and first.trial == outcome.best["trial"]
    worst = min(t.value for t in complete)
    assert first.holdout["excess_sharpe"] is not None and first.holdout["excess_sharpe"] > worst
    run = first.run
    holdout_start = pd.Timestamp(study.user_attrs["holdout"]["start"])
    window = run.metrics["aggregate"]["window"]
    assert pd.Timestamp(window["first"]) >= holdout_start  # the confirmation trades the holdout only
    bundle = load_bundle(run.bundle.name, home=home)
    assert pd.Timestamp(bundle.documents["split"]["trained_until"]) < holdout_start  # trained before it, purged
    assert run.metrics["aggregate"]["strategy"]["trials"] == first.trials_counted
    with pytest.raises(ConfigError, match=r"has been looked at 1 time\(s\) already.*Pass --again"):
        confirm("planted", home=home)
    second = confirm("planted", home=home, again=True)
    assert second.looks == 2
    metrics = json.loads((second.run.run_dir / "metrics.json").read_text())
    assert metrics["holdout_looks"] == 2 and "looked at 2 times" in metrics["aggregate"]["warnings"][0]
    assert "looked at 2 times" in (second.run.run_dir / "report.html").read_text()
    assert len(load_study(home, "planted").user_attrs["confirmations"]) == 2


def test_a_study_resumes_only_on_the_same_search_and_data(searched: tuple[Path, object]) -> None:
    home, _ = searched
    changed = spec("planted", trials=4).model_dump(mode="json")
    changed["training"]["epochs"] = 4
    with pytest.raises(ConfigError, match="started with another version of strategy 'planted'"):
        tune(parse_strategy(json.dumps(changed)), home=home)
    again = tune(spec("planted", trials=4, pruner="median"), home=home)  # nothing left to run
    assert again.complete + again.pruned == 4


def test_a_killed_tune_resumes_without_counting_a_trial_twice(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SPEC.format(name="killed", data="{source: synthetic, bars: 1500}", trials=5,
                                                 pruner="none"))  # fmt: skip
    cli = str(Path(sys.executable).parent / "neurotrade")
    command = [cli, "--home", str(tmp_path / "w"), "tune", "s.yaml", "--workers", "2"]
    env = {**os.environ, "NEUROTRADE_THREADS": "1"}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    storage = tmp_path / "w" / "studies" / "killed" / "study.sqlite"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:  # kill -9 once a trial has finished and others are in flight
            time.sleep(1.0)
            if storage.is_file() and _states(storage).count("COMPLETE") >= 1:
                break
        else:
            pytest.fail("no trial finished within 240 s")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    before = _states(storage)
    assert before.count("COMPLETE") >= 1 and before.count("COMPLETE") < 5
    finished = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
    assert finished.returncode == 0, finished.stderr[-3000:]
    after = _states(storage)
    assert after.count("COMPLETE") + after.count("PRUNED") == 5  # the asked trials, each counted once
    study = load_study(tmp_path / "w", "killed")
    rates = [t.params["training.learning_rate"] for t in study.trials]
    assert len(set(rates)) == len(rates)  # the resumed sampler does not draw the first trials' values again
    assert after.count("FAIL") == before.count("RUNNING")  # the ones in flight at the kill, never counted
    assert after[: len(before)].count("COMPLETE") == before.count("COMPLETE")  # finished trials kept as they were


def _states(storage: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(storage) as connection:
        try:
            rows = connection.execute("SELECT state FROM trials ORDER BY number").fetchall()
        except sqlite3.OperationalError:
            return []
    return [str(r[0]) for r in rows]


def test_a_strategy_without_a_search_is_told_how_to_add_one(tmp_path: Path) -> None:
    plain = parse_strategy("name: x\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n")
    with pytest.raises(ConfigError, match=r"has no search: section; add one, e.g. search: \{space:"):
        tune(plain, home=tmp_path)


def test_a_missing_engine_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from neurotrade.cluster import ray_session
    from neurotrade.errors import NeurotradeError

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails as if it were not installed
    with pytest.raises(NeurotradeError, match=r"pip install 'neurotrade\[tune\]'"), ray_session():
        pass


def test_confirm_of_an_unknown_study_lists_the_known_ones(searched: tuple[Path, object]) -> None:
    from neurotrade.errors import StoreError

    home, _ = searched
    with pytest.raises(StoreError, match=r"no study named 'plantd'.*studies in this workspace: planted$"):
        confirm("plantd", home=home)
    assert not (home / "studies" / "plantd").exists()  # asking about a study does not create it
    assert np.isfinite(load_study(home, "planted").best_value)


def test_trials_find_the_features_the_driver_shared(tmp_path: Path) -> None:
    """When no dimension touches the features, the driver's matrix (shipped by Ray) is the one each trial's run
    looks up: same cache key as the trial's own spec and bars, and the run reads it from there."""
    from neurotrade._stages import load_bars
    from neurotrade.config._search import with_values
    from neurotrade.features import FeatureCache, build_features
    from neurotrade.features._cache import _SHARED, share_features
    from neurotrade.search import locate_holdout
    from neurotrade.search._tune import shared_features

    base = spec("shared")
    holdout = locate_holdout(base, tmp_path)
    key, matrix = shared_features(base, holdout, tmp_path, lambda event: None)
    trial = with_values(base, {"training.learning_rate": 0.01, "data.end": holdout.start, "name": "shared-trial3"})
    bars = load_bars(trial.data, home=tmp_path, seed=trial.seed)
    assert FeatureCache(tmp_path).key(bars, trial) == key
    elsewhere = tmp_path / "other"  # a node whose disk holds no cache: the shared matrix is found all the same
    share_features(key, matrix)
    try:
        cache = FeatureCache(elsewhere)
        assert cache.load_or_build(bars, trial, build_features).frame.equals(matrix.frame) and cache.hits == 1
    finally:
        _SHARED.pop(key, None)
    touched = parse_strategy(
        SPEC.format(name="t", data="{source: synthetic, bars: 1500}", trials=2, pruner="none").replace(
            "    training.learning_rate:", "    indicators.rsi_14.period: {int: [5, 20]}\n    training.learning_rate:"
        )
    )
    assert shared_features(touched, holdout, tmp_path, lambda event: None) is None


def test_a_tracked_study_logs_each_trial_under_its_study_run(tmp_path: Path, ray_cluster: None) -> None:
    from mlflow.tracking import MlflowClient

    from neurotrade import tracking

    outcome = tune(spec("logged", trials=2), home=tmp_path, workers=2, track=True)
    client = MlflowClient(tracking.tracking_uri(None, tmp_path))
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(children) == outcome.complete == 2
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    study = load_study(tmp_path, "logged")
    for r in children:  # each nested run is its trial's run: its number, its learning rate, its Sharpe
        trial = study.trials[int(r.data.tags["neurotrade.trial"])]
        assert float(r.data.params["training.learning_rate"]) == pytest.approx(
            trial.params["training.learning_rate"], rel=1e-12
        )
        assert r.data.tags["neurotrade.bundle"] == trial.user_attrs["bundle"]


def test_successive_halving_leaves_complete_trials(tmp_path: Path, ray_cluster: None) -> None:
    """Ray's ASHA stops a trial at its last rung; on the folds that was every trial before its final result."""
    outcome = tune(spec("halved", trials=3, pruner="successive_halving"), home=tmp_path, workers=2)
    assert outcome.complete >= 1 and outcome.best is not None


def test_a_universe_symbol_listed_inside_the_holdout_is_refused(tmp_path: Path) -> None:
    from neurotrade.search import locate_holdout

    late = data.synthetic_ohlcv(1500, seed=4).iloc[1300:]
    late.to_csv(tmp_path / "LATE.csv")
    data.synthetic_ohlcv(1500, seed=3).to_csv(tmp_path / "EARLY.csv")
    universe = spec("u", f"{{source: file, path: '{tmp_path}/{{symbol}}.csv', symbols: [EARLY, LATE]}}")
    with pytest.raises(ConfigError, match=r"universe symbol\(s\) LATE begin inside the holdout"):
        locate_holdout(universe, tmp_path)
