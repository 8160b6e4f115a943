"""``run(strategy, workers=N)``: a run's (seed, fold) trainings as Ray tasks, N at a time.

Each (seed, fold) is a function of its inputs alone: it seeds Python, NumPy and torch itself, and checkpoints to its
own folder. So the trainings can run anywhere in any order, and the run goes on exactly as the sequential one once
their results are back in (seed, fold) order. What they read (the bars, the feature frame, the label table, or a
universe's :class:`~neurotrade._universe.UniverseData`) is put in Ray's object store once and passed by reference;
what comes back is each training's record (its model, scaler, decisions and backtests: ~200 KB a fold).

Equal to the sequential run bit for bit on the CPU because each task computes on as many threads as the run's own
process (torch's count, every pool sized to it), not on its share of the cores: a training's floats depend on its
thread count. Found by comparing every layer's outputs and gradients on 1 to 4 threads: MKL shares a product among
its threads in tiles that depend on their number, and some elements came out one bit apart (a last batch of 35
rows in float32 training, 261 rows in float64 inference; training then carries it on), as did oneDNN's
convolutions and torch's own LayerNorm; no setting of MKL (strict reproducibility ``MKL_CBWR``, one stripe) made
every layer thread-count invariant. So N tasks hold more threads than their CPUs, and their OpenMP threads wait
passively (``OMP_WAIT_POLICY=PASSIVE``) instead of spinning: on 2 cores, two processes training a small MLP for
3,000 steps on 2 threads each took 92-150 s spinning and 2.3-4.8 s passive (on 1 thread each: 2.6-4.4 s). The
sequential path is left as it was.

On a cluster (``address``) each task writes its checkpoints on the node that trains it, under the workspace's
path: ``resume`` continues them only where that path is shared.

The library never prints: a task's progress (each epoch) is sent to a small actor the driver drains while it
waits, so the progress bar and its ETA advance as the tasks train; what a task logs is replayed by the driver's
loggers when its result arrives.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from neurotrade.errors import ConfigError

__all__ = ["Job", "check_workers", "train_folds", "train_in_parallel"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# How often the driver looks at the tasks' progress while none has finished (seconds).
POLL = 0.2


@dataclass(frozen=True)
class Job:
    """One training: a seed, a fold (0-based) and the keyword arguments only this training gets."""

    seed: int
    fold: int
    kwargs: dict[str, Any] = field(default_factory=dict)


def check_workers(workers: int, address: str | None = None) -> None:
    """Refuse a worker count that is not a whole number >= 1, or an address without workers to send there.

    Examples
    --------
    >>> check_workers(2, "auto")
    >>> check_workers(0)
    Traceback (most recent call last):
    ...
    neurotrade.errors.ConfigError: workers must be a whole number >= 1, got 0: 1 trains the folds one after another here, N > 1 trains N (seed, fold) pairs at once on Ray
    """  # noqa: E501
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(
            f"workers must be a whole number >= 1, got {workers!r}: 1 trains the folds one after another here, "
            "N > 1 trains N (seed, fold) pairs at once on Ray"
        )
    if address is not None and workers == 1:
        raise ConfigError(
            f"address {address!r} is where Ray workers train, but workers is 1 (one after another, here, without "
            "Ray): give workers >= 2 with it (--workers N --address ADDR)"
        )


def train_folds(
    train: Callable[..., T],
    splits: list[Any],
    seeds: list[int],
    *,
    shared: dict[str, Any],
    common: dict[str, Any],
    checkpoints: Path,
    workers: int,
    address: str | None,
    tally: Any,
    per_job: int,
    on_fold: Callable[[int, T], None] | None = None,
) -> dict[tuple[int, int], T]:
    """Every (seed, fold) of a run trained on Ray: ``train(index=k, split=splits[k], seed=seed, checkpoints=
    checkpoints / f"seed{seed}", **shared, **common, say=...)``, the arguments the sequential loop passes.

    ``shared`` goes through the object store once (bars, features, labels, a universe); ``common`` (small) travels
    with each task. ``on_fold(k + 1, result)`` is called for the first seed's folds in fold order, as they finish.
    Returns the results by (seed, fold index).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> tally = SimpleNamespace(done=0, say=lambda event: None)
    >>> train_folds(divmod, [], [1], shared={}, common={}, checkpoints=Path("."), workers=2, address=None,
    ...             tally=tally, per_job=3)
    {}
    """
    jobs = [
        Job(seed, k, {"index": k, "split": split, "checkpoints": checkpoints / f"seed{seed}", **common})
        for seed in seeds
        for k, split in enumerate(splits)
    ]

    def done(job: Job, result: T) -> None:
        if on_fold is not None and job.seed == seeds[0]:
            on_fold(job.fold + 1, result)

    results = train_in_parallel(
        train,
        jobs,
        shared=shared,
        workers=workers,
        address=address,
        tally=tally,
        per_job=per_job,
        folds=len(splits),
        on_done=done,
    )
    return {(job.seed, job.fold): result for job, result in zip(jobs, results, strict=True)}


class _Tallied:
    """Epochs done per job, so the run's tally counts the tasks that are training as well as those that finished."""

    def __init__(self, tally: Any, jobs: list[Job], per_job: int) -> None:
        self.tally, self.per_job = tally, per_job
        self.epochs = dict.fromkeys(range(len(jobs)), 0)
        self.base = tally.done  # the epochs counted before the trainings (a resumed or earlier stage's)

    def epoch(self, i: int, event: Any) -> None:
        self.epochs[i] = min(self.epochs[i] + 1, self.per_job)
        # The tally adds one itself for an event that carries an epoch, as it does when a training runs here.
        self.tally.done = self.base + sum(self.epochs.values()) - 1
        self.tally.say(event)

    def finished(self, i: int, event: Any) -> None:
        self.epochs[i] = self.per_job  # a fit that stopped early counts as its full epochs, as run here
        self.tally.done = self.base + sum(self.epochs.values())
        self.tally.say(event)


