"""The shapes tamis reports: findings, faces, hashes, extracted text, decisions, results."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tamis.errors import DetectorContractError
from tamis.taxonomy import FACE_ATTRIBUTES, LABELS, refuse_if_prohibited


def _drop_none(d: dict, keep: tuple[str, ...] = ()) -> dict:
    """``d`` without None, {} and [] values, except for the keys in ``keep``."""
    return {k: v for k, v in d.items() if k in keep or (v is not None and v != {} and v != [])}


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels of the (EXIF-oriented) image: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    def clip(self, width: int, height: int) -> Box:
        x0 = min(max(self.x, 0.0), width)
        y0 = min(max(self.y, 0.0), height)
        x1 = min(max(self.x + self.w, 0.0), width)
        y1 = min(max(self.y + self.h, 0.0), height)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def inside(self, width: int, height: int, slack: float = 0.5) -> bool:
        return (self.x >= -slack and self.y >= -slack and self.w >= 0 and self.h >= 0
                and self.x + self.w <= width + slack and self.y + self.h <= height + slack)

    def to_list(self) -> list[float]:
        return [round(self.x, 1), round(self.y, 1), round(self.w, 1), round(self.h, 1)]


@dataclass(frozen=True)
class Span:
    """A character span [start, end) in a text."""

    start: int
    end: int


@dataclass(frozen=True)
class Location:
    """Where a finding is: any combination of box, text span, time, page and frame."""

    box: Box | None = None
    polygon: tuple[tuple[float, float], ...] | None = None
    span: Span | None = None
    timestamp: float | None = None
    page: int | None = None
    frame: int | None = None
    part: str | None = None

    def to_dict(self) -> dict:
        return _drop_none({
            "box": self.box.to_list() if self.box else None,
            "polygon": [[round(x, 1), round(y, 1)] for x, y in self.polygon] if self.polygon else None,
            "span": [self.span.start, self.span.end] if self.span else None,
            "timestamp": self.timestamp,
            "page": self.page,
            "frame": self.frame,
            "part": self.part,
        })


@dataclass(frozen=True)
class Finding:
    """One labelled observation with a score in [0, 1]."""

    label: str
    score: float
    detector: str
    model_version: str
    location: Location = field(default_factory=Location)
    explanation: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            refuse_if_prohibited(self.label)
            raise DetectorContractError(
                f"detector {self.detector!r} emitted label {self.label!r}, outside the taxonomy")
        if not (isinstance(self.score, (int, float)) and math.isfinite(self.score)
                and 0.0 <= self.score <= 1.0):
            raise DetectorContractError(
                f"detector {self.detector!r} emitted score {self.score!r} for {self.label!r}, "
                "outside [0, 1]")

    def to_dict(self) -> dict:
        return _drop_none({
            "label": self.label,
            "score": round(float(self.score), 4),
            "detector": self.detector,
            "model_version": self.model_version,
            "location": self.location.to_dict(),
            "explanation": self.explanation,
            "data": self.data,
        })


@dataclass(frozen=True)
class FaceAttribute:
    """``value`` is None when the attribute could not be told reliably (reported as unknown)."""

    value: bool | None
    confidence: float

    def to_dict(self) -> dict:
        return {"value": self.value, "confidence": round(float(self.confidence), 3)}


@dataclass(frozen=True)
class Face:
    """A detected face: where it is and only the non-identifying attributes tamis allows."""

    box: Box
    score: float
    landmarks: dict[str, tuple[float, float]] = field(default_factory=dict)
    attributes: dict[str, FaceAttribute] = field(default_factory=dict)
    frame: int | None = None

    def __post_init__(self) -> None:
        for name in self.attributes:
            if name not in FACE_ATTRIBUTES:
                refuse_if_prohibited(name)
                raise DetectorContractError(f"face attribute {name!r} is not allowed")
        if not 0.0 <= self.score <= 1.0:
            raise DetectorContractError(f"face score {self.score!r} outside [0, 1]")

    def to_dict(self) -> dict:
        return _drop_none({
            "box": self.box.to_list(),
            "score": round(float(self.score), 4),
            "landmarks": {k: [round(x, 1), round(y, 1)] for k, (x, y) in self.landmarks.items()},
            "attributes": {k: a.to_dict() for k, a in self.attributes.items()},
            "frame": self.frame,
        })


@dataclass(frozen=True)
class TextLine:
    text: str
    score: float
    polygon: tuple[tuple[float, float], ...]
    frame: int | None = None

    @property
    def box(self) -> Box:
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))

    def to_dict(self) -> dict:
        return _drop_none({"text": self.text, "score": round(float(self.score), 4),
                           "box": self.box.to_list(), "frame": self.frame})


@dataclass
class ExtractedText:
    """Text read from the content (OCR lines), with where each line is."""

    source: str
    lines: list[TextLine] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_dict(self) -> dict:
        return {"source": self.source, "text": self.text,
                "lines": [line.to_dict() for line in self.lines]}


@dataclass(frozen=True)
class Hashes:
    md5: str
    sha256: str
    pdq: str | None = None
    pdq_quality: int | None = None
    frame_pdq: tuple[tuple[int, str, int], ...] = ()
    #: SHA-256 of the normalised text (texts only).
    text: str | None = None

    def to_dict(self) -> dict:
        return _drop_none({
            "md5": self.md5, "sha256": self.sha256, "pdq": self.pdq,
            "pdq_quality": self.pdq_quality, "text": self.text,
            "frames": [{"frame": i, "pdq": h, "quality": q} for i, h, q in self.frame_pdq] or None,
        })


class Action(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"

    @property
    def rank(self) -> int:
        return {"allow": 0, "review": 1, "block": 2}[self.value]


@dataclass(frozen=True)
class Reason:
    label: str
    score: float
    action: Action
    threshold: float
    rule: str

    def to_dict(self) -> dict:
        return {"label": self.label, "score": round(self.score, 4), "action": self.action.value,
                "threshold": self.threshold, "rule": self.rule}  # thresholds met are finite


@dataclass(frozen=True)
class Decision:
    action: Action
    reasons: tuple[Reason, ...] = ()
    policy: str = "default"

    def to_dict(self) -> dict:
        return {"action": self.action.value, "policy": self.policy,
                "reasons": [r.to_dict() for r in self.reasons]}


@dataclass
class FrameRecord:
    """One selected video frame: analysed, or reusing an earlier near-identical frame's results."""

    index: int
    timestamp: float
    reason: str  # "first", "sample" or "scene_change"
    scores: dict[str, float] = field(default_factory=dict)  # highest finding score per label
    reused_from: int | None = None
    pdq: str | None = None
    #: Why the frame could not be analysed (then it is left out of the timeline).
    error: str | None = None

    def to_dict(self) -> dict:
        return _drop_none({"index": self.index, "timestamp": self.timestamp, "reason": self.reason,
                           "reused_from": self.reused_from, "error": self.error,
                           "scores": {k: round(v, 4) for k, v in sorted(self.scores.items())}})


