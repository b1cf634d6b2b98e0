"""Videos: streamed through PyAV (FFmpeg), never loaded whole.

A video is a container. Decoding walks every frame once, keeping only a 32 x 32 luma
thumbnail of the previous one; a frame is selected when the sampling clock says so or when
it differs sharply from the frame before (a scene change, so a short flash between two
samples is still seen). Only selected frames are converted to RGB and handed on.
Subtitle packets are decoded in the same pass. Memory does not grow with the length.
"""

from __future__ import annotations

import collections
import hashlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tamis.content.base import Content
from tamis.content.image import luma_thumb, thumb_difference
from tamis.errors import CorruptInputError, DecompressionBombError, InputError, TooLargeError, UnsupportedFormatError

log = logging.getLogger("tamis")

#: Container metadata keys whose values are read as text (others are technical).
TEXT_METADATA = ("title", "comment", "description", "synopsis", "artist", "album", "author",
                 "copyright", "genre", "keywords", "subtitle", "show", "episode_id", "lyrics")


def _require_av():
    try:
        import av
    except ImportError:
        raise UnsupportedFormatError(
            "video needs the 'video' extra (PyAV): pip install 'tamis[video]'") from None
    return av


@dataclass
class SelectedFrame:
    index: int  # position in decode order, from 0
    timestamp: float  # seconds from the start of the video
    reason: str  # "sample", "scene_change" or "first"
    rgb: np.ndarray
    pdq: tuple[str, int] | None = None  # filled by whoever hashes the frame


@dataclass
class Cue:
    """A piece of text with a time: a subtitle, or container metadata (timestamp None)."""

    text: str
    start: float | None
    end: float | None
    part: str  # "subtitle" or "metadata"

    def to_dict(self) -> dict:
        return {k: v for k, v in {"part": self.part, "start": self.start, "end": self.end,
                                  "text": self.text}.items() if v is not None}


@dataclass
class VideoContent(Content):
    path: Path | None = None
    size_bytes: int = 0
    width: int = 0
    height: int = 0
    duration: float | None = None
    fps: float | None = None
    codec: str | None = None
    audio_streams: int = 0
    subtitle_streams: int = 0
    frame_count: int | None = None  # as the container declares it (may be absent)
    metadata: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Filled while frames are read:
    frames_decoded: int = 0
    cues: list[Cue] = field(default_factory=list)

    def source(self):
        """What PyAV opens: the file itself, or the bytes held in memory."""
        return str(self.path) if self.path is not None else io.BytesIO(self.data)

    def digests(self) -> tuple[str, str]:
        """MD5 and SHA-256 of the whole file, read in chunks."""
        def compute() -> tuple[str, str]:
            md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
            if self.path is None:
                md5.update(self.data)
                sha.update(self.data)
            else:
                with self.path.open("rb") as fh:
                    while chunk := fh.read(1 << 20):
                        md5.update(chunk)
                        sha.update(chunk)
            return md5.hexdigest(), sha.hexdigest()

        return self.shared("digests", compute)


def _fail(name: str, media_type: str, exc: Exception) -> InputError:
    """A decoder's error as a person would say it: FFmpeg's words ("Invalid data found when
    processing input"), not its number or the file name it repeats."""
    msg = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return CorruptInputError(f"{name}: corrupt or unreadable {media_type} ({msg})")


def load_video(name: str, media_type: str, *, path: Path | None = None, data: bytes = b"",
               max_bytes: int, max_pixels: int, max_seconds: float) -> VideoContent:
    """Open a video and read its header (streams, size, duration) without decoding frames."""
    av = _require_av()
    size = path.stat().st_size if path is not None else len(data)
    if size > max_bytes:
        raise TooLargeError(f"{name}: {size:,} bytes is over the video limit of {max_bytes:,} bytes")
    content = VideoContent(kind="video", name=name, media_type=media_type, data=data, path=path, size_bytes=size)
    try:
        with av.open(content.source(), mode="r", metadata_errors="replace") as container:
            videos = [s for s in container.streams if s.type == "video"]
            if not videos:
                raise UnsupportedFormatError(f"{name}: {media_type} has no video stream")
            stream = videos[0]
            if stream.codec_context is None:  # a sample entry naming a codec FFmpeg lacks
                tag = getattr(stream, "codec_tag", "") or ""
                raise UnsupportedFormatError(
                    f"{name}: its video codec{f' ({tag})' if tag else ''} is not one tamis can decode")
            content.width, content.height = int(stream.codec_context.width), int(stream.codec_context.height)
            content.codec = stream.codec_context.name
            rate = stream.average_rate or stream.guessed_rate
            content.fps = round(float(rate), 3) if rate else None
            if stream.duration is not None and stream.time_base is not None:
                content.duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                content.duration = container.duration / 1_000_000
            content.frame_count = int(stream.frames) or None
            content.audio_streams = sum(s.type == "audio" for s in container.streams)
            content.subtitle_streams = sum(s.type == "subtitle" for s in container.streams)
            content.metadata = {str(k).lower(): str(v) for k, v in container.metadata.items()}
    except InputError:
        raise
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise _fail(name, media_type, exc) from None
    if content.width * content.height > max_pixels:
        raise DecompressionBombError(
            f"{name}: frames of {content.width}x{content.height} are over the limit of {max_pixels:,} pixels")
    if content.width <= 0 or content.height <= 0:
        raise CorruptInputError(f"{name}: the video stream has no frame size")
    if content.duration is not None and content.duration > max_seconds:
        raise TooLargeError(f"{name}: {content.duration:,.0f} s is over the limit of {max_seconds:,.0f} s")
    if content.audio_streams:
        content.notes.append("audio is not analysed: tamis has no speech model")
    content.cues = [Cue(f"{key}: {value}", None, None, "metadata")
                    for key, value in content.metadata.items() if key in TEXT_METADATA and value.strip()]
    return content


