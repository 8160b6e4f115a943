"""MLflow tracking: runs logged to a real MLflow store and read back through MLflow's own client.

Every number logged is compared with the run's metrics.json, every hash with the bundle on disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

import neurotrade
from neurotrade import tracking
from neurotrade.cli import main
from neurotrade.config import parse_strategy
from neurotrade.errors import NeurotradeError
from neurotrade.pipeline import run
from neurotrade.store import configuration_hash

SPEC = """\
name: tracked
data: {source: synthetic, bars: 900}
indicators: {rsi_14: {}}
nn_inputs: {indicators: [rsi_14]}
model: {hidden: [8]}
split: {folds: 2}
training: {epochs: 2, learning_rate: 0.003}
"""
TOLERANCE = 1e-12  # MLflow keeps a metric as a double: what is read back is what was written


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory: pytest.TempPathFactory):
    """One small run logged to the workspace's default store (``track=True``)."""
    home = tmp_path_factory.mktemp("home")
    result = run(parse_strategy(SPEC), home=home, progress=False, track=True)
    return home, result


def only_run(uri: str, experiment: str):
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} at {uri}"
    runs = client.search_runs([found.experiment_id])
    assert len(runs) == 1
    return client, runs[0]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def metric_history(client: MlflowClient, run_id: str, key: str) -> dict[int, float]:
    return {m.step: m.value for m in client.get_metric_history(run_id, key)}


def test_a_run_logs_its_spec_metrics_artifacts_and_bundle(tracked_run) -> None:
    home, result = tracked_run
    uri = f"sqlite:///{(home / 'mlflow.db').resolve()}"
    client, logged = only_run(uri, "tracked")  # the experiment is the strategy's name
    assert result.tracked == logged.info.run_id and logged.info.status == "FINISHED"
    params = logged.data.params
    assert params["training.learning_rate"] == "0.003" and params["model.hidden"] == "[8]"
    assert params["split.folds"] == "2" and params["data.source"] == "synthetic" and params["name"] == "tracked"
    assert "tracking" not in {key.split(".")[0] for key in params}

    saved = json.loads((result.run_dir / "metrics.json").read_text())
    aggregate, metrics = saved["aggregate"], logged.data.metrics
    baselines = aggregate["baselines"]
    for key, expected in [
        ("strategy/total_return", aggregate["strategy"]["total_return"]),
        ("strategy/deflated_sharpe_excess", aggregate["strategy"]["deflated_sharpe_excess"]),
        ("strategy/trials", aggregate["strategy"]["trials"]),
        ("buy_and_hold/sharpe", aggregate["buy_and_hold"]["sharpe"]),
        ("classification/log_loss", aggregate["classification"]["log_loss"]),
        ("classification/per_class/HOLD/recall", aggregate["classification"]["per_class"]["HOLD"]["recall"]),
        ("baselines/logistic/classification/accuracy", baselines["logistic"]["classification"]["accuracy"]),
        ("baselines/lorentzian_knn/strategy/final_equity", baselines["lorentzian_knn"]["strategy"]["final_equity"]),
    ]:
        assert metrics[key] == pytest.approx(expected, rel=TOLERANCE, abs=TOLERANCE), key
    skipped = [k for k, v in aggregate["strategy"].items() if v is None or isinstance(v, str)]
    assert skipped and not any(f"strategy/{k}" in metrics for k in skipped)  # None and text are not metrics
    for key, pick in [
        ("fold/strategy/total_return", lambda f: f["strategy"]["total_return"]),
        ("fold/buy_and_hold/sharpe", lambda f: f["buy_and_hold"]["sharpe"]),
        ("fold/classification/test/accuracy", lambda f: f["classification"]["test"]["accuracy"]),
        ("fold/training/best_epoch", lambda f: f["training"]["best_epoch"]),
    ]:
        history = metric_history(client, logged.info.run_id, key)
        assert history == pytest.approx({f["fold"]: pick(f) for f in saved["folds"]}, rel=TOLERANCE), key
        assert sorted(history) == [1, 2]

    assert {a.path for a in client.list_artifacts(logged.info.run_id)} == {"report.html", "metrics.json"}
    artifacts = Path(mlflow.artifacts.download_artifacts(run_id=logged.info.run_id, tracking_uri=uri))
    assert (artifacts / "metrics.json").read_bytes() == (result.run_dir / "metrics.json").read_bytes()
    assert str(home.resolve() / "mlruns") in logged.info.artifact_uri  # in the workspace, not the current folder

    tags, bundle = logged.data.tags, result.bundle.path
    assert tags["neurotrade.bundle"] == result.bundle.name == tags["mlflow.runName"] == "tracked/1d_v1"
    assert tags["neurotrade.manifest_sha256"] == sha256_of(bundle / "manifest.json")
    assert tags["neurotrade.weights_sha256"] == sha256_of(bundle / "weights.safetensors")
    assert tags["neurotrade.dataset"] == json.loads((bundle / "data.json").read_text())["sha256"]
    assert tags["neurotrade.strategy"] == "tracked" and tags["neurotrade.version"] == neurotrade.__version__


