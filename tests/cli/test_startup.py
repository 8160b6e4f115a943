"""The command line starts without the heavy libraries: `--help`, `--version` and `validate` load no torch,
numba or scikit-learn (issue 9, item 21). Checked on sys.modules in a fresh interpreter, not with a clock."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

import neurotrade

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "numba", "sklearn", "scipy", "llvmlite")

# Runs the CLI's entry point in this interpreter, then reports which heavy modules it loaded.
PROBE = """
import json, sys
from neurotrade.cli import main
args = json.loads(sys.argv[1])
code = 0
if args is not None:
    try:
        main(args)
    except SystemExit as e:
        code = e.code or 0
print(json.dumps({"code": code, "loaded": [m for m in json.loads(sys.argv[2]) if m in sys.modules]}))
"""


def probe(args: list[str] | None, tmp_path: Path) -> tuple[dict, str]:
    """The probe's verdict and everything the command printed before it."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=True,
    )
    *printed, verdict = done.stdout.strip().splitlines()
    return json.loads(verdict), "\n".join(printed)


@pytest.mark.parametrize(
    "args",
    [
        None,  # import neurotrade.cli alone
        ["--help"],
        ["--version"],
        ["validate", str(REPO / "strategies" / "default.yaml")],
        ["validate", "synthetic_lstm", "synthetic_trend"],
        ["run", "--help"],
        ["init", "starter"],
    ],
    ids=["import", "help", "version", "validate", "validate-by-name", "run-help", "init"],
)
def test_fast_commands_load_no_torch_numba_or_sklearn(args: list[str] | None, tmp_path: Path) -> None:
    result, _ = probe(args, tmp_path)
    assert result == {"code": 0, "loaded": []}


def test_validate_still_checks_indicator_parameters_without_numba(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nindicators:\n  macd: {fast: 30, slow: 20}\nnn_inputs: {indicators: [macd.hist]}\n")
    result, printed = probe(["validate", str(bad)], tmp_path)
    assert result == {"code": 2, "loaded": []}
    assert "indicators.macd.slow: must be greater than fast (30), got 20" in printed


def test_import_neurotrade_is_light_and_keeps_its_public_names() -> None:
    code = (
        "import sys, neurotrade; loaded = [m for m in ('torch', 'numba', 'sklearn', 'pandas') if m in sys.modules]; "
        "print(loaded, sorted(n for n in neurotrade.__all__ if not hasattr(neurotrade, n)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.strip() == "[] []"
    assert neurotrade.run is importlib.import_module("neurotrade.pipeline").run
    assert set(dir(neurotrade)) >= set(neurotrade.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = neurotrade.nope


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from neurotrade.cli import main

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert (info.value.code or 0) == 0
    out = capsys.readouterr().out
    assert out == f"neurotrade {neurotrade.__version__}\n"
    assert neurotrade.__version__ == importlib.metadata.version("neurotrade")