def frame_at(content: VideoContent, seconds: float, max_frames: int = 600) -> np.ndarray:
    """The RGB frame shown at ``seconds`` (seeking to the key frame before it, then decoding
    at most ``max_frames`` frames): a segment's best frame, for people to look at."""
    av = _require_av()
    try:
        with av.open(content.source(), mode="r", metadata_errors="replace") as container:
            stream = next(s for s in container.streams if s.type == "video")
            if stream.time_base is not None and seconds > 0:
                container.seek(int(seconds / stream.time_base), stream=stream, backward=True, any_frame=False)
            last = None
            for n, frame in enumerate(container.decode(stream)):
                last = frame
                if (frame.time is not None and frame.time >= seconds - 1e-3) or n >= max_frames:
                    break
            if last is None:
                raise CorruptInputError(f"{content.name}: no frame at {seconds:.2f} s")
            return last.to_ndarray(format="rgb24")
    except InputError:
        raise
    except (av.FFmpegError, ValueError, OSError, StopIteration) as exc:
        raise _fail(content.name, content.media_type, exc) from None


#: Pixel formats whose first plane is 8-bit luma (read directly, without conversion).
_Y8 = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv411p", "yuv410p", "yuv440p",
       "yuvj440p", "nv12", "nv21", "nv16", "gray", "yuva420p"}
#: Damaged packets skipped before decoding gives up on a video.
MAX_BAD_PACKETS = 100


def _luma_thumb(frame) -> np.ndarray:
    """A 32 x 32 float thumbnail of the frame's luma, read straight from the Y plane of
    8-bit formats (others, such as 10-bit HDR, are converted)."""
    if frame.format.name in _Y8:
        plane = frame.planes[0]
        y = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:frame.height, :frame.width]
    else:
        y = frame.to_ndarray(format="gray")
    return luma_thumb(y)


def selected_frames(content: VideoContent, settings) -> Iterator[SelectedFrame]:
    """:func:`iter_frames` with the sampling and limits of ``settings``."""
    return iter_frames(content, interval=settings.video_sample_interval,
                       scene_threshold=settings.video_scene_threshold,
                       max_selected=settings.max_video_frames, max_seconds=settings.max_video_seconds,
                       max_pixels=settings.max_pixels)


def _check_frame_size(content: VideoContent, frame, max_pixels: int) -> None:
    """Frames decoded at another size than the header said: refused over the pixel limit
    (the header cannot vouch for what follows), else noted."""
    if frame.width * frame.height > max_pixels:
        raise DecompressionBombError(
            f"{content.name}: a frame of {frame.width}x{frame.height} is over the limit of {max_pixels:,} pixels "
            f"(the header said {content.width}x{content.height})")
    if not any(n.startswith("frames change size") for n in content.notes):
        content.notes.append(f"frames change size to {frame.width}x{frame.height} at frame {content.frames_decoded}")


def iter_frames(content: VideoContent, *, interval: float, scene_threshold: float, max_selected: int,
                max_seconds: float, max_scene_rate: int = 5,
                max_pixels: int = 40_000_000) -> Iterator[SelectedFrame]:
    """Decode ``content`` once and yield the selected frames.

    A frame is selected at every ``interval`` seconds of video time, and when the mean
    absolute difference of its luma thumbnail from the previous frame's is over
    ``scene_threshold`` (0 to 1), at most ``max_scene_rate`` times in any second (a strobe
    cannot select every frame; a flash right after a cut or a sample is still seen). Subtitles seen
    on the way are added to ``content.cues``. Decoding stops after ``max_selected`` frames
    or ``max_seconds`` of video, with a note.
    """
    av = _require_av()
    name = content.name
    try:
        container = av.open(content.source(), mode="r", metadata_errors="replace")
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise _fail(name, content.media_type, exc) from None
    with container:
        stream = next(s for s in container.streams if s.type == "video")
        stream.thread_type = "AUTO"
        subtitles = [s for s in container.streams if s.type == "subtitle"]
        selector = _FrameSelector(interval, scene_threshold, max_scene_rate)
        selected = 0
        fps = content.fps or 25.0
        # Times count from the stream's start (some files start at an offset).
        origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        try:
            for frame in _decoded_frames(av, container.demux(stream, *subtitles), content, max_pixels):
                index = content.frames_decoded
                content.frames_decoded += 1
                t = max(0.0, float(frame.time) - origin if frame.time is not None else index / fps)
                if t > max_seconds:
                    content.notes.append(f"stopped at {max_seconds:,.0f} s, the longest video analysed")
                    return
                reason = selector.reason(_luma_thumb(frame), t)
                if reason is None:
                    continue
                selected += 1
                yield SelectedFrame(index, round(t, 3), reason, frame.to_ndarray(format="rgb24"))
                if selected >= max_selected:
                    content.notes.append(f"stopped after {max_selected} selected frames (max_video_frames)")
                    return
        except av.FFmpegError as exc:
            if content.frames_decoded == 0:
                raise _fail(name, content.media_type, exc) from None
            content.notes.append(f"decoding stopped at frame {content.frames_decoded}: {exc}")
        if content.frames_decoded == 0:
            raise CorruptInputError(f"{name}: no frame could be decoded")