@dataclass(frozen=True)
class Segment:
    """A stretch of video where a label was found: [start, end) in seconds, its highest
    score, and the frame that scored it."""

    label: str
    start: float
    end: float
    max_score: float
    frame: int
    timestamp: float
    frames: int  # selected frames in the segment

    def to_dict(self) -> dict:
        return {"label": self.label, "start": self.start, "end": self.end, "max_score": round(self.max_score, 4),
                "frame": self.frame, "timestamp": self.timestamp, "frames": self.frames}


@dataclass
class VideoSummary:
    """What a video scan did (frames decoded, analysed, reused) and its timeline."""

    duration: float | None
    fps: float | None
    codec: str | None
    frames_decoded: int = 0
    frames_analyzed: int = 0
    frames_reused: int = 0
    audio: str | None = None
    subtitle_cues: int = 0
    #: Subtitles and text metadata read (part, start, end, text); text findings point into them.
    cues: list[dict] = field(default_factory=list)
    sampling: dict[str, float] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)
    frames: list[FrameRecord] = field(default_factory=list)

    def to_dict(self) -> dict:
        return _drop_none({
            "duration": round(self.duration, 3) if self.duration is not None else None,
            "fps": self.fps, "codec": self.codec,
            "frames_decoded": self.frames_decoded,
            "frames_selected": len(self.frames),
            "frames_analyzed": self.frames_analyzed,
            "frames_reused": self.frames_reused,
            "audio": self.audio,
            "subtitle_cues": self.subtitle_cues,
            "cues": self.cues,
            "sampling": self.sampling,
            "segments": [seg.to_dict() for seg in self.segments],
            "frames": [fr.to_dict() for fr in self.frames],
        })


@dataclass
class PartRecord:
    """One part of a document or archive: what it was and what became of it."""

    part: str
    kind: str | None = None
    media_type: str | None = None
    page: int | None = None
    size: int | None = None  # bytes, or characters for a text part
    findings: int = 0
    faces: int = 0
    error: dict | None = None

    def to_dict(self) -> dict:
        return _drop_none({"part": self.part, "kind": self.kind, "media_type": self.media_type, "page": self.page,
                           "size": self.size, "findings": self.findings, "faces": self.faces or None,
                           "error": self.error})


@dataclass
class DocumentSummary:
    """What a document or archive held: its format, pages, and every part scanned or not."""

    format: str
    pages: int | None = None
    parts: list[PartRecord] = field(default_factory=list)

    def to_dict(self) -> dict:
        failed = sum(p.error is not None for p in self.parts)
        return _drop_none({"format": self.format, "pages": self.pages, "parts_scanned": len(self.parts) - failed,
                           "parts_failed": failed, "parts": [p.to_dict() for p in self.parts]})


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
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: dict | None = None
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
            self.label_scores[label] = max(score, self.label_scores.get(label, 0.0))

    def scores(self) -> dict[str, float]:
        """Highest score per label, from the classifiers' scores and the findings."""
        out: dict[str, float] = dict(self.label_scores)
        for f in self.findings:
            out[f.label] = max(out.get(f.label, 0.0), f.score)
        return out

    def to_dict(self) -> dict:
        return _drop_none({
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
            "error": self.error,
            "notes": self.notes,
        }, keep=("findings",))  # always there, [] when none: one schema for every output
