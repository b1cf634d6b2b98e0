"""Video frame selection: are short flashes between two samples seen, and at what cost?

    .venv/bin/python eval/video/flashes.py --write

Clips of 30 s at 25 fps pan slowly across the sample photos (a cut every 5 to 8 s); into
each, flashes of another photo lasting 1, 2, 3 or 5 frames are inserted at random times
(never on a sampled second). A flash counts as seen when a frame inside it is selected for
analysis. Reported per flash length: the share seen, and the frames selected per second of
video with and without the flashes. Also for cuts to a darker or similar-looking photo,
the hard cases for a luma-difference detector. Seeded; writes eval/video/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ["cat.jpg", "coffee.jpg", "astronaut_portrait.jpg", "rocket_launch.jpg", "coffee_caption.jpg",
          "scam_banner.png", "qr_payment.png"]
W, H, FPS, SECONDS = 640, 360, 25, 30


def _photos() -> list[np.ndarray]:
    out = []
    for name in PHOTOS:
        img = Image.open(ROOT / "samples" / "images" / name).convert("RGB").resize((int(W * 1.4), int(H * 1.4)))
        out.append(np.asarray(img))
    return out


def clip(rng, photos, flash_len: int, flashes: int, darken: float = 1.0):
    """Frames, and the frame ranges of the flashes."""
    total = SECONDS * FPS
    frames, owner = [], []
    while len(frames) < total:
        k = int(rng.integers(len(photos)))
        p = photos[k]
        n = min(total - len(frames), int(rng.uniform(5, 8) * FPS))
        x0, x1 = rng.uniform(0, p.shape[1] - W, 2)
        y0, y1 = rng.uniform(0, p.shape[0] - H, 2)
        for i in range(n):
            a = i / max(1, n - 1)
            x, y = int(x0 + (x1 - x0) * a), int(y0 + (y1 - y0) * a)
            frames.append(p[y:y + H, x:x + W])
            owner.append(k)
    spans = []
    candidates = [f for f in range(FPS, total - FPS) if f % FPS not in range(FPS - flash_len, FPS) and f % FPS]
    for start in sorted(rng.choice(candidates, flashes, replace=False)):
        if spans and start <= spans[-1][1] + FPS:
            continue
        # Another photo than the scene's (the two coffee photos count as one).
        scene = {owner[start], owner[start + flash_len - 1]}
        same = {1, 4} if scene & {1, 4} else set()
        choices = [k for k in range(len(photos)) if k not in scene | same]
        other = photos[int(rng.choice(choices))]
        flash = (other[:H, :W].astype(np.float32) * darken).astype(np.uint8)
        for f in range(start, start + flash_len):
            frames[f] = flash
        spans.append((start, start + flash_len - 1))
    return frames, spans


def selected_frames(frames, tmp: Path, settings) -> tuple[set[int], int]:
    from tamis.content.video import iter_frames, load_video
    from tamis.render.video import encode

    path = tmp / "clip.mp4"
    encode(iter(frames), path, FPS, crf=23, preset="ultrafast")
    content = load_video("clip", "video/mp4", path=path, max_bytes=1 << 34, max_pixels=1 << 30, max_seconds=1e6)
    picked = {sf.index for sf in iter_frames(content, interval=settings.video_sample_interval,
                                             scene_threshold=settings.video_scene_threshold,
                                             max_selected=10 ** 6, max_seconds=1e6)}
    return picked, content.frames_decoded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=4, help="clips per flash length")
    ap.add_argument("--write", action="store_true", help="write eval/video/RESULTS.md")
    args = ap.parse_args()
    from tamis.config import Settings

    settings = Settings()
    photos = _photos()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for darken, case in ((1.0, "another photo"), (0.35, "another photo, darkened to 35 %")):
            for flash_len in (1, 2, 3, 5):
                rng = np.random.default_rng(flash_len * 100 + int(darken * 10))
                seen = total = picked_n = decoded = 0
                for _ in range(args.clips):
                    frames, spans = clip(rng, photos, flash_len, 6, darken)
                    picked, n = selected_frames(frames, Path(tmp), settings)
                    picked_n += len(picked)
                    decoded += n
                    total += len(spans)
                    seen += sum(any(a <= f <= b for f in picked) for a, b in spans)
                rows.append((case, flash_len, seen, total, picked_n / (decoded / FPS)))
                print(f"{case:34s} flash {flash_len} frame(s): seen {seen}/{total}, "
                      f"{picked_n / (decoded / FPS):.2f} frames analysed per second of video", file=sys.stderr)
    table = ["| flash | length | seen | frames selected per second of video |", "| --- | --- | --- | --- |"]
    for case, n, seen, total, rate in rows:
        table.append(f"| {case} | {n} frame{'s' if n > 1 else ''} ({n * 1000 // FPS} ms) | "
                     f"**{seen}/{total}** ({100 * seen / total:.0f} %) | {rate:.2f} |")
    text = "\n".join(table)
    print(text)
    if args.write:
        (Path(__file__).parent / "RESULTS.md").write_text(
            "# Video frame selection: short flashes\n\n"
            f"Command: `.venv/bin/python eval/video/flashes.py --write` ({args.clips} clips of {SECONDS} s at "
            f"{FPS} fps, {W}x{H}, per row; default settings: a sample every "
            f"{settings.video_sample_interval} s, scene threshold {settings.video_scene_threshold}).\n\n"
            "The clips pan across the sample photos with a cut every 5 to 8 s; each flash replaces 1 to 5 "
            "frames between two samples with another photo. Seen: a frame inside the flash was selected "
            "for analysis (every selected frame goes through the detectors).\n\n" + text + "\n")


if __name__ == "__main__":
    main()
