"""The neuro-fuzzy model: ordered sets whatever the learning rate, readable rules, one seed one model."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from neurotrade.config import TrainingSpec, parse_strategy
from neurotrade.config._model_composite import FuzzyModelSpec
from neurotrade.errors import ConfigError, ModelError
from neurotrade.models import build_model
from neurotrade.models._neuro_fuzzy import NeuroFuzzy
from neurotrade.training import seed_everything, train_classifier

CLASSES = ["SELL", "HOLD", "BUY"]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread; on a shared machine extra threads mostly wait for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tercile_data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three noisy inputs; the class is the tercile of the first one (low -> SELL, high -> BUY)."""
    x = np.random.default_rng(seed).standard_t(df=3, size=(n, 3))  # heavy tails, as real features have
    lo, hi = np.quantile(x[:, 0], [1 / 3, 2 / 3])
    y = np.where(x[:, 0] < lo, 0, np.where(x[:, 0] > hi, 2, 1)).astype(np.int64)
    return x, y


@pytest.mark.parametrize("membership", ["gaussian", "triangular"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_centres_stay_ordered_after_every_step_at_a_high_learning_rate(membership: str, optimizer: str) -> None:
    x, y = tercile_data()
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
    seed_everything(0)
    net = NeuroFuzzy(3, 3, sets_per_input=5, membership=membership, rules=40, antecedents=2)
    net.init_from(x)
    start = net.boundaries()
    opt = (
        torch.optim.Adam(net.parameters(), lr=0.5)
        if optimizer == "adam"
        else torch.optim.SGD(net.parameters(), lr=50.0, momentum=0.9)
    )
    order = torch.Generator().manual_seed(0)
    for step in range(300):
        batch = torch.randint(0, len(xt), (32,), generator=order)
        loss = torch.nn.functional.cross_entropy(net(xt[batch]), yt[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        centres = net.boundaries()
        assert torch.isfinite(centres).all(), f"step {step}"
        assert (centres.diff(dim=1) > 0).all(), f"centres out of order after step {step}: {centres}"
    assert (net.boundaries() - start).abs().max() > 0.5  # the sets did move: the order held under pressure


def test_init_from_places_sets_at_the_training_quantiles() -> None:
    seed_everything(0)
    x = np.column_stack([np.linspace(0, 1, 601), np.linspace(-50, 50, 601)])
    net = NeuroFuzzy(2, 3, sets_per_input=3)
    net.init_from(x)
    expected = np.quantile(x, [1 / 6, 1 / 2, 5 / 6], axis=0).T
    np.testing.assert_allclose(net.boundaries().numpy(), expected, rtol=1e-5, atol=1e-5)
    # gaussian widths make neighbouring sets cross at membership 0.5, halfway between their centres
    halfway = torch.tensor([[(expected[0, 0] + expected[0, 1]) / 2, 0.0]], dtype=torch.float32)
    mu = net.log_memberships(halfway).exp()[0, 0]
    assert mu[0].item() == pytest.approx(0.5, abs=1e-4) and mu[1].item() == pytest.approx(0.5, abs=1e-4)


def test_init_from_keeps_sets_apart_on_a_feature_that_is_mostly_one_value() -> None:
    seed_everything(0)
    x = np.zeros((500, 1))
    x[::10] = 3.0  # a fuzzy membership feature that is mostly 0
    net = NeuroFuzzy(1, 3, antecedents=1)
    net.init_from(x)
    gaps = net.boundaries().diff(dim=1)
    assert (gaps >= 0.25 * x.std() - 1e-6).all()


def test_init_from_rejects_bad_training_rows() -> None:
    seed_everything(0)
    net = NeuroFuzzy(2, 3)
    with pytest.raises(ModelError, match=r"a \(rows, 2\) array, got shape \(10, 3\)"):
        net.init_from(np.zeros((10, 3)))
    x = np.zeros((10, 2))
    x[4, 1] = np.nan
    with pytest.raises(ModelError, match="non-finite value at row 4, column 1 of the training rows"):
        net.init_from(x)


def test_triangular_sets_partition_each_input() -> None:
    seed_everything(0)
    net = NeuroFuzzy(3, 3, sets_per_input=4, membership="triangular")
    x = torch.linspace(-6, 6, 97)[:, None].repeat(1, 3)  # beyond the outer centres too
    mu = net.log_memberships(x).exp()
    torch.testing.assert_close(mu.sum(dim=2), torch.ones(97, 3), atol=1e-5, rtol=0)
    assert mu[0, 0, 0] == 1 and mu[-1, 0, -1] == 1  # the outer sets are shoulders


def test_firing_strengths_are_normalised_and_never_underflow() -> None:
    seed_everything(0)
    net = NeuroFuzzy(6, 3, rules=20, antecedents=4)
    x = torch.full((2, 6), 1e3)  # every membership is ~exp(-1e6): a product of them would be 0
    firing = net.firing(x)
    assert torch.isfinite(firing).all()
    torch.testing.assert_close(firing.sum(dim=1), torch.ones(2))
    assert torch.isfinite(net.predict_proba(x)).all()


def test_rules_are_distinct_and_all_used_when_few_exist() -> None:
    seed_everything(0)
    net = NeuroFuzzy(2, 3, sets_per_input=2, rules=50, antecedents=2)
    assert len(net.rule_inputs) == 4  # one pair of inputs, 2 x 2 set combinations
    seed_everything(0)
    net = NeuroFuzzy(10, 3, rules=60, antecedents=3)
    rules = {(tuple(i), tuple(s)) for i, s in zip(net.rule_inputs.tolist(), net.rule_sets.tolist(), strict=True)}
    assert len(rules) == 60
    assert all(len(set(i)) == 3 and list(i) == sorted(i) for i, _ in rules)


def test_rules_text_reads_the_learned_rule() -> None:
    x, y = tercile_data()
    seed_everything(1)
    net = build_model(FuzzyModelSpec(antecedents=1, rules=9), n_inputs=3, n_classes=3)
    net.init_from(x[:400])
    train_classifier(
        net, x[:400], y[:400], x[400:], y[400:], TrainingSpec(epochs=60, learning_rate=0.05, device="cpu"), seed=1
    )
    names = ["1d_rsi_14", "1d_adx_14", "1d_macd.hist"]
    lines = net.rules_text(names, CLASSES, top=4, x=torch.as_tensor(x, dtype=torch.float32))
    pattern = r"IF [\w.]+ is (low|medium|high)( AND [\w.]+ is (low|medium|high))* THEN (SELL|HOLD|BUY) \((0|1)\.\d\d\)"
    assert len(lines) == 4 and all(re.fullmatch(pattern, line) for line in lines), lines
    top_three = {re.sub(r" \(.*\)$", "", line) for line in lines[:3]}
    expected = {"IF 1d_rsi_14 is low THEN SELL", "IF 1d_rsi_14 is medium THEN HOLD", "IF 1d_rsi_14 is high THEN BUY"}
    assert top_three == expected, lines
    confidences = [float(line[-5:-1]) for line in net.rules_text(names, CLASSES, top=9)]
    assert confidences == sorted(confidences, reverse=True) and confidences[0] > 0.6


def test_rules_text_format_and_name_checks() -> None:
    seed_everything(0)
    net = NeuroFuzzy(3, 2, sets_per_input=5, rules=7, antecedents=3)
    lines = net.rules_text(["a", "b", "c"], ["DOWN", "UP"], top=3)
    assert len(lines) == 3
    assert re.fullmatch(r"IF a is [a-z ]+ AND b is [a-z ]+ AND c is [a-z ]+ THEN DOWN \(0\.50\)", lines[0])
    assert len(net.rules_text(["a", "b", "c"], ["DOWN", "UP"], top=100)) == 7  # every rule, no more
    with pytest.raises(ModelError, match="rules_text needs 3 feature names, got 2"):
        net.rules_text(["a", "b"], ["DOWN", "UP"])
    with pytest.raises(ModelError, match="rules_text needs 2 class names, got 3"):
        net.rules_text(["a", "b", "c"], CLASSES)


def test_set_names_follow_the_order_of_the_centres() -> None:
    seed_everything(0)
    net = NeuroFuzzy(1, 2, sets_per_input=2, rules=2, antecedents=1)
    with torch.no_grad():
        net.consequents.copy_(torch.tensor([[3.0, 0.0], [0.0, 3.0]]))
    low_rule = int((net.rule_sets[:, 0] == 0).nonzero()[0, 0])
    expected = "SELL" if low_rule == 0 else "BUY"
    assert f"IF rsi is low THEN {expected} (0.95)" in net.rules_text(["rsi"], ["SELL", "BUY"])
    # a low value fires the "low" rule, so it gets that rule's class
    proba = net.predict_proba(torch.tensor([[-3.0]]))[0]
    assert proba.argmax().item() == (0 if expected == "SELL" else 1)


def test_one_seed_gives_one_model_and_the_rules_are_saved_with_the_weights(tmp_path) -> None:
    spec = FuzzyModelSpec(rules=12, antecedents=2, sets_per_input=4)
    seed_everything(5)
    a = build_model(spec, n_inputs=6, n_classes=3)
    seed_everything(5)
    b = build_model(spec, n_inputs=6, n_classes=3)
    seed_everything(6)
    c = build_model(spec, n_inputs=6, n_classes=3)
    for name, tensor in a.state_dict().items():
        assert torch.equal(tensor, b.state_dict()[name]), name
    assert not torch.equal(a.rule_inputs, c.rule_inputs) or not torch.equal(a.rule_sets, c.rule_sets)
    # a bundle holds safetensors only: the rules must come back from them, not from the seed
    save_file(a.state_dict(), tmp_path / "weights.safetensors")
    c.load_state_dict(load_file(tmp_path / "weights.safetensors"))
    x = torch.randn(4, 6)
    assert torch.equal(a(x), c(x))
    assert c.rules_text(list("abcdef"), CLASSES, top=12) == a.rules_text(list("abcdef"), CLASSES, top=12)


def test_too_many_antecedents_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match=r"model.antecedents is 3 but the model has 2 input feature\(s\)"):
        build_model(FuzzyModelSpec(antecedents=3), n_inputs=2, n_classes=3)


def test_spec_defaults_and_limits(small_strategy_text: str) -> None:
    text = small_strategy_text.replace("model: {hidden: [16]}", "model: {type: fuzzy, membership: triangular}")
    assert parse_strategy(text).model == FuzzyModelSpec(membership="triangular")
    with pytest.raises(ConfigError, match=r"model.sets_per_input: must be an integer from 2 to 7, got 8"):
        parse_strategy(small_strategy_text.replace("model: {hidden: [16]}", "model: {type: fuzzy, sets_per_input: 8}"))
