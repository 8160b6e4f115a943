"""``/paper``: the paper trading sessions' positions and equity, read-only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from neurotrade.serve import _paper
from neurotrade.serve._auth import require_key
from neurotrade.serve._bundles import NAME_PART
from neurotrade.serve._deps import Settings
from neurotrade.serve._errors import responses
from neurotrade.serve._schemas import PaperEquity, PaperPositions, PaperSession, PaperSessions

router = APIRouter(prefix="/paper", tags=["paper"], dependencies=[Depends(require_key)], responses=responses(401, 422))

Session = Annotated[str, Path(pattern=f"^{NAME_PART}$", description="The session's name (its folder under paper/).")]


@router.get("/sessions", response_model=PaperSessions, summary="List paper sessions")
def list_sessions(settings: Settings) -> PaperSessions:
    """Every paper session in the workspace: its strategy and bundle, bars committed, the last one's time."""
    return PaperSessions(sessions=[PaperSession(**s) for s in _paper.sessions(settings.home)])


@router.get(
    "/sessions/{session}/positions",
    response_model=PaperPositions,
    summary="A paper session's positions",
    responses=responses(404, 409),
)
def positions(session: Session, settings: Settings) -> PaperPositions:
    """The positions held after the session's last committed bar, with its cash and equity."""
    time, rows, account = _paper.positions(settings.home, session)
    return PaperPositions(session=session, time=time, positions=rows, **account)


@router.get(
    "/sessions/{session}/equity",
    response_model=PaperEquity,
    summary="A paper session's equity",
    responses=responses(404, 409),
)
def equity(
    session: Session,
    settings: Settings,
    limit: Annotated[int, Query(ge=1, le=100_000, description="The last this many points.")] = 1000,
    offset: Annotated[int, Query(ge=0, le=2**62, description="Skip this many of the newest points first.")] = 0,
) -> PaperEquity:
    """The session's equity curve, oldest first: the last `limit` points (one per committed bar)."""
    rows, total = _paper.equity(settings.home, session, limit=limit, offset=offset)
    return PaperEquity(session=session, points=rows, total=total)
