"""Drop-in endpoints for tools platforms already run: Meta's Hasher-Matcher-Actioner (HMA)
hash-and-match API, and pict-rs's external validation.

HMA (github.com/facebook/ThreatExchange, hasher-matcher-actioner: OpenMediaMatch's
``blueprints/hashing.py`` and ``blueprints/matching.py``, ``schemas/matching.py`` and
``docs/api.md``). Matched:

- ``POST /h/hash``: a ``multipart/form-data`` upload whose one file part is named after
  its content type (``photo`` or ``video``) answers ``{signal_type: value}``; ``types``
  (comma-separated) picks signal types. Signal types use HMA's names: ``pdq`` for photos
  and ``video_md5`` for videos, with tamis's ``md5`` of a photo besides.
- ``GET /m/lookup?signal_type=&signal=`` answers ``{bank: [{"bank_content_id", "distance"}]}``
  with ``distance`` a string, as HMA's ``pretty_str()`` writes it (``"0"`` for an exact
  match); ``POST /m/lookup`` with an upload answers ``{signal_type: {bank: [...]}}``. The
  ``banks`` parameter (comma-separated) restricts the banks searched.

Differs: the field name of the upload is not needed to tell the type (tamis reads the type
from the bytes, so any one file part, or a raw body, is taken); ``url`` is refused
(``url_not_allowed``: the service fetches nothing); ``seed`` and ``bypass_coinflip`` are
accepted and ignored (tamis banks have no matching ratio: an enabled bank always matches);
bank names are tamis's (lower-case), ``bank_content_id`` is the id of a tamis bank entry
(one signal each, not one piece of content with several); a PDQ lookup matches within the
distance the ``banks`` detector uses (31); lookups also take ``md5``, ``sha256`` and
``text``; errors are tamis's ``{"error": {"code", "message"}}`` with its statuses (422
``bad_signal`` where HMA answers 400 ``{"message"}``); no ``/m/raw_lookup``,
``/m/compare``, ``/m/index/status`` or curation (``/c/...``) routes: the bank API is
``/v1/banks``.

pict-rs (the image server behind Lemmy; ``[media] external_validation``, from 0.4.3):
after ingesting an upload pict-rs POSTs the file, with ``Content-Type`` its media type and
nothing else, to the configured URL, within ``external_validation_timeout`` (30 s by
default), and keeps the upload on any 2xx answer, refusing it otherwise.
``POST /v1/pictrs/validate`` scans that body with the service's policy: ``block`` is 406
``refused_by_policy``; ``allow`` and ``review`` are 200 (``review`` is accepted and queued for
review, see docs/SERVICE.md); an input tamis cannot scan is refused (its error's status).
pict-rs sends no ``Authorization`` header, so once keys exist the key goes in the URL
(``?key=``).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from tamis.banks.signals import SignalError
from tamis.detectors.hashes import content_hashes
from tamis.errors import EmptyInputError
from tamis.results import Action
from tamis.service.auth import Caller, caller
from tamis.service.bodies import read_scan
from tamis.service.errors import Error, ServiceError, error_response
from tamis.service.routes.banks import find_matches
from tamis.service.state import Service

router = APIRouter(tags=["drop-in"])
log = logging.getLogger("tamis.service.pictrs")

#: HMA's signal type names (and tamis's own) -> the tamis bank signal they are.
HMA_SIGNALS = {"pdq": "pdq", "video_md5": "md5", "md5": "md5", "sha256": "sha256", "text": "text"}
NO_FETCH = "this service fetches no URL: upload the file (POST, multipart/form-data) or send its hash"


# -- HMA: hashing -----------------------------------------------------------------------------


async def read_upload(request: Request) -> tuple[str, bytes]:
    """(name, bytes) of the one file of a multipart form, whatever its field is called, or of a raw body."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form(max_files=2, max_fields=8)
        files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        if not files:
            raise ServiceError("invalid_request", "Missing multipart/form-data file upload (e.g. -F photo=@x.jpg)")
        if len(files) > 1:
            raise ServiceError("invalid_request", "Only one file allowed per request")
        return (files[0].filename or "upload")[:512], await files[0].read()
    data = await request.body()
    if not data:
        raise EmptyInputError("the request has no body: send the file as multipart/form-data or as the body")
    return request.query_params.get("name", "upload")[:512], data


def hma_hashes(service: Service, name: str, data: bytes, types: str | None) -> dict[str, str]:
    """HMA's {signal type: value} of one photo or video, limited to ``types`` when given."""
    content = service.open(name=name, data=data)
    if content.kind == "image":
        h = content_hashes(content)
        out = {"pdq": h.pdq, "md5": h.md5}
    elif content.kind == "video":
        out = {"video_md5": content.digests()[0]}  # the file's MD5: no frame is decoded
    else:
        raise ServiceError("unsupported_media", f"{content.name}: a {content.kind}; HMA's hashing takes a photo or "
                           "a video")
    if not types:
        return out
    wanted = [t.strip() for t in types.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in out]
    if unknown or not wanted:
        raise ServiceError("invalid_request", f"signal type(s) {', '.join(unknown) or '(none)'} not computed for a "
                           f"{content.kind} (use {', '.join(out)})")
    return {t: out[t] for t in wanted}


