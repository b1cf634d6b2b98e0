"""Scanning a video: selected frames through the image detectors, subtitles and metadata
through the text detectors, near-identical frames reusing earlier results, and a timeline.

Frames are decoded in a background thread (FFmpeg works outside the GIL) while the
detectors run on the frames already selected; a small queue keeps memory flat.
"""

from __future__ import annotations

import io
import queue
import threading
import time
from collections import defaultdict
from dataclasses import replace

import numpy as np

from tamis.banks.signals import hamming
from tamis.content.image import Frame, ImageContent
from tamis.content.text import TextContent
from tamis.content.video import SelectedFrame, VideoContent, selected_frames
from tamis.detectors.hashes import frame_pdq
from tamis.engine.merge import Analyzer, describe
from tamis.policy.timeline import notable, timeline
from tamis.results import ExtractedText, Finding, FrameRecord, Hashes, ScanResult, TextLine, VideoSummary

#: Frames analysed together (one detector call each), up to a budget of pixel values so
#: that large frames come in smaller batches (memory stays under 1 GB at 1080p).
BATCH = 8
BATCH_VALUES = 8 * 1280 * 720 * 3
#: PDQ quality under which a frame never reuses another's results (flat, featureless frames).
REUSE_MIN_QUALITY = 50
#: Detectors that read text in a picture: run on a scene's first frame, then every
#: ``video_text_interval`` seconds.
#: Frame findings under this score stay in the frame's record, not in the result's findings
#: (a whole-frame classifier scores every frame; hours of video would list them all).
MIN_FRAME_FINDING = 0.05
#: Most text cues (subtitles, metadata) read from one video.
MAX_CUES = 20_000
_DONE = object()


def _put(out: queue.Queue, item, stop: threading.Event) -> bool:
    """Put ``item`` unless the scanning thread has stopped listening; False if it has."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False


def _frames_in_background(content: VideoContent, settings, out: queue.Queue, stop: threading.Event) -> None:
    try:
        for sf in selected_frames(content, settings):
            content.check_deadline()
            sf.pdq = frame_pdq(sf.rgb)  # here, beside decoding, not in the analysing thread
            if not _put(out, sf, stop):
                return
        _put(out, _DONE, stop)
    except BaseException as exc:  # noqa: BLE001 - handed to the scanning thread
        _put(out, exc, stop)


class _DecodedFrames:
    """The selected frames of a video, decoded and hashed in a background thread and taken
    here one at a time. Leaving the ``with`` stops the thread and waits for it, so nothing
    touches the content after."""

    def __init__(self, content: VideoContent, settings) -> None:
        self.queue: queue.Queue = queue.Queue(maxsize=BATCH)  # small: memory stays flat
        self.stop = threading.Event()
        self.thread = threading.Thread(target=_frames_in_background, args=(content, settings, self.queue, self.stop),
                                       name="tamis-video-decode", daemon=True)

    def __enter__(self) -> _DecodedFrames:
        self.thread.start()
        return self

    def get(self) -> SelectedFrame | None:
        """The next selected frame, None after the last; the decoding thread's error is raised here.
        (A method, not an iterator: an iterator would swallow or rewrite a StopIteration raised.)"""
        item = self.queue.get()
        if item is _DONE:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def __exit__(self, *exc_info) -> None:
        self.stop.set()  # the reader stops at its next frame; wait for it, so nothing touches content after
        while self.thread.is_alive():
            try:
                self.queue.get(timeout=0.1)
            except queue.Empty:
                pass
        self.thread.join()


def analyze_video(engine: Analyzer, content: VideoContent, thumbnails: bool = False) -> ScanResult:
    """Scan one video with ``engine``'s detectors and policy."""
    start = time.perf_counter()
    scan = _VideoScan(engine, content, thumbnails)
    with _DecodedFrames(content, engine.settings) as frames:  # decoding runs beside the detectors
        while (sf := frames.get()) is not None:
            scan.add(sf)  # a batch goes through the detectors once it is full
        scan.flush()
    scan.share_reused()
    result = scan.finish()
    result.timings_ms = {"video": (time.perf_counter() - start) * 1000, **scan.timings}
    result.decision = engine.policy.decide(result.findings)
    return result


