"""OneRowForward: the engine's per-bar model call gives, bit for bit, what calling the float64 copy as a module does."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurotrade.config import ForwardReturnLabels, LSTMSpec, MLPSpec, Strategy
from neurotrade.decision._forward import OneRowForward
from neurotrade.models import MLP, build_network
from neurotrade.training import inference_copy

FEATURES = 7


def _moved(net: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(3)
    with torch.no_grad():  # off the initial values, so every unit is active somewhere
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    return net


def _module_outputs(net: torch.nn.Module, x: np.ndarray, heads: tuple[str, ...]) -> tuple[np.ndarray, dict]:
    """The previous engine path: the module called on a fresh tensor under no_grad."""
    with torch.no_grad():
        inputs = torch.as_tensor(x, dtype=torch.float64)
        out = net.outputs(inputs) if heads else {"logits": net(inputs)}
    return torch.softmax(out["logits"], dim=-1)[0].numpy(), {h: out[h][0].numpy() for h in heads}


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
@pytest.mark.parametrize("hidden", [[16], [64, 32], []])
def test_an_mlp_runs_as_its_own_ops_bit_for_bit(activation: str, hidden: list[int]) -> None:
    net = inference_copy(_moved(MLP(FEATURES, 3, hidden, activation, dropout=0.3)).train())
    forward = OneRowForward(net, FEATURES, lookback=1, windows=False, heads=())
    assert forward.fast
    rows = np.random.default_rng(5).standard_normal((300, FEATURES)) * 3.0  # (N, F): well into every saturation
    probas = []
    for row in rows:
        forward.inputs[0] = row
        proba, heads = forward()
        expected, _ = _module_outputs(net, row[None, :], ())
        assert heads == {} and proba.dtype == np.float64
        np.testing.assert_array_equal(proba, expected)  # equal bits, not merely close
        probas.append(proba)
    # Each call returns its own array: earlier probabilities are not overwritten by later bars.
    np.testing.assert_array_equal(np.stack(probas), np.stack([_module_outputs(net, r[None], ())[0] for r in rows]))


@pytest.mark.parametrize("target", ["classification", "both"])
def test_other_models_are_called_as_modules(target: str) -> None:
    strategy = Strategy(name="f", model=LSTMSpec(lookback=4, hidden=6), labels=ForwardReturnLabels(target=target))
    net = inference_copy(_moved(build_network(strategy, FEATURES)))
    heads = tuple(getattr(net, "heads", ()))
    forward = OneRowForward(net, FEATURES, lookback=4, windows=True, heads=heads)
    assert not forward.fast and heads == (("ret",) if target == "both" else ())
    assert forward.inputs.shape == (1, 4, FEATURES)
    seen = []
    net.register_forward_pre_hook(lambda _, args: seen.append(tuple(args[0].shape)))
    window = np.random.default_rng(2).standard_normal((1, 4, FEATURES))
    forward.inputs[...] = window
    proba, out = forward()
    assert seen == ([] if heads else [(1, 4, FEATURES)])  # a plain model goes through Module.__call__ (its hooks)
    expected, expected_heads = _module_outputs(net, window, heads)
    np.testing.assert_array_equal(proba, expected)
    assert list(out) == list(heads)
    for name in heads:
        np.testing.assert_array_equal(out[name], expected_heads[name])


def test_an_mlp_with_heads_or_in_training_mode_is_not_taken_apart() -> None:
    spec = Strategy(name="f", model=MLPSpec(hidden=[8]), labels=ForwardReturnLabels(target="both"))
    with_heads = inference_copy(build_network(spec, FEATURES))
    assert not OneRowForward(with_heads, FEATURES, 1, False, tuple(with_heads.heads)).fast
    training = MLP(FEATURES, 3, [8]).double().train()  # not an inference copy: dropout would act
    assert not OneRowForward(training, FEATURES, 1, False, ()).fast
