"""Texts from concurrent requests scanned together: a request's texts wait at most
``batch_max_wait_ms`` for others, and up to ``batch_max_texts`` go through the models as one
batch (``Engine.scan_texts``), as the library's batched rate does; each request's policy and
labels are applied to its own results afterwards (``Engine.decide``). 50 short texts sent
at once cost about one batch, not 50 calls.

Why not a library: the ones for this (LitServe's batching, Ray Serve's ``@serve.batch``)
come with a server of their own; this is a queue and a thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future

from tamis.results import ScanResult
from tamis.service.errors import ServiceError
from tamis.taxonomy import check_labels

log = logging.getLogger("tamis.service.batcher")


class TextBatcher:
    def __init__(self, service, max_texts: int = 64, max_wait_ms: float = 5.0) -> None:
        self.service = service
        self.max_texts = max(1, max_texts)
        self.max_wait = max_wait_ms / 1000
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="tamis-text-batches", daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._stop.is_set()

    def stop(self) -> None:
        """Stop; a request still waiting gets an error, never silence."""
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None and item[3].set_running_or_notify_cancel():
                item[3].set_exception(ServiceError("not_ready", "the server is stopping"))

    def submit(self, items: list[tuple[str, str]], profile: str | None = None,
               labels: Iterable[str] | None = None) -> Future:
        """A future of the results of ``items`` ((name, text) pairs), in order."""
        policy = self.service.policy(profile)  # an unknown profile or label fails here, in the request
        if labels:
            check_labels(labels)
        future: Future = Future()
        if not self.running:
            future.set_exception(ServiceError("not_ready", "the server is stopping"))
            return future
        self._queue.put((items, policy, tuple(labels) if labels else None, future))
        return future

    def _take(self) -> list[tuple]:
        """The requests of the next batch: the first waiting one, and those that come within
        the wait, up to ``max_texts`` texts (a request is never split)."""
        first = self._queue.get()
        if first is None:
            return []
        batch, count = [first], len(first[0])
        deadline = time.monotonic() + self.max_wait
        while count < self.max_texts:
            try:
                more = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if more is None:
                self._stop.set()
                break
            batch.append(more)
            count += len(more[0])
        return batch

    def _loop(self) -> None:
        while not self._stop.is_set():
            # A request whose client went away is dropped here, before it costs anything.
            batch = [b for b in self._take() if b[3].set_running_or_notify_cancel()]
            if not batch:
                continue
            try:
                self._scan(batch)
            except Exception:  # noqa: BLE001 - the whole batch failed: each request alone
                log.exception("a batch of %d requests failed; scanning them one by one", len(batch))
                for item in batch:
                    try:
                        self._scan([item])
                    except Exception as one:  # noqa: BLE001 - this request's fault: its error alone
                        if not item[3].done():
                            item[3].set_exception(one)

    def _scan(self, batch: list[tuple]) -> None:
        """Scan the texts of ``batch`` together; give each request its own results."""
        engine = self.service.engine
        texts = [item for items, *_ in batch for item in items]
        self.service.metrics.text_batch.observe(len(texts))
        results = list(engine.scan_texts(texts, batch_size=len(texts)))
        outs, at = [], 0
        for items, policy, labels, _ in batch:
            mine: list[ScanResult] = []
            for r in results[at:at + len(items)]:
                mine.append(engine.decide(r, policy=policy, labels=labels))
            outs.append(mine)
            at += len(items)
        for (*_, future), mine in zip(batch, outs, strict=True):
            for r in mine:
                self.service.metrics.observe_result(r)
            if not future.done():
                future.set_result(mine)