def train_in_parallel(
    train: Callable[..., T],
    jobs: list[Job],
    *,
    shared: dict[str, Any],
    workers: int,
    address: str | None,
    tally: Any,
    per_job: int,
    folds: int,
    on_done: Callable[[Job, T], None] | None = None,
) -> list[T]:
    """Call ``train(**shared, **job.kwargs, seed=job.seed, say=...)`` for every job on Ray, ``workers`` at a time.

    Parameters
    ----------
    train
        A module-level function (the tasks import it by name): ``_folds.train_fold`` or
        ``_universe.train_pooled_fold``.
    jobs
        In (seed, fold) order; submitted in that order, so the first seed's folds finish first.
    shared
        Keyword arguments every job gets, put in Ray's object store once (the large, read-only inputs).
    workers, address
        How many trainings at once, and the Ray cluster (``None``: a local Ray over this machine's cores).
    tally
        The run's epoch counter (``done``, ``total``, ``say``); each task's epochs advance it as they happen.
    per_job
        Epochs one job counts for in the tally (networks x epochs).
    folds
        Folds per seed (for the messages).
    on_done
        Called with each job and its result in job order, as soon as it and every job before it have finished
        (the run's ``on_fold``); an exception it raises cancels the tasks still running and propagates.

    Returns
    -------
    list
        The results, in job order.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> tally = SimpleNamespace(done=0, say=lambda event: None)
    >>> train_in_parallel(divmod, [], shared={}, workers=2, address=None, tally=tally, per_job=1, folds=1)
    []
    """
    check_workers(workers, address)
    if not jobs:
        return []
    import torch

    from neurotrade._folds import ProgressEvent
    from neurotrade._threads import available_cores
    from neurotrade.cluster import ray_session, task_environment

    counted = _Tallied(tally, jobs, per_job)
    with ray_session(address) as ray:
        resources = ray.cluster_resources()
        cpus_seen = int(resources.get("CPU", available_cores()))
        if workers > cpus_seen:
            log.warning(
                "workers=%d asks for more trainings at once than the %d CPU(s) Ray has: each gets 1 CPU and Ray runs "
                "%d at a time while the others wait (oversubscribing the cores would only slow every training); "
                "use --workers %d",
                workers,
                cpus_seen,
                cpus_seen,
                cpus_seen,
            )
        at_once = max(1, min(workers, len(jobs), cpus_seen))  # Ray runs no more than its CPUs at once
        cpus = _cpus_per_task(ray, cpus_seen, at_once)
        gpus = min(1.0, float(resources.get("GPU", 0.0)) / at_once)
        threads = torch.get_num_threads()  # what a training computes with here: the same there (module docstring)
        environment = task_environment(threads)
        if threads > cpus:
            environment["OMP_WAIT_POLICY"] = os.environ.get("OMP_WAIT_POLICY", "PASSIVE")
        task = ray.remote(_train_task).options(
            num_cpus=cpus, num_gpus=gpus, runtime_env={"env_vars": environment}, name="neurotrade.fold"
        )
        tally.say(
            ProgressEvent(
                "train",
                f"training {len(jobs)} (seed, fold) pairs on Ray, {at_once} at once with {cpus} CPU(s) and "
                f"{threads} thread(s) each" + (f" and {gpus:g} GPU" if gpus else ""),
            )
        )
        names = list(shared)
        refs = [ray.put(shared[name]) for name in names]  # each input once in the object store
        level = logging.getLogger("neurotrade").getEffectiveLevel()
        events = ray.remote(num_cpus=0)(_Events).remote()
        waiting = deque(range(len(jobs)))
        running: dict[Any, int] = {}
        results: dict[int, T] = {}
        reported = 0
        try:
            while waiting or running:
                while waiting and len(running) < at_once:
                    i = waiting.popleft()
                    job = jobs[i]
                    kwargs = {**job.kwargs, "seed": job.seed}
                    running[task.remote(train, i, kwargs, names, events, level, *refs)] = i
                ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL)
                for i, event in ray.get(events.drain.remote()):
                    if i in running.values():  # a finished job's late epochs: already counted in full
                        job = jobs[i]
                        counted.epoch(i, replace(event, message=f"seed {job.seed}, {event.message}"))
                for ref in ready:
                    i = running.pop(ref)
                    results[i] = _result(ray, ref)
                    job = jobs[i]
                    counted.finished(
                        i,
                        ProgressEvent(
                            "train",
                            f"seed {job.seed}, fold {job.fold + 1}/{folds} trained ({len(results)} of {len(jobs)})",
                        ),
                    )
                while reported in results:
                    if on_done is not None:
                        on_done(jobs[reported], results[reported])
                    reported += 1
        except BaseException:
            for ref in running:  # nothing left training (or writing checkpoints) once the run has stopped
                ray.cancel(ref, force=True)
            raise
        finally:
            ray.kill(events)
    return [results[i] for i in range(len(jobs))]


