"""OpenAI's moderation API, as a drop-in: ``POST /v1/moderations``.

The same request (``input``: a string, an array of strings, or an array of parts
``{"type": "text", "text"}`` / ``{"type": "image_url", "image_url": {"url": "data:..."}}``)
and the same response as OpenAI's, so a client of it (the official ``openai`` package with
``base_url`` pointed here) works unchanged. Scores are tamis's, mapped onto OpenAI's 13
categories (docs/SERVICE.md has the table); a category is flagged when the tamis policy
sends a label of it to review or block. An array of strings gives one result per string; an
array of parts is one input and gives one result. Image URLs other than ``data:`` are
refused unless the operator turned fetching on (``fetch_hosts``; tamis.service.fetch).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from tamis.results import Action, ScanResult
from tamis.service.auth import Caller, caller
from tamis.service.bodies import json_body, parse
from tamis.service.errors import ServiceError

#: Image parts of one request (OpenAI's own limit is lower still).
MAX_IMAGE_PARTS = 8
router = APIRouter(tags=["drop-in"])

#: OpenAI category -> the tamis labels whose highest score it takes.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "harassment": ("harassment", "harassment/threatening"),
    "harassment/threatening": ("harassment/threatening",),
    "hate": ("hate", "hate/threatening"),
    "hate/threatening": ("hate/threatening",),
    "illicit": ("drugs", "spam/scam", "weapons", "extremism"),
    "illicit/violent": ("weapons", "extremism"),
    "self-harm": ("self_harm", "self_harm/intent", "self_harm/instructions"),
    "self-harm/intent": ("self_harm/intent",),
    "self-harm/instructions": ("self_harm/instructions",),
    "sexual": ("sexual", "sexual/explicit", "sexual/minors"),
    "sexual/minors": ("sexual/minors",),
    "violence": ("violence", "violence/threat", "violence/graphic"),
    "violence/graphic": ("violence/graphic",),
}
#: The categories OpenAI rates on images too (the others are text only).
IMAGE_CATEGORIES = ("self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "violence",
                    "violence/graphic")
MODEL = "tamis-moderation-1"


class TextPart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["text"]
    text: str


class ImageURL(BaseModel):
    url: str


class ImagePart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["image_url"]
    image_url: ImageURL


Part = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ModerationRequest(BaseModel):
    input: str | list[str] | list[Part]
    model: str | None = None


def moderation(results: list[ScanResult]) -> dict:
    """One OpenAI moderation result from the scans of one input's parts."""
    scores: dict[str, float] = {}
    acted: set[str] = set()
    kinds: dict[str, set[str]] = {c: set() for c in CATEGORIES}
    for r in results:
        if r.error is not None:
            if r.error.code == "empty_input":  # nothing to rate: every category clear, as OpenAI does
                continue
            r.raise_error()
        kind = "image" if r.kind == "image" else "text"
        own = r.scores()
        for reason in (r.decision.reasons if r.decision else ()):
            if reason.action in (Action.REVIEW, Action.BLOCK):
                acted.add(reason.label)
        for cat, labels in CATEGORIES.items():
            if kind == "image" and cat not in IMAGE_CATEGORIES:
                continue
            kinds[cat].add(kind)
            scores[cat] = max(scores.get(cat, 0.0), *(own.get(lb, 0.0) for lb in labels))
    flags = {cat: any(lb in acted for lb in labels) for cat, labels in CATEGORIES.items()}
    return {"flagged": any(flags.values()), "categories": flags,
            "category_scores": {c: round(float(scores.get(c, 0.0)), 6) for c in CATEGORIES},
            "category_applied_input_types": {c: sorted(kinds[c]) for c in CATEGORIES}}


@router.post("/v1/moderations", summary="OpenAI-compatible moderation", openapi_extra=json_body(ModerationRequest))
async def moderations(request: Request, who: Caller = caller("scan")) -> JSONResponse:
    service = request.app.state.service
    body = parse(ModerationRequest, await request.body())
    inputs = body.input if isinstance(body.input, list) else [body.input]
    if not inputs:
        raise ServiceError("invalid_request", "input: give at least one text or part")
    if len(inputs) > service.settings.max_batch_texts:
        raise ServiceError("too_large", f"{len(inputs)} inputs in one request; at most "
                           f"{service.settings.max_batch_texts}")
    profile = who.profile
    images = sum(isinstance(x, ImagePart) for x in inputs)
    if images > MAX_IMAGE_PARTS:  # each is fetched or decoded and scanned in turn, in one thread
        raise ServiceError("too_large", f"{images} image parts in one request; at most {MAX_IMAGE_PARTS}")

    if all(isinstance(x, str) for x in inputs):  # one result per string, batched with other requests
        results = await service.scan_texts_batched([(f"<input {i}>", t) for i, t in enumerate(inputs)], profile)
        for text, r in zip(inputs, results):  # what the policy sends for review is queued, as for /v1/scan
            await service.review.queued(r, owner=who.owner, text=text)
        return JSONResponse({"id": f"modr-{uuid.uuid4().hex}", "model": body.model or MODEL,
                             "results": [moderation([r]) for r in results]})

    def work() -> list[dict]:
        parts = []
        for i, part in enumerate(inputs):
            if isinstance(part, TextPart):
                text, data = part.text, None
                result = service.scan(service.open(name=f"<input {i}>", text=text), profile)
            else:
                with service.fetcher.open(part.image_url.url, service.settings.max_bytes) as image:
                    text, data = None, image.read()
                result = service.scan_file(f"<image {i}>", data, profile, allow_video=False)
            service.review.from_scan(result, owner=who.owner, text=text, data=data)  # queued if it needs a person
            parts.append(result)
        return [moderation(parts)]

    results = await run_in_threadpool(work)
    return JSONResponse({"id": f"modr-{uuid.uuid4().hex}", "model": body.model or MODEL, "results": results})
