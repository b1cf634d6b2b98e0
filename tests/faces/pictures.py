"""The pictures the face detector is held to: the faces committed to the repository, and
copies of them turned, shrunk, widened and put side by side (what the mesh's region,
the letterbox and the two detectors must all get right)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "eval/faces/images/skimage__astronaut.png", ROOT / "eval/faces/images/matplotlib__grace_hopper.jpg",
         ROOT / "eval/faces/images/face_recognition__obama.jpg", ROOT / "samples/images/astronaut_portrait.jpg",
         ROOT / "samples/images/coffee.jpg"]


def reference_pictures() -> Iterator[tuple[str, np.ndarray]]:
    for path in FILES:
        img = Image.open(path).convert("RGB")
        yield path.name, np.asarray(img)
    base = Image.open(FILES[0]).convert("RGB")
    for angle in (25, -40):
        yield f"astronaut rotated {angle}", np.asarray(base.rotate(angle, resample=Image.Resampling.BILINEAR))
    yield "astronaut small", np.asarray(base.resize((160, 160), Image.Resampling.BILINEAR))
    wide = Image.new("RGB", (base.width * 3, base.height), (120, 120, 120))
    wide.paste(base, (base.width, 0))
    yield "astronaut wide", np.asarray(wide)
    other = Image.open(FILES[2]).convert("RGB").resize(base.size)
    pair = Image.new("RGB", (base.width * 2, base.height))
    pair.paste(base, (0, 0))
    pair.paste(other, (base.width, 0))
    yield "two faces", np.asarray(pair)
