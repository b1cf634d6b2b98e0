"""Scan now: one input (``POST /v1/scan``) or many short texts (``POST /v1/scan/texts``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from tamis.service.auth import Caller, caller
from tamis.service.bodies import OPENAPI_BODY, TextItem, TextsBody, json_body, parse, read_scan
from tamis.service.errors import ServiceError

router = APIRouter(tags=["scan"])

RESULT = {"description": "The scan result (schema: GET /v1/schemas/scan-result)",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScanResult"}}}}


@router.post("/v1/scan", summary="Scan one image, text or document now", openapi_extra=OPENAPI_BODY,
             responses={200: RESULT})
async def scan(request: Request, who: Caller = caller("scan")) -> JSONResponse:
    service = request.app.state.service
    item = await read_scan(request)
    if item.webhook_url is not None:
        raise ServiceError("invalid_request", "webhook_url is for jobs (POST /v1/jobs); a scan answers at once")

    if item.text is not None:  # scanned with the texts of concurrent requests
        [result] = await service.scan_texts_batched([(item.name, item.text)], item.profile or who.profile,
                                                    item.labels)
        result.raise_error()
        return await answer(service, result, who, text=item.text)

    def work():
        try:
            item.fetch(service.fetcher, service.settings.max_bytes)
            data = item.read()
        finally:
            item.close()
        return service.scan_file(item.name, data, item.profile or who.profile, item.labels, allow_video=False), data

    result, data = await run_in_threadpool(work)
    return await answer(service, result, who, data=data)


async def answer(service, result, who: Caller, *, text: str | None = None, data: bytes | None = None) -> JSONResponse:
    """The result; one that needs a person is queued for review first (its item's id in the
    ``Tamis-Review-Item`` header)."""
    item = await service.review.queued(result, owner=who.owner, text=text, data=data)
    return JSONResponse(result.to_dict(), headers={"Tamis-Review-Item": item} if item else {})


TEXTS_BODY = json_body(TextsBody)


@router.post("/v1/scan/texts", summary="Scan many short texts now, in batches", openapi_extra=TEXTS_BODY)
async def scan_texts(request: Request, who: Caller = caller("scan")) -> JSONResponse:
    service = request.app.state.service
    body = parse(TextsBody, await request.body())
    if len(body.texts) > service.settings.max_batch_texts:
        raise ServiceError("too_large", f"{len(body.texts)} texts in one request; at most "
                           f"{service.settings.max_batch_texts}")
    items = [(t.id or f"<text {i}>", t.text) if isinstance(t, TextItem) else (f"<text {i}>", t)
             for i, t in enumerate(body.texts)]
    results = await service.scan_texts_batched(items, body.profile or who.profile, body.labels)
    for (_, text), r in zip(items, results):
        await service.review.queued(r, owner=who.owner, text=text)
    return JSONResponse({"results": [r.to_dict() for r in results]})
