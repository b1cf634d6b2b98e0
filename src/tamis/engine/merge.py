"""What every kind of content shares once analysed: the empty result that describes it,
and the placing of findings of a text read from a picture (OCR lines, QR payloads) back on
the picture. The engine, the video and the document scanners all use these."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from tamis.config import Settings
from tamis.content.base import Content, Source
from tamis.content.text import TextContent
from tamis.detectors.base import Detector
from tamis.policy import Policy
from tamis.results import Box, Finding, Hashes, ScanResult


class Analyzer(Protocol):
    """What the video and document scanners need of the engine that drives them: they get
    it as an argument and never import the engine (which imports them)."""

    settings: Settings
    policy: Policy
    detectors: list[Detector]

    def open(self, source: Source, name: str | None = None) -> Content: ...

    def analyze(self, contents: list[Content], parallel: bool | None = None) -> list[ScanResult]: ...

    def known_file(self, hashes: Hashes) -> list[Finding]: ...


def placed(finding: Finding, part: TextContent) -> Finding:
    """A text finding of a part read from an image (OCR lines, QR payloads), placed on the
    image: span in the read text, box of the lines it covers, frame, and which part."""
    span = finding.location.span
    hit = [r for r in part.regions if span is not None and r.start < span.end and r.end > span.start]
    hit = [r for r in hit if r.frame == hit[0].frame]  # a box is on one frame
    boxes = [r.box for r in hit if r.box is not None]
    box = None
    if boxes:
        x0 = min(b.x for b in boxes)
        y0 = min(b.y for b in boxes)
        x1 = max(b.x + b.w for b in boxes)
        y1 = max(b.y + b.h for b in boxes)
        box = Box(x0, y0, x1 - x0, y1 - y0)
    loc = replace(finding.location, box=box, part=hit[0].part if hit else part.part,
                  frame=hit[0].frame if hit else finding.location.frame,
                  timestamp=hit[0].timestamp if hit else finding.location.timestamp)
    return replace(finding, location=loc)


def describe(content: Content) -> ScanResult:
    """The result of ``content`` before any detector ran: what it is, its size, its notes."""
    return ScanResult(
        source=content.name, kind=content.kind, media_type=content.media_type,
        size_bytes=len(content.data), width=getattr(content, "width", None),
        height=getattr(content, "height", None), frames=getattr(content, "frame_count", None),
        frames_analyzed=len(getattr(content, "frames", [])) or None,
        notes=list(getattr(content, "notes", [])))
