"""ASGI middleware (plain ASGI: an error raised while a body streams in reaches the
exception handlers as itself): request bodies bounded while they stream in, and the access
log with a request id."""

from __future__ import annotations

import logging
import time
import uuid

from tamis.service.errors import ServiceError, error_response

log = logging.getLogger("tamis.service.access")


class BodyTooLarge(ServiceError):
    def __init__(self, limit: int) -> None:
        super().__init__("too_large", f"the request body is over the limit of {limit:,} bytes")


class BodyLimit:
    """ASGI middleware: ``limit_for(path, content_type)`` bytes at most per request body."""

    def __init__(self, app, limit_for) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")
        limit = self.limit_for(scope["path"], ctype)
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await error_response("too_large", f"the request body ({int(length):,} bytes) is over the limit of "
                                 f"{limit:,} bytes", 413)(scope, receive, send)
            return
        seen = 0

        async def bounded():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, bounded, send)


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
