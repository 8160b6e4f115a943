"""Inference runs a float64 copy on the CPU, so probabilities do not depend on batch shape, chunking or BLAS kernel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurotrade.config import MLPSpec
from neurotrade.config._model_composite import EnsembleSpec, FuzzyModelSpec, RegimeSpec
from neurotrade.config._model_specs import CNNSpec, GRUSpec, LSTMSpec, TransformerSpec
from neurotrade.errors import ModelError
from neurotrade.models import MLP, build_model, model_types
from neurotrade.training import REPLAY_ATOL, inference_copy, predict_proba

FEATURES, ROWS = 5, 48

SPECS = {
    "mlp": MLPSpec(hidden=[32, 16], dropout=0.2),
    "lstm": LSTMSpec(lookback=6, hidden=16, layers=2, dropout=0.2),
    "gru": GRUSpec(lookback=6, hidden=8, layers=1, bidirectional=True),
    "cnn": CNNSpec(lookback=6, kernel_sizes=[3, 5], filters=6, layers=2),
    "transformer": TransformerSpec(lookback=6, d_model=16, heads=2, layers=2, feed_forward=32),
    "ensemble": EnsembleSpec(
        members=[MLPSpec(hidden=[8]), RegimeSpec(lookback=4, d_model=4, heads=1, layers=1), FuzzyModelSpec(rules=4)]
    ),
    "regime": RegimeSpec(lookback=6, d_model=8, heads=2, layers=1, feed_forward=16, latent_dim=3),
    "fuzzy": FuzzyModelSpec(rules=8),
}


def test_every_model_type_of_the_zoo_is_covered() -> None:
    assert set(model_types()) <= set(SPECS)


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_probabilities_do_not_depend_on_batch_shape(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """One sample at a time, small chunks and one batch agree to REPLAY_ATOL; float32 differs by ~1e-8 here."""
    torch.manual_seed(3)
    model = build_model(SPECS[kind], n_inputs=FEATURES, n_classes=3)
    with torch.no_grad():
        for p in model.parameters():  # move off the initial values (zero consequents, zero-output combiners)
            p.add_(torch.randn_like(p) * 0.5)
    model.train()
    x = np.random.default_rng(0).standard_normal((ROWS, FEATURES))  # (N, F), not representable in float32
    first = int(getattr(model, "lookback", 1)) - 1 if getattr(model, "input_kind", "rows") == "windows" else 0
    positions = np.arange(first, ROWS)

    batch = predict_proba(model, x, positions)  # (S, C)
    one_by_one = np.concatenate([predict_proba(model, x, positions[i : i + 1]) for i in range(len(positions))])
    np.testing.assert_allclose(one_by_one, batch, rtol=0, atol=REPLAY_ATOL)
    monkeypatch.setattr("neurotrade.training._batches.EVAL_ROWS", 7)
    np.testing.assert_allclose(predict_proba(model, x, positions), batch, rtol=0, atol=REPLAY_ATOL)

    assert batch.dtype == np.float64 and np.allclose(batch.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    # The float64 copy computes the same function as the trained float32 model (which the ONNX export serves).
    model.eval()
    windows = getattr(model, "input_kind", "rows") == "windows"
    inputs = x[positions[:, None] + np.arange(-first, 1)] if windows else x[positions]  # (S, L, F) or (S, F)
    with torch.no_grad():
        float32 = torch.softmax(model(torch.as_tensor(inputs, dtype=torch.float32)).double(), dim=-1).numpy()
    np.testing.assert_allclose(batch, float32, rtol=0, atol=1e-5)
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_predict_proba_computes_in_float64() -> None:
    """Against an MLP written out in NumPy float64: float32 anywhere in the path would be ~1e-8 off on any CPU."""
    torch.manual_seed(0)
    net = MLP(FEATURES, 3, [16, 8], activation="tanh")
    x = np.random.default_rng(1).standard_normal((20, FEATURES))
    (w1, b1), (w2, b2), (w3, b3) = [
        (layer.weight.detach().double().numpy(), layer.bias.detach().double().numpy())
        for layer in net.net
        if isinstance(layer, torch.nn.Linear)
    ]
    logits = np.tanh(np.tanh(x @ w1.T + b1) @ w2.T + b2) @ w3.T + b3  # (N, C)
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(predict_proba(net, x), expected, rtol=0, atol=1e-13)


def test_inference_copy_leaves_the_model_as_it_was() -> None:
    net = MLP(3, 2, [4], dropout=0.5).train()
    twin = inference_copy(net)
    assert net.training and not twin.training
    assert all(p.dtype == torch.float32 and p.requires_grad for p in net.parameters())
    assert all(p.dtype == torch.float64 and not p.requires_grad for p in twin.parameters())
    with torch.no_grad():
        net.net[0].weight.add_(1.0)
    assert not torch.equal(net.net[0].weight.double(), twin.net[0].weight)  # a copy, not a view


def test_no_samples_is_an_error() -> None:
    with pytest.raises(ModelError, match="predict_proba got no samples"):
        predict_proba(MLP(2, 3, [4]), np.zeros((0, 2)))
