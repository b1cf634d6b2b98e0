"""Hashes of every input: MD5 and SHA-256 of the bytes; PDQ (with quality) of each image
frame; the normalised-text hash of a text. Computed once per content and shared."""

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


#: The order of pdqhash.compute_dihedral's hashes.
DIHEDRAL = ("original", "rotate_90", "rotate_180", "rotate_270", "flip_vertical", "flip_horizontal",
            "rotate_90_flip_vertical", "rotate_90_flip_horizontal")


def pdq_dihedral(rgb: np.ndarray) -> list[tuple[str, str]]:
    """(transform, PDQ) of the 8 rotations and mirror images of ``rgb``, in one pass."""
    import pdqhash

    bits, _ = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    return [(name, pdq_hex(b)) for name, b in zip(DIHEDRAL, bits)]


#: PDQ's cost grows faster than the pixels along a very long side (a 32 x 1,048,600 strip,
#: 2 KB as a WebP, took 14 s): a picture longer than this many times its width is first
#: shrunk along its long side to that ratio. No photograph is; their hashes are unchanged.
MAX_PDQ_ASPECT = 16


def pdq(rgb: np.ndarray) -> tuple[str, int]:
    import pdqhash

    h, w = rgb.shape[:2]
    if max(h, w) > MAX_PDQ_ASPECT * max(1, min(h, w)):
        import cv2

        long_side = MAX_PDQ_ASPECT * max(1, min(h, w))
        size = (w, long_side) if h > w else (long_side, h)
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return pdq_hex(bits), int(quality)


#: Video frames are hashed from a copy this many pixels on the longer side: PDQ reduces
#: every picture to 64 x 64 anyway, and hashing a 720p frame whole costs 20 ms.
FRAME_PDQ_SIDE = 512


def frame_pdq(rgb: np.ndarray) -> tuple[str, int]:
    """PDQ of a video frame, from a copy at most :data:`FRAME_PDQ_SIDE` pixels on a side."""
    h, w = rgb.shape[:2]
    scale = FRAME_PDQ_SIDE / max(h, w)
    if scale < 1:
        import cv2

        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return pdq(rgb)


def content_hashes(content: Content) -> Hashes:
    """The hashes of ``content``, computed once (the hash detector, the bank matcher and
    ``tamis hash`` all read these)."""
    def compute() -> Hashes:
        if content.kind == "video":
            return _video_hashes(content)
        if getattr(content, "derived", False):  # no bytes of its own
            md5 = sha256 = ""
        else:
            md5 = hashlib.md5(content.data, usedforsecurity=False).hexdigest()
            sha256 = hashlib.sha256(content.data).hexdigest()
        if content.kind == "text":
            from tamis.text import text_hash

            return Hashes(md5=md5, sha256=sha256, text=text_hash(content.normalized()))
        frames = getattr(content, "frames", [])
        per_frame = tuple((f.index, *f.shared("pdq", lambda f=f: pdq(f.rgb))) for f in frames)
        first = per_frame[0] if per_frame else None
        return Hashes(md5=md5, sha256=sha256, pdq=first[1] if first else None,
                      pdq_quality=first[2] if first else None,
                      frame_pdq=per_frame if len(per_frame) > 1 else ())

    return content.shared("hashes", compute)


def _video_hashes(content) -> Hashes:
    """MD5 and SHA-256 of the file, and the PDQ of its frames selected with the default
    sampling, leaving out frames within the default reuse distance of the one before."""
    from tamis.banks.signals import hamming
    from tamis.config import Settings
    from tamis.content.video import selected_frames

    defaults = Settings()
    md5, sha256 = content.digests()
    frames: list[tuple[int, str, int]] = []
    for sf in selected_frames(content, defaults):
        h, q = frame_pdq(sf.rgb)
        if frames and hamming(h, frames[-1][1]) <= defaults.video_reuse_distance:
            continue
        frames.append((sf.index, h, q))
    return Hashes(md5=md5, sha256=sha256, frame_pdq=tuple(frames))


class HashDetector(Detector):
    name = "hashes"
    version = "md5-sha256-pdq-text-1"
    kinds = frozenset({"image", "text"})
    requires = ("pdqhash",)
    description = "MD5, SHA-256, PDQ with quality (images), normalised-text hash (texts)"

    def analyze_one(self, content: Content) -> Output:
        return Output(hashes=content_hashes(content))
