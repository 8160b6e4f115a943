"""The report of a universe run: the portfolio beside equal-weight buy-and-hold, every per-symbol number in the
column its header names, the contribution and exposure figures drawn from the run's own files, each symbol's
price; a single-symbol run's report shows none of it."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import neurotrade
from neurotrade._stages import load_universe
from neurotrade.config import DataSpec
from neurotrade.report import read_run, write_report
from neurotrade.report._universe import settings_text, signal_shares

UNIVERSE = """\
name: u_report
data: {source: synthetic, symbols: 3, bars: 900}
indicators: {rsi_14: {}, adx_14: {}}
nn_inputs: {indicators: [rsi_14, adx_14], cross_section: {rank: [rsi_14], zscore: [adx_14]}, symbol_embedding: true}
split: {folds: 2}
training: {epochs: 3, class_weights: balanced}
decisions: {confidence_threshold: 0.34}
"""
SINGLE = """\
name: s_report
data: {source: synthetic, bars: 600}
indicators: {rsi_14: {}}
nn_inputs: {indicators: [rsi_14]}
split: {folds: 2}
training: {epochs: 1}
"""
UNIVERSE_SECTIONS = (
    "Portfolio",
    "Portfolio equity and drawdown",
    "Per symbol",
    "Contribution by symbol",
    "Exposure over time",
    "Price and trades by symbol",
    "Per fold",
    "Learning curves",
    "Confusion matrix (test windows)",
)
SYMBOLS = ["S001", "S002", "S003"]


@pytest.fixture(scope="module")
def universe_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real three-symbol universe run (its report written by the run itself)."""
    home = tmp_path_factory.mktemp("universe")
    (home / "u.yaml").write_text(UNIVERSE)
    return neurotrade.run(home / "u.yaml", home=home, progress=False).run_dir


@pytest.fixture(scope="module")
def page(universe_run: Path) -> str:
    return (universe_run / "report.html").read_text()


@pytest.fixture(scope="module")
def metrics(universe_run: Path) -> dict[str, Any]:
    return json.loads((universe_run / "metrics.json").read_text())


def headings(text: str) -> list[str]:
    return re.findall(r"<h2>(.*?)</h2>", text)


def section(text: str, title: str) -> str:
    start = text.index(f"<h2>{html.escape(title)}</h2>")
    end = text.find("<section>", start)
    return text[start : end if end >= 0 else len(text)]


def rows(text: str) -> dict[str, list[str]]:
    """Every body row of the first table in ``text``: first cell -> the other cells."""
    body = text[text.index("<tbody>") : text.index("</tbody>")]
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body):
        cells = re.findall(r"<td>(.*?)</td>", row)
        out[cells[0]] = cells[1:]
    return out


