"""Scanning with several worker processes, each with its own engine and models."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterable, Iterator
from typing import Any

from tamis.content.base import Source
from tamis.results import ScanResult

_engine = None


def _init(options: dict[str, Any]) -> None:
    global _engine
    from dataclasses import replace

    from tamis.config import load_settings
    from tamis.engine.engine import Engine

    # One thread per process: the processes fill the cores.
    settings = replace(options.get("settings") or load_settings(), parallel_detectors=False)
    _engine = Engine(**{**options, "settings": settings})
    _engine.load()


def _scan_one(args: tuple[Source, bool]) -> ScanResult:
    source, keep = args
    return next(_engine.scan_many([source], batch_size=1, keep_content=keep))


def _scan_text_batch(batch: list) -> list[ScanResult]:
    return list(_engine.scan_texts(batch, batch_size=len(batch) or 1))


def scan_texts_parallel(texts: Iterable, workers: int, chunk: int = 256,
                        **engine_options: Any) -> Iterator[ScanResult]:
    """Like :meth:`Engine.scan_texts` over ``workers`` processes, in order, ``chunk`` texts a task.

    At most two tasks per worker are in flight, so a large input is read as it is scanned,
    not all at once.
    """
    import collections
    import itertools

    ctx = mp.get_context("spawn")
    it = iter(texts)
    pending: collections.deque = collections.deque()
    with ctx.Pool(workers, initializer=_init, initargs=(engine_options,)) as pool:
        while True:
            while len(pending) < 2 * workers and (batch := list(itertools.islice(it, chunk))):
                pending.append(pool.apply_async(_scan_text_batch, (batch,)))
            if not pending:
                return
            yield from pending.popleft().get()


def scan_parallel(sources: Iterable[Source], workers: int, keep_content: bool = False,
                  **engine_options: Any) -> Iterator[ScanResult]:
    """Like :meth:`Engine.scan_many` (same order, errors as results) over ``workers`` processes.

    ``engine_options`` are :class:`Engine` keyword arguments; they must be picklable.
    """
    ctx = mp.get_context("spawn")  # model runtimes do not survive fork
    with ctx.Pool(workers, initializer=_init, initargs=(engine_options,)) as pool:
        yield from pool.imap(_scan_one, ((s, keep_content) for s in sources), chunksize=1)
