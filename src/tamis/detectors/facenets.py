"""MediaPipe's face networks (BlazeFace full and short range, Face Mesh with attention),
run by ONNX Runtime, with the pre- and post-processing of MediaPipe 0.10.21's legacy
``face_detection`` and ``face_mesh`` graphs written in numpy.

The networks are MediaPipe's own (Apache-2.0), converted once to ONNX by
``scripts/convert_face_models.py`` and shipped in ``tamis/detectors/face_models/``; the
mesh network's three MediaPipe custom operations (which ONNX has not) run here between
its three converted segments. The constants below were read from the graphs inside the
mediapipe 0.10.21 wheel; ``tests/test_faces_port.py`` holds the results to MediaPipe's,
recorded before it was dropped (boxes within 0.01 px, mesh points within 0.05 px).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np

# -- detection ---------------------------------------------------------------------------------


def ssd_anchors(size: int, strides: list[int], interpolated: float) -> np.ndarray:
    """MediaPipe's SsdAnchorsCalculator with a fixed anchor size, aspect ratio 1 and offsets
    0.5: the centre (x, y) of every anchor, in the order of the network's outputs."""
    out = []
    i = 0
    while i < len(strides):
        j, per_cell = i, 0
        while j < len(strides) and strides[j] == strides[i]:
            per_cell += 1 + (1 if interpolated > 0 else 0)
            j += 1
        cells = math.ceil(size / strides[i])
        for y in range(cells):
            for x in range(cells):
                out += [((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell
        i = j
    return np.array(out, np.float32)


@dataclass(frozen=True)
class DetectorConfig:
    size: int  # input side, pixels
    strides: tuple[int, ...]
    interpolated: float  # interpolated_scale_aspect_ratio: an extra anchor per cell when > 0
    min_score: float  # the graph's own threshold (its options ignore min_detection_confidence)


FULL_RANGE = DetectorConfig(192, (4,), 0.0, 0.6)
SHORT_RANGE = DetectorConfig(128, (8, 16, 16, 16), 1.0, 0.5)
#: Minimum IoU for two raw detections to be blended into one (weighted NMS).
NMS_IOU = 0.3


@dataclass
class Detection:
    score: float
    box: tuple[float, float, float, float]  # x, y, w, h, relative to the image
    keypoints: np.ndarray  # 6 x 2, relative: right eye, left eye, nose tip, mouth, right ear, left ear


def warp_rect(rgb: np.ndarray, cx: float, cy: float, w: float, h: float, rotation: float,
              out_w: int, out_h: int, replicate: bool) -> np.ndarray:
    """MediaPipe's ImageToTensorCalculator (OpenCV path): the rotated rectangle (centre,
    size, rotation in radians, in pixels) resampled to ``out_w`` x ``out_h``."""
    import cv2

    corners = cv2.boxPoints(((cx, cy), (w, h), rotation * 180.0 / math.pi)).astype(np.float32)
    target = np.array([[0, out_h], [0, 0], [out_w, 0], [out_w, out_h]], np.float32)
    m = cv2.getPerspectiveTransform(corners, target)
    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
    return cv2.warpPerspective(rgb, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=border,
                               borderValue=(0, 0, 0))


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = ix * iy
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = (box[2] - box[0]) * (box[3] - box[1]) + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU):
    """MediaPipe's NonMaxSuppressionCalculator, WEIGHTED: every box overlapping the best one
    by more than ``iou`` is blended into it (corners and keypoints averaged by score); the
    best score is kept. Returns (score, box corners, keypoints) tuples, best first."""
    order = np.argsort(-scores, kind="stable")
    out = []
    while order.size:
        top = order[0]
        similar = _iou(boxes[top], boxes[order]) > iou
        group, rest = order[similar], order[~similar]
        if group.size:
            weights = scores[group][:, None]
            total = weights.sum()
            box = (boxes[group] * weights).sum(0) / total
            kps = (keypoints[group] * weights[:, :, None]).sum(0) / total
        else:
            box, kps = boxes[top], keypoints[top]
        out.append((float(scores[top]), box, kps))
        if rest.size == order.size:
            break
        order = rest
    return out


class BlazeFace:
    """One BlazeFace network: ``detect(rgb)`` gives the faces of an RGB uint8 picture."""

    def __init__(self, session, config: DetectorConfig, min_score: float | None = None) -> None:
        self.session, self.config = session, config
        self.anchors = ssd_anchors(config.size, list(config.strides), config.interpolated)
        self.input = session.get_inputs()[0].name
        self.min_score = config.min_score if min_score is None else min_score

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        size = self.config.size
        side = float(max(w, h))  # letterboxed: a centred square, zero border
        tensor = warp_rect(rgb, w / 2, h / 2, side, side, 0.0, size, size, replicate=False)
        x = tensor.astype(np.float32) * (2.0 / 255.0) - 1.0
        outputs = self.session.run(None, {self.input: x[None]})
        raw = next(o for o in outputs if o.shape[-1] == 16)[0]
        logits = next(o for o in outputs if o.shape[-1] == 1)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100.0, 100.0)))
        keep = np.nonzero(scores >= self.min_score)[0]
        a, r = self.anchors[keep], raw[keep]
        cx, cy = r[:, 0] / size + a[:, 0], r[:, 1] / size + a[:, 1]
        bw, bh = r[:, 2] / size, r[:, 3] / size
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
        kps = r[:, 4:16].reshape(-1, 6, 2) / size + a[:, None, :]
        ox, oy = (w - side) / 2, (h - side) / 2  # from the letterbox back to the picture
        found = []
        for score, b, k in weighted_nms(boxes, kps, scores[keep]):
            bx = (b[[0, 2]] * side + ox) / w
            by = (b[[1, 3]] * side + oy) / h
            k = np.stack([(k[:, 0] * side + ox) / w, (k[:, 1] * side + oy) / h], 1)
            found.append(Detection(score, (float(bx[0]), float(by[0]), float(bx[1] - bx[0]), float(by[1] - by[0])), k))
        return found


