"""``/jobs``: start a training run, a backtest or a search as a job; its status, log, result; cancel, resume."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from neurotrade.serve._auth import require_key
from neurotrade.serve._deps import Jobs, Settings
from neurotrade.serve._errors import ApiError, responses
from neurotrade.serve._jobs import Job, JobStore
from neurotrade.serve._schemas import (
    BacktestJobRequest,
    JobKind,
    JobList,
    JobOut,
    JobResult,
    JobState,
    LogChunk,
    Progress,
    RunJobRequest,
    TuneJobRequest,
)
from neurotrade.serve._settings import ServeSettings
from neurotrade.serve._strategies import load

router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=[Depends(require_key)], responses=responses(401, 422))

MAX_LOG_CHUNK = 1024 * 1024
JobId = Annotated[int, Path(ge=1, le=2**62, description="The job's id.")]


def job_out(job: Job, store: JobStore) -> JobOut:
    """A job as the API shows it."""
    progress = store.progress(job.id) if job.state == "running" else None
    return JobOut(
        id=job.id,
        kind=job.kind,  # type: ignore[arg-type]
        state=job.state,  # type: ignore[arg-type]
        strategy=job.strategy,
        params=job.params,
        attempts=job.attempts,
        resumable=job.resumable,
        cancel_requested=job.cancel_requested,
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        progress=Progress(**progress) if progress else None,
        links={"self": f"/jobs/{job.id}", "logs": f"/jobs/{job.id}/logs", "result": f"/jobs/{job.id}/result"},
    )


def _submit(kind: str, body: Any, params: dict[str, Any], store: JobStore, settings: ServeSettings) -> JobOut:
    text, spec = load(body, settings.home)
    if kind == "tune" and spec.search is None:
        raise ApiError(
            422,
            f"strategy {spec.name!r} has no search: section, so there is nothing to tune; add one, e.g. search: "
            "{space: {training.learning_rate: {loguniform: [1.0e-4, 1.0e-2]}}}",
            field="body.strategy.search",
        )
    if kind == "backtest":
        from neurotrade.errors import StoreError
        from neurotrade.store import list_bundles

        try:
            list_bundles(settings.home / "models", spec.name)
        except StoreError as e:
            raise ApiError(404, f"no model to backtest: {e}", field="body.model") from e
    return job_out(store.submit(kind, spec.name, text, params), store)


@router.post(
    "/run",
    status_code=202,
    response_model=JobOut,
    summary="Train and evaluate a strategy",
    responses=responses(400, 413, 429),
)
def start_run(body: RunJobRequest, store: Jobs, settings: Settings) -> JobOut:
    """Queue `neurotrade run` on the strategy: walk-forward training, a saved model bundle and an HTML report.
    The strategy is checked now; a job is queued only when it is valid. On a server started with `--ray`, the
    trainings run on that cluster."""
    return _submit("run", body, {"workers": body.workers}, store, settings)


@router.post(
    "/backtest",
    status_code=202,
    response_model=JobOut,
    summary="Backtest a saved model",
    responses=responses(400, 404, 413, 429),
)
def start_backtest(body: BacktestJobRequest, store: Jobs, settings: Settings) -> JobOut:
    """Queue `neurotrade backtest`: the strategy's saved model traded bar by bar over a window."""
    params = {
        "model": body.model,
        "start": body.start.replace(tzinfo=None).isoformat() if body.start else None,
        "end": body.end.replace(tzinfo=None).isoformat() if body.end else None,
    }
    return _submit("backtest", body, params, store, settings)


@router.post(
    "/tune",
    status_code=202,
    response_model=JobOut,
    summary="Search a strategy's space",
    responses=responses(400, 413, 429),
)
def start_tune(body: TuneJobRequest, store: Jobs, settings: Settings) -> JobOut:
    """Queue `neurotrade tune`: the strategy's search.space on Ray with Optuna, the final holdout locked (on the
    server's cluster when it was started with `--ray`, else on a Ray started in the job's process)."""
    params = {"trials": body.trials, "workers": body.workers, "study": body.study}
    return _submit("tune", body, params, store, settings)


@router.get("", response_model=JobList, summary="List jobs")
def list_jobs(
    store: Jobs,
    state: Annotated[JobState | None, Query(description="Only jobs in this state.")] = None,
    kind: Annotated[JobKind | None, Query(description="Only jobs of this kind.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> JobList:
    """Jobs, newest first."""
    jobs, total = store.list(state=state, kind=kind, limit=limit, offset=offset)
    return JobList(jobs=[job_out(j, store) for j in jobs], total=total, limit=limit, offset=offset)


@router.get("/{job_id}", response_model=JobOut, summary="A job's status", responses=responses(404))
def get_job(job_id: JobId, store: Jobs) -> JobOut:
    """The job's state and, while it runs, its progress."""
    return job_out(store.require(job_id), store)


@router.get("/{job_id}/logs", response_model=LogChunk, summary="A job's log", responses=responses(404))
def get_logs(
    job_id: JobId,
    store: Jobs,
    offset: Annotated[int, Query(ge=0, le=2**62, description="Byte offset to read from.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LOG_CHUNK, description="Bytes to read at most.")] = 65536,
) -> LogChunk:
    """Everything the job's process printed or logged, from `offset`; poll with `next_offset` to follow it."""
    store.require(job_id)
    text, next_offset, size = store.read_log(job_id, offset, limit)
    return LogChunk(text=text, offset=min(offset, size), next_offset=next_offset, size=size)


@router.get(
    "/{job_id}/result", response_model=JobResult, summary="A finished job's result", responses=responses(404, 409)
)
def get_result(job_id: JobId, store: Jobs) -> JobResult:
    """The bundle, metrics and report link of a run; a backtest's metrics; a search's best trial. 409 until the
    job has finished."""
    job = store.require(job_id)
    if job.state in ("queued", "running"):
        raise ApiError(409, f"job {job_id} is {job.state}: its result is ready when it has finished")
    return JobResult(id=job.id, state=job.state, result=job.result, error=job.error)  # type: ignore[arg-type]


@router.post("/{job_id}/cancel", response_model=JobOut, summary="Cancel a job", responses=responses(404, 409))
def cancel_job(job_id: JobId, store: Jobs) -> JobOut:
    """A queued (or interrupted) job is cancelled at once; a running one is stopped (SIGTERM, then SIGKILL after
    5 s) and ends `cancelled`, unless it finished its work before the cancel reached it (then it `succeeded`)."""
    return job_out(store.cancel(job_id), store)


@router.post(
    "/{job_id}/resume", response_model=JobOut, summary="Resume an interrupted job", responses=responses(404, 409)
)
def resume_job(job_id: JobId, store: Jobs) -> JobOut:
    """Queue an interrupted job again: a run continues from its checkpoints (`--resume`), a search's study
    resumes where it stopped. A backtest cannot continue: start a new one."""
    return job_out(store.resume(job_id), store)
