"""The app factory: settings, database, job supervisor and engine cache wired once; routers per resource.

``neurotrade serve`` runs it under uvicorn (``create_app`` by import string, so ``--workers N`` processes each
build their own from the environment). Tests build it the same way.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from neurotrade.serve._auth import require_key
from neurotrade.serve._db import Database
from neurotrade.serve._engines import EngineCache
from neurotrade.serve._errors import install_error_handlers
from neurotrade.serve._jobs import JobStore, Supervisor
from neurotrade.serve._limits import BodyLimit
from neurotrade.serve._routers import health, jobs, models, paper, predict, runs, strategies, streams
from neurotrade.serve._settings import ServeSettings
from neurotrade.serve._streams import StreamStore

log = logging.getLogger(__name__)

DESCRIPTION = """\
neurotrade as a service: validate strategies, run training, backtests and searches as jobs, manage the saved
models, ask a model for a decision, and read the paper sessions.

Every endpoint but `/health` needs an API key (`neurotrade serve key create`), sent as `Authorization: Bearer KEY`
or `X-API-Key: KEY`. Every error is `{"error": {"message": ..., "field": ...}}`.
"""


class HeadAsGet:
    """ASGI middleware: a HEAD request is served as the GET it stands for (HTTP asks it of every GET resource; a
    FastAPI route takes GET alone), key included; the server, which still sees HEAD, sends the headers only.

    Parameters
    ----------
    app
        The ASGI app it wraps.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}  # a copy: the server's own scope still says HEAD
        await self.app(scope, receive, send)


def create_app(settings: ServeSettings | None = None, *, run_jobs: bool = True) -> FastAPI:
    """Build the API.

    Parameters
    ----------
    settings
        Default: from the environment (:meth:`ServeSettings.from_env`).
    run_jobs
        Start the job supervisor with the app (False: jobs are queued and listed, and run by another server of
        the same workspace).

    Examples
    --------
    >>> import tempfile
    >>> app = create_app(ServeSettings(home=tempfile.mkdtemp()))
    >>> sorted(p for p in app.openapi()["paths"])[:3]
    ['/health', '/jobs', '/jobs/backtest']
    """
    settings = settings or ServeSettings.from_env()
    db = Database(settings.database)
    supervisor = Supervisor(settings) if run_jobs else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db.conn  # noqa: B018  create the database and its tables before the first request
        if supervisor is not None:
            supervisor.start()
        log.info("neurotrade API serving the workspace %s", settings.home)
        try:
            yield
        finally:
            if supervisor is not None:
                supervisor.stop()

    from neurotrade import __version__

    # The contract: a key for everything but health, the schema included, unless open docs were asked for.
    open_docs = settings.docs
    app = FastAPI(
        title="neurotrade",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # /models/ is not /models: a redirect would be answered before the key is checked, and not in JSON.
        redirect_slashes=False,
        openapi_url="/openapi.json" if open_docs else None,
        docs_url="/docs" if open_docs else None,
        redoc_url="/redoc" if open_docs else None,
    )
    if not open_docs:

        @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_key)])
        def openapi() -> JSONResponse:
            return JSONResponse(app.openapi())

    app.state.settings = settings
    app.state.db = db
    app.state.jobs = JobStore(settings, db)
    app.state.engines = EngineCache(settings.home / "models", settings.engine_cache)
    app.state.supervisor = supervisor
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeadAsGet)
    app.state.streams = StreamStore(settings, app.state.engines)
    for module in (health, strategies, jobs, models, runs, predict, streams, paper):
        app.include_router(module.router)
    return app
