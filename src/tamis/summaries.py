"""What a container held: a video's frames and timeline, a document's parts."""

from __future__ import annotations

from dataclasses import dataclass, field

from tamis.result_parts import ScanError, drop_none, round_score


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
        return drop_none({"index": self.index, "timestamp": self.timestamp, "reason": self.reason,
                           "reused_from": self.reused_from, "pdq": self.pdq, "error": self.error,
                           "scores": {k: round_score(v) for k, v in sorted(self.scores.items())}})

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
        return {"label": self.label, "start": self.start, "end": self.end, "max_score": round_score(self.max_score),
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
        return drop_none({
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
        return drop_none({"part": self.part, "kind": self.kind, "media_type": self.media_type, "page": self.page,
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
        return drop_none({"format": self.format, "pages": self.pages, "parts_scanned": len(self.parts) - failed,
                           "parts_failed": failed, "parts": [p.to_dict() for p in self.parts]})

    @classmethod
    def from_dict(cls, d: dict) -> DocumentSummary:
        return cls(d["format"], d.get("pages"), [PartRecord.from_dict(p) for p in d.get("parts", [])])


