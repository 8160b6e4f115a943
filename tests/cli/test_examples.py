"""Packaged example strategies found by name, `neurotrade init`, and dates checked by `neurotrade backtest`
(issue 9, items 23 and 12)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import neurotrade
from neurotrade._examples import PACKAGED, example_names, resolve_strategy
from neurotrade.cli import main
from neurotrade.cli._backtest import parse_date
from neurotrade.errors import BacktestError, ConfigError, DataError

REPO = Path(__file__).resolve().parents[2]


def call(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replaces the pipeline's run with one that records the strategy's name and stops there (exit 2)."""
    names: list[str] = []

    def fake_run(spec, **kwargs):
        names.append(spec.name)
        raise DataError(f"stopped before training {spec.name}")

    monkeypatch.setattr("neurotrade.pipeline.run", fake_run)
    return names


def test_the_repository_strategies_folder_is_the_packaged_one() -> None:
    assert (REPO / "strategies").resolve() == PACKAGED
    assert {"default", "synthetic_lstm", "synthetic_trend"} <= set(example_names())
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "strategies/*.yaml" in package_data["neurotrade"]


def test_example_strategy_finds_packaged_files_from_any_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = neurotrade.example_strategy("default")
    assert path == PACKAGED / "default.yaml" and path.is_file()
    assert neurotrade.load_strategy(neurotrade.example_strategy("synthetic_lstm.yaml")).model.type == "lstm"
    with pytest.raises(ConfigError, match=r"no packaged strategy named 'defualt'; did you mean 'default'\?"):
        neurotrade.example_strategy("defualt")


def test_an_existing_file_wins_over_a_packaged_name(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "default").write_text("name: mine\n")
    assert resolve_strategy("default") == Path("default")
    assert resolve_strategy("synthetic_lstm") == PACKAGED / "synthetic_lstm.yaml"
    # A path with a folder is left to the loader, which names the missing file.
    assert resolve_strategy(Path("sub") / "synthetic_lstm") == Path("sub") / "synthetic_lstm"


def test_run_finds_a_packaged_strategy_by_name(tmp_path, monkeypatch, ran, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = call(["--home", str(tmp_path), "run", "synthetic_lstm"], capsys)
    assert code == 2 and "stopped before training synthetic_lstm" in err
    assert ran == [neurotrade.load_strategy(PACKAGED / "synthetic_lstm.yaml").name]


def test_run_of_an_unknown_name_lists_the_packaged_ones(tmp_path, monkeypatch, ran, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = call(["--home", str(tmp_path), "run", "synthetic_lstn"], capsys)
    assert code == 2 and ran == []
    message = " ".join(err.split())  # the console wraps long lines
    assert "no strategy file 'synthetic_lstn' here and no packaged strategy of that name; did you mean" in message
    assert "'synthetic_lstm'?" in message
    assert "Packaged strategies: aapl_fuzzy_mlp, aapl_neuro_fuzzy, default," in message
    assert "Traceback" not in err


def test_run_without_a_strategy_uses_the_packaged_default_outside_the_repository(
    tmp_path, monkeypatch, ran, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, _ = call(["--home", str(tmp_path), "run"], capsys)
    assert code == 2 and ran == [neurotrade.load_strategy(PACKAGED / "default.yaml").name]
    # ... and ./strategies/default.yaml when there is one.
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "default.yaml").write_text(
        (PACKAGED / "default.yaml").read_text().replace("name: stocks_universe", "name: local_default")
    )
    code, _, _ = call(["--home", str(tmp_path), "run"], capsys)
    assert code == 2 and ran[-1] == "local_default"


def test_validate_takes_names(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = call(["validate", "synthetic_trend", "default.yaml"], capsys)
    assert code == 0 and "OK synthetic_trend" in out and "OK default.yaml" in out
    code, out, _ = call(["validate", "synthetic_trnd"], capsys)
    assert code == 2 and "did you mean 'synthetic_trend'?" in " ".join(out.split())


def test_init_writes_a_starter_and_says_what_to_run(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = call(["--home", str(tmp_path / "ws"), "init", "mine"], capsys)
    written = tmp_path / "mine" / "strategy.yaml"
    assert code == 0
    assert written.read_text() == (PACKAGED / "default.yaml").read_text()
    assert "neurotrade validate mine/strategy.yaml" in out and "neurotrade run mine/strategy.yaml" in out
    assert str(tmp_path / "ws") in " ".join(out.split())
    assert neurotrade.load_strategy(written).name == "stocks_universe"


def test_init_never_overwrites(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "strategy.yaml").write_text("name: precious\n")
    code, _, err = call(["init", "mine", "--example", "synthetic_lstm"], capsys)
    assert code == 2 and "already exists; neurotrade init never overwrites a file" in " ".join(err.split())
    assert (tmp_path / "mine" / "strategy.yaml").read_text() == "name: precious\n"
    (tmp_path / "afile").write_text("")
    code, _, err = call(["init", "afile"], capsys)
    assert code == 2 and "is a file, not a folder" in err


def test_init_copies_another_example_and_refuses_unknown_ones(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, _ = call(["init", "lstm", "-e", "synthetic_lstm"], capsys)
    assert code == 0
    assert (tmp_path / "lstm" / "strategy.yaml").read_text() == (PACKAGED / "synthetic_lstm.yaml").read_text()
    code, _, err = call(["init", "other", "-e", "synthetic_lstn"], capsys)
    assert code == 2 and "did you mean 'synthetic_lstm'?" in err and not (tmp_path / "other").exists()


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--from", "yesterday", "Unknown datetime string format, unable to parse"),
        ("--to", "yesterday", "Unknown datetime string format, unable to parse"),
        ("--from", "2015-13-01", "month must be in 1..12"),
        ("--to", "99999-01-01", "year 99999 is out of range"),
        ("--to", "", None),
    ],
)
def test_backtest_refuses_a_date_it_cannot_read_in_one_line(option, value, reason, tmp_path, capsys) -> None:
    code, _, err = call(["--home", str(tmp_path), "backtest", "default", option, value], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith(f"error: {option} {value!r} is not a date")
    assert "give one like 2015-06-30" in lines[0]
    if reason:
        assert f"({reason})" in lines[0]


def test_dates_are_read_as_utc() -> None:
    assert parse_date("--from", None) is None
    assert str(parse_date("--from", "2015-06-30")) == "2015-06-30 00:00:00"
    assert str(parse_date("--to", " 2015-06-30T14:30+02:00 ")) == "2015-06-30 12:30:00"
    with pytest.raises(BacktestError, match="--to 'nan' is not a date; give one like"):
        parse_date("--to", "nan")


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (["backtest", "synthetic_lstm", "--from", "2015-06-30"], "neurotrade._replay.backtest_bundle"),
        (["audit", "synthetic_lstm"], "neurotrade.audit.audit"),
    ],
    ids=["backtest", "audit"],
)
def test_backtest_and_audit_find_packaged_strategies_by_name(command, target, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)

    def fake(strategy, **kwargs):
        raise DataError(f"given {strategy}")

    monkeypatch.setattr(target, fake)
    code, _, err = call(["--home", str(tmp_path), *command], capsys)
    assert code == 2 and f"given {PACKAGED / 'synthetic_lstm.yaml'}" in " ".join(err.split())
