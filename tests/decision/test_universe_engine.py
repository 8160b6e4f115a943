"""The universe engine decides for every symbol, time by time, exactly as the universe's batch run decided."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from neurotrade import load_bundle, run
from neurotrade.config import parse_strategy
from neurotrade.data import DataStore, synthetic_ohlcv
from neurotrade.decision import UniverseDecision, UniverseEngine
from neurotrade.errors import FeatureError, ModelError
from neurotrade.training import REPLAY_ATOL

_SPEC = """\
name: {name}
data: {{source: store, symbols: [AAA, BBB, CCC]}}
indicators: {{rsi_14: {{}}, adx_14: {{}}}}
nn_inputs:
  indicators: [rsi_14, adx_14]
  context: {{returns: [5]}}
  cross_section: {{rank: [rsi_14], zscore: [ret_5]}}
  symbol_embedding: {embedding}
  scaling: {scaling}
split: {{folds: 2}}
model: {model}
training: {{epochs: 3, class_weights: balanced}}
decisions: {{confidence_threshold: 0.34, allow_short: true}}
portfolio: {portfolio}
"""

# Three histories on one time axis: AAA whole, BBB delisted 100 bars early, CCC listed late (inside the last fold's
# window when scaled pooled; per-symbol scalers need every symbol in every fold's training rows).
_CASES = {
    "all_pooled": dict(
        scaling="pooled", embedding="true", model="{type: mlp, hidden: [16]}", portfolio="{selection: all}", ccc=600
    ),
    "top_k_per_symbol_window": dict(
        scaling="per_symbol",
        embedding="false",  # scaled within one symbol, its one-hot column would be 0: the spec refuses both
        model="{type: gru, lookback: 4, hidden: 8, layers: 1}",
        portfolio="{selection: top_k, top_k: 1}",
        ccc=150,
    ),
}
_PROBA = ["p_sell", "p_hold", "p_buy"]


def _histories(ccc: int) -> dict[str, pd.DataFrame]:
    return {
        "AAA": synthetic_ohlcv(800, seed=11),
        "BBB": synthetic_ohlcv(800, seed=12).iloc[:700],
        "CCC": synthetic_ohlcv(800, seed=13).iloc[ccc:],
    }


@pytest.fixture(scope="module", params=sorted(_CASES))
def universe(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """(bundle, every symbol's bars, the last fold's decisions from decisions.parquet) of a finished universe run."""
    case = _CASES[request.param]
    home = tmp_path_factory.mktemp(request.param)
    bars = _histories(case["ccc"])
    store = DataStore(home)
    for symbol, frame in bars.items():
        store.put(frame, symbol, "1d", source="synthetic")
    text = _SPEC.format(name=request.param, **{k: v for k, v in case.items() if k != "ccc"})
    result = run(parse_strategy(text), home=home, progress=False)
    decisions = pd.read_parquet(result.run_dir / "decisions.parquet")
    last = decisions[decisions["fold"] == decisions["fold"].max()]
    return load_bundle(str(result.bundle.path)), bars, last


def _replay(engine: UniverseEngine, bars: dict[str, pd.DataFrame], start: pd.Timestamp) -> list[UniverseDecision]:
    """Every symbol's bars fed time by time, trading started flat at ``start`` (as the run's last fold)."""
    union = bars["AAA"].index.union(bars["BBB"].index).union(bars["CCC"].index)
    out = []
    for time in union:
        if time == start:
            engine.start_account()
        step = engine.step(time, {s: b.loc[time] for s, b in bars.items() if time in b.index})
        assert list(step) == [s for s in engine.symbols if time in bars[s].index]  # only the symbols with a bar
        out += step.values()
    return out


def test_the_engine_equals_the_batch_run_per_symbol(universe: tuple) -> None:
    """Features and probabilities to REPLAY_ATOL (1e-9: float64 on any x86-64), signals, targets, sizes and the
    portfolio's targets exactly, at every bar each symbol traded in the last fold."""
    bundle, bars, last = universe
    engine = UniverseEngine.from_bundle(bundle)
    decisions = _replay(engine, bars, last.index.min())
    features = bundle.documents["features"]["resolved_features"]
    for symbol in engine.symbols:
        batch = last[last["symbol"] == symbol]
        mine = {d.time: d for d in decisions if d.symbol == symbol}
        window = [mine[t] for t in batch.index]
        assert len(batch) > 50 and all(d.ready for d in window)
        np.testing.assert_allclose(
            np.stack([d.features for d in window]), batch[features].to_numpy(), rtol=0, atol=REPLAY_ATOL
        )
        np.testing.assert_allclose(np.stack([d.proba for d in window]), batch[_PROBA], rtol=0, atol=REPLAY_ATOL)
        assert [d.signal for d in window] == batch["signal"].tolist()
        assert [d.target for d in window] == batch["target"].tolist()
        assert [d.size for d in window] == batch["size"].tolist()  # fixed sizing: exact
        assert [d.portfolio_target for d in window] == batch["portfolio_target"].tolist()
    assert len(set(last["signal"])) > 1 and len(set(last["portfolio_target"])) > 1  # more than one kind compared


