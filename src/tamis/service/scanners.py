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
        self._closing = threading.Event()
        #: Requests waiting for a lane, at most twice the lanes (each holds a thread of the
        #: server's pool while it waits): past that, 429 at once.
        self._waiting = 0

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
            self._closing.clear()
            self._starting = threading.Thread(target=self._start, args=(self.count,), name="tamis-scan-lanes",
                                              daemon=True)
            self._starting.start()

    def _start(self, count: int) -> None:
        """Spawn ``count`` lanes at once, and lend each out once its models are loaded."""
        from tamis.engine.pool import budgeted_pool

        spawned = []
        for _ in range(count):
            try:
                spawned.append(budgeted_pool(1, self.engine_options, self.service.settings))
            except Exception:  # noqa: BLE001 - fewer lanes rather than none
                log.exception("could not start a scan worker process")
        for pool in spawned:
            if self._closing.is_set() or not pool.wait_ready():
                if not self._closing.is_set():
                    log.error("a scan worker process did not load its models: one lane fewer")
                pool.close()
                continue
            with self._lock:
                self._pools.append(pool)
            self._free.put(pool)

    def _rebuild(self, pool) -> None:
        """A lane whose process is gone (and could not be replaced): a new one, off the request path."""
        with self._lock:
            if pool in self._pools:
                self._pools.remove(pool)
        pool.close()
        if not self._closing.is_set():
            threading.Thread(target=self._start, args=(1,), name="tamis-scan-lane-rebuild", daemon=True).start()

    @staticmethod
    def _healthy(pool) -> bool:
        return bool(pool.workers) and all(w.proc.is_alive() and w.ready for w in pool.workers)

    def stop(self) -> None:
        self._closing.set()
        if self._starting is not None:
            self._starting.join(120)
            self._starting = None
        with self._lock:
            pools, self._pools = self._pools, []
        for pool in pools:  # one still lent out is killed: its request gets worker_died
            pool.abandon()
            pool.close()
        while not self._free.empty():
            self._free.get_nowait()

    def _borrow(self):
        with self._lock:
            if not self._pools and not (self._starting and self._starting.is_alive()) and self._free.empty():
                raise ServiceError("not_ready", "no scan worker process is running (see the server's log)")
            if self._waiting >= 2 * self.count:
                raise ServiceError("queue_full", "every scan worker is busy and others wait: try again later, or "
                                   "send it as a job (POST /v1/jobs)")
            self._waiting += 1
        try:
            while True:
                try:
                    pool = self._free.get(timeout=self.wait)
                except queue.Empty:
                    raise ServiceError("queue_full", f"every scan worker was busy for {self.wait:g} s: try again "
                                       "later, or send it as a job (POST /v1/jobs)") from None
                if self._healthy(pool):
                    return pool
                self._rebuild(pool)  # died while idle: not this request's fault
        finally:
            with self._lock:
                self._waiting -= 1

    def scan(self, name: str, data: bytes) -> ScanResult:
        """Scan one file in a worker process (its result not yet decided by a policy)."""
        from tamis.engine.pool import describe_failure

        pool = self._borrow()
        results = pool.map([("named", (data, name), False)], describe_failure)
        try:
            found = next(results, None)
        except Exception:  # noqa: BLE001 - e.g. its replacement process did not come up: the lane is rebuilt
            log.exception("a scan worker process failed outside any input")
            self._rebuild(pool)
            raise ServiceError("not_ready", "the scan worker process could not be restarted; try again") from None
        finally:
            results.close()
        if self._closing.is_set():
            raise ServiceError("not_ready", "the server is stopping")
        if found is None:
            self._rebuild(pool)
            raise ServiceError("not_ready", "the scan worker process gave no answer; try again")
        self._free.put(pool)
        return found[0]
