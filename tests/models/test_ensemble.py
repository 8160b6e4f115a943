"""The ensemble: what each member sees, per-sample weights that follow the data, frozen members, one seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from neurotrade.config import MLPSpec, TrainingSpec, parse_strategy
from neurotrade.config._model_composite import EnsembleSpec, FuzzyModelSpec, RegimeSpec
from neurotrade.errors import ConfigError, ModelError
from neurotrade.models import MLP, build_model
from neurotrade.models._ensemble import Ensemble
from neurotrade.training import seed_everything, train_classifier


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread; on a shared machine extra threads mostly wait for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Spy(nn.Module):
    """A member that remembers the input it was given and votes from one column of its last row."""

    def __init__(self, input_kind: str, lookback: int, column: int = 0, scale: float = 1.0) -> None:
        super().__init__()
        self.input_kind, self.lookback, self.column, self.scale = input_kind, lookback, column, scale
        self.seen: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen = x
        v = (x if x.dim() == 2 else x[:, -1, :])[:, self.column]  # (B,)
        return self.scale * torch.stack([-v, torch.zeros_like(v), v], dim=1)  # (B, 3): SELL, HOLD, BUY


def test_each_member_sees_what_it_would_see_alone() -> None:
    members = [Spy("rows", 1), Spy("windows", 3), Spy("windows", 5)]
    net = Ensemble(members, n_inputs=4, n_classes=3)
    assert net.input_kind == "windows" and net.lookback == 5
    x = torch.randn(7, 5, 4)  # (B, L, F)
    net(x)
    assert torch.equal(members[0].seen, x[:, -1, :])
    assert torch.equal(members[1].seen, x[:, 2:, :])
    assert torch.equal(members[2].seen, x)
    windows = np.random.default_rng(0).normal(size=(7, 5, 4))
    assert net.member_input(windows, 1).shape == (7, 3, 4)
    assert np.shares_memory(net.member_input(windows, 1), windows)


def test_rows_members_make_a_rows_ensemble() -> None:
    seed_everything(0)
    net = build_model(EnsembleSpec(), n_inputs=5, n_classes=3)
    assert net.input_kind == "rows" and net.lookback == 1
    assert [type(m).__name__ for m in net.members] == ["MLP", "NeuroFuzzy"]
    x = torch.randn(4, 5)
    assert net(x).shape == (4, 3) and net.member_input(x, 0) is x


def test_a_windows_member_built_from_the_spec_makes_a_windows_ensemble() -> None:
    spec = EnsembleSpec(
        members=[MLPSpec(hidden=[8]), RegimeSpec(lookback=4, d_model=4, heads=1, layers=1), FuzzyModelSpec(rules=4)]
    )
    seed_everything(0)
    net = build_model(spec, n_inputs=3, n_classes=3)
    assert net.input_kind == "windows" and net.lookback == 4
    proba = net.predict_proba(torch.randn(6, 4, 3))
    assert proba.shape == (6, 3) and torch.allclose(proba.sum(dim=1), torch.ones(6, dtype=torch.float64))
    with pytest.raises(ModelError, match=r"reads windows of shape \(batch, 4, 3\), got \(6, 3\)"):
        net(torch.randn(6, 3))


def test_untrained_combiner_is_the_geometric_mean_of_the_members() -> None:
    members = [Spy("rows", 1, column=0, scale=2.0), Spy("rows", 1, column=1, scale=0.5)]
    net = Ensemble(members, n_inputs=3, n_classes=3).eval()
    x = torch.randn(8, 3)
    weights = net.member_weights(x)
    torch.testing.assert_close(weights, torch.full((8, 2), 0.5))
    log_p = torch.stack([torch.log_softmax(m(x), dim=1) for m in members], dim=1)  # (B, M, C)
    torch.testing.assert_close(net(x), log_p.mean(dim=1))


def gated_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The class follows column 0 when column 3 is positive, and column 1 when it is negative."""
    x = np.random.default_rng(seed).normal(size=(n, 4))
    signal = np.where(x[:, 3] > 0, x[:, 0], x[:, 1])
    y = np.where(signal < -0.5, 0, np.where(signal > 0.5, 2, 1)).astype(np.int64)
    return x, y


def test_the_gate_learns_which_member_to_trust_where() -> None:
    x, y = gated_data(800, seed=1)
    seed_everything(0)
    members = [Spy("rows", 1, column=0, scale=4.0), Spy("rows", 1, column=1, scale=4.0)]
    net = Ensemble(members, n_inputs=4, n_classes=3, gate_hidden=8, dropout=0.0)
    net.freeze_members()
    spec = TrainingSpec(epochs=40, learning_rate=0.02, batch_size=64, early_stopping=None, device="cpu")
    train_classifier(net, x[:600], y[:600], x[600:], y[600:], spec, seed=0)
    test = torch.as_tensor(x[600:], dtype=torch.float32)
    weights = net.member_weights(test)  # (B, M)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(len(test)))
    upper = test[:, 3] > 0.3
    lower = test[:, 3] < -0.3
    assert weights[upper, 0].mean() > 0.8 and weights[lower, 1].mean() > 0.8


