"""The engine: routing, shared work, error isolation, the contract, and the Python API."""

from __future__ import annotations

import pytest

import tamis
from conftest import png_bytes
from tamis.config import Settings
from tamis.detectors.base import Detector, Output
from tamis.engine import Engine
from tamis.errors import ConfigError, TamisError
from tamis.results import Box, Finding, Location


class Exploding(Detector):
    name, version, labels = "exploding", "1", frozenset({"spam"})
    description = "fails on inputs whose first pixel is pure red"

    def analyze_one(self, content):
        if tuple(content.frames[0].rgb[0, 0]) == (255, 0, 0):
            raise RuntimeError("boom")
        return Output(findings=[Finding("spam", 0.5, self.name, self.version)])


class Liar(Detector):
    name, version, labels = "liar", "1", frozenset({"spam"})
    description = "breaks the contract"

    def __init__(self, label="violence", box=None):
        super().__init__()
        self.label, self.box = label, box

    def analyze_one(self, content):
        return Output(findings=[Finding(self.label, 0.5, self.name, self.version, Location(box=self.box))])


def test_a_failing_detector_fails_only_its_input():
    eng = Engine(Settings(), detectors=[Exploding()])
    red, grey = png_bytes(colour=(255, 0, 0)), png_bytes()
    results = list(eng.scan_many([grey, red, grey]))
    assert [r.action for r in results] == ["review", "error", "review"]
    assert results[1].error.code == "detector_error" and "boom" in results[1].error.message


@pytest.mark.parametrize("label,box,words", [
    ("violence", None, "does not declare"),
    ("spam", Box(10, 10, 500, 5), "outside the 64x48 image"),
])
def test_contract_violations_are_caught(label, box, words):
    eng = Engine(Settings(), detectors=[Liar(label, box)])
    (r,) = eng.scan_many([png_bytes()])
    assert r.error.code == "detector_contract" and words in r.error.message


def test_shared_work_is_computed_once(engine, samples):
    content = engine.open(samples / "scam_banner.png")
    frame = content.frames[0]
    calls = []
    frame.shared("x", lambda: calls.append(1) or 42)
    assert frame.shared("x", lambda: calls.append(1) or 43) == 42 and calls == [1]
    engine.analyze([content])
    assert "text_gate" in frame._shared and "pdq" in frame._shared


def test_timings_per_detector(engine, samples):
    r = engine.scan(samples / "cat.jpg")
    assert {"decode", "nsfw", "faces", "ocr", "hashes", "barcodes"} <= set(r.timings_ms)
    assert all(v >= 0 for v in r.timings_ms.values())


def test_labels_filter_and_face_attribute_filter(samples):
    eng = Engine(Settings(detectors=("barcodes", "faces")), labels=["qr_code"], face_attributes=["smiling"])
    (qr, face) = eng.scan_many([samples / "qr_payment.png", samples / "astronaut_portrait.jpg"])
    assert {f.label for f in qr.findings} == {"qr_code"}
    assert set(face.faces[0].attributes) == {"smiling"}


def test_unknown_detector_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown detector"):
        Engine(Settings(detectors=("nsfw", "telepathy")))


def test_python_api_scan_bytes_path_and_stream(samples):
    path = samples / "qr_payment.png"
    by_path = tamis.scan(path, detectors=["barcodes", "hashes"])
    by_bytes = tamis.scan(path.read_bytes(), detectors=["barcodes", "hashes"])
    with path.open("rb") as fh:
        by_stream = tamis.scan(fh, detectors=["barcodes", "hashes"])
    assert by_path.hashes.sha256 == by_bytes.hashes.sha256 == by_stream.hashes.sha256
    assert by_path.decision.action is tamis.Action.ALLOW
    d = by_path.to_dict()
    assert d["findings"][0]["data"]["payload"].startswith("https://")


def test_python_api_raises_specific_errors():
    with pytest.raises(tamis.EmptyInputError):
        tamis.scan(b"")
    with pytest.raises(tamis.UnsupportedFormatError):
        tamis.scan(b"\x01\x02\x03 binary \x00\x00 stuff")
    with pytest.raises(tamis.CorruptInputError, match="malformed UTF-8"):
        tamis.scan("déjà vu, a text that then breaks ".encode() + b"\xc3\x28")
    with pytest.raises(TamisError):
        tamis.scan(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)