# -- the mesh network's custom operations (mediapipe/util/tflite/operations, v2) -------------------

def _rot3(r: float) -> np.ndarray:
    c, s = math.cos(r), math.sin(r)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], np.float64)


def landmarks_to_matrix(o: dict, landmarks: np.ndarray) -> np.ndarray:
    """Landmarks2TransformMatrix: the 4x4 matrix of a rotated box around a landmark subset."""
    p = landmarks.reshape(-1, 3).astype(np.float64)
    left, right = p[o["left_rotation_idx"]], p[o["right_rotation_idx"]]
    rot = o.get("target_rotation_radians", 0.0) - math.atan2(right[1] - left[1], right[0] - left[0])
    idx = np.array(o["subset_idxs"], np.int64)
    q = np.concatenate([p[idx, :2], np.ones((idx.size, 1))], 1) @ _rot3(rot).T
    hi, lo = q.max(0), q.min(0)
    centre = _rot3(-rot) @ np.array([(hi[0] + lo[0]) / 2, (hi[1] + lo[1]) / 2, 1.0])
    ow, oh = o["output_width"], o["output_height"]
    rotate = np.eye(4)
    rotate[:2, :2] = _rot3(-rot)[:2, :2]
    shift = np.eye(4)
    shift[0, 3], shift[1, 3] = centre[0], centre[1]
    scale = np.eye(4)
    scale[0, 0], scale[1, 1] = o["scale_x"] * (hi[0] - lo[0]) / ow, o["scale_y"] * (hi[1] - lo[1]) / oh
    unshift = np.eye(4)
    unshift[0, 3], unshift[1, 3] = -ow / 2.0, -oh / 2.0
    return (shift @ rotate @ scale @ unshift).reshape(1, 4, 4)


def transform_tensor_bilinear(o: dict, x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """TransformTensorBilinear: resample a feature map through a matrix (zero outside)."""
    _, h, w, _ = x.shape
    oh, ow = o["output_height"], o["output_width"]
    m = matrix.reshape(4, 4).astype(np.float64)
    xt, yt = m[0].copy(), m[1].copy()
    xt[3] += xt[0] * 0.5 + xt[1] * 0.5 - 0.5
    yt[3] += yt[0] * 0.5 + yt[1] * 0.5 - 0.5
    oy, ox = np.mgrid[0:oh, 0:ow].astype(np.float64)
    tx = xt[0] * ox + xt[1] * oy + xt[3]
    ty = yt[0] * ox + yt[1] * oy + yt[3]
    outside = (tx < 0) | (tx > w - 1) | (ty < 0) | (ty > h - 1)
    fx, fy = np.floor(tx), np.floor(ty)
    rx, ry = (tx - fx)[..., None], (ty - fy)[..., None]
    img = x[0].astype(np.float64)

    def read(yy, xx):
        yi, xi = yy.astype(np.int64), xx.astype(np.int64)
        ok = (yi >= 0) & (xi >= 0) & (yi < h) & (xi < w)
        return np.where(ok[..., None], img[np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)], 0.0)

    top = (1 - rx) * read(fy, fx) + rx * read(fy, fx + 1)
    bottom = (1 - rx) * read(fy + 1, fx) + rx * read(fy + 1, fx + 1)
    out = ry * bottom + (1 - ry) * top
    out[outside] = 0.0
    return out[None]


