"""Issue 12, item 4: ``run --workers N`` trains the (seed, fold) pairs as Ray tasks and gives the sequential run's
results bit for bit on the CPU (metrics.json, every parquet of the run folder, the bundle's weights)."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from neurotrade._parallel import Job, train_in_parallel
from neurotrade._threads import available_cores
from neurotrade.cli import main
from neurotrade.config import parse_strategy
from neurotrade.errors import ConfigError, ModelError, NeurotradeError
from neurotrade.pipeline import ProgressEvent, RunResult, run

ONE_SYMBOL = """\
name: workers_one
data: {source: synthetic, bars: 900}
indicators: {rsi_14: {}, sma_20: {}}
nn_inputs: {indicators: [rsi_14], context: {price_over_ma: [20]}}
split: {folds: 2}
training: {epochs: 3, seeds: [1, 2]}
"""

UNIVERSE = """\
name: workers_universe
data: {source: synthetic, bars: 900, symbols: 3}
indicators: {rsi_14: {}}
nn_inputs: {indicators: [rsi_14]}
split: {folds: 2}
training: {epochs: 3, seeds: [1, 2]}
"""


def call(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0), capsys.readouterr().err


# These run before the module's Ray starts: a Ray already running in this process is used whatever the address.


def test_zero_workers_and_an_address_without_workers_are_refused(tmp_path: Path, capsys) -> None:
    spec = parse_strategy(ONE_SYMBOL)
    with pytest.raises(ConfigError, match=r"workers must be a whole number >= 1, got 0: 1 trains the folds one"):
        run(spec, home=tmp_path, progress=False, workers=0)
    with pytest.raises(ConfigError, match=r"address 'auto' is where Ray workers train, but workers is 1"):
        run(spec, home=tmp_path, progress=False, address="auto")
    strategy = tmp_path / "s.yaml"
    strategy.write_text(ONE_SYMBOL)
    code, err = call(["--home", str(tmp_path), "run", str(strategy), "--workers", "0"], capsys)
    assert code == 2 and "workers must be a whole number >= 1, got 0" in err and "Traceback" not in err


def test_a_bad_address_fails_at_once_with_what_to_check(tmp_path: Path, capsys) -> None:
    strategy = tmp_path / "s.yaml"
    strategy.write_text(ONE_SYMBOL)
    args = ["--home", str(tmp_path), "run", str(strategy), "--workers", "2", "--address", "127.0.0.1:1"]
    code, err = call(args, capsys)  # Ray alone would retry for minutes
    assert code == 2 and "could not join the Ray cluster at 127.0.0.1:1: nothing answers there" in err
    assert "leave --address out for a local Ray" in err


def test_a_missing_ray_names_the_extra(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if it were not installed
    with pytest.raises(NeurotradeError, match=r"pip install 'neurotrade\[tune\]'"):
        run(parse_strategy(ONE_SYMBOL), home=tmp_path, progress=False, workers=2)


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    """A local Ray with 2 CPUs for the rest of the module, shut down after it."""
    from neurotrade.cluster import ray_session

    with ray_session(cpus=2) as ray:
        yield ray


@pytest.fixture
def every_core() -> Iterator[int]:
    """torch on every core, as a user's run has it (the test session runs on one thread): each task then gets 1 of
    Ray's 2 CPUs but computes on more threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(available_cores())
    try:
        yield available_cores()
    finally:
        torch.set_num_threads(before)


def test_a_task_computes_on_the_threads_of_the_run(ray_local, every_core: int) -> None:
    """Why a parallel run equals the sequential one: a training's floats depend on its thread count (MKL's
    products, oneDNN's convolutions, LayerNorm), so each task computes on the run's own count, not on its share of
    the cores, its OpenMP threads waiting passively rather than spinning when they outnumber its CPUs."""

    def probe(**kwargs: Any) -> tuple[int, str | None]:  # defined here, so Ray ships it by value
        return torch.get_num_threads(), os.environ.get("OMP_WAIT_POLICY")

    tally, jobs = SimpleNamespace(done=0, total=1, say=lambda event: None), [Job(1, 0), Job(1, 1)]
    seen = train_in_parallel(probe, jobs, shared={}, workers=2, address=None, tally=tally, per_job=1, folds=2)
    assert seen == [(every_core, "PASSIVE" if every_core > 1 else None)] * 2


