"""``/models``: list, show, verify and delete the saved model bundles."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from neurotrade.serve._auth import require_key
from neurotrade.serve._bundles import NAME_PART, resolve_ref
from neurotrade.serve._deps import Engines, Settings
from neurotrade.serve._errors import ApiError, responses
from neurotrade.serve._plain import plain
from neurotrade.serve._schemas import DeletedOut, ModelDetail, ModelList, ModelOut, VerifyOut

router = APIRouter(
    prefix="/models", tags=["models"], dependencies=[Depends(require_key)], responses=responses(401, 422)
)

Strategy = Annotated[str, Path(pattern=f"^{NAME_PART}$", description="The strategy's name.")]
Version = Annotated[str, Path(pattern=f"^{NAME_PART}$", description="latest, latest-1d, 1d_v2 or v2.")]
# The numbers `neurotrade models list` shows, from each bundle's metrics document.
_LISTED = {
    "accuracy": ("aggregate", "classification", "accuracy"),
    "total_return": ("aggregate", "strategy", "total_return"),
    "sharpe": ("aggregate", "strategy", "sharpe"),
    "buy_and_hold_sharpe": ("aggregate", "buy_and_hold", "sharpe"),
}


def _number(document: Any, path: tuple[str, ...]) -> float | None:
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    if isinstance(document, int | float) and not isinstance(document, bool) and math.isfinite(document):
        return float(document)
    return None


def _model_out(ref: Any, metrics: Any) -> dict[str, Any]:
    return {
        "name": ref.name,
        "strategy": ref.strategy,
        "timeframe": ref.timeframe,
        "version": ref.version,
        "created_at": ref.created_at,
        "is_latest": ref.is_latest,
        "is_latest_of_timeframe": ref.is_latest_of_timeframe,
        "metrics": {key: _number(metrics, path) for key, path in _LISTED.items()},
    }


@router.get("", response_model=ModelList, summary="List saved models", responses=responses(404))
def list_models(
    settings: Settings,
    strategy: Annotated[
        str | None, Query(pattern=f"^{NAME_PART}$", description="Only this strategy's bundles.")
    ] = None,
) -> ModelList:
    """Every saved bundle, oldest first, with its run's out-of-sample numbers."""
    from neurotrade.errors import StoreError
    from neurotrade.store import list_bundles, read_document

    try:
        refs = list_bundles(settings.home / "models", strategy)
    except StoreError as e:
        raise ApiError(404, str(e), field="query.strategy") from e
    out = []
    for ref in refs:
        try:
            metrics = read_document(ref, "metrics", missing_ok=True)
        except StoreError:  # a damaged bundle is still listed; show or verify says what is wrong
            metrics = None
        out.append(ModelOut(**_model_out(ref, metrics)))
    return ModelList(models=out)


@router.get("/{strategy}/{version}", response_model=ModelDetail, summary="Show a model", responses=responses(404, 409))
def show_model(strategy: Strategy, version: Version, settings: Settings) -> ModelDetail:
    """Verify the bundle, then show its files, parameter count, features and every JSON document."""
    from neurotrade.errors import StoreError
    from neurotrade.store import load_bundle

    ref = resolve_ref(settings.home / "models", f"{strategy}/{version}", field="path.version")
    try:
        bundle = load_bundle(settings.home / "models", ref.name)
    except StoreError as e:  # it exists but fails verification: the bundle is at fault, not the request
        raise ApiError(409, str(e), field="path.version") from e
    documents = plain(bundle.documents)
    return ModelDetail(
        **_model_out(bundle.ref, bundle.documents.get("metrics")),
        files=plain(bundle.manifest.get("files", {})),
        parameters=int(sum(t.numel() for t in bundle.weights.values())),
        resolved_features=list(bundle.documents.get("features", {}).get("resolved_features", [])),
        documents=documents,
    )


@router.post(
    "/{strategy}/{version}/verify", response_model=VerifyOut, summary="Verify a model", responses=responses(404)
)
def verify_model(strategy: Strategy, version: Version, settings: Settings) -> VerifyOut:
    """Check every file against the manifest (size and sha256). A bundle that fails is answered 200 with
    `verified: false` and what is wrong: the request was fine, the bundle is not."""
    from neurotrade.errors import StoreError
    from neurotrade.store import load_bundle

    ref = resolve_ref(settings.home / "models", f"{strategy}/{version}", field="path.version")
    try:  # as `neurotrade models verify`: every file hashed, the weights and documents parsed
        bundle = load_bundle(settings.home / "models", ref.name)
    except StoreError as e:
        return VerifyOut(name=ref.name, verified=False, files=0, problem=str(e))
    return VerifyOut(name=ref.name, verified=True, files=len(bundle.manifest.get("files", {})))


@router.delete("/{strategy}/{version}", response_model=DeletedOut, summary="Delete a model", responses=responses(404))
def delete_model(
    strategy: Strategy,
    version: Version,
    settings: Settings,
    engines: Engines,
) -> DeletedOut:
    """Delete one version, named explicitly (1d_v2 or v2; `latest` is refused so a repeated call cannot delete
    two). `latest` moves to the newest version left; the run folder is kept."""
    from neurotrade.store import delete_bundle

    if version == "latest" or version.startswith("latest-"):
        raise ApiError(
            422,
            f"name the version to delete ({strategy}/1d_v2 or {strategy}/v2), not {version!r}: a repeated call must "
            "not delete two versions",
            field="path.version",
        )
    ref = resolve_ref(settings.home / "models", f"{strategy}/{version}", field="path.version")
    deleted = delete_bundle(settings.home / "models", ref.name)
    engines.forget(deleted.name)
    return DeletedOut(deleted=deleted.name, was_latest=deleted.is_latest)
