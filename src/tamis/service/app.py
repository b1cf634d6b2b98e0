"""The FastAPI application: routes over one :class:`~tamis.service.state.Service`."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tamis import __version__
from tamis.results import json_schema
from tamis.service import errors
from tamis.service.auth import RateLimiter
from tamis.service.middleware import AccessLog, BodyLimit
from tamis.service.routes import banks, dropin, jobs, moderations, ops, review, scan
from tamis.service.state import Service
from tamis.service.web import pages

DESCRIPTION = """Self-hosted content safety: images, text, documents and video in; labels with
scores and places, a decision (allow / review / block) from an editable policy out.

Send `Authorization: Bearer KEY` once keys exist (`tamis keys create`). Errors are
`{"error": {"code", "message"}}` with the code tamis uses everywhere. Drop-in endpoints:
OpenAI's `POST /v1/moderations`."""


def _result_components(schema: dict) -> dict:
    """The result JSON Schema as OpenAPI components (its $defs become components of their own)."""
    text = json.dumps(schema).replace('"#/$defs/', '"#/components/schemas/ScanResult_')
    schema = json.loads(text)
    defs = schema.pop("$defs", {})
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    return {"ScanResult": schema, **{f"ScanResult_{k}": v for k, v in defs.items()}}


def _no_telemetry() -> dict:
    """FastAPI 0.16x traces every request through OpenTelemetry (and exports it when the
    environment says so): off here; tamis has its own metrics (/metrics) and logs."""
    import inspect

    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False,
                          "auto_configure": False}}


def create_app(service: Service | None = None) -> FastAPI:
    """The app. Without a ``service`` it builds one from the settings, loads the models
    and starts the job workers when it starts, and stops them when it stops."""
    owned = service is None

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if owned:
            app.state.service = Service()
        if not app.state.service.ready:
            app.state.service.start()
        try:
            yield
        finally:
            if owned:
                app.state.service.stop()

    app = FastAPI(title="tamis", version=__version__, description=DESCRIPTION, lifespan=lifespan, **_no_telemetry())
    app.state.service = service
    app.state.limiter = RateLimiter()
    app.state.error_page = pages.error_page
    errors.install(app)
    for router in (scan.router, jobs.router, moderations.router, ops.router, banks.router, dropin.router,
                   review.router, pages.router):
        app.include_router(router)

    def limit_for(path: str, content_type: str) -> int:
        s = app.state.service.settings if app.state.service is not None else None
        if s is None:
            return 64 * 1024 * 1024
        if path.startswith("/review"):
            return 64 * 1024  # the review page's forms: a reason of 2,000 characters at most
        scan_now = s.max_bytes * 4 // 3 + 1024 * 1024  # base64 in JSON, multipart framing
        if path.startswith("/v1/jobs") and content_type != "application/json":
            return s.max_upload_bytes  # spooled to disk as it comes, not held in memory
        return scan_now  # JSON is read whole into memory: never more than a scan takes

    def openapi() -> dict:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            doc.setdefault("components", {}).setdefault("schemas", {}).update(_result_components(json_schema()))
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi
    app.add_middleware(AccessLog, service_of=lambda: app.state.service)
    app.add_middleware(BodyLimit, limit_for=limit_for)  # outermost: before anything reads the body
    return app
