"""Video scanning speed and memory: seconds of video per second of wall time, frames
decoded / analysed / reused, time per stage, peak RSS.

    .venv/bin/python bench/bench_video.py                      # 60 s of 720p30
    .venv/bin/python bench/bench_video.py --seconds 600 --height 1080

Builds a clip from the bundled sample photos: scenes of 4 to 7 seconds, each a slow pan
and zoom across one photo (every frame differs, as in filmed video), joined by hard cuts,
encoded as H.264 at 30 fps. Then scans it with every default detector at the default
sampling, with the default detectors (not the optional extras unless --with-extras), and
samples the RSS every 50 ms. Writes bench/results/video-<height>p-<seconds>s.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import rss_mb, save_report  # noqa: E402

PHOTOS = ["cat.jpg", "coffee_caption.jpg", "astronaut_portrait.jpg", "rocket_launch.jpg", "coffee.jpg",
          "scam_banner.png", "qr_payment.png", "product_barcode.webp"]


def scenes(seconds: float, fps: int, width: int, height: int, seed: int = 0):
    """Frames of pans and zooms over the sample photos, cut every 4 to 7 s."""
    rng = np.random.default_rng(seed)
    photos = [Image.open(ROOT / "samples" / "images" / p).convert("RGB") for p in PHOTOS]
    total = int(seconds * fps)
    done = 0
    while done < total:
        length = min(total - done, int(rng.uniform(4, 7) * fps))
        photo = photos[int(rng.integers(len(photos)))]
        # Work on a copy at 1.5x the output size so the pan has room.
        big = photo.resize((int(width * 1.5), int(height * 1.5)), Image.Resampling.BILINEAR)
        bw, bh = big.size
        x0, y0 = rng.uniform(0, bw - width), rng.uniform(0, bh - height)
        x1, y1 = rng.uniform(0, bw - width), rng.uniform(0, bh - height)
        for i in range(length):
            a = i / max(1, length - 1)
            x, y = int(x0 + (x1 - x0) * a), int(y0 + (y1 - y0) * a)
            yield np.asarray(big.crop((x, y, x + width, y + height)))
        done += length


def make_clip(path: Path, seconds: float, height: int, fps: int = 30, seed: int = 0,
              preset: str = "ultrafast") -> Path:
    from tamis.render.video import encode

    width = height * 16 // 9
    encode(scenes(seconds, fps, width, height, seed), path, fps, crf=23, preset=preset)
    return path


class PeakRSS:
    """Samples this process's RSS every 50 ms while scanning."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--clip", type=Path, help="scan this video instead of building one")
    ap.add_argument("--preset", default="ultrafast",
                    help="x264 preset of the built clip: ultrafast (no B-frames, cheap to decode) or "
                         "medium (B-frames and CABAC, like most H.264 in the wild)")
    ap.add_argument("--with-extras", action="store_true",
                    help="also run the optional extras that are installed (the nudity detector)")
    args = ap.parse_args()

    from tamis.config import load_settings
    from tamis.detectors import detector_names
    from tamis.engine import Engine

    with tempfile.TemporaryDirectory() as tmp:
        clip = args.clip
        if clip is None:
            t = time.perf_counter()
            clip = make_clip(Path(tmp) / "bench.mp4", args.seconds, args.height, preset=args.preset)
            print(f"built {clip.stat().st_size / 1e6:.1f} MB clip in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        detectors = None if args.with_extras else tuple(detector_names(default_only=True))
        settings = load_settings(home=Path(tmp) / "home", detectors=detectors)
        engine = Engine(settings).load()
        # Warm up on a short clip of other scenes: the first calls of each model at video
        # batch sizes (memory plans, thread pools) are start-up costs, not throughput.
        engine.scan(make_clip(Path(tmp) / "warm.mp4", 3, args.height, seed=1, preset=args.preset))
        base = rss_mb()
        with PeakRSS() as peak:
            t = time.perf_counter()
            result = engine.scan(clip)
            wall = time.perf_counter() - t
        v = result.video
        report = {
            "clip": {"preset": args.preset if args.clip is None else None,
                     "seconds": v.duration, "fps": v.fps, "height": result.height, "width": result.width,
                     "codec": v.codec, "bytes": result.size_bytes},
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "sampling": v.sampling,
            "detectors": [d.name for d in engine.detectors],
            "wall_s": round(wall, 2),
            "x_real_time": round((v.duration or 0) / wall, 1),
            "frames": {"decoded": v.frames_decoded, "selected": len(v.frames), "analysed": v.frames_analyzed,
                       "reused": v.frames_reused,
                       "scene_changes": sum(f.reason == "scene_change" for f in v.frames)},
            "decoded_frames_per_s": round(v.frames_decoded / wall, 1),
            "ms_per_analysed_frame": round(wall * 1000 / max(1, v.frames_analyzed), 1),
            "stage_ms_total": {k: round(x) for k, x in sorted(result.timings_ms.items(), key=lambda kv: -kv[1])},
            "rss_mb": {"before_scan": round(base), "peak_during_scan": round(peak.peak),
                       "process_peak": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)},
            "segments": len(v.segments),
        }
    print(json.dumps(report, indent=2))
    suffix = "" if args.preset == "ultrafast" or args.clip else f"-{args.preset}"
    save_report(f"video-{report['clip']['height']}p-{int(report['clip']['seconds'] or 0)}s{suffix}", report)


if __name__ == "__main__":
    main()
