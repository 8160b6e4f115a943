"""``POST /predict``: one symbol's bars in, the decision engine's decision at the last bar out."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends

from neurotrade.serve._auth import require_key
from neurotrade.serve._deps import Engines
from neurotrade.serve._engines import EngineCache, decide
from neurotrade.serve._errors import ApiError, responses
from neurotrade.serve._schemas import PredictRequest, PredictResponse, Probabilities

if TYPE_CHECKING:
    from neurotrade.decision import Decision, DecisionEngine

router = APIRouter(
    tags=["predict"], dependencies=[Depends(require_key)], responses=responses(400, 401, 404, 409, 413, 422)
)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def decision_out(name: str, engine: DecisionEngine, d: Decision, bars: int) -> PredictResponse:
    """A decision as the API answers it (non-finite numbers as null)."""
    features = {n: _finite(v) for n, v in zip(engine.resolved_features, d.features, strict=True)}
    proba = None
    if d.proba is not None:
        sell, hold, buy = (_finite(float(p)) for p in d.proba)
        proba = Probabilities(SELL=sell, HOLD=hold, BUY=buy)
    return PredictResponse(
        model=name,
        time=d.time.to_pydatetime(),
        bars=bars,
        ready=d.ready,
        signal=d.signal,  # type: ignore[arg-type]
        target=int(d.target),
        size=_finite(float(d.size)) or 0.0,
        reason=d.reason,
        proba=proba,
        side=None if d.side is None else int(d.side),
        outputs={k: _finite(float(v)) for k, v in d.outputs.items()},
        held=None if d.held is None else int(d.held),
        exit_reason=d.exit_reason,
        features=features,
    )


# A request of up to this many bars on a loaded plain MLP is decided on the event loop (~30 us a bar): handing it to
# a thread and back, and the GIL hand-offs between that thread and the loop, cost more than the work, and under
# concurrent clients those waits made up most of the latency. A longer one, one whose bundle is still to be loaded
# (file hashes, the network rebuilt), or one whose model is not a plain MLP (a window model or an ensemble costs
# ~0.5 ms a bar: 512 bars would hold the loop ~0.25 s) goes to the thread pool so it does not hold up the others.
INLINE_BARS = 512


@router.post("/predict", response_model=PredictResponse, summary="Decide on the last of some bars")
async def predict(body: PredictRequest, engines: Engines) -> PredictResponse:
    """Feed the bars, oldest first, through a fresh decision engine of the bundle (streaming features, the
    bundle's scaler and model, its decision rules), exactly as `DecisionEngine.from_bundle` would in-process, and
    answer its decision at the last bar. The features the strategy computes must equal the bundle's
    resolved_features (else 422). Send enough history to warm every feature up: `ready: false` says it was not.
    A client that decides bar after bar should open a stream (`POST /streams`) and send each new bar alone."""
    if len(body.bars) <= INLINE_BARS and engines.is_cheap(body.model):
        return _predict(body, engines)
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_predict, body, engines)


def _predict(body: PredictRequest, engines: EngineCache) -> PredictResponse:
    from neurotrade.errors import FeatureError

    name, engine = engines.engine(body.model)  # a bundle not loaded yet is loaded here (once)
    bars = [bar.model_dump() for bar in body.bars]
    try:
        d = decide(engine, bars, body.position)
    except FeatureError as e:
        raise ApiError(422, str(e), field="body.bars") from e
    return decision_out(name, engine, d, len(bars))
