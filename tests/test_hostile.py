"""Hostile input never takes other work down: every reproducer found by fuzzing or by hand
gives a specific, clean error (or a note) for itself, and the inputs around it are scanned.

The resource cases (bombs, quadratic parsers) carry a generous hang guard: each took
30 s to minutes before its fix, and a fraction of a second after.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import hostile
import pytest
from documents import docx, odt, pptx, text_pdf

from conftest import ROOT, png_bytes

GOOD = png_bytes(64, 48)


@pytest.fixture(scope="module")
def eng():
    from tamis.config import Settings
    from tamis.engine import Engine

    return Engine(Settings(home=Path("/nonexistent-tamis-home"), detectors=("hashes", "pii")))


def scan_between_good(eng, data: bytes, name: str = "<hostile>"):
    """Scan ``data`` between two good inputs, as in a batch; return its result."""
    results = list(eng.scan_many([GOOD, io.BytesIO(data) if name == "<hostile>" else data, GOOD]))
    assert len(results) == 3
    assert results[0].error is None and results[2].error is None, (results[0].error, results[2].error)
    json.dumps([r.to_dict() for r in results], ensure_ascii=False).encode("utf-8")  # writable as is
    return results[1]


FAULTS = [
    ("tiff_ifd_claims_127_entries", "corrupt_input"),
    ("avif_renamed_iinf", "corrupt_input"),
    ("avif_bad_mdat_byte", "corrupt_input"),
    ("zip_version_needed_14_8", "unsupported_format"),
    ("gif_cut_after_descriptor", "corrupt_input"),
    ("mkv_unknown_codec", "unsupported_format"),
    ("mp4_truncated", "corrupt_input"),
    ("progressive_jpeg_many_scans", "decompression_bomb"),
    ("eml_many_parts", "archive_bomb"),  # the first 10,000 parts are scanned, then the part limit
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("maker,code", FAULTS)
def test_malformed_file_is_a_clean_error_and_the_batch_goes_on(eng, maker, code):
    r = scan_between_good(eng, getattr(hostile, maker)())
    assert r.error is not None and r.error.code == code, r.error
    assert "Errno" not in r.error.message and "Traceback" not in r.error.message


@pytest.mark.parametrize("package", ["odt", "pptx", "docx"])
def test_office_file_with_impossible_zip_version(eng, package):
    data = {"odt": lambda: odt(["hello"]), "pptx": lambda: pptx(["hello"]), "docx": lambda: docx(["hello"])}[package]()
    r = scan_between_good(eng, hostile.zip_version_needed_14_8(data))
    assert r.error is not None and r.error.code in ("unsupported_format", "corrupt_input"), r.error


def test_a_library_error_keeps_its_words_in_detail(eng):
    r = scan_between_good(eng, hostile.tiff_ifd_claims_127_entries())
    assert r.error.message.endswith("malformed image/tiff; it could not be read")
    assert "Missing dimensions" in r.error.detail


def test_video_frames_larger_than_the_header_said_are_refused():
    from tamis.config import Settings
    from tamis.engine import Engine

    eng = Engine(Settings(home=Path("/nonexistent"), detectors=("hashes",), max_pixels=4_000_000))
    r = scan_between_good(eng, hostile.mkv_frames_grow())
    assert r.error.code == "decompression_bomb" and "the header said 64x48" in r.error.message


@pytest.mark.timeout(120)
def test_pdf_whose_page_inflates_to_gigabytes_is_refused_before_it_is_inflated(eng):
    r = scan_between_good(eng, hostile.pdf_flate_bomb(300 << 20))
    assert r.error.code == "archive_bomb" and "PDF stream" in r.error.message


@pytest.mark.timeout(120)
@pytest.mark.parametrize("maker", ["eml_reply_to_dots", "docx_nested_paragraphs", "odt_nested_paragraphs"])
def test_quadratic_parsers_are_gone(eng, maker):
    r = scan_between_good(eng, getattr(hostile, maker)())
    assert r.error is None


def test_nested_paragraphs_are_each_read_once(eng):
    r = eng.scan(hostile.docx_nested_paragraphs(3), name="nested.docx")
    assert r.error is None and r.document is not None


@pytest.mark.timeout(120)
def test_animation_of_100000_frames_is_sampled_within_a_budget(eng):
    r = scan_between_good(eng, hostile.gif_many_frames())
    assert r.error is None
    assert any("frames were considered" in n for n in r.notes), r.notes


@pytest.mark.timeout(120)
def test_blank_giant_pages_are_not_rendered(eng):
    r = scan_between_good(eng, hostile.pdf_blank_pages())
    assert r.error is None
    assert any("2,000 blank pages" in n for n in r.notes), r.notes


def test_zip_appended_to_a_pdf_is_scanned_too(eng):
    data = hostile.with_zip_appended(text_pdf(["An ordinary page of an ordinary report, nothing more."]),
                                         {"hidden.txt": b"write to hidden.person@example.com"})
    r = scan_between_good(eng, data)
    assert r.error is None and any("ZIP archive is appended" in n for n in r.notes)
    parts = [f.location.part for f in r.findings if f.label == "pii/email"]
    assert parts == ["appended zip > member hidden.txt"], parts


def test_archive_member_names_that_are_not_utf8_are_shown_escaped(eng):
    r = scan_between_good(eng, hostile.tar_with_latin1_names())
    names = [p.part for p in r.document.parts]
    assert "member caf\\xe9.txt" in names and "member r\\xe9sum\\xe9/notes.txt" in names


def test_the_same_fault_gets_the_same_code(eng):
    """Text that is not UTF-8 is corrupt_input, whether it fails at once or later, in a
    text file or in a subtitle; a V7 tar (no magic) is a tar, and a broken one corrupt."""
    latin1 = "Café au lait, s'il vous plaît: très bien, à bientôt".encode("latin-1")
    later = b"A perfectly ordinary line of text, then a bad byte: \xff and more."
    codes = {scan_between_good(eng, d).error.code for d in (latin1, later)}
    assert codes == {"corrupt_input"}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        info = tarfile.TarInfo("a.txt")
        info.size = 3000
        t.addfile(info, io.BytesIO(b"x" * 3000))
    v7 = bytearray(buf.getvalue()[:1024])  # cut inside the member
    v7[257:265] = b"\0" * 8
    v7[148:156] = b" " * 8
    v7[148:156] = b"%06o\0 " % sum(v7[:512])
    r = scan_between_good(eng, bytes(v7))
    assert r.error is not None and r.error.code == "corrupt_input", r.error


def test_lone_surrogates_in_text_are_replaced_not_fatal():
    import tamis

    r = tamis.scan_text("a \ud800 b", detectors=["pii"])
    assert r.error is None and any("surrogates" in n for n in r.notes)
    rs = tamis.scan_text(["fine", "bad \udcff here", "call 202-555-0143"], detectors=["pii"])
    assert [r.error for r in rs] == [None, None, None]
    json.dumps([r.to_dict() for r in rs], ensure_ascii=False).encode("utf-8")


# -- the command line: nothing lost, every output written ----------------------------------------

def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "tamis.cli.main", *map(str, args)], capture_output=True,
                          timeout=600, **kw)


def test_jsonl_with_a_lone_surrogate_loses_no_line(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "text": "fine"}\n{"id": 2, "text": "bad \\udcff here"}\n'
                   '{"id": 3, "text": "mail me: x@example.com"}\n', encoding="utf-8")
    r = _cli("scan", "--jsonl", src, "--detectors", "pii")
    assert r.returncode == 0, r.stderr.decode()
    lines = [json.loads(x) for x in r.stdout.decode("utf-8").splitlines()]
    assert [x["id"] for x in lines] == [1, 2, 3] and "error" not in lines[1]
    assert lines[2]["findings"][0]["label"] == "pii/email"


def test_names_that_are_not_utf8_never_break_an_output(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "names.tar").write_bytes(hostile.tar_with_latin1_names())
    hostile.write_non_utf8_name(folder)
    (folder / "ok.png").write_bytes(GOOD)
    for args in (["-f", "json", "-o", tmp_path / "x.json"], ["-f", "jsonl", "-o", tmp_path / "x.jsonl"],
                 ["--report", tmp_path / "r.html"], ["-f", "json"]):
        r = _cli("scan", folder, "--detectors", "hashes", "--no-progress", *args)
        assert r.returncode == 0, (args, r.stderr.decode(errors="replace"))
        r.stdout.decode("utf-8")  # valid UTF-8
    data = json.loads((tmp_path / "x.json").read_text(encoding="utf-8"))
    assert {Path(d["source"]).name for d in data} == {"names.tar", "bad\\xffname.txt", "ok.png"}
    assert len((tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()) == 3
    report = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "names.tar" in report and "bad\\xffname.txt" in report


# -- worker processes: a crash, a hang, a memory blow-up cost one input ---------------------------

def _misbehaving_options(tmp_path):
    from tamis.config import Settings

    return dict(settings=Settings(home=tmp_path / "home", max_input_seconds=8, max_input_memory_mb=1024),
                detectors=[hostile.Misbehaving()])


@pytest.mark.timeout(300)
def test_worker_that_crashes_or_hangs_costs_only_its_input(tmp_path):
    from tamis.engine.pool import scan_parallel, scan_texts_parallel

    texts = ["first", "CRASH now", "third", "SLEEP now", "ALLOC now", "last"]
    results = list(scan_texts_parallel(texts, 2, **_misbehaving_options(tmp_path)))
    codes = [r.error.code if r.error else "ok" for r in results]
    assert codes[:4] == ["ok", "worker_died", "ok", "timeout"], codes
    assert codes[4] in ("too_large", "detector_error") and codes[5] == "ok", codes
    assert "SIGSEGV" in results[1].error.message

    files = []
    for i, t in enumerate(["a calm note", "CRASH", "another note"]):
        files.append(tmp_path / f"{i}.txt")
        files[-1].write_text(t)
    results = list(scan_parallel(files, 1, **_misbehaving_options(tmp_path)))
    assert [r.error.code if r.error else "ok" for r in results] == ["ok", "worker_died", "ok"]
    assert [Path(r.source).name for r in results] == ["0.txt", "1.txt", "2.txt"]


def test_cli_reports_a_hostile_file_and_keeps_the_others(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.png").write_bytes(GOOD)
    (folder / "b.tiff").write_bytes(hostile.tiff_ifd_claims_127_entries())
    (folder / "c.gif").write_bytes(hostile.gif_cut_after_descriptor())
    (folder / "d.png").write_bytes(GOOD)
    r = _cli("scan", folder, "--workers", "2", "--detectors", "hashes", "-f", "jsonl", cwd=ROOT)
    assert r.returncode == 2  # an input had an error
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [Path(x["source"]).name for x in lines] == ["a.png", "b.tiff", "c.gif", "d.png"]
    assert [("error" in x) for x in lines] == [False, True, True, False]



def test_zip_appended_to_a_picture_is_noted(eng):
    data = hostile.with_zip_appended(GOOD, {"hidden.txt": b"what the picture hides"})
    r = scan_between_good(eng, data)
    assert r.error is None and any("ZIP archive is appended" in n for n in r.notes), r.notes


def test_blocklist_terms_must_be_a_list(tmp_path):
    from tamis.detectors.blocklist import read_list
    from tamis.errors import TamisError

    f = tmp_path / "words.yaml"
    f.write_text("terms: free gift\n")  # a string, once split into the one-letter terms f, r, e...
    with pytest.raises(TamisError, match="terms must be a list"):
        read_list(f)
    f.write_text("terms: [free gift, 42]\n")
    assert [e.value for e, _ in read_list(f)] == ["free gift", "42"]


def test_pdf_with_a_large_ordinary_image_is_read(eng):
    """A Flate stream that inflates past 4 MiB (a 1400 x 1300 picture) once looped forever."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    from conftest import noise_image

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(60, 800, "A report with a large photograph in it, and some words.")
    from PIL import Image

    c.drawImage(ImageReader(Image.fromarray(noise_image(1400, 1300))), 50, 50, 500, 460)
    c.save()
    r = scan_between_good(eng, buf.getvalue())
    assert r.error is None and r.document is not None


