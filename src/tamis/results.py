"""The shapes tamis reports: findings, faces, hashes, extracted text, decisions, results."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tamis.errors import DetectorContractError, TamisError, error_class
from tamis.taxonomy import FACE_ATTRIBUTES, LABELS, refuse_if_prohibited

#: Version of the shape of :meth:`ScanResult.to_dict`; :meth:`ScanResult.from_dict` reads
#: it back. Raise it when a field changes meaning or goes; a new optional field does not.
#: The JSON Schema: :func:`json_schema` (``tamis/schemas/scan_result.schema.json``).
SCHEMA_VERSION = 1


def json_schema() -> dict:
    """The published JSON Schema of :meth:`ScanResult.to_dict` (the service's API uses it)."""
    import json
    from importlib import resources

    return json.loads(resources.files("tamis").joinpath("schemas/scan_result.schema.json").read_text())


def _score(v: float) -> float:
    """Scores are kept to 6 decimals: what is written is what is stored, and read back."""
    return round(float(v), 6)


def _px(v: float) -> float:
    """Coordinates are kept to 1/100 of a pixel."""
    return round(float(v), 2)


def _points(points) -> tuple[tuple[float, float], ...]:
    return tuple((_px(x), _px(y)) for x, y in points)


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

    def __post_init__(self) -> None:  # canonical: what is stored is what is written and read back
        for name in ("x", "y", "w", "h"):
            object.__setattr__(self, name, _px(getattr(self, name)))

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
        return [self.x, self.y, self.w, self.h]

    @classmethod
    def from_list(cls, v: list[float]) -> Box:
        return cls(*v)


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

    def __post_init__(self) -> None:
        if self.polygon is not None:
            object.__setattr__(self, "polygon", _points(self.polygon))
        if self.timestamp is not None:
            object.__setattr__(self, "timestamp", round(float(self.timestamp), 3))

    @classmethod
    def from_dict(cls, d: dict) -> Location:
        return cls(box=Box.from_list(d["box"]) if "box" in d else None,
                   polygon=tuple(tuple(p) for p in d["polygon"]) if "polygon" in d else None,
                   span=Span(*d["span"]) if "span" in d else None, timestamp=d.get("timestamp"),
                   page=d.get("page"), frame=d.get("frame"), part=d.get("part"))

    def to_dict(self) -> dict:
        return _drop_none({
            "box": self.box.to_list() if self.box else None,
            "polygon": [list(p) for p in self.polygon] if self.polygon else None,
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
        object.__setattr__(self, "score", _score(self.score))

    @classmethod
    def from_dict(cls, d: dict) -> Finding:
        return cls(d["label"], d["score"], d["detector"], d["model_version"],
                   Location.from_dict(d.get("location", {})), d.get("explanation"), dict(d.get("data", {})))

    def to_dict(self) -> dict:
        return _drop_none({
            "label": self.label,
            "score": self.score,
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "confidence", _score(self.confidence))

    def to_dict(self) -> dict:
        return {"value": self.value, "confidence": self.confidence}


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
        object.__setattr__(self, "score", _score(self.score))
        object.__setattr__(self, "landmarks", {k: (_px(x), _px(y)) for k, (x, y) in self.landmarks.items()})

    @classmethod
    def from_dict(cls, d: dict) -> Face:
        return cls(Box.from_list(d["box"]), d["score"], {k: tuple(v) for k, v in d.get("landmarks", {}).items()},
                   {k: FaceAttribute(a["value"], a["confidence"]) for k, a in d.get("attributes", {}).items()},
                   d.get("frame"))

    def to_dict(self) -> dict:
        return _drop_none({
            "box": self.box.to_list(),
            "score": self.score,
            "landmarks": {k: list(v) for k, v in self.landmarks.items()},
            "attributes": {k: a.to_dict() for k, a in self.attributes.items()},
            "frame": self.frame,
        })


@dataclass(frozen=True)
class TextLine:
    text: str
    score: float
    polygon: tuple[tuple[float, float], ...]
    frame: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "score", _score(self.score))
        object.__setattr__(self, "polygon", _points(self.polygon))

    @classmethod
    def from_dict(cls, d: dict) -> TextLine:
        return cls(d["text"], d["score"], tuple(tuple(p) for p in d["polygon"]), d.get("frame"))

    @property
    def box(self) -> Box:
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))

    def to_dict(self) -> dict:
        return _drop_none({"text": self.text, "score": self.score, "polygon": [list(p) for p in self.polygon],
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

    @classmethod
    def from_dict(cls, d: dict) -> ExtractedText:
        return cls(d["source"], [TextLine.from_dict(x) for x in d.get("lines", [])])


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

    @classmethod
    def from_dict(cls, d: dict) -> Hashes:
        return cls(d["md5"], d["sha256"], d.get("pdq"), d.get("pdq_quality"),
                   tuple((f["frame"], f["pdq"], f["quality"]) for f in d.get("frames", [])), d.get("text"))


@dataclass(frozen=True)
class ScanError:
    """Why an input (or one part of it) could not be scanned: the ``code`` of a
    :class:`~tamis.errors.TamisError`, a message for people and, in ``detail``, what a
    library said (for the log and bug reports)."""

    code: str
    message: str
    detail: str | None = None

    @classmethod
    def of(cls, exc: TamisError) -> ScanError:
        return cls(exc.code, exc.message, exc.detail or None)

    def exception(self) -> TamisError:
        """The :class:`~tamis.errors.TamisError` this describes, to raise again."""
        exc = error_class(self.code)(self.message)
        exc.detail = self.detail
        return exc

    def to_dict(self) -> dict:
        return _drop_none({"code": self.code, "message": self.message, "detail": self.detail})

    @classmethod
    def from_dict(cls, d: dict | None) -> ScanError | None:
        return cls(d["code"], d["message"], d.get("detail")) if d else None


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "score", _score(self.score))

    def to_dict(self) -> dict:
        return {"label": self.label, "score": self.score, "action": self.action.value,
                "threshold": self.threshold, "rule": self.rule}  # thresholds met are finite

    @classmethod
    def from_dict(cls, d: dict) -> Reason:
        return cls(d["label"], d["score"], Action(d["action"]), d["threshold"], d["rule"])


@dataclass(frozen=True)
class Decision:
    action: Action
    reasons: tuple[Reason, ...] = ()
    policy: str = "default"

    def to_dict(self) -> dict:
        return {"action": self.action.value, "policy": self.policy,
                "reasons": [r.to_dict() for r in self.reasons]}

    @classmethod
    def from_dict(cls, d: dict) -> Decision:
        return cls(Action(d["action"]), tuple(Reason.from_dict(r) for r in d.get("reasons", [])),
                   d.get("policy", "default"))


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
                           "reused_from": self.reused_from, "pdq": self.pdq, "error": self.error,
                           "scores": {k: _score(v) for k, v in sorted(self.scores.items())}})

    @classmethod
    def from_dict(cls, d: dict) -> FrameRecord:
        return cls(d["index"], d["timestamp"], d["reason"], dict(d.get("scores", {})), d.get("reused_from"),
                   d.get("pdq"), d.get("error"))


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
        return {"label": self.label, "start": self.start, "end": self.end, "max_score": _score(self.max_score),
                "frame": self.frame, "timestamp": self.timestamp, "frames": self.frames}

    @classmethod
    def from_dict(cls, d: dict) -> Segment:
        return cls(d["label"], d["start"], d["end"], d["max_score"], d["frame"], d["timestamp"], d["frames"])


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
            "duration": self.duration,
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

    @classmethod
    def from_dict(cls, d: dict) -> VideoSummary:
        return cls(d.get("duration"), d.get("fps"), d.get("codec"), d.get("frames_decoded", 0),
                   d.get("frames_analyzed", 0), d.get("frames_reused", 0), d.get("audio"), d.get("subtitle_cues", 0),
                   list(d.get("cues", [])), dict(d.get("sampling", {})),
                   [Segment.from_dict(x) for x in d.get("segments", [])],
                   [FrameRecord.from_dict(x) for x in d.get("frames", [])])


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
    error: ScanError | None = None
    #: The findings counted in ``findings``, while the scan that made them runs (so that a
    #: per-call label filter can count again what it kept); not serialised.
    found: list = field(default_factory=list, compare=False, repr=False)

    def to_dict(self) -> dict:
        return _drop_none({"part": self.part, "kind": self.kind, "media_type": self.media_type, "page": self.page,
                           "size": self.size, "findings": self.findings, "faces": self.faces or None,
                           "error": self.error.to_dict() if self.error else None})

    @classmethod
    def from_dict(cls, d: dict) -> PartRecord:
        return cls(d["part"], d.get("kind"), d.get("media_type"), d.get("page"), d.get("size"),
                   d.get("findings", 0), d.get("faces", 0), ScanError.from_dict(d.get("error")))


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

    @classmethod
    def from_dict(cls, d: dict) -> DocumentSummary:
        return cls(d["format"], d.get("pages"), [PartRecord.from_dict(p) for p in d.get("parts", [])])


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
            self.label_scores[label] = max(_score(score), self.label_scores.get(label, 0.0))

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
        return _drop_none({
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
