"""Dependencies the routers ask for: the settings, the job store, the engine cache (built once per app).

They are ``async``: FastAPI runs a plain ``def`` dependency in its thread pool, and a hop to a thread and back for
reading an attribute cost more than most requests' own work (under load, every hop also waits for the GIL).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from neurotrade.serve._engines import EngineCache
from neurotrade.serve._jobs import JobStore
from neurotrade.serve._settings import ServeSettings


async def settings_of(request: Request) -> ServeSettings:
    """The app's settings."""
    return request.app.state.settings


async def jobs_of(request: Request) -> JobStore:
    """The app's job store."""
    return request.app.state.jobs


async def engines_of(request: Request) -> EngineCache:
    """The app's engine cache."""
    return request.app.state.engines


# What an endpoint declares to get them (FastAPI's Annotated style: the dependency travels with the type).
Settings = Annotated[ServeSettings, Depends(settings_of)]
Jobs = Annotated[JobStore, Depends(jobs_of)]
Engines = Annotated[EngineCache, Depends(engines_of)]