def header(text: str) -> list[str]:
    head = text[text.index("<thead>") : text.index("</thead>")]
    return [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", head)]


def figure_data(text: str) -> list[dict[str, Any]]:
    """The traces of the first plotly figure in ``text``, typed arrays decoded to numpy."""
    start = text.index("Plotly.newPlot(")
    start = text.index("[", start)
    traces, _ = json.JSONDecoder().raw_decode(text[start:])
    for trace in traces:
        for key, value in trace.items():
            if isinstance(value, dict) and "bdata" in value:
                trace[key] = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return traces


def number(cell: str) -> float:
    """A cell's number as shown: ``12.34%`` -> 12.34, ``-8,385.32`` -> -8385.32."""
    return float(html.unescape(cell).replace(",", "").rstrip("%"))


def test_universe_report_sections_and_one_embedded_plotly(page: str) -> None:
    found = headings(page)
    assert found[: len(UNIVERSE_SECTIONS)] == list(UNIVERSE_SECTIONS)
    assert found[-1] == "Not in this run"
    # One symbol's charts would show one symbol as the run, or stack three traces on one time axis.
    for single in ("Summary", "Equity and drawdown", "Price and trades", "Decisions", "Position sizing"):
        assert single not in found
    assert "decision and entry-size charts: not drawn for a universe" in page
    assert page.count("window.PlotlyConfig") == 1
    assert page.count("Plotly.newPlot(") == 6  # portfolio, contribution, exposure, price, learning, confusion
    assert not re.search(r"<script[^>]+src=", page), "the page must not load scripts from anywhere"
    assert "universe of 3 symbols, one shared-cash portfolio" in page


def test_portfolio_summary_states_fraction_selection_and_the_portfolio_numbers(
    page: str, metrics: dict[str, Any], universe_run: Path
) -> None:
    portfolio = section(page, "Portfolio")
    aggregate = metrics["aggregate"]
    assert header(portfolio) == [
        "metric",
        "portfolio",
        "equal-weight buy and hold",
        "logistic baseline",
        "lorentzian knn baseline",
    ]
    table = rows(portfolio)
    columns = (
        aggregate["strategy"],
        aggregate["buy_and_hold"],
        aggregate["baselines"]["logistic"]["strategy"],
        aggregate["baselines"]["lorentzian_knn"]["strategy"],
    )
    for label, key, scale in (("total return", "total_return", 100), ("sharpe", "sharpe", 1), ("trades", "trades", 1)):
        for cell, trading in zip(table[label], columns, strict=True):
            assert number(cell) == pytest.approx(scale * trading[key], abs=0.006), (label, cell)
    assert number(table["classifier accuracy"][0]) == pytest.approx(
        100 * aggregate["classification"]["accuracy"], abs=0.006
    )
    fraction = aggregate["universe"]["position_fraction"]
    assert fraction == pytest.approx(1 / 3)
    assert f"Each new position takes <b>{100 * fraction:.2f}%</b> of the equity (position fraction)" in portfolio
    assert "Selection: <b>all</b>" in portfolio
    assert "3 symbols (S001, S002, S003), all traded." in portfolio
    gross = aggregate["universe"]["exposure"]["mean_gross"]
    assert f"On average {100 * gross:.2f}% of the equity was invested" in portfolio
    trades = pd.read_parquet(universe_run / "trades.parquet")
    assert f"<p>{len(trades)} trades (" in portfolio


def test_portfolio_equity_figure_is_the_portfolio_beside_buy_and_hold_with_drawdowns(
    page: str, universe_run: Path
) -> None:
    traces = figure_data(section(page, "Portfolio equity and drawdown"))
    names = [t["name"] for t in traces]
    assert names == [
        "portfolio",
        "equal-weight buy and hold",
        "logistic baseline",
        "lorentzian knn baseline",
        "portfolio drawdown",
        "equal-weight buy and hold drawdown",
    ]
    equity = pd.read_parquet(universe_run / "equity.parquet")
    np.testing.assert_allclose(traces[0]["y"], equity["strategy"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(traces[1]["y"], equity["buy_and_hold"].to_numpy(), rtol=1e-12)
    curve = equity["strategy"].to_numpy()
    np.testing.assert_allclose(traces[4]["y"], curve / np.maximum.accumulate(curve) - 1, rtol=1e-12, atol=1e-15)
    assert traces[4]["y"].max() <= 0 and traces[4]["y"].min() < 0


# Each per-symbol column: how to read its number from the symbol's metrics, and its scale as shown.
COLUMN_KEYS = {
    "test accuracy": (lambda m: m["classification"]["accuracy"], 100, 0.006),
    "return alone": (lambda m: m["strategy"]["total_return"], 100, 0.006),
    "Sharpe alone": (lambda m: m["strategy"]["sharpe"], 1, 0.0006),
    "buy & hold return": (lambda m: m["buy_and_hold"]["total_return"], 100, 0.006),
    "buy & hold Sharpe": (lambda m: m["buy_and_hold"]["sharpe"], 1, 0.0006),
    "trades alone": (lambda m: m["strategy"]["trades"], 1, 0),
    "BUY share": (lambda m: signal_share(m, "BUY"), 100, 0.06),
    "HOLD share": (lambda m: signal_share(m, "HOLD"), 100, 0.06),
    "SELL share": (lambda m: signal_share(m, "SELL"), 100, 0.06),
    "trades in portfolio": (lambda m: m["contribution"]["trades"], 1, 0),
    "contribution P&L": (lambda m: m["contribution"]["pnl"], 1, 0.006),
    "contribution % of initial cash": (lambda m: m["contribution"]["pnl_pct"], 1, 0.006),
}


def signal_share(record: dict[str, Any], name: str) -> float:
    signals = record["signals"]
    return signals[name] / (signals["BUY"] + signals["HOLD"] + signals["SELL"])


def test_per_symbol_table_shows_each_metric_in_its_column(page: str, metrics: dict[str, Any]) -> None:
    part = section(page, "Per symbol")
    assert header(part) == ["symbol", *COLUMN_KEYS]
    table = rows(part)
    assert list(table) == [*SYMBOLS, "all symbols"]
    checked = 0
    for symbol in SYMBOLS:
        record = metrics["symbols"][symbol]
        for cell, (title, (read, scale, tolerance)) in zip(table[symbol], COLUMN_KEYS.items(), strict=True):
            expected = read(record)
            assert expected is not None, (symbol, title)
            assert number(cell) == pytest.approx(scale * expected, abs=tolerance), (symbol, title, cell)
            checked += 1
    assert checked == 3 * len(COLUMN_KEYS)
    # The run traded: the table is not a column of zeros that any mapping would satisfy.
    assert sum(metrics["symbols"][s]["contribution"]["trades"] for s in SYMBOLS) > 0
    assert len({number(table[s][1]) for s in SYMBOLS}) == 3


def test_per_symbol_total_row_sums_the_portfolio_columns(page: str, metrics: dict[str, Any]) -> None:
    total = rows(section(page, "Per symbol"))["all symbols"]
    columns = list(COLUMN_KEYS)
    contributions = [metrics["symbols"][s]["contribution"] for s in SYMBOLS]
    assert number(total[columns.index("trades in portfolio")]) == sum(c["trades"] for c in contributions)
    pnl = sum(c["pnl"] for c in contributions)
    assert number(total[columns.index("contribution P&L")]) == pytest.approx(pnl, abs=0.006)
    # Summed over the symbols the contributions are the portfolio's P&L.
    final = metrics["aggregate"]["strategy"]["final_equity"]
    assert pnl == pytest.approx(final - 100_000.0, rel=1e-9)
    accuracy = metrics["aggregate"]["classification"]["accuracy"]
    assert number(total[columns.index("test accuracy")]) == pytest.approx(100 * accuracy, abs=0.006)
    shares = signal_shares(metrics["aggregate"]["signals"])
    assert number(total[columns.index("BUY share")]) == pytest.approx(100 * shares["BUY"], abs=0.06)
    assert total[columns.index("return alone")] == "–"  # no symbol's number stands in for the portfolio's


def test_contribution_figure_is_each_symbols_pnl_pct(page: str, metrics: dict[str, Any]) -> None:
    (bars,) = figure_data(section(page, "Contribution by symbol"))
    expected = {s: metrics["symbols"][s]["contribution"]["pnl_pct"] for s in SYMBOLS}
    assert sorted(bars["x"]) == SYMBOLS
    assert list(bars["x"]) == sorted(expected, key=lambda s: -expected[s])  # largest first
    np.testing.assert_allclose(np.asarray(bars["y"]), [expected[s] for s in bars["x"]], rtol=1e-12)


def test_exposure_figure_stacks_exposure_parquet_with_gross_from_equity(page: str, universe_run: Path) -> None:
    traces = figure_data(section(page, "Exposure over time"))
    exposure = pd.read_parquet(universe_run / "exposure.parquet")
    equity = pd.read_parquet(universe_run / "equity.parquet")
    assert [t["name"] for t in traces] == [*SYMBOLS, "gross exposure"]
    assert (exposure.to_numpy() >= 0).all()  # long only: one stack, no net line
    for trace in traces[:3]:
        assert trace["stackgroup"] == "exposure"
        np.testing.assert_allclose(trace["y"], exposure[trace["name"]].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(traces[3]["y"], equity["gross_exposure"].to_numpy(), rtol=1e-12)
    assert equity["gross_exposure"].max() > 0


def test_price_section_charts_every_symbol_with_its_own_bars_and_trades(
    page: str, universe_run: Path, metrics: dict[str, Any]
) -> None:
    part = section(page, "Price and trades by symbol")
    traces = figure_data(part)
    trades = pd.read_parquet(universe_run / "trades.parquet")
    candles = [t for t in traces if t["type"] == "candlestick"]
    assert [t["name"] for t in candles] == [f"{s} price" for s in SYMBOLS]
    assert [t.get("visible") for t in candles] == [True, False, False]
    for symbol in SYMBOLS:
        mine = trades[trades["symbol"] == symbol]
        exits = [t for t in traces if t["name"] == f"{symbol} exit"]
        assert len(exits) == (1 if len(mine) else 0)
        if len(mine):
            np.testing.assert_allclose(np.asarray(exits[0]["y"]), mine["exit_price"].to_numpy(), rtol=1e-12)
    for label in SYMBOLS:
        assert f'"label":"{label}"' in part
    # The bars are each symbol's own series, as the run loaded them (a synthetic symbol's seed is positional).
    data = read_run(universe_run)
    assert data.universe and data.bars is None and list(data.symbol_bars) == SYMBOLS
    assert data.spec is not None
    spec = DataSpec(source="synthetic", symbols=3, bars=900)
    loaded = load_universe(spec, home=universe_run, seed=int(data.spec["seed"]))
    window = data.equity.index
    for symbol, bars in data.symbol_bars.items():
        expected = loaded[symbol].loc[window[0] : window[-1]]
        pd.testing.assert_frame_equal(bars, expected)
    assert not data.symbol_bars["S001"]["close"].equals(data.symbol_bars["S002"]["close"])
    closes = [np.asarray(t["close"], dtype=np.float64) for t in candles]
    np.testing.assert_allclose(closes[1], data.symbol_bars["S002"]["close"].to_numpy(), rtol=1e-12)


def test_per_fold_table_counts_the_symbols(page: str, metrics: dict[str, Any]) -> None:
    part = section(page, "Per fold")
    assert header(part)[:4] == ["fold", "test window", "symbols", "train samples"]
    table = rows(part)
    for fold in metrics["folds"]:
        assert table[str(fold["fold"])][1] == "3"
        assert number(table[str(fold["fold"])][2]) == fold["split"]["train"]["samples"]


def test_warnings_open_at_the_top_of_the_portfolio_and_in_the_warnings_section(
    universe_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "runs" / "u_report" / universe_run.name
    shutil.copytree(universe_run, run)
    metrics = json.loads((run / "metrics.json").read_text())
    collapse = (
        "fold 1: the model predicts HOLD for 100.0 % of the 771 samples: it has collapsed onto one class; "
        "try class_weights: balanced, a lower learning rate or more informative features"
    )
    hugging = (
        "the portfolio hugs its benchmark: invested 97 % of the equity on average (buy-and-hold: 100 %), its "
        "returns correlate 0.95 with equal-weight buy-and-hold; judge it by the excess over buy-and-hold"
    )
    metrics["aggregate"]["warnings"] = [collapse, hugging]
    (run / "metrics.json").write_text(json.dumps(metrics))
    page = write_report(run).read_text()
    portfolio = section(page, "Portfolio")
    note = portfolio.index("<div class='note'><b>2 warnings:</b>")
    assert note < portfolio.index("<table>")  # read before any number
    for text in (collapse, hugging):
        assert html.escape(text) in portfolio[note:]
        assert html.escape(text) in section(page, "Warnings")
    assert headings(page)[-2:] == ["Warnings", "Not in this run"]


def test_universe_report_without_its_bundle_says_why_there_is_no_price(universe_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "runs" / "u_report" / universe_run.name
    shutil.copytree(universe_run, run)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["bundle_path"] = str(tmp_path / "models" / "gone")
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "exposure.parquet").unlink()
    page = write_report(run).read_text()
    found = headings(page)
    assert "Price and trades by symbol" not in found and "Exposure over time" not in found
    assert {"Portfolio", "Per symbol", "Contribution by symbol"} <= set(found)
    skipped = section(page, "Not in this run")
    assert "price and trades by symbol: the run&#x27;s model bundle (and so its data spec) is not available" in skipped
    assert "exposure over time: no exposure.parquet in the run folder" in skipped


def test_top_k_selection_is_stated_with_its_k() -> None:
    text = settings_text(
        {"symbols": ["A", "B", "C"], "traded": ["A", "B"], "selection": "top_k", "position_fraction": 0.5},
        {"portfolio": {"selection": "top_k", "top_k": 2}},
    )
    assert "2 traded (C: no test bars)" in text
    assert "Selection: <b>top_k</b> (long the 2 with the highest P(BUY) − P(SELL) at each bar)." in text
    assert "<b>50.00%</b> of the equity" in text
    shorts = settings_text(
        {"symbols": ["A", "B", "C", "D"], "selection": "top_k", "position_fraction": 0.25},
        {"portfolio": {"top_k": 1}, "decisions": {"allow_short": True}},
    )
    assert "4 symbols (A, B, C, D), all traded." in shorts
    assert "(long the 1 with the highest P(BUY) − P(SELL) at each bar, short the 1 with the lowest)." in shorts


def test_single_symbol_run_has_no_universe_section(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SINGLE)
    result = neurotrade.run(tmp_path / "s.yaml", home=tmp_path, progress=False)
    page = (result.run_dir / "report.html").read_text()
    found = headings(page)
    assert found[:2] == ["Summary", "Equity and drawdown"] and "Price and trades" in found
    for universe in UNIVERSE_SECTIONS[:6]:
        assert universe not in found
    assert "equal-weight buy and hold" not in page and "shared-cash portfolio" not in page
    assert "<th>symbols</th>" not in page
    data = read_run(result.run_dir)
    assert not data.universe and data.symbol_bars == {} and data.exposure is None and data.bars is not None


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(
    not CHROMIUM.is_file() and not os.environ.get("CI"),
    reason="/usr/bin/chromium is missing (install Debian's chromium package to run this)",
)
def test_universe_report_draws_offline_with_its_symbol_menu(universe_run: Path, tmp_path: Path) -> None:
    """In a headless browser with every host unresolvable: no console error, every figure drawn, the menu of
    symbols and the candles drawn."""
    page = universe_run / "report.html"
    done = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1400,3000",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert [line for line in done.stderr.splitlines() if "CONSOLE" in line] == []
    assert len(re.findall(r'class="main-svg"', done.stdout)) >= page.read_text().count("Plotly.newPlot(") == 6
    assert 'class="updatemenu-container"' in done.stdout, "the symbol menu was not drawn"
    assert 'class="trace boxes"' in done.stdout, "the candles were not drawn"