def test_two_stage_training_leaves_frozen_members_untouched() -> None:
    x, y = gated_data(600, seed=2)
    seed_everything(0)
    net = build_model(
        EnsembleSpec(members=[MLPSpec(hidden=[16], dropout=0.3), FuzzyModelSpec(rules=12)]), n_inputs=4, n_classes=3
    )
    spec = TrainingSpec(epochs=5, learning_rate=0.01, device="cpu")
    train, val = slice(0, 450), slice(450, 600)
    for i, member in enumerate(net.members):  # stage 1: each member alone
        if hasattr(member, "init_from"):
            member.init_from(net.member_input(x[train], i))
        train_classifier(
            member, net.member_input(x[train], i), y[train], net.member_input(x[val], i), y[val], spec, seed=i
        )
    net.freeze_members()  # stage 2: only the combiner learns
    members_before = {k: v.clone() for k, v in net.members.state_dict().items()}
    combiner_before = [p.clone() for p in [*net.gate.parameters(), *net.meta.parameters()]]
    net.train()
    assert not net.members[0].training and net.gate.training  # the member's dropout stays off
    train_classifier(net, x[train], y[train], x[val], y[val], spec, seed=0)
    for name, tensor in net.members.state_dict().items():
        assert torch.equal(tensor, members_before[name]), name
    after = [*net.gate.parameters(), *net.meta.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(after, combiner_before, strict=True))


def test_one_seed_gives_one_ensemble() -> None:
    spec = EnsembleSpec(members=[MLPSpec(hidden=[8]), MLPSpec(hidden=[4], activation="tanh"), FuzzyModelSpec()])
    x, y = gated_data(200, seed=3)
    training = TrainingSpec(epochs=3, batch_size=32, device="cpu")

    def fit(seed: int) -> dict[str, torch.Tensor]:
        seed_everything(seed)
        net = build_model(spec, n_inputs=4, n_classes=3)
        train_classifier(net, x[:150], y[:150], x[150:], y[150:], training, seed=seed)
        return net.state_dict()

    a, b, c = fit(7), fit(7), fit(8)
    assert all(torch.equal(t, b[k]) for k, t in a.items())
    assert any(not torch.equal(t, c[k]) for k, t in a.items())


def test_members_must_be_models_that_read_rows_or_windows() -> None:
    with pytest.raises(ModelError, match="an ensemble needs at least two members, got 1"):
        Ensemble([MLP(2, 3, [4])], n_inputs=2, n_classes=3)
    with pytest.raises(ModelError, match=r"ensemble member 1 \(Linear\) has input_kind None"):
        Ensemble([MLP(2, 3, [4]), nn.Linear(2, 3)], n_inputs=2, n_classes=3)
    net = Ensemble([MLP(2, 3, [4]), MLP(2, 3, [4])], n_inputs=2, n_classes=3)
    with pytest.raises(ModelError, match=r"this ensemble reads rows of shape \(batch, 2\), got \(5, 3\)"):
        net(torch.zeros(5, 3))


def test_spec_members(small_strategy_text: str) -> None:
    def model(text: str):
        return parse_strategy(small_strategy_text.replace("model: {hidden: [16]}", text)).model

    spec = model("model: {type: ensemble, members: [{hidden: [8]}, {type: fuzzy, rules: 8}], gate_hidden: 4}")
    assert spec == EnsembleSpec(members=[MLPSpec(hidden=[8]), FuzzyModelSpec(rules=8)], gate_hidden=4)
    assert model("model: {type: ensemble}") == EnsembleSpec()
    with pytest.raises(ConfigError, match=r"model.members: member 1 is itself an ensemble; list its members"):
        model("model: {type: ensemble, members: [{type: mlp}, {type: ensemble}]}")
    with pytest.raises(ConfigError, match=r"model.members\[0\].hiden: unknown key 'hiden'; did you mean 'hidden'\?"):
        model("model: {type: ensemble, members: [{hiden: [8]}, {type: fuzzy}]}")
    with pytest.raises(ConfigError, match=r"model.members: list should have at least 2 items"):
        model("model: {type: ensemble, members: [{type: fuzzy}]}")


def test_the_pipeline_order_on_a_feature_matrix_with_positions() -> None:
    """Members and ensemble all train on the same samples, each reading its own window of the one matrix."""
    matrix, y_rows = gated_data(300, seed=4)
    spec = EnsembleSpec(
        members=[
            MLPSpec(hidden=[8]),
            RegimeSpec(lookback=5, d_model=4, heads=1, layers=1, return_weight=0, volatility_weight=0),
        ]
    )
    seed_everything(0)
    net = build_model(spec, n_inputs=4, n_classes=3)
    positions = np.arange(net.lookback - 1, 300)  # every sample has a full window for the longest member
    train, val = positions[:220], positions[220:]
    training = TrainingSpec(epochs=2, batch_size=32, device="cpu")
    for i, member in enumerate(net.members):
        train_classifier(
            member,
            matrix,
            y_rows[train],
            matrix,
            y_rows[val],
            training,
            seed=i,
            train_positions=train,
            val_positions=val,
        )
    net.freeze_members()
    frozen = {k: v.clone() for k, v in net.members.state_dict().items()}
    result = train_classifier(
        net, matrix, y_rows[train], matrix, y_rows[val], training, seed=0, train_positions=train, val_positions=val
    )
    assert len(result.history) == 2
    assert all(torch.equal(t, frozen[k]) for k, t in net.members.state_dict().items())
    windows = torch.as_tensor(np.stack([matrix[p - 4 : p + 1] for p in val]), dtype=torch.float32)  # (B, 5, F)
    assert net.predict_proba(windows).shape == (len(val), 3)
