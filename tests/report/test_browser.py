"""The report in a real headless browser: loads offline with no console errors and plotly draws every figure."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neurotrade.report import write_report

CHROMIUM = Path("/usr/bin/chromium")

# CI installs chromium (.ci/run), so there a missing browser is a failure, not a reason to skip.
pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file() and not os.environ.get("CI"),
    reason="/usr/bin/chromium is missing (install Debian's chromium package to run this)",
)


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # Every host fails to resolve: a page that needs the network shows it as a console error or a blank chart.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1400,3000",
        # plotly draws after the load event; give its scripts time before the DOM is dumped.
        "--virtual-time-budget=5000",
        *extra,
        page.as_uri(),
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_report_renders_offline_without_console_errors(full_run: Path, tmp_path: Path) -> None:
    page = write_report(full_run)
    shot = tmp_path / "report.png"
    done = chromium(page, tmp_path / "profile-shot", f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], "\n".join(console)

    assert shot.is_file()
    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.shape == (3000, 1400)
    assert pixels.std() > 10, "the screenshot is blank"
    assert (pixels < 128).mean() > 0.002, "no dark pixels: text and charts did not draw"

    dom = chromium(page, tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert [line for line in dom.stderr.splitlines() if "CONSOLE" in line] == []
    # plotly replaces each figure's empty div with its SVG: one main-svg per figure at least.
    drawn = len(re.findall(r'class="main-svg"', dom.stdout))
    assert drawn >= write_report(full_run).read_text().count("Plotly.newPlot(") == 9
    assert 'class="trace boxes"' in dom.stdout, "the price candles were not drawn"  # plotly draws candles as boxes
    assert dom.stdout.count('class="hm"') == 5, "confusion matrix and four attention maps, each one heatmap"


def test_issue10_report_renders_every_figure_offline(issue10_run: Path, tmp_path: Path) -> None:
    """CPCV paths, primary alone, forecasts and sizing draw too, without console errors."""
    page = write_report(issue10_run)
    figures = page.read_text().count("Plotly.newPlot(")
    assert figures == 15
    dom = chromium(page, tmp_path / "profile-issue10", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert [line for line in dom.stderr.splitlines() if "CONSOLE" in line] == []
    assert len(re.findall(r'class="main-svg"', dom.stdout)) >= figures
    assert 'class="trace boxes"' in dom.stdout  # the candles, and the box of the paths' Sharpe ratios
