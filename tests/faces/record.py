"""Record what the face detector gives on the reference pictures (tests/faces/pictures.py).

Run with the detector you trust (it was MediaPipe 0.10.21 itself, before tamis dropped it):
    .venv/bin/python tests/faces/record.py tests/data/faces_reference.json [--extra DIR]
``--extra DIR`` also records every picture of DIR (the 54 pictures of eval/faces,
fetched by eval/faces/fetch_faces.sh) without mesh points, for a one-off comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pictures import reference_pictures  # noqa: E402


def describe(det, rgb: np.ndarray, mesh: bool = True) -> list[dict]:
    out = []
    for face in det.detect(rgb):
        entry = {"box": face.box.to_list(), "score": face.score,
                 "landmarks": {k: list(v) for k, v in face.landmarks.items()},
                 "attributes": {k: [a.value, a.confidence] for k, a in face.attributes.items()}}
        if mesh:
            meshed = det.mesh(rgb, face.box)
            entry["mesh"] = None if meshed is None else np.round(meshed[0], 4).tolist()
        out.append(entry)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--extra", type=Path)
    args = ap.parse_args()
    from tamis.detectors.faces import FaceDetector

    det = FaceDetector()
    det.load()
    record = {"detector": det.version, "pictures": {}}
    for name, rgb in reference_pictures():
        record["pictures"][name] = describe(det, rgb)
    if args.extra:
        for path in sorted(args.extra.iterdir()):
            if path.suffix.lower() in (".jpg", ".jpeg", ".png"):
                rgb = np.asarray(Image.open(path).convert("RGB"))
                record["pictures"][f"extra/{path.name}"] = describe(det, rgb, mesh=False)
    args.out.write_text(json.dumps(record))
    print(f"{args.out}: {sum(len(v) for v in record['pictures'].values())} faces in {len(record['pictures'])} pictures")


if __name__ == "__main__":
    main()
