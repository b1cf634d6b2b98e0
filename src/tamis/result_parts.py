"""What a scan result is made of: places, findings, faces, text read, hashes, decisions and
errors, each writing itself as JSON (``to_dict``) and reading itself back (``from_dict``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tamis.errors import DetectorContractError, TamisError, error_class
from tamis.taxonomy import FACE_ATTRIBUTES, LABELS, refuse_if_prohibited


def round_score(v: float) -> float:
    """Scores are kept to 6 decimals: what is written is what is stored, and read back."""
    return round(float(v), 6)


def round_px(v: float) -> float:
    """Coordinates are kept to 1/100 of a pixel."""
    return round(float(v), 2)


def as_points(points) -> tuple[tuple[float, float], ...]:
    return tuple((round_px(x), round_px(y)) for x, y in points)


def drop_none(d: dict, keep: tuple[str, ...] = ()) -> dict:
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
            object.__setattr__(self, name, round_px(getattr(self, name)))

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
            object.__setattr__(self, "polygon", as_points(self.polygon))
        if self.timestamp is not None:
            object.__setattr__(self, "timestamp", round(float(self.timestamp), 3))

    @classmethod
    def from_dict(cls, d: dict) -> Location:
        return cls(box=Box.from_list(d["box"]) if "box" in d else None,
                   polygon=tuple(tuple(p) for p in d["polygon"]) if "polygon" in d else None,
                   span=Span(*d["span"]) if "span" in d else None, timestamp=d.get("timestamp"),
                   page=d.get("page"), frame=d.get("frame"), part=d.get("part"))

    def to_dict(self) -> dict:
        return drop_none({
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
        object.__setattr__(self, "score", round_score(self.score))

    @classmethod
    def from_dict(cls, d: dict) -> Finding:
        return cls(d["label"], d["score"], d["detector"], d["model_version"],
                   Location.from_dict(d.get("location", {})), d.get("explanation"), dict(d.get("data", {})))

    def to_dict(self) -> dict:
        return drop_none({
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
        object.__setattr__(self, "confidence", round_score(self.confidence))

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
        object.__setattr__(self, "score", round_score(self.score))
        object.__setattr__(self, "landmarks", {k: (round_px(x), round_px(y)) for k, (x, y) in self.landmarks.items()})

    @classmethod
    def from_dict(cls, d: dict) -> Face:
        return cls(Box.from_list(d["box"]), d["score"], {k: tuple(v) for k, v in d.get("landmarks", {}).items()},
                   {k: FaceAttribute(a["value"], a["confidence"]) for k, a in d.get("attributes", {}).items()},
                   d.get("frame"))

    def to_dict(self) -> dict:
        return drop_none({
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
        object.__setattr__(self, "score", round_score(self.score))
        object.__setattr__(self, "polygon", as_points(self.polygon))

    @classmethod
    def from_dict(cls, d: dict) -> TextLine:
        return cls(d["text"], d["score"], tuple(tuple(p) for p in d["polygon"]), d.get("frame"))

    @property
    def box(self) -> Box:
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))

    def to_dict(self) -> dict:
        return drop_none({"text": self.text, "score": self.score, "polygon": [list(p) for p in self.polygon],
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
        return drop_none({
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
        return drop_none({"code": self.code, "message": self.message, "detail": self.detail})

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
        object.__setattr__(self, "score", round_score(self.score))

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


