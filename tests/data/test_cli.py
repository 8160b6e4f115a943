"""``neurotrade data``: import, list, show, samples."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import neurotrade.cli._data  # noqa: F401  registers `data` on the root app
from neurotrade.cli import main
from neurotrade.cli._app import app
from neurotrade.data import DataStore


def _run(home, *args: str):
    result = CliRunner().invoke(app, ["--home", str(home), "data", *args])
    return result


def test_import_infers_the_timeframe_and_stores(tmp_path, write, make_csv, make_lines):
    path = write(make_csv(make_lines(5)))
    result = _run(tmp_path, "import", str(path), "--symbol", "aapl")
    assert result.exit_code == 0, result.output
    assert "Imported AAPL/1d: 5 bars, 2020-01-02 to 2020-01-06, timeframe 1d (inferred)" in result.stdout
    entry = DataStore(tmp_path).entry("AAPL", "1d")
    assert entry.rows == 5
    assert entry.source == str(path)


def test_import_with_repairs_reports_them(tmp_path, write, make_csv, make_lines):
    lines = make_lines(6)
    lines = [lines[1], lines[0], lines[0], *lines[2:]]
    path = write(make_csv(lines))
    result = _run(tmp_path, "import", str(path), "-s", "X", "--repair", "sort,dedupe", "--timeframe", "1d")
    assert result.exit_code == 0, result.output
    assert "timeframe 1d;" in result.stdout
    assert "repairs: dedupe (1 row), sort (2 rows)" in result.stdout
    assert "dropped 1 exact duplicate row" in result.stderr  # the WARNING log, rendered by the root handler


def test_import_with_repeated_repair_options_and_a_timezone(tmp_path, write):
    text = "Date,Open,High,Low,Close,Volume\n2020-01-02 10:00,1,2,0.5,1.5,10\n2020-01-02 09:00,1,2,0.5,1.5,10\n"
    result = _run(tmp_path, "import", str(write(text)), "-s", "X", "--repair", "sort", "--repair", "dedupe",
                  "--timezone", "Europe/Berlin")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2020-01-02 08:00 to 2020-01-02 09:00, timeframe 1h (inferred)" in result.stdout


def test_list_and_show(tmp_path, write, make_csv, make_lines):
    assert "No bars stored" in _run(tmp_path, "list").stdout
    _run(tmp_path, "import", str(write(make_csv(make_lines(30)))), "--symbol", "AAPL")
    listing = _run(tmp_path, "list")
    assert listing.exit_code == 0
    assert "AAPL" in listing.stdout
    assert "30" in listing.stdout
    assert "2020-01-31" in listing.stdout
    shown = _run(tmp_path, "show", "aapl", "--rows", "2")
    assert shown.exit_code == 0, shown.output
    entry = DataStore(tmp_path).entry("AAPL")
    for fragment in ("AAPL/1d", entry.sha256, "2020-01-02", "2020-01-31", "...", "1,029"):
        assert fragment in shown.stdout
    assert "2020-01-05" not in shown.stdout  # only two bars from each end


def test_samples(tmp_path):
    result = _run(tmp_path, "samples")
    assert result.exit_code == 0
    for fragment in ("AAPL", "3270", "2000-03-01", "2013-03-01", "FB", "2012-05-18", "load_sample"):
        assert fragment in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["import", "missing.csv", "--symbol", "X"], "missing.csv: no such file"),
        (["show", "NOPE"], "no NOPE/1d in the data store"),
        (["import", "x.csv", "--symbol", "X", "--repair", "srot"], "Did you mean 'sort'?"),
    ],
)
def test_user_errors_exit_2_with_one_message(tmp_path, capsys, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["--home", str(tmp_path / "ws"), "data", *args])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error:")
    assert fragment in err
    assert "Traceback" not in err
