"""predict_outputs: predict_proba's probabilities exactly, and every head a model has, independent of batch shape."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurotrade.config import EnsembleSpec, ForwardReturnLabels, LSTMSpec, MLPSpec, RegimeSpec, Strategy
from neurotrade.errors import ModelError
from neurotrade.models import MLP, build_network
from neurotrade.training import REPLAY_ATOL, inference_copy, predict_outputs, predict_proba

FEATURES, ROWS = 4, 40

CASES = {
    "mlp": (MLPSpec(hidden=[16], dropout=0.2), "classification"),
    "mlp_both": (MLPSpec(hidden=[16], dropout=0.2), "both"),
    "lstm_regression": (LSTMSpec(lookback=5, hidden=8, layers=1), "regression"),
    "regime": (RegimeSpec(lookback=5, d_model=8, heads=2, layers=1, feed_forward=16, latent_dim=3), "classification"),
    "ensemble": (EnsembleSpec(members=[MLPSpec(hidden=[8]), LSTMSpec(lookback=3, hidden=4)]), "classification"),
}
HEADS = {
    "mlp": (),
    "mlp_both": ("ret",),
    "lstm_regression": ("ret",),
    "regime": ("ret", "vol", "latent"),
    "ensemble": (),
}


def network(case: str) -> torch.nn.Module:
    model, target = CASES[case]
    torch.manual_seed(4)
    net = build_network(Strategy(name="p", model=model, labels=ForwardReturnLabels(target=target)), FEATURES)
    with torch.no_grad():  # move off the initial values
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    if hasattr(net, "fit_target_scale"):
        rng = np.random.default_rng(1)
        net.fit_target_scale({"ret": rng.normal(0.001, 0.02, 100), "vol": np.exp(rng.normal(-4.5, 0.3, 100))})
    if hasattr(net, "set_class_edges"):
        net.set_class_edges(-0.008, 0.01)
    return net.train()  # inference must not depend on the model's mode


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_hold_predict_probas_numbers_and_every_head(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    net = network(case)
    x = np.random.default_rng(0).standard_normal((ROWS, FEATURES))  # (N, F)
    positions = np.arange(int(getattr(net, "lookback", 1)) - 1, ROWS)
    out = predict_outputs(net, x, positions)
    assert list(out) == ["proba", *HEADS[case]] and tuple(getattr(net, "heads", ())) == HEADS[case]
    assert np.array_equal(out["proba"], predict_proba(net, x, positions))  # the same numbers, bit for bit
    for name, value in out.items():
        assert value.dtype == np.float64 and len(value) == len(positions), name
    if "latent" in out:
        assert out["latent"].shape == (len(positions), 3) and (out["vol"] > 0).all()

    one_by_one = [predict_outputs(net, x, positions[i : i + 1]) for i in range(len(positions))]
    for name, value in out.items():
        np.testing.assert_allclose(np.concatenate([o[name] for o in one_by_one]), value, rtol=0, atol=REPLAY_ATOL)
    monkeypatch.setattr("neurotrade.training._batches.EVAL_ROWS", 7)  # other chunks
    for name, value in predict_outputs(net, x, positions).items():
        np.testing.assert_allclose(value, out[name], rtol=0, atol=REPLAY_ATOL)


def test_the_heads_are_the_models_own_outputs_in_float64() -> None:
    net = network("regime")
    x = np.random.default_rng(2).standard_normal((12, 5, FEATURES))  # (S, L, F) windows
    out = predict_outputs(net, x)
    with torch.no_grad():
        expected = inference_copy(net).outputs(torch.from_numpy(x))
    np.testing.assert_array_equal(out["latent"], expected["mu"].numpy())
    np.testing.assert_array_equal(out["ret"], expected["ret"].numpy())
    np.testing.assert_array_equal(out["vol"], expected["vol"].numpy())
    assert net.training  # the model itself is left as it was


def test_no_samples_and_a_head_without_output_are_errors() -> None:
    with pytest.raises(ModelError, match="predict_outputs got no samples"):
        predict_outputs(MLP(2, 3, [4]), np.zeros((0, 2)))

    class Liar(MLP):
        heads = ("ret",)

        def outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"logits": self(x)}

    with pytest.raises(ModelError, match=r"lacks the head\(s\) \['ret'\]"):
        predict_outputs(Liar(2, 3, [4]), np.zeros((3, 2)))
