"""The review page (``/review``): server-rendered HTML with a little JavaScript, no build step.

A reviewer signs in, sees the queues they may work on (names, counts and labels: no media),
and opens items one at a time; opening one claims it. Media is served only to a signed-in
reviewer of the item's queue, never cached, pictures re-encoded here.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from tamis.results import ScanResult
from tamis.service.errors import ServiceError
from tamis.service.review import Reviewing
from tamis.service.web import session as sess
from tamis.service.web import views
from tamis.storage.reviewers import SignInBusy
from tamis.taxonomy import LABELS

router = APIRouter(include_in_schema=False)
templates = Environment(loader=PackageLoader("tamis.service.web", "templates"), autoescape=select_autoescape(),
                        trim_blocks=True, lstrip_blocks=True)
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self'; "
                               "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_throttle = sess.Throttle()
#: Segments of a video shown on its page (with their best frames).
MAX_SEGMENTS = 50


def page(name: str, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status, headers=HEADERS)


def error_page(request: Request, exc, status: int) -> Response | None:
    """An error on a review page (not its media) as a page; None elsewhere (JSON)."""
    path = request.url.path
    if not path.startswith("/review") or path.endswith(("/media", "/renew")) or path.startswith("/review/static") \
            or "/frames/" in path:
        return None
    return page("held.html", status, me=sess.signed_in(request), message=exc.message)


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/review/login?next={quote(target)}", status_code=303, headers=HEADERS)


async def posted(request: Request):
    """(Who, the form) of a form posted by a signed-in reviewer with its CSRF token; None
    when no one is signed in (``csrf_failed`` for a form without its token)."""
    me = sess.signed_in(request)
    if me is None:
        return None
    form = await request.form()
    sess.check_csrf(request, str(form.get("csrf", "")), me.csrf)
    return me, form


def reviewing(me) -> Reviewing:
    return Reviewing(f"reviewer:{me.reviewer.name}", me.reviewer.queues)


_TARGET = re.compile(r"^/review(/next|/items/[0-9a-f]{32})?(\?[A-Za-z0-9=&_%.+-]{0,200})?$")
#: What a redirect may say on the next page (a code in its URL, never words from it).
NOTICES = {"saved": "Saved.", "empty": "Nothing left to review here.", "released": "Given back."}


def _next_target(raw: str | None) -> str:
    """Where to go after signing in: a page of the review site (no open redirect, no POST-only URL)."""
    return raw if raw and _TARGET.match(raw) else "/review"


@router.get("/review/login")
def login_form(request: Request, next: str | None = None) -> Response:
    token = sess.login_token()
    response = page("login.html", me=None, csrf=token, next=_next_target(next), error=None)
    sess.set_cookie(response, request, sess.LOGIN_COOKIE, token, 900)
    return response


@router.post("/review/login")
async def login(request: Request) -> Response:
    form = await request.form()
    name, password = str(form.get("name", ""))[:128], str(form.get("password", ""))[:1024]
    if "\x00" in name or "\x00" in password:
        raise ServiceError("invalid_request", "a name or password cannot hold a NUL character")
    sess.check_csrf(request, str(form.get("csrf", "")), request.cookies.get(sess.LOGIN_COOKIE))
    desk = request.app.state.service.review
    target = _next_target(str(form.get("next", "")))
    client = request.client.host if request.client else "?"
    if _throttle.paused(name) or _throttle.paused(f"address {client}", sess.FAILURES * 4):
        return page("login.html", 429, me=None, csrf=request.cookies.get(sess.LOGIN_COOKIE), next=target,
                    error="Too many wrong passwords: wait five minutes.")
    try:
        signed = await run_in_threadpool(desk.reviewers.sign_in, name, password)
    except SignInBusy:
        return page("login.html", 429, me=None, csrf=request.cookies.get(sess.LOGIN_COOKIE), next=target,
                    error="Too many people are signing in at once: try again in a moment.")
    if signed is None:
        _throttle.failed(name)
        _throttle.failed(f"address {client}")
        desk.service.keys.audit(name or "?", "review.sign_in_failed", name or "?", {"client": client})
        return page("login.html", 401, me=None, csrf=request.cookies.get(sess.LOGIN_COOKIE), next=target,
                    error="Wrong name or password.")
    _throttle.cleared(name)
    token, _ = signed
    response = RedirectResponse(target, status_code=303, headers=HEADERS)
    sess.set_cookie(response, request, sess.COOKIE, token, int(desk.reviewers.session_life.total_seconds()))
    response.delete_cookie(sess.LOGIN_COOKIE, path="/review")
    return response


@router.post("/review/logout")
async def logout(request: Request) -> Response:
    me = sess.signed_in(request)
    if me is not None:
        sess.check_csrf(request, str((await request.form()).get("csrf", "")), me.csrf)
        request.app.state.service.review.reviewers.sign_out(request.cookies.get(sess.COOKIE))
    response = RedirectResponse("/review/login", status_code=303, headers=HEADERS)
    response.delete_cookie(sess.COOKIE, path="/review")
    return response


@router.get("/review")
def queues(request: Request, order: str = "oldest", notice: str | None = None) -> Response:
    notice = NOTICES.get(notice or "")
    me = sess.signed_in(request)
    if me is None:
        return to_login(request)
    order = order if order in ("oldest", "riskiest") else "oldest"
    items = request.app.state.service.review.items
    allowed = me.reviewer.queues
    counts = sorted(items.counts(allowed).items())
    waiting = items.list(allowed, order=order, limit=50)
    return page("queue.html", me=me, queues=counts, items=waiting, order=order, notice=notice)


@router.post("/review/prefs")
async def prefs(request: Request) -> Response:
    if (signed := await posted(request)) is None:
        return to_login(request)
    me, form = signed
    request.app.state.service.review.reviewers.set_prefs(me.reviewer, blur=form.get("blur") == "1")
    return RedirectResponse("/review?notice=saved", status_code=303, headers=HEADERS)


@router.get("/review/next")
def next_item(request: Request, queue: str | None = None, order: str = "oldest") -> Response:
    me = sess.signed_in(request)
    if me is None:
        return to_login(request)
    who = reviewing(me)
    if queue is not None and not who.may(queue):
        raise ServiceError("forbidden", f"no access to the review queue {queue!r}")
    item = request.app.state.service.review.items.take_next(
        who.queues, who.actor, order if order in ("oldest", "riskiest") else "oldest", queue=queue)
    if item is None:
        return RedirectResponse("/review?notice=empty", status_code=303, headers=HEADERS)
    return RedirectResponse(f"/review/items/{item.id}", status_code=303, headers=HEADERS)


@router.get("/review/items/{item_id}")
def item_page(request: Request, item_id: str, plain: bool = False) -> Response:
    """One item, claimed as it opens. ``plain=1`` shows a text's personal data (audited)."""
    me = sess.signed_in(request)
    if me is None:
        return to_login(request)
    service = request.app.state.service
    who = reviewing(me)
    try:
        item = service.review.claim(item_id, who)
    except ServiceError as exc:
        if exc.code in ("claimed", "already_decided"):  # said without showing any of the item
            return page("held.html", 409, me=me, message=exc.message)
        raise
    result = ScanResult.from_dict(item.result)
    parts, has_pii = views.text_parts(item.text, result, masked=not plain) if item.text is not None else ([], False)
    if plain and has_pii:
        service.keys.audit(who.actor, "review.show_personal_data", item.id, {"queue": item.queue})
    segments = ((item.result.get("video") or {}).get("segments") or [])[:MAX_SEGMENTS]
    blur_queues = service.settings.review_blur_queues
    return page("item.html", me=me, item=item, reasons=(item.result.get("decision") or {}).get("reasons") or [],
                claim_until=item.claim_until.isoformat() + "Z",
                blur=me.reviewer.blur or item.queue in blur_queues or item.escalated_from in blur_queues,
                faces_blurred=service.settings.review_blur_faces, width=result.width or 1,
                height=result.height or 1, boxes=views.boxes(result), parts=parts, plain=plain, has_pii=has_pii,
                segments=segments, findings=views.findings(result), faces=views.faces(result),
                banks=[b.name for b in service.bank_store.banks()],
                labels=[*[label for label in item.labels if label in LABELS], "known_content"])


