"""Writing videos: H.264 in MP4 (or MKV), with the audio of another file copied unchanged,
optional subtitles and metadata. Used to write face-redacted videos."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import numpy as np

#: Audio codecs an MP4 file carries as they are; others are re-encoded as AAC.
MP4_AUDIO = {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"}


def encode(frames: Iterable[np.ndarray], path: str | Path, fps: float | Fraction, *,
           crf: int = 20, preset: str = "veryfast", audio_from: str | Path | None = None,
           subtitles: Iterable[tuple[float, float, str]] = (), metadata: dict[str, str] | None = None) -> Path:
    """Encode RGB frames (all of one size) as H.264 at ``fps``.

    ``audio_from``: a file whose first audio stream is copied (not re-encoded).
    ``subtitles``: (start s, end s, text) cues, written as a SubRip stream (MKV only).
    """
    import av

    path = Path(path)
    rate = Fraction(fps).limit_denominator(1001) if not isinstance(fps, Fraction) else fps
    subtitles = list(subtitles)
    if subtitles and path.suffix.lower() != ".mkv":
        raise ValueError("subtitles are written only into .mkv files")
    with av.open(str(path), mode="w") as out:
        if metadata:
            out.metadata.update(metadata)
        video = None
        source = av.open(str(audio_from)) if audio_from else None
        try:
            in_audio = next((s for s in source.streams if s.type == "audio"), None) if source else None
            out_audio, transcode = None, False
            if in_audio is not None:
                if path.suffix.lower() in (".mp4", ".m4v", ".mov") and in_audio.codec_context.name not in MP4_AUDIO:
                    # e.g. PCM or Vorbis, which MP4 cannot carry: re-encoded as AAC
                    out_audio = out.add_stream("aac", rate=in_audio.codec_context.sample_rate or 48000)
                    transcode = True
                else:
                    out_audio = out.add_stream_from_template(in_audio)
            subs = av.open(io.BytesIO(_srt(subtitles).encode("utf-8")), format="srt") if subtitles else None
            in_sub = subs.streams[0] if subs else None
            out_sub = out.add_stream_from_template(in_sub) if in_sub is not None else None
            for rgb in frames:
                if video is None:
                    video = out.add_stream("libx264", rate=rate)
                    video.width, video.height = rgb.shape[1] - rgb.shape[1] % 2, rgb.shape[0] - rgb.shape[0] % 2
                    video.pix_fmt = "yuv420p"
                    video.options = {"crf": str(crf), "preset": preset}
                rgb = np.ascontiguousarray(rgb[:video.height, :video.width])
                for packet in video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                    out.mux(packet)
            if video is None:
                raise ValueError("no frames to encode")
            for packet in video.encode():
                out.mux(packet)
            if transcode:
                for frame in source.decode(in_audio):
                    frame.pts = None
                    for packet in out_audio.encode(frame):
                        out.mux(packet)
                for packet in out_audio.encode():
                    out.mux(packet)
            elif out_audio is not None:
                _copy_packets(source, in_audio, out, out_audio)
            if out_sub is not None:
                _copy_packets(subs, in_sub, out, out_sub)
                subs.close()
        finally:
            if source is not None:
                source.close()
    return path


def _copy_packets(source, in_stream, out, out_stream) -> None:
    """Copy a stream's packets as they are (no re-encoding) into ``out``."""
    for packet in source.demux(in_stream):
        if packet.dts is None:  # the demuxer's end-of-stream marker
            continue
        packet.stream = out_stream
        out.mux(packet)


def _srt(cues: list[tuple[float, float, str]]) -> str:
    def stamp(t: float) -> str:
        ms = int(round(t * 1000))
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "".join(f"{i}\n{stamp(a)} --> {stamp(b)}\n{text}\n\n" for i, (a, b, text) in enumerate(cues, 1))


def redact_video(source: str | Path, target: str | Path, redact: Callable[[np.ndarray], np.ndarray]) -> dict:
    """Decode ``source``, pass every frame through ``redact`` (RGB in, RGB out) and write
    ``target`` as H.264 with the source's audio copied (or re-encoded as AAC where MP4
    cannot carry it). Frames are written upright and at the source's average frame rate
    (a variable-rate source is written at a constant rate). Returns counts."""
    import av

    counts = {"frames": 0}
    with av.open(str(source)) as container:
        stream = next(s for s in container.streams if s.type == "video")
        stream.thread_type = "AUTO"
        fps = stream.average_rate or stream.guessed_rate or Fraction(25)

        def frames():
            for frame in container.decode(stream):
                counts["frames"] += 1
                rgb = frame.to_ndarray(format="rgb24")
                turns = int(round(getattr(frame, "rotation", 0) or 0)) // 90 % 4
                if turns:  # a phone video: written upright, since the copy carries no rotation flag
                    rgb = np.ascontiguousarray(np.rot90(rgb, turns))
                yield redact(rgb)

        encode(frames(), target, fps, audio_from=source)
    return counts
