"""The command line: exit codes, one-line user errors, validate, run."""

from __future__ import annotations

from pathlib import Path

import pytest

from neurotrade.cli import main
from neurotrade.errors import DataError


def call(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


def test_validate_ok_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = Path(__file__).resolve().parents[2] / "strategies" / "default.yaml"
    code, out, _ = call(["validate", str(good)], capsys)
    assert code == 0 and "OK" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nindicators:\n  rsi_14: {period: fourteen}\ntrainng: {}\n")
    code, out, _ = call(["validate", str(bad)], capsys)
    assert code == 2
    assert f"{bad}:3 indicators.rsi_14.period: must be an integer from 2 to 100000, got 'fourteen'" in out
    assert f"{bad}:4 trainng: unknown key 'trainng'; did you mean 'training'?" in out


def test_user_error_is_one_message_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = call(["--home", str(tmp_path), "run", str(tmp_path / "missing.yaml")], capsys)
    assert code == 2
    assert "error:" in err and "no such strategy file" in err
    assert "Traceback" not in err


def test_internal_error_exits_1_without_traceback(monkeypatch, tmp_path, small_strategy_file, capsys) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("neurotrade.pipeline.run", broken)
    code, _, err = call(["--home", str(tmp_path), "run", str(small_strategy_file)], capsys)
    assert code == 1 and "internal error: RuntimeError: boom" in err and "Traceback" not in err


def test_library_errors_raised_anywhere_exit_2(monkeypatch, tmp_path, small_strategy_file, capsys) -> None:
    def bad_data(*args, **kwargs):
        raise DataError("bars.csv: 'high' is below 'low' at line 17")

    monkeypatch.setattr("neurotrade.pipeline.run", bad_data)
    code, _, err = call(["--home", str(tmp_path), "run", str(small_strategy_file)], capsys)
    assert code == 2 and "bars.csv: 'high' is below 'low' at line 17" in err


def test_run_prints_metrics_beside_buy_and_hold(tmp_path, small_strategy_file, capsys) -> None:
    code, out, _ = call(["--home", str(tmp_path), "run", str(small_strategy_file)], capsys)
    assert code == 0
    assert "buy & hold" in out and "Sharpe" in out and "max drawdown" in out
    assert (tmp_path / "models" / "small_test" / "1d_v1" / "weights.safetensors").is_file()


def test_usage_errors_exit_2(capsys) -> None:
    code, _, _ = call(["run", "--no-such-option"], capsys)
    assert code == 2


def test_help_explains_the_commands(capsys) -> None:
    code, out, _ = call(["--help"], capsys)
    assert code == 0
    for command in ("run", "validate", "data", "models"):
        assert command in out


@pytest.mark.parametrize(
    "args",
    [
        ["init", "{tmp}/file.csv/x"],  # a file where a folder must be
        ["--home", "{tmp}/file.csv", "data", "list"],  # the workspace is a file
    ],
)
def test_a_path_that_cannot_be_used_is_one_line_and_exit_2(tmp_path: Path, capsys, args: list[str]) -> None:
    (tmp_path / "file.csv").write_text("time,open\n")
    code, _, err = call([a.format(tmp=tmp_path) for a in args], capsys)
    assert code == 2
    assert "error: cannot use" in err and "Not a directory" in err and "Traceback" not in err
    assert "internal error" not in err
