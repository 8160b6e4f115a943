"""What a server needs to know, read once: the workspace and the limits that bound every request and job.

``neurotrade serve --workers N`` starts N processes that each build the app from the environment (uvicorn imports
the app factory by name), so the settings travel as ``NEUROTRADE_SERVE_*`` variables, never as globals.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from neurotrade._workspace import resolve_home

ENV_PREFIX = "NEUROTRADE_SERVE_"

# Where the server keeps its own files inside the workspace.
SERVE_DIR = "serve"
DATABASE = "serve.sqlite"


class ServeSettings(BaseModel):
    """The server's settings; every size has an upper bound so no request can ask for an unbounded amount of work.

    Attributes
    ----------
    home
        The workspace: models, runs, paper sessions, and the server's own ``serve/`` folder (keys and jobs).
    max_jobs
        Jobs that run at once (each in its own process).
    max_queued
        Jobs that may wait in the queue; a submission beyond that is refused (429) until some finish.
    job_threads
        Compute threads of each job's process (default: the cores shared among ``max_jobs``).
    engine_cache
        Decision engines kept loaded for ``/predict`` (least recently used first out).
    max_body_bytes
        The largest request body accepted (413 beyond it), whatever the endpoint.
    request_timeout_s
        How long a request may take to arrive whole, headers and body (408 and disconnected beyond it), so slow
        or silent connections cannot hold the server's connection slots for ever.
    poll_seconds
        How often the job supervisor looks for queued jobs, finished processes and cancellations.
    max_streams, max_stream_bars, stream_idle_hours
        Decision streams (``/streams``): how many may exist, how many bars one may hold, and after how long unused
        one is deleted (when the next stream is opened).
    ray_address
        A running Ray cluster (``auto`` or ``HOST:PORT``) that jobs send their work to: a run's (seed, fold)
        trainings and a search's trials run there, the job's own process only drives them. Default: none (a run
        trains in its job's process, a search starts a local Ray there).
    docs
        Serve the interactive docs (``/docs``, ``/redoc``) and the schema without a key, for development on
        loopback; by default the schema is at ``/openapi.json`` behind the key and there are no docs pages.

    Examples
    --------
    >>> s = ServeSettings(home="/tmp/ws")
    >>> s.database.as_posix(), s.max_jobs
    ('/tmp/ws/serve/serve.sqlite', 1)
    >>> ServeSettings.from_env({"NEUROTRADE_SERVE_MAX_JOBS": "2"}, home="/tmp/ws").max_jobs
    2
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path
    max_jobs: int = Field(1, ge=1, le=64)
    max_queued: int = Field(100, ge=1, le=10_000)
    job_threads: int | None = Field(None, ge=1, le=1024)
    engine_cache: int = Field(8, ge=1, le=256)
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    request_timeout_s: float = Field(30.0, gt=0, le=3600)
    poll_seconds: float = Field(0.25, gt=0, le=10)
    max_streams: int = Field(1000, ge=1, le=100_000)
    max_stream_bars: int = Field(100_000, ge=100, le=10_000_000)
    stream_idle_hours: float = Field(72.0, gt=0, le=24 * 365)
    ray_address: str | None = Field(None, min_length=1, max_length=300, pattern=r"^\S+$")
    docs: bool = False

    @property
    def serve_dir(self) -> Path:
        """``{home}/serve``: the key and job database, and each job's folder."""
        return self.home / SERVE_DIR

    @property
    def database(self) -> Path:
        """The SQLite database of keys and jobs."""
        return self.serve_dir / DATABASE

    @property
    def jobs_dir(self) -> Path:
        """Each job's folder (request, strategy, log, progress, result) is ``jobs_dir / str(id)``."""
        return self.serve_dir / "jobs"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, *, home: str | Path | None = None) -> ServeSettings:
        """Settings from ``NEUROTRADE_SERVE_*`` variables (``MAX_JOBS``, ``MAX_QUEUED``, ``JOB_THREADS``,
        ``ENGINE_CACHE``, ``MAX_BODY_BYTES``, ``POLL_SECONDS``, ``RAY_ADDRESS`` ...) and the workspace (``home``, else
        ``$NEUROTRADE_HOME``, else ``./workspace``)."""
        env = os.environ if environ is None else environ
        # Absolute: job processes and uvicorn's workers must find the same folder whatever their current directory.
        where = resolve_home(home if home is not None else env.get("NEUROTRADE_HOME")).absolute()
        values: dict[str, object] = {"home": where}
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if name != "home" and env.get(key):
                values[name] = env[key]
        return cls.model_validate(values)

    def to_env(self) -> dict[str, str]:
        """The variables :meth:`from_env` reads back to these settings (for worker processes).

        Examples
        --------
        >>> env = ServeSettings(home="/tmp/ws", max_jobs=3).to_env()
        >>> ServeSettings.from_env(env) == ServeSettings(home="/tmp/ws", max_jobs=3)
        True
        """
        env = {"NEUROTRADE_HOME": str(self.home)}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name != "home" and value is not None:
                env[ENV_PREFIX + name.upper()] = str(value)
        return env
