"""Every detector passes the same contract (the conformance suite)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import noise_image
from tamis.content.image import Frame, ImageContent
from tamis.content.text import TextContent
from tamis.detectors import REGISTRY, Detector
from tamis.detectors.base import Output
from tamis.errors import ModelIntegrityError
from tamis.taxonomy import FACE_ATTRIBUTES, LABELS

AVAILABLE = {name: cls for name, cls in REGISTRY.items() if cls().available()[0]}
MISSING = sorted(set(REGISTRY) - set(AVAILABLE))


@pytest.fixture(scope="module", params=sorted(AVAILABLE))
def detector(request) -> Detector:
    det = AVAILABLE[request.param]()
    det.load()
    return det


TEXTS = ["hello", "Call me at +1 202 555 0143 or mail a@example.com", "x" * 200_000,
         "مرحبا بالعالم 🙂 \u202e reversed", "\t\n  \x0b odd  whitespace \x1f", "日本語のテキストです。" * 50,
         "fr33 m0ney " * 1000]


def text_of(text: str, name="test") -> TextContent:
    return TextContent(kind="text", name=name, media_type="text/plain", data=text.encode(), text=text)


def content_of(rgb: np.ndarray, name="test") -> ImageContent:
    return ImageContent(kind="image", name=name, media_type="image/png", data=rgb.tobytes(),
                        width=rgb.shape[1], height=rgb.shape[0], frames=[Frame(0, rgb)])


def check_output(det: Detector, content: ImageContent, out: Output) -> None:
    assert isinstance(out, Output)
    for f in out.findings:
        assert f.label in LABELS and f.label in det.labels
        assert 0.0 <= f.score <= 1.0
        assert f.detector == det.name and f.model_version == det.version
        if f.location.box is not None:
            assert f.location.box.inside(content.width, content.height), f.location.box
    for f in out.findings:
        if f.location.span is not None:
            assert 0 <= f.location.span.start < f.location.span.end <= len(content.text)
    for face in out.faces:
        assert face.box.inside(content.width, content.height)
        assert 0.0 <= face.score <= 1.0
        assert set(face.attributes) <= set(FACE_ATTRIBUTES)
        for a in face.attributes.values():
            assert a.value in (True, False, None) and 0.0 <= a.confidence <= 1.0
        for x, y in face.landmarks.values():
            assert -content.width * 0.2 <= x <= content.width * 1.2
            assert -content.height * 0.2 <= y <= content.height * 1.2


def test_declarations():
    for name, cls in REGISTRY.items():
        assert cls.name == name and cls.version and cls.description
        assert cls.labels <= set(LABELS), name
        assert cls.kinds
        for m in cls.models:
            assert len(m.sha256) == 64 and m.licence_code and m.licence_weights


def test_construction_is_cheap_and_loads_nothing():
    for cls in REGISTRY.values():
        det = cls()
        assert not det.loaded
        assert not any(hasattr(det, a) for a in ("session", "engine", "_detector"))


def test_load_is_idempotent(detector):
    detector.load()
    detector.load()
    assert detector.loaded


def _inputs(detector, samples):
    from tamis.config import Settings
    from tamis.engine import Engine

    opener = Engine(Settings(), detectors=[])
    if "text" in detector.kinds:
        return [text_of(t) for t in TEXTS[:2]] + [opener.open((samples / "../../README.md").resolve())]
    return [opener.open(samples / n) for n in ("astronaut_portrait.jpg", "qr_payment.png", "cat.jpg")]


def test_batch_equals_one_by_one(detector, samples):
    contents = _inputs(detector, samples)
    batch = detector.analyze(contents)
    assert len(batch) == len(contents)
    for content, out in zip(contents, batch):
        check_output(detector, content, out)
        single = detector.analyze([content])[0]
        assert [(f.label, round(f.score, 3)) for f in single.findings] == \
               [(f.label, round(f.score, 3)) for f in out.findings]
        assert len(single.faces) == len(out.faces)


DEGENERATE_IMAGES = [
    np.zeros((16, 16, 3), np.uint8),
    np.full((64, 2000, 3), 255, np.uint8),
    np.full((2000, 40, 3), 30, np.uint8),
    noise_image(320, 240),
]


@pytest.mark.parametrize("case", range(max(len(DEGENERATE_IMAGES), len(TEXTS))))
def test_degenerate_inputs_are_handled(detector, case):
    if "text" in detector.kinds:
        content = text_of(TEXTS[case % len(TEXTS)])
    else:
        content = content_of(DEGENERATE_IMAGES[case % len(DEGENERATE_IMAGES)])
    (out,) = detector.analyze([content])
    check_output(detector, content, out)


def test_empty_batch(detector):
    assert detector.analyze([]) == []


def test_sha256_mismatch_refuses_to_load(monkeypatch):
    from tamis.detectors import models as models_mod

    cls = next((c for c in AVAILABLE.values() if c.models), None)
    if cls is None:
        pytest.skip("no detector with model files installed")
    model = cls.models[0]
    tampered = dataclasses.replace(model, sha256="0" * 64)
    monkeypatch.setattr(cls, "models", (tampered,) + cls.models[1:])
    monkeypatch.setattr(models_mod, "_verified", {})
    with pytest.raises(ModelIntegrityError, match="expected 0000"):
        cls().load()


def test_every_recorded_model_file_matches(samples):
    for cls in AVAILABLE.values():
        for m in cls.models:
            assert m.verify().is_file()


@pytest.mark.skipif(not MISSING, reason="every optional detector is installed")
def test_missing_optional_package_is_reported_not_crashing():
    for name in MISSING:
        ok, why = REGISTRY[name]().available()
        assert not ok and "install" in why


def test_models_load_and_run_without_network(monkeypatch, samples):
    """No detector reaches for the network: weights come from installed packages only."""
    import socket

    def refuse(*_a, **_k):
        raise AssertionError("a detector tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    from tamis.config import Settings
    from tamis.engine import Engine

    opener = Engine(Settings(), detectors=[])
    image = opener.open(samples / "scam_banner.png")
    text = text_of("mail me at a@example.com, +1 202 555 0143")
    for cls in AVAILABLE.values():
        det = cls()
        det.load()
        det.analyze([text if "text" in det.kinds else image])


def test_optional_extra_joins_defaults_only_when_installed(monkeypatch):
    from tamis.detectors import build_detectors
    from tamis.detectors.nudity import NudityDetector

    monkeypatch.setattr(NudityDetector, "available", lambda self: (False, "not installed"))
    assert "nudity" not in [d.name for d in build_detectors()]
    monkeypatch.setattr(NudityDetector, "available", lambda self: (True, "ok"))
    assert "nudity" in [d.name for d in build_detectors()]
