"""Every head a model has is a named output of its ONNX graph, and onnxruntime gives torch's numbers for each."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from neurotrade.config import ForwardReturnLabels, LSTMSpec, MLPSpec, RegimeSpec, Strategy
from neurotrade.errors import ModelError
from neurotrade.models import ReturnHeadModel, build_network
from neurotrade.store import check_onnx, export_onnx, load_bundle, preprocess_path, rebuild_model, save_bundle
from neurotrade.store._onnx import HEAD_OUTPUTS

pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")

FEATURES = ["1d_rsi_14", "1d_atr_14"]
CASES = {
    "mlp_both": (MLPSpec(hidden=[8]), "both", ["return"]),
    "lstm_regression": (LSTMSpec(lookback=6, hidden=8, layers=1), "regression", ["return"]),
    "regime": (
        RegimeSpec(lookback=6, d_model=8, heads=2, layers=1, feed_forward=16, latent_dim=3),
        "classification",
        ["return", "volatility", "latent"],
    ),
}
RTOL = 1e-5


def make_bundle(models: Path, name: str) -> None:
    """A bundle as the pipeline saves it, with weights moved off their initial values and fitted head buffers."""
    model, target, _ = CASES[name]
    spec = Strategy(name=name, model=model, labels=ForwardReturnLabels(target=target))
    torch.manual_seed(0)
    net = build_network(spec, len(FEATURES))
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    rng = np.random.default_rng(0)
    net.fit_target_scale({"ret": rng.normal(0.001, 0.02, 300), "vol": np.exp(rng.normal(-4.5, 0.3, 300))})
    if isinstance(net, ReturnHeadModel):
        net.set_class_edges(-0.008, 0.01)
    documents = {
        "spec": spec.model_dump(mode="json"),
        "features": {
            "resolved_features": FEATURES,
            "input_kind": getattr(net, "input_kind", "rows"),
            "lookback": int(getattr(net, "lookback", 1)),
        },
        "scaler": {"features": FEATURES, "mean": [50.0, 1.5], "scale": [10.0, 0.5]},
        "labels": {**spec.labels.model_dump(mode="json"), "classes": ["SELL", "HOLD", "BUY"]},
    }
    save_bundle(models, name, "1d", weights=net.state_dict(), documents=documents)


@pytest.fixture(scope="module", params=sorted(CASES))
def exported(request, tmp_path_factory):
    home = tmp_path_factory.mktemp("heads")
    make_bundle(home / "models", request.param)
    bundle = load_bundle(home / "models", request.param)
    return request.param, bundle, export_onnx(bundle, home / f"{request.param}.onnx")


def test_the_graph_names_every_head_and_the_sidecar_lists_them(exported):
    name, bundle, path = exported
    outputs = ["logits", "probabilities", *CASES[name][2]]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == outputs
    assert json.loads(preprocess_path(path).read_text())["outputs"] == outputs
    model = rebuild_model(bundle)
    assert [HEAD_OUTPUTS[head] for head in model.heads] == outputs[2:]
    # The regime-change score needs the recent latents: outside the graph, its window named in the sidecar.
    sidecar = json.loads(preprocess_path(path).read_text())
    assert ("regime_change" in sidecar) == ("latent" in outputs)
    if "latent" in outputs:
        assert sidecar["regime_change"]["window"] == bundle.documents["spec"]["model"]["change_window"]


def test_onnxruntime_gives_torchs_numbers_for_every_output(exported):
    name, bundle, path = exported
    model = rebuild_model(bundle)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(5)
    for batch in (1, 37):  # the batch axis is free, a single row included
        shape = (batch, len(FEATURES)) if model.input_kind == "rows" else (batch, model.lookback, len(FEATURES))
        x = (2.0 * rng.standard_normal(shape)).astype(np.float32)
        got = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"features": x}), strict=True))
        with torch.no_grad():
            out = model.outputs(torch.from_numpy(x))
        expected = {
            "logits": out["logits"].numpy(),
            "probabilities": torch.softmax(out["logits"].double(), dim=-1).numpy(),
            **{HEAD_OUTPUTS[head]: out[head].numpy() for head in model.heads},
        }
        for output in ["logits", "probabilities", *CASES[name][2]]:
            assert got[output].shape == expected[output].shape, output
            # float32 rounding scales with an output's size: a value near 0 (a latent coordinate, a return, a
            # logit) is compared at RTOL of the output's largest magnitude
            floor = RTOL * float(np.abs(expected[output]).max())
            np.testing.assert_allclose(got[output], expected[output], rtol=RTOL, atol=floor, err_msg=output)
        np.testing.assert_allclose(got["probabilities"], expected["probabilities"], rtol=RTOL)
    assert check_onnx(bundle, path) < 1e-6


def test_check_onnx_compares_the_heads_too(exported, monkeypatch):
    _, bundle, path = exported
    original = type(rebuild_model(bundle)).outputs

    def shifted(self, x):
        out = dict(original(self, x))
        out["ret"] = out["ret"] + 1.0  # a head that no longer matches the graph
        return out

    monkeypatch.setattr(type(rebuild_model(bundle)), "outputs", shifted)
    with pytest.raises(ModelError, match=r"gives return up to .* away from the torch model's"):
        check_onnx(bundle, path)
