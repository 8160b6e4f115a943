"""The engine replays a saved bundle bar by bar and reproduces the batch run's decisions exactly."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from neurotrade import load_bundle
from neurotrade.config import Strategy
from neurotrade.decision import Decision, DecisionEngine, DecisionRules
from neurotrade.errors import FeatureError, IndicatorError, ModelError
from neurotrade.features import Standardizer, feature_frame
from neurotrade.models import MLP, build_model
from neurotrade.training import REPLAY_ATOL


def _replay(engine: DecisionEngine, bars: pd.DataFrame, start: pd.Timestamp) -> list[Decision]:
    out = []
    for time, bar in bars.iterrows():
        # The batch run starts each fold's trading window flat.
        out.append(engine.update(bar, position=0 if time == start else None))
    return out


def test_replay_equals_the_batch_run(replayed_run: tuple, replay_home: Path) -> None:
    """Signals and targets exactly; probabilities to REPLAY_ATOL (1e-9), which float64 inference meets on any
    x86-64 whatever the batch shape (float32 would differ by ~1e-8 between one row and a batch)."""
    _, bars, name, last = replayed_run
    engine = DecisionEngine.from_bundle(load_bundle(name, home=replay_home))
    decisions = _replay(engine, bars, last.index[0])
    by_time = {d.time: d for d in decisions}
    window = [by_time[t] for t in last.index]
    assert all(d.ready for d in window)
    proba = np.stack([d.proba for d in window])
    expected = last[["p_sell", "p_hold", "p_buy"]].to_numpy()
    np.testing.assert_allclose(proba, expected, rtol=0, atol=REPLAY_ATOL)
    assert [d.signal for d in window] == last["signal"].tolist()
    assert [d.target for d in window] == last["target"].tolist()
    assert len(set(last["signal"])) > 1  # the comparison covers more than one kind of signal


def test_the_engine_runs_one_float64_row_per_bar(
    replayed_run: tuple, replay_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No batch of copies to match a BLAS kernel: one row (or window) in float64, through a copy made once. A plain
    MLP runs as its layers' own ops (one ``torch.addmm`` per Linear), any other model as a module call."""
    _, bars, name, _ = replayed_run
    engine = DecisionEngine.from_bundle(load_bundle(name, home=replay_home))
    net = engine.inference_model
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert all(p.dtype == torch.float32 for p in engine.model.parameters())  # the trained model is left as it was
    seen: list[tuple[tuple[int, ...], torch.dtype]] = []
    fast = type(engine.model) is MLP
    assert engine._forward.fast is fast
    if fast:
        addmm = torch.addmm
        linears = sum(isinstance(m, torch.nn.Linear) for m in net.modules())

        def recorded(bias: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, **kw: torch.Tensor) -> torch.Tensor:
            seen.append((tuple(x.shape), x.dtype))
            return addmm(bias, x, weight, **kw)

        monkeypatch.setattr(torch, "addmm", recorded)
    else:
        linears = 1
        net.register_forward_pre_hook(lambda _, args: seen.append((tuple(args[0].shape), args[0].dtype)))
    decisions = [engine.update(bar) for _, bar in bars.iloc[:80].iterrows()]
    assert engine.inference_model is net
    ready = sum(d.ready for d in decisions)
    assert ready > 0 and len(seen) == ready * linears
    width = len(engine.resolved_features)
    shape = (1, engine.lookback, width) if engine.windows else (1, width)
    assert seen[::linears] == [(shape, torch.float64)] * ready  # what the first layer (or the module) reads
    assert {(s[0], dtype) for s, dtype in seen} == {(1, torch.float64)}  # one row at every layer


def test_warm_up_gives_no_decision(replayed_run: tuple, replay_home: Path) -> None:
    _, bars, name, _ = replayed_run
    bundle = load_bundle(name, home=replay_home)
    engine = DecisionEngine.from_bundle(bundle)
    decisions = [engine.update(bar) for _, bar in bars.iloc[:80].iterrows()]
    ready = [d.ready for d in decisions]
    first = ready.index(True)
    assert not any(ready[:first]) and all(ready[first:])
    warmup = bundle.documents["features"]["warmup_bars"]
    assert first == warmup + bundle.documents["features"]["lookback"] - 1
    assert np.isnan(decisions[0].features).any() and decisions[0].signal is None and decisions[0].target == 0
    assert not np.isnan(decisions[first].features).any()


def test_bars_out_of_order_and_without_time_are_refused(replayed_run: tuple, replay_home: Path) -> None:
    _, bars, name, _ = replayed_run
    engine = DecisionEngine.from_bundle(load_bundle(name, home=replay_home))
    engine.update(bars.iloc[1])
    with pytest.raises(FeatureError, match="is not after the previous bar"):
        engine.update(bars.iloc[0])
    with pytest.raises(FeatureError, match="the bar has no time"):
        engine.update(bars.iloc[2].to_dict())
    naive = bars.iloc[2].to_dict() | {"time": bars.index[2].tz_localize(None)}
    with pytest.raises(FeatureError, match="has no time zone"):
        engine.update(naive)
    decision = engine.update(bars.iloc[2].to_dict(), time=bars.index[2])
    assert decision.time == bars.index[2]


