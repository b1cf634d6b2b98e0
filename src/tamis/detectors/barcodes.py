"""QR codes and barcodes (zxing-cpp): each decoded payload is a ``qr_code`` finding."""

from __future__ import annotations

import re

from tamis.content.base import Content
from tamis.detectors.base import Detector, Output
from tamis.results import Finding, Location

_URL = re.compile(r"^(https?|ftp)://\S+$|^www\.\S+$", re.IGNORECASE)
MAX_PAYLOAD = 4096


class BarcodeDetector(Detector):
    heavy = True
    reads_text = True
    emits_text = True
    name = "barcodes"
    version = "zxing-cpp-1"
    labels = frozenset({"qr_code"})
    requires = ("zxingcpp",)
    description = "QR codes and barcodes, with decoded payloads"

    def _load(self) -> None:
        import zxingcpp

        self._zx = zxingcpp

    def analyze_one(self, content: Content) -> Output:
        out = Output()
        multi = getattr(content, "frame_count", 1) > 1
        seen: set[tuple[str, str]] = set()
        for frame in content.frames:
            for code in self._zx.read_barcodes(frame.gray()):
                if not code.valid:
                    continue
                payload = code.text[:MAX_PAYLOAD]
                fmt = code.format.name
                if (fmt, payload) in seen:
                    continue
                seen.add((fmt, payload))
                pos = code.position
                pts = tuple((float(p.x), float(p.y)) for p in
                            (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left))
                data = {"format": fmt, "payload": payload,
                        "payload_is_url": bool(_URL.match(payload.strip()))}
                if len(code.text) > MAX_PAYLOAD:
                    data["truncated"] = True
                out.findings.append(Finding(
                    "qr_code", 1.0, self.name, self.version,
                    Location(polygon=pts, box=_bbox(pts, frame.width, frame.height),
                             frame=frame.index if multi else None),
                    explanation=f"{fmt} decoded", data=data))
        return out


def _bbox(pts, width, height):
    from tamis.results import Box

    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)).clip(width, height)
