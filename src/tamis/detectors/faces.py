"""Faces: detection with landmarks (MediaPipe), and only the attributes tamis allows.

Detection uses MediaPipe's full-range BlazeFace model (run by ONNX Runtime, see
:mod:`tamis.detectors.facenets`); each face is then meshed
(478 points with irises) on its own crop, and the attributes ``eyes_open``,
``smiling`` and ``glasses`` come from geometric and image features of that mesh,
mapped to probabilities by small logistic models calibrated on a labelled face set
(see eval/faces and docs/MODELS.md). An attribute whose calibration did not reach
the accuracy floor is reported as unknown, and so is one whose probability is too
close to 0.5 to call. Nothing else is computed about a face.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import numpy as np

from tamis.content.base import Content
from tamis.detectors.base import Detector, Output
from tamis.detectors.models import ModelFile
from tamis.results import Box, Face, FaceAttribute
from tamis.taxonomy import FACE_ATTRIBUTES

# MediaPipe 0.10.21's networks (Apache-2.0, weights unchanged), converted to ONNX once by
# scripts/convert_face_models.py and shipped in tamis/detectors/face_models/ (see its NOTICE).
_MP = dict(distribution="tamis", module="tamis.detectors", licence_code="Apache-2.0",
           licence_weights="Apache-2.0 (MediaPipe 0.10.21)")
FACE_DETECTION_FULL = ModelFile(
    name="blazeface_full_range", relpath="face_models/blazeface_full_range.onnx",
    sha256="533adbf0852ac12a9df50e7c450d3f4672bdd1422bb8feace77a4b45aea17fc3",
    detects="face boxes and 6 keypoints", **_MP)
FACE_DETECTION_SHORT = ModelFile(
    name="blazeface_short_range", relpath="face_models/blazeface_short_range.onnx",
    sha256="5823d9aba2abcfdebd3e22a870f4c2fd2ea5f1e4041d0c3472c019e6ec017d47",
    detects="faces that fill the picture; the face in a mesh crop", **_MP)
FACE_MESH_STEPS = ModelFile(
    name="face_mesh_attention (steps)", relpath="face_models/face_mesh_attention.json",
    sha256="e323a635e04214954b0115f767ac7791c91ba953f6f6d92d2fa836e4fc6f20f0",
    detects="how the mesh network's segments and custom operations run", **_MP)
FACE_MESH = tuple(ModelFile(
    name=f"face_mesh_attention.{i}", relpath=f"face_models/face_mesh_attention.{i}.onnx", sha256=digest,
    detects="478 face-mesh points with irises (for eyes_open, smiling, glasses)", **_MP)
    for i, digest in enumerate(("3220521f3b40b1312fb2e46bc68618b61261aa37fb0def504a38e7e1aa030d10",
                                "ca850d88edf8e895610c2979655244c3f4e759a291286e29068ee3fefe7114b6",
                                "150cfb81d6089bb9090577849a5f1561f0c7196aaa2407476f291d823d26c44d")))

KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear", "left_ear")

# Face-mesh indices (MediaPipe canonical face model).
_EYE_R = (33, 133, ((160, 144), (159, 145), (158, 153)))
_EYE_L = (362, 263, ((385, 380), (386, 374), (387, 373)))
_MOUTH_CORNERS = (61, 291)
_LIP_MID = (13, 14)
_FACE_SIDES = (234, 454)
_NOSE_BRIDGE = 168
_IRISES = (468, 473)
_CHEEKS = (205, 425)


@dataclass(frozen=True)
class AttributeModel:
    """A logistic model over named features, with its measured accuracy."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    reliable: bool
    abstain: float  # |p - 0.5| below this is reported as unknown

    def probability(self, feats: dict[str, float]) -> float:
        z = self.bias + sum(w * feats[f] for f, w in zip(self.features, self.weights))
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


def load_attribute_models() -> dict[str, AttributeModel]:
    raw = json.loads(resources.files("tamis.detectors").joinpath("face_attributes.json").read_text())
    return {name: AttributeModel(tuple(m["features"]), tuple(m["weights"]), float(m["bias"]),
                                 bool(m["reliable"]), float(m.get("abstain", 0.1)))
            for name, m in raw["attributes"].items()}


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def _ear(p: np.ndarray, eye) -> float:
    outer, inner, pairs = eye
    width = _dist(p[outer], p[inner]) or 1e-6
    return sum(_dist(p[a], p[b]) for a, b in pairs) / (len(pairs) * width)


