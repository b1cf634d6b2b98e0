"""PDQ robustness on real images: the distance after common edits, and which edits match.

    python eval/banks/robustness.py --write            # samples + the offline photo set

For each photo: PDQ of the original and of seven edited copies (JPEG quality 50, resize
to 50 %, a 5 % crop (2.5 % from each side) and a 10 % one, 3-degree rotation, horizontal flip, a text banner over the
bottom 12 %), the Hamming distance to the original, and whether it is within the default
threshold of 31. Photos: samples/images plus, when fetched, the offline set of eval/_common.py.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))
THRESHOLD = 31


def _jpeg(im: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=q)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _banner(im: Image.Image) -> Image.Image:
    out = im.copy()
    d = ImageDraw.Draw(out)
    h = int(out.height * 0.12)
    d.rectangle((0, out.height - h, out.width, out.height), fill=(0, 0, 0))
    try:
        font = ImageFont.truetype("DejaVuSans-Bold.ttf", max(10, int(h * 0.6)))
    except OSError:
        font = ImageFont.load_default()
    d.text((10, out.height - h + h * 0.15), "SHARED FROM @someone", fill=(255, 255, 255), font=font)
    return out


EDITS = {
    "jpeg_q50": lambda im: _jpeg(im, 50),
    "resize_50": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.BILINEAR),
    # 5 % of the width and height removed, split over both sides; then 5 % from each side.
    "crop_5pct": lambda im: im.crop((int(im.width * .025), int(im.height * .025), int(im.width * .975),
                                     int(im.height * .975))),
    "crop_5pct_each_side": lambda im: im.crop((int(im.width * .05), int(im.height * .05), int(im.width * .95),
                                               int(im.height * .95))),
    "rotate_3": lambda im: im.rotate(3, resample=Image.Resampling.BILINEAR, expand=False),
    "flip_h": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "text_banner": _banner,
}


def photos() -> list[tuple[str, Image.Image]]:
    out = [(p.name, Image.open(p).convert("RGB")) for p in sorted((ROOT / "samples" / "images").glob("*.jpg"))]
    try:
        import _common as C

        data = C.DEFAULT_DATA
        if data.exists():
            out += [(ph.name, C.load_rgb(ph.path)) for ph in C.fetch_photos(data, log=lambda *_: None)]
    except Exception as exc:  # noqa: BLE001 - the offline set is optional
        print(f"(offline photo set not used: {exc})")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    from tamis.banks.signals import hamming
    from tamis.detectors.hashes import pdq, pdq_dihedral

    rows = {e: [] for e in EDITS}
    rows["flip_h, dihedral queries"] = []
    qualities = []
    items = photos()
    for _, im in items:
        h0, q0 = pdq(np.asarray(im))
        qualities.append(q0)
        for name, edit in EDITS.items():
            edited = np.asarray(edit(im))
            h, _ = pdq(edited)
            rows[name].append(hamming(h0, h))
            if name == "flip_h":  # what the pdq_dihedral setting queries
                rows["flip_h, dihedral queries"].append(min(hamming(h0, v) for _, v in pdq_dihedral(edited)))
    lines = [
        "# PDQ robustness on real images", "",
        f"{len(items)} photographs (samples/images and the offline photo set of eval/_common.py); median "
        f"PDQ quality of the originals {statistics.median(qualities):.0f}. Distance is in bits of 256; a copy "
        f"matches at the default threshold when it is {THRESHOLD} or less.", "",
        "```", "python eval/banks/robustness.py --write", "```", "",
        "| edit | median distance | p90 | max | matches at <= 31 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, d in rows.items():
        arr = np.array(d)
        lines.append(f"| {name} | {np.median(arr):.0f} | {np.percentile(arr, 90):.0f} | {arr.max()} | "
                     f"{(arr <= THRESHOLD).mean() * 100:.1f} % ({(arr <= THRESHOLD).sum()}/{len(arr)}) |")
    lines += ["", "PDQ is not flip-invariant: a mirrored copy matches only when the rotations and mirror "
              "images of the query are searched too (setting `pdq_dihedral`, last row).", ""]
    text = "\n".join(lines)
    print(text)
    if args.write:
        (HERE / "RESULTS.md").write_text(text)


if __name__ == "__main__":
    main()
