"""Hashes of every image: MD5 and SHA-256 of the bytes, PDQ (with quality) of the pixels."""

from __future__ import annotations

import hashlib

import numpy as np

from tamis.content.base import Content
from tamis.detectors.base import Detector, Output
from tamis.results import Hashes


def pdq_hex(bits: np.ndarray) -> str:
    """The 64-hex-digit form used by the hash-sharing ecosystem (as ThreatExchange writes it)."""
    value = int("".join("1" if b else "0" for b in bits.astype(np.uint8).tolist()), 2)
    return f"{value:064x}"


def pdq(rgb: np.ndarray) -> tuple[str, int]:
    import pdqhash

    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return pdq_hex(bits), int(quality)


class HashDetector(Detector):
    name = "hashes"
    version = "md5-sha256-pdq-1"
    requires = ("pdqhash",)
    description = "MD5, SHA-256 and PDQ (with quality)"

    def analyze_one(self, content: Content) -> Output:
        md5 = hashlib.md5(content.data, usedforsecurity=False).hexdigest()
        sha256 = hashlib.sha256(content.data).hexdigest()
        frames = getattr(content, "frames", [])
        per_frame = tuple((f.index, *f.shared("pdq", lambda f=f: pdq(f.rgb))) for f in frames)
        first = per_frame[0] if per_frame else None
        return Output(hashes=Hashes(
            md5=md5, sha256=sha256,
            pdq=first[1] if first else None, pdq_quality=first[2] if first else None,
            frame_pdq=per_frame if len(per_frame) > 1 else ()))
