"""The report's issue-10 sections: CPCV paths, primary alone, forecasts, sizing and exits, each only when its data
exists, and every number in the column or row it claims."""

from __future__ import annotations

import json
import re
from pathlib import Path

from neurotrade.report import write_report

NEW_SECTIONS = ("CPCV paths", "Position sizing", "Forecasts (test windows)")


def headings(page: str) -> list[str]:
    return re.findall(r"<h2>(.*?)</h2>", page)


def row(page: str, label: str) -> list[str]:
    """The cells of the first table row whose first cell is ``label``."""
    found = re.search(rf"<tr><td>{re.escape(label)}</td>(.*?)</tr>", page)
    assert found, f"no row {label!r}"
    return re.findall(r"<td>(.*?)</td>", found.group(1))


def test_issue10_run_shows_every_new_section_in_place(issue10_run: Path) -> None:
    page = write_report(issue10_run).read_text()
    found = headings(page)
    assert found[:3] == ["Summary", "Equity and drawdown", "CPCV paths"]
    assert found.index("Price and trades") < found.index("Position sizing") < found.index("Forecasts (test windows)")
    assert found.index("Forecasts (test windows)") < found.index("Per fold")
    # 9 figures of a full run, plus path Sharpe, path equity, sizing, return, volatility and regime-change figures.
    assert page.count("Plotly.newPlot(") == 9 + 6
    assert page.count("window.PlotlyConfig") == 1


def test_summary_puts_primary_alone_beside_primary_plus_meta_and_buy_and_hold(issue10_run: Path) -> None:
    page = write_report(issue10_run).read_text()
    assert "<th>metric</th><th>primary + meta</th><th>primary alone</th><th>buy and hold</th>" in page
    # Each Sharpe in its own column: the strategy's 0.8, the primary's 0.31, buy-and-hold's -0.2.
    assert row(page, "sharpe")[:3] == ["0.800", "0.310", "-0.200"]
    assert row(page, "total return")[:3] == ["12.00%", "3.40%", "12.00%"]
    # The equity chart names the same curves.
    assert '"name":"primary + meta"' in page and '"name":"primary alone"' in page


def test_cpcv_headline_is_the_median_path_of_all(issue10_run: Path) -> None:
    page = write_report(issue10_run).read_text()
    summary = page[page.index("<h2>Summary</h2>") : page.index("<h2>Equity and drawdown</h2>")]
    assert "Headline: the median path 2 of 3" in summary
    assert "mean 0.633 ± 0.862, min -0.300, median 0.800, max 1.400; 66.7% of the paths positive" in summary
    cpcv = page[page.index("<h2>CPCV paths</h2>") :]
    assert row(cpcv, "2 (headline)") == ["0.800", "12.00%", "-7.00%", "2", ""]
    assert row(cpcv, "3") == ["-0.300", "-4.00%", "-11.00%", "3", ""]
    assert '"name":"headline path 2"' in page and '"name":"path 2 (headline)"' in page
    assert '"name":"path 1"' in page and '"name":"path 3"' in page


def test_forecasts_sizing_exits_and_fold_decisions(issue10_run: Path) -> None:
    page = write_report(issue10_run).read_text()
    assert row(page, "return") == ["180", "0.210", "0.0083", "56.00%"]
    assert row(page, "volatility") == ["180", "0.440", "0.0031", "–"]
    for trace in ("bars", "predicted volatility", "realised volatility", "regime-change score", "long entry size"):
        assert f'"name":"{trace}"' in page, trace
    assert "3 entries, mean size 0.750 and largest 0.750 (share of equity), 3 bars vetoed." in page
    # Reasons are counted with their numbers masked: the two spacing vetoes are one row.
    assert row(page, "vetoed: # bars since the last change (min #)")[:2] == ["2", "0"]
    assert row(page, "kelly # (p #, payoff #)")[:2] == ["60", "3"]
    assert row(page, "atr_stop") == ["1", "1", "150.00"]
    assert row(page, "signal") == ["1", "0", "-40.00"]
    fold = row(page[page.index("<h2>Per fold</h2>") :], "1")
    assert fold[-3:] == ["-2.10%", "1.234%", "4.500"]


def test_an_old_run_folder_renders_without_the_new_sections(bare_run: Path) -> None:
    page = write_report(bare_run).read_text()
    found = headings(page)
    assert not set(NEW_SECTIONS) & set(found)
    assert "primary alone" not in page and "primary + meta" not in page  # no column, curve or fold cell
    assert "exit reason" not in page and "Headline:" not in page and "expected move" not in page


def test_cpcv_without_paths_parquet_or_path_returns_still_renders(issue10_run: Path) -> None:
    (issue10_run / "paths.parquet").unlink()
    metrics = json.loads((issue10_run / "metrics.json").read_text())
    for path in metrics["aggregate"]["cpcv"]["paths"]:
        path["total_return_pct"] = path["max_drawdown_pct"] = None
    (issue10_run / "metrics.json").write_text(json.dumps(metrics))
    page = write_report(issue10_run).read_text()
    assert "CPCV paths" in headings(page)
    assert '"name":"path 1"' not in page  # no equity of every path without paths.parquet
    cpcv = page[page.index("<h2>CPCV paths</h2>") :]
    assert row(cpcv, "2 (headline)") == ["0.800", "–", "–", "2", ""]
