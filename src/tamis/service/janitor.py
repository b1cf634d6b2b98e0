"""Retention: finished jobs, their results, uploads and webhook deliveries, and decided
review items are deleted ``retention_days`` after they ended (checked at start and every hour). The audit log is
kept: it is the record of who changed what."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from tamis.storage.db import utcnow

log = logging.getLogger("tamis.service.retention")


class Janitor:
    def __init__(self, service, every_seconds: float = 3600.0) -> None:
        self.service = service
        self.every = every_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.service.settings.retention_days > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="tamis-retention", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def sweep(self) -> tuple[int, int]:
        """Delete what is past retention now; returns (jobs before, uploads deleted)."""
        days = self.service.settings.retention_days
        if days <= 0:
            return 0, 0
        cutoff = utcnow() - timedelta(days=days)
        before = self.service.jobs.counts()
        review = self.service.review.items
        freed = self.service.jobs.purge(cutoff) | review.purge(cutoff)
        self.service.deliveries.purge(cutoff)
        freed -= review.blobs_in_use(freed) | self.service.jobs.blobs_in_use(freed)
        wall_cutoff = time.time() - days * 86400
        removed = sum(self.service.blobs.delete(sha, older_than=wall_cutoff) for sha in freed)
        after = self.service.jobs.counts()
        gone = sum(before.values()) - sum(after.values())
        if gone or removed:
            log.info("retention: %d jobs and %d uploads older than %g days deleted", gone, removed, days)
        return gone, removed

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - tried again at the next round
                log.exception("retention sweep failed")
            self._stop.wait(self.every)
