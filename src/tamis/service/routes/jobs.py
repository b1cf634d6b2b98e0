"""Jobs, for what takes longer than a request: videos, large documents, batches.

``POST /v1/jobs`` takes the bodies /v1/scan takes and answers 202 with the job's id; the
job is in the database before the answer is sent, so it is never lost. An
``Idempotency-Key`` header makes a retried submission give the same job, never a second.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from tamis.service.auth import Caller, caller
from tamis.service.bodies import OPENAPI_BODY, read_scan
from tamis.service.errors import ServiceError
from tamis.storage import JobStatus
from tamis.taxonomy import check_labels

router = APIRouter(tags=["jobs"])


def _owner(who: Caller) -> str | None:
    return None if who.sees_all else who.owner


def _job(request: Request, job_id: str, who: Caller):
    job = request.app.state.service.jobs.get(job_id, _owner(who))
    if job is None:
        raise ServiceError("job_not_found", f"no job {job_id!r}")
    return job


@router.post("/v1/jobs", status_code=202, summary="Submit a scan to run in the background",
             openapi_extra=OPENAPI_BODY, responses={200: {"description": "The job this Idempotency-Key made before"}})
async def submit(request: Request, who: Caller = caller("scan"),
                 idempotency_key: Annotated[str | None, Header(max_length=255)] = None) -> JSONResponse:
    service = request.app.state.service
    item = await read_scan(request)
    if item.text is not None and "\x00" in item.text:
        raise ServiceError("invalid_request", "a text job cannot hold NUL characters; send the text as a file")
    options = {k: v for k, v in (("profile", item.profile or who.profile), ("labels", item.labels)) if v}
    if options.get("profile"):
        service.policy(options["profile"])  # an unknown profile is refused now, not when the job runs
    if options.get("labels"):
        check_labels(options["labels"])  # and so is an unknown label (else: tried again and again, then failed)
    webhook_url = service.webhook_url(item.webhook_url)

    def store():
        blob = None
        if item.text is None:
            try:
                item.fetch(service.fetcher, service.settings.max_upload_bytes)  # stored like an upload
                if item.file is not None:
                    item.file.seek(0)
                    blob, _ = service.blobs.put(item.file)
                else:
                    blob, _ = service.blobs.put_bytes(item.data)
            finally:
                item.close()
        return service.jobs.submit(item.name, text=item.text, blob=blob, options=options, owner=who.owner,
                                   idempotency_key=idempotency_key, webhook_url=webhook_url)

    job, created = await run_in_threadpool(store)
    if created:
        service.workers.wake()
    return JSONResponse({"id": job.id, "status": job.status.value}, status_code=202 if created else 200,
                        headers={"Location": f"/v1/jobs/{job.id}"})


@router.get("/v1/jobs", summary="List jobs, newest first")
def list_jobs(request: Request, who: Caller = caller("scan"), status: JobStatus | None = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 50, before: str | None = None) -> JSONResponse:
    jobs = request.app.state.service.jobs.list(_owner(who), status, limit, before)
    return JSONResponse({"jobs": [j.to_dict(with_result=False) for j in jobs],
                         "next": jobs[-1].id if len(jobs) == limit else None})


@router.get("/v1/jobs/{job_id}", summary="A job's status, and its result when done")
def get_job(request: Request, job_id: str, who: Caller = caller("scan")) -> JSONResponse:
    return JSONResponse(_job(request, job_id, who).to_dict())


@router.get("/v1/jobs/{job_id}/result", summary="A finished job's scan result")
def get_result(request: Request, job_id: str, who: Caller = caller("scan")) -> JSONResponse:
    job = _job(request, job_id, who)
    if job.result is None:
        raise ServiceError("not_done", f"job {job_id} is {job.status.value}: no result yet")
    return JSONResponse(job.result)


@router.get("/v1/jobs/{job_id}/deliveries", summary="The webhook deliveries of a job and their tries")
def deliveries(request: Request, job_id: str, who: Caller = caller("scan")) -> JSONResponse:
    job = _job(request, job_id, who)
    return JSONResponse({"deliveries": [d.to_dict() for d in request.app.state.service.deliveries.for_job(job.id)]})


@router.post("/v1/jobs/{job_id}/cancel", summary="Cancel a queued or running job")
def cancel_job(request: Request, job_id: str, who: Caller = caller("scan")) -> JSONResponse:
    job = _job(request, job_id, who)
    if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        raise ServiceError("not_cancellable", f"job {job_id} is {job.status.value} already")
    service = request.app.state.service
    job = service.jobs.cancel(job_id, _owner(who))
    if job.webhook_url:
        service.webhooks.wake()
    return JSONResponse(job.to_dict(with_result=False))
