"""Scanning in worker processes, each with its own engine, under a time and memory budget.

A worker scans one task at a time. The supervisor (the calling process) gives each task a
deadline and watches each worker's memory; a worker that dies (a native crash, the kernel's
OOM killer), passes its deadline or its memory budget is killed and replaced, and its task
becomes an error result. The other tasks go on, and results come back in input order.

Why not ``multiprocessing.Pool`` or ``concurrent.futures``: a Pool waits forever for the
result of a worker that died, and a ProcessPoolExecutor marks itself broken and fails
every pending task; neither has a per-task deadline. pebble does all of this but is
LGPL-3.0; this is the part of it tamis needs (about a hundred lines).
"""

from __future__ import annotations

import collections
import itertools
import logging
import multiprocessing as mp
import os
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import wait
from typing import Any

from tamis.content.base import Source, printable
from tamis.errors import InputTimeoutError, TamisError, TooLargeError
from tamis.results import ScanError, ScanResult

log = logging.getLogger("tamis")

#: How often the supervisor looks at the workers' memory, in seconds.
_POLL = 0.25
#: Seconds a worker process may take to load its models and say it is ready.
START_SECONDS = 300.0


class WorkerDiedError(TamisError):
    """The worker process scanning an input died (a crash in a native library)."""

    code = "worker_died"


# -- in the worker ----------------------------------------------------------------------------

def _worker(conn, options: dict[str, Any], memory_bytes: int) -> None:
    from dataclasses import replace

    from tamis.config import load_settings
    from tamis.engine.engine import Engine
    from tamis.engine.runtime import limit_malloc_arenas

    limit_malloc_arenas()
    settings = options.get("settings") or load_settings()
    if options.pop("_one_of_many", False):  # one thread per process: the processes fill the cores
        settings = replace(settings, parallel_detectors=False)
    engine = Engine(**{**options, "settings": settings}).load()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        if memory_bytes:  # again for each input: address space reserved before it does not count
            _limit_address_space(memory_bytes)
        index, kind, payload, keep = task

        def announce(seconds: float, i=index) -> None:
            conn.send(("duration", i, seconds))

        if kind == "texts":
            results = list(engine.scan_texts(payload, batch_size=len(payload) or 1))
        elif kind == "named":  # (path, the name to show for it)
            results = _scan_source(engine, payload[0], keep, announce, name=payload[1])
        else:
            results = _scan_source(engine, payload, keep, announce)
        conn.send(("done", index, results))


def _scan_source(engine, source, keep: bool, announce, name: str | None = None) -> list[ScanResult]:
    """Open, tell the supervisor a video's duration (its deadline grows with it), scan."""
    try:
        content = engine.open(source, name)
    except TamisError as exc:
        return [engine.error_result(name or source, exc)]
    if content.kind == "video" and getattr(content, "duration", None):
        announce(content.duration)
    return list(engine.scan_many([content], batch_size=1, keep_content=keep))