def test_parallel_scan_keeps_order_and_errors(samples):
    from tamis.engine.pool import scan_parallel

    sources = [samples / "qr_payment.png", b"", samples / "product_barcode.webp"]
    results = list(scan_parallel(sources, 2, settings=Settings(detectors=("barcodes",), threads=1)))
    assert [r.action for r in results] == ["allow", "error", "allow"]
    assert results[2].findings[0].data["payload"] == "4006381333931"


def test_blur_faces_changes_only_the_face(samples):
    import numpy as np
    from PIL import Image

    original = np.asarray(Image.open(samples / "astronaut_portrait.jpg"))
    blurred = np.asarray(tamis.blur_faces(samples / "astronaut_portrait.jpg"))
    face = tamis.scan(samples / "astronaut_portrait.jpg", detectors=["faces"]).faces[0].box
    diff = np.abs(original.astype(int) - blurred.astype(int)).sum(axis=2)
    cy, cx = int(face.y + face.h / 2), int(face.x + face.w / 2)
    assert diff[cy - 10:cy + 10, cx - 10:cx + 10].mean() > 10  # the face changed
    assert diff[400:, :].mean() == 0 and diff[:, :100].mean() == 0  # far from it, nothing did
    pixelated = np.asarray(tamis.blur_faces(samples / "astronaut_portrait.jpg", mode="pixelate"))
    assert not np.array_equal(pixelated, blurred)


def test_python_api_takes_a_policy_object_or_file(samples, tmp_path):
    strict = tamis.load_policy(None, "strict")
    r = tamis.scan(samples / "qr_payment.png", policy=strict, detectors=["barcodes"])
    assert r.decision.action is tamis.Action.REVIEW and r.decision.policy == "strict"
    p = tmp_path / "p.yaml"
    p.write_text("version: 1\nlabels:\n  qr_code: {enabled: true, review: 0.2, block: 0.9}\n")
    r = tamis.scan(samples / "qr_payment.png", policy=p, detectors=["barcodes"])
    assert r.decision.action is tamis.Action.BLOCK


def test_single_scan_raises_the_detector_error():
    from tamis.errors import DetectorError

    eng = Engine(Settings(), detectors=[Exploding()])
    with pytest.raises(DetectorError, match="boom") as info:
        eng.scan(png_bytes(colour=(255, 0, 0)))
    assert info.value.code == "detector_error"


def test_no_attributes_asked_means_no_mesh(samples, monkeypatch):
    from tamis.detectors.faces import FaceDetector

    eng = Engine(Settings(detectors=("faces",)), face_attributes=[])
    det = eng.detectors[0]
    assert isinstance(det, FaceDetector) and det.wanted == frozenset()
    det.load()
    monkeypatch.setattr(det, "mesh", lambda *a: (_ for _ in ()).throw(AssertionError("meshed")))
    (face,) = eng.scan(samples / "astronaut_portrait.jpg").faces
    assert face.attributes == {} and face.score > 0.8


def test_a_pictures_two_threads_are_balanced_by_what_each_detector_costs(engine, samples):
    from dataclasses import replace

    from tamis.detectors import REGISTRY
    from tamis.engine import Engine
    from tamis.engine.engine import _balance

    def made(name, cost):
        det = REGISTRY[name]()
        det.cost_ms = cost
        return det

    hashes, faces, nsfw, barcodes, ocr = (made("hashes", 16), made("faces", 25), made("nsfw", 28),
                                          made("barcodes", 11), made("ocr", 30))
    runs = [(d, [0]) for d in (hashes, faces, nsfw, barcodes, ocr)]
    here, there = _balance(runs)
    names = lambda rs: {d.name for d, _ in rs}  # noqa: E731
    assert {"hashes", "faces"} <= names(here)  # work shared through the content stays in one thread
    assert names(here) | names(there) == {"hashes", "faces", "nsfw", "barcodes", "ocr"}
    assert names(there) == {"ocr", "nsfw"} and names(here) == {"hashes", "faces", "barcodes"}
    ocr.cost_ms = 400  # a picture with text: OCR alone beside everything else
    here, there = _balance(runs)
    assert names(there) == {"ocr"}
    # Whichever thread a detector runs in, the result is the same.
    path = samples / "coffee_caption.jpg"
    one_thread = Engine(replace(engine.settings, parallel_detectors=False), detectors=engine.detectors)
    a, b = engine.scan(path).to_dict(), one_thread.scan(path).to_dict()
    for r in (a, b):
        r.pop("timings_ms", None)
    assert a == b
