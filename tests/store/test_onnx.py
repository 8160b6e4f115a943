from __future__ import annotations

import json
import logging
import re

import numpy as np
import pytest
import torch

from neurotrade.cli import main
from neurotrade.errors import ModelError, StoreError
from neurotrade.store import (
    check_onnx,
    export_onnx,
    load_bundle,
    preprocess_path,
    rebuild_model,
    save_bundle,
)

pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module", params=["tiny_mlp", "tiny_lstm"])
def exported(request, trained_home, tmp_path_factory):
    bundle = load_bundle(trained_home / "models", request.param)
    path = export_onnx(bundle, tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx")
    return bundle, path


def test_rebuilt_model_reproduces_the_saved_weights_and_input_contract(trained_home):
    mlp = rebuild_model(load_bundle(trained_home / "models", "tiny_mlp"))
    lstm = rebuild_model(load_bundle(trained_home / "models", "tiny_lstm"))
    assert not mlp.training and not lstm.training
    assert getattr(mlp, "input_kind", "rows") == "rows"
    assert (lstm.input_kind, lstm.lookback) == ("windows", 6)
    saved = load_bundle(trained_home / "models", "tiny_lstm").weights
    assert set(lstm.state_dict()) == set(saved)
    for key, tensor in lstm.state_dict().items():
        assert torch.equal(tensor, saved[key]), key
    assert mlp(torch.zeros(3, 2)).shape == (3, 3)
    assert lstm(torch.zeros(3, 6, 2)).shape == (3, 3)


def test_onnxruntime_gives_the_torch_probabilities(exported):
    bundle, path = exported
    model = rebuild_model(bundle)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["features"]
    assert [o.name for o in session.get_outputs()] == ["logits", "probabilities"]
    rng = np.random.default_rng(5)
    lookback = getattr(model, "lookback", 1)
    for batch in (1, 37):  # the batch axis is free, a single row included
        shape = (batch, 2) if lookback == 1 else (batch, lookback, 2)
        x = (3.0 * rng.standard_normal(shape)).astype(np.float32)
        logits, probs = session.run(None, {"features": x})
        expected = model.predict_proba(torch.from_numpy(x)).numpy()  # float64 softmax of torch's logits
        softmax = np.exp(logits.astype(np.float64))
        softmax /= softmax.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(softmax, expected, rtol=1e-5)
        np.testing.assert_allclose(probs, expected, rtol=1e-5)
        with torch.no_grad():
            np.testing.assert_allclose(logits, model(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-6)
    assert check_onnx(bundle, path) < 1e-6


def test_scaler_statistics_are_written_beside_the_graph(exported):
    bundle, path = exported
    sidecar = json.loads(preprocess_path(path).read_text())
    scaler = bundle.documents["scaler"]
    assert sidecar["bundle"] == bundle.ref.name
    assert sidecar["features"] == bundle.documents["features"]["resolved_features"] == ["1d_rsi_14", "1d_atr_14"]
    assert (sidecar["mean"], sidecar["scale"]) == (scaler["mean"], scaler["scale"])
    assert sidecar["classes"] == ["SELL", "HOLD", "BUY"]
    assert sidecar["input_kind"] == bundle.documents["features"]["input_kind"]
    assert sidecar["lookback"] == bundle.documents["features"]["lookback"]
    assert sidecar["weights_sha256"] == bundle.manifest["files"]["weights.safetensors"]["sha256"]
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, preprocess_path(path).name])


def test_export_says_nothing_on_stdout(trained_home, tmp_path, capfd):
    export_onnx(load_bundle(trained_home / "models", "tiny_mlp"), tmp_path / "quiet.onnx")
    out, err = capfd.readouterr()
    assert out == ""
    assert "torchvision" not in err


_CHATTY = ("onnxscript", "onnx_ir", "torch.onnx")


def test_export_keeps_the_exporters_info_logs_quiet(trained_home, tmp_path, caplog):
    # onnxscript logs every optimisation pass at INFO ("No unused functions to remove"): a user whose logging shows
    # INFO (the CLI without --verbose) must not see them.
    levels = {name: logging.getLogger(name).level for name in _CHATTY}
    with caplog.at_level(logging.INFO):
        export_onnx(load_bundle(trained_home / "models", "tiny_mlp"), tmp_path / "quiet.onnx")
    chatty = [r for r in caplog.records if r.name.startswith(_CHATTY)]
    assert chatty == []
    assert any(r.name == "neurotrade.store._onnx" and r.message.startswith("exported") for r in caplog.records)
    assert {name: logging.getLogger(name).level for name in _CHATTY} == levels


def test_export_leaves_the_exporters_logs_alone_at_debug(trained_home, tmp_path, caplog):
    with caplog.at_level(logging.DEBUG):
        export_onnx(load_bundle(trained_home / "models", "tiny_mlp"), tmp_path / "verbose.onnx")
    assert any(r.name.startswith("onnxscript") and r.levelno == logging.INFO for r in caplog.records)


