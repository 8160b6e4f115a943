"""``neurotrade data``: import, list, show, samples."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import neurotrade.cli._data  # noqa: F401  registers `data` on the root app
from neurotrade.cli import main
from neurotrade.cli._app import app
from neurotrade.data import DataStore


def _run(home, *args: str):
    result = CliRunner().invoke(app, ["--home", str(home), "data", *args])
    return result


def _exit(capsys, home, *args: str) -> tuple[int, str]:
    """Run through `main`, which turns user errors into one line and exit 2: the code and stderr."""
    with pytest.raises(SystemExit) as info:
        main(["--home", str(home), "data", *args])
    return info.value.code, capsys.readouterr().err


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


@pytest.mark.parametrize("symbol", [".", "..", "...", "a/b", "../x", "/tmp/x", ""])
def test_import_refuses_a_symbol_that_is_not_a_folder_name(
    tmp_path, write, make_csv, make_lines, capsys, monkeypatch, symbol
):
    # Regression (issue 9, item 13): `--symbol ..` wrote the bars outside the data folder.
    path = write(make_csv(make_lines(5)))
    monkeypatch.chdir(tmp_path)
    code, err = _exit(capsys, tmp_path / "ws", "import", str(path), "--symbol", symbol)
    assert code == 2
    assert f"invalid symbol {symbol!r}: a symbol starts with a letter or digit" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bars.csv"]  # nothing written, not even the workspace


@pytest.mark.parametrize("date", ["3000-01-03", "1500-01-03"])
def test_import_of_a_date_out_of_range_exits_2(tmp_path, write, date, capsys, monkeypatch):
    # Regression (issue 9, item 12): OutOfBoundsDatetime reached the user as an internal error (exit 1).
    path = write(f"Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,10\n{date},1,2,0.5,1.5,10\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["--home", str(tmp_path / "ws"), "data", "import", str(path), "--symbol", "X"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"the time '{date}' in 'Date' ({date}) at line 3 is outside the years neurotrade handles" in err


def test_import_refuses_implausible_prices_and_drops_them_on_request(
    tmp_path, write, make_csv, make_lines, capsys, monkeypatch
):
    lines = make_lines(10)
    lines[4] = "2020-01-06,100,1e308,99,1e308,1000"
    path = write(make_csv(lines))
    monkeypatch.chdir(tmp_path)
    code, err = _exit(capsys, tmp_path, "import", str(path), "--symbol", "X")
    assert code == 2
    assert "implausible prices: a move beyond x10 from one bar to the next at line 6" in err
    dropped = _run(tmp_path, "import", str(path), "--symbol", "X", "--repair", "implausible-drop", "-t", "1d")
    assert dropped.exit_code == 0, dropped.output
    assert "Imported X/1d: 9 bars" in dropped.stdout
    assert "repairs: implausible-drop (1 row)" in dropped.stdout
    lines[4] = "2020-01-06,100,2500,99,2400,1000"  # x23: real, say
    path = write(make_csv(lines))
    assert _run(tmp_path, "import", str(path), "--symbol", "X", "--max-move", "30").exit_code == 0
    assert _run(tmp_path, "import", str(path), "--symbol", "X", "--max-move", "inf").exit_code == 0
    code, err = _exit(capsys, tmp_path, "import", str(path), "--symbol", "X", "--max-move", "1")
    assert code == 2 and "max_move must be above 1" in err


def test_import_reports_gaps_and_show_lists_them(tmp_path, write):
    hours = pd.date_range("2024-01-01", periods=24 * 21, freq="h").delete(range(100, 130))
    rows = [
        f"{t:%Y-%m-%dT%H:%M},{100 + k % 5},{102 + k % 5},{99 + k % 5},{101 + k % 5},10" for k, t in enumerate(hours)
    ]
    path = write("Date,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    result = _run(tmp_path, "import", str(path), "--symbol", "BTC")
    assert result.exit_code == 0, result.output
    assert (
        "1 gap (30 bars missing), the longest 2024-01-05 03:00 to 2024-01-06 10:00 (30 missing); "
        "list them with: neurotrade data show BTC --timeframe 1h"
    ) in " ".join(result.stdout.split())
    shown = _run(tmp_path, "show", "BTC", "--timeframe", "1h", "--rows", "0")
    assert shown.exit_code == 0, shown.output
    assert "Gaps: bars missing" in shown.stdout
    assert "2024-01-05 03:00   2024-01-06 10:00        30" in shown.stdout
    only = _run(tmp_path, "show", "BTC", "--rows", "0")  # its only stored timeframe, without being told
    assert only.exit_code == 0 and "Gaps: bars missing" in only.stdout
    clean = _run(
        tmp_path, "import", str(write("Date,Open,High,Low,Close,Volume\n" + "\n".join(rows[:99]) + "\n")), "-s", "ETH"
    )
    assert "; no gaps" in clean.stdout


def test_import_of_a_csv_written_by_pandas(tmp_path, make_bars):
    # Regression (issue 9, item 24): the index column's empty header made the file unreadable.
    path = tmp_path / "bars.csv"
    make_bars(30).tz_localize(None).rename_axis(None).to_csv(path)
    result = _run(tmp_path / "ws", "import", str(path), "--symbol", "X")
    assert result.exit_code == 0, result.output
    assert "Imported X/1d: 30 bars" in result.stdout