def _patch(gray: np.ndarray, cx: float, cy: float, half_w: float, half_h: float) -> np.ndarray:
    h, w = gray.shape
    x0, x1 = int(max(cx - half_w, 0)), int(min(cx + half_w, w))
    y0, y1 = int(max(cy - half_h, 0)), int(min(cy + half_h, h))
    return gray[y0:y1, x0:x1]


# Roll- and scale-normalised eye band for the glasses cues: the outer eye corners are
# mapped to (_CAN_CX -/+ _CAN_IOD / 2, _CAN_CY), so 1 inter-ocular distance = 64 px.
_CAN_IOD, _CAN_W, _CAN_H, _CAN_CX, _CAN_CY = 64.0, 112, 80, 56.0, 28.0


def _win(img: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    h, w = img.shape[:2]
    ya, yb = int(min(max(y0, 0), h)), int(min(max(y1, 0), h))
    xa, xb = int(min(max(x0, 0), w)), int(min(max(x1, 0), w))
    return img[ya:yb, xa:xb]


def _glasses_cues(p: np.ndarray, gray: np.ndarray) -> dict[str, float]:
    """Spectacle cues measured on an eye band rotated level and scaled to a fixed size.

    ``bridge_line``: the strongest horizontal edge line across the nose bridge between the
    eyes (a frame's bridge), above the median of that strip; ``rim_edges``: the same for a
    line 0.15-0.45 inter-ocular distances below each iris (the lower rim of a frame);
    ``lens_darkness``: cheeks minus the lens area around the irises (sunglasses). All are
    divided by the contrast of the eye band.
    """
    import cv2

    a, b = p[_EYE_R[0]], p[_EYE_L[1]]
    iod = _dist(a, b) or 1e-6
    ang = math.atan2(b[1] - a[1], b[0] - a[0])
    s = _CAN_IOD / iod
    c, sn = math.cos(-ang) * s, math.sin(-ang) * s
    mid = (a + b) / 2
    m = np.array([[c, -sn, _CAN_CX - (c * mid[0] - sn * mid[1])],
                  [sn, c, _CAN_CY - (sn * mid[0] + c * mid[1])]], np.float32)
    img = cv2.warpAffine(gray, m, (_CAN_W, _CAN_H), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    q = p @ m[:, :2].T.astype(np.float64) + m[:, 2]
    gy = np.abs(cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3))
    band = _win(img, _CAN_CX - 40, _CAN_CX + 40, _CAN_CY - 10, _CAN_CY + 40)
    contrast = float(band.std()) + 8.0 if band.size else 8.0

    def line(strip: np.ndarray) -> float:
        if strip.size == 0:
            return 0.0
        prof = strip.mean(axis=1)
        return float(prof.max() - np.median(prof))

    bx = q[_NOSE_BRIDGE][0]
    bridge = line(_win(gy, bx - 5, bx + 5, _CAN_CY - 14, _CAN_CY + 12))
    rims = [line(_win(gy, q[i][0] - 13, q[i][0] + 13, q[i][1] + 10, q[i][1] + 30)) for i in _IRISES]
    lens = [_win(img, q[i][0] - 14, q[i][0] + 14, q[i][1] - 8, q[i][1] + 10) for i in _IRISES]
    cheek = [_win(img, q[i][0] - 8, q[i][0] + 8, q[i][1] - 6, q[i][1] + 6) for i in _CHEEKS]
    lens_lum = [x.mean() for x in lens if x.size]
    cheek_lum = [x.mean() for x in cheek if x.size]
    dark = float(np.mean(cheek_lum) - np.mean(lens_lum)) if lens_lum and cheek_lum else 0.0
    return {"bridge_line": bridge / contrast, "rim_edges": float(np.mean(rims)) / contrast,
            "lens_darkness": dark / contrast}


def mesh_features(points: np.ndarray, gray: np.ndarray) -> dict[str, float]:
    """Features of one face from its mesh (pixel coordinates in ``gray``)."""
    import cv2

    p = points[:, :2]
    iod = _dist(p[_EYE_R[0]], p[_EYE_L[1]]) or 1e-6  # outer eye corners
    # Roll-normalised coordinates: rotate so the eyes are level.
    dx, dy = p[_EYE_L[1]] - p[_EYE_R[0]]
    angle = math.atan2(dy, dx)
    rot = np.array([[math.cos(-angle), -math.sin(-angle)], [math.sin(-angle), math.cos(-angle)]])
    q = (p - p[_NOSE_BRIDGE]) @ rot.T / iod

    ear_r, ear_l = _ear(p, _EYE_R), _ear(p, _EYE_L)
    mouth_w = _dist(p[_MOUTH_CORNERS[0]], p[_MOUTH_CORNERS[1]]) / iod
    lip_mid_y = (q[_LIP_MID[0], 1] + q[_LIP_MID[1], 1]) / 2
    corner_y = (q[_MOUTH_CORNERS[0], 1] + q[_MOUTH_CORNERS[1], 1]) / 2
    mouth_open = _dist(p[_LIP_MID[0]], p[_LIP_MID[1]]) / iod

    # Glasses: frame edges across the nose bridge and darkness of the eye region
    # (more cues, on a levelled eye band, in _glasses_cues).
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    bx, by = p[_NOSE_BRIDGE]
    bridge = np.abs(_patch(gy, bx, by, 0.08 * iod, 0.12 * iod))
    face = _patch(gray, *((p[_FACE_SIDES[0]] + p[_FACE_SIDES[1]]) / 2), 0.5 * iod, 0.6 * iod)
    contrast = float(face.std()) + 8.0 if face.size else 8.0
    eyes = [_patch(gray, *p[i], 0.12 * iod, 0.08 * iod) for i in _IRISES]
    cheeks = [_patch(gray, *p[i], 0.12 * iod, 0.08 * iod) for i in _CHEEKS]
    eye_lum = float(np.mean([e.mean() for e in eyes if e.size])) if any(e.size for e in eyes) else 0.0
    cheek_lum = float(np.mean([c.mean() for c in cheeks if c.size])) if any(c.size for c in cheeks) else 1.0
    return {
        "ear_min": min(ear_r, ear_l),
        "ear_mean": (ear_r + ear_l) / 2,
        "mouth_width": mouth_w,
        "corner_lift": float(lip_mid_y - corner_y),
        "mouth_open": mouth_open,
        "bridge_edges": float(bridge.mean()) / contrast if bridge.size else 0.0,
        "eye_darkness": (cheek_lum - eye_lum) / contrast,
        **_glasses_cues(p, gray),
    }


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def _non_max_suppression(candidates: list, overlap: float = 0.3) -> list:
    """Keep the best-scoring of (score, box, ...) candidates that overlap each other."""
    kept: list = []
    for cand in sorted(candidates, key=lambda c: -c[0]):
        if all(_iou(cand[1], k[1]) < overlap for k in kept):
            kept.append(cand)
    return kept


class FaceDetector(Detector):
    name = "faces"
    version = "blazeface-full+short+mesh-attention-mediapipe-0.10.21-onnx"
    labels = frozenset()
    models = (FACE_DETECTION_FULL, FACE_DETECTION_SHORT, FACE_MESH_STEPS, *FACE_MESH)
    description = "face boxes, keypoints and eyes_open / smiling / glasses"
    min_confidence = 0.5
    max_faces = 32

    def __init__(self, threads: int = 0, attributes: Iterable[str] | None = None) -> None:
        super().__init__(threads)
        #: The attributes to compute; with none, faces are not meshed at all (e.g. to blur them).
        self.wanted = frozenset(FACE_ATTRIBUTES if attributes is None else attributes)

    def _load(self) -> None:
        from tamis.detectors import facenets

        # The full-range model misses faces that fill the picture (profile photos, tight
        # crops); the short-range model finds those. Thresholds: what MediaPipe's graphs
        # really use (0.6 and 0.5; their options' min_detection_confidence is ignored).
        self._detector = facenets.BlazeFace(self.onnx_session(FACE_DETECTION_FULL), facenets.FULL_RANGE)
        self._close_detector = facenets.BlazeFace(self.onnx_session(FACE_DETECTION_SHORT), facenets.SHORT_RANGE)
        steps = json.loads(FACE_MESH_STEPS.path().read_text())
        network = facenets.SegmentedNetwork(steps, {i: self.onnx_session(m) for i, m in enumerate(FACE_MESH)})
        # The mesh graph's own face detector (short range) at its min_detection_confidence 0.3.
        crop_detector = facenets.BlazeFace(self.onnx_session(FACE_DETECTION_SHORT), facenets.SHORT_RANGE, 0.3)
        self._mesh = facenets.FaceMesh(crop_detector, network, steps["refinement"])
        self.attribute_models = load_attribute_models()

    def analyze_one(self, content: Content) -> Output:
        out = Output()
        multi = getattr(content, "frame_count", 1) > 1
        for frame in content.frames:
            for face in self.detect(frame.rgb):
                if multi:
                    face = Face(face.box, face.score, face.landmarks, face.attributes, frame=frame.index)
                out.faces.append(face)
        return out

    def detect(self, rgb: np.ndarray) -> list[Face]:
        h, w = rgb.shape[:2]
        candidates = []
        for detector in (self._detector, self._close_detector):
            for det in detector.detect(rgb):
                x, y, bw, bh = det.box
                box = Box(x * w, y * h, bw * w, bh * h).clip(w, h)
                if box.w < 2 or box.h < 2:
                    continue
                marks = {name: (float(kx * w), float(ky * h)) for name, (kx, ky) in zip(KEYPOINTS, det.keypoints)}
                candidates.append((float(min(max(det.score, 0.0), 1.0)), box, marks))
        faces = []
        for score, box, marks in _non_max_suppression(candidates)[: self.max_faces]:
            faces.append(Face(box=box, score=score, landmarks=marks, attributes=self.attributes(rgb, box)))
        faces.sort(key=lambda f: f.box.x)
        return faces

    def mesh(self, rgb: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray] | None:
        """Mesh points (pixel coordinates of the returned grey crop) for the face in ``box``."""
        import cv2

        h, w = rgb.shape[:2]
        side = max(box.w, box.h) * 1.6
        cx, cy = box.x + box.w / 2, box.y + box.h / 2
        x0, y0 = int(max(cx - side / 2, 0)), int(max(cy - side / 2, 0))
        x1, y1 = int(min(cx + side / 2, w)), int(min(cy + side / 2, h))
        crop = rgb[y0:y1, x0:x1]
        if crop.shape[0] < 16 or crop.shape[1] < 16:
            return None
        # The mesh graph wants a square input: pad a crop cut short by the image border.
        ch, cw = crop.shape[:2]
        if ch != cw:
            crop = cv2.copyMakeBorder(crop, 0, max(cw - ch, 0), 0, max(ch - cw, 0), cv2.BORDER_CONSTANT)
        scale = 256.0 / max(crop.shape[:2])
        crop = cv2.resize(crop, None, fx=scale, fy=scale,
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        rel = self._mesh(np.ascontiguousarray(crop))
        if rel is None:
            return None
        ch, cw = crop.shape[:2]
        pts = rel * np.array([cw, ch, cw])
        return pts, cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)

    def features(self, rgb: np.ndarray, box: Box) -> dict[str, float] | None:
        meshed = self.mesh(rgb, box)
        if meshed is None:
            return None
        return mesh_features(*meshed)

    def attributes(self, rgb: np.ndarray, box: Box) -> dict[str, FaceAttribute]:
        models = {n: m for n, m in self.attribute_models.items() if n in self.wanted}
        feats = self.features(rgb, box) if any(m.reliable for m in models.values()) else None
        out = {}
        for name, model in models.items():
            if feats is None or not model.reliable:
                out[name] = FaceAttribute(None, 0.0)
                continue
            p = model.probability(feats)
            confidence = abs(p - 0.5) * 2
            value = None if abs(p - 0.5) < model.abstain else p >= 0.5
            out[name] = FaceAttribute(value, confidence)
        return out
