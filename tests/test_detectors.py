"""What each detector finds on known inputs (table-driven where it can be)."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from conftest import noise_image


def by_label(result, label):
    return [f for f in result.findings if f.label == label]


@pytest.fixture(scope="module")
def results(engine, samples):
    return {p.name: r for p, r in zip(sorted(samples.iterdir()),
                                      engine.scan_many(sorted(samples.iterdir())))}


@pytest.mark.parametrize("name,fmt,payload", [
    ("qr_payment.png", "QRCode", "https://pay.example.com/invoice/8841?amount=49.99"),
    ("product_barcode.webp", "EAN13", "4006381333931"),
])
def test_barcodes_decode_exact_payloads(results, name, fmt, payload):
    (f,) = by_label(results[name], "qr_code")
    assert f.data["format"] == fmt and f.data["payload"] == payload and f.score == 1.0
    assert f.data["payload_is_url"] == payload.startswith("https://")
    assert f.location.box is not None and f.location.box.w > 20


@pytest.mark.parametrize("name,expected", [
    ("scam_banner.png", ["CONGRATULATIONS", "FREE iPhone", "202-555-0143", "prizes@example.com"]),
    ("coffee_caption.jpg", ["Morning coffee"]),
    ("qr_payment.png", ["Scan to pay"]),
])
def test_ocr_reads_text(results, name, expected):
    text = results[name].text.text
    for words in expected:
        assert words in text, (words, text)
    for line in results[name].text.lines:
        assert line.box.inside(results[name].width, results[name].height, slack=4)


@pytest.mark.parametrize("name", ["cat.jpg", "rocket_launch.jpg", "astronaut_portrait.jpg"])
def test_text_gate_skips_photos_without_text(results, name):
    assert results[name].text is None


def test_ocr_reads_the_bands_where_the_gate_saw_text_and_places_lines_in_the_image(engine, samples):
    from tamis.detectors.ocr import OcrDetector

    det, whole = OcrDetector(), OcrDetector(always=True)
    content = engine.open(samples / "coffee_caption.jpg")
    frame = content.frames[0]
    count, bands = det.gate_regions(frame.rgb)
    assert count >= 1 and bands
    assert all(x0 == 0 and x1 == frame.width and 0 <= y0 < y1 <= frame.height for x0, y0, x1, y1 in bands)
    assert sum(y1 - y0 for _, y0, _, y1 in bands) < frame.height / 2  # the caption, not the photo
    banded, full = det.analyze([content])[0].text, whole.analyze([content])[0].text
    assert "Morning coffee" in banded.text and [ln.text for ln in banded.lines] == [ln.text for ln in full.lines]
    for line, ref in zip(banded.lines, full.lines):  # lines read in a band are placed in the image
        assert any(y0 <= line.box.y and line.box.y + line.box.h <= y1 for _, y0, _, y1 in bands)
        assert abs(line.box.x - ref.box.x) < 8 and abs(line.box.y - ref.box.y) < 8


def test_text_bands_pad_merge_and_clip():
    from tamis.detectors.ocr import CROP_MIN_BAND, text_bands

    # A thin region sorted first and a tall one starting just under it whose padding
    # reaches higher: one band, from the tall one's padded top.
    (band,) = text_bands([100, 101], [2, 30], 2.0, 768, 1024)
    assert band == ((101 - 30 * 2 - 4) * 2, (101 + 30 + 30 * 2 + 4) * 2)
    # Far apart: two bands, each at least CROP_MIN_BAND high once scaled to the OCR pass.
    first, second = text_bands([100, 300], [3, 3], 2.0, 768, 1024)
    assert first[1] < second[0]
    assert all((y1 - y0) * 736 / 1024 >= CROP_MIN_BAND - 2 for y0, y1 in (first, second))
    # A narrow image is not scaled by the OCR pass: its bands are CROP_MIN_BAND pixels.
    ((y0, y1),) = text_bands([100], [3], 1.0, 400, 600)
    assert y1 - y0 >= CROP_MIN_BAND - 2
    # Clipped to the picture.
    assert text_bands([0], [5], 2.0, 100, 200)[0][0] == 0
    assert text_bands([45], [5], 2.0, 100, 200)[0][1] == 100


def test_animated_text_keeps_frame_index(results):
    r = results["animated_sale.gif"]
    assert r.frames == 12 and r.frames_analyzed == 8
    sale = [line for line in r.text.lines if "SALE" in line.text]
    assert sale and all(line.frame >= 8 for line in sale)
    # Findings on an animation's frames carry the frame's time (GIF frame durations).
    placed = [f for f in r.findings if f.location.frame is not None]
    assert placed and all(f.location.timestamp is not None for f in placed)


def test_face_and_attributes_on_portrait(results):
    r = results["astronaut_portrait.jpg"]
    assert len(r.faces) == 1
    face = r.faces[0]
    assert face.score > 0.8
    # The face is in the upper middle of the 512x512 portrait.
    assert 150 < face.box.x + face.box.w / 2 < 300 and 60 < face.box.y + face.box.h / 2 < 160
    assert set(face.landmarks) == {"right_eye", "left_eye", "nose_tip", "mouth_center",
                                   "right_ear", "left_ear"}
    assert face.attributes["eyes_open"].value is True
    assert face.attributes["smiling"].value is True


@pytest.mark.parametrize("name", ["cat.jpg", "coffee.jpg", "rocket_launch.jpg", "scam_banner.png"])
def test_no_faces_where_there_are_none(results, name):
    assert results[name].faces == []


@pytest.mark.parametrize("name", ["cat.jpg", "rocket_launch.jpg", "astronaut_portrait.jpg", "qr_payment.png"])
def test_nsfw_is_low_on_safe_images(results, name):
    nsfw = [f for f in by_label(results[name], "sexual") if f.detector == "nsfw"]
    assert len(nsfw) == 1 and nsfw[0].score < 0.2
    assert results[name].action == "allow" or name == "qr_payment.png"  # its payment URL reads as spam


def test_nsfw_bands_map_to_sub_labels():
    from tamis.content.image import ImageContent
    from tamis.detectors.nsfw import NsfwDetector

    det = NsfwDetector()
    c = ImageContent(kind="image", name="x", media_type="image/png", data=b"")
    labels = lambda s: sorted(f.label for f in det.findings_for(s, 0, c))  # noqa: E731
    assert labels(0.1) == ["sexual"]
    assert labels(0.5) == ["sexual", "sexual/suggestive"]
    assert labels(0.9) == ["sexual", "sexual/explicit"]


def test_hashes(results, samples):
    r = results["cat.jpg"]
    data = (samples / "cat.jpg").read_bytes()
    assert r.hashes.md5 == hashlib.md5(data).hexdigest()
    assert r.hashes.sha256 == hashlib.sha256(data).hexdigest()
    assert len(r.hashes.pdq) == 64 and int(r.hashes.pdq, 16) >= 0
    assert 0 <= r.hashes.pdq_quality <= 100
    assert len(results["animated_sale.gif"].hashes.frame_pdq) == 8


def _pdq_distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def test_pdq_survives_reencoding_and_separates_different_images(samples):
    from tamis.detectors.hashes import pdq

    img = np.asarray(Image.open(samples / "cat.jpg").convert("RGB"))
    buf = io.BytesIO()
    Image.fromarray(img).resize((img.shape[1] // 2, img.shape[0] // 2)).save(buf, "JPEG", quality=50)
    small = np.asarray(Image.open(buf).convert("RGB"))
    h1, _ = pdq(img)
    h2, _ = pdq(small)
    h3, _ = pdq(noise_image(300, 200, seed=3))
    assert _pdq_distance(h1, h2) <= 31
    assert _pdq_distance(h1, h3) > 80
