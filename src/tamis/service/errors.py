"""One JSON shape for every error the service answers: ``{"error": {"code", "message"}}``,
with the machine-readable code tamis uses everywhere and the HTTP status that goes with it."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from tamis.errors import InputError, TamisError

log = logging.getLogger("tamis.service")

#: HTTP status per error code; an input error not named here is 422, anything else 400.
STATUS = {
    "unauthorized": 401, "forbidden": 403, "not_found": 404, "job_not_found": 404,
    "method_not_allowed": 405, "body_timeout": 408, "idempotency_conflict": 409, "not_cancellable": 409,
    "bank_exists": 409, "too_large": 413, "unsupported_format": 415, "unsupported_media": 415,
    "rate_limited": 429, "queue_full": 429, "internal_error": 500, "not_ready": 503,
    "model_error": 503, "model_unavailable": 503, "model_integrity": 503, "config_error": 500,
    "timeout": 422, "invalid_request": 422, "use_jobs": 422, "not_done": 409, "url_not_allowed": 422,
    "fetch_failed": 422,
    "webhook_not_allowed": 422, "claimed": 409, "claim_lost": 409, "already_decided": 409, "csrf_failed": 403,
    "media_gone": 410, "bank_failed": 500, "worker_died": 422,
}
#: Seconds a client is told to wait (Retry-After) before trying again.
RETRY_AFTER = {"rate_limited": 10, "queue_full": 30, "not_ready": 5}


class ErrorDetail(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    """The one shape of every error answer (for the OpenAPI document)."""

    error: ErrorDetail


#: The error answers every operation may give, declared once for the OpenAPI document: any
#: 4xx and 5xx is an :class:`Error` (docs/SERVICE.md lists the codes). This also replaces
#: FastAPI's own 422 declaration, whose ``{"detail": [...]}`` shape the service never sends.
RESPONSES: dict[int | str, dict] = {
    "4XX": {"model": Error, "description": "A refused request: {\"error\": {\"code\", \"message\"}}"},
    "5XX": {"model": Error, "description": "A failure of the service (internal_error, not_ready, model_error)"},
}


class ServiceError(TamisError):
    """An error of the service itself (auth, limits, unknown job), with its code given."""

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


def status_of(exc: TamisError) -> int:
    if exc.code in STATUS:
        return STATUS[exc.code]
    return 422 if isinstance(exc, InputError) else 400


def error_response(code: str, message: str, status: int, retry_after: int | None = None) -> JSONResponse:
    headers = {}
    if retry_after is None:
        retry_after = RETRY_AFTER.get(code)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """The handlers that give every error its one shape, and that shape declared on every
    operation (the routers included after this inherit the app router's ``responses``)."""
    app.router.responses = {**RESPONSES, **app.router.responses}

    @app.exception_handler(TamisError)
    async def _tamis(request: Request, exc: TamisError):
        page = getattr(app.state, "error_page", None)
        if page is not None and (shown := page(request, exc, status_of(exc))) is not None:
            return shown  # the review page's own HTML
        return error_response(exc.code, exc.message, status_of(exc), getattr(exc, "retry_after", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors()[:5]:
            where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
            parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        return error_response("invalid_request", "; ".join(parts) or "invalid request", 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        code = getattr(exc, "code", None) or {404: "not_found", 405: "method_not_allowed", 408: "body_timeout",
                                               413: "too_large"}.get(exc.status_code, "http_error")
        return error_response(code, str(exc.detail), exc.status_code)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return error_response("internal_error", "the server failed on this request; it is logged", 500)