def _decoded_frames(av, packets: Iterator, content: VideoContent, max_pixels: int) -> Iterator:
    """The video frames decoded from ``packets`` in order, each checked against the pixel
    limit. Subtitle packets are read into ``content.cues`` on the way; a damaged packet is
    skipped, with a note, up to :data:`MAX_BAD_PACKETS` (then its error is raised)."""
    bad_packets = 0
    size = (content.width, content.height)
    for packet in packets:
        if packet.stream.type == "subtitle":
            _read_subtitle(packet, content)
            continue
        try:
            decoded = packet.decode()
        except av.FFmpegError as exc:  # one damaged packet: skip it, up to a point
            bad_packets += 1
            if bad_packets > MAX_BAD_PACKETS:
                raise
            if bad_packets == 1:
                content.notes.append(f"damaged packets were skipped (first: {exc})")
            continue
        for frame in decoded:
            if frame.width * frame.height > max_pixels or (frame.width, frame.height) != size:
                _check_frame_size(content, frame, max_pixels)
                size = (frame.width, frame.height)
            yield frame


class _FrameSelector:
    """Which decoded frames are selected, and why: the first one, a scene change (at most
    ``max_scene_rate`` in any second) or the sampling clock every ``interval`` seconds."""

    def __init__(self, interval: float, scene_threshold: float, max_scene_rate: int) -> None:
        self.interval, self.scene_threshold, self.max_scene_rate = interval, scene_threshold, max_scene_rate
        self.prev: np.ndarray | None = None  # luma thumbnail of the frame before
        self.next_sample = 0.0
        self.recent_changes: collections.deque = collections.deque()  # times of recent scene changes

    def reason(self, thumb: np.ndarray, t: float) -> str | None:
        """Why the frame at ``t`` seconds, of luma thumbnail ``thumb``, is selected; None if it is not."""
        reason = None
        if self.prev is None:
            reason = "first"
        elif thumb_difference(thumb, self.prev) > self.scene_threshold:
            while self.recent_changes and self.recent_changes[0] <= t - 1.0:
                self.recent_changes.popleft()
            if len(self.recent_changes) < self.max_scene_rate:
                self.recent_changes.append(t)
                reason = "scene_change"  # also when it falls on a sample: a new scene starts
        if reason is None and t + 1e-6 >= self.next_sample:
            reason = "sample"
        self.prev = thumb
        if reason is not None and t + 1e-6 >= self.next_sample:
            self.next_sample = (np.floor(t / self.interval + 1e-6) + 1) * self.interval
        return reason


def _read_subtitle(packet, content: VideoContent) -> None:
    if packet.pts is None or packet.size == 0:
        return
    try:
        subs = packet.decode()
    except Exception as exc:  # noqa: BLE001 - a bad subtitle is noted, the video goes on
        content.notes.append(f"a subtitle packet could not be read: {exc}")
        return
    start = float(packet.pts * packet.time_base)
    end = start + float(packet.duration * packet.time_base) if packet.duration else None
    for sub in subs:
        # PyAV gives subtitle sets with rects, or (newer) the rects themselves.
        for rect in getattr(sub, "rects", None) or [sub]:
            text = _rect_text(rect)
            if text:
                content.cues.append(Cue(text, round(start, 3), round(end, 3) if end else None, "subtitle"))


def _rect_text(rect) -> str:
    if getattr(rect, "type", None) in (b"bitmap", "bitmap"):
        return ""  # picture subtitles (DVD, PGS) would need OCR of the bitmap
    dialogue = getattr(rect, "dialogue", None)
    if isinstance(dialogue, bytes):
        dialogue = dialogue.decode("utf-8", "replace")
    if dialogue:
        return dialogue.replace("\\N", "\n").strip()
    text = getattr(rect, "text", None)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text:
        return text.strip()
    ass = getattr(rect, "ass", None)
    if isinstance(ass, bytes):
        ass = ass.decode("utf-8", "replace")
    if not ass:
        return ""
    # ASS dialogue: "ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text"
    body = ass.split(",", 8)[-1]
    import re

    body = re.sub(r"\{[^}]*\}", "", body)
    return body.replace("\\N", "\n").replace("\\n", "\n").strip()