def _held(request: Request, item_id: str):
    """The item, for a signed-in reviewer of its queue who holds it (else 401 or 403)."""
    me = sess.signed_in(request)
    if me is None:
        raise ServiceError("unauthorized", "sign in to the review page first")
    who = reviewing(me)
    item = request.app.state.service.review.item(item_id, who)
    if item.status != "pending" or item.claimed_by != who.actor or not item.claimed():
        raise ServiceError("forbidden", "open the item (and hold it) to see its media")
    return item


@router.get("/review/items/{item_id}/media")
def item_media(request: Request, item_id: str) -> Response:
    service = request.app.state.service
    item = _held(request, item_id)
    if item.text is not None:
        return Response(item.text, media_type="text/plain; charset=utf-8", headers=HEADERS)
    if item.kind == "image":
        content = service.review.open(item)
        data = views.picture(content.frames[0].rgb, ScanResult.from_dict(item.result),
                             service.settings.review_blur_faces)
        return Response(data, media_type="image/jpeg", headers=HEADERS)
    path = service.review.media_path(item)
    if item.kind == "video":
        if service.settings.review_blur_faces:  # its faces cannot be blurred as it plays
            raise ServiceError("forbidden", "faces are kept blurred (review_blur_faces): see the best frames")
        return FileResponse(path, media_type=item.media_type or "video/mp4", headers=HEADERS)
    return FileResponse(path, media_type="application/octet-stream", filename=item.name.rsplit("/", 1)[-1][:100],
                        headers=HEADERS)


