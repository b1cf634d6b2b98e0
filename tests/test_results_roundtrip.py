"""Results round-trip: what ScanResult.to_dict writes, ScanResult.from_dict reads back as
an equal result, for every kind of input (a job store and a review queue read them back)."""

from __future__ import annotations

import json

import pytest
from documents import docx, eml, text_pdf

from conftest import ROOT
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
    back = ScanResult.from_dict(data)
    assert back == result
    assert back.to_dict() == data  # and writes the same again
    if name == "error":
        assert back.error["code"] == "corrupt_input"
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
