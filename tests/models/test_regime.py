"""The regime model: heads and shapes, the multi-task loss, the regime embedding, windows kept apart, one seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from neurotrade.config import TrainingSpec, parse_strategy
from neurotrade.config._model_composite import RegimeSpec
from neurotrade.errors import ConfigError, ModelError
from neurotrade.models import build_model
from neurotrade.models._regime import RegimeModel
from neurotrade.training import seed_everything, train_classifier

TINY = RegimeSpec(lookback=6, d_model=8, heads=2, layers=1, feed_forward=16, latent_dim=3)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread; on a shared machine extra threads mostly wait for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(seed: int = 0, spec: RegimeSpec = TINY, n_inputs: int = 4) -> RegimeModel:
    seed_everything(seed)
    return build_model(spec, n_inputs=n_inputs, n_classes=3)


def regime_data(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """Windows whose first feature's level sets the drift, and whose second feature's level sets the volatility."""
    rng = np.random.default_rng(seed)
    drift = rng.choice([-1.0, 1.0], size=n)
    turbulence = rng.choice([0.5, 2.0], size=n)
    x = rng.normal(size=(n, 6, 4))
    x[:, :, 0] += drift[:, None]
    x[:, :, 1] = np.abs(x[:, :, 1]) * turbulence[:, None]  # like an ATR feature: its level follows the volatility
    ret = 0.01 * drift + 0.001 * rng.normal(size=n)
    vol = 0.01 * turbulence * np.exp(0.05 * rng.normal(size=n))
    y = (drift > 0).astype(np.int64) * 2  # SELL in the falling regime, BUY in the rising one
    extras = {"ret": torch.as_tensor(ret, dtype=torch.float32), "vol": torch.as_tensor(vol, dtype=torch.float32)}
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y), extras


def test_heads_and_shapes() -> None:
    net = tiny()
    assert net.input_kind == "windows" and net.lookback == 6
    x = torch.randn(5, 6, 4)
    out = net.outputs(x)
    assert set(out) == {"logits", "ret", "vol", "mu", "logvar", "z", "latent"}
    assert set(net.heads) <= set(out) and out["latent"] is out["mu"]
    assert out["logits"].shape == (5, 3) and out["ret"].shape == (5,) and out["vol"].shape == (5,)
    assert out["mu"].shape == out["logvar"].shape == out["z"].shape == (5, 3)
    assert (out["vol"] > 0).all()
    assert net(x).shape == (5, 3) and net.latent(x).shape == (5, 3)
    proba = net.predict_proba(x)
    assert proba.dtype == torch.float64 and torch.allclose(proba.sum(dim=1), torch.ones(5, dtype=torch.float64))


def test_z_is_sampled_in_training_and_the_mean_at_inference() -> None:
    net = tiny()
    x = torch.randn(4, 6, 4)
    net.eval()
    out = net.outputs(x)
    assert torch.equal(out["z"], out["mu"])
    torch.testing.assert_close(net.latent(x), out["mu"])  # no_grad takes a fused path: equal up to rounding
    assert torch.equal(net(x), net(x))
    net.train()
    out = net.outputs(x)
    assert not torch.equal(out["z"], out["mu"])
    assert net.training  # latent() and predict_proba() restore the mode they found
    net.latent(x)
    net.predict_proba(x)
    assert net.training


def test_each_window_is_scored_on_its_own() -> None:
    net = tiny().eval()
    x = torch.randn(6, 6, 4)
    together = net(x)
    alone = torch.cat([net(x[i : i + 1]) for i in range(6)])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)
    changed = x.clone()
    changed[3] += 5.0
    after = net(changed)
    others = [0, 1, 2, 4, 5]
    torch.testing.assert_close(after[others], together[others], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(after[3], together[3])


def test_loss_is_the_weighted_sum_of_its_parts() -> None:
    spec = TINY.model_copy(update={"signal_weight": 2.0, "return_weight": 0.3, "volatility_weight": 0.7})
    spec = spec.model_copy(update={"kl_weight": 0.5})
    net = tiny(spec=spec).eval()
    x, y, extras = regime_data(32)
    net.fit_target_scale({k: v.numpy() for k, v in extras.items()})
    total, parts = net.loss(x, y, extras)
    assert set(parts) == {"signal", "ret", "vol", "kl"} and not any(p.requires_grad for p in parts.values())
    expected = 2.0 * parts["signal"] + 0.3 * parts["ret"] + 0.7 * parts["vol"] + 0.5 * parts["kl"]
    torch.testing.assert_close(total.detach(), expected)
    out = net.outputs(x)
    torch.testing.assert_close(parts["signal"], torch.nn.functional.cross_entropy(out["logits"], y))
    _, std, _, log_std = net.target_scale
    torch.testing.assert_close(parts["ret"], (((out["ret"] - extras["ret"]) / std) ** 2).mean(), rtol=1e-4, atol=1e-6)
    log_error = (torch.log(out["vol"]) - torch.log(extras["vol"])) / log_std
    torch.testing.assert_close(parts["vol"], (log_error**2).mean(), rtol=1e-4, atol=1e-6)
    posterior = Normal(out["mu"], torch.exp(0.5 * out["logvar"]))
    prior = Normal(torch.zeros_like(out["mu"]), torch.ones_like(out["mu"]))
    torch.testing.assert_close(parts["kl"], kl_divergence(posterior, prior).sum(dim=1).mean(), rtol=1e-5, atol=1e-6)
    total.backward()  # one graph through every head
    assert net.return_head[0].weight.grad is not None and net.signal_head[0].weight.grad is not None


def test_class_weights_reach_the_cross_entropy() -> None:
    net = tiny().eval()
    x, y, extras = regime_data(32)
    weights = torch.tensor([3.0, 1.0, 0.2])
    _, parts = net.loss(x, y, extras, class_weights=weights)
    expected = torch.nn.functional.cross_entropy(net(x), y, weight=weights)
    torch.testing.assert_close(parts["signal"], expected)


def test_missing_targets_are_named_unless_their_weight_is_zero() -> None:
    net = tiny()
    x, y, extras = regime_data(8)
    with pytest.raises(ModelError, match=r"needs the extra target\(s\) \['vol'\] \(got \['ret'\]\)"):
        net.loss(x, y, {"ret": extras["ret"]})
    quiet = tiny(spec=TINY.model_copy(update={"return_weight": 0.0, "volatility_weight": 0.0}))
    total, parts = quiet.loss(x, y, {})
    assert parts["ret"] == 0 and parts["vol"] == 0 and torch.isfinite(total)


def test_fit_target_scale_and_its_checks() -> None:
    net = tiny()
    ret = np.array([0.01, -0.03, 0.02, 0.0])
    vol = np.array([0.01, 0.02, 0.04, 0.0])  # a flat stretch has zero volatility: floored, not an error
    net.fit_target_scale({"ret": ret, "vol": vol})
    log_vol = np.log(np.maximum(vol, 1e-8))
    np.testing.assert_allclose(net.target_scale.numpy(), [ret.mean(), ret.std(), log_vol.mean(), log_vol.std()])
    with pytest.raises(ModelError, match=r"'vol' target has -0.5 at row 2; it needs finite values >= 0"):
        net.fit_target_scale({"ret": ret, "vol": np.array([0.1, 0.1, -0.5])})
    with pytest.raises(ModelError, match=r"'ret' target has nan at row 1; it needs finite values for every"):
        net.fit_target_scale({"ret": np.array([0.0, np.nan])})
    assert "target_scale" in net.state_dict()  # saved with the weights


def test_training_learns_the_signal_and_the_regime() -> None:
    x, y, extras = regime_data(256)
    net = tiny(spec=TINY.model_copy(update={"dropout": 0.0}))
    net.fit_target_scale({k: v.numpy() for k, v in extras.items()})
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    net.eval()
    _, before = net.loss(x, y, extras)
    net.train()
    for _ in range(150):
        total, _ = net.loss(x, y, extras)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    net.eval()
    _, after = net.loss(x, y, extras)
    assert after["signal"] < 0.3 * before["signal"]
    assert after["ret"] < 0.3 * before["ret"] and after["vol"] < 0.5 * before["vol"]
    # the embedding separates the regimes: z differs more between regimes than within them
    z = net.latent(x)
    rising = y == 2
    assert (z[rising].mean(0) - z[~rising].mean(0)).norm() > z[rising].std(0).norm()


def test_one_seed_gives_identical_training() -> None:
    x, y, extras = regime_data(64)

    def trained(seed: int) -> dict[str, torch.Tensor]:
        net = tiny(seed)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
        net.train()
        for _ in range(5):  # dropout and the reparameterisation both draw from torch's generator
            total, _ = net.loss(x, y, extras)
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
        return net.state_dict()

    a, b, c = trained(3), trained(3), trained(4)
    assert all(torch.equal(t, b[k]) for k, t in a.items())
    assert any(not torch.equal(t, c[k]) for k, t in a.items())


def test_wrong_window_shape_is_a_clear_error() -> None:
    net = tiny()
    with pytest.raises(ModelError, match=r"reads windows of shape \(batch, 6, 4\), got \(2, 5, 4\)"):
        net(torch.zeros(2, 5, 4))
    with pytest.raises(ModelError, match=r"got \(2, 4\)"):
        net(torch.zeros(2, 4))


def test_spec_defaults_and_checks(small_strategy_text: str) -> None:
    text = small_strategy_text.replace("model: {hidden: [16]}", "model: {type: regime, latent_dim: 2}")
    model = parse_strategy(text).model
    assert model == RegimeSpec(latent_dim=2) and model.lookback == 30
    bad = small_strategy_text.replace("model: {hidden: [16]}", "model: {type: regime, d_model: 30, heads: 4}")
    with pytest.raises(ConfigError, match=r"model: d_model 30 must be divisible by heads 4 .* use heads 3 or 5"):
        parse_strategy(bad)
    bad = small_strategy_text.replace("model: {hidden: [16]}", "model: {type: regime, kl_wieght: 1}")
    with pytest.raises(ConfigError, match=r"model.kl_wieght: unknown key 'kl_wieght'; did you mean 'kl_weight'\?"):
        parse_strategy(bad)


def test_the_trainer_trains_it_on_its_own_loss() -> None:
    x, y, extras = regime_data(96)
    net = tiny()
    train_extras = {k: v[:64].numpy() for k, v in extras.items()}
    net.fit_target_scale(train_extras)
    val_extras = {k: v[64:].numpy() for k, v in extras.items()}
    spec = TrainingSpec(epochs=2, batch_size=32, device="cpu")
    result = train_classifier(
        net,
        x[:64].numpy(),
        y[:64].numpy(),
        x[64:].numpy(),
        y[64:].numpy(),
        spec,
        seed=0,
        extras_train=train_extras,
        extras_val=val_extras,
    )
    record = result.history[-1]
    assert {"train_signal", "train_ret", "train_vol", "train_kl", "val_signal", "val_kl"} <= set(record)
    expected = record["val_signal"] + 0.5 * record["val_ret"] + 0.5 * record["val_vol"] + 0.01 * record["val_kl"]
    assert record["val_loss"] == pytest.approx(expected, rel=1e-5)
