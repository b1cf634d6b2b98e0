"""Signal types: what a bank entry's value is, how it is checked, how two values compare.

Content types and signal types are separate (as in python-threatexchange): an image gives
MD5, SHA-256 and PDQ signals; a text gives MD5, SHA-256 and a normalised-text hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tamis.errors import InputError
from tamis.text.normalize import text_hash  # noqa: F401 - the text signal's hash


class SignalError(InputError):
    code = "bad_signal"


@dataclass(frozen=True)
class Signal:
    name: str
    pattern: re.Pattern
    exact: bool
    description: str

    def parse(self, value: str) -> str:
        """The canonical (lower-case) form of ``value``; a SignalError if it is not one."""
        v = value.strip().lower()
        if not self.pattern.fullmatch(v):
            raise SignalError(f"{value!r} is not a valid {self.name} value ({self.description})")
        return v


SIGNALS: dict[str, Signal] = {s.name: s for s in (
    Signal("md5", re.compile(r"[0-9a-f]{32}"), True, "32 hex digits, of the file's bytes"),
    Signal("sha256", re.compile(r"[0-9a-f]{64}"), True, "64 hex digits, of the file's bytes"),
    Signal("pdq", re.compile(r"[0-9a-f]{64}"), False, "256-bit PDQ of an image, 64 hex digits"),
    Signal("text", re.compile(r"[0-9a-f]{64}"), True, "SHA-256 of the normalised text, 64 hex digits"),
)}

def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