def test_email_headers_and_file_names_in_raw_utf8_are_read(eng):
    raw = ("From: José Pérez <jose@example.com>\r\nTo: b@example.com\r\n"
           "Subject: Réunion =?utf-8?q?d=C3=A9j=C3=A0?= vu\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
           "--b\r\nContent-Type: application/octet-stream\r\n"
           "Content-Disposition: attachment; filename=\"naïve.txt\"\r\n\r\nabc\r\n"
           "--b\r\nContent-Type: application/octet-stream\r\n"
           "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt\r\n\r\nabc\r\n--b--\r\n").encode()
    from tamis.content.document import Limits, load_document, parts

    got = {p.label: p.text for p in parts(load_document("m.eml", raw, "message/rfc822"), Limits())}
    assert "From: José Pérez" in got["headers"] and "Subject: Réunion déjà vu" in got["headers"]
    assert "attachment naïve.txt" in got and "attachment résumé.txt" in got


@pytest.mark.timeout(300)
def test_pool_takes_streams_keeps_text_names_and_yields_before_an_input_error(tmp_path):
    from tamis.config import Settings
    from tamis.engine.pool import scan_parallel, scan_texts_parallel

    options = dict(settings=Settings(home=tmp_path / "home", detectors=("hashes",)))
    png = tmp_path / "a.png"
    png.write_bytes(GOOD)
    with png.open("rb") as stream:
        results = list(scan_parallel([png, stream, png], 1, **options))
    assert [r.error for r in results] == [None, None, None]
    names = [r.source for r in scan_texts_parallel(["one", "two", "three"], 1, chunk=2, **options)]
    assert names == ["<text 0>", "<text 1>", "<text 2>"]

    def sources():
        yield png
        yield png
        raise RuntimeError("the listing failed")

    got = []
    with pytest.raises(RuntimeError, match="listing failed"):
        for r in scan_parallel(sources(), 1, **options):
            got.append(r)
    assert len(got) == 2


def test_names_cannot_drive_a_terminal():
    from tamis.content.base import printable

    assert printable("a\x1b]0;pwned\x07b\udcff.txt") == "a\\x1b]0;pwned\\x07b\\xff.txt"
    assert printable("ordinary name.pdf") == "ordinary name.pdf"