@router.get("/review/items/{item_id}/frames/{segment}")
def item_frame(request: Request, item_id: str, segment: int) -> Response:
    """A video segment's best frame, as a JPEG (faces blurred with ``review_blur_faces``)."""
    service = request.app.state.service
    item = _held(request, item_id)
    segments = (item.result.get("video") or {}).get("segments") or []
    if item.kind != "video" or not 0 <= segment < min(len(segments), MAX_SEGMENTS):
        raise ServiceError("not_found", "no such segment")
    from tamis.content.video import frame_at

    seg = segments[segment]
    rgb = frame_at(service.review.open(item), float(seg["timestamp"]))
    data = views.picture(rgb, ScanResult.from_dict(item.result), service.settings.review_blur_faces,
                         frame=int(seg["frame"]))
    return Response(data, media_type="image/jpeg", headers=HEADERS)


@router.post("/review/items/{item_id}/decision")
async def decide(request: Request, item_id: str) -> Response:
    if (signed := await posted(request)) is None:
        return to_login(request)
    me, form = signed
    bank = str(form.get("bank") or "") or None
    decision = str(form.get("decision", ""))
    desk = request.app.state.service.review
    await run_in_threadpool(desk.decide, item_id, reviewing(me), decision, str(form.get("reason", "")),
                            bank if decision == "remove" else None, str(form.get("label") or "") or None)
    return RedirectResponse("/review/next", status_code=303, headers=HEADERS)


@router.post("/review/items/{item_id}/renew")
async def renew(request: Request, item_id: str) -> Response:
    """The open page keeps its claim (204), or learns it lost it (409)."""
    if (signed := await posted(request)) is None:
        raise ServiceError("unauthorized", "sign in to the review page first")
    me, _ = signed
    request.app.state.service.review.item(item_id, reviewing(me))
    if not request.app.state.service.review.items.renew(item_id, reviewing(me).actor):
        raise ServiceError("claim_lost", "another reviewer holds this item now")
    return Response(status_code=204, headers=HEADERS)


@router.post("/review/items/{item_id}/release")
async def release(request: Request, item_id: str) -> Response:
    if (signed := await posted(request)) is None:
        return to_login(request)
    me, _ = signed
    desk = request.app.state.service.review
    desk.item(item_id, reviewing(me))
    desk.items.release(item_id, reviewing(me).actor)
    return RedirectResponse("/review?notice=released", status_code=303, headers=HEADERS)


@router.get("/review/static/{name}")
def static(name: str) -> Response:
    from importlib.resources import files

    if name not in ("review.css", "review.js"):
        raise ServiceError("not_found", "no such file")
    media = "text/css" if name.endswith(".css") else "text/javascript"
    data = (files("tamis.service.web") / "static" / name).read_bytes()
    return Response(data, media_type=f"{media}; charset=utf-8",
                    headers={**HEADERS, "Cache-Control": "public, max-age=3600"})
