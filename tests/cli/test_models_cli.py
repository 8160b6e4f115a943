"""`neurotrade models list`: every number in the table is the one its column names (issue 9 item 19)."""

from __future__ import annotations

import torch
from typer.testing import CliRunner

from neurotrade.cli import _models
from neurotrade.cli._app import app
from neurotrade.store import save_bundle

runner = CliRunner()


def _metrics(accuracy, strategy_sharpe, total_return, benchmark_sharpe):
    """Laid out (and ordered) as neurotrade.run writes metrics.json: buy-and-hold and the baselines each have a
    Sharpe ratio of their own beside the strategy's, and so does every fold."""
    performance = {"total_return": 0.9, "sharpe": 9.9, "max_drawdown": -0.5}
    return {
        "aggregate": {
            "window": {"first": "2020-01-01T00:00:00+00:00", "last": "2021-01-01T00:00:00+00:00"},
            "periods_per_year": 252.0,
            "test_samples": 250,
            "classification": {"samples": 250, "accuracy": accuracy, "majority_rate": 0.6, "log_loss": 1.05},
            "signals": {"SELL": 10, "HOLD": 200, "BUY": 40},
            "strategy": {
                **performance,
                "total_return": total_return,
                "sharpe": strategy_sharpe,
                "deflated_sharpe_excess": 0.2,
            },
            "buy_and_hold": {**performance, "sharpe": benchmark_sharpe},
            "baselines": {
                "logistic": {"classification": {"accuracy": 0.7}, "strategy": {**performance, "sharpe": 1.11}},
            },
        },
        "folds": [{"fold": 1, "strategy": {"sharpe": 3.3}, "buy_and_hold": {"sharpe": 0.01}}],
    }


def _rows(output: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in output.splitlines() if "/" in line and "_v" in line}


def _list(home, *args) -> str:
    result = runner.invoke(app, ["--home", str(home), "models", "list", *args], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_sharpe_column_is_the_strategys_not_buy_and_holds(tmp_path):
    weights = {"w": torch.ones(2)}
    models = tmp_path / "models"
    save_bundle(models, "trend", "1d", weights=weights, documents={"metrics": _metrics(0.512, 0.42, 0.134, 1.87)})
    save_bundle(models, "trend", "1d", weights=weights, documents={"metrics": _metrics(0.47, -0.35, -0.081, 0.66)})
    out = _list(tmp_path)
    assert [c.header for c in _models.LIST_COLUMNS] == ["Accuracy", "Return", "Sharpe", "B&H\nSharpe"]
    header = " ".join(out.split("─")[0].split())
    assert "Name Created (UTC) Latest Accuracy Return Sharpe" in header
    assert "B&H" in header
    rows = _rows(out)
    # Name, date, time, [latest], then accuracy, the strategy's total return and Sharpe, buy-and-hold's Sharpe.
    assert rows["trend/1d_v1"][-4:] == ["0.512", "+13.4%", "0.42", "1.87"]
    assert rows["trend/1d_v2"][-5:] == ["*", "0.47", "-8.1%", "-0.35", "0.66"]
    caption = " ".join(out.split())
    assert "Out of sample (every fold's test window, chained): the strategy's accuracy, total return and Sharpe;" in (
        caption
    )
    assert "B&H Sharpe is buy-and-hold's on the same bars." in caption


def test_each_column_shows_the_value_at_its_key_path(tmp_path):
    metrics = _metrics(0.333, 1.25, 0.5, -0.75)
    save_bundle(tmp_path / "models", "trend", "1d", weights={"w": torch.ones(2)}, documents={"metrics": metrics})
    cells = _rows(_list(tmp_path))["trend/1d_v1"][-4:]
    for column, cell in zip(_models.LIST_COLUMNS, cells, strict=True):
        value = metrics
        for key in column.path:
            value = value[key]
        assert cell == column.render(value), column.header
    assert [c.path[1:] for c in _models.LIST_COLUMNS] == [
        ("classification", "accuracy"),
        ("strategy", "total_return"),
        ("strategy", "sharpe"),
        ("buy_and_hold", "sharpe"),
    ]


def test_missing_numbers_show_as_a_dash(tmp_path):
    partial = _metrics(0.5, 0.1, 0.1, 0.2)
    partial["aggregate"]["strategy"]["sharpe"] = None  # no variation: performance() records None
    weights = {"w": torch.ones(2)}
    save_bundle(tmp_path / "models", "trend", "1d", weights=weights, documents={"metrics": partial})
    save_bundle(tmp_path / "models", "trend", "1d", weights=weights, documents={"metrics": _metrics(0.6, 0.3, 0, 0)})
    save_bundle(tmp_path / "models", "bare", "1d", weights=weights, documents={"seed": 1})
    rows = _rows(_list(tmp_path))
    assert rows["trend/1d_v1"][-4:] == ["0.5", "+10.0%", "-", "0.2"]
    assert rows["trend/1d_v2"][-5:] == ["*", "0.6", "+0.0%", "0.3", "0"]
    assert rows["bare/1d_v1"][-5:] == ["*", "-", "-", "-", "-"]
    # A column nobody has a number for is left out.
    assert "Sharpe" not in _list(tmp_path, "bare")


def test_the_newest_of_each_timeframe_is_marked(tmp_path):
    weights = {"w": torch.ones(2)}
    for timeframe in ("1d", "4h", "1d"):
        save_bundle(tmp_path / "models", "trend", timeframe, weights=weights, documents={"seed": 1})
    out = _list(tmp_path)
    rows = _rows(out)
    assert rows["trend/1d_v1"][-1] != "*"
    assert rows["trend/4h_v2"][-1] == "(4h)"
    assert rows["trend/1d_v3"][-1] == "*"
    assert "(tf) the newest of its timeframe, which `neurotrade backtest` trades on data of that timeframe" in " ".join(
        out.split()
    )