def test_a_nan_after_warm_up_is_an_error(
    replayed_run: tuple, replay_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, bars, name, _ = replayed_run
    engine = DecisionEngine.from_bundle(load_bundle(name, home=replay_home))
    for _, bar in bars.iloc[:60].iterrows():
        zero = bar.copy()
        zero["volume"] = 0.0
        decision = engine.update(zero)
    # No volume at all is neutral (ratio 1), not a NaN that would stop the engine.
    assert decision.ready and decision.features[engine.resolved_features.index("1d_volume_ratio_10")] == 1.0
    real = engine.stream.update

    def gap(time: pd.Timestamp, bar: pd.Series) -> np.ndarray:
        row = real(time, bar)
        row[3] = np.nan
        return row

    monkeypatch.setattr(engine.stream, "update", gap)
    with pytest.raises(FeatureError, match=r"features \['1d_macd.hist'\] are NaN at .* after their warm-up"):
        engine.update(bars.iloc[61])


def test_features_that_differ_from_the_bundle_are_refused(replayed_run: tuple, replay_home: Path) -> None:
    spec, _, name, _ = replayed_run
    bundle = load_bundle(name, home=replay_home)
    features = list(bundle.documents["features"]["resolved_features"])
    scaler = Standardizer.from_dict(bundle.documents["scaler"])
    model = build_model(spec.model, n_inputs=len(features), n_classes=3)
    swapped = [features[1], features[0], *features[2:]]
    with pytest.raises(FeatureError, match=r"another order \(position 0: '1d_rsi_14_low' where the model expects"):
        DecisionEngine(spec, model, scaler, swapped)
    with pytest.raises(FeatureError, match=r"missing \['1d_extra'\], unexpected \['1d_rsi_14_low'\]"):
        DecisionEngine(spec, model, scaler, ["1d_extra", *features[1:]])
    with pytest.raises(FeatureError, match="scaler holds statistics of 2 features"):
        DecisionEngine(spec, model, Standardizer.from_dict({"mean": [0.0, 0.0], "scale": [1.0, 1.0]}), features)


def test_weights_that_do_not_fit_are_a_model_error(replayed_run: tuple, replay_home: Path) -> None:
    _, _, name, _ = replayed_run
    bundle = load_bundle(name, home=replay_home)
    broken = type(bundle)(bundle.ref, {k: torch.zeros(1) for k in bundle.weights}, bundle.documents)
    with pytest.raises(ModelError, match="the weights do not fit"):
        DecisionEngine.from_bundle(broken)


def test_filters_are_off_by_default_and_veto_when_asked(replayed_run: tuple, replay_home: Path) -> None:
    spec, bars, name, last = replayed_run
    bundle = load_bundle(name, home=replay_home)
    engine = DecisionEngine.from_bundle(bundle)
    fitted = bundle.documents["decisions"]
    assert engine.rules == DecisionRules.from_spec(
        spec,
        expected_move_pct=fitted["expected_move_pct"],
        periods_per_year=fitted["periods_per_year"],
        horizon=fitted["horizon"],
        expected_loss_pct=fitted["expected_loss_pct"],  # the training labels' down move, apart from the up one
    )
    assert engine.rules.min_edge_pct is None and engine.rules.min_bars_between_signals == 0
    spaced = DecisionEngine.from_bundle(bundle, min_bars_between_signals=5)
    targets = np.array([d.target for d in (spaced.update(bar) for _, bar in bars.iterrows()) if d.ready])
    changes = np.flatnonzero(np.diff(targets)) + 1
    assert len(changes) > 1 and np.diff(changes).min() >= 5
    edgy = DecisionEngine.from_bundle(bundle, min_edge_pct=0.0)
    assert edgy.rules.expected_move_pct == fitted["expected_move_pct"] > 0  # the training labels' average move
    assert edgy.rules.round_trip_cost_pct == pytest.approx(2 * (0.05 + 0.02))
    never = DecisionEngine.from_bundle(bundle, min_edge_pct=100.0)
    assert {d.target for d in _replay(never, bars, last.index[0])} == {0}
    with pytest.raises(ModelError, match="unknown filter"):
        DecisionEngine.from_bundle(bundle, min_bars=3)


def test_strategy_round_trips_through_the_bundle(replayed_run: tuple, replay_home: Path) -> None:
    spec, _, name, _ = replayed_run
    bundle = load_bundle(name, home=replay_home)
    assert Strategy.model_validate(bundle.documents["spec"]) == spec


def test_the_fast_model_path_decides_exactly_as_the_module_call(replayed_run: tuple, replay_home: Path) -> None:
    """The MLP's own ops (no nn.Module call) against the module called on the same input, over a whole replay:
    equal probability bits, hence the very same signals, targets, sizes and reasons."""
    _, bars, name, last = replayed_run
    bundle = load_bundle(name, home=replay_home)
    fast, module = DecisionEngine.from_bundle(bundle), DecisionEngine.from_bundle(bundle)
    # Only a plain MLP takes its own ops; a window model is called as a module, so there is nothing to compare.
    assert fast._forward.fast == (not fast.windows)
    if not fast._forward.fast:
        return
    module._forward._ops = None  # the module call: the path every non-MLP model takes
    a, b = _replay(fast, bars, last.index[0]), _replay(module, bars, last.index[0])
    ready = [d for d in a if d.ready]
    assert len(ready) > 500 and len({d.signal for d in ready}) > 1
    np.testing.assert_array_equal(np.stack([d.proba for d in ready]), np.stack([d.proba for d in b if d.ready]))
    assert [(d.signal, d.target, d.size, d.reason) for d in a] == [(d.signal, d.target, d.size, d.reason) for d in b]


def test_each_decision_keeps_its_own_row_and_probabilities(replayed_run: tuple, replay_home: Path) -> None:
    """The engine fills preallocated buffers per bar; what a Decision holds must not move with later bars."""
    spec, bars, name, _ = replayed_run
    engine = DecisionEngine.from_bundle(load_bundle(name, home=replay_home))
    decisions = [engine.update(bar) for _, bar in bars.iloc[:120].iterrows()]
    np.testing.assert_array_equal(np.stack([d.features for d in decisions]), feature_frame(bars.iloc[:120], spec))
    ready = [d for d in decisions if d.ready]
    assert len({id(d.proba) for d in ready}) == len(ready)
    assert not any(np.shares_memory(x.proba, y.proba) for x, y in itertools.pairwise(ready))
    assert not any(np.shares_memory(x.features, y.features) for x, y in itertools.pairwise(decisions))


def test_a_bad_bar_is_refused_without_advancing_anything(replayed_run: tuple, replay_home: Path) -> None:
    """A NaN price is refused before any indicator, context or time moves on, so the corrected bar is accepted and
    every later decision is the one of an engine that never saw the bad bar (it used to advance the indicators
    read before the bad field and the time, so the corrected bar was refused as not after the previous one)."""
    _, bars, name, _ = replayed_run
    bundle = load_bundle(name, home=replay_home)
    clean, hit = DecisionEngine.from_bundle(bundle), DecisionEngine.from_bundle(bundle)
    expected = [clean.update(bar) for _, bar in bars.iloc[:90].iterrows()]
    got = [hit.update(bar) for _, bar in bars.iloc[:60].iterrows()]
    for field, value in (("high", np.nan), ("close", np.inf), ("volume", "many")):
        broken = bars.iloc[60].copy().astype(object)
        broken[field] = value
        with pytest.raises(IndicatorError, match=f"input '{field}'"):
            hit.update(broken)
    with pytest.raises(IndicatorError, match="needs the input 'volume'"):
        hit.update(bars.iloc[60].drop("volume"))
    got += [hit.update(bar) for _, bar in bars.iloc[60:90].iterrows()]
    assert all(d.ready for d in got[60:])
    np.testing.assert_array_equal(np.stack([d.features for d in got]), np.stack([d.features for d in expected]))
    np.testing.assert_array_equal(np.stack([d.proba for d in got[60:]]), np.stack([d.proba for d in expected[60:]]))
    assert [d.target for d in got] == [d.target for d in expected]


def test_fresh_engines_share_the_model_and_decide_as_their_own_bundle_engine_even_from_threads(
    replayed_run: tuple, replay_home: Path
) -> None:
    """What /predict does: engines from one template, sharing its float64 model copy, fed at the same time from
    several threads, each decide exactly as an engine built alone from the bundle."""
    from concurrent.futures import ThreadPoolExecutor

    _, bars, name, last = replayed_run
    bundle = load_bundle(name, home=replay_home)
    alone = _replay(DecisionEngine.from_bundle(bundle), bars, last.index[0])
    template = DecisionEngine.from_bundle(bundle)
    engines = [template.fresh() for _ in range(4)]
    assert all(e.inference_model is template.inference_model for e in engines)
    with ThreadPoolExecutor(4) as pool:
        replays = list(pool.map(lambda e: _replay(e, bars, last.index[0]), engines))
    for replay in replays:
        np.testing.assert_array_equal(
            np.stack([d.proba for d in replay if d.ready]), np.stack([d.proba for d in alone if d.ready])
        )
        assert [(d.signal, d.target, d.size) for d in replay] == [(d.signal, d.target, d.size) for d in alone]
