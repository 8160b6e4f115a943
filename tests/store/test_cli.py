from __future__ import annotations

import hashlib

import pytest
import torch
from typer.testing import CliRunner

from neurotrade.cli import _models, main  # _models registers `models` on the app
from neurotrade.cli._app import app
from neurotrade.store import save_bundle

runner = CliRunner()


@pytest.fixture
def home(tmp_path, weights, documents):
    models = tmp_path / "models"
    save_bundle(models, "trend", "1d", weights=weights, documents=documents)
    better = {**documents, "metrics": {"test": {"accuracy": 0.66}, "train": {"accuracy": 0.9}}}
    save_bundle(models, "trend", "1d", weights=weights, documents=better)
    save_bundle(models, "meanrev", "4h", weights={"w": torch.ones(2)}, documents={"seed": 1})
    return tmp_path


def _invoke(home, *args):
    result = runner.invoke(app, ["--home", str(home), "models", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _main(capsys, home, *args):
    """Run the real entry point; returns (exit code, captured output), 0 when it returns normally."""
    try:
        main(["--home", str(home), "models", *args])
        code = 0
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr()


def test_list_shows_every_bundle_with_latest(home):
    out = _invoke(home, "list")
    rows = {line.split()[0]: line.split() for line in out.splitlines() if "/" in line and "_v" in line}
    assert set(rows) == {"meanrev/4h_v1", "trend/1d_v1", "trend/1d_v2"}
    assert rows["trend/1d_v1"][-1] != "*"
    assert rows["trend/1d_v2"][-1] == "*"
    assert rows["meanrev/4h_v1"][-1] == "*"


def test_list_reads_metrics_only_at_the_paths_a_run_writes(home):
    # These bundles' metrics ({"test": {"accuracy": ...}, "backtest": {"sharpe": ...}}) are not laid out as
    # `neurotrade run` writes them. The list no longer guesses by key name (that guess showed buy-and-hold's Sharpe
    # as the model's): no metric columns rather than numbers of unknown meaning.
    out = _invoke(home, "list")
    assert "Accuracy" not in out
    assert "Sharpe" not in out
    assert "0.61" not in out
    assert "1.25" not in out


def test_list_one_strategy_without_metrics_has_no_metric_columns(home):
    out = _invoke(home, "list", "meanrev")
    assert "meanrev/4h_v1" in out
    assert "trend" not in out
    assert "Accuracy" not in out


def test_list_in_an_empty_workspace(tmp_path):
    out = _invoke(tmp_path, "list")
    assert f"No model bundles in {tmp_path / 'models'} yet" in out
    assert "train a strategy to save one" in out


def test_list_warns_about_a_tampered_metrics_document(home, capsys):
    metrics = home / "models" / "trend" / "1d_v1" / "metrics.json"
    metrics.write_text(metrics.read_text().replace("0.61", "0.99"))
    code, captured = _main(capsys, home, "list")
    assert code == 0
    err = " ".join(captured.err.split())
    assert "warning: bundle models/trend/1d_v1 failed verification: metrics.json sha256 mismatch" in err
    assert "0.99" not in captured.out
    assert "trend/1d_v1" in captured.out


def test_show_verifies_and_renders_the_bundle(home, documents):
    out = _invoke(home, "show", "trend/1d_v1")
    path = home / "models" / "trend" / "1d_v1"
    assert "trend/1d_v1" in out
    assert "(latest)" not in out
    assert "6 files, sizes and sha256 as in the manifest" in out
    sha = hashlib.sha256((path / "weights.safetensors").read_bytes()).hexdigest()
    assert sha[:12] in out
    assert "Weights: 4 tensors, 73 parameters" in out
    assert "encoder.weight" in out
    assert "8 x 5" in out
    assert "resolved_features (3)" in out
    for feature in documents["resolved_features"]:
        assert feature in out
    assert "test.accuracy" in out
    assert "backtest.sharpe" in out
    assert "hidden: [16, 8]" in out
    assert "seed: 7" in out


def test_show_latest_by_strategy_name(home):
    out = _invoke(home, "show", "trend")
    assert "trend/1d_v2 (latest)" in out


def test_show_a_tampered_bundle_exits_2_with_the_reason(home, capsys):
    weights_file = home / "models" / "trend" / "1d_v2" / "weights.safetensors"
    data = bytearray(weights_file.read_bytes())
    data[-1] ^= 0xFF
    weights_file.write_bytes(bytes(data))
    code, captured = _main(capsys, home, "show", "trend")
    assert code == 2
    err = " ".join(captured.err.split())
    assert "error: bundle models/trend/1d_v2 failed verification: weights.safetensors sha256 mismatch" in err
    assert "Retrain or restore it from a backup." in err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_show_an_unknown_strategy_exits_2_with_a_suggestion(home, capsys):
    code, captured = _main(capsys, home, "show", "trnd")
    assert code == 2
    err = " ".join(captured.err.split())
    assert "no model bundles for strategy 'trnd'" in err
    assert "Did you mean 'trend'?" in err


def test_show_an_unknown_version_exits_2(home, capsys):
    code, captured = _main(capsys, home, "show", "trend/1d_v7")
    assert code == 2
    assert "Bundles: 1d_v1, 1d_v2 (latest)" in " ".join(captured.err.split())


def test_list_of_real_runs_shows_each_runs_own_out_of_sample_numbers(trained_home):
    import json

    out = _invoke(trained_home, "list")
    rows = {line.split()[0]: line.split() for line in out.splitlines() if "/" in line and "_v" in line}
    values = {}
    for name in ("tiny_lstm", "tiny_mlp"):
        aggregate = json.loads((trained_home / "models" / name / "1d_v1" / "metrics.json").read_text())["aggregate"]
        values[name] = [
            aggregate["classification"]["accuracy"],
            aggregate["strategy"]["total_return"],
            aggregate["strategy"]["sharpe"],  # None when the model never traded
            aggregate["buy_and_hold"]["sharpe"],
        ]
    shown = [i for i in range(4) if any(v[i] is not None for v in values.values())]
    assert shown[:2] == [0, 1]
    for name, v in values.items():
        expected = [_models.LIST_COLUMNS[i].render(v[i]) for i in shown]
        assert rows[f"{name}/1d_v1"][-len(shown) :] == expected
    assert f"{values['tiny_mlp'][1]:+.1%}" in rows["tiny_mlp/1d_v1"]
