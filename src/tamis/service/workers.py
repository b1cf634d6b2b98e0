"""Threads that take jobs from the store and scan them, and one that renews their claims.

A job is claimed from the database (not from a queue in memory), so jobs survive the
process: after a crash or a kill, the claims run out and any server's workers take them up.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid

from tamis.engine.pool import WorkerDiedError
from tamis.errors import InputError, TamisError
from tamis.results import ScanError, ScanResult
from tamis.storage import Job

log = logging.getLogger("tamis.service.jobs")


class JobWorkers:
    def __init__(self, service, count: int, poll_seconds: float = 0.5) -> None:
        self.service = service
        self.count = count
        #: For worker processes (setting job_processes): the Engine's keyword arguments there.
        self.engine_options: dict = {"settings": service.settings}
        self._pools: list = []
        self.poll = poll_seconds
        self.name = f"{os.uname().nodename[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"  # fits String(64)
        self._stop = threading.Event()
        self._keeper_stop = threading.Event()
        self._keeper: threading.Thread | None = None
        self._wake = threading.Condition()
        self._threads: list[threading.Thread] = []
        #: Jobs being scanned, with the worker process scanning each (None: in this process).
        self._running: dict[str, tuple[Job, object]] = {}
        self._running_lock = threading.Lock()

    def start(self) -> None:
        if self._threads or self.count <= 0:
            return
        for i in range(self.count):
            t = threading.Thread(target=self._loop, args=(f"{self.name}/{i}",), name=f"tamis-job-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        self._keeper = threading.Thread(target=self._keep_claims, name="tamis-job-leases", daemon=True)
        self._keeper.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking jobs; a job being scanned is finished first (up to ``timeout``); one
        that is not is taken up again when its claim runs out."""
        import time

        self._stop.set()
        self.wake()
        deadline = time.monotonic() + timeout
        for t in self._threads:  # one deadline for all, not one each
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()
        self._keeper_stop.set()  # claims are renewed until the jobs being scanned are done
        if self._keeper is not None:
            self._keeper.join(5)
            self._keeper = None
        for pool in self._pools:
            pool.close()
        self._pools.clear()

    def wake(self) -> None:
        """A job was submitted: a waiting worker looks now rather than at its next poll."""
        with self._wake:
            self._wake.notify()

    def _pool(self):
        """A worker process of this thread's own, or None when jobs run in the server's threads."""
        s = self.service.settings
        if not s.job_processes:
            return None
        from tamis.engine.pool import budgeted_pool

        pool = budgeted_pool(1, self.engine_options, s)
        self._pools.append(pool)
        return pool

    def _loop(self, worker: str) -> None:
        jobs = self.service.jobs
        try:
            pool = self._pool()
        except Exception:  # noqa: BLE001 - scan in this thread rather than not at all
            log.exception("could not start a worker process; this job thread scans in the server")
            pool = None
        while not self._stop.is_set():
            try:
                job = jobs.claim(worker)
            except Exception:  # noqa: BLE001 - the database is away for a moment: try again
                log.exception("could not claim a job")
                job = None
            if job is None:
                with self._wake:
                    self._wake.wait(self.poll)
                continue
            try:
                self.run(job, pool)
            except Exception:  # noqa: BLE001 - the store failed while recording: the claim runs out, retried
                log.exception("job %s: its outcome could not be recorded", job.id)

    def scan_apart(self, pool, job: Job) -> ScanResult:
        """A job scanned in the worker process, then decided under the job's options here."""
        from tamis.engine.pool import describe_failure

        if job.text is not None:
            task = ("texts", [(job.name, job.text)], False)
        else:
            task = ("named", (str(self.service.blobs.path(job.blob)), job.name), False)
        [result] = next(pool.map([task], describe_failure))
        if result.error is not None:
            if result.error.code == WorkerDiedError.code:  # crashed: tried again, up to the limit
                raise WorkerDiedError(result.error.message)
            raise result.error.exception()
        return self.service.decided(result, job.options.get("profile"), job.options.get("labels"))

    def run(self, job: Job, pool=None) -> None:
        jobs = self.service.jobs
        with self._running_lock:
            self._running[job.id] = (job, pool)
        try:
            result = self.scan_apart(pool, job) if pool is not None else self.service.run_job(job)
            outcome = result.to_dict()
            jobs.finish(job, outcome, then=self.service.review.for_job(job, outcome))
        except InputError as exc:  # this input cannot be scanned: no retry
            failed = ScanResult(source=job.name, error=ScanError.of(exc))
            jobs.finish(job, failed.to_dict(), error=failed.error.to_dict())
        except TamisError as exc:
            log.warning("job %s, try %d: %s", job.id, job.attempts, exc.message)
            jobs.retry(job, ScanError.of(exc).to_dict())
        except Exception as exc:  # noqa: BLE001 - a fault in tamis: retried, then failed, never lost
            log.exception("job %s, try %d failed", job.id, job.attempts)
            jobs.retry(job, {"code": "internal_error", "message": f"the scan failed: {type(exc).__name__}"})
        finally:
            with self._running_lock:
                self._running.pop(job.id, None)
            if job.webhook_url:
                self.service.webhooks.wake()  # its outcome is queued: send it now

    def _keep_claims(self) -> None:
        """Renew the claims of the jobs being scanned; a job whose claim is lost (cancelled,
        or its lease ran out and another server took it) has its worker process killed, so
        the scan stops now rather than when it ends (the process is replaced)."""
        every = max(0.05, self.service.jobs.lease.total_seconds() / 3)
        while not self._keeper_stop.wait(every):
            with self._running_lock:
                running = list(self._running.values())
            for job, pool in running:
                try:
                    if not self.service.jobs.renew(job) and pool is not None:
                        log.info("job %s is no longer this worker's (cancelled?): its scan is stopped", job.id)
                        pool.abandon()
                except Exception:  # noqa: BLE001
                    log.exception("could not renew the claim of job %s", job.id)
