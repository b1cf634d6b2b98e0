"""Durable jobs: accepted once, claimed by one worker at a time, never lost.

A worker claims a job with a lease (``lease_until``) that it renews while it works. A
worker, or a whole server, that dies leaves a lease that runs out, and the job is claimed
again, up to ``max_attempts`` tries; then it is marked failed with the reason. Every change
of state is one conditional UPDATE (on the job's id, state and attempt number), so two
workers, in one process or on several machines sharing PostgreSQL, never both take it, and
a worker that lost its claim cannot overwrite what another finished.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tamis.errors import TamisError
from tamis.storage.db import Database, stamp, utcnow
from tamis.storage.models import DeliveryRow, JobRow
from tamis.storage.webhooks import add_delivery


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


class QueueFullError(TamisError):
    code = "queue_full"


class IdempotencyConflictError(TamisError):
    code = "idempotency_conflict"


@dataclass(frozen=True)
class Job:
    id: str
    status: JobStatus
    name: str
    owner: str
    options: dict
    text: str | None
    blob: str | None
    attempts: int
    max_attempts: int
    worker: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict | None
    error: dict | None
    webhook_url: str | None = None

    @classmethod
    def of(cls, r: JobRow) -> Job:
        return cls(r.id, JobStatus(r.status), r.name, r.owner, dict(r.options or {}), r.text, r.blob, r.attempts,
                   r.max_attempts, r.worker, r.created_at, r.started_at, r.finished_at, r.result, r.error,
                   r.webhook_url)

    def to_dict(self, with_result: bool = True) -> dict:
        out = {"id": self.id, "status": self.status.value, "name": self.name, "attempts": self.attempts,
               "created_at": stamp(self.created_at), "started_at": stamp(self.started_at),
               "finished_at": stamp(self.finished_at), "options": self.options}
        if self.error is not None:
            out["error"] = self.error
        if self.webhook_url is not None:
            out["webhook_url"] = self.webhook_url
        if with_result and self.result is not None:
            out["result"] = self.result
        return out


def request_hash(name: str, text: str | None, blob: str | None, options: dict, webhook_url: str | None = None) -> str:
    what = json.dumps({"name": name, "text": text, "blob": blob, "options": options, "webhook_url": webhook_url},
                      sort_keys=True)
    return hashlib.sha256(what.encode()).hexdigest()


class JobStore:
    def __init__(self, db: Database, max_attempts: int = 3, lease_seconds: float = 30.0,
                 max_queued: int = 1000) -> None:
        self.db = db
        self.max_attempts = max(1, max_attempts)
        self.lease = timedelta(seconds=lease_seconds)
        self.max_queued = max_queued

    # -- submitting -------------------------------------------------------------------

    def submit(self, name: str, *, text: str | None = None, blob: str | None = None, options: dict | None = None,
               owner: str = "", idempotency_key: str | None = None,
               webhook_url: str | None = None) -> tuple[Job, bool]:
        """Queue a job; returns it and whether it is new. The same idempotency key with
        the same request gives the job made the first time; with another request, an
        :class:`IdempotencyConflictError`. A full queue raises :class:`QueueFullError`."""
        options = options or {}
        digest = request_hash(name, text, blob, options, webhook_url)
        if idempotency_key is not None:
            found = self._by_key(owner, idempotency_key, digest)
            if found is not None:
                return found, False
        if self.active() >= self.max_queued:
            raise QueueFullError(f"{self.max_queued} jobs are queued or running already; try again later")
        row = JobRow(id=uuid.uuid4().hex, status=JobStatus.QUEUED.value, owner=owner, idempotency_key=idempotency_key,
                     request_hash=digest, name=name, text=text, blob=blob, options=options, attempts=0,
                     max_attempts=self.max_attempts, created_at=utcnow(), webhook_url=webhook_url)
        try:
            with self.db.session() as s:
                s.add(row)
        except IntegrityError:  # the same key, submitted at the same moment by another request
            found = self._by_key(owner, idempotency_key, digest) if idempotency_key is not None else None
            if found is None:
                raise
            return found, False
        return Job.of(row), True

    def _by_key(self, owner: str, key: str, digest: str) -> Job | None:
        with self.db.session() as s:
            row = s.scalars(select(JobRow).where(JobRow.owner == owner, JobRow.idempotency_key == key)).first()
            if row is None:
                return None
            if row.request_hash != digest:
                raise IdempotencyConflictError(
                    f"idempotency key {key!r} was used for another request (job {row.id})")
            return Job.of(row)

    # -- reading ----------------------------------------------------------------------

    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is None or (owner is not None and row.owner != owner):
                return None
            return Job.of(row)

    def list(self, owner: str | None = None, status: JobStatus | None = None, limit: int = 50,
             before: str | None = None) -> list[Job]:
        """Newest first; ``before`` (a job id) continues a listing after that job."""
        with self.db.session() as s:
            q = select(JobRow)
            if owner is not None:
                q = q.where(JobRow.owner == owner)
            if status is not None:
                q = q.where(JobRow.status == status.value)
            if before is not None:
                pivot = s.get(JobRow, before)
                if pivot is not None:
                    q = q.where(or_(JobRow.created_at < pivot.created_at,
                                    and_(JobRow.created_at == pivot.created_at, JobRow.id < pivot.id)))
            q = q.order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(max(1, min(limit, 500)))
            return [Job.of(r) for r in s.scalars(q)]

    def counts(self) -> dict[str, int]:
        with self.db.session() as s:
            rows = s.execute(select(JobRow.status, func.count()).group_by(JobRow.status)).all()
        out = {st.value: 0 for st in JobStatus}
        out.update({status: n for status, n in rows})
        return out

    def active(self) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(JobRow).where(
                JobRow.status.in_((JobStatus.QUEUED.value, JobStatus.RUNNING.value)))) or 0

    # -- working ----------------------------------------------------------------------

    def _claimable(self, now: datetime):
        return or_(JobRow.status == JobStatus.QUEUED.value,
                   and_(JobRow.status == JobStatus.RUNNING.value, JobRow.lease_until < now))

    def claim(self, worker: str) -> Job | None:
        """The oldest job waiting (or whose worker's lease ran out), now this worker's."""
        now = utcnow()
        with self.db.session() as s:
            candidates = s.execute(select(JobRow.id, JobRow.attempts, JobRow.max_attempts).where(
                self._claimable(now)).order_by(JobRow.created_at, JobRow.id).limit(16)).all()
        for job_id, attempts, max_attempts in candidates:
            with self.db.session() as s:
                same = and_(JobRow.id == job_id, JobRow.attempts == attempts, self._claimable(now))
                if attempts >= max_attempts:  # its last try died with its worker
                    ended = s.execute(update(JobRow).where(same).values(
                        status=JobStatus.FAILED.value, lease_until=None, finished_at=now,
                        error={"code": "worker_died", "message": f"the worker died during each of {attempts} tries"}))
                    if ended.rowcount == 1:
                        self._ended(s, job_id)
                    continue
                taken = s.execute(update(JobRow).where(same).values(
                    status=JobStatus.RUNNING.value, attempts=attempts + 1, worker=worker,
                    lease_until=now + self.lease, started_at=now))
                if taken.rowcount == 1:
                    return Job.of(s.get(JobRow, job_id))
        return None

    def _mine(self, job: Job):
        return and_(JobRow.id == job.id, JobRow.worker == job.worker, JobRow.attempts == job.attempts,
                    JobRow.status == JobStatus.RUNNING.value)

    def renew(self, job: Job) -> bool:
        """Extend this worker's claim; False when it is no longer the worker's (cancelled, or
        its lease ran out and another took the job)."""
        with self.db.session() as s:
            return s.execute(update(JobRow).where(self._mine(job)).values(
                lease_until=utcnow() + self.lease)).rowcount == 1

    def finish(self, job: Job, result: dict | None, error: dict | None = None,
               then: Callable[[Session], object] | None = None) -> bool:
        """Record the outcome: ``done`` with its result, or ``failed`` when ``error`` is
        given (the input cannot be scanned: no retry). False if the claim was lost.
        ``then(session)`` adds what must commit with it (the job's review item)."""
        status = JobStatus.FAILED if error is not None else JobStatus.DONE
        with self.db.session() as s:
            done = s.execute(update(JobRow).where(self._mine(job)).values(
                status=status.value, result=result, error=error, lease_until=None,
                finished_at=utcnow())).rowcount == 1
            if done:
                self._ended(s, job.id)
                if then is not None:
                    then(s)
            return done

    def retry(self, job: Job, error: dict) -> bool:
        """An unexpected failure: queued again while tries are left, else failed."""
        last = job.attempts >= job.max_attempts
        with self.db.session() as s:
            values = ({"status": JobStatus.FAILED.value, "error": error, "finished_at": utcnow()} if last
                      else {"status": JobStatus.QUEUED.value})
            changed = s.execute(update(JobRow).where(self._mine(job)).values(lease_until=None, **values)).rowcount == 1
            if changed and last:
                self._ended(s, job.id)
            return changed

    def cancel(self, job_id: str, owner: str | None = None) -> Job | None:
        """Cancel a job that is queued or running (a running one's result is then not kept)."""
        with self.db.session() as s:
            q = update(JobRow).where(JobRow.id == job_id, JobRow.status.in_(
                (JobStatus.QUEUED.value, JobStatus.RUNNING.value)))
            if owner is not None:
                q = q.where(JobRow.owner == owner)
            if s.execute(q.values(status=JobStatus.CANCELLED.value, lease_until=None,
                                  finished_at=utcnow())).rowcount == 1:
                self._ended(s, job_id)
        return self.get(job_id, owner)

    def purge(self, before: datetime) -> set[str]:
        """Delete the jobs that ended before ``before`` (and their webhook deliveries);
        returns the uploads no job needs any more."""
        final = [st.value for st in FINAL]
        with self.db.session() as s:
            old = s.execute(select(JobRow.id, JobRow.blob).where(
                JobRow.status.in_(final), JobRow.finished_at < before)).all()
            ids = [i for i, _ in old]
            for chunk in range(0, len(ids), 500):
                part = ids[chunk:chunk + 500]
                s.execute(delete(DeliveryRow).where(DeliveryRow.job_id.in_(part)))
                s.execute(delete(JobRow).where(JobRow.id.in_(part)))
        return {b for _, b in old if b} - self.blobs_in_use({b for _, b in old if b})

    def blobs_in_use(self, blobs: set[str]) -> set[str]:
        """Those of ``blobs`` a job still holds."""
        if not blobs:
            return set()
        with self.db.session() as s:
            return set(s.scalars(select(JobRow.blob).where(JobRow.blob.in_(sorted(blobs)))))

    @staticmethod
    def _ended(s, job_id: str) -> None:
        """A job reached its end: its callback, if it has one, is queued in the same transaction."""
        row = s.get(JobRow, job_id)
        if row is not None and row.webhook_url:
            job = Job.of(row)
            add_delivery(s, job.id, row.webhook_url, f"job.{job.status.value}",
                         {"event": f"job.{job.status.value}", "job": job.to_dict()})
