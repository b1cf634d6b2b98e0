"""Uploads kept for jobs, each stored once under the SHA-256 of its bytes."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

_SHA = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not _SHA.match(sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, stream: BinaryIO, chunk: int = 1 << 20) -> tuple[str, int]:
        """Store what ``stream`` holds; returns its SHA-256 and size. The same bytes are
        stored once; a partial write never takes the place of a whole one."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while block := stream.read(chunk):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())  # a job accepted survives a crash: its input too
            sha = digest.hexdigest()
            target = self.path(sha)
            target.parent.mkdir(exist_ok=True)
            os.replace(tmp, target)
            return sha, size
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        import io

        return self.put(io.BytesIO(data))

    def delete(self, sha256: str, older_than: float | None = None) -> bool:
        """Remove an upload; with ``older_than`` (a time stamp), only if it was stored
        before then (the same bytes uploaded again a moment ago are a new file, kept)."""
        path = self.path(sha256)
        try:
            if older_than is not None and path.stat().st_mtime >= older_than:
                return False
            path.unlink()
            return True
        except FileNotFoundError:
            return False
