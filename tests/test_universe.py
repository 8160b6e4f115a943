"""Universes: one strategy over many symbols, pooled training purged in time, a shared-cash portfolio."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import neurotrade
from neurotrade import features
from neurotrade._universe import load_universe_data, universe_splits
from neurotrade.config import parse_strategy
from neurotrade.errors import ConfigError
from neurotrade.splits import pooled_splits, walk_forward_splits

SMALL = """
name: {name}
data: {{source: synthetic, bars: 900{data}}}
indicators: {{rsi_14: {{}}, adx_14: {{}}}}
nn_inputs: {{indicators: [rsi_14, adx_14]{inputs}}}
split: {{folds: 2}}
training: {{epochs: 3}}
decisions: {{confidence_threshold: 0.34}}
{extra}
"""


def small(name: str, data: str = "", inputs: str = "", extra: str = "") -> neurotrade.Strategy:
    return parse_strategy(SMALL.format(name=name, data=data, inputs=inputs, extra=extra))


def quiet(spec: neurotrade.Strategy, home: Path) -> neurotrade.RunResult:
    return neurotrade.run(spec, home=home, progress=False)


# --- purge in time across symbols ---------------------------------------------------------------------------------


def test_a_planted_sample_of_another_symbol_reaching_the_test_window_is_purged(tmp_path: Path) -> None:
    spec = small("plant", ", symbols: 3")
    u = load_universe_data(spec, tmp_path, lambda event: None)
    honest = universe_splits(u, spec)
    fold = honest[0]
    test_start = fold.time.times[fold.time.starts["test"]]
    # Plant: symbol S002's training sample 30 bars before validation gets a label ending inside the test window.
    block = u.blocks["S002"]
    train_b = fold.rows.train[(fold.rows.train >= block.start) & (fold.rows.train < block.stop)]
    planted = int(train_b[len(train_b) // 2])
    t1 = u.table["t1"].copy()
    t1.iloc[planted] = test_start + pd.Timedelta(days=3)
    u.table = u.table.assign(t1=t1.to_numpy())
    purged = universe_splits(u, spec)[0]
    assert planted in fold.rows.train and planted not in purged.rows.train
    # Purged in time: every symbol's sample at that bar leaves the training window, none of another bar does.
    at = u.frame.index[planted]
    gone = np.setdiff1d(fold.rows.train, purged.rows.train)
    assert set(u.frame.index[gone]) == {at} and len(gone) == len(u.symbols)
    # And no training or validation sample of any symbol reaches a later window.
    val_start = purged.time.times[purged.time.starts["validation"]]
    assert (pd.DatetimeIndex(u.table["t1"].iloc[purged.rows.train]) < val_start).all()
    assert (pd.DatetimeIndex(u.table["t1"].iloc[purged.rows.validation]) < test_start).all()


def test_pooled_windows_are_time_windows_for_every_symbol_with_the_embargo_in_time() -> None:
    days = pd.date_range("2024-01-01", periods=200, freq="D", tz="UTC")
    late = days[50:]  # a second symbol listed 50 days later
    times = days.append(late)
    t1 = pd.Series(list(days[2:]) + [pd.NaT] * 2 + list(late[2:]) + [pd.NaT] * 2)
    folds = pooled_splits(times, t1, lambda u, e: walk_forward_splits(u, e, folds=2, embargo=3))
    for fold in folds:
        test_times = fold.time.times[fold.time.test]
        assert set(times[fold.rows.test]) <= set(test_times)
        first_test = fold.time.times[fold.time.starts["test"]]
        assert times[fold.rows.test].min() >= fold.time.times[fold.time.starts["test"] + 3]  # embargo: 3 bars of time
        assert (pd.DatetimeIndex(t1.iloc[fold.rows.validation]) < first_test).all()
        # Both symbols are in the test window, at the same times.
        a, b = fold.rows.test[fold.rows.test < 200], fold.rows.test[fold.rows.test >= 200]
        assert list(times[a][-len(b) :]) == list(times[b])


# --- one symbol: today's path, bit for bit ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_and_universe(tmp_path_factory: pytest.TempPathFactory) -> tuple[neurotrade.RunResult, neurotrade.RunResult]:
    one = quiet(small("alone"), tmp_path_factory.mktemp("alone"))
    universe = quiet(small("alone", ", symbols: [X]"), tmp_path_factory.mktemp("universe"))
    return one, universe


def test_a_one_symbol_universe_gives_the_single_symbol_results_bit_for_bit(one_and_universe) -> None:
    one, universe = one_and_universe
    alone, mine = one.metrics["aggregate"], universe.metrics["symbols"]["X"]
    for key in ("classification", "signals", "strategy", "buy_and_hold", "baselines", "test_samples", "window"):
        assert json.dumps(alone[key], sort_keys=True) == json.dumps(mine[key], sort_keys=True), key
    # The one-symbol portfolio trades exactly what the symbol alone trades.
    ours = universe.trades.drop(columns=["symbol", "fold"]).reset_index(drop=True)
    theirs = one.trades.drop(columns=["fold"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours[theirs.columns], theirs, check_exact=False, rtol=1e-12)
    assert universe.metrics["aggregate"]["strategy"]["final_equity"] == pytest.approx(
        alone["strategy"]["final_equity"], rel=1e-12
    )
    d1 = pd.read_parquet(one.run_dir / "decisions.parquet")
    d2 = pd.read_parquet(universe.run_dir / "decisions.parquet")
    for column in ("p_sell", "p_hold", "p_buy", "target"):
        np.testing.assert_array_equal(d1[column].to_numpy(), d2[column].to_numpy())


def test_the_universe_bundle_names_its_symbols(one_and_universe) -> None:
    _, universe = one_and_universe
    docs = neurotrade.load_bundle(str(universe.bundle.path)).documents
    assert docs["features"]["symbols"] == ["X"] and docs["data"]["symbols"] == ["X"]
    assert docs["data"]["per_symbol"]["X"]["rows"] == 900


# --- several symbols, different histories -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_universe(tmp_path_factory: pytest.TempPathFactory) -> neurotrade.RunResult:
    spec = parse_strategy(
        """