def assert_identical(one: RunResult, other: RunResult) -> None:
    """metrics.json equal except where each run's bundle lies; every parquet file and the weights equal byte for
    byte. (No timing lands in metrics.json: training times stay out of its history.)"""
    a, b = (json.loads((r.run_dir / "metrics.json").read_text()) for r in (one, other))
    assert a.pop("bundle_path") == str(one.bundle.path) and b.pop("bundle_path") == str(other.bundle.path)
    assert a == b
    parquets = sorted(p.name for p in one.run_dir.glob("*.parquet"))
    assert "trades.parquet" in parquets and parquets == sorted(p.name for p in other.run_dir.glob("*.parquet"))
    for name in parquets:
        assert (one.run_dir / name).read_bytes() == (other.run_dir / name).read_bytes(), name
    weights = "weights.safetensors"
    assert (one.bundle.path / weights).read_bytes() == (other.bundle.path / weights).read_bytes()


def test_one_symbol_in_parallel_equals_the_sequential_run(ray_local, every_core: int, tmp_path: Path) -> None:
    seen: dict[str, list[tuple[int, dict[str, Any]]]] = {"sequential": [], "parallel": []}
    events: list[ProgressEvent] = []
    spec = parse_strategy(ONE_SYMBOL)
    sequential = run(spec, home=tmp_path / "a", progress=False, on_fold=lambda k, s: seen["sequential"].append((k, s)))
    parallel = run(
        spec,
        home=tmp_path / "b",
        progress=events.append,
        workers=2,
        on_fold=lambda k, summary: seen["parallel"].append((k, summary)),
    )
    assert_identical(sequential, parallel)
    # on_fold: the first seed's folds, in fold order, with the same summaries.
    assert [k for k, _ in seen["parallel"]] == [1, 2] and seen["parallel"] == seen["sequential"]
    # The count advances as the tasks train and finish, and ends full: an ETA stays meaningful.
    counted = [e.done for e in events if e.done is not None]
    assert counted == sorted(counted) and counted[-1] == events[-1].total == 2 * 2 * 3
    finished = [e.done for e in events if "trained (" in e.message]  # the epochs of those still training count too
    assert len(finished) == 4 and all(done >= 3 * n for n, done in enumerate(finished, 1)) and finished[-1] == 12
    start = next(e.message for e in events if "on Ray" in e.message)
    assert f"2 at once with 1 CPU(s) and {every_core} thread(s) each" in start


def test_a_universe_in_parallel_equals_the_sequential_run(ray_local, tmp_path: Path) -> None:
    """The universe's own path through Ray (its UniverseData shared, pooled folds back in order), on the session's
    one thread: the thread count is the test above's, and the same code passes it on."""
    spec = parse_strategy(UNIVERSE)
    sequential = run(spec, home=tmp_path / "a", progress=False)
    parallel = run(spec, home=tmp_path / "b", progress=False, workers=2)
    assert_identical(sequential, parallel)


def test_more_workers_than_cpus_warns_once_and_on_fold_can_stop_the_run(ray_local, tmp_path: Path, caplog) -> None:
    spec = parse_strategy(ONE_SYMBOL.replace("seeds: [1, 2]", "seeds: [1]").replace("epochs: 3", "epochs: 2"))

    def stop(k: int, summary: dict[str, Any]) -> None:
        raise RuntimeError(f"pruned after fold {k}")  # what a search's pruner does to a trial

    with (
        caplog.at_level(logging.WARNING, logger="neurotrade"),
        pytest.raises(RuntimeError, match="pruned after fold 1"),
    ):
        run(spec, home=tmp_path, progress=False, workers=3, on_fold=stop)
    warned = [r.getMessage() for r in caplog.records if "more trainings at once" in r.getMessage()]
    assert warned == [
        "workers=3 asks for more trainings at once than the 2 CPU(s) Ray has: each gets 1 CPU and Ray runs 2 at a "
        "time while the others wait (oversubscribing the cores would only slow every training); use --workers 2"
    ]
    assert list((tmp_path / "checkpoints" / spec.name).iterdir()), "checkpoints are kept for --resume"


def test_an_error_in_a_task_is_raised_as_itself(ray_local) -> None:
    """A user error met while training (a ModelError, a SplitError) reads as in the sequential run: same type,
    same message, not wrapped in Ray's."""
    tally = SimpleNamespace(done=0, total=1, say=lambda event: None)
    fails = lambda **kwargs: (_ for _ in ()).throw(ModelError("the training loss became nan at epoch 3"))  # noqa: E731
    with pytest.raises(ModelError) as raised:
        train_in_parallel(fails, [Job(1, 0)], shared={}, workers=2, address=None, tally=tally, per_job=1, folds=1)
    assert type(raised.value) is ModelError and str(raised.value) == "the training loss became nan at epoch 3"
