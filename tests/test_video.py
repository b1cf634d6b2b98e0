"""Video: streaming decode, frame selection (samples, scene changes, reuse), text from
subtitles and metadata, hash banks, the timeline, redaction, hostile files and the CLI."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

av = pytest.importorskip("av")

from tamis.banks import SQLiteBankStore  # noqa: E402
from tamis.cli.main import app  # noqa: E402
from tamis.config import Settings  # noqa: E402
from tamis.engine import Engine  # noqa: E402
from tamis.engine.video import timeline  # noqa: E402
from tamis.errors import CorruptInputError, TooLargeError, UnsupportedFormatError  # noqa: E402
from tamis.render.video import encode  # noqa: E402
from tamis.results import FrameRecord  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "images"
FPS = 25


def _picture(name: str, size=(320, 240)) -> np.ndarray:
    return np.asarray(Image.open(SAMPLES / name).convert("RGB").resize(size))


CAT, COFFEE, FACE = "cat.jpg", "coffee_caption.jpg", "astronaut_portrait.jpg"


def _clip_frames(plan: list[tuple[str, int]]):
    """Frames of pictures held for a number of frames each: [(picture, frames), ...]."""
    cache: dict[str, np.ndarray] = {}
    for name, count in plan:
        img = cache.setdefault(name, _picture(name))
        for _ in range(count):
            yield img


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """3 s: cat (1.2 s), coffee with one frame of a face flashed in at 1.6 s, then the face.
    Subtitles and metadata carry personal data."""
    path = tmp_path_factory.mktemp("video") / "clip.mkv"
    plan = [(CAT, 30), (COFFEE, 10), (FACE, 1), (COFFEE, 14), (FACE, 20)]
    encode(_clip_frames(plan), path, FPS,
           subtitles=[(0.5, 1.5, "write to john.doe@example.com for the files"), (2.0, 2.8, "see you")],
           metadata={"title": "holiday clip", "comment": "call me on +1 202 555 0143"})
    return path


@pytest.fixture(scope="module")
def still(tmp_path_factory) -> Path:
    """5 s of one picture, as MP4 with an audio track."""
    path = tmp_path_factory.mktemp("video") / "still.mp4"
    _with_audio(_clip_frames([(CAT, 5 * FPS)]), path)
    return path


def _with_audio(frames, path: Path, seconds: float = 5.0) -> None:
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        audio = out.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for rgb in frames:
            for p in video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(p)
        for p in video.encode():
            out.mux(p)
        t = np.arange(int(16000 * seconds)) / 16000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for i in range(0, len(tone), 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, i:i + 1024], format="fltp", layout="mono")
            frame.sample_rate = 16000
            frame.pts = i
            frame.time_base = Fraction(1, 16000)
            for p in audio.encode(frame):
                out.mux(p)
        for p in audio.encode():
            out.mux(p)


@pytest.fixture(scope="module")
def video_engine(tmp_path_factory):
    return Engine(Settings(home=tmp_path_factory.mktemp("home"))).load()


def test_frames_are_sampled_and_a_one_frame_flash_is_seen(video_engine, clip):
    r = video_engine.scan(clip)
    assert (r.kind, r.media_type, r.width, r.height) == ("video", "video/x-matroska", 320, 240)
    v = r.video
    assert v.frames_decoded == 75 and v.fps == 25 and v.codec == "h264"
    picked = {f.index: f.reason for f in v.frames}
    assert picked[0] == "first" and picked[25] == "sample" and picked[50] == "sample"
    assert picked[30] == "scene_change"  # the cut from the cat to the coffee, between two samples
    assert picked[40] == "scene_change"  # the single flashed frame
    # The flashed face is found, with its time and frame.
    flash = [f for f in r.faces if f.frame == 40]
    assert flash, "the face flashed for one frame (40 ms) must be analysed"
    assert v.frames_analyzed + v.frames_reused == len(v.frames)
    # Every image finding says when it was seen.
    for f in r.findings:
        if f.location.part not in ("subtitle", "metadata"):
            assert f.location.timestamp is not None and f.location.frame in picked
    # Near-zero whole-frame scores stay in the frame records, not in the findings.
    assert all(f.score >= 0.05 for f in r.findings if f.location.frame is not None)
    assert all("sexual" in fr.scores for fr in v.frames)
    # The result serialises with the timeline and per-frame records.
    d = r.to_dict()
    assert d["video"]["frames_decoded"] == 75 and len(d["video"]["frames"]) == len(v.frames)
    json.dumps(d)


def test_subtitles_and_metadata_go_through_the_text_detectors(video_engine, clip):
    r = video_engine.scan(clip)
    email = [f for f in r.findings if f.label == "pii/email"]
    assert email and email[0].location.part == "subtitle" and email[0].location.timestamp == 0.5
    cue = next(c for c in r.video.cues if c["part"] == "subtitle" and c["start"] == 0.5)
    span = email[0].location.span
    assert cue["text"][span.start:span.end] == "john.doe@example.com"
    phone = [f for f in r.findings if f.label == "pii/phone"]
    assert phone and phone[0].location.part == "metadata" and phone[0].location.timestamp is None
    assert r.video.subtitle_cues == 2


def test_near_identical_frames_reuse_results_and_audio_is_declared_not_analysed(video_engine, still):
    r = video_engine.scan(still)
    v = r.video
    assert len(v.frames) == 5  # 0, 1, 2, 3, 4 s
    assert v.frames_analyzed == 1 and v.frames_reused == 4
    assert all(f.reused_from == 0 for f in v.frames[1:])
    assert v.audio == "not analysed: tamis has no speech model"
    assert any("audio is not analysed" in n for n in r.notes)
    assert r.hashes.md5 and r.hashes.sha256 and len(r.hashes.frame_pdq) == 1


def test_timeline_merges_consecutive_frames_per_label():
    frames = [FrameRecord(i, float(i), "sample", s) for i, s in enumerate([
        {}, {"violence": 0.7}, {"violence": 0.9}, {}, {"violence": 0.8, "weapons": 0.6}])]
    segs = timeline(frames, 5.0, 1.0, lambda label, score: score >= 0.5)
    assert [(s.label, s.start, s.end, s.max_score, s.frame, s.frames) for s in segs] == [
        ("violence", 1.0, 3.0, 0.9, 2, 2), ("violence", 4.0, 5.0, 0.8, 4, 1), ("weapons", 4.0, 5.0, 0.6, 4, 1)]
    # Under the threshold, no segment.
    assert timeline(frames, 5.0, 1.0, lambda label, score: score >= 0.95) == []


def test_a_video_matches_a_bank_when_enough_frames_match(tmp_path, clip, still):
    home = tmp_path / "home"
    home.mkdir()
    store = SQLiteBankStore(home / "banks.db")
    store.create_bank("known")
    runner = CliRunner()
    # The still video, banked from its own frames (entries share the file as source).
    env = {"TAMIS_HOME": str(home)}
    res = runner.invoke(app, ["banks", "add", "known", str(still), "--label", "extremism"], env=env)
    assert res.exit_code == 0, res.output
    eng = Engine(Settings(home=home, video_bank_min_frames=2)).load()
    r = eng.scan(still)
    hits = [f for f in r.findings if f.detector == "banks"]
    assert {f.data["signal"] for f in hits} == {"md5", "sha256", "pdq"}
    assert r.action == "block" and any(s.label == "extremism" for s in r.video.segments)
    # The clip shows the cat for 1.2 s: frame 0 analysed, frame 25 reusing its results, so two
    # frames match: a match. With 3 frames needed, it is not.
    r = eng.scan(clip)
    assert [f.location.frame for f in r.findings if f.data.get("signal") == "pdq"] == [0]
    seg = next(s for s in r.video.segments if s.label == "extremism")
    assert (seg.start, seg.end, seg.frames) == (0.0, 1.2, 2)
    strict = Engine(Settings(home=home, video_bank_min_frames=3)).load()
    r = strict.scan(clip)
    assert not [f for f in r.findings if f.detector == "banks"]
    assert any("under the 3 a video match needs" in n for n in r.notes)


def test_hostile_and_broken_videos_get_specific_errors(video_engine, clip, tmp_path):
    data = clip.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 3])  # truncated: what decodes is scanned, the rest noted
    r = video_engine.scan(cut)
    assert r.video.frames_decoded < 75
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40)
    with pytest.raises(CorruptInputError):
        video_engine.scan(garbage)
    results = list(video_engine.scan_many([garbage, SAMPLES / CAT]))  # one bad input, the rest go on
    assert results[0].error.code == "corrupt_input" and results[1].ok
    small = Engine(Settings(home=tmp_path, max_video_bytes=1000))
    with pytest.raises(TooLargeError):
        small.open(clip)
    short = Engine(Settings(home=tmp_path, max_video_seconds=1.0))
    with pytest.raises(TooLargeError, match="over the limit of 1 s"):
        short.open(clip)
    audio_only = tmp_path / "audio.mkv"
    with av.open(str(audio_only), "w") as out:
        s = out.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        for p in [*s.encode(frame), *s.encode()]:
            out.mux(p)
    with pytest.raises(UnsupportedFormatError, match="no video stream"):
        video_engine.open(audio_only)


def test_video_bytes_are_scanned_too(video_engine, still):
    r = video_engine.scan(still.read_bytes(), name="upload.mp4")
    assert r.kind == "video" and r.video.frames_decoded == 125


def test_blur_video_covers_faces_and_keeps_the_audio(tmp_path):
    import tamis

    source = tmp_path / "face.mp4"
    _with_audio(_clip_frames([(FACE, 50)]), source, seconds=2.0)
    target = tmp_path / "blurred.mp4"
    counts = tamis.blur_video(source, target)
    assert counts["frames"] == 50 and counts["faces"] >= 45
    with av.open(str(target)) as c:
        kinds = sorted(s.type for s in c.streams)
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert kinds == ["audio", "video"] and len(frames) == 50
    face = tamis.scan(SAMPLES / FACE, detectors=("faces",)).faces[0].box
    sx, sy = 320 / Image.open(SAMPLES / FACE).width, 240 / Image.open(SAMPLES / FACE).height
    x0, y0 = int(face.x * sx), int(face.y * sy)
    x1, y1 = int((face.x + face.w) * sx), int((face.y + face.h) * sy)
    original = _picture(FACE)[y0:y1, x0:x1].astype(float)
    redacted = frames[25][y0:y1, x0:x1].astype(float)

    def detail(a):
        return np.abs(np.diff(a, axis=1)).mean()

    assert detail(redacted) < 0.5 * detail(original)


def test_cli_prints_the_timeline_and_writes_thumbnails(tmp_path, still):
    home = tmp_path / "home"
    home.mkdir()
    SQLiteBankStore(home / "banks.db").create_bank("known")
    runner = CliRunner()
    env = {"TAMIS_HOME": str(home)}
    assert runner.invoke(app, ["banks", "add", "known", str(still), "--label", "extremism"], env=env).exit_code == 0
    thumbs = tmp_path / "thumbs"
    report = tmp_path / "report.html"
    res = runner.invoke(app, ["scan", str(still), "--thumbnails", str(thumbs), "--report", str(report)], env=env)
    assert res.exit_code == 1, res.output  # flagged
    assert "125 frames decoded, 1 analysed, 4 reused" in res.output
    assert "extremism" in res.output and "audio not analysed" in res.output
    written = sorted(p.name for p in thumbs.iterdir())
    assert written == ["still.0.000s.jpg"]
    html = report.read_text()  # the card shows the best frame and the timeline
    assert 'class="timeline"' in html and "data:image/jpeg;base64," in html and "125 frames decoded" in html
    res = runner.invoke(app, ["scan", str(still), "--format", "json"], env=env)
    d = json.loads(res.stdout)[0]
    assert d["video"]["segments"][0]["label"] == "extremism" and d["video"]["frames"][1]["reused_from"] == 0
    res = runner.invoke(app, ["hash", str(still), "--format", "json"])
    assert res.exit_code == 0 and json.loads(res.stdout)[0]["frames"][0]["frame"] == 0


def test_blur_video_re_encodes_audio_that_mp4_cannot_carry(tmp_path):
    import tamis

    source = tmp_path / "pcm.mkv"
    with av.open(str(source), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        audio = out.add_stream("pcm_s16le", rate=16000)
        audio.layout = "mono"
        for rgb in _clip_frames([(FACE, 25)]):
            for p in video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(p)
        for p in video.encode():
            out.mux(p)
        for i in range(0, 16000, 1024):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.int16), format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 16000, i, Fraction(1, 16000)
            for p in audio.encode(frame):
                out.mux(p)
        for p in audio.encode():
            out.mux(p)
    target = tmp_path / "blurred.mp4"
    assert tamis.blur_video(source, target)["frames"] == 25
    with av.open(str(target)) as c:
        assert sorted((s.type, s.codec_context.name) for s in c.streams) == [("audio", "aac"), ("video", "h264")]


@pytest.mark.parametrize("suffix,codec,media_type", [
    ("webm", "libvpx-vp9", "video/webm"),
    ("mov", "libx264", "video/quicktime"),
    ("avi", "mpeg4", "video/x-msvideo"),
    ("mkv", "libvpx", "video/x-matroska"),
])
def test_common_containers_and_codecs(video_engine, tmp_path, suffix, codec, media_type):
    path = tmp_path / f"clip.{suffix}"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for rgb in _clip_frames([(CAT, 13), (COFFEE, 12)]):
            for p in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    r = video_engine.scan(path)
    assert (r.kind, r.media_type) == ("video", media_type)
    assert r.video.frames_decoded == 25 and {f.reason for f in r.video.frames} >= {"first", "scene_change"}


def test_text_on_screen_lasts_until_the_scene_changes(video_engine, tmp_path):
    # A prize-scam banner for 3 s, then a cut (on a sample time) to the cat: text is read at
    # 0 s only (every 5 s), is taken to stay until the cut, and not after it.
    path = tmp_path / "banner.mp4"
    encode(_clip_frames([("scam_banner.png", 3 * FPS), (CAT, 2 * FPS)]), path, FPS)
    r = video_engine.scan(path)
    reasons = {f.index: f.reason for f in r.video.frames}
    assert reasons[75] == "scene_change"  # also a sample time: the new scene wins
    spam = [s for s in r.video.segments if s.label == "spam"]
    assert [(s.start, s.end, s.frames) for s in spam] == [(0.0, 3.0, 3)]


def test_a_detector_failure_mid_video_stops_the_decoding_thread(video_engine, tmp_path, monkeypatch):
    # Many distinct frames, so that the decoding thread is still running (its queue full)
    # when the first batch fails: the error reaches the caller and the thread is gone.
    import threading

    from tamis.engine.video import analyze_video

    path = tmp_path / "strobe.mp4"
    encode(_clip_frames([(CAT, 1), (FACE, 1)] * 3 * FPS), path, FPS)
    content = video_engine.open(path)

    def fail(contents):
        raise RuntimeError("detector broke")

    monkeypatch.setattr(video_engine, "analyze", fail)
    with pytest.raises(RuntimeError, match="detector broke"):
        analyze_video(video_engine, content)
    assert not [t for t in threading.enumerate() if t.name == "tamis-video-decode"]
    assert 0 < content.frames_decoded < 6 * FPS  # stopped early, not decoded to the end
