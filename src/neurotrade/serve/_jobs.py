"""Jobs: training runs, backtests and searches queued in the server database and run by worker processes, which
send a run's trainings and a search's trials to Ray when the server was started with ``--ray ADDRESS``.

A job's life: ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``. A job still ``running`` when
its server died (kill -9, power cut) is marked ``interrupted`` by the next supervisor that starts, never dropped;
``POST /jobs/{id}/resume`` queues it again (a run continues from its checkpoints with ``--resume``; a search's
study resumes by itself). Each job has a folder ``{home}/serve/jobs/{id}/``: ``strategy.yaml``, ``job.json`` (what
to run), ``log.txt`` (everything its process printed or logged), ``progress.json`` and ``result.json``.

Exactly one process of a server runs jobs: the :class:`Supervisor` that holds ``serve/supervisor.lock``. With
``neurotrade serve --workers N`` the other workers only read and write the database; if the holder dies, another
takes the lock over within a poll and marks the jobs the dead one was running interrupted. The job processes
watch their parent and kill their own process group when it goes, so no orphan finishes a job the database already
calls interrupted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from neurotrade._threads import thread_budget
from neurotrade.serve._db import Database, transaction
from neurotrade.serve._errors import ApiError
from neurotrade.serve._runner import PARENT_ENV
from neurotrade.serve._settings import ServeSettings

log = logging.getLogger(__name__)

KINDS = ("run", "backtest", "tune")
STATES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
FINISHED = ("succeeded", "failed", "cancelled", "interrupted")
# The kinds whose command continues an interrupted attempt rather than starting over.
RESUMABLE = ("run", "tune")
# A job told to stop gets SIGTERM, then SIGKILL after this long.
CANCEL_GRACE_S = 5.0
# The result kept in the database; a larger one (a search's long table) is in result.json only.
MAX_RESULT_BYTES = 1_000_000


@dataclass(frozen=True)
class Job:
    """One job as the database holds it."""

    id: int
    kind: str
    state: str
    strategy: str
    params: dict[str, Any]
    resume: bool
    attempts: int
    cancel_requested: bool
    pid: int | None
    exit_code: int | None
    error: str | None
    result: dict[str, Any] | None
    created_at: str
    started_at: str | None
    finished_at: str | None

    @property
    def resumable(self) -> bool:
        """Whether ``POST /jobs/{id}/resume`` would queue it again."""
        return self.state == "interrupted" and self.kind in RESUMABLE


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _job(row: Any) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        state=row["state"],
        strategy=row["strategy"],
        params=json.loads(row["params"]),
        resume=bool(row["resume"]),
        attempts=row["attempts"],
        cancel_requested=bool(row["cancel_requested"]),
        pid=row["pid"],
        exit_code=row["exit_code"],
        error=row["error"],
        result=json.loads(row["result"]) if row["result"] else None,
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


class JobStore:
    """The jobs in the server database, and each job's folder.

    Examples
    --------
    >>> import tempfile
    >>> settings = ServeSettings(home=tempfile.mkdtemp())
    >>> store = JobStore(settings, Database(settings.database))
    >>> job = store.submit("run", "demo", "name: demo\\n", {})
    >>> job.state, store.cancel(job.id).state, store.list()[1]
    ('queued', 'cancelled', 1)
    """

    def __init__(self, settings: ServeSettings, db: Database) -> None:
        self.settings, self.db = settings, db

    def folder(self, job_id: int) -> Path:
        """The job's folder."""
        return self.settings.jobs_dir / str(int(job_id))

    def submit(self, kind: str, strategy: str, strategy_text: str, params: dict[str, Any]) -> Job:
        """Queue a job; its folder is written inside the same transaction, so a queued job always has one."""
        if kind not in KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        with transaction(self.db.conn) as conn:
            queued = conn.execute("SELECT count(*) FROM jobs WHERE state = 'queued'").fetchone()[0]
            if queued >= self.settings.max_queued:
                raise ApiError(
                    429,
                    f"{queued} jobs are already queued (the limit is {self.settings.max_queued}); wait for some to "
                    "finish or cancel some, then submit again",
                )
            cursor = conn.execute(
                "INSERT INTO jobs (kind, state, strategy, params, created_at) VALUES (?, 'queued', ?, ?, ?)",
                (kind, strategy, json.dumps(params), _now()),
            )
            job_id = int(cursor.lastrowid or 0)
            folder = self.folder(job_id)
            folder.mkdir(parents=True, exist_ok=True)
            _write_atomic(folder / "strategy.yaml", strategy_text)
            _write_atomic(folder / "job.json", json.dumps({"id": job_id, "kind": kind, "params": params}))
            (folder / "log.txt").touch()
        job = self.get(job_id)
        assert job is not None
        log.info("job %d queued: %s %s", job_id, kind, strategy)
        return job

    def get(self, job_id: int) -> Job | None:
        """The job, or None."""
        row = self.db.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def require(self, job_id: int) -> Job:
        """The job, or a 404 that says which ids exist."""
        job = self.get(job_id)
        if job is None:
            last = self.db.conn.execute("SELECT max(id) FROM jobs").fetchone()[0]
            known = f"job ids run from 1 to {last}" if last else "there are no jobs yet"
            raise ApiError(404, f"no job {job_id}: {known} (GET /jobs lists them)", field="path.job_id")
        return job

    def list(
        self, *, state: str | None = None, kind: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[Job], int]:
        """Jobs newest first, with how many match in all."""
        where, args = [], []
        if state is not None:
            where.append("state = ?")
            args.append(state)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        total = self.db.conn.execute(f"SELECT count(*) FROM jobs {clause}", args).fetchone()[0]
        rows = self.db.conn.execute(
            f"SELECT * FROM jobs {clause} ORDER BY id DESC LIMIT ? OFFSET ?", [*args, limit, offset]
        ).fetchall()
        return [_job(r) for r in rows], int(total)

    def cancel(self, job_id: int) -> Job:
        """Cancel a queued job now, or ask the supervisor to stop a running one (it ends ``cancelled``)."""
        with transaction(self.db.conn) as conn:
            job = self.require(job_id)
            if job.state == "queued" or job.state == "interrupted":
                conn.execute(
                    "UPDATE jobs SET state = 'cancelled', finished_at = ?, error = 'cancelled on request' WHERE id = ?",
                    (_now(), job_id),
                )
            elif job.state == "running":
                conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
            else:
                raise ApiError(409, f"job {job_id} has already {job.state}: there is nothing to cancel")
        return self.require(job_id)

    def resume(self, job_id: int) -> Job:
        """Queue an interrupted job again, to continue where it stopped."""
        with transaction(self.db.conn) as conn:
            job = self.require(job_id)
            if job.state != "interrupted":
                raise ApiError(
                    409, f"job {job_id} is {job.state}; only an interrupted job (its server stopped) can be resumed"
                )
            if job.kind not in RESUMABLE:
                raise ApiError(
                    409,
                    f"job {job_id} is a {job.kind}, which cannot continue where it stopped: start a new {job.kind} "
                    f"job (POST /jobs/{job.kind})",
                )
            conn.execute(
                "UPDATE jobs SET state = 'queued', resume = 1, error = NULL, finished_at = NULL, pid = NULL, "
                "exit_code = NULL WHERE id = ?",
                (job_id,),
            )
        return self.require(job_id)

    def progress(self, job_id: int) -> dict[str, Any] | None:
        """The last progress the job's process reported (stage, done, total, message), if any."""
        try:
            value = json.loads((self.folder(job_id) / "progress.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def read_log(self, job_id: int, offset: int, limit: int) -> tuple[str, int, int]:
        """``limit`` bytes of the job's log from ``offset``: the text (undecodable bytes replaced), the offset to
        read next, and the log's size now."""
        path = self.folder(job_id) / "log.txt"
        try:
            with path.open("rb") as f:
                size = os.fstat(f.fileno()).st_size
                f.seek(min(offset, size))
                data = f.read(limit)
        except FileNotFoundError:
            return "", 0, 0
        return data.decode("utf-8", "replace"), min(offset, size) + len(data), size

    # --- used by the supervisor only -------------------------------------------------------------------------

    def interrupt_running(self, reason: str) -> list[int]:
        """Mark every ``running`` job interrupted (their processes are gone); returns their ids."""
        with transaction(self.db.conn) as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM jobs WHERE state = 'running'")]
            conn.execute(
                "UPDATE jobs SET state = 'interrupted', finished_at = ?, error = ?, pid = NULL WHERE state = 'running'",
                (_now(), reason),
            )
        return ids

    def claim(self) -> Job | None:
        """Take the oldest queued job and mark it running (one attempt more)."""
        with transaction(self.db.conn) as conn:
            row = conn.execute("SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1").fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?, cancel_requested = 0 "
                "WHERE id = ?",
                (_now(), row[0]),
            )
        return self.get(row[0])

    def set_pid(self, job_id: int, pid: int) -> None:
        """Record the process that runs the job."""
        with transaction(self.db.conn) as conn:
            conn.execute("UPDATE jobs SET pid = ? WHERE id = ?", (pid, job_id))

    def finish(self, job_id: int, state: str, *, exit_code: int | None, error: str | None, result: Any = None) -> None:
        """Record how a job ended."""
        text = json.dumps(result) if result is not None else None
        if text is not None and len(text) > MAX_RESULT_BYTES:
            text = json.dumps({"note": f"the result is larger than {MAX_RESULT_BYTES} bytes: see result.json"})
        with transaction(self.db.conn) as conn:
            conn.execute(
                "UPDATE jobs SET state = ?, exit_code = ?, error = ?, result = ?, finished_at = ?, pid = NULL "
                "WHERE id = ?",
                (state, exit_code, error, text, _now(), job_id),
            )

    def cancel_requested(self) -> list[int]:
        """Running jobs someone asked to cancel."""
        rows = self.db.conn.execute("SELECT id FROM jobs WHERE state = 'running' AND cancel_requested = 1")
        return [r[0] for r in rows]


@dataclass
class _Running:
    job: Job
    process: subprocess.Popen[bytes]
    log: Any
    kill_at: float | None = None


class Supervisor:
    """The thread that runs jobs: claims queued ones up to ``max_jobs``, starts a process for each, records how
    each ends, and stops the ones cancelled. Only the holder of ``serve/supervisor.lock`` runs jobs.

    Parameters
    ----------
    settings
        The server's settings.
    """

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.store = JobStore(settings, Database(settings.database))
        # Not thread-local: the supervising thread takes it, the server's shutdown (another thread) gives it back.
        self._lock = FileLock(settings.serve_dir / "supervisor.lock", thread_local=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running: dict[int, _Running] = {}
        self.leader = False

    def start(self) -> None:
        """Start the supervising thread (it becomes the leader as soon as the lock is free)."""
        self.settings.serve_dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._loop, name="neurotrade-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread; jobs still running are stopped and marked interrupted (resumable), not lost."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for r in self._running.values():
            self._signal(r, signal.SIGTERM)
        deadline = time.monotonic() + CANCEL_GRACE_S
        for job_id, r in list(self._running.items()):
            try:
                r.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(r, signal.SIGKILL)
                r.process.wait()
            r.log.close()
            self.store.finish(
                job_id, "interrupted", exit_code=None, error="the server stopped while the job ran; resume it"
            )
            log.info("job %d interrupted by the server's shutdown", job_id)
        self._running.clear()
        if self.leader:
            self._lock.release()
            self.leader = False

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.leader:
                    self._try_lead()
                if self.leader:
                    self._step()
            except Exception:  # keep supervising: one bad poll must not stop every later job
                log.exception("job supervisor: unexpected error; retrying")
            self._stop.wait(self.settings.poll_seconds)

    def _try_lead(self) -> None:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return
        self.leader = True
        # Whoever held the lock before is gone, and its job processes with it: say so, keep the jobs.
        ids = self.store.interrupt_running("the server stopped while the job ran (killed?); resume it")
        if ids:
            log.warning("jobs %s were running when the last server stopped: marked interrupted", ids)

    def _step(self) -> None:
        for job_id, r in list(self._running.items()):
            code = r.process.poll()
            if code is not None:
                self._finished(job_id, r, code)
            elif r.kill_at is not None and time.monotonic() >= r.kill_at:
                self._signal(r, signal.SIGKILL)
        for job_id in self.store.cancel_requested():
            r = self._running.get(job_id)
            if r is not None and r.kill_at is None:
                log.info("cancelling job %d", job_id)
                self._signal(r, signal.SIGTERM)
                r.kill_at = time.monotonic() + CANCEL_GRACE_S
        while len(self._running) < self.settings.max_jobs and not self._stop.is_set():
            job = self.store.claim()
            if job is None:
                break
            self._launch(job)

    def _launch(self, job: Job) -> None:
        folder = self.store.folder(job.id)
        (folder / "result.json").unlink(missing_ok=True)
        (folder / "progress.json").unlink(missing_ok=True)
        out = (folder / "log.txt").open("ab")
        how = " (resuming)" if job.resume else ""
        out.write(f"--- attempt {job.attempts}{how} started {_now()} ---\n".encode())
        out.flush()
        threads = self.settings.job_threads or thread_budget(self.settings.max_jobs)
        # The job reads the server's settings (workspace, Ray address) back from its environment.
        env = {**os.environ, **self.settings.to_env(), "NEUROTRADE_THREADS": str(threads), PARENT_ENV: str(os.getpid())}
        command = [sys.executable, "-m", "neurotrade.serve._runner", str(folder)]
        if job.resume:
            command.append("--resume")
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=folder,
                env=env,
                start_new_session=True,  # its own process group: cancel stops it and everything it started
            )
        except OSError as e:
            out.close()
            self.store.finish(job.id, "failed", exit_code=None, error=f"cannot start the job's process: {e}")
            return
        self.store.set_pid(job.id, process.pid)
        self._running[job.id] = _Running(job, process, out)
        log.info("job %d started: %s %s (pid %d)", job.id, job.kind, job.strategy, process.pid)

    def _finished(self, job_id: int, r: _Running, code: int) -> None:
        r.log.close()
        del self._running[job_id]
        outcome = _read_result(self.store.folder(job_id))
        current = self.store.get(job_id)
        # A job that finished its work before the cancel reached it succeeded: its bundle is saved, and calling it
        # cancelled would hide the bundle and its result.
        if code == 0 and outcome.get("ok"):
            self.store.finish(job_id, "succeeded", exit_code=0, error=None, result=outcome.get("result"))
        elif current is not None and current.cancel_requested:
            self.store.finish(job_id, "cancelled", exit_code=code, error="cancelled on request")
        else:
            error = outcome.get("error") or (
                f"the job's process was killed by signal {-code}"
                if code < 0
                else f"the job's process exited with code {code}"
            )
            self.store.finish(job_id, "failed", exit_code=code, error=f"{error} (see the job's log)")
        log.info("job %d ended with code %d", job_id, code)

    def _signal(self, r: _Running, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
            os.killpg(r.process.pid, sig)


def _read_result(folder: Path) -> dict[str, Any]:
    try:
        value = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