name: pair
data: {source: sample, symbols: [AAPL, GOOG]}
indicators: {rsi_14: {}, adx_14: {}}
nn_inputs:
  indicators: [rsi_14, adx_14]
  context: {returns: [5]}
  cross_section: {rank: [rsi_14], zscore: [ret_5]}
  symbol_embedding: true
split: {folds: 2, embargo: 20}
training: {epochs: 3}
decisions: {confidence_threshold: 0.34}
"""
    )
    return quiet(spec, tmp_path_factory.mktemp("pair"))


def test_a_symbol_is_traded_only_on_its_own_bars(sample_universe: neurotrade.RunResult) -> None:
    run_dir = sample_universe.run_dir
    goog = neurotrade.data.load_sample("GOOG")
    decisions = pd.read_parquet(run_dir / "decisions.parquet")
    mine = decisions[decisions["symbol"] == "GOOG"]
    assert mine.index.isin(goog.index).all()  # no decision on a bar GOOG does not have
    exposure = pd.read_parquet(run_dir / "exposure.parquet")
    before = exposure.index < goog.index[0]
    assert (exposure.loc[before, "GOOG"] == 0).all()
    trades = pd.read_parquet(run_dir / "trades.parquet")
    assert (trades.loc[trades["symbol"] == "GOOG", "entry_time"] > goog.index[0]).all()


def test_the_universe_features_are_one_ordered_list(sample_universe: neurotrade.RunResult) -> None:
    docs = neurotrade.load_bundle(str(sample_universe.bundle.path)).documents
    assert docs["features"]["resolved_features"] == [
        "1d_rsi_14",
        "1d_adx_14",
        "1d_ret_5",
        "1d_rsi_14_xrank",
        "1d_ret_5_xz",
        "symbol_AAPL",
        "symbol_GOOG",
    ]


def test_the_summary_shows_the_portfolio_each_symbol_and_how_it_was_held(sample_universe) -> None:
    metrics = sample_universe.metrics
    universe = metrics["aggregate"]["universe"]
    assert universe["symbols"] == ["AAPL", "GOOG"] and universe["position_fraction"] == 0.5
    assert set(metrics["symbols"]) == {"AAPL", "GOOG"}
    pnl = sum(m["contribution"]["pnl"] for m in metrics["symbols"].values())
    trades = pd.read_parquet(sample_universe.run_dir / "trades.parquet")
    assert pnl == pytest.approx(trades["pnl"].sum(), rel=1e-9)
    final = metrics["aggregate"]["strategy"]["final_equity"]
    assert final == pytest.approx(100_000 * np.prod([1 + f["strategy"]["total_return"] for f in metrics["folds"]]))


def test_cross_sectional_features_read_only_their_own_bar() -> None:
    spec = small("x", ", symbols: [A, B, C]", ", cross_section: {rank: [rsi_14], zscore: [adx_14]}")
    rng = np.random.default_rng(3)
    idx = pd.date_range("2020-01-01", periods=50, freq="D", tz="UTC")
    frames = {  # different histories: B starts a bar later, C two
        s: pd.DataFrame({"1d_rsi_14": rng.normal(size=50 - k), "1d_adx_14": rng.normal(size=50 - k)}, index=idx[k:])
        for k, s in enumerate("ABC")
    }
    before = features.add_universe_features(frames, spec)
    changed = {s: f.copy() for s, f in frames.items()}
    changed["B"].iloc[30:] = 1e6  # the future of one symbol
    after = features.add_universe_features(changed, spec)
    for s in "ABC":
        early = before[s].index < idx[30]
        pd.testing.assert_frame_equal(before[s][early], after[s][early])


# --- the spec ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "extra", "message"),
    [
        ("{source: sample, symbol: AAPL, symbols: [MSFT]}", "", "give `symbol` (one) or `symbols`"),
        ("{source: sample, symbols: 3}", "", "a count of symbols (3) is for source 'synthetic'"),
        ("{source: sample, symbols: [AAPL, aapl]}", "", "symbols lists ['AAPL'] more than once"),
        ("{source: file, path: a.csv, symbols: [A, B]}", "", "needs `{symbol}` in `path`"),
        ("{source: sample, symbols: [A], universe: tech}", "", "give `symbols` or `universe`, not both"),
        ("{source: sample}", "portfolio: {top_k: 2}", "portfolio apply to a universe"),
        ("{source: sample, symbols: [A, B]}", "backtest: {stop_loss_pct: 2}", "backtest.stop_loss_pct cannot be used"),
        ("{source: sample, symbols: [A, B]}", "split: {method: cpcv}", "split.method: cpcv cannot be used"),
        (
            "{source: sample, symbols: [A, B]}\nnn_inputs: {indicators: [rsi_14], symbol_embedding: true, "
            "scaling: per_symbol}",
            "",
            "symbol_embedding cannot be used with nn_inputs.scaling: per_symbol",
        ),
        (
            "{source: sample, symbols: [A, B]}\nnn_inputs: {indicators: [rsi_14], cross_section: {rank: [rsi_14, "
            "rsi_14]}}",
            "",
            "rsi_14 listed twice in rank",
        ),
    ],
)
def test_universe_keys_are_checked_with_errors_that_teach(data: str, extra: str, message: str) -> None:
    inputs = "" if "nn_inputs" in data else "nn_inputs: {indicators: [rsi_14]}\n"
    text = f"name: x\ndata: {data}\nindicators: {{rsi_14: {{}}}}\n{inputs}{extra}\n"
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_strategy(text)


def test_a_named_universe_comes_from_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "universes.yaml").write_text("pair: [S1, S2]\n")
    spec = small("named", ", universe: pair")
    u = load_universe_data(spec, tmp_path, lambda event: None)
    assert u.symbols == ["S1", "S2"]
    with pytest.raises(ConfigError, match=r"'pairs' is not defined in .*did you mean 'pair'"):
        load_universe_data(small("named", ", universe: pairs"), tmp_path, lambda event: None)


def test_a_cross_section_of_an_unknown_feature_is_refused(tmp_path: Path) -> None:
    spec = small("bad", ", symbols: 2", ", cross_section: {rank: [rsi_99]}")
    with pytest.raises(ConfigError, match=r"nn_inputs\.cross_section\.rank: 'rsi_99' is not one of"):
        load_universe_data(spec, tmp_path, lambda event: None)


def test_top_k_holds_at_most_k_symbols(tmp_path: Path) -> None:
    spec = small("topk", ", symbols: 4", extra="portfolio: {selection: top_k, top_k: 2}")
    result = quiet(spec, tmp_path)
    exposure = pd.read_parquet(result.run_dir / "exposure.parquet")
    assert ((exposure != 0).sum(axis=1) <= 2).all()
    assert (exposure >= 0).all().all()  # no shorts without decisions.allow_short
    assert result.metrics["aggregate"]["universe"]["position_fraction"] == 0.5


def test_the_panel_runner_gives_each_symbol_its_own_features_bit_for_bit(tmp_path: Path) -> None:
    spec = parse_strategy(
        "name: panel\ndata: {source: sample, symbols: [AAPL, GOOG]}\n"
        "indicators: {rsi_14: {}, macd: {}, bbands_20: {period: 20}}\n"
        "nn_inputs: {indicators: [rsi_14, macd.hist, bbands_20.upper], lookback_periods: 1}\n"
    )
    u = load_universe_data(spec, tmp_path, lambda event: None)
    for symbol in u.symbols:
        alone = features.build_features(u.bars[symbol], spec).frame
        pd.testing.assert_frame_equal(u.frame.iloc[u.blocks[symbol]], alone, check_exact=True)


def test_a_file_source_reads_each_symbol_from_its_own_file(tmp_path: Path) -> None:
    for seed, symbol in enumerate(["AAA", "BBB"]):
        neurotrade.data.synthetic_ohlcv(400 + 100 * seed, seed=seed).to_csv(tmp_path / f"{symbol}.csv")
    spec = parse_strategy(
        f"name: files\ndata: {{source: file, path: '{tmp_path}/{{symbol}}.csv', symbols: [AAA, BBB]}}\n"
        "indicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"
    )
    u = load_universe_data(spec, tmp_path, lambda event: None)
    assert [len(u.bars[s]) for s in u.symbols] == [400, 500]
    (tmp_path / "BBB.csv").unlink()
    with pytest.raises(ConfigError, match=r"data\.path: no such file '.*BBB\.csv'"):
        parse_strategy(
            f"name: files\ndata: {{source: file, path: '{tmp_path}/{{symbol}}.csv', symbols: [AAA, BBB]}}\n"
            "indicators: {rsi_14: {}}\nnn_inputs: {indicators: [rsi_14]}\n"
        )


def test_data_universe_defines_lists_and_shows_universes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from neurotrade.cli import main

    def call(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as info:
            main(["--home", str(tmp_path), "data", "universe", *args])
        return int(info.value.code or 0), " ".join(capsys.readouterr().out.split())

    assert call("pair", "S1", "S2")[0] == 0
    assert call("pair") == (0, "S1 S2")
    assert "pair" in call()[1]
    code, out = call("pairs")
    assert code == 2 and "no universe 'pairs'" in out
    assert load_universe_data(small("named", ", universe: pair"), tmp_path, lambda event: None).symbols == ["S1", "S2"]


def test_the_onnx_sidecar_of_a_universe_names_its_symbols_and_per_symbol_scalers(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from neurotrade.store import export_onnx, load_bundle

    spec = small("onnx_u", ", symbols: 2", ", cross_section: {rank: [rsi_14]}, scaling: per_symbol")
    result = quiet(spec, tmp_path)
    out = export_onnx(load_bundle(tmp_path / "models", result.bundle.name), tmp_path / "u.onnx")
    sidecar = json.loads((tmp_path / "u.preprocess.json").read_text())
    assert out.is_file() and sidecar["symbols"] == ["S001", "S002"]
    assert set(sidecar["per_symbol"]) == {"S001", "S002"} and "1d_rsi_14_xrank" in sidecar["cross_section"]
    scalers = load_bundle(tmp_path / "models", result.bundle.name).documents["scalers"]
    assert sidecar["per_symbol"]["S002"]["mean"] == scalers["S002"]["mean"] != scalers["S001"]["mean"]


# --- regressions from review ---------------------------------------------------------------------------------


def test_the_benchmark_holds_the_whole_universe_whatever_top_k_allows(tmp_path: Path) -> None:
    """Equal-weight buy-and-hold is one thing for every selection: before, top_k gave it top_k's larger share
    per symbol (0.5 each over 4 symbols: the first two bought took all the cash)."""
    every = quiet(small("every", ", symbols: 4"), tmp_path / "every").metrics["aggregate"]["buy_and_hold"]
    spec = small("top", ", symbols: 4", extra="portfolio: {selection: top_k, top_k: 2, max_position_pct: 40}")
    top = quiet(spec, tmp_path / "top").metrics["aggregate"]["buy_and_hold"]
    assert top["total_return"] == pytest.approx(every["total_return"], rel=1e-12)


def test_each_folds_portfolio_metrics_count_its_fills_and_trades_at_its_own_scale(sample_universe) -> None:
    """A fold's turnover was 0 (its fills were dropped) and its trades' P&L stayed in the chained account's cash
    while its equity was rescaled to the initial cash."""
    traded = [f["strategy"] for f in sample_universe.metrics["folds"] if f["strategy"]["trades"]]
    assert traded
    for fold in traded:
        assert fold["turnover"] > 0
        assert fold["expectancy"] * fold["trades"] == pytest.approx(fold["final_equity"] - 100_000, rel=0.05, abs=200)


def test_each_symbol_alone_is_annualised_on_its_own_calendar(sample_universe) -> None:
    from neurotrade.backtest import observed_periods_per_year

    goog = neurotrade.data.load_sample("GOOG")
    mine = sample_universe.metrics["symbols"]["GOOG"]["periods_per_year"]
    assert mine == pytest.approx(observed_periods_per_year(goog.index), rel=1e-12)


def test_the_trial_ledger_knows_a_universe_whatever_order_its_symbols_are_listed_in(tmp_path: Path) -> None:
    for seed, symbol in enumerate(["AAA", "BBB"]):
        neurotrade.data.synthetic_ohlcv(900, seed=seed).to_csv(tmp_path / f"{symbol}.csv")

    def files(name: str, symbols: str, extra: str = "", path: str = "{symbol}") -> neurotrade.Strategy:
        text = SMALL.format(name=name, data="", inputs="", extra=extra)
        source = f"source: file, path: '{tmp_path}/{path}.csv', {symbols}"
        return parse_strategy(text.replace("source: synthetic, bars: 900", source))

    first = quiet(files("order", "symbols: [AAA, BBB]"), tmp_path).metrics["aggregate"]["strategy"]
    again = quiet(files("order", "symbols: [BBB, AAA]", "seed: 7"), tmp_path).metrics["aggregate"]["strategy"]
    assert (first["trials"], again["trials"]) == (1, 2)  # the same bars: the second counts the first
    alone = quiet(files("alone", "symbol: AAA", "seed: 9", "AAA"), tmp_path).metrics["aggregate"]["strategy"]
    assert alone["trials"] == 1
    assert "2 more were tried on other data holding the symbols" in alone["trials_source"]


def test_a_universe_column_never_overwrites_a_base_feature_of_the_same_name() -> None:
    spec = small("x", ", symbols: [A, B]", ", cross_section: {rank: [rsi_14]}")
    idx = pd.date_range("2020-01-01", periods=3, freq="D", tz="UTC")
    frame = pd.DataFrame({"1d_rsi_14": [1.0, 2.0, 3.0], "1d_rsi_14_xrank": [0.0, 0.0, 0.0]}, index=idx)
    with pytest.raises(ConfigError, match="1d_rsi_14_xrank clash with base features"):
        features.add_universe_features({"A": frame, "B": frame}, spec)


def test_a_universes_file_is_held_to_the_rules_of_data_universe(tmp_path: Path) -> None:
    (tmp_path / "universes.yaml").write_text("pair: [AAPL, aapl]\n")
    with pytest.raises(ConfigError, match=r"universe 'pair' lists a symbol more than once"):
        load_universe_data(small("named", ", universe: pair"), tmp_path, lambda event: None)
