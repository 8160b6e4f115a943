"""The summary `neurotrade run` prints: each number under the metric and column it claims, the CPCV spread and
headline path, the primary signal alone, forecast quality, sizes and exits; none of these for an older run."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from neurotrade.cli._context import console
from neurotrade.cli._run import render_summary


def _trading(total_return: float, sharpe: float, trades: int) -> dict[str, Any]:
    return {"total_return": total_return, "sharpe": sharpe, "max_drawdown": -0.05, "trades": trades}


def _classification() -> dict[str, Any]:
    return {"samples": 120, "accuracy": 0.55, "majority_class": "HOLD", "majority_rate": 0.5, "log_loss": 1.01}


PLAIN = {
    "aggregate": {
        "window": {"first": "2021-01-04T00:00:00+00:00", "last": "2021-12-31T00:00:00+00:00"},
        "strategy": _trading(0.12, 0.8, 6),
        "buy_and_hold": _trading(0.30, -0.2, 1),
        "baselines": {"logistic": {"strategy": _trading(0.01, 0.05, 9), "classification": _classification()}},
        "signals": {"SELL": 3, "HOLD": 200, "BUY": 7},
        "classification": _classification(),
    },
    "folds": [
        {
            "fold": i,
            "window": {"first": "2021-01-04T00:00:00+00:00", "last": "2021-06-30T00:00:00+00:00"},
            "classification": {"test": {"accuracy": 0.5, "majority_rate": 0.4}},
            "strategy": _trading(0.06, 0.7, 3),
            "buy_and_hold": _trading(0.15, 0.1, 1),
        }
        for i in (1, 2)
    ],
}


def issue10() -> dict[str, Any]:
    metrics = copy.deepcopy(PLAIN)
    aggregate = metrics["aggregate"]
    aggregate["primary"] = _trading(0.034, 0.31, 14)
    aggregate["cpcv"] = {
        "groups": 6,
        "test_groups": 2,
        "splits": 15,
        "paths": [{"path": p, "sharpe": s} for p, s in enumerate((1.4, 0.8, -0.3, 0.6, 0.9), start=1)],
        "shown_path": 2,
        "sharpe": {"mean": 0.68, "std": 0.61, "min": -0.3, "median": 0.8, "max": 1.4, "positive_share": 0.8},
    }
    aggregate["forecasts"] = {
        "return": {"samples": 180, "correlation": 0.21, "mae": 0.0083, "direction_hit_rate": 0.56},
        "volatility": {"samples": 180, "correlation": 0.44, "mae": 0.0031},
    }
    aggregate["sizing"] = {"entries": 6, "mean_size": 0.75, "max_size": 2.5, "vetoed_bars": 11}
    return metrics


def summary(metrics: dict[str, Any], *, method: str, trades: pd.DataFrame, monkeypatch, capsys) -> str:
    monkeypatch.setattr(console, "_width", 220)  # one table row per line, whatever the terminal
    spec = SimpleNamespace(
        name="demo",
        data=SimpleNamespace(instrument="TEST", timeframe="1d"),
        split=SimpleNamespace(method=method),
        decisions=SimpleNamespace(confidence_threshold=0.4),
    )
    result = SimpleNamespace(
        strategy=spec,
        metrics=metrics,
        trades=trades,
        bundle=SimpleNamespace(path=Path("models/demo/1d_v1")),
        run_dir=Path("runs/demo/1d_v1"),
    )
    render_summary(result)
    return capsys.readouterr().out


def cells(out: str, label: str) -> list[str]:
    """The cells of the table row starting with ``label`` (the first table that has it)."""
    for line in out.splitlines():
        parts = [p.strip() for p in re.split(r"[│┃|]", line)]
        parts = [p for p in parts if p]
        if parts and parts[0] == label:
            return parts[1:]
    raise AssertionError(f"no row {label!r} in\n{out}")


def header(out: str) -> list[str]:
    return cells(out, "metric")


def test_issue10_summary_shows_each_number_in_its_own_column(monkeypatch, capsys: pytest.CaptureFixture) -> None:
    trades = pd.DataFrame({"exit_reason": ["signal", "atr_stop", "signal", "take_profit"]})
    out = summary(issue10(), method="cpcv", trades=trades, monkeypatch=monkeypatch, capsys=capsys)
    assert header(out) == ["primary + meta", "primary alone", "buy & hold", "logistic"]
    # The strategy's Sharpe 0.8, the primary alone 0.31, buy-and-hold -0.2, the baseline 0.05: never swapped.
    assert cells(out, "Sharpe") == ["0.80", "0.31", "-0.20", "0.05"]
    assert cells(out, "total return") == ["+12.00 %", "+3.40 %", "+30.00 %", "+1.00 %"]
    assert cells(out, "trades") == ["6", "14", "1", "9"]
    assert "cpcv over 2 split(s)" in out
    assert "CPCV: the median path 2 of 5" in out
    assert "CPCV: 5 paths from 15 splits of 6 groups, 2 tested per split; path Sharpe 0.68 ± 0.61 (mean ± std)" in out
    assert "min -0.30, median 0.80, max 1.40; 80.0 % of paths positive" in out
    assert "headline: median path 2 of 5 (the table above is that path, not the best one)" in out
    assert "Per split" in out
    assert (
        "return forecast on 180 test samples: correlation with the realised return 0.210, direction hit rate "
        "56.0 %, mean abs. error 0.0083"
    ) in out
    assert "volatility forecast on 180 test samples: correlation with the realised volatility 0.440" in out
    assert "sizing: 6 entries, mean size 0.75, largest 2.50 (share of equity); 11 bars vetoed" in out
    assert "exits: signal 2, atr_stop 1, take_profit 1" in out


def test_an_older_run_prints_none_of_the_new_lines(monkeypatch, capsys: pytest.CaptureFixture) -> None:
    trades = pd.DataFrame({"side": ["long"]})
    out = summary(copy.deepcopy(PLAIN), method="walk_forward", trades=trades, monkeypatch=monkeypatch, capsys=capsys)
    assert header(out) == ["strategy", "buy & hold", "logistic"]
    assert cells(out, "Sharpe") == ["0.80", "-0.20", "0.05"]
    assert "walk-forward over 2 fold(s)" in out and "Per fold" in out
    for absent in ("primary", "CPCV", "headline", "forecast", "sizing", "exits"):
        assert absent not in out, absent


def test_summary_line_examples_hold() -> None:
    """tests/test_doctests.py leaves the CLI out; the summary's line builders' examples run here."""
    import doctest

    import neurotrade.cli._run as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0


def test_a_ruined_column_says_so_below_the_table(monkeypatch, capsys: pytest.CaptureFixture) -> None:
    metrics = copy.deepcopy(PLAIN)
    metrics["aggregate"]["strategy"] = {**_trading(-1.2, None, 4), "ruined": "2021-03-05T00:00:00+00:00"}
    out = summary(metrics, method="walk_forward", trades=pd.DataFrame(), monkeypatch=monkeypatch, capsys=capsys)
    assert "ruined: strategy: a margin call at 2021-03-05" in out
    assert "ruined: buy & hold" not in out
