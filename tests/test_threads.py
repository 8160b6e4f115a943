"""Issue 15, item 1: each process sizes its compute pools to the cores it is given, before they start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from neurotrade._threads import available_cores, thread_budget
from neurotrade.cli import main
from neurotrade.errors import ConfigError

PROBE = "import numba, torch; print(torch.get_num_threads(), numba.get_num_threads(), os.environ['OMP_NUM_THREADS'])"


def child(code: str, **env: str) -> list[str]:
    """What a fresh interpreter prints (no pool of this test process is touched)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS")}
    environment.pop("NEUROTRADE_THREADS", None)
    environment |= env
    done = subprocess.run(
        [sys.executable, "-c", f"import os\n{code}"], capture_output=True, text=True, env=environment, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_pools_are_sized_before_they_start() -> None:
    assert child(f"from neurotrade import configure_threads; configure_threads(1)\n{PROBE}") == ["1", "1", "1"]


def test_the_environment_variable_sizes_them_and_a_users_openmp_setting_is_kept() -> None:
    code = f"from neurotrade._threads import configure_threads; configure_threads()\n{PROBE}"
    assert child(code, NEUROTRADE_THREADS="1") == ["1", "1", "1"]
    assert child(code, NEUROTRADE_THREADS="1", OMP_NUM_THREADS="2")[2] == "2"


def test_pools_already_started_are_resized() -> None:
    code = f"import numba, torch\nfrom neurotrade._threads import configure_threads; configure_threads(1)\n{PROBE}"
    assert child(code)[:2] == ["1", "1"]


def test_workers_share_the_cores() -> None:
    assert thread_budget(1, cores=2) == 2 and thread_budget(4, cores=2) == 1 and thread_budget(2, cores=16) == 8
    assert thread_budget(1) == available_cores()
    with pytest.raises(ConfigError, match="workers must be a whole number >= 1, got 0"):
        thread_budget(0)


def test_a_bad_setting_is_a_user_error() -> None:
    code = (
        "from neurotrade._threads import configure_threads\n"
        "try:\n    configure_threads()\nexcept Exception as e:\n    print(e)"
    )
    assert (
        " ".join(child(code, NEUROTRADE_THREADS="many")) == "NEUROTRADE_THREADS must be a whole number >= 1, got 'many'"
    )


def test_the_cli_takes_threads(capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exit_code:
        main(["--threads", "0", "validate", "x.yaml"])
    assert exit_code.value.code == 2


def test_workers_size_each_process_to_its_share() -> None:
    code = f"from neurotrade._threads import configure_threads; configure_threads(workers={2 * available_cores()})\n"
    assert child(code + PROBE) == ["1", "1", "1"]
