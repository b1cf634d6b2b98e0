"""For operators: liveness, readiness, Prometheus metrics, the result schema, the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tamis import __version__
from tamis.results import json_schema
from tamis.service.auth import Caller, caller
from tamis.service.errors import error_response

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process answers")
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


@router.get("/readyz", summary="Models loaded (in the scan worker processes too) and the database reachable")
def readyz(request: Request) -> Response:
    service = request.app.state.service
    checks = {"models": service.ready, "database": service.db.ping()}
    if service.lanes.enabled:
        checks["scan_processes"] = service.lanes.ready
    if not all(checks.values()):
        missing = ", ".join(k for k, ok in checks.items() if not ok)
        return error_response("not_ready", f"not ready: {missing}", 503)
    return JSONResponse({"status": "ready", "checks": checks})


@router.get("/metrics", summary="Prometheus metrics (the metrics scope once keys exist)",
            response_class=PlainTextResponse)
def metrics(request: Request, who: Caller = caller("metrics")) -> Response:
    return Response(generate_latest(request.app.state.service.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/schemas/scan-result", summary="The JSON Schema of scan results")
def result_schema() -> JSONResponse:
    return JSONResponse(json_schema())


@router.get("/v1/audit", summary="The audit log of admin changes, newest first")
def audit(request: Request, limit: int = 100, who: Caller = caller("admin")) -> JSONResponse:
    return JSONResponse({"entries": request.app.state.service.keys.audit_log(max(1, min(limit, 1000)))})
