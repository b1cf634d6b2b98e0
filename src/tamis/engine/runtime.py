"""The runtime: the detectors of a process, each built and loaded once per configuration
and shared by every engine (and so by every thread, policy and label set).

An :class:`~tamis.engine.Engine` takes its detectors from here, so building another
engine (another policy, the CLI's, a server thread's) loads no model again. A detector is
run by one thread at a time (its :attr:`~tamis.detectors.base.Detector.lock`); different
detectors run at once.
"""

from __future__ import annotations

import threading
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
        return str(value)
    return value


class Runtime:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._detectors: dict[tuple, Detector] = {}

    def detectors(self, settings, face_attributes: Iterable[str] | None = None) -> list[Detector]:
        """The detectors for these settings: the same instances for the same configuration."""
        out = []
        with self._lock:
            for cls, kwargs in detector_specs(settings, face_attributes):
                key = (cls, _frozen(kwargs))
                det = self._detectors.get(key)
                if det is None:
                    det = self._detectors[key] = cls(**kwargs)
                out.append(det)
        return out

    def close(self) -> None:
        """Forget every detector (their sessions go when the last engine using them does)."""
        with self._lock:
            self._detectors.clear()


#: The process's runtime.
RUNTIME = Runtime()