def _main(capsys, *args):
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr()


@pytest.fixture
def restore_logging():
    # The CLI configures the root logger (level, handler) for the process; put it back for the next tests.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_models_export_prints_no_exporter_logs_without_verbose(trained_home, tmp_path, capsys, restore_logging):
    home = ["--home", str(trained_home)]
    code, out = _main(capsys, *home, "models", "export", "tiny_mlp", "--out", str(tmp_path / "a.onnx"))
    assert code == 0, out.err
    assert "exported tiny_mlp/1d_v1 to" in out.out
    for line in ("No unused functions to remove", "PassManager", "constant folding"):
        assert line not in out.err
    # --verbose shows them: the test would see them if they were printed.
    code, out = _main(capsys, *home, "--verbose", "models", "export", "tiny_mlp", "--out", str(tmp_path / "b.onnx"))
    assert code == 0, out.err
    assert "No unused functions to remove" in out.err


def test_a_changed_export_fails_the_check(trained_home, tmp_path):
    mlp = load_bundle(trained_home / "models", "tiny_mlp")
    lstm = load_bundle(trained_home / "models", "tiny_lstm")
    path = export_onnx(mlp, tmp_path / "mlp.onnx")
    # Same shapes, other weights: the check must notice.
    weights = {k: v + 0.5 for k, v in mlp.weights.items()}
    other = save_bundle(tmp_path / "models", "other", "1d", weights=weights, documents=mlp.documents)
    with pytest.raises(ModelError, match=r"gives probabilities up to .* away from the torch model's \(rtol 1e-05\)"):
        check_onnx(load_bundle(tmp_path / "models", other.name), path)
    with pytest.raises(StoreError, match="onnxruntime cannot run"):
        check_onnx(lstm, tmp_path / "missing.onnx")


def test_export_needs_an_onnx_file_name(trained_home, tmp_path):
    with pytest.raises(StoreError, match=r"must be written to a file ending in \.onnx, got '.*model\.bin'"):
        export_onnx(load_bundle(trained_home / "models", "tiny_mlp"), tmp_path / "model.bin")
    assert list(tmp_path.iterdir()) == []


def test_weights_that_do_not_fit_the_spec_are_refused(trained_home, tmp_path):
    bundle = load_bundle(trained_home / "models", "tiny_mlp")
    models = tmp_path / "models"
    dropped = dict(list(bundle.weights.items())[1:])
    save_bundle(models, "dropped", "1d", weights=dropped, documents=bundle.documents)
    with pytest.raises(StoreError, match=r"dropped/1d_v1: the weights do not fit the 'mlp' model .*Missing key"):
        rebuild_model(load_bundle(models, "dropped"))
    lookback = {**bundle.documents, "features": {**bundle.documents["features"], "lookback": 4}}
    save_bundle(models, "lookback", "1d", weights=bundle.weights, documents=lookback)
    with pytest.raises(StoreError, match=r"features.json says lookback=4 but the model its spec builds has 1"):
        rebuild_model(load_bundle(models, "lookback"))


def test_bundles_without_the_documents_to_rebuild_are_refused(tmp_path, weights, documents):
    save_bundle(tmp_path / "models", "bare", "1d", weights=weights, documents=documents)
    with pytest.raises(StoreError, match=r"bare/1d_v1 has no features\.json document; only bundles saved by"):
        rebuild_model(load_bundle(tmp_path / "models", "bare"))


def test_a_spec_this_version_cannot_read_is_a_store_error(trained_home, tmp_path):
    bundle = load_bundle(trained_home / "models", "tiny_mlp")
    spec = {**bundle.documents["spec"], "model": {"type": "mlp", "hiddn": [8]}}
    save_bundle(tmp_path / "models", "old", "1d", weights=bundle.weights, documents={**bundle.documents, "spec": spec})
    with pytest.raises(StoreError) as info:
        rebuild_model(load_bundle(tmp_path / "models", "old"))
    message = str(info.value)
    assert "\n" not in message
    assert re.match(
        r"bundle old/1d_v1: models/old/1d_v1/spec\.json:\d+ model\.hiddn: unknown key 'hiddn'; did you mean "
        r"'hidden'\? This neurotrade \(.+\) cannot read the spec the bundle was saved with",
        message,
    ), message
    assert message.endswith(
        "retrain the strategy to save a bundle it reads, or load this one with the version that saved it."
    )


def test_a_model_torch_cannot_export_is_a_model_error(trained_home, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise torch.onnx.OnnxExporterError("Failed to decompose the FX graph.\nNext steps: ...")

    monkeypatch.setattr(torch.onnx, "export", refuse)
    bundle = load_bundle(trained_home / "models", "tiny_mlp")
    with pytest.raises(
        ModelError, match=r"cannot export the model of tiny_mlp/1d_v1 to ONNX: Failed to decompose the FX graph\. Serve"
    ):
        export_onnx(bundle, tmp_path / "out" / "m.onnx")
    assert list((tmp_path / "out").iterdir()) == []
