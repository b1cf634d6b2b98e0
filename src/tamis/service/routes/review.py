"""The review queue over the API, for platforms with their own moderation tools:
list items, claim one, decide it (``review`` scope; a key may be limited to some queues;
``X-Tamis-Reviewer`` names the person when several share a key)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from tamis.service.auth import Caller, caller
from tamis.service.bodies import parse
from tamis.service.errors import ServiceError
from tamis.service.review import MAX_REASON, Reviewing
from tamis.storage.reviewers import NAME

router = APIRouter(tags=["review"])


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "remove", "escalate"]
    reason: str = Field(min_length=1, max_length=MAX_REASON)
    bank: str | None = Field(None, max_length=128, description="remove only: add the item's hashes to this bank")
    label: str | None = Field(None, max_length=64, description="the banked entries' label (default: the item's first)")


def reviewing(request: Request, who: Caller) -> Reviewing:
    """Who reviews: the key (and the person using it, ``X-Tamis-Reviewer``: a key several
    moderators share must say who, or they share one claim). Without keys the API is open
    only until reviewers exist: then the queue is theirs, and an API caller needs a key."""
    person = request.headers.get("x-tamis-reviewer", "").strip()
    if person and not NAME.match(person):
        raise ServiceError("invalid_request", "X-Tamis-Reviewer: 1-128 letters, digits, '_', '.', '@' or '-'")
    suffix = f"/{person}" if person else ""
    if who.key is None:
        if request.app.state.service.review.reviewers.any():
            raise ServiceError("unauthorized", "reviewers exist: the review API needs a key with the review scope "
                               "(tamis keys create NAME --scopes review)")
        return Reviewing("local" + suffix, None)
    return Reviewing(f"key:{who.key.name}{suffix}", None if who.sees_all else who.key.queues)


@router.get("/v1/review/queues", summary="Queues and how many items wait in each")
def queues(request: Request, who: Caller = caller("review")) -> JSONResponse:
    desk = request.app.state.service.review
    return JSONResponse({"queues": desk.items.counts(reviewing(request, who).queues)})


@router.get("/v1/review/items", summary="Items waiting for review (or decided), oldest or riskiest first")
def list_items(request: Request, who: Caller = caller("review"),
               queue: Annotated[str | None, Query(max_length=64)] = None,
               status: Literal["pending", "decided"] = "pending",
               order: Literal["oldest", "riskiest"] = "oldest",
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> JSONResponse:
    desk = request.app.state.service.review
    r = reviewing(request, who)
    if queue is not None and not r.may(queue):
        raise ServiceError("forbidden", f"no access to the review queue {queue!r}")
    items = desk.items.list(r.queues, status=status, order=order, limit=limit, offset=offset, queue=queue)
    return JSONResponse({"items": [i.to_dict(with_result=False) for i in items]})


@router.get("/v1/review/items/{item_id}", summary="One item, with its scan result")
def get_item(request: Request, item_id: str, who: Caller = caller("review")) -> JSONResponse:
    return JSONResponse(request.app.state.service.review.item(item_id, reviewing(request, who)).to_dict())


@router.get("/v1/review/items/{item_id}/media", summary="What was scanned (the upload, or the text)",
            response_class=Response)
def media(request: Request, item_id: str, who: Caller = caller("review")) -> Response:
    service = request.app.state.service
    item = service.review.item(item_id, reviewing(request, who))
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               "Content-Disposition": "attachment"}
    if item.text is not None:
        return Response(item.text, media_type="text/plain; charset=utf-8", headers=headers)
    return FileResponse(service.review.media_path(item), media_type="application/octet-stream", headers=headers)


@router.post("/v1/review/items/{item_id}/claim", summary="Claim an item (a lease; 409 when another holds it)")
async def claim(request: Request, item_id: str, who: Caller = caller("review")) -> JSONResponse:
    desk = request.app.state.service.review
    item = await run_in_threadpool(desk.claim, item_id, reviewing(request, who))
    return JSONResponse(item.to_dict(with_result=False))


@router.post("/v1/review/items/{item_id}/release", summary="Give a claimed item back to the queue")
def release(request: Request, item_id: str, who: Caller = caller("review")) -> JSONResponse:
    desk = request.app.state.service.review
    r = reviewing(request, who)
    desk.item(item_id, r)
    return JSONResponse({"released": desk.items.release(item_id, r.actor)})


@router.post("/v1/review/items/{item_id}/decision", summary="Approve, remove (optionally banking its hashes) "
             "or escalate an item you hold")
async def decide(request: Request, item_id: str, who: Caller = caller("review")) -> JSONResponse:
    body = parse(DecisionBody, await request.body())
    desk = request.app.state.service.review
    item = await run_in_threadpool(desk.decide, item_id, reviewing(request, who), body.decision, body.reason, body.bank,
                                   body.label)
    return JSONResponse(item.to_dict(with_result=False))
