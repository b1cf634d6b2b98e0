"""The runtime: the detectors of a process, each built and loaded once per configuration
and shared by every engine (and so by every thread, policy and label set).

An :class:`~tamis.engine.Engine` takes its detectors from here, so building another
engine (another policy, the CLI's, a server thread's) loads no model again; a detector
whose files in the data folder changed (``Detector.source_stamp``: a blocklist edited, a
bank store created) is built and loaded again. A detector is
run by one thread at a time (its :attr:`~tamis.detectors.base.Detector.lock`); different
detectors run at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tamis.detectors import Detector, detector_specs


def _frozen(value: Any) -> Any:
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_frozen(v) for v in value]
        return tuple(sorted(items, key=repr)) if isinstance(value, (set, frozenset)) else tuple(items)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, Path):
        return str(value.resolve())
    return value


class Runtime:
    #: Configurations kept per detector class. An engine holds its own detectors, so
    #: forgetting one here frees nothing in use; it bounds what a process that builds engines
    #: for many data folders (a test suite, a multi-tenant host) keeps of those no longer used.
    KEEP_PER_CLASS = 2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._detectors: OrderedDict[tuple, Detector] = OrderedDict()

    def detectors(self, settings, face_attributes: Iterable[str] | None = None) -> list[Detector]:
        """The detectors for these settings: the same instances for the same configuration."""
        out = []
        with self._lock:
            for cls, kwargs in detector_specs(settings, face_attributes):
                fresh = cls(**kwargs)  # cheap: nothing loads until used
                key = (cls, _frozen(kwargs), fresh.source_stamp())
                det = self._detectors.get(key)
                if det is None:  # new, or what it reads changed: the old one is let go
                    for old in [k for k in self._detectors if k[:2] == key[:2]]:
                        del self._detectors[old]
                    det = self._detectors[key] = fresh
                    same_class = [k for k in self._detectors if k[0] is cls]
                    for old in same_class[:-self.KEEP_PER_CLASS]:  # least recently used first
                        del self._detectors[old]
                else:
                    self._detectors.move_to_end(key)
                out.append(det)
        return out

    def close(self) -> None:
        """Forget every detector (their sessions go when the last engine using them does)."""
        with self._lock:
            self._detectors.clear()


#: The process's runtime.
RUNTIME = Runtime()

#: glibc's mallopt parameter for the number of malloc arenas.
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (as MALLOC_ARENA_MAX does) for arenas made from now on.

    glibc gives each thread that allocates an arena of its own, and keeps it: 8 threads
    scanning through one engine peaked at 1.50x the memory of one thread, 1.15x with 2
    arenas, at the same speed (bench/bench_runtime.py). tamis calls this in the processes
    it owns (the CLI, worker processes); an application that embeds tamis decides for itself.
    Returns whether it took effect (False off glibc)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, int(arenas)))
    except (OSError, AttributeError):
        return False
