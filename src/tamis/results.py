"""The shapes tamis reports: findings, faces, hashes, extracted text, decisions, results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The parts of a result live in result_parts and summaries; they are all importable from here.
from tamis.result_parts import (  # noqa: F401
    Action,
    Box,
    Decision,
    ExtractedText,
    Face,
    FaceAttribute,
    Finding,
    Hashes,
    Location,
    Reason,
    ScanError,
    Span,
    TextLine,
    drop_none,
    round_score,
)
from tamis.summaries import DocumentSummary, FrameRecord, PartRecord, Segment, VideoSummary  # noqa: F401

#: Version of the shape of :meth:`ScanResult.to_dict`; :meth:`ScanResult.from_dict` reads
#: it back. Raise it when a field changes meaning or goes; a new optional field does not.
#: The JSON Schema: :func:`json_schema` (``tamis/schemas/scan_result.schema.json``).
SCHEMA_VERSION = 1


def json_schema() -> dict:
    """The published JSON Schema of :meth:`ScanResult.to_dict` (the service's API uses it)."""
    import json
    from importlib import resources

    return json.loads(resources.files("tamis").joinpath("schemas/scan_result.schema.json").read_text())



@dataclass
class ScanResult:
    """Everything tamis found in one input."""

    source: str
    kind: str | None = None
    media_type: str | None = None
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    frames_analyzed: int | None = None
    findings: list[Finding] = field(default_factory=list)
    faces: list[Face] = field(default_factory=list)
    hashes: Hashes | None = None
    text: ExtractedText | None = None
    decision: Decision | None = None
    #: Time each step took in this run (a measurement, not a finding: not compared).
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)
    #: Why the input could not be scanned; :meth:`raise_error` raises it again.
    error: ScanError | None = None
    notes: list[str] = field(default_factory=list)
    #: A score for every label a classifier rated, notable or not (e.g. every text label).
    label_scores: dict[str, float] = field(default_factory=dict)
    #: Language of the text (of a text input, or of the text read from an image).
    language: dict | None = None
    #: The text with personal data replaced by '*' (same length, so spans still apply).
    masked_text: str | None = None
    #: For a video: frames decoded, analysed and reused, and the timeline of segments.
    video: VideoSummary | None = None
    #: For a document or archive: its parts (pages, members, attachments) and what each held.
    document: DocumentSummary | None = None
    #: The decoded content, kept only when asked for (to draw on it); never serialised.
    content: Any = field(default=None, repr=False, compare=False)
    #: For a video, when asked for: JPEG thumbnails of the best frame of each segment, by
    #: frame index; never serialised.
    thumbnails: dict[int, bytes] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def action(self) -> str:
        if self.error is not None:
            return "error"
        return self.decision.action.value if self.decision else "allow"

    def keep_highest(self, scores: dict[str, float]) -> None:
        """Merge ``scores`` into ``label_scores``, keeping the highest score per label (a
        part of the input, a frame, a text read from it)."""
        for label, score in scores.items():
            self.label_scores[label] = max(round_score(score), self.label_scores.get(label, 0.0))

    def scores(self) -> dict[str, float]:
        """Highest score per label, from the classifiers' scores and the findings."""
        out: dict[str, float] = dict(self.label_scores)
        for f in self.findings:
            out[f.label] = max(out.get(f.label, 0.0), f.score)
        return out

    def raise_error(self) -> None:
        """Raise the :class:`~tamis.errors.TamisError` this result holds, if any."""
        if self.error is not None:
            raise self.error.exception()

    @classmethod
    def from_dict(cls, d: dict) -> ScanResult:
        """The result that :meth:`to_dict` wrote (any schema version up to this one)."""
        version = d.get("schema_version", 1)
        if version > SCHEMA_VERSION:
            raise ValueError(f"result schema version {version} is newer than this tamis reads ({SCHEMA_VERSION})")
        text = d.get("text")
        return cls(
            source=d["source"], kind=d.get("kind"), media_type=d.get("media_type"), size_bytes=d.get("size_bytes"),
            width=d.get("width"), height=d.get("height"), frames=d.get("frames"),
            frames_analyzed=d.get("frames_analyzed"),
            findings=[Finding.from_dict(f) for f in d.get("findings", [])],
            faces=[Face.from_dict(f) for f in d.get("faces", [])],
            hashes=Hashes.from_dict(d["hashes"]) if "hashes" in d else None,
            text=ExtractedText.from_dict(text) if text else None,
            decision=Decision.from_dict(d["decision"]) if "decision" in d else None,
            timings_ms=dict(d.get("timings_ms", {})), error=ScanError.from_dict(d.get("error")),
            notes=list(d.get("notes", [])),
            label_scores=dict(d.get("label_scores", {})), language=d.get("language"),
            masked_text=d.get("masked_text"),
            video=VideoSummary.from_dict(d["video"]) if "video" in d else None,
            document=DocumentSummary.from_dict(d["document"]) if "document" in d else None)

    def to_dict(self) -> dict:
        return drop_none({
            "schema_version": SCHEMA_VERSION,
            "source": self.source,
            "kind": self.kind,
            "media_type": self.media_type,
            "size_bytes": self.size_bytes,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "frames_analyzed": self.frames_analyzed,
            "decision": self.decision.to_dict() if self.decision else None,
            "findings": [f.to_dict() for f in self.findings],
            "faces": [f.to_dict() for f in self.faces],
            "face_count": len(self.faces) if self.error is None and self.kind == "image" else None,
            "hashes": self.hashes.to_dict() if self.hashes else None,
            "text": self.text.to_dict() if self.text and self.text.lines else None,
            "language": self.language,
            "label_scores": self.label_scores,
            "masked_text": self.masked_text,
            "video": self.video.to_dict() if self.video else None,
            "document": self.document.to_dict() if self.document else None,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "error": self.error.to_dict() if self.error else None,
            "notes": self.notes,
        }, keep=("findings",))  # always there, [] when none: one schema for every output
