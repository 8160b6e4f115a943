"""``/streams``: a decision stream per symbol; open it with the history, then send each new bar alone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from neurotrade.serve._auth import require_key
from neurotrade.serve._errors import responses
from neurotrade.serve._routers.predict import decision_out
from neurotrade.serve._schemas import StreamAppend, StreamCreate, StreamDecision, StreamOut
from neurotrade.serve._streams import Fed, StreamStore

router = APIRouter(
    prefix="/streams",
    tags=["predict"],
    dependencies=[Depends(require_key)],
    responses=responses(400, 401, 404, 409, 413, 422),
)

StreamId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="The stream's id, as opened.")]


async def streams_of(request: Request) -> StreamStore:
    """The app's stream store (async: no thread hop to read it)."""
    return request.app.state.streams


Streams = Annotated[StreamStore, Depends(streams_of)]


def _answer(fed: Fed) -> StreamDecision:
    r = fed.record
    return StreamDecision(stream=StreamOut(**r), decision=decision_out(r["model"], fed.engine, fed.decision, r["bars"]))


@router.post(
    "", status_code=201, response_model=StreamDecision, summary="Open a decision stream", responses=responses(429)
)
def open_stream(body: StreamCreate, store: Streams) -> StreamDecision:
    """Feed a fresh engine of the bundle the history (as /predict does) and keep it: the answer has the stream's
    id and the decision at the last bar. Then send each new bar to `POST /streams/{id}/bars`."""
    return _answer(store.open(body.model, [b.model_dump() for b in body.bars], body.position))


@router.post("/{stream_id}/bars", response_model=StreamDecision, summary="Decide on the next bar")
def append_bars(stream_id: StreamId, body: StreamAppend, store: Streams) -> StreamDecision:
    """Feed the stream the bars after its last one (usually one): the decision at the last of them equals that
    of the engine in-process fed every bar of the stream in order."""
    return _answer(store.append(stream_id, [b.model_dump() for b in body.bars], body.position))


@router.get("/{stream_id}", response_model=StreamOut, summary="A stream", responses=responses(404))
def get_stream(stream_id: StreamId, store: Streams) -> StreamOut:
    """The stream's bundle, bar count and last bar's time."""
    return StreamOut(**store.get(stream_id))


@router.delete("/{stream_id}", response_model=StreamOut, summary="Close a stream", responses=responses(404))
def close_stream(stream_id: StreamId, store: Streams) -> StreamOut:
    """Delete the stream and its bars."""
    record = store.get(stream_id)
    store.close(stream_id)
    return StreamOut(**record)