def test_a_trial_is_nested_under_its_study_run(tracked_run) -> None:
    home, result = tracked_run
    parent = tracking.start_study_run(None, home, "lr-study", {"trials": 4, "space": {"training.learning_rate": "x"}})
    child = tracking.log_run(result, None, home=home, parent_run_id=parent, tags={"trial": "3"})
    tracking.end_study_run(None, home, parent, metrics={"best/excess_sharpe": 0.25})
    client = MlflowClient(tracking_uri=tracking.tracking_uri(None, home))
    study = client.get_run(parent)
    assert study.info.status == "FINISHED" and study.data.tags["mlflow.runName"] == "lr-study"
    assert study.data.params["space.training.learning_rate"] == "x" and study.data.metrics["best/excess_sharpe"] == 0.25
    trial = client.get_run(child)
    assert trial.info.experiment_id == study.info.experiment_id  # in the study's experiment, so the UI nests it
    assert trial.data.tags["mlflow.parentRunId"] == parent and trial.data.tags["trial"] == "3"
    nested = client.search_runs([study.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'")
    assert [r.info.run_id for r in nested] == [child]
    assert {r.info.run_id for r in client.search_runs([study.info.experiment_id])} == {parent, child}


def test_the_spec_names_the_store_and_the_experiment(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "runs.db"
    text = SPEC.replace("name: tracked", f"name: speced\ndescription: {'d' * 7000}")
    text += f"tracking: {{mlflow: 'sqlite:///{db}', experiment: desk}}\n"
    result = run(parse_strategy(text), home=tmp_path / "home", progress=False)
    _, logged = only_run(f"sqlite:///{db}", "desk")
    assert result.tracked == logged.info.run_id
    assert not (tmp_path / "home" / "mlflow.db").exists()
    assert str(db.parent / "mlruns") in logged.info.artifact_uri  # beside the database it was given
    description = logged.data.params["description"]  # 7000 characters: over MLflow's 6000
    assert len(description) == 6000 and description.endswith("... [truncated from 7000 chars]")
    assert "tracking" in json.loads((result.bundle.path / "spec.json").read_text())


def test_a_universe_logs_each_symbol(tmp_path: Path) -> None:
    text = SPEC.replace("name: tracked", "name: uni").replace("bars: 900}", "symbols: 2, bars: 900}")
    result = run(parse_strategy(text), home=tmp_path, progress=False, track=True)
    _, logged = only_run(tracking.tracking_uri(None, tmp_path), "uni")
    saved = json.loads((result.run_dir / "metrics.json").read_text())
    assert list(saved["symbols"]) == ["S001", "S002"] and "universe" in saved["aggregate"]
    for symbol, numbers in saved["symbols"].items():
        for key in ("total_return", "final_equity"):
            assert logged.data.metrics[f"symbol/{symbol}/buy_and_hold/{key}"] == pytest.approx(
                numbers["buy_and_hold"][key], rel=TOLERANCE
            )
        accuracy = numbers["classification"]["accuracy"]
        assert logged.data.metrics[f"symbol/{symbol}/classification/accuracy"] == pytest.approx(accuracy)
    exposure = saved["aggregate"]["universe"]["exposure"]["buy_and_hold_mean_gross"]
    assert logged.data.metrics["universe/exposure/buy_and_hold_mean_gross"] == pytest.approx(exposure)


def test_a_spec_without_tracking_is_what_it_was() -> None:
    plain = parse_strategy(SPEC)
    tracked = parse_strategy(SPEC + "tracking: {mlflow: 'sqlite:///x.db'}\n")
    assert "tracking" not in plain.model_dump(mode="json")
    assert tracked.model_dump(mode="json")["tracking"] == {"mlflow": "sqlite:///x.db", "experiment": None}
    assert configuration_hash(plain.model_dump(mode="json")) == configuration_hash(tracked.model_dump(mode="json"))
    home = Path("/tmp/ws")
    assert tracking.requested_uri(None, plain, home) is None
    assert tracking.requested_uri(None, parse_strategy(SPEC + "tracking: {}\n"), home) == "sqlite:////tmp/ws/mlflow.db"
    assert tracking.requested_uri(True, tracked, home) == "sqlite:///x.db"  # --track goes where the spec says
    assert tracking.requested_uri("http://h:5000", tracked, home) == "http://h:5000"


def test_a_missing_mlflow_names_the_extra_before_the_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow now raises ImportError
    with pytest.raises(NeurotradeError, match=r"pip install 'neurotrade\[track\]'"):
        run(parse_strategy(SPEC), home=tmp_path, progress=False, track=True)
    assert not (tmp_path / "runs").exists()  # said before anything ran
    run(parse_strategy(SPEC), home=tmp_path, progress=False)  # untracked runs need no mlflow


def test_a_tracking_failure_keeps_the_run_and_says_so(tmp_path: Path, monkeypatch, caplog, capsys) -> None:
    def unreachable(*args, **kwargs):
        raise NeurotradeError("MLflow at http://nowhere failed: connection refused")

    monkeypatch.setattr("neurotrade.tracking._mlflow.log_run", unreachable)
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC)
    with caplog.at_level(logging.WARNING, logger="neurotrade.tracking"):
        result = run(spec, home=tmp_path, progress=False, track="http://nowhere")
    assert result.tracked is None and (result.run_dir / "metrics.json").is_file()
    assert "is saved in" in caplog.text and "connection refused" in caplog.text
    with pytest.raises(SystemExit) as exit_code:
        main(["--home", str(tmp_path), "run", str(spec), "--track-uri", "http://me:secret@nowhere"])
    out = capsys.readouterr().out
    assert exit_code.value.code in (0, None)
    assert "tracked  not logged to MLflow at http://me:***@nowhere" in out and "secret" not in out


def test_the_command_line_prints_the_mlflow_run(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC)
    with pytest.raises(SystemExit) as exit_code:
        main(["--home", str(tmp_path), "run", str(spec), "--track"])
    out = capsys.readouterr().out
    _, logged = only_run(tracking.tracking_uri(None, tmp_path), "tracked")
    assert exit_code.value.code in (0, None)
    assert f"tracked  mlflow run {logged.info.run_id} in sqlite:///" in out
    with pytest.raises(SystemExit) as exit_code:
        main(["--home", str(tmp_path), "run", str(spec), "--no-track", "--track-uri", "sqlite:///x.db"])
    assert exit_code.value.code == 2 and "contradict" in capsys.readouterr().err


def test_parallel_processes_log_into_one_fresh_store(tmp_path: Path) -> None:
    """As trials on Ray workers do: without the store's lock, MLflow's table creation races and fails."""
    script = (
        "import sys; from pathlib import Path; from neurotrade import tracking\n"
        "for k in range(3):\n"
        "    run = tracking.start_study_run(None, Path(sys.argv[1]), 'parallel', {'k': k, 'who': sys.argv[2]})\n"
        "    tracking.end_study_run(None, Path(sys.argv[1]), run, metrics={'k': k})\n"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(i)], stderr=subprocess.PIPE, text=True)
        for i in range(3)
    ]
    errors = [worker.communicate(timeout=120)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], errors
    client = MlflowClient(tracking_uri=tracking.tracking_uri(None, tmp_path))
    runs = client.search_runs([client.get_experiment_by_name("parallel").experiment_id])
    assert len(runs) == 9 and {r.info.status for r in runs} == {"FINISHED"}
