"""Scans now of files (``/v1/scan``, pict-rs validation, image parts of ``/v1/moderations``)
in worker processes of their own, so that a file which crashes a native decoder, hangs or
blows up its memory costs that request an error, not the server.

Each lane is a :class:`~tamis.engine.pool.WorkerPool` of one process (its engine loaded
once); a request borrows a free lane, and waits for one at most ``scan_wait_seconds``
(then 429 ``queue_full``). Texts are not sent here: they are scanned in batches in the
server (pure Python and ONNX Runtime, no decoder of files).
"""

from __future__ import annotations

import logging
import queue
import threading

from tamis.results import ScanResult
from tamis.service.errors import ServiceError

log = logging.getLogger("tamis.service.scans")


class ScanLanes:
    def __init__(self, service, count: int, wait_seconds: float = 30.0) -> None:
        self.service = service
        self.count = count
        self.wait = wait_seconds
        #: The Engine's keyword arguments in the worker processes (tests put detectors here).
        self.engine_options: dict = {"settings": service.settings}
        self._free: queue.Queue = queue.Queue()
        self._pools: list = []
        self._lock = threading.Lock()
        self._starting: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.count > 0

    @property
    def ready(self) -> bool:
        """Every lane has started (or failed to, and been logged); at least one is up."""
        with self._lock:
            up = len(self._pools)
        return up > 0 and (self._starting is None or not self._starting.is_alive())

    def start(self) -> None:
        """Start the processes in the background (each loads its models: seconds); requests
        that come first wait for the first lane."""
        if self.enabled and self._starting is None:
            self._starting = threading.Thread(target=self._start_all, name="tamis-scan-lanes", daemon=True)
            self._starting.start()

    def _start_all(self) -> None:
        """Spawn every lane at once, and lend each out once its models are loaded."""
        from tamis.engine.pool import WorkerPool

        s = self.service.settings
        spawned = []
        for _ in range(self.count):
            try:
                spawned.append(WorkerPool(1, self.engine_options, max_input_seconds=s.max_input_seconds,
                                          max_input_memory=s.max_input_memory_mb << 20).__enter__())
            except Exception:  # noqa: BLE001 - fewer lanes rather than none
                log.exception("could not start a scan worker process")
        for pool in spawned:
            if not pool.wait_ready():
                log.error("a scan worker process did not load its models: one lane fewer")
                pool.close()
                continue
            with self._lock:
                self._pools.append(pool)
            self._free.put(pool)

    def stop(self) -> None:
        if self._starting is not None:
            self._starting.join(120)
            self._starting = None
        with self._lock:
            pools, self._pools = self._pools, []
        for pool in pools:
            pool.close()

    def scan(self, name: str, data: bytes) -> ScanResult:
        """Scan one file in a worker process (its result not yet decided by a policy)."""
        from tamis.engine.pool import describe_failure

        try:
            pool = self._free.get(timeout=self.wait)
        except queue.Empty:
            raise ServiceError("queue_full", f"every scan worker was busy for {self.wait:g} s: try again "
                               "later, or send it as a job (POST /v1/jobs)") from None
        try:
            [result] = next(pool.map([("named", (data, name), False)], describe_failure))
        finally:
            self._free.put(pool)
        return result
