"""Sequence models: window shapes, causality across and within windows, determinism, attention, spec messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load, save

from neurotrade.config import TrainingSpec, parse_strategy
from neurotrade.config._model_specs import CNNSpec, GRUSpec, LSTMSpec, TransformerSpec
from neurotrade.errors import ConfigError, ModelError
from neurotrade.features import windows
from neurotrade.models import build_model
from neurotrade.training import seed_everything, train_classifier

LOOKBACK, FEATURES, CLASSES = 8, 4, 3

SPECS = {
    "lstm": LSTMSpec(lookback=LOOKBACK, hidden=8, layers=2, dropout=0.2),
    "lstm_bidirectional": LSTMSpec(lookback=LOOKBACK, hidden=8, layers=1, bidirectional=True),
    "gru_bidirectional": GRUSpec(lookback=LOOKBACK, hidden=8, layers=2, bidirectional=True, dropout=0.2),
    "cnn": CNNSpec(lookback=LOOKBACK, kernel_sizes=[3, 5], filters=6, layers=2, dropout=0.2),
    "cnn_avg": CNNSpec(lookback=LOOKBACK, kernel_sizes=[1, 7], filters=4, pooling="avg"),
    "transformer": TransformerSpec(lookback=LOOKBACK, d_model=8, heads=2, layers=2, feed_forward=16),
    "transformer_cls": TransformerSpec(
        lookback=LOOKBACK, d_model=8, heads=4, layers=1, feed_forward=8, positions="sinusoidal", pooling="cls"
    ),
    "transformer_mean": TransformerSpec(lookback=LOOKBACK, d_model=6, heads=3, layers=1, pooling="mean"),
}
TYPES = list(SPECS)


def build(name: str, seed: int = 0) -> torch.nn.Module:
    seed_everything(seed)
    return build_model(SPECS[name], n_inputs=FEATURES, n_classes=CLASSES)


def matrix(rows: int = 40, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, FEATURES))


def logits(net: torch.nn.Module, x: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return net(torch.tensor(x, dtype=torch.float32))  # a copy: windows are read-only views


def settled(name: str) -> torch.nn.Module:
    """A model in eval mode whose batch-norm statistics are not the trivial initial ones."""
    net = build(name)
    net.train()
    with torch.no_grad():
        net(torch.tensor(windows(matrix(64, seed=9), LOOKBACK), dtype=torch.float32) * 3 + 1)
    return net.eval()


@pytest.mark.parametrize("name", TYPES)
def test_windows_in_logits_and_probabilities_out(name: str) -> None:
    net = build(name)
    assert net.input_kind == "windows" and net.lookback == LOOKBACK
    x = torch.randn(5, LOOKBACK, FEATURES)  # (B, L, F)
    net.train()
    assert net(x).shape == (5, CLASSES)
    proba = net.predict_proba(x)
    assert proba.dtype == torch.float64 and proba.shape == (5, CLASSES)
    assert torch.allclose(proba.sum(dim=1), torch.ones(5, dtype=torch.float64))
    assert net.training, "predict_proba must leave the mode it found"


@pytest.mark.parametrize("name", ["lstm", "cnn", "transformer"])
def test_a_window_of_the_wrong_shape_is_refused(name: str) -> None:
    net = build(name)
    with pytest.raises(ModelError, match=rf"windows of shape \(batch, {LOOKBACK}, {FEATURES}\).*got \(2, 5, 4\)"):
        net(torch.zeros(2, 5, FEATURES))
    with pytest.raises(ModelError, match=r"got \(2, 4\)"):
        net(torch.zeros(2, FEATURES))


@pytest.mark.parametrize("name", TYPES)
def test_rows_after_t_never_change_the_output_of_windows_ending_at_or_before_t(name: str) -> None:
    net = settled(name)
    m = matrix()
    before = logits(net, windows(m, LOOKBACK))  # window i ends at row i + LOOKBACK - 1
    for t in (LOOKBACK - 1, 17, len(m) - 2):
        changed = m.copy()
        changed[t + 1 :] = np.random.default_rng(t).normal(size=changed[t + 1 :].shape) * 100
        after = logits(net, windows(changed, LOOKBACK))
        ending_by_t = t - LOOKBACK + 2
        assert torch.equal(after[:ending_by_t], before[:ending_by_t])
        # The window that ends at t + 1 sees the change: the comparison above is not vacuous.
        assert not torch.equal(after[ending_by_t], before[ending_by_t])


@pytest.mark.parametrize("name", TYPES)
def test_a_windows_output_depends_on_its_own_window_only(name: str) -> None:
    net = settled(name)
    w = windows(matrix(), LOOKBACK)
    together = logits(net, w)
    alone = torch.cat([logits(net, w[i : i + 1]) for i in range(len(w))])
    order = np.random.default_rng(1).permutation(len(w))
    shuffled = logits(net, w[order])
    assert torch.allclose(alone, together, atol=1e-5, rtol=0)
    assert torch.allclose(shuffled, together[order], atol=1e-5, rtol=0)
    # ... and on all of it, the oldest row included.
    first_row_changed = w.copy()
    first_row_changed[:, 0] += 5.0
    assert not torch.allclose(logits(net, first_row_changed), together, atol=1e-4)


def fit(name: str, seed: int) -> dict[str, torch.Tensor]:
    w = windows(matrix(60, seed=2), LOOKBACK)
    y = (w[:, :, 0].mean(axis=1) > 0).astype(np.int64)
    seed_everything(seed)
    net = build_model(SPECS[name], n_inputs=FEATURES, n_classes=CLASSES)
    spec = TrainingSpec(epochs=2, batch_size=16, early_stopping=None, device="cpu")
    train_classifier(net, w[:40], y[:40], w[40:], y[40:], spec, seed=seed)
    return net.state_dict()


@pytest.mark.parametrize("name", TYPES)
def test_one_seed_gives_identical_weights_after_training(name: str) -> None:
    a, b, c = fit(name, 3), fit(name, 3), fit(name, 4)
    assert a.keys() == b.keys()
    for key, tensor in a.items():
        assert torch.equal(tensor, b[key]), key
    assert any(not torch.equal(t, c[k]) for k, t in a.items() if t.is_floating_point())


@pytest.mark.parametrize("name", ["lstm_bidirectional", "cnn", "transformer_cls"])
def test_a_pattern_spread_over_the_window_is_learned(name: str) -> None:
    # The class is the sign of feature 0 summed over the whole window: a model has to read every row.
    w = windows(matrix(400, seed=5), LOOKBACK)
    y = (w[:, :, 0].sum(axis=1) > 0).astype(np.int64)
    seed_everything(0)
    net = build_model(SPECS[name], n_inputs=FEATURES, n_classes=2)
    spec = TrainingSpec(epochs=15, batch_size=32, learning_rate=3e-3, early_stopping=None, device="cpu")
    train_classifier(net, w[:300], y[:300], w[300:], y[300:], spec, seed=0)
    accuracy = net.predict_proba(torch.as_tensor(w[300:].copy(), dtype=torch.float32)).argmax(1).numpy() == y[300:]
    assert accuracy.mean() > 0.85


@pytest.mark.parametrize("name", ["lstm_bidirectional", "gru_bidirectional"])
def test_the_backward_direction_is_read_where_it_has_seen_the_whole_window(name: str) -> None:
    net = build(name).eval()
    with torch.no_grad():
        net.head.weight[:, : net.hidden] = 0.0  # silence the forward direction: only the backward one is read
    w = windows(matrix(), LOOKBACK)
    base = logits(net, w)
    for row in (0, LOOKBACK - 1):
        changed = w.copy()
        changed[:, row] += 5.0
        assert not torch.allclose(logits(net, changed), base, atol=1e-4), f"row {row} of the window is not read"


@pytest.mark.parametrize("name", TYPES)
def test_weights_survive_a_safetensors_round_trip(name: str) -> None:
    net = settled(name)
    fresh = build(name, seed=99)
    fresh.load_state_dict(load(save(net.state_dict())), strict=True)
    x = torch.as_tensor(windows(matrix(), LOOKBACK).copy(), dtype=torch.float32)
    assert torch.equal(fresh.eval()(x), net(x))


def test_sinusoidal_positions_are_not_saved_and_learned_ones_are() -> None:
    assert "pos" not in build("transformer_cls").state_dict()
    assert "pos" in build("transformer").state_dict()


@pytest.mark.parametrize(("name", "tokens"), [("transformer", LOOKBACK), ("transformer_cls", LOOKBACK + 1)])
def test_attention_weights_are_distributions_over_the_window(name: str, tokens: int) -> None:
    net = build(name)
    net.train()
    x = torch.randn(3, LOOKBACK, FEATURES)
    spec = SPECS[name]
    weights = net.attention_weights(x)
    assert weights.shape == (spec.layers, 3, spec.heads, tokens, tokens)
    assert (weights >= 0).all()
    assert torch.allclose(weights.sum(dim=-1), torch.ones(spec.layers, 3, spec.heads, tokens), atol=1e-6)
    assert net.training
    # Not uniform: the weights come from the input, and a different window attends differently.
    assert not torch.allclose(weights, torch.full_like(weights, 1 / tokens), atol=1e-3)
    assert not torch.allclose(net.attention_weights(x * 3), weights)


def test_the_last_layers_attention_is_what_the_model_computes_with() -> None:
    net = build("transformer").eval()
    x = torch.randn(2, LOOKBACK, FEATURES)
    _, maps = net.encode(x)
    assert torch.equal(torch.stack(maps), net.attention_weights(x))


STRATEGY = "name: x\nindicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\nmodel: %s\n"


@pytest.mark.parametrize(
    ("kind", "spec_class", "lookback"),
    [("lstm", LSTMSpec, 30), ("gru", GRUSpec, 30), ("cnn", CNNSpec, 30), ("transformer", TransformerSpec, 30)],
)
def test_a_bare_type_gets_working_defaults(kind: str, spec_class: type, lookback: int) -> None:
    spec = parse_strategy(STRATEGY % f"{{type: {kind}}}").model
    assert isinstance(spec, spec_class) and spec.lookback == lookback
    net = build_model(spec, n_inputs=3, n_classes=3)
    assert net(torch.zeros(2, lookback, 3)).shape == (2, 3)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("{type: lstm, hidden: 0}", "s.yaml:4 model.hidden: must be an integer from 1 to 4096, got 0"),
        ("{type: gru, lookback: 1}", "model.lookback: must be an integer from 2 to 4096, got 1"),
        ("{type: gru, dropout: 1}", "model.dropout: must be a number >= 0 and < 1, got 1"),
        ("{type: cnn, kernel_sizes: [3, 4]}", "model.kernel_sizes: kernel sizes must be odd, so that symmetric"),
        ("{type: cnn, kernel_sizes: [3, 4]}", "got 4 (use 3 or 5)"),
        ("{type: cnn, kernel_sizes: [5, 5]}", "kernel sizes must differ from each other, got [5, 5]"),
        (
            "{type: cnn, lookback: 5, kernel_sizes: [3, 7]}",
            "model: kernel size 7 is longer than the window (lookback 5)",
        ),
        ("{type: cnn, pooling: mean}", "model.pooling: must be one of 'max', 'avg', got 'mean'"),
        ("{type: transformer, heads: 5}", "model: d_model 64 must be divisible by heads 5"),
        ("{type: transformer, heads: 5}", "use heads 4 or 8, or change d_model"),
        ("{type: transformer, positons: learned}", "model.positons: unknown key 'positons'; did you mean 'positions'?"),
        ("{type: transformer, pooling: first}", "model.pooling: must be one of 'last', 'mean', 'cls', got 'first'"),
    ],
)
def test_bad_values_are_named_with_their_fix(model: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_strategy(STRATEGY % model, source="s.yaml")
    assert message in str(error.value)