class _VideoScan:
    """One video's scan as its frames come in: the result being built, the frames' records
    (the timeline), the batch waiting for the detectors, and what later frames reuse."""

    def __init__(self, engine: Analyzer, content: VideoContent, thumbnails: bool) -> None:
        self.engine, self.content, self.thumbnails = engine, content, thumbnails
        self.settings = settings = engine.settings
        # Text readers run once per scene (then every video_text_interval), not on every frame.
        self.readers = frozenset(d.name for d in engine.detectors if d.reads_text)
        self.matchers = {d.name for d in engine.detectors if d.matches_exact}
        self.result = describe(content)
        self.result.size_bytes = content.size_bytes
        self.summary = VideoSummary(duration=content.duration, fps=content.fps, codec=content.codec,
                                    sampling={"interval_s": settings.video_sample_interval,
                                              "scene_threshold": settings.video_scene_threshold,
                                              "reuse_distance": float(settings.video_reuse_distance),
                                              "text_interval_s": settings.video_text_interval})
        if content.audio_streams:
            self.summary.audio = "not analysed: tamis has no speech model"
        self.result.video = self.summary
        self.present = notable(engine.policy)
        self.frame_hashes: list[tuple[int, str, int]] = []
        self.lines: list[TextLine] = []
        self.bank_frames: dict[tuple, set[int]] = defaultdict(set)  # bank entry group -> frames matching it
        self.last: tuple[str, int, int] | None = None  # pdq, quality and index of the last frame sent to analysis
        self.analysed: dict[int, tuple[FrameRecord, list]] = {}  # frame index -> its record, bank entries it matched
        self.reusers: list[tuple[FrameRecord, int]] = []  # (record, index of the frame whose results it reuses)
        self.timings: dict[str, float] = defaultdict(float)
        self.batch: list[tuple[SelectedFrame, FrameRecord, Frame, frozenset]] = []
        self.last_text = -1e9  # when text (OCR, barcodes) was last read
        self.text_scores: dict[str, float] = {}  # what the text last read scored: still on screen until read again

    def add(self, sf: SelectedFrame) -> None:
        """Record a selected frame: it reuses the results of the last frame sent to analysis
        when the two look alike, else it joins the batch (analysed once the batch is full)."""
        record = FrameRecord(sf.index, sf.timestamp, sf.reason)
        self.summary.frames.append(record)
        h, q = sf.pdq or frame_pdq(sf.rgb)
        record.pdq = h
        if self._looks_like_last(h, q):
            record.reused_from = self.last[2]  # filled in once that frame is analysed
            self.reusers.append((record, self.last[2]))
            self.summary.frames_reused += 1
            return
        self.last = (h, q, sf.index)
        self.analysed[sf.index] = (record, [])
        frame = Frame(0, sf.rgb)
        frame.shared("pdq", lambda h=h, q=q: (h, q))  # computed above: the hash detector reuses it
        self.batch.append((sf, record, frame, self._skipped(sf)))
        self.summary.frames_analyzed += 1
        if len(self.batch) >= BATCH or sum(b[0].rgb.size for b in self.batch) >= BATCH_VALUES:
            self.flush()

    def _looks_like_last(self, h: str, q: int) -> bool:
        """Whether a frame of PDQ hash ``h`` and quality ``q`` is near enough to the last
        frame analysed to reuse its results (never a flat, featureless one)."""
        last = self.last
        return (last is not None and q >= REUSE_MIN_QUALITY and last[1] >= REUSE_MIN_QUALITY
                and hamming(h, last[0]) <= self.settings.video_reuse_distance)

    def _skipped(self, sf: SelectedFrame) -> frozenset:
        """The detectors a frame skips: the text readers, unless it starts a scene or
        ``video_text_interval`` has passed since text was last read."""
        new_scene = sf.reason in ("first", "scene_change")
        if new_scene or sf.timestamp - self.last_text >= self.settings.video_text_interval - 1e-6:
            self.last_text = sf.timestamp
            return frozenset()
        return self.readers

    def flush(self) -> None:
        """Analyse the frames in the batch and merge their results into the video's."""
        if not self.batch:
            return
        contents = [ImageContent(kind="image", name=f"{self.content.name}@{sf.timestamp:.3f}s",
                                 media_type="video/frame", data=b"", width=sf.rgb.shape[1], height=sf.rgb.shape[0],
                                 frames=[frame], derived=True, skip=skip) for sf, _, frame, skip in self.batch]
        for (sf, record, _, skip), frame_content, r in zip(self.batch, contents, self.engine.analyze(contents)):
            self._merge_frame(sf, record, skip, frame_content, r)
        self.batch.clear()

    def _merge_frame(self, sf: SelectedFrame, record: FrameRecord, skip: frozenset,
                     frame_content: ImageContent, r: ScanResult) -> None:
        """One analysed frame's results, into its record and into the video's result."""
        result = self.result
        for k, v in r.timings_ms.items():
            self.timings[k] += v
        if r.error:
            result.notes.append(f"frame {sf.index} at {sf.timestamp:.3f} s: {r.error.message}")
            record.error = r.error.code  # left out of the timeline, not counted as clean
            return
        self._place_findings(sf, record, r)
        self._carry_text_scores(record, skip, r)
        result.faces.extend(replace(face, frame=sf.index) for face in r.faces)
        if r.text is not None:
            self.lines.extend(replace(line, frame=sf.index) for line in r.text.lines)
        result.keep_highest(r.label_scores)
        if r.language and not result.language:
            result.language = r.language
        h, q = frame_content.frames[0].shared("pdq", lambda: ("", 0))
        if h:
            self.frame_hashes.append((sf.index, h, q))
        if self.thumbnails and any(self.present(label, score) for label, score in record.scores.items()):
            result.thumbnails[sf.index] = _thumbnail(sf.rgb, r)

    def _place_findings(self, sf: SelectedFrame, record: FrameRecord, r: ScanResult) -> None:
        """A frame's findings placed at its index and time; PDQ bank matches counted per entry."""
        keys = self.analysed[sf.index][1]
        for f in r.findings:
            placed = replace(f, location=replace(f.location, frame=sf.index, timestamp=sf.timestamp))
            if f.detector in self.matchers and f.data.get("signal") == "pdq":
                key = _bank_key(f)
                keys.append(key)
                self.bank_frames[key].add(sf.index)
            if f.score >= MIN_FRAME_FINDING:  # the frame's record keeps every score
                self.result.findings.append(placed)
            record.scores[f.label] = max(f.score, record.scores.get(f.label, 0.0))

    def _carry_text_scores(self, record: FrameRecord, skip: frozenset, r: ScanResult) -> None:
        """Remember what the text read on a frame scored, or give it to a frame that did not read text."""
        if not skip:  # text was read on this frame
            self.text_scores = {}
            for f in r.findings:
                if f.detector in self.readers or f.location.part in ("ocr", "qr_code"):
                    self.text_scores[f.label] = max(f.score, self.text_scores.get(f.label, 0.0))
        else:  # same scene, text not read again: it is taken to be still there
            for label, score in self.text_scores.items():
                record.scores[label] = max(score, record.scores.get(label, 0.0))

    def share_reused(self) -> None:
        """Give each frame that reused another's results those results, now they are all in."""
        for record, source in self.reusers:
            record.error = self.analysed[source][0].error
            record.scores = dict(self.analysed[source][0].scores)
            for key in self.analysed[source][1]:
                self.bank_frames[key].add(record.index)

    def finish(self) -> ScanResult:
        """The video's result once every frame is in: counts, the bank rule, the cues, the
        hashes, the text read and the timeline (the decision is left to the caller)."""
        content, result, summary, settings = self.content, self.result, self.summary, self.settings
        summary.frames_decoded = content.frames_decoded
        result.frames = content.frame_count or content.frames_decoded
        result.frames_analyzed = summary.frames_analyzed
        _apply_bank_rule(result, self.bank_frames, settings.video_bank_min_frames, len(summary.frames), self.matchers)
        _scan_cues(self.engine, content, result, summary)
        md5, sha256 = content.digests()
        result.hashes = Hashes(md5=md5, sha256=sha256, frame_pdq=tuple(self.frame_hashes))
        result.findings.extend(self.engine.known_file(result.hashes))
        if self.lines:
            result.text = ExtractedText(source="ocr", lines=self.lines)
        summary.segments = timeline(summary.frames, content.duration, settings.video_sample_interval, self.present)
        if self.thumbnails:
            best = {seg.frame for seg in summary.segments}
            result.thumbnails = {i: jpg for i, jpg in result.thumbnails.items() if i in best}
        result.notes = list(dict.fromkeys(content.notes + result.notes))
        return result