def test_a_symbol_listed_late_is_outside_the_cross_section_until_warm(universe: tuple) -> None:
    """CCC's bars before its warm-up ends (its RSI is known at its 20th bar, its ADX not yet): no decision, no
    cross-sectional value; the others rank among themselves only (ranks 0 and 1), as the batch's panel (rows
    that exist: warmed up) leaves CCC's cell NaN."""
    bundle, bars, _ = universe
    engine = UniverseEngine.from_bundle(bundle)
    at = bars["CCC"].index[20]
    decisions = [d for d in _replay(engine, bars, at) if d.time == at]
    by = {d.symbol: d for d in decisions}
    rank = engine.resolved_features.index("1d_rsi_14_xrank")
    assert np.isfinite(by["CCC"].features[0]) and np.isnan(by["CCC"].features[1])  # RSI known, ADX warming up
    assert not by["CCC"].ready and np.isnan(by["CCC"].features[rank])
    assert by["CCC"].target == 0 and by["CCC"].portfolio_target == 0
    assert sorted(by[s].features[rank] for s in ("AAA", "BBB")) == [0.0, 1.0]
    if "symbol_CCC" in engine.resolved_features:
        assert by["CCC"].features[-3:].tolist() == [0.0, 0.0, 1.0]  # its one-hot column


def test_bars_of_a_symbol_outside_the_universe_are_refused(universe: tuple) -> None:
    bundle, bars, _ = universe
    engine = UniverseEngine.from_bundle(bundle)
    time = bars["AAA"].index[0]
    with pytest.raises(FeatureError, match=r"'AAX' \(did you mean 'AAA'\?\), not in the bundle's universe"):
        engine.step(time, {"AAA": bars["AAA"].loc[time], "AAX": bars["AAA"].loc[time]})


def test_a_bundle_whose_features_differ_from_what_it_computes_is_refused(universe: tuple) -> None:
    bundle, _, _ = universe
    documents = copy.deepcopy(bundle.documents)
    names = documents["features"]["resolved_features"]
    names[-1], names[-2] = names[-2], names[-1]  # the one-hot columns swapped: CCC's would read BBB's weights
    with pytest.raises(FeatureError, match=r"another order .* features are never reordered"):
        UniverseEngine.from_bundle(replace(bundle, documents=documents))
    if "symbol_CCC" not in names:
        return  # scaled per symbol: no one-hot columns (the spec refuses the embedding with per-symbol scaling)
    documents["features"]["resolved_features"] = [n.replace("symbol_CCC", "symbol_CCD") for n in names]
    with pytest.raises(FeatureError, match=r"missing \['symbol_CCD'\], unexpected \['symbol_CCC'\]"):
        UniverseEngine.from_bundle(replace(bundle, documents=documents))


def test_a_single_symbol_bundle_is_sent_to_the_single_symbol_engine(universe: tuple) -> None:
    bundle, _, _ = universe
    documents = copy.deepcopy(bundle.documents)
    documents["features"].pop("symbols")
    with pytest.raises(ModelError, match=r"single symbol's .* DecisionEngine\.from_bundle"):
        UniverseEngine.from_bundle(replace(bundle, documents=documents))


def test_a_gap_after_the_warm_up_names_the_symbol(universe: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle, bars, _ = universe
    engine = UniverseEngine.from_bundle(bundle)
    aaa = bars["AAA"]
    ready = [engine.step(time, {"AAA": aaa.loc[time]})["AAA"].ready for time in aaa.index[:40]]
    assert not ready[0] and ready[-1]  # warm (the other symbols have no bar: AAA decides alone)
    real = engine.streams["AAA"].update

    def gap(time: pd.Timestamp, bar: pd.Series) -> np.ndarray:
        row = real(time, bar)
        row[1] = np.nan
        return row

    monkeypatch.setattr(engine.streams["AAA"], "update", gap)
    with pytest.raises(FeatureError, match=r"AAA: features \['1d_adx_14'\] are NaN at .* after their warm-up"):
        engine.step(aaa.index[40], {"AAA": aaa.iloc[40]})


def test_each_symbol_is_scaled_as_the_run_scaled_it(universe: tuple) -> None:
    """Pooled: one scaler for every symbol; per_symbol: each its own, and a bundle without them is refused."""
    bundle, _, _ = universe
    engine = UniverseEngine.from_bundle(bundle)
    a, c = engine.scalers["AAA"], engine.scalers["CCC"]
    if "scalers" not in bundle.documents:
        assert a is c and a.mean_.tolist() == bundle.documents["scaler"]["mean"]
        return
    assert a.mean_.tolist() == bundle.documents["scalers"]["AAA"]["mean"] and a.mean_[0] != c.mean_[0]
    documents = copy.deepcopy(bundle.documents)
    documents.pop("scalers")
    with pytest.raises(ModelError, match="per_symbol but holds no per-symbol scalers"):
        UniverseEngine.from_bundle(replace(bundle, documents=documents))