def _status_bytes(pid: int | str, field: str) -> int:
    """A memory figure of a process from /proc (``VmSize``, ``VmRSS``), in bytes; 0 when
    there is none (not Linux, the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(f"{field}:"))
    except (OSError, ValueError, StopIteration):
        return 0


def _limit_address_space(extra: int) -> None:
    """A hard ceiling: what the loaded worker maps now, plus ``extra`` bytes. Past it,
    allocations fail (a MemoryError, a clean error) instead of the machine swapping."""
    import resource

    size = _status_bytes("self", "VmSize")
    if not size:  # pragma: no cover - not Linux: the supervisor's watch still holds
        return
    try:
        resource.setrlimit(resource.RLIMIT_AS, (size + extra, resource.getrlimit(resource.RLIMIT_AS)[1]))
    except (OSError, ValueError):  # pragma: no cover
        pass


# -- the supervisor ----------------------------------------------------------------------------

class _Worker:
    def __init__(self, ctx, options: dict[str, Any], memory_bytes: int) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, options, memory_bytes), daemon=True)
        self.proc.start()
        child.close()
        self.ready = False
        self.started = time.monotonic()
        self.task: tuple | None = None
        self.deadline = float("inf")
        self.base_rss = 0

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def rss(self) -> int:
        return _status_bytes(self.proc.pid, "VmRSS")


class WorkerPool:
    """``workers`` processes with an engine each; :meth:`map` scans tasks in them.

    ``max_input_seconds`` is the time one task may take (a video gets as much again per
    second of its duration); ``max_input_memory`` the bytes a worker may grow by while it
    scans one. Either passed, the worker is killed and replaced and the task's result is
    an error (``timeout``, ``too_large`` or ``worker_died``).
    """

    def __init__(self, workers: int, engine_options: dict[str, Any], *, max_input_seconds: float = 600.0,
                 max_input_memory: int = 4 << 30) -> None:
        self.size = max(1, workers)
        self.options = {**engine_options, "_one_of_many": self.size > 1}
        self.max_seconds = max_input_seconds
        self.max_memory = max_input_memory
        self.ctx = mp.get_context("spawn")  # model runtimes do not survive fork
        self.workers: list[_Worker] = []
        self.replaced = 0

    def __enter__(self) -> WorkerPool:
        self.workers = [self._spawn() for _ in range(self.size)]
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Idle workers are asked to stop (and given 2 s in all); busy ones are killed."""
        for w in self.workers:
            try:
                if w.proc.is_alive() and w.task is None:
                    w.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 2.0
        for w in self.workers:
            if w.task is None:
                w.proc.join(max(0.0, deadline - time.monotonic()))
            w.kill()
        self.workers = []

    def abandon(self) -> None:
        """Kill the workers busy with a task (from another thread): :meth:`map` then reports
        their tasks as failed (``worker_died``) and replaces them."""
        for w in list(self.workers):
            if w.task is not None and w.proc.is_alive():
                w.proc.kill()

    def wait_ready(self, timeout: float = START_SECONDS) -> bool:
        """Wait until every worker has loaded its models (True), or one died or ``timeout``
        passed (False). Tasks sent before then wait in the worker's pipe anyway."""
        deadline = time.monotonic() + timeout
        for w in self.workers:
            while not w.ready:
                left = deadline - time.monotonic()
                if left <= 0 or not w.proc.is_alive():
                    return False
                if w.conn.poll(min(left, _POLL)):
                    try:
                        message = w.conn.recv()
                    except (EOFError, OSError):
                        return False
                    w.ready = message[0] == "ready"
        return True

    def _spawn(self) -> _Worker:
        return _Worker(self.ctx, self.options, self.max_memory)

    def map(self, tasks: Iterable[tuple[str, Any, bool]], describe) -> Iterator[list[ScanResult]]:
        """Run ``tasks`` ((kind, payload, keep_content) with kind "source", "named" (a
        (path, name) pair) or "texts") and
        yield each one's results, in order. ``describe(task, error)`` makes the results of a
        task whose worker failed. At most two tasks per worker wait, so input is read as
        it is scanned."""
        todo = iter(enumerate(tasks))
        queued = self.queued = collections.deque()
        done: dict[int, list[ScanResult]] = {}
        self.splits: dict[int, list] = {}
        next_out = 0
        exhausted = False
        failure: BaseException | None = None  # the input iterator's: raised once what it gave is out
        while True:
            while not exhausted and len(queued) + self._busy() < 2 * self.size:
                try:
                    item = next(todo, None)
                except Exception as exc:  # noqa: BLE001
                    item, failure = None, exc
                if item is None:
                    exhausted = True
                    break
                queued.append(item)
            for w in self.workers:
                if w.ready and w.task is None and queued:
                    item = queued.popleft()
                    if not self._assign(w, item):
                        self._done(done, item[0], describe(item[1][:2], TamisError(
                            "this input cannot be sent to a worker process (give a path or bytes)")))
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1
            if exhausted and not queued and not self._busy() and not done:
                if failure is not None:
                    raise failure
                return
            self._step(done, describe)

    def _busy(self) -> int:
        return sum(w.task is not None for w in self.workers)

    def _assign(self, w: _Worker, item: tuple[int, tuple]) -> bool:
        """Send a task; False when it cannot be pickled (the worker stays idle)."""
        import pickle

        index, (kind, payload, keep) = item
        task = (index, kind, payload, keep)
        try:
            data = pickle.dumps(task)
        except Exception:  # noqa: BLE001 - an open file, a socket...
            return False
        w.task = task
        w.deadline = time.monotonic() + self.max_seconds
        w.base_rss = w.rss()
        try:
            w.conn.send_bytes(data)
        except (OSError, ValueError):
            pass  # a dead worker: noticed by _step
        return True

    def _step(self, done: dict, describe) -> None:
        by_conn = {w.conn: w for w in self.workers}
        by_sentinel = {w.proc.sentinel: w for w in self.workers}
        ready = wait(list(by_conn) + list(by_sentinel), timeout=_POLL)
        for obj in ready:
            w = by_conn.get(obj)
            if w is None or w not in self.workers:
                continue
            try:
                message = w.conn.recv()
            except (EOFError, OSError):
                continue  # it died: the sentinel says so
            if message[0] == "ready":
                w.ready = True
            elif message[0] == "duration":
                w.deadline += max(0.0, float(message[2]))
            elif message[0] == "done" and w.task is not None and message[1] == w.task[0]:
                self._done(done, message[1], message[2])
                w.task = None
        now = time.monotonic()
        for w in list(self.workers):
            error = None
            if w.task is not None and w.proc.is_alive() and w.conn.poll():
                continue  # its answer has come: read at the next step, not thrown away
            if not w.proc.is_alive():
                error = WorkerDiedError(self._died_message(w))
            elif not w.ready and now - w.started > START_SECONDS:  # never hang on a worker that never came up
                w.kill()
                raise TamisError(f"a worker process did not start within {START_SECONDS:.0f} s "
                                 "(its models did not load); run the scan with --workers 1 to see why")
            elif w.task is not None and now > w.deadline:
                error = InputTimeoutError(f"took longer than its time budget of {self.max_seconds:,.0f} s "
                                          "(max_input_seconds); the worker was replaced")
            elif w.task is not None and self.max_memory and w.rss() - w.base_rss > self.max_memory:
                error = TooLargeError(f"needed more than {self.max_memory >> 20:,} MB of memory "
                                      "(max_input_memory_mb); the worker was replaced")
            if error is None:
                continue
            if w.task is None and not w.ready:
                raise TamisError(f"a worker process could not start ({self._died_message(w)}); "
                                 "run the scan with --workers 1 to see why")
            self._replace(w, error, done, describe)

    @staticmethod
    def _died_message(w: _Worker) -> str:
        code = w.proc.exitcode
        if code is not None and code < 0:
            import signal

            try:
                return f"the worker died of {signal.Signals(-code).name} while scanning it"
            except ValueError:
                pass
        return f"the worker exited (code {code}) while scanning it"

    def _replace(self, w: _Worker, error: TamisError, done: dict, describe) -> None:
        w.kill()
        self.workers[self.workers.index(w)] = self._spawn()
        self.replaced += 1
        if w.task is None:
            return
        index, kind, payload, keep = w.task
        if kind == "texts" and len(payload) > 1 and not isinstance(index, tuple):
            # A batch of texts: each again alone, so that only the text at fault is lost.
            self.splits[index] = [None] * len(payload)
            for j in reversed(range(len(payload))):
                self.queued.appendleft(((index, j), (kind, payload[j:j + 1], keep)))
            return
        log.warning("input %s: %s", index, error.message)
        self._done(done, index, describe((kind, payload), error))

    def _done(self, done: dict, index, results: list[ScanResult]) -> None:
        if not isinstance(index, tuple):
            done[index] = results
            return
        parent, j = index
        parts = self.splits[parent]
        parts[j] = results
        if all(p is not None for p in parts):
            done[parent] = [r for p in self.splits.pop(parent) for r in p]


