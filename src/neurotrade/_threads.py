"""How many threads this process computes with: torch, OpenMP/MKL/OpenBLAS and numba sized to the cores it is given.

Every pool defaults to every core of the machine. One run alone is best served that way, but N runs at once (several
terminals, folds or trials in parallel, API jobs) then put N pools of spinning threads on the same cores: on 2 cores
four copies of a 9.5 s run took 142-164 s each instead of their fair share of ~19 s (issue 15). Sized to
``cores // workers`` each, they take about their fair share.

The OpenMP and numba pools read their size when they first start, so :func:`configure_threads` sets the environment
before torch or numba is imported where it can (the CLI calls it first thing), and resizes the pools of libraries
already loaded. A variable the user set (``OMP_NUM_THREADS=3``) is left as it is.
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["available_cores", "configure_threads", "thread_budget"]

log = logging.getLogger(__name__)

_POOL_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
ENVIRONMENT = "NEUROTRADE_THREADS"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it, else every core).

    Examples
    --------
    >>> available_cores() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not every OS has CPU affinity
        return max(1, os.cpu_count() or 1)


def thread_budget(workers: int = 1, cores: int | None = None) -> int:
    """Threads per worker when ``workers`` processes share ``cores`` (default: :func:`available_cores`): at least 1.

    Examples
    --------
    >>> thread_budget(1, cores=8), thread_budget(4, cores=8), thread_budget(4, cores=2)
    (8, 2, 1)
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        from neurotrade.errors import ConfigError

        raise ConfigError(f"workers must be a whole number >= 1, got {workers!r}")
    return max(1, (cores if cores is not None else available_cores()) // workers)


def configure_threads(threads: int | None = None, *, workers: int = 1) -> int:
    """Size every compute pool of this process, once, at start-up; returns the threads chosen.

    Parameters
    ----------
    threads
        Threads for this process. Default: ``$NEUROTRADE_THREADS``, else :func:`thread_budget` of ``workers``
        over the available cores (for a process alone, nothing is changed: the libraries' own defaults use every
        core).
    workers
        How many processes will compute at once on these cores (this one included).

    Examples
    --------
    It changes the whole process, so this example runs it in a child process:

    >>> import subprocess, sys
    >>> code = ("from neurotrade._threads import configure_threads; configure_threads(1); "
    ...         "import numba, torch; print(torch.get_num_threads(), numba.get_num_threads())")
    >>> subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    ['1', '1']
    """
    if threads is None:
        raw = os.environ.get(ENVIRONMENT, "").strip()
        if raw:
            if not raw.isdigit() or int(raw) < 1:
                from neurotrade.errors import ConfigError

                raise ConfigError(f"{ENVIRONMENT} must be a whole number >= 1, got {raw!r}")
            threads = int(raw)
        elif workers == 1:
            return available_cores()  # alone: every library's own default already uses every core
        else:
            threads = thread_budget(workers)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        from neurotrade.errors import ConfigError

        raise ConfigError(f"threads must be a whole number >= 1, got {threads!r}")
    for variable in _POOL_VARIABLES:
        os.environ.setdefault(variable, str(threads))
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.set_num_threads(threads)
    if "numba" in sys.modules:
        numba = sys.modules["numba"]
        # numba's pool cannot grow past the size it started with (NUMBA_NUM_THREADS at import).
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    log.debug("compute threads: %d", threads)
    return threads