def _thumbnail(rgb: np.ndarray, result: ScanResult, side: int = 640) -> bytes:
    """The frame with its findings and faces drawn, as a JPEG at most ``side`` pixels wide."""
    from tamis.render.images import annotate

    img = annotate(rgb, result, None).convert("RGB")
    img.thumbnail((side, side))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _apply_bank_rule(result: ScanResult, bank_frames: dict[tuple, set[int]], min_frames: int,
                     selected: int, matchers: set[str]) -> None:
    """A video matches a PDQ bank entry (or the frames of one banked video, grouped by the
    entries' source) only when enough of its frames match it."""
    needed = max(1, min(min_frames, selected))
    weak = {key for key, hit in bank_frames.items() if len(hit) < needed}
    if not weak:
        return
    kept = []
    for f in result.findings:
        if f.detector in matchers and f.data.get("signal") == "pdq" and _bank_key(f) in weak:
            continue
        kept.append(f)
    result.findings = kept
    for bank, entry in sorted(weak, key=str):
        n = len(bank_frames[(bank, entry)])
        result.notes.append(f"{n} frame(s) matched bank {bank!r} entry {entry}, under the {needed} a video match needs")


def _bank_key(f: Finding) -> tuple:
    """The group a PDQ bank match counts towards: its bank and the banked video it came from
    (its source), or the entry itself."""
    return (f.data["bank"], f.data.get("source") or f.data["entry"])


def _scan_cues(engine: Analyzer, content: VideoContent, result: ScanResult, summary: VideoSummary) -> None:
    """Subtitles and text metadata through the text detectors, one text per cue, each
    finding placed at its cue's time (its span is within the cue's text)."""
    cues = content.cues[:MAX_CUES]
    if len(content.cues) > MAX_CUES:
        result.notes.append(f"only the first {MAX_CUES} subtitle cues were read")
    summary.cues = [c.to_dict() for c in cues]
    summary.subtitle_cues = sum(c.part == "subtitle" for c in cues)
    texts = [TextContent(kind="text", name=f"{content.name}#{c.part}@{c.start}", media_type="text/plain",
                         data=c.text.encode("utf-8"), text=c.text, part=c.part) for c in cues]
    for lo in range(0, len(texts), 64):
        for cue, r in zip(cues[lo:lo + 64], engine.analyze(texts[lo:lo + 64])):
            if r.error:
                result.notes.append(f"{cue.part} at {cue.start}: {r.error.message}")
                continue
            result.findings.extend(
                replace(f, location=replace(f.location, part=cue.part, timestamp=cue.start)) for f in r.findings)
            result.keep_highest(r.label_scores)
            if r.language and not result.language:
                result.language = r.language
