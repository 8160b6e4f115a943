"""Starting, joining and leaving Ray; the environment each Ray task computes in."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from neurotrade.errors import ConfigError, NeurotradeError

log = logging.getLogger(__name__)


def missing_extra(module: str, extra: str, error: ImportError) -> NeurotradeError:
    """The error a command that needs an optional engine raises when it is not installed.

    Examples
    --------
    >>> str(missing_extra("ray", "tune", ImportError("No module named 'ray'")))[:58]
    "this needs ray, which is not installed: pip install 'neuro"
    """
    return NeurotradeError(f"this needs {module}, which is not installed: pip install 'neurotrade[{extra}]' ({error})")


def task_environment(cpus: float) -> dict[str, str]:
    """Environment variables that size a Ray task's compute pools to the CPUs it was given (at least one
    thread), so N tasks on N cores do not each spin a pool over every core (see ``neurotrade._threads``).

    Examples
    --------
    >>> task_environment(1)["OMP_NUM_THREADS"], task_environment(2.5)["NEUROTRADE_THREADS"]
    ('1', '2')
    """
    threads = str(max(1, int(cpus)))
    return {
        "NEUROTRADE_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "NUMBA_NUM_THREADS": threads,
    }


@contextmanager
def ray_session(address: str | None = None, *, cpus: int | None = None, gpus: int | None = None) -> Iterator[Any]:
    """Ray, connected for the duration of the block: joined at ``address`` (``auto`` or ``HOST:PORT`` of a
    running cluster), else started here with ``cpus`` (default: every core) and left running when the block ends
    only if it was already running. Yields the ``ray`` module.

    Ray's dashboard and usage reporting are off and its workers' output stays in Ray's logs: the library never
    prints. A missing Ray raises an error that names the extra to install.

    Examples
    --------
    >>> with ray_session(cpus=1) as ray:  # doctest: +SKIP
    ...     ray.get(ray.remote(lambda: 1 + 1).remote())
    2
    """
    try:
        import ray
    except ImportError as error:
        raise missing_extra("ray", "tune", error) from error
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": logging.WARNING,
            "configure_logging": False,
        }
        try:
            if address is not None:
                _answers(address)
                ray.init(address=address, **options)
            else:
                ray.init(num_cpus=cpus, num_gpus=gpus, **options)
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = f"the Ray cluster at {address}" if address else "a local Ray"
            raise ConfigError(
                f"could not start or join {where}: {error}; check the address (ray status on a cluster node "
                "prints it) or leave --address out for a local Ray"
            ) from error
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def _answers(address: str, timeout: float = 5.0) -> None:
    """Refuse a ``HOST:PORT`` (or ``ray://HOST:PORT``) where nothing listens: Ray itself would retry for minutes.

    Examples
    --------
    >>> _answers("auto")
    >>> _answers("127.0.0.1:1")
    Traceback (most recent call last):
    ...
    neurotrade.errors.ConfigError: could not join the Ray cluster at 127.0.0.1:1: nothing answers there ([Errno 111] Connection refused); check the address (ray status on a cluster node prints it) or leave --address out for a local Ray
    """  # noqa: E501
    target = address.removeprefix("ray://")
    if target == "auto":
        return
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"the Ray address {address!r} is not auto, HOST:PORT or ray://HOST:PORT (e.g. 10.0.0.5:6379)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as error:
        raise ConfigError(
            f"could not join the Ray cluster at {address}: nothing answers there ({error}); check the address "
            "(ray status on a cluster node prints it) or leave --address out for a local Ray"
        ) from error
