"""write_report: sections present exactly when their inputs are, one embedded plotly, no network, clear errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from neurotrade.cli import main
from neurotrade.errors import StoreError
from neurotrade.report import read_run, write_report

ALL_SECTIONS = (
    "Summary",
    "Equity and drawdown",
    "Price and trades",
    "Per fold",
    "Learning curves",
    # Diagnostics one might tune on come from validation rows; test-window read-outs say they are.
    "Confusion matrix (test windows)",
    "Calibration (validation rows)",
    "Feature importance (validation rows)",
    "Attention (test window)",
    "Regime latent (test windows)",
    "Ensemble",
    "Fuzzy rules (strongest first)",
    "Warnings",
)


def headings(page: str) -> list[str]:
    return re.findall(r"<h2>(.*?)</h2>", page)


def test_full_run_has_every_section_and_one_plotly(full_run: Path) -> None:
    out = write_report(full_run)
    assert out == full_run / "report.html"
    page = out.read_text()
    assert headings(page) == list(ALL_SECTIONS)
    # plotly.js is embedded once: its bundle defines the global once, every figure calls it.
    assert page.count("window.PlotlyConfig") == 1
    assert page.count("Plotly.newPlot(") == 9  # summary, folds, rules and warnings are tables and lists
    assert not re.search(r"<script[^>]+src=", page), "the page must not load scripts from anywhere"
    # Summary: strategy beside buy-and-hold and the baseline, percentages formatted, classifier rows.
    assert "<th>strategy</th><th>buy and hold</th><th>logistic baseline</th>" in page
    assert "<td>total return</td><td>12.00%</td><td>12.00%</td><td>12.00%</td>" in page
    assert "<td>classifier accuracy</td><td>65.43%</td><td>–</td><td>50.00%</td>" in page
    # Rules are text, never markup.
    assert "IF x &lt; y THEN &lt;SELL&gt; (0.55)" in page
    assert "2 trades (1 long, 1 short), 1 winners" in page
    assert "Not in this run" not in page


def test_bare_run_skips_optional_sections_and_says_so(bare_run: Path) -> None:
    page = write_report(bare_run).read_text()
    found = headings(page)
    for absent in ("Calibration", "Feature importance", "Attention", "Regime latent", "Ensemble"):
        assert not any(heading.startswith(absent) for heading in found)
    assert "Fuzzy rules (strongest first)" not in found
    assert found[-1] == "Not in this run"
    assert "calibration: no calibration.json in the run folder" in page
    assert "feature importance: no importance.json in the run folder" in page
    assert page.count("window.PlotlyConfig") == 1


def test_without_bundle_plots_decisions_and_says_why(bare_run: Path, tmp_path: Path) -> None:
    shutil.rmtree(tmp_path / "models")
    page = write_report(bare_run).read_text()
    found = headings(page)
    assert "Price and trades" not in found and "Decisions" in found
    assert "No price chart: the run&#x27;s model bundle (and so its data spec) is not available" in page
    # training.json went with the bundle; the folds' own histories still give the learning curves.
    assert "Learning curves" in found


def test_learning_curves_fall_back_to_bundle_history(bare_run: Path) -> None:
    metrics = json.loads((bare_run / "metrics.json").read_text())
    for fold in metrics["folds"]:
        del fold["training"]["history"]
    (bare_run / "metrics.json").write_text(json.dumps(metrics))
    page = write_report(bare_run).read_text()
    assert "Learning curves" in headings(page)
    assert "fold 2 train" in page and "fold 1 train" not in page


def test_read_run_reads_attention_npz(full_run: Path) -> None:
    (full_run / "attention.json").unlink()
    np.savez(full_run / "attention.npz", layer0=np.eye(4), layer1=np.full((4, 4), 0.25))
    data = read_run(full_run)
    assert sorted(data.attention) == ["layer0", "layer1"]
    assert data.bars is not None and data.bars.index[0] == data.equity.index[0]
    assert "Attention (test window)" in headings(write_report(full_run).read_text())


def test_missing_run_folder_suggests_a_close_one(full_run: Path) -> None:
    with pytest.raises(StoreError, match=r"run folder .*1d_v2 does not exist.*did you mean .*1d_v1\?"):
        write_report(full_run.parent / "1d_v2")


def test_incomplete_run_folder_names_the_missing_file(full_run: Path) -> None:
    (full_run / "equity.parquet").unlink()
    with pytest.raises(StoreError, match=r"not a complete run folder: equity.parquet missing; run the strategy"):
        write_report(full_run)


def test_corrupt_metrics_is_a_store_error(full_run: Path) -> None:
    (full_run / "metrics.json").write_text("{not json")
    with pytest.raises(StoreError, match=r"cannot read .*metrics.json"):
        write_report(full_run)


def test_cli_report_prints_the_path(full_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = full_run.parents[2]
    with pytest.raises(SystemExit) as info:
        main(["--home", str(home), "report", "demo/1d_v1"])
    out = capsys.readouterr().out
    assert info.value.code in (0, None)
    assert out.strip() == str(full_run / "report.html")
    assert (full_run / "report.html").is_file()


def test_cli_report_user_error_exits_2(full_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--home", str(full_run.parents[2]), "report", "demo/1d_v9"])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "does not exist" in err and "did you mean" in err and "Traceback" not in err
