"""Results round-trip: what ScanResult.to_dict writes, ScanResult.from_dict reads back as
an equal result, for every kind of input (a job store and a review queue read them back)."""

from __future__ import annotations

import json
import re

import pytest
from documents import docx, eml, text_pdf

from conftest import ROOT
from tamis.errors import CorruptInputError
from tamis.results import SCHEMA_VERSION, ScanResult

SAMPLES = ROOT / "samples"


def _inputs():
    return [
        ("face and attributes", SAMPLES / "images/astronaut_portrait.jpg"),
        ("ocr and qr code", SAMPLES / "images/qr_payment.png"),
        ("scam banner", SAMPLES / "images/scam_banner.png"),
        ("animation", SAMPLES / "images/animated_sale.gif"),
        ("video", SAMPLES / "video/holiday_clip.mkv"),
        ("pdf", SAMPLES / "documents/meeting_notes.pdf"),
        ("zip", SAMPLES / "documents/shared_folder.zip"),
        ("docx", docx(["Write to jane.roe@example.org", "I will kill you."])),
        ("eml", eml("call +1 202 555 0143", [("a.pdf", text_pdf(["invoice for you, pay now at pay.example"]),
                                              "application/pdf")])),
        ("error", b"\xff\xd8\xff\xe0" + b"\x00" * 40),
    ]


@pytest.mark.parametrize("name,source", _inputs(), ids=[n for n, _ in _inputs()])
def test_every_kind_round_trips_through_json(engine, name, source):
    result = next(engine.scan_many([source]))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["schema_version"] == SCHEMA_VERSION
    import jsonschema

    from tamis.results import json_schema

    jsonschema.validate(data, json_schema())  # the published schema holds what is written
    back = ScanResult.from_dict(data)
    assert back == result
    assert back.to_dict() == data  # and writes the same again
    if name == "error":
        assert back.error.code == "corrupt_input"
        with pytest.raises(CorruptInputError, match=re.escape(back.error.message[:20])):
            back.raise_error()  # typed: raised again as the error it was
    if name == "video":
        assert back.video.segments and back.video.frames
    if name == "face and attributes":
        assert back.faces and back.faces[0].attributes


def test_a_stored_error_raises_its_own_class(engine):
    from tamis.errors import CorruptInputError

    result = next(engine.scan_many([b"\xff\xd8\xff\xe0" + b"\x00" * 40]))
    with pytest.raises(CorruptInputError):
        ScanResult.from_dict(result.to_dict()).raise_error()


def test_a_newer_schema_is_refused_not_misread():
    with pytest.raises(ValueError, match="newer"):
        ScanResult.from_dict({"schema_version": SCHEMA_VERSION + 1, "source": "x"})


@pytest.mark.parametrize("source", [SAMPLES / "video/holiday_clip.mkv", SAMPLES / "images/scam_banner.png",
                                    SAMPLES / "documents/prize_letter.docx"], ids=lambda p: p.name)
def test_a_stored_result_decided_again_under_another_policy_is_what_a_scan_under_it_gives(tmp_path, source):
    from tamis.config import Settings
    from tamis.engine import Engine
    from tamis.policy import load_policy

    other = tmp_path / "other.yaml"
    other.write_text("version: 1\nlabels:\n  spam: {review: 0.99, block: never}\n"
                     "  spam/scam: {review: 0.999, block: never}\n"
                     "  pii: {review: 0.5, block: 0.9}\n  harassment: {review: 0.95, block: never}\n")
    settings = Settings(home=tmp_path / "home", detectors=("hashes", "ocr", "text", "pii", "blocklist"))
    policy_b = load_policy(other)
    under_a = Engine(settings).scan(source)
    under_b = Engine(settings, policy_b).scan(source)
    stored = ScanResult.from_dict(json.loads(json.dumps(under_a.to_dict())))
    again = policy_b.apply(stored)
    assert again.decision == under_b.decision
    assert again.decision != under_a.decision or source.suffix == ".docx"
    if under_b.video is not None:
        assert again.video.segments == under_b.video.segments
        assert again.video.segments != under_a.video.segments
    assert policy_b.decide(stored) == under_b.decision


def test_the_schema_refuses_what_tamis_never_writes():
    import jsonschema

    from tamis.results import json_schema

    for bad in ({"source": "x"}, {"schema_version": 1, "source": "x", "findings": [{"label": "spam"}]},
                {"schema_version": 1, "source": "x", "findings": [], "faces": [
                    {"box": [0, 0, 1, 1], "score": 0.9, "attributes": {"age": {"value": 30, "confidence": 1}}}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, json_schema())
