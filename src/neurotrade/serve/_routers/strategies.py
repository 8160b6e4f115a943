"""``POST /strategies/validate``: a strategy's YAML text in, every problem with its line and key path out."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from neurotrade.serve._auth import require_key
from neurotrade.serve._deps import Settings
from neurotrade.serve._errors import responses
from neurotrade.serve._schemas import ValidateRequest, ValidateResponse
from neurotrade.serve._strategies import check

router = APIRouter(
    prefix="/strategies",
    tags=["strategies"],
    dependencies=[Depends(require_key)],
    responses=responses(400, 401, 413, 422),
)


@router.post("/validate", response_model=ValidateResponse, summary="Check a strategy")
def validate(body: ValidateRequest, settings: Settings) -> ValidateResponse:
    """Validate the YAML text as `neurotrade validate` does. A strategy with problems is still a valid request:
    the answer is 200 with `valid: false` and every problem (line, key path, message)."""
    spec, problems = check(body.strategy, settings.home)
    return ValidateResponse(valid=spec is not None, name=spec.name if spec else None, errors=problems)
