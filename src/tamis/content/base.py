"""Reading inputs (paths, bytes, file objects) within the configured limits."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Union

from tamis.errors import EmptyInputError, InputError, InputNotFoundError, InputTimeoutError, TooLargeError

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes]]


@dataclass
class Content:
    """Typed content with a cache for work that several detectors share."""

    kind: str
    name: str
    media_type: str
    data: bytes
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)

    def check_deadline(self) -> None:
        """Raise :class:`InputTimeoutError` once the time budget of this content's scan
        (set by the engine for containers) is spent; called between parts and frames."""
        deadline = self.__dict__.get("deadline")
        if deadline is not None and time.monotonic() > deadline:
            raise InputTimeoutError(f"{self.name}: took longer than its time budget of "
                                    f"{self.__dict__.get('budget_seconds', 0):,.0f} s (max_input_seconds)")

    def shared(self, key: str, compute):
        """Compute ``key`` once per content; later callers get the same object."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]


_UNPRINTABLE = re.compile("[\ud800-\udfff\x00-\x1f\x7f]")


def printable(name: str) -> str:
    """A name from outside (a file name, an archive member, a header) that every writer can
    write and no terminal obeys: bytes that were not UTF-8 (which Python keeps as
    surrogates, 0xff as U+DCFF) and control characters (an ESC sequence) are shown as
    ``\\xff``, any other lone surrogate as U+FFFD. Applied where names enter."""
    if not _UNPRINTABLE.search(name):
        return name

    def one(m: re.Match) -> str:
        code = ord(m.group())
        if code < 0x80:
            return f"\\x{code:02x}"
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else "\ufffd"

    return _UNPRINTABLE.sub(one, name)


def read_source(source: Source, max_bytes: int, name: str | None = None) -> tuple[str, bytes]:
    """Return (name, bytes) of ``source``, refusing empty and over-large inputs."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = name or "<bytes>"
        if len(data) > max_bytes:
            raise TooLargeError(f"{name}: {len(data):,} bytes is over the limit of {max_bytes:,} bytes")
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = printable(name or str(path))
        try:
            if path.is_dir():
                raise InputError(f"{name}: is a folder, not a file")
            size = path.stat().st_size
            if size > max_bytes:
                raise TooLargeError(f"{name}: {size:,} bytes is over the limit of {max_bytes:,} bytes")
            with path.open("rb") as fh:
                data = fh.read(max_bytes + 1)
        except FileNotFoundError:
            raise InputNotFoundError(f"{name}: no such file") from None
        except PermissionError:
            raise InputError(f"{name}: permission denied") from None
        except OSError as exc:  # a loop of links, a name too long, an I/O error
            raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
        if len(data) > max_bytes:  # the file grew, or is a pipe
            raise TooLargeError(f"{name}: over the limit of {max_bytes:,} bytes")
    elif hasattr(source, "read"):
        name = printable(str(name or getattr(source, "name", None) or "<stream>"))
        data = source.read(max_bytes + 1)
        if not isinstance(data, bytes):
            raise InputError(f"{name}: stream must be opened in binary mode")
        if len(data) > max_bytes:
            raise TooLargeError(f"{name}: over the limit of {max_bytes:,} bytes")
    else:
        raise InputError(f"cannot scan an object of type {type(source).__name__}")
    name = printable(str(name))
    if not data:
        raise EmptyInputError(f"{name}: empty input (0 bytes)")
    return name, data
