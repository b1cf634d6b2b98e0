"""Nudity regions with boxes (NudeNet 320n). Optional extra: its licence is AGPL-3.0.

NudeNet also has FACE_FEMALE / FACE_MALE classes. Those infer gender, which tamis never
does: their columns are removed from the model output before anything else looks at it.
"""

from __future__ import annotations

import numpy as np

from tamis.content.base import Content
from tamis.detectors.base import Detector, Output
from tamis.detectors.models import ModelFile
from tamis.results import Box, Finding, Location

NUDENET = ModelFile(
    name="nudenet_320n",
    distribution="nudenet",
    module="nudenet",
    relpath="320n.onnx",
    sha256="c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f",
    licence_code="AGPL-3.0 (bundled LICENSE; package metadata says MIT)",
    licence_weights="AGPL-3.0",
    detects="exposed / covered body parts with boxes",
    optional_extra="nudity",
)

#: The model's classes in output order. None marks a class tamis drops (gender inference).
CLASSES: tuple[str | None, ...] = (
    "FEMALE_GENITALIA_COVERED", None, "BUTTOCKS_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED", "MALE_BREAST_EXPOSED", "ANUS_EXPOSED", "FEET_EXPOSED",
    "BELLY_COVERED", "FEET_COVERED", "ARMPITS_COVERED", "ARMPITS_EXPOSED", None,
    "BELLY_EXPOSED", "MALE_GENITALIA_EXPOSED", "ANUS_COVERED", "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)
KEPT = np.array([i for i, c in enumerate(CLASSES) if c is not None])

#: Body-part classes mapped to the taxonomy. Parts not listed (feet, belly, armpits,
#: covered parts other than below) are not sexual content by themselves.
TO_LABEL = {
    "FEMALE_GENITALIA_EXPOSED": "sexual/explicit",
    "MALE_GENITALIA_EXPOSED": "sexual/explicit",
    "ANUS_EXPOSED": "sexual/explicit",
    "FEMALE_BREAST_EXPOSED": "sexual/suggestive",
    "BUTTOCKS_EXPOSED": "sexual/suggestive",
    "FEMALE_GENITALIA_COVERED": "sexual/suggestive",
    "FEMALE_BREAST_COVERED": "sexual/suggestive",
    "BUTTOCKS_COVERED": "sexual/suggestive",
}
#: Covered parts are weak evidence of suggestive content: their scores are scaled down.
COVERED_WEIGHT = 0.6
MIN_SCORE = 0.25
SIZE = 320


class NudityDetector(Detector):
    heavy = True
    name = "nudity"
    version = "nudenet-320n-3.4.2"
    labels = frozenset({"sexual/explicit", "sexual/suggestive"})
    models = (NUDENET,)
    default = False
    description = "nudity regions with boxes (NudeNet, AGPL-3.0 optional extra)"

    def _load(self) -> None:
        self.session = self.onnx_session(NUDENET)
        self.input_name = self.session.get_inputs()[0].name

    def analyze_one(self, content: Content) -> Output:
        out = Output()
        multi = getattr(content, "frame_count", 1) > 1
        for frame in content.frames:
            for cls, score, box in self.detect(frame.bgr()):
                label = TO_LABEL.get(cls)
                if label is None:
                    continue
                if cls.endswith("_COVERED"):
                    score *= COVERED_WEIGHT
                out.findings.append(Finding(
                    label, float(score), self.name, self.version,
                    Location(box=box.clip(frame.width, frame.height),
                             frame=frame.index if multi else None),
                    explanation=cls.lower().replace("_", " "), data={"part": cls.lower()}))
        return out

    def detect(self, bgr: np.ndarray) -> list[tuple[str, float, Box]]:
        import cv2

        h, w = bgr.shape[:2]
        side = max(h, w)
        padded = cv2.copyMakeBorder(bgr, 0, side - h, 0, side - w, cv2.BORDER_CONSTANT)
        blob = cv2.dnn.blobFromImage(padded, 1 / 255.0, (SIZE, SIZE), (0, 0, 0), swapRB=True, crop=False)
        raw = self.session.run(None, {self.input_name: blob})[0]
        rows = np.squeeze(raw).T  # (anchors, 4 + classes)
        scores_all = rows[:, 4:][:, KEPT]  # gender classes dropped here, before any use
        best = scores_all.argmax(axis=1)
        scores = scores_all[np.arange(len(rows)), best]
        keep = scores >= MIN_SCORE
        if not keep.any():
            return []
        rows, best, scores = rows[keep], best[keep], scores[keep]
        scale = side / SIZE
        cx, cy, bw, bh = (rows[:, i] * scale for i in range(4))
        boxes = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], axis=1)
        idx = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), MIN_SCORE, 0.45)
        out = []
        for i in np.array(idx).reshape(-1):
            x, y, bw_, bh_ = boxes[i]
            out.append((CLASSES[KEPT[best[i]]], float(scores[i]), Box(float(x), float(y), float(bw_), float(bh_))))
        return out
