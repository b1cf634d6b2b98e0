"""Evaluate the barcode detector (zxing-cpp) on seeded synthetic codes pasted into photos.

usage: python eval/barcodes/evaluate.py [--data DIR] [--seed 0] [--reps 3] [--write]

Data (deterministic from --seed): for each of 6 formats (QRCode, DataMatrix, EAN13,
Code128, PDF417, Aztec), 3 sizes and --reps repetitions, a random payload is encoded
with ``zxingcpp.create_barcode(text, format).to_image(scale=4, add_quiet_zones=True)``,
resized to the target size (long side of the code with its quiet zone: 110, 200 or
360 px), and pasted at a random place into a random text-free photo scaled to 1024 px on
its long side. Then one of 10 transforms is applied:

- ``none``; ``jpeg30`` / ``jpeg60`` / ``jpeg90`` (whole image, that JPEG quality);
- ``down50`` (whole image scaled to 50 %, area interpolation);
- ``rot5`` / ``rot15`` / ``rot45`` (the code is rotated by that many degrees before pasting);
- ``perspective`` (the code is warped as if seen at an angle: the two corners of one edge
  pulled towards each other by 15-25 % of the edge length each, so that edge is 50-70 % as
  long as the opposite one);
- ``blur`` (whole image, Gaussian blur with sigma 1.5).

Every image goes through the real pipeline: ``Engine(...).open(bytes)`` then
``BarcodeDetector().analyze([content])``. A code counts as decoded when a finding has
the same format and exactly the same payload; a finding with another payload or format
is a misread. False positives are measured on every catalogued photo that has no code
in it (eval/_common.py: samples, the face set and photos from pinned wheels), at its
original size. With --write, eval/barcodes/RESULTS.md is rewritten.
"""

from __future__ import annotations

import argparse
import string
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as C  # noqa: E402

HERE = Path(__file__).resolve().parent
FORMATS = ["QRCode", "DataMatrix", "EAN13", "Code128", "PDF417", "Aztec"]
SIZES = [110, 200, 360]
TRANSFORMS = ["none", "jpeg30", "jpeg60", "jpeg90", "down50", "rot5", "rot15", "rot45",
              "perspective", "blur"]
ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits


def _rand(rng, alphabet, n):
    return "".join(alphabet[int(i)] for i in rng.integers(len(alphabet), size=n))


def ean13(d12: str) -> str:
    s = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(d12))
    return d12 + str((10 - s % 10) % 10)


def payload(fmt: str, rng) -> str:
    if fmt == "QRCode":
        return f"https://example.com/{_rand(rng, ALNUM, int(rng.integers(8, 17)))}"
    if fmt == "DataMatrix":
        return _rand(rng, ALNUM, int(rng.integers(16, 25)))
    if fmt == "EAN13":
        return ean13(_rand(rng, string.digits, 12))
    if fmt == "Code128":
        return _rand(rng, UPPER, int(rng.integers(8, 15)))
    if fmt == "PDF417":
        return f"INV-{_rand(rng, UPPER, int(rng.integers(20, 31)))}"
    return f"AZ:{_rand(rng, ALNUM, int(rng.integers(20, 31)))}"   # Aztec


def code_image(fmt: str, text: str, size: int) -> tuple[Image.Image, float]:
    """The code at `size` px on its long side, and its module size in px."""
    import zxingcpp

    bc = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, fmt))
    im = Image.fromarray(np.asarray(bc.to_image(scale=4, add_quiet_zones=True))).convert("L")
    s = size / max(im.size)
    return (im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.Resampling.LANCZOS),
            4 * s)


def _paste(bg: Image.Image, patch: Image.Image, mask: Image.Image | None, rng) -> Image.Image:
    W, H = bg.size
    if patch.width > W - 8 or patch.height > H - 8:
        s = min((W - 8) / patch.width, (H - 8) / patch.height)
        patch = patch.resize((int(patch.width * s), int(patch.height * s)), Image.Resampling.LANCZOS)
        if mask is not None:
            mask = mask.resize(patch.size, Image.Resampling.BILINEAR)
    x = int(rng.integers(4, W - patch.width - 3))
    y = int(rng.integers(4, H - patch.height - 3))
    out = bg.copy()
    out.paste(patch.convert("RGB"), (x, y), mask)
    return out