def transform_landmarks(o: dict, landmarks: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """TransformLandmarks: landmarks (x, y) through a matrix; z unchanged."""
    m = matrix.reshape(4, 4).astype(np.float64)
    p = landmarks[0].astype(np.float64)
    out = p.copy()
    out[:, 0] = m[0, 0] * p[:, 0] + m[0, 1] * p[:, 1] + m[0, 3]
    out[:, 1] = m[1, 0] * p[:, 0] + m[1, 1] * p[:, 1] + m[1, 3]
    return out[None]


CUSTOM_OPS = {"Landmarks2TransformMatrix": landmarks_to_matrix,
              "TransformTensorBilinear": transform_tensor_bilinear,
              "TransformLandmarks": transform_landmarks}


class SegmentedNetwork:
    """A network cut around its custom operations: ONNX segments, and the custom
    operations run in numpy between them, as listed in its steps file."""

    def __init__(self, steps: dict, sessions: dict[int, object]) -> None:
        self.steps, self.sessions = steps, sessions

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        env = {self.steps["input"]: x}
        for step in self.steps["steps"]:
            if "segment" in step:
                feeds = {n: np.ascontiguousarray(env[n], np.float32) for n in step["inputs"]}
                env.update(zip(step["outputs"], self.sessions[step["segment"]].run(step["outputs"], feeds)))
            else:
                op = CUSTOM_OPS[step["custom"]]
                env[step["outputs"][0]] = op(step["options"], *[env[n] for n in step["inputs"]]).astype(np.float32)
        return [env[n] for n in self.steps["outputs"]]


# -- the mesh ----------------------------------------------------------------------------------

MESH_SIZE = 192
#: The face mesh's region: the detection box made square on its long side, times 1.5.
MESH_ROI_SCALE = 1.5


class FaceMesh:
    """MediaPipe's FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True):
    the short-range detector on the picture, the mesh network on the rotated box of the best
    face. ``__call__`` gives 478 points (x, y relative to the picture, z in the same scale as
    x) or None."""

    def __init__(self, detector: BlazeFace, network: SegmentedNetwork, refinement: list[dict],
                 min_presence: float = 0.5) -> None:
        self.detector, self.network, self.refinement = detector, network, refinement
        self.min_presence = min_presence

    @staticmethod
    def region(d: Detection, w: int, h: int) -> tuple[float, float, float, float, float]:
        x, y, bw, bh = d.box
        (x0, y0), (x1, y1) = d.keypoints[0], d.keypoints[1]
        rot = -math.atan2(-(y1 - y0) * h, (x1 - x0) * w)  # the eyes level
        rot -= 2 * math.pi * math.floor((rot + math.pi) / (2 * math.pi))
        long_side = max(bw * w, bh * h)
        return x + bw / 2, y + bh / 2, long_side / w * MESH_ROI_SCALE, long_side / h * MESH_ROI_SCALE, rot

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        h, w = rgb.shape[:2]
        found = self.detector.detect(rgb)
        if not found:
            return None
        xc, yc, rw, rh, rot = self.region(found[0], w, h)
        crop = warp_rect(rgb, xc * w, yc * h, rw * w, rh * h, rot, MESH_SIZE, MESH_SIZE, replicate=True)
        outputs = self.network((crop.astype(np.float32) / 255.0)[None])
        presence = 1.0 / (1.0 + math.exp(-float(outputs[6].ravel()[0])))
        if not presence > self.min_presence:
            return None
        pts = np.zeros((478, 3))
        pts[:468] = outputs[0].reshape(-1, 3) / MESH_SIZE
        for k, r in enumerate(self.refinement):  # lips, eyes and irises refine the mesh
            mapping = r["indexes"]
            arr = outputs[k].reshape(len(mapping), -1) / MESH_SIZE
            pts[mapping, :2] = arr[:, :2]
            if r["z"] == "copy":
                pts[mapping, 2] = arr[:, 2]
            elif r["z"] == "average":
                pts[mapping, 2] = pts[r["z_from"], 2].mean()
        c, s = math.cos(rot), math.sin(rot)
        px, py = pts[:, 0] - 0.5, pts[:, 1] - 0.5
        out = np.empty_like(pts)
        out[:, 0] = (c * px - s * py) * rw + xc
        out[:, 1] = (s * px + c * py) * rh + yc
        out[:, 2] = pts[:, 2] * rw
        return out


def model_dir():
    return resources.files("tamis.detectors").joinpath("face_models")


def load_steps(name: str) -> dict:
    return json.loads(model_dir().joinpath(name).read_text())
