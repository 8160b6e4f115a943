"""`neurotrade models verify | delete | export` through the real entry point."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from neurotrade.cli import _models, main  # noqa: F401  _models registers `models` on the app
from neurotrade.cli._app import app
from neurotrade.errors import StoreError
from neurotrade.store import list_bundles, save_bundle

runner = CliRunner()


@pytest.fixture
def home(tmp_path, weights, documents):
    for _ in range(2):
        save_bundle(tmp_path / "models", "trend", "1d", weights=weights, documents=documents)
    save_bundle(tmp_path / "models", "meanrev", "4h", weights={"w": torch.ones(2)}, documents={"seed": 1})
    return tmp_path


def _main(capsys, home, *args):
    try:
        main(["--home", str(home), "models", *args])
        code = 0
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr()


def test_verify_a_sound_bundle(capsys, home):
    code, out = _main(capsys, home, "verify", "trend/v1")
    assert code == 0, out.err
    assert "verified trend/1d_v1: 6 files, sizes and sha256 as in the manifest" in " ".join(out.out.split())


def test_verify_names_the_changed_file_and_exits_2(capsys, home):
    target = home / "models" / "trend" / "1d_v2" / "metrics.json"
    target.write_text(target.read_text().replace("0.61", "0.99"))
    code, out = _main(capsys, home, "verify", "trend")
    assert code == 2
    err = " ".join(out.err.split())
    assert "error: bundle models/trend/1d_v2 failed verification: metrics.json sha256 mismatch" in err
    assert "Traceback" not in out.err


def test_delete_asks_first_and_does_nothing_on_no(home):
    result = runner.invoke(app, ["--home", str(home), "models", "delete", "trend/1d_v2"], input="n\n")
    assert result.exit_code == 0  # saying no is a fine outcome; exit 1 means a bug
    assert "Delete the model bundle trend/1d_v2?" in result.output
    assert "Nothing deleted." in result.output
    assert len(list_bundles(home / "models", "trend")) == 2
    silent = runner.invoke(app, ["--home", str(home), "models", "delete", "trend/1d_v2"], input="")
    assert isinstance(silent.exception, StoreError) and "pass --yes" in str(silent.exception)
    assert len(list_bundles(home / "models", "trend")) == 2


def test_delete_on_yes_moves_latest(home):
    result = runner.invoke(app, ["--home", str(home), "models", "delete", "trend/1d_v2"], input="y\n")
    assert result.exit_code == 0, result.output
    assert "deleted trend/1d_v2" in result.output
    assert "latest now names trend/1d_v1" in result.output
    assert [(r.name, r.is_latest) for r in list_bundles(home / "models", "trend")] == [("trend/1d_v1", True)]


def test_delete_with_yes_does_not_ask_and_reports_the_last_one_gone(capsys, home):
    code, out = _main(capsys, home, "delete", "meanrev/4h_v1", "--yes")
    assert code == 0, out.err
    assert "deleted meanrev/4h_v1" in out.out
    assert "meanrev has no bundles left." in out.out
    assert [r.strategy for r in list_bundles(home / "models")] == ["trend", "trend"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("trend", "name the version to delete: 'trend' means the latest bundle, trend/1d_v2."),
        ("trend/1d_v7", "strategy 'trend' has no bundle '1d_v7'."),
        ("./x/../y", "does not name a saved bundle"),
    ],
)
def test_delete_refuses_names_that_are_not_one_bundle(capsys, home, name, message):
    code, out = _main(capsys, home, "delete", name, "--yes")
    assert code == 2
    assert message in " ".join(out.err.split())
    assert len(list_bundles(home / "models")) == 3


def test_export_writes_the_graph_and_the_scaler_and_checks_them(capsys, trained_home, tmp_path, monkeypatch):
    pytest.importorskip("onnxscript")
    pytest.importorskip("onnxruntime")
    monkeypatch.chdir(tmp_path)
    code, out = _main(capsys, trained_home, "export", "tiny_lstm", "--format", "onnx")
    assert code == 0, out.err
    text = " ".join(out.out.split())
    assert "exported tiny_lstm/1d_v1 to tiny_lstm_1d_v1.onnx" in text
    assert "scaler statistics tiny_lstm_1d_v1.preprocess.json" in text
    assert "onnxruntime probabilities within" in text
    assert json.loads((tmp_path / "tiny_lstm_1d_v1.preprocess.json").read_text())["lookback"] == 6

    code, out = _main(capsys, trained_home, "export", "tiny_mlp", "--out", str(tmp_path / "sub" / "m.onnx"))
    assert code == 0, out.err
    assert (tmp_path / "sub" / "m.onnx").is_file()
    assert (tmp_path / "sub" / "m.preprocess.json").is_file()


def test_export_refuses_other_formats_and_file_names(capsys, trained_home, tmp_path):
    code, out = _main(capsys, trained_home, "export", "tiny_mlp", "--format", "tflite")
    assert code == 2
    assert "tflite" in out.err
    code, out = _main(capsys, trained_home, "export", "tiny_mlp", "--out", str(tmp_path / "m.pt"))
    assert code == 2
    assert "must be written to a file ending in .onnx" in " ".join(out.err.split())
