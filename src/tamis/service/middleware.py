"""ASGI middleware (plain ASGI: an error raised while a body streams in reaches the
exception handlers as itself): requests bounded as they come (a URL without NUL characters,
a body under its size limit and within its time), and the access log with a request id."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from starlette.exceptions import HTTPException

from tamis.service.errors import error_response

log = logging.getLogger("tamis.service.access")


class BodyError(HTTPException):
    """A request body refused while it streams in. An HTTPException, so that FastAPI's own
    body parsing (routes with a model for their body) lets it through as itself, where it
    turns any other exception into a 400; the handler gives it the service's error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, detail=message)
        self.code = code
        self.message = message


class BodyTooLarge(BodyError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, "too_large", f"the request body is over the limit of {limit:,} bytes")


class BodyTimeout(BodyError):
    def __init__(self, seconds: float, received: int) -> None:
        super().__init__(408, "body_timeout", f"the request body did not come in time ({received:,} bytes in "
                         f"{seconds:.1f} s of waiting): send it faster, or all at once")


def timeout_of_service(scope) -> tuple[float, int]:
    """(body_timeout_seconds, body_min_bytes_per_second) of the app's service, if it has one."""
    service = getattr(getattr(scope.get("app"), "state", None), "service", None)
    if service is None:
        return 0.0, 0
    return service.settings.body_timeout_seconds, service.settings.body_min_bytes_per_second


class BodyLimit:
    """ASGI middleware: ``limit_for(path, content_type)`` bytes at most per request body, and
    the body in time: no wait for its next part longer than ``timeout`` seconds, and all the
    waits together within ``timeout`` plus a second per ``min_rate`` bytes received (as
    Apache's mod_reqtimeout: a slow upload that keeps up the rate goes on, a trickle does
    not). Only the time spent waiting for the client counts, not the app's. Past it the
    answer is 408 ``body_timeout`` with ``Connection: close`` (or, once the response has
    begun, the app is told the client left). ``timeout_for(scope)`` gives (timeout,
    min_rate); by default the settings of the app's service. A URL with a NUL character is
    refused (422) before anything else: no store takes one (PostgreSQL's text cannot)."""

    def __init__(self, app, limit_for, timeout_for=timeout_of_service) -> None:
        self.app = app
        self.limit_for = limit_for
        self.timeout_for = timeout_for

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        #: A body was announced: answered before it is read whole, the connection is closed,
        #: or uvicorn would read (and throw away) whatever the client goes on sending, with
        #: no deadline left on it.
        has_body = b"transfer-encoding" in headers or headers.get(b"content-length", b"0") not in (b"0", b"")
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            await _closing(error_response("invalid_request", "the URL holds a NUL character (%00)", 422),
                           has_body)(scope, receive, send)
            return
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")
        limit = self.limit_for(scope["path"], ctype)
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _closing(error_response("too_large", f"the request body ({int(length):,} bytes) is over the "
                                          f"limit of {limit:,} bytes", 413), has_body)(scope, receive, send)
            return
        timeout, min_rate = self.timeout_for(scope)
        seen = 0
        waited = 0.0  # seconds spent waiting for the client's body, all waits together
        complete = False  # the whole body came (or the client left): receive() is passed through
        started = timed_out = False

        async def bounded():
            nonlocal seen, waited, complete, timed_out
            if timed_out:  # the client is done with, as if it had left
                return {"type": "http.disconnect"}
            if complete or timeout <= 0:
                message = await receive()
            else:
                budget = timeout + (seen / min_rate if min_rate > 0 else 0.0)
                begun = time.monotonic()
                try:
                    async with asyncio.timeout(max(0.0, min(timeout, budget - waited))):
                        message = await receive()
                except TimeoutError:
                    timed_out = True
                    if started:
                        return {"type": "http.disconnect"}
                    raise BodyTimeout(waited + time.monotonic() - begun, seen) from None
                finally:
                    waited += time.monotonic() - begun
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
                complete = complete or not message.get("more_body", False)
            elif message["type"] == "http.disconnect":
                complete = True
            return message

        async def send_closing(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if timed_out or (has_body and not complete):  # the rest of the body is not read: the connection ends
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        await self.app(scope, bounded, send_closing)


def _closing(response, close: bool):
    """``response``, with ``Connection: close`` when ``close``."""
    if close:
        response.headers["connection"] = "close"
    return response


class AccessLog:
    """ASGI middleware: a request id (the client's ``X-Request-Id`` or a new one) on the
    response and the log line, and requests and latency per route in the metrics."""

    def __init__(self, app, service_of) -> None:
        self.app = app
        self.service_of = service_of

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        start = time.perf_counter()
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            route = scope.get("route")
            path = getattr(route, "path", "<unmatched>")
            service = self.service_of()
            if service is not None:
                service.metrics.requests.labels(scope["method"], path, str(status)).inc()
                service.metrics.latency.labels(path).observe(seconds)
            log.info("request", extra={"request_id": rid, "method": scope["method"], "path": scope["path"],
                                       "route": path, "status": status, "ms": round(seconds * 1000, 2),
                                       "key": scope.get("state", {}).get("key_name")})
