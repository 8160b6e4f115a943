"""``GET /health``: open, for load balancers and scripts waiting for the server to start."""

from __future__ import annotations

from fastapi import APIRouter

from neurotrade.serve._schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Is the server up (no key needed)")
def health() -> Health:
    """Answers as soon as the server accepts requests."""
    from neurotrade import __version__

    return Health(status="ok", version=__version__)