def make(fmt: str, size: int, transform: str, rng, photos) -> tuple[bytes, str, float]:
    text = payload(fmt, rng)
    code, module = code_image(fmt, text, size)
    photo = photos[int(rng.integers(len(photos)))]
    bg = C.random_crop(C.load_rgb(photo.path), rng, 1024,
                       aspect=float(rng.choice([4 / 3, 3 / 4, 16 / 9, 1.0])))
    mask = None
    if transform.startswith("rot"):
        angle = float(transform[3:]) * (1 if rng.random() < 0.5 else -1)
        mask = Image.new("L", code.size, 255).rotate(angle, Image.Resampling.BICUBIC, expand=True)
        code = code.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    elif transform == "perspective":
        w, h = code.size
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        dst = src.copy()
        side = int(rng.integers(4))      # the edge that recedes: top, right, bottom, left
        a, b = side, (side + 1) % 4
        f = rng.uniform(0.15, 0.25)      # each of its corners moves f of the edge inwards
        mid = (src[a] + src[b]) / 2
        dst[a] = src[a] + (mid - src[a]) * 2 * f
        dst[b] = src[b] + (mid - src[b]) * 2 * f
        M = cv2.getPerspectiveTransform(src, dst)
        arr = cv2.warpPerspective(np.asarray(code), M, (w, h), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=255)
        m = cv2.warpPerspective(np.full((h, w), 255, np.uint8), M, (w, h), flags=cv2.INTER_LINEAR)
        code, mask = Image.fromarray(arr), Image.fromarray(m)
    img = _paste(bg, code, mask, rng)
    if transform == "down50":
        img = img.resize((img.width // 2, img.height // 2), Image.Resampling.BOX)
    elif transform == "blur":
        img = img.filter(ImageFilter.GaussianBlur(1.5))
    if transform.startswith("jpeg"):
        return C.encode(img, "JPEG", int(transform[4:])), text, module
    return C.encode(img, "PNG"), text, module


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=C.DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="rewrite eval/barcodes/RESULTS.md")
    args = ap.parse_args()

    from tamis.detectors.barcodes import BarcodeDetector

    t0 = time.perf_counter()
    catalogue = C.fetch_photos(args.data)
    photos = sorted((p for p in catalogue if not p.text), key=lambda p: p.name)
    no_code = [p for p in catalogue if p.name not in ("samples__qr_payment.png", "samples__product_barcode.webp")]
    eng = C.engine()
    det = BarcodeDetector()
    det.load()
    rng = np.random.default_rng(args.seed)

    hits = defaultdict(lambda: [0, 0])
    modules = defaultdict(list)
    misreads = []
    times = []
    for fmt in FORMATS:
        for size in SIZES:
            for transform in TRANSFORMS:
                for _ in range(args.reps):
                    data, text, module = make(fmt, size, transform, rng, photos)
                    modules[(fmt, size)].append(module)
                    content = eng.open(data)
                    t = time.perf_counter()
                    out = det.analyze([content])[0]
                    times.append(time.perf_counter() - t)
                    ok = any(f.data["format"] == fmt and f.data["payload"] == text for f in out.findings)
                    for f in out.findings:
                        if not (f.data["format"] == fmt and f.data["payload"] == text):
                            misreads.append((fmt, size, transform, text, f.data["format"], f.data["payload"]))
                    for key in ((fmt, transform), (fmt, size), (fmt, "all"), ("all", transform),
                                ("all", size), ("all", "all")):
                        hits[key][0] += ok
                        hits[key][1] += 1

    fps = []
    fp_times = []
    for p in no_code:
        content = eng.open(p.path)
        t = time.perf_counter()
        out = det.analyze([content])[0]
        fp_times.append(time.perf_counter() - t)
        fps += [(p.name, f.data["format"], f.data["payload"]) for f in out.findings]
    run_s = time.perf_counter() - t0

    def cell(k):
        n, d = hits[k]
        return f"{100 * n / d:.0f}%" if d else "n/a"

    md = ["## Set\n",
          f"- {hits[('all', 'all')][1]} images: {len(FORMATS)} formats x {len(SIZES)} sizes x "
          f"{len(TRANSFORMS)} transforms x {args.reps} repetitions, seed {args.seed}; "
          f"backgrounds: {len(photos)} text-free photos.",
          f"- False-positive set: {len(no_code)} catalogued photos without any barcode "
          f"(samples, face set, photos from pinned wheels; {sum(p.text for p in no_code)} of them "
          f"have text in them).", "",
          "## Decode rate (exact payload), by format and transform\n",
          f"Each cell: {len(SIZES) * args.reps} images ({len(SIZES)} sizes x {args.reps}).\n"]
    md.append(C.md_table(["format"] + TRANSFORMS + ["**all**"],
                         [[f] + [cell((f, t)) for t in TRANSFORMS] + [f"**{cell((f, 'all'))}**"]
                          for f in FORMATS + ["all"]]))
    md += ["", "## Decode rate by code size (long side incl. quiet zone, in the 1024 px image)\n",
           f"Each cell: {len(TRANSFORMS) * args.reps} images (all transforms), and in brackets the "
           f"mean module size (px per module; for linear codes the narrowest bar). `down50` halves "
           f"these sizes.\n"]
    md.append(C.md_table(["format"] + [f"{s} px" for s in SIZES],
                         [[f] + [f"{cell((f, s))} ({np.mean(modules[(f, s)]):.1f} px)" for s in SIZES]
                          for f in FORMATS] + [["all"] + [cell(("all", s)) for s in SIZES]]))
    md += ["", f"**Overall decode rate: {C.pct(*hits[('all', 'all')])}.**", "",
           "## Errors\n",
           f"- Misreads (a finding with another payload or format on a synthetic image): **{len(misreads)}**"]
    for m in misreads[:10]:
        md.append(f"  - {m[0]} {m[1]} px {m[2]}: expected `{m[3]}`, read {m[4]} `{m[5]}`")
    md.append(f"- **False positives on photos without codes: {len(fps)}** "
              f"(in {len({f[0] for f in fps})} of {len(no_code)} photos"
              + (f"; with 0 of n, the 95 % upper bound is about 3/n = {300 / len(no_code):.1f} %)"
                 if not fps else ")"))
    for f in fps[:10]:
        md.append(f"  - `{f[0]}`: {f[1]} `{f[2]}`")
    md += ["", "## Time\n",
           f"{C.machine()}. `analyze` per image (decoding excluded): mean "
           f"{1000 * np.mean(times):.0f} ms on the synthetic set (1024 px, or 512 px for `down50`), "
           f"{1000 * np.mean(fp_times):.0f} ms on the photo set (original sizes). "
           f"Total run time {run_s:.0f} s."]
    body = "\n".join(md)
    print(body)
    if args.write:
        cmd = "python eval/barcodes/evaluate.py --write"
        if args.seed or args.reps != 3:
            cmd += f" --seed {args.seed} --reps {args.reps}"
        C.write_results(HERE, "Barcode evaluation results", f"photos fetched into `{args.data}` on first use",
                        cmd, f"`BarcodeDetector` {BarcodeDetector.version} (zxing-cpp `read_barcodes` on the "
                        "grey image, default options)", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
