"""Return heads: build_network picks the head from labels.target; both and regression keep the logits contract."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from neurotrade.config import (
    EnsembleSpec,
    ForwardReturnLabels,
    FuzzyModelSpec,
    LSTMSpec,
    MLPSpec,
    RegimeSpec,
    Strategy,
    TrainingSpec,
)
from neurotrade.errors import ModelError
from neurotrade.models import MLP, NeuroFuzzy, RecurrentNet, ReturnHeadModel, build_network
from neurotrade.training import predict_outputs, train_classifier


def strategy(model, target: str = "classification") -> Strategy:
    return Strategy(name="heads", model=model, labels=ForwardReturnLabels(target=target, huber_delta=0.5))


def returns(n: int = 200, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.001, 0.02, n)


def normal_classes(ret: float, std: float, lower: float, upper: float) -> list[float]:
    """P(N(ret, std^2) <= lower), P(lower < . <= upper), P(. > upper), in float64 by math.erf."""

    def cdf(v: float) -> float:
        return 0.5 * (1.0 + math.erf(v / math.sqrt(2.0)))

    below_lower, below_upper = cdf((lower - ret) / std), cdf((upper - ret) / std)
    return [below_lower, below_upper - below_lower, 1.0 - below_upper]


def test_build_network_picks_the_head_from_the_target() -> None:
    plain = build_network(strategy(MLPSpec(hidden=[8])), 5)
    assert type(plain) is MLP and getattr(plain, "heads", ()) == ()
    default_labels = build_network(Strategy(name="z", model=MLPSpec(hidden=[8])), 5)  # zigzag: no target at all
    assert type(default_labels) is MLP
    both = build_network(strategy(MLPSpec(hidden=[8]), "both"), 5)
    assert isinstance(both, ReturnHeadModel) and both.body.net[-1].out_features == 4
    assert both.huber_delta == 0.5 and both.heads == ("ret",)
    regression = build_network(strategy(LSTMSpec(lookback=7, hidden=8, layers=1), "regression"), 5)
    assert isinstance(regression.body, RecurrentNet) and regression.body.head.out_features == 1
    assert (regression.input_kind, regression.lookback) == ("windows", 7)
    assert (both.input_kind, both.lookback) == ("rows", 1)
    fuzzy = build_network(strategy(FuzzyModelSpec(rules=4), "regression"), 3)
    assert isinstance(fuzzy.body, NeuroFuzzy) and fuzzy.body.consequents.shape[1] == 1


@pytest.mark.parametrize("target", ["both", "regression"])
@pytest.mark.parametrize(
    ("model", "why"),
    [
        (RegimeSpec(lookback=4, d_model=4, heads=1, layers=1), "has its own return head"),
        (EnsembleSpec(members=[MLPSpec(hidden=[4]), MLPSpec(hidden=[8])]), "has no return head"),
    ],
)
def test_regime_and_ensemble_refuse_a_return_head(model, why: str, target: str) -> None:
    # The spec refuses these too; a strategy built without validation still meets build_network's own check.
    unchecked = strategy(model).model_copy(update={"labels": ForwardReturnLabels(target=target)})
    with pytest.raises(ModelError, match=rf"labels.target: {target} is not available with model.type: .*{why}"):
        build_network(unchecked, 5)


def test_both_gives_the_bodys_first_logits_and_a_weighted_huber_loss() -> None:
    torch.manual_seed(0)
    net = build_network(strategy(MLPSpec(hidden=[8]), "both"), 4).eval()  # eval: no dropout between calls
    net.return_weight = 0.7
    ret = returns(64)
    net.fit_target_scale({"ret": ret})
    x, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 2, 1, 0])
    body = net.body(x)  # (B, 4)
    assert torch.equal(net(x), body[:, :3]) and torch.equal(net.outputs(x)["logits"], body[:, :3])
    mean, std = ret.mean(), ret.std()
    np.testing.assert_allclose(net.outputs(x)["ret"].detach().numpy(), body[:, 3].detach().numpy() * std + mean)

    extras = {"ret": torch.linspace(-0.03, 0.03, 6)}
    weights = torch.tensor([1.0, 0.5, 2.0])
    total, parts = net.loss(x, y, extras, class_weights=weights)
    target_z = (extras["ret"] - float(mean)) / float(std)
    huber = F.huber_loss(body[:, 3], target_z, delta=0.5)
    ce = F.cross_entropy(body[:, :3], y, weight=weights)
    assert set(parts) == {"signal", "ret"} and not parts["ret"].requires_grad
    torch.testing.assert_close(parts["ret"], huber.detach())
    torch.testing.assert_close(parts["signal"], ce.detach())
    torch.testing.assert_close(total, ce + 0.7 * huber)
    total.backward()  # the loss reaches the body's weights
    assert net.body.net[0].weight.grad is not None


def test_regression_probabilities_are_a_normal_around_the_predicted_return_cut_at_the_terciles() -> None:
    torch.manual_seed(1)
    net = build_network(strategy(MLPSpec(hidden=[8]), "regression"), 3).double().eval()
    ret = returns(300, seed=2)
    net.fit_target_scale({"ret": ret})
    lower, upper = np.quantile(ret, [1 / 3, 2 / 3])
    net.set_class_edges(lower, upper)
    x = 3.0 * torch.randn(40, 3, dtype=torch.float64)
    with torch.no_grad():
        out = net.outputs(x)
        proba = torch.softmax(net(x), dim=-1).numpy()  # (B, 3)
        predicted = (net.body(x)[:, 0] * ret.std() + ret.mean()).numpy()
    np.testing.assert_allclose(out["ret"].numpy(), predicted, rtol=1e-12)
    expected = np.array([normal_classes(r, ret.std(), lower, upper) for r in predicted])
    np.testing.assert_allclose(proba, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # a higher predicted return moves probability from SELL to BUY, never the other way
    order = np.argsort(predicted)
    assert np.all(np.diff(proba[order, 2]) >= 0) and np.all(np.diff(proba[order, 0]) <= 0)


def test_regression_tails_keep_finite_logits() -> None:
    net = ReturnHeadModel(MLP(1, 1, []), "regression")
    net.fit_target_scale({"ret": np.array([-0.01, 0.01])})  # std 0.01
    net.set_class_edges(-0.01, 0.01)  # one std either side: HOLD is the likeliest at a return of 0
    with torch.no_grad():
        net.body.net[0].weight.fill_(1.0)
        net.body.net[0].bias.zero_()
        logits = net(torch.tensor([[-100.0], [0.0], [100.0]]))  # returns of -1, 0, +1: 100 std away
    assert torch.isfinite(logits).all() and logits.min() >= math.log(1e-12) - 1e-6
    assert torch.softmax(logits, dim=-1).argmax(dim=1).tolist() == [0, 1, 2]


def test_regression_loss_is_the_huber_term_alone() -> None:
    torch.manual_seed(2)
    net = build_network(strategy(MLPSpec(hidden=[8]), "regression"), 4).eval()
    net.fit_target_scale({"ret": np.array([-0.02, 0.0, 0.02])})
    x, ret = torch.randn(5, 4), torch.linspace(-0.02, 0.02, 5)
    total, parts = net.loss(x, torch.zeros(5, dtype=torch.long), {"ret": ret}, class_weights=torch.ones(3))
    expected = F.huber_loss(net.body(x)[:, 0], ret / float(np.std([-0.02, 0.0, 0.02])), delta=0.5)
    assert set(parts) == {"ret"}
    torch.testing.assert_close(total, expected)


def test_regression_needs_class_edges_before_it_predicts() -> None:
    net = build_network(strategy(MLPSpec(hidden=[8]), "regression"), 4)
    with pytest.raises(ModelError, match=r"no class thresholds yet; call set_class_edges"):
        net(torch.zeros(2, 4))
    for lower, upper in ((0.01, -0.01), (math.nan, 0.0), (0.0, math.inf)):
        with pytest.raises(ModelError, match="class edges must be finite with lower <= upper"):
            net.set_class_edges(lower, upper)
    net.set_class_edges(0.0, 0.0)  # equal thresholds (very discrete returns): HOLD is empty, still a model
    assert torch.softmax(net(torch.zeros(2, 4)), dim=-1)[:, 1].max() < 1e-11


def test_fit_target_scale_needs_finite_returns_and_survives_a_constant_one() -> None:
    net = ReturnHeadModel(MLP(2, 4, [4]), "both")
    net.fit_target_scale({"ret": np.full(5, 0.003)})
    assert net.target_scale.tolist() == pytest.approx([0.003, 1.0])
    with pytest.raises(ModelError, match=r"has nan at row 1"):
        net.fit_target_scale({"ret": np.array([0.0, np.nan])})
    with pytest.raises(ModelError, match=r"is empty"):
        net.fit_target_scale({"ret": np.array([])})
    with pytest.raises(ModelError, match=r"needs the training rows' 'ret'"):
        net.fit_target_scale({"vol": np.ones(3)})
    with pytest.raises(ModelError, match=r"needs the extra target 'ret'"):
        net.loss(torch.zeros(2, 2), torch.zeros(2, dtype=torch.long), {})


def test_scale_and_edges_are_saved_with_the_weights() -> None:
    net = build_network(strategy(MLPSpec(hidden=[8]), "regression"), 4)
    net.fit_target_scale({"ret": returns()})
    net.set_class_edges(-0.004, 0.006)
    state = net.state_dict()
    assert {"target_scale", "class_edges"} <= set(state)
    fresh = build_network(strategy(MLPSpec(hidden=[8]), "regression"), 4)
    fresh.load_state_dict(state, strict=True)
    net.eval(), fresh.eval()
    x = torch.randn(3, 4)
    assert torch.equal(fresh(x), net(x))


def test_a_fuzzy_body_is_initialised_through_the_head() -> None:
    net = build_network(strategy(FuzzyModelSpec(rules=4), "both"), 3)
    before = [p.detach().clone() for p in net.body.parameters()]
    net.init_from(np.random.default_rng(0).normal(size=(50, 3)))
    assert any(not torch.equal(a, b) for a, b in zip(before, net.body.parameters(), strict=True))
    ReturnHeadModel(MLP(2, 4, [4]), "both").init_from(np.zeros((3, 2)))  # a body without init_from: nothing


@pytest.mark.parametrize(
    ("model", "target"),
    [(MLPSpec(hidden=[16]), "both"), (LSTMSpec(lookback=5, hidden=8, layers=1), "regression")],
)
def test_the_classifier_trainer_trains_a_return_head_unchanged(model, target: str) -> None:
    """train_classifier finds the head's own loss; the return head learns a planted return on the CPU."""
    rng = np.random.default_rng(0)
    n, features = 400, 3
    x = rng.normal(size=(n, features))
    ret = 0.01 * x[:, 0] + 0.001 * rng.normal(size=n)  # the return is written in feature 0 of the sample's row
    y = np.digitize(ret, np.quantile(ret, [1 / 3, 2 / 3])).astype(np.int64)
    net = build_network(strategy(model, target), features)
    positions = np.arange(net.lookback - 1, n)
    train, val = positions[: len(positions) * 3 // 4], positions[len(positions) * 3 // 4 :]
    net.fit_target_scale({"ret": ret[train]})
    net.set_class_edges(*np.quantile(ret[train], [1 / 3, 2 / 3]))
    spec = TrainingSpec(epochs=25, batch_size=64, learning_rate=0.01, device="cpu", early_stopping=None)
    result = train_classifier(
        net,
        x,
        y[train],
        x,
        y[val],
        spec,
        seed=0,
        train_positions=train,
        val_positions=val,
        extras_train={"ret": ret[train]},
        extras_val={"ret": ret[val]},
    )
    history = result.history
    assert "train_ret" in history[0] and ("train_signal" in history[0]) == (target == "both")
    assert history[-1]["val_ret"] < 0.5 * history[0]["val_ret"]
    out = predict_outputs(net, x, val)
    assert np.corrcoef(out["ret"], ret[val])[0, 1] > 0.8
    assert (out["proba"].argmax(axis=1) == y[val]).mean() > 0.6


def test_predict_proba_is_the_softmax_of_forward_in_eval_mode() -> None:
    net = build_network(strategy(MLPSpec(hidden=[8]), "both"), 4)
    x = torch.randn(5, 4)
    proba = net.predict_proba(x)
    assert net.training and proba.dtype == torch.float64
    torch.testing.assert_close(proba, torch.softmax(net.eval()(x).double(), dim=-1))