def budgeted_pool(workers: int, engine_options: dict[str, Any], settings) -> WorkerPool:
    """A started pool under the settings' time and memory budget per input."""
    return WorkerPool(workers, engine_options, max_input_seconds=settings.max_input_seconds,
                      max_input_memory=settings.max_input_memory_mb << 20).__enter__()


def describe_failure(task: tuple[str, Any], error: TamisError) -> list[ScanResult]:
    """The results of a task whose worker failed (died, ran out of time or memory)."""
    kind, payload = task
    if kind == "named":
        payload = payload[1]
    if kind == "texts":
        names = [p[0] if isinstance(p, tuple) else f"<text {i}>" for i, p in enumerate(payload)]
        return [ScanResult(source=printable(str(n)), kind="text", error=_named(error, n)) for n in names]
    name = payload if isinstance(payload, (str, os.PathLike)) else "<bytes>"
    return [ScanResult(source=printable(str(name)), error=_named(error, name))]


def _named(error: TamisError, name) -> ScanError:
    return ScanError(error.code, f"{printable(str(name))}: {error.message}", error.detail or None)


def scan_parallel(sources: Iterable[Source], workers: int, keep_content: bool = False, *,
                  max_input_seconds: float | None = None, max_input_memory: int | None = None,
                  **engine_options: Any) -> Iterator[ScanResult]:
    """Like :meth:`Engine.scan_many` (same order, errors as results) over ``workers``
    processes, each input under the time and memory budget of the settings.

    ``engine_options`` are :class:`Engine` keyword arguments; they must be picklable.
    """
    budget = _budget(engine_options, max_input_seconds, max_input_memory)
    with WorkerPool(workers, engine_options, **budget) as pool:
        for results in pool.map((("source", _sendable(s), keep_content) for s in sources), describe_failure):
            yield from results


def _sendable(source: Source) -> Source:
    """A binary stream is read here (up to the size limit's order), a path or bytes is sent as it is."""
    if hasattr(source, "read") and not isinstance(source, (bytes, bytearray, memoryview)):
        from tamis.config import load_settings

        data = source.read(load_settings().max_bytes + 1)
        return data if isinstance(data, bytes) else source
    return source


def scan_texts_parallel(texts: Iterable, workers: int, chunk: int = 256, *,
                        max_input_seconds: float | None = None, max_input_memory: int | None = None,
                        **engine_options: Any) -> Iterator[ScanResult]:
    """Like :meth:`Engine.scan_texts` over ``workers`` processes, in order, ``chunk`` texts a task."""
    budget = _budget(engine_options, max_input_seconds, max_input_memory)
    it = (t if isinstance(t, tuple) else (f"<text {i}>", t) for i, t in enumerate(texts))
    batches = iter(lambda: list(itertools.islice(it, chunk)), [])
    with WorkerPool(workers, engine_options, **budget) as pool:
        for results in pool.map((("texts", b, False) for b in batches), describe_failure):
            yield from results


def _budget(options: dict[str, Any], seconds: float | None, memory: int | None) -> dict[str, Any]:
    from tamis.config import load_settings

    settings = options.get("settings") or load_settings()
    return dict(max_input_seconds=seconds if seconds is not None else settings.max_input_seconds,
                max_input_memory=memory if memory is not None else settings.max_input_memory_mb << 20)