def _cpus_per_task(ray: Any, cpus_seen: int, at_once: int) -> int:
    """The cores each of ``at_once`` tasks gets: an equal share of Ray's CPUs, no more than a node has (a task
    runs on one node)."""
    largest = max(
        (int(node.get("Resources", {}).get("CPU", 0)) for node in ray.nodes() if node.get("Alive")),
        default=cpus_seen,
    )
    return max(1, min(cpus_seen // at_once, largest or cpus_seen))


class _Events:
    """The progress the tasks report, held until the driver drains it (a Ray actor)."""

    def __init__(self) -> None:
        self.events: list[tuple[int, Any]] = []

    def push(self, job: int, event: Any) -> None:
        self.events.append((job, event))

    def drain(self) -> list[tuple[int, Any]]:
        out, self.events = self.events, []
        return out


def _train_task(
    train: Callable[..., T], job: int, kwargs: dict[str, Any], names: list[str], events: Any, level: int, *values: Any
) -> tuple[T, list[dict[str, Any]]]:
    """One training inside a Ray worker: the shared inputs (resolved by Ray from the object store) by name, the
    job's own arguments, progress sent to the driver, and what it logged (at the driver's level) returned."""
    from neurotrade._threads import configure_threads

    configure_threads()  # NEUROTRADE_THREADS from the task's environment: a worker reused by Ray is resized too

    def say(event: Any) -> None:
        events.push.remote(job, event)  # not awaited: the training does not wait on the driver

    with _captured_logs(level) as records:
        result = train(**dict(zip(names, values, strict=True)), **kwargs, say=say)
    return result, records


@contextmanager
def _captured_logs(level: int) -> Iterator[list[dict[str, Any]]]:
    """What ``neurotrade``'s loggers emit at ``level`` or above: each record's logger, level, place and message."""
    records: list[dict[str, Any]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(
                {
                    "name": record.name,
                    "level": record.levelno,
                    "fn": record.pathname,
                    "lno": record.lineno,
                    "func": record.funcName,
                    "msg": record.getMessage(),
                }
            )

    logger = logging.getLogger("neurotrade")
    handler, before = Keep(level), logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)


def _result(ray: Any, ref: Any) -> Any:
    """A task's result, its logs replayed here; a task's exception raised as itself (a ``ConfigError`` stays
    one, with its message), the remote traceback chained to it."""
    from ray.exceptions import RayTaskError

    try:
        result, records = ray.get(ref)
    except RayTaskError as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from error
        raise
    for r in records:  # as if logged here, where they were logged
        logger = logging.getLogger(r["name"])
        if logger.isEnabledFor(r["level"]):
            logger.handle(logger.makeRecord(r["name"], r["level"], r["fn"], r["lno"], r["msg"], (), None, r["func"]))
    return result
