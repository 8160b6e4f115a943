"""Issue 10: what the library can do is reachable from the strategy file, through the run, the engine and replay.

CPCV through `run` (purged and embargoed, paths assembled), meta-labels (position = side x act), return heads
(the engine's forecasts equal the batch run's), sizing, filters and exits (the replay's trades equal the run's).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from neurotrade import pipeline
from neurotrade._replay import backtest_bundle
from neurotrade.audit import ColumnAudit, _check_cpcv_split
from neurotrade.config import parse_strategy
from neurotrade.data import synthetic_ohlcv
from neurotrade.decision import DecisionEngine
from neurotrade.features import build_features
from neurotrade.labels import BUY, HOLD
from neurotrade.pipeline import load_bundle, run
from neurotrade.training import REPLAY_ATOL

BASE = (
    "data: {source: synthetic, bars: 900}\n"
    "indicators: {rsi_14: {}, adx_14: {}, sma_5: {period: 5}, sma_20: {period: 20}}\n"
    "nn_inputs: {indicators: [rsi_14, adx_14], context: {returns: [1, 5]}}\n"
)


def spec(name: str, extra: str):
    return parse_strategy(f"name: {name}\n{BASE}{extra}")


# CPCV -----------------------------------------------------------------------------------------------------------

CPCV = spec(
    "cpcv",
    "split: {method: cpcv, groups: 4, test_groups: 2, embargo: 7}\n"
    "labels: {type: zigzag, threshold_pct: 3, lookahead: 12}\n"
    "training: {epochs: 2, class_weights: balanced}\ndecisions: {confidence_threshold: 0.34}\n",
)


@pytest.fixture(scope="module")
def cpcv_run(tmp_path_factory: pytest.TempPathFactory):
    return run(CPCV, home=tmp_path_factory.mktemp("cpcv"), progress=False)


def test_cpcv_runs_a_model_per_split_and_reports_every_path(cpcv_run) -> None:
    metrics = cpcv_run.metrics
    assert len(metrics["folds"]) == math.comb(4, 2)
    summary = metrics["aggregate"]["cpcv"]
    assert len(summary["paths"]) == math.comb(3, 1) and summary["splits"] == 6
    paths = pd.read_parquet(cpcv_run.run_dir / "paths.parquet")
    assert list(paths.columns) == ["path_1", "path_2", "path_3"]
    shown = summary["paths"][summary["shown_path"] - 1]
    assert metrics["aggregate"]["strategy"]["sharpe"] == shown["sharpe"]  # the headline is the path it names
    equity = pd.read_parquet(cpcv_run.run_dir / "equity.parquet")
    np.testing.assert_array_equal(equity["strategy"].to_numpy(), paths[f"path_{summary['shown_path']}"].to_numpy())
    sharpes = sorted(p["sharpe"] for p in summary["paths"] if p["sharpe"] is not None)
    if sharpes:  # the lower median: never the flattering side
        assert shown["sharpe"] == sharpes[(len(sharpes) - 1) // 2]


def test_cpcv_purges_and_embargoes_every_split_of_the_run() -> None:
    bars = synthetic_ohlcv(900, seed=CPCV.seed)
    times = build_features(bars, CPCV).frame.index
    table = pipeline.make_labels(bars, CPCV).loc[times]
    checks = {name: ColumnAudit(name, "split") for name in ("purge", "embargo")}
    folds = pipeline.make_splits(times, table["t1"], CPCV)
    assert len(folds) == 6
    ends = pd.DatetimeIndex(table["t1"])
    for k, split in enumerate(folds):
        _check_cpcv_split(k, split, times, table["t1"], 7, checks)
        learned = np.union1d(split.train, split.validation)
        for start, stop in split.segments:
            # no training label's [t, t1] touches the group, nor starts in the embargo after its labels end
            tested = split.test[(split.test >= start) & (split.test < stop)]
            span_end = max(times[stop - 1], ends[tested].max())
            assert not ((times[learned] <= span_end) & (ends[learned] >= times[start])).any()
            after = np.searchsorted(times, span_end, side="right")
            assert not ((learned >= after) & (learned < after + 7)).any()
    assert checks["purge"].leaks == 0 and checks["embargo"].leaks == 0
    assert checks["purge"].cuts == 6


def test_the_cpcv_audit_catches_a_planted_unpurged_sample() -> None:
    times = pd.date_range("2020-01-01", periods=120, freq="D", tz="UTC")
    t1 = pd.Series(times).shift(-3)
    folds = pipeline.make_splits(times, t1, CPCV)
    split = folds[-1]  # tests the last two groups
    start = split.segments[0][0]
    planted = split.__class__(
        **{**split.__dict__, "train": np.union1d(split.train, [start - 2])}  # its label reaches the test group
    )
    checks = {name: ColumnAudit(name, "split") for name in ("purge", "embargo")}
    _check_cpcv_split(0, planted, times, t1, 7, checks)
    assert checks["purge"].leaks == 1 and "not purged" in checks["purge"].first_leak.detail


# Meta-labels ----------------------------------------------------------------------------------------------------

META = spec(
    "meta",
    "labels: {type: triple_barrier, profit_take: 1.5, stop_loss: 1.5, max_holding: 10, "
    "meta: {side: {fast: sma_5, slow: sma_20}}}\nsplit: {folds: 2}\n"
    "training: {epochs: 3, class_weights: balanced}\ndecisions: {confidence_threshold: 0.5, allow_short: true}\n",
)


def test_meta_label_positions_are_side_times_act(tmp_path) -> None:
    result = run(META, home=tmp_path, progress=False)
    decisions = pd.read_parquet(result.run_dir / "decisions.parquet")
    act = (decisions["p_buy"] >= 0.5).astype(int)
    np.testing.assert_array_equal(decisions["target"].to_numpy(), (decisions["side"] * act).to_numpy())
    assert set(decisions["side"].unique()) <= {-1, 0, 1} and (decisions["side"] != 0).any()
    aggregate = result.metrics["aggregate"]
    assert "primary" in aggregate and "primary" in pd.read_parquet(result.run_dir / "equity.parquet")
    # the labels are act (BUY) or pass (HOLD), never SELL; no side, no label
    table = pipeline.make_labels(synthetic_ohlcv(900, seed=META.seed), META)
    assert set(table["label"].dropna().unique()) <= {float(HOLD), float(BUY)}
    assert table.loc[table["side"] == 0, "label"].isna().all()
    # the engine decides side x act bar by bar, exactly as the run did
    engine = DecisionEngine.from_bundle(load_bundle("meta", home=tmp_path))
    bars = synthetic_ohlcv(900, seed=META.seed)
    last = result.metrics["folds"][-1]["window"]
    seen = {}
    for time, bar in bars.iterrows():
        if time == pd.Timestamp(last["first"]):
            engine.start_account()
        decision = engine.update(bar, time=time)
        if decision.ready and time >= pd.Timestamp(last["first"]):
            seen[time] = (decision.side, decision.target, decision.proba[BUY])
    batch = decisions[decisions["fold"] == 2]
    assert list(seen) == list(batch.index)
    np.testing.assert_array_equal([v[0] for v in seen.values()], batch["side"].to_numpy())
    np.testing.assert_array_equal([v[1] for v in seen.values()], batch["target"].to_numpy())
    np.testing.assert_allclose([v[2] for v in seen.values()], batch["p_buy"], rtol=0, atol=REPLAY_ATOL)


# Return heads, sizing, filters, exits: the engine's replay equals the run -----------------------------------------

HEADS = spec(
    "heads",
    "labels: {type: forward_return, horizon: 5, target: both}\nsplit: {folds: 2}\ntraining: {epochs: 3}\n"
    "decisions: {confidence_threshold: 0.34, allow_short: true, sizing: kelly, min_bars_between_signals: 2, "
    "min_expected_edge_pct: -5, max_trades_per_day: 1}\n"
    "backtest: {stop_loss_pct: 2, trailing_stop_pct: 4, atr_stop: {period: 10, multiple: 2}}\n",
)


@pytest.fixture(scope="module")
def heads_run(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("heads")
    return run(HEADS, home=home, progress=False), home


def test_replay_equals_the_run_with_heads_sizes_filters_and_stops(heads_run) -> None:
    result, home = heads_run
    last = result.metrics["folds"][-1]
    out = backtest_bundle(HEADS, home=home, start=last["window"]["first"][:10], end=last["window"]["last"][:10])
    batch = pd.read_parquet(result.run_dir / "decisions.parquet")
    batch = batch[batch["fold"] == last["fold"]]
    assert out.decisions.index.equals(batch.index)
    for column in ("target", "signal", "size_reason"):
        assert (out.decisions[column].to_numpy() == batch[column].to_numpy()).all(), column
    np.testing.assert_allclose(out.decisions["pred_return"], batch["pred_return"], rtol=0, atol=REPLAY_ATOL)
    np.testing.assert_allclose(out.decisions["size"], batch["size"], rtol=0, atol=1e-9)
    trades = pd.read_parquet(result.run_dir / "trades.parquet")
    trades = trades[trades["fold"] == last["fold"]].drop(columns="fold").reset_index(drop=True)
    # The run's trades.parquet chains the folds (later folds compound on earlier equity), so quantities and P&L
    # are scaled there; what each trade is (when, which side, at what prices, why it closed) must be the same.
    same = ["entry_time", "exit_time", "side", "entry_price", "exit_price", "return_pct", "bars_held", "exit_reason"]
    replayed = out.result.trades.reset_index(drop=True)[same]
    pd.testing.assert_frame_equal(replayed, trades[same], check_exact=False, rtol=1e-9)
    assert out.metrics["strategy"]["final_equity"] == pytest.approx(last["strategy"]["final_equity"], rel=1e-9)
    forecasts = pd.read_parquet(result.run_dir / "forecasts.parquet")
    assert {"pred_return", "realised_return"} <= set(forecasts.columns)
    assert "return" in result.metrics["aggregate"]["forecasts"]


def test_the_engine_tracks_what_the_backtest_holds_through_its_stops(heads_run) -> None:
    result, home = heads_run
    engine = DecisionEngine.from_bundle(load_bundle("heads", home=home))
    bars = synthetic_ohlcv(900, seed=HEADS.seed)
    decisions = pd.read_parquet(result.run_dir / "decisions.parquet")
    last = result.metrics["folds"][-1]
    first = pd.Timestamp(last["window"]["first"])
    held = {}
    for time, bar in bars.loc[: pd.Timestamp(last["window"]["last"])].iterrows():
        if time == first:  # the run's fold starts flat, with fresh rules and no position
            engine.start_account()
        decision = engine.update(bar, time=time)
        if time >= first:
            held[time] = decision.held
    batch = decisions[decisions["fold"] == last["fold"]]
    np.testing.assert_array_equal(np.sign(batch["position"].to_numpy()), [held[t] for t in batch.index])
    reasons = pd.read_parquet(result.run_dir / "trades.parquet")["exit_reason"]
    assert set(reasons) <= {"signal", "stop_loss", "take_profit", "trailing_stop", "atr_stop", "end"}


# Every new key: a located error for a bad value ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "split: {method: cpcv, groups: 4, test_groups: 4}",
            "<string>:5 split: test_groups (4) must be fewer than groups (4)",
        ),
        ("split: {method: cpcv, groups: 20, test_groups: 10}", "make 184756 models to train"),
        ("split: {method: cpcv, validation: 1.5}", "split.validation: must be a number"),
        ("labels: {type: triple_barrier, meta: {side: {fast: sma_5}}}", "labels.meta.side: a crossover needs both"),
        ("labels: {type: triple_barrier, meta: {side: {fast: sma_5, slow: sma_99}}}", "labels.meta.side.slow:"),
        ("labels: {type: triple_barrier, meta: {side: {indicator: rsi_14}}}", "a threshold rule needs a level"),
        ("labels: {type: triple_barrier, meta: {side: {bundle: x, fast: sma_5, slow: sma_20}}}", "exactly one rule"),
        ("labels: {type: zigzag, meta: {side: {fast: sma_5, slow: sma_20}}}", "labels.meta: unknown key"),
        ("labels: {type: forward_return, target: regresion}", "did you mean 'regression'?"),
        ("labels: {type: forward_return, target: both}\nmodel: {type: regime}", "cannot take (the regime model"),
        ("decisions: {sizing: kelley}", "decisions.sizing: must be one of"),
        ("decisions: {max_leverage: 20}", "decisions.max_leverage:"),
        ("decisions: {kelly_fraction: 0}", "decisions.kelly_fraction:"),
        ("decisions: {min_bars_between_signals: -1}", "decisions.min_bars_between_signals:"),
        ("decisions: {max_trades_per_day: 0}", "decisions.max_trades_per_day:"),
        ("decisions: {min_expected_edge_pct: .nan}", "decisions.min_expected_edge_pct:"),
        ("backtest: {stop_loss_pct: 100}", "backtest.stop_loss_pct:"),
        ("backtest: {trailing_stop_pct: 0}", "backtest.trailing_stop_pct:"),
        ("backtest: {take_profit_pct: true}", "backtest.take_profit_pct:"),
        ("backtest: {atr_stop: {period: 0}}", "backtest.atr_stop.period:"),
        ("backtest: {atr_stop: {multiple: -1}}", "backtest.atr_stop.multiple:"),
    ],
)
def test_every_new_key_is_validated_with_a_located_error(extra: str, message: str) -> None:
    from neurotrade.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        spec("bad", extra)


REGIME = spec(
    "regime_heads",
    "split: {folds: 2}\nmodel: {type: regime, lookback: 8, d_model: 8, heads: 2, layers: 1, latent_dim: 2, "
    "change_window: 10}\ntraining: {epochs: 2}\n"
    "decisions: {confidence_threshold: 0.34, allow_short: true, sizing: volatility_target}\n",
)


def test_the_regime_heads_reach_the_trace_the_engine_and_the_report(tmp_path) -> None:
    result = run(REGIME, home=tmp_path, progress=False)
    decisions = pd.read_parquet(result.run_dir / "decisions.parquet")
    assert {"pred_return", "pred_vol", "regime_change"} <= set(decisions.columns)
    assert (decisions["pred_vol"] > 0).all() and decisions["regime_change"].notna().any()
    forecasts = pd.read_parquet(result.run_dir / "forecasts.parquet")
    assert {"pred_vol", "realised_vol", "regime_change"} <= set(forecasts.columns)
    assert set(result.metrics["aggregate"]["forecasts"]) == {"return", "volatility"}
    engine = DecisionEngine.from_bundle(load_bundle("regime_heads", home=tmp_path))
    last = result.metrics["folds"][-1]["window"]
    batch = decisions[decisions["fold"] == 2]
    seen = {}
    for time, bar in synthetic_ohlcv(900, seed=REGIME.seed).iterrows():
        if time == pd.Timestamp(last["first"]):
            engine.start_account()
        decision = engine.update(bar, time=time)
        if time >= pd.Timestamp(last["first"]):
            seen[time] = decision
    assert list(seen) == list(batch.index)
    for column in ("pred_return", "pred_vol", "regime_change"):
        live = np.array([seen[t].outputs[column] for t in batch.index])
        np.testing.assert_allclose(live, batch[column], rtol=1e-7, atol=REPLAY_ATOL, err_msg=column)
    np.testing.assert_array_equal([seen[t].target for t in batch.index], batch["target"])
    np.testing.assert_allclose([seen[t].size for t in batch.index], batch["size"], rtol=1e-9, atol=1e-12)


def test_a_saved_bundle_can_be_the_primary_and_its_in_sample_sides_are_flagged(tmp_path) -> None:
    primary = spec(
        "prim",
        "labels: {type: forward_return, horizon: 5}\nsplit: {folds: 2}\ntraining: {epochs: 3}\n"
        "decisions: {confidence_threshold: 0.34, allow_short: true}\n",
    )
    run(primary, home=tmp_path, progress=False)
    meta = spec(
        "meta_on_bundle",
        "labels: {type: triple_barrier, max_holding: 10, meta: {side: {bundle: prim}}}\nsplit: {folds: 2}\n"
        "training: {epochs: 2}\ndecisions: {allow_short: true}\n",
    )
    result = run(meta, home=tmp_path, progress=False)
    assert any(
        "primary bundle prim/latest-1d was trained on bars up to" in w for w in result.metrics["aggregate"]["warnings"]
    )
    decisions = pd.read_parquet(result.run_dir / "decisions.parquet")
    # the side is the primary bundle's own decision at each bar, as its engine decides it
    engine = DecisionEngine.from_bundle(load_bundle("prim", home=tmp_path))
    targets = {t: engine.update(bar, time=t).target for t, bar in synthetic_ohlcv(900, seed=meta.seed).iterrows()}
    np.testing.assert_array_equal(decisions["side"].to_numpy(), [targets[t] for t in decisions.index])


# Review of issue 10: the sceptic's path -------------------------------------------------------------------------


def test_the_audit_passes_cpcv_with_a_return_head() -> None:
    # Regression: the audit used to perturb every bar after one cut, which under CPCV includes the training
    # samples' own bars after the test groups, and reported a false leak in the return head's target scale.
    from neurotrade.audit import audit

    both = spec(
        "cpcv_both",
        "labels: {type: forward_return, horizon: 5, target: both}\n"
        "split: {method: cpcv, groups: 4, test_groups: 2, embargo: 5}\ntraining: {epochs: 1}\n",
    )
    report = audit(both, cuts=3)
    assert report.ok, report.leaks


def test_cpcv_refuses_an_embargo_shorter_than_what_a_sample_reads(tmp_path) -> None:
    from neurotrade.errors import ConfigError

    lagged = spec("cpcv_lags", "split: {method: cpcv, groups: 4, test_groups: 2, embargo: 1}\ntraining: {epochs: 1}\n")
    lagged = lagged.model_copy(update={"nn_inputs": lagged.nn_inputs.model_copy(update={"lookback_periods": 3})})
    with pytest.raises(ConfigError, match=r"split.embargo is 1 bars, but each sample's input reads 3 earlier rows"):
        run(lagged, home=tmp_path, progress=False)


def test_cpcv_refuses_a_test_group_shorter_than_the_lookback(tmp_path) -> None:
    from neurotrade.errors import SplitError

    windows = spec(
        "cpcv_window",
        "split: {method: cpcv, groups: 10, test_groups: 1, embargo: 120}\nmodel: {type: lstm, lookback: 120}\n"
        "training: {epochs: 1}\n",
    )
    with pytest.raises(SplitError, match=r"has \d+ rows, all before the model's first full window"):
        run(windows, home=tmp_path, progress=False)


def test_a_primary_that_never_takes_a_side_is_named(tmp_path) -> None:
    from neurotrade.errors import ConfigError

    never = spec("never", "labels: {type: triple_barrier, meta: {side: {indicator: rsi_14, long_below: 0}}}\n")
    with pytest.raises(ConfigError, match=r"labels.meta.side: the primary rule takes no side on any of the \d+ bars"):
        run(never, home=tmp_path, progress=False)


def test_cpcv_positive_share_counts_every_path(cpcv_run) -> None:
    summary = cpcv_run.metrics["aggregate"]["cpcv"]
    sharpes = [p["sharpe"] for p in summary["paths"]]
    assert summary["sharpe"]["undefined"] == sum(s is None for s in sharpes)
    assert summary["sharpe"]["positive_share"] == sum(1 for s in sharpes if s is not None and s > 0) / len(sharpes)


def _window(prices: list[float], target: int, size: float, start: str):
    from neurotrade.backtest import simulate

    idx = pd.date_range(start, periods=len(prices), freq="D", tz="UTC")
    bars = pd.DataFrame({"open": prices, "high": prices, "low": prices, "close": prices, "volume": 1.0}, index=idx)
    targets = np.full(len(prices), target)
    return simulate(bars, targets, initial_cash=1000.0, size=np.full(len(prices), size)), len(prices)


def test_a_margin_call_in_an_early_fold_keeps_the_trade_table_whole() -> None:
    # Regression (second review of issue 10): chain() drops the trades of windows after a ruined one, and the
    # per-trade fold labels used to keep them, so writing the run folder raised a length mismatch.
    from types import SimpleNamespace

    from neurotrade import _folds

    ruined, n1 = _window([10.0, 10.0, 20.0, 20.0], -1, 5.0, "2024-01-01")  # a 5x short doubling: margin call
    alive, n2 = _window([10.0, 11.0, 10.0, 12.0, 11.0], 1, 1.0, "2024-02-01")
    assert "margin_call" in set(ruined.trades["exit_reason"]) and len(alive.trades) > 0

    def trading(result, n):
        return _folds.Trading(np.full((n, 3), np.nan), np.ones(n, int), np.ones(n, int), result, {})

    folds = [
        SimpleNamespace(
            index=i,
            network=trading(r, n),
            benchmark=trading(r, n),
            baselines={name: trading(r, n) for name in _folds.BASELINES},
            primary=None,
        )
        for i, (r, n) in enumerate([(ruined, n1), (alive, n2)])
    ]
    record = _folds._record(folds, [(f, None) for f in folds])
    assert len(record.fold_of_trade) == len(record.network.result.trades) == len(ruined.trades)
    assert record.network.result.trades.assign(fold=record.fold_of_trade)["fold"].tolist() == [1] * len(ruined.trades)


def test_seeds_stay_comparable_when_one_is_ruined() -> None:
    # Regression: performance() adds "ruined" only to a ruined path, and summarize_seeds refuses documents whose
    # keys differ, so a run with several seeds failed at its end when one seed met a margin call.
    from neurotrade.pipeline import _comparable
    from neurotrade.training import summarize_seeds

    alive = {"strategy": {"sharpe": 1.0, "final_equity": 2.0}, "warnings": []}
    ruined = {"strategy": {"sharpe": None, "final_equity": -1.0, "ruined": "2024-01-03"}, "warnings": ["x"]}
    summary = summarize_seeds([_comparable(alive), _comparable(ruined)])
    assert summary["strategy"]["ruined"] == {"values": [None, "2024-01-03"]}


def test_the_expected_edge_of_plain_labels_weighs_the_up_and_down_moves_apart() -> None:
    # Regression: a triple barrier with profit_take 3 and stop_loss 1.5 has up moves twice its down moves; the
    # pooled move made a short look 4.5x better than it is.
    from neurotrade.decision import DecisionRules

    rules = DecisionRules(allow_short=True, expected_move_pct=3.0, expected_loss_pct=1.5)
    proba = np.array([0.5, 0.3, 0.2])
    assert rules.expected_edge_pct(proba, 0) == pytest.approx(0.5 * 1.5 - 0.2 * 3.0)  # short
    assert rules.expected_edge_pct(np.array([0.2, 0.3, 0.5]), 2) == pytest.approx(0.5 * 3.0 - 0.2 * 1.5)  # long
