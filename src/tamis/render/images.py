"""Draw findings and faces on an image; blur or pixelate faces."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tamis.results import Box, ScanResult

_COLOURS = {
    "sexual": (230, 40, 90), "qr_code": (40, 120, 230), "face": (40, 200, 90),
    "text": (240, 170, 20),
}


def _colour(label: str) -> tuple[int, int, int]:
    return _COLOURS.get(label.split("/")[0], (200, 60, 200))


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


_Rect = tuple[float, float, float, float]


class _Labels:
    """Labels drawn on one picture, each placed where it covers none drawn before: just
    above its box if free, else shifted down (or, past the bottom edge, up) a line at a time."""

    #: Places tried per label before it is drawn where it first wanted to go.
    TRIES = 64

    def __init__(self, draw: ImageDraw.ImageDraw, font, height: int) -> None:
        self.draw, self.font, self.height = draw, font, height
        self.placed: list[_Rect] = []

    def place(self, xy: tuple[float, float], text: str) -> tuple[tuple[float, float], _Rect]:
        """Where ``text`` goes for a box whose top-left corner is ``xy`` (the label's anchor,
        and its background rectangle); the place is taken."""
        x, y = xy
        left, top, right, bottom = self.draw.textbbox((x, y), text, font=self.font)
        h = bottom - top
        first = max(0.0, y - h - 4)
        step = h + 5
        downs = (first + k * step for k in range(self.TRIES))
        ups = (first - k * step for k in range(1, self.TRIES))
        candidates = [c for c in downs if c + h <= self.height] + [c for c in ups if c >= 0]
        choice = first
        for cy in candidates[:self.TRIES]:
            rect = self._rect(x, cy, text)
            if not any(_overlap(rect, other) for other in self.placed):
                choice = cy
                break
        rect = self._rect(x, choice, text)
        self.placed.append(rect)
        return (x, choice), rect

    def _rect(self, x: float, y: float, text: str) -> _Rect:
        left, top, right, bottom = self.draw.textbbox((x, y), text, font=self.font)
        return (left - 2, top - 2, right + 2, bottom + 2)

    def draw_label(self, xy: tuple[float, float], text: str, colour) -> None:
        at, rect = self.place(xy, text)
        _paint(self.draw, at, rect, text, colour, self.font)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _paint(draw: ImageDraw.ImageDraw, at, rect, text: str, colour, font) -> None:
    draw.rectangle(rect, fill=colour)
    draw.text(at, text, fill=(255, 255, 255), font=font)


def annotate_frame(frame, result: ScanResult, animated: bool) -> Image.Image:
    """:func:`annotate` for a decoded frame, drawn once however many outputs want it (the
    annotated copy and the report's picture)."""
    return frame.shared(("annotated", id(result)),
                        lambda: annotate(frame.rgb, result, frame.index if animated else None)).copy()


def annotate(rgb: np.ndarray, result: ScanResult, frame: int | None = None) -> Image.Image:
    """A copy of the image with boxes and labels for findings, faces and text lines."""
    img = Image.fromarray(rgb).convert("RGB")
    draw = ImageDraw.Draw(img)
    side = max(img.size)
    width = max(2, side // 400)
    font = _font(max(12, side // 60))

    def same_frame(f):
        return frame is None or f in (None, frame)

    labels = _Labels(draw, font, img.size[1])
    findings = [f for f in result.findings if same_frame(f.location.frame)]
    whole = sorted((f for f in findings if f.location.box is None), key=lambda f: -f.score)
    banner = "  ".join([f"{result.action.upper()}"] + [f"{f.label} {f.score:.2f}" for f in whole if f.score >= 0.1])
    banner_at = labels.place((4, font.size + 8), banner)  # its corner is kept; drawn last, on top
    pending: list[tuple[tuple[float, float], str, tuple[int, int, int]]] = []

    for line in (result.text.lines if result.text else []):
        if same_frame(line.frame):
            draw.polygon([tuple(p) for p in line.polygon], outline=_COLOURS["text"], width=width)
    for face in result.faces:
        if not same_frame(face.frame):
            continue
        b = face.box
        draw.rectangle((b.x, b.y, b.x + b.w, b.y + b.h), outline=_COLOURS["face"], width=width)
        attrs = [f"{k}={'?' if a.value is None else ('yes' if a.value else 'no')}"
                 for k, a in face.attributes.items()]
        pending.append(((b.x, b.y), f"face {face.score:.2f} " + " ".join(attrs), _COLOURS["face"]))
    for f in findings:
        b = f.location.box
        if b is None:
            continue
        c = _colour(f.label)
        draw.rectangle((b.x, b.y, b.x + b.w, b.y + b.h), outline=c, width=width)
        text = f"{f.label} {f.score:.2f}"
        if f.label == "qr_code":
            text += f" {f.data.get('payload', '')[:40]}"
        pending.append(((b.x, b.y), text, c))
    for xy, text, colour in pending:  # after every box, so that no box line crosses a label
        labels.draw_label(xy, text, colour)
    _paint(draw, *banner_at, banner, (40, 40, 40), font)
    return img


def _redact(region: np.ndarray, mode: str) -> np.ndarray:
    h, w = region.shape[:2]
    if mode == "pixelate":
        cells = max(4, min(h, w) // 12)
        small = cv2.resize(region, (max(1, w // cells), max(1, h // cells)), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    k = max(3, (min(h, w) // 3) | 1)
    return cv2.GaussianBlur(region, (k, k), 0)


def redact_faces(rgb: np.ndarray, boxes: list[Box], mode: str = "blur", margin: float = 0.15) -> np.ndarray:
    """A copy of ``rgb`` with every box (grown by ``margin``) blurred or pixelated, inside an ellipse."""
    if mode not in ("blur", "pixelate"):
        raise ValueError(f"unknown redaction mode {mode!r} (use blur or pixelate)")
    out = rgb.copy()
    H, W = rgb.shape[:2]
    for b in boxes:
        mx, my = b.w * margin, b.h * margin
        x0, y0 = int(max(b.x - mx, 0)), int(max(b.y - my * 2, 0))
        x1, y1 = int(min(b.x + b.w + mx, W)), int(min(b.y + b.h + my, H))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        region = out[y0:y1, x0:x1]
        mask = np.zeros(region.shape[:2], np.uint8)
        cv2.ellipse(mask, ((x1 - x0) // 2, (y1 - y0) // 2), ((x1 - x0) // 2, (y1 - y0) // 2), 0, 0, 360, 255, -1)
        redacted = _redact(region, mode)
        region[mask > 0] = redacted[mask > 0]
    return out


def save_image(img: Image.Image | np.ndarray, stem: Path, like: str | None = None) -> Path:
    """Save to ``stem`` + ``.jpg`` if the original was JPEG (quality 92), else ``.png``."""
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    stem.parent.mkdir(parents=True, exist_ok=True)
    if like == "image/jpeg":
        path = stem.parent / (stem.name + ".jpg")
        img.convert("RGB").save(path, quality=92)
    else:
        path = stem.parent / (stem.name + ".png")
        img.save(path)
    return path
