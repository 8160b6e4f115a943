"""``GET /runs/{strategy}/{run}/report``: a run's HTML report (one offline page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import FileResponse

from neurotrade.serve._auth import require_key
from neurotrade.serve._bundles import NAME_PART
from neurotrade.serve._deps import Settings
from neurotrade.serve._errors import ApiError, responses

router = APIRouter(prefix="/runs", tags=["runs"], dependencies=[Depends(require_key)], responses=responses(401, 422))


@router.get(
    "/{strategy}/{run}/report",
    response_class=FileResponse,
    summary="Download a run's report",
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "The report."}}
    | responses(404),
)
def report(
    strategy: Annotated[str, Path(pattern=f"^{NAME_PART}$", description="The strategy's name.")],
    run: Annotated[str, Path(pattern=f"^{NAME_PART}$", description="The run folder, e.g. 1d_v3 (as its bundle).")],
    settings: Settings,
) -> FileResponse:
    """The run's `report.html`, as `neurotrade run` wrote it (regenerate one with `neurotrade report`)."""
    runs = settings.home / "runs"
    folder = runs / strategy / run
    page = folder / "report.html"
    if not page.is_file():
        if folder.is_dir():
            message = f"run {strategy}/{run} has no report.html; write it with `neurotrade report {strategy}/{run}`"
        elif (runs / strategy).is_dir():
            names = sorted(p.name for p in (runs / strategy).iterdir() if p.is_dir())
            listed = ", ".join(names[-20:]) or "none"
            message = f"strategy {strategy!r} has no run {run!r}; its runs: {listed}"
        else:
            message = f"no runs of strategy {strategy!r} in this workspace"
        raise ApiError(404, message, field="path.run")
    return FileResponse(
        page,
        media_type="text/html; charset=utf-8",
        filename=f"{strategy}_{run}_report.html",
        content_disposition_type="inline",
    )