@router.post("/h/hash", summary="HMA: hash an uploaded photo or video")
async def hash_upload(request: Request, who: Caller = caller("scan"),
                      types: Annotated[str | None, Query(max_length=256)] = None) -> JSONResponse:
    service = request.app.state.service
    name, data = await read_upload(request)
    return JSONResponse(await run_in_threadpool(hma_hashes, service, name, data, types))


@router.get("/h/hash", summary="HMA: hash content by URL (refused: the service fetches nothing)")
def hash_url(who: Caller = caller("scan")) -> JSONResponse:
    raise ServiceError("url_not_allowed", NO_FETCH)


# -- HMA: matching ----------------------------------------------------------------------------


def bank_filter(banks: str | None) -> set[str] | None:
    return {b.strip().lower() for b in banks.split(",") if b.strip()} if banks else None


def hma_lookup(service: Service, signal_type: str, signal: str, banks: set[str] | None) -> dict[str, list[dict]]:
    """HMA's {bank: [{"bank_content_id", "distance"}]} for one hash."""
    if signal_type not in HMA_SIGNALS:
        raise SignalError(f"No such SignalType {signal_type!r} (use {', '.join(HMA_SIGNALS)})")
    out: dict[str, list[dict]] = {}
    for entry, distance in find_matches(service, HMA_SIGNALS[signal_type], signal):
        if banks is None or entry.bank in banks:
            out.setdefault(entry.bank, []).append({"bank_content_id": entry.id, "distance": str(distance)})
    return out


@router.get("/m/lookup", summary="HMA: the bank matches of a hash")
def lookup_hash(request: Request, who: Caller = caller("scan"),
                signal_type: Annotated[str | None, Query(max_length=32)] = None,
                signal: Annotated[str | None, Query(max_length=256)] = None,
                url: Annotated[str | None, Query(max_length=4096)] = None,
                banks: Annotated[str | None, Query(max_length=4096)] = None,
                seed: str | None = None, bypass_coinflip: bool = False) -> JSONResponse:
    if url:
        raise ServiceError("url_not_allowed", NO_FETCH)
    if not signal or not signal_type:
        raise ServiceError("invalid_request", "Either url or both signal and signal_type are required")
    return JSONResponse(hma_lookup(request.app.state.service, signal_type, signal, bank_filter(banks)))


@router.post("/m/lookup", summary="HMA: hash an uploaded photo or video and give its bank matches")
async def lookup_upload(request: Request, who: Caller = caller("scan"),
                        types: Annotated[str | None, Query(max_length=256)] = None,
                        banks: Annotated[str | None, Query(max_length=4096)] = None,
                        seed: str | None = None, bypass_coinflip: bool = False) -> JSONResponse:
    service = request.app.state.service
    name, data = await read_upload(request)

    def work() -> dict[str, dict]:
        hashes = hma_hashes(service, name, data, types)
        return {t: hma_lookup(service, t, v, bank_filter(banks)) for t, v in hashes.items()}

    return JSONResponse(await run_in_threadpool(work))


# -- pict-rs ----------------------------------------------------------------------------------

_scan_scope = caller("scan").dependency


def pictrs_caller(request: Request, key: Annotated[str | None, Query(max_length=512)] = None) -> Caller:
    """The caller, allowed ``scan``, from ``Authorization`` or, as pict-rs sends no headers of
    its own, from ``?key=`` (the same check, on a copy of the request with the header added)."""
    if key and "authorization" not in request.headers:
        scope = {**request.scope, "headers": [*request.scope["headers"], (b"authorization", f"Bearer {key}".encode())]}
        request = Request(scope, request.receive)
    return _scan_scope(request)


@router.post("/v1/pictrs/validate", summary="pict-rs external validation: 2xx keeps the upload, 406 refuses it",
             responses={406: {"model": Error, "description": "refused by the policy (block)"}})
async def pictrs_validate(request: Request, who: Caller = Depends(pictrs_caller),
                          profile: Annotated[str | None, Query(max_length=128)] = None) -> Response:
    service = request.app.state.service
    item = await read_scan(request)

    def work():
        data = item.read()
        if item.text is not None:
            result = service.scan(service.open(name=item.name, text=item.text), profile or who.profile)
        else:  # pict-rs waits for the answer, videos included
            result = service.scan_file(item.name, data, profile or who.profile, allow_video=True)
        result.raise_error()  # an input tamis cannot scan is refused, not waved through
        queued = service.review.from_scan(result, owner=who.owner, text=item.text, data=data)
        return result, queued

    result, queued = await run_in_threadpool(work)
    reasons = result.decision.reasons if result.decision else ()
    labels = sorted({r.label for r in reasons if r.action in (Action.BLOCK, Action.REVIEW)})
    if result.action == "block":
        blocking = sorted({r.label for r in reasons if r.action == Action.BLOCK})
        return error_response("refused_by_policy", f"{item.name}: refused by the policy ({', '.join(blocking)})", 406)
    if result.action == "review":
        sha256 = result.hashes.sha256 if result.hashes else None
        log.warning("pict-rs upload %s (sha256 %s) accepted, to review (item %s): %s", item.name, sha256, queued,
                    ", ".join(labels), extra={"request_id": getattr(request.state, "request_id", None)})
    return JSONResponse({"accepted": True, "action": result.action, "labels": labels, "review_item": queued})
