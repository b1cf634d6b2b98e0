"""Documents and archives: every format split into parts that name where each finding is,
and hostile containers (bombs, nesting, traversal, encryption, corruption) refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("pypdfium2")
pytest.importorskip("reportlab")

import documents as make  # noqa: E402

from tamis.cli.main import app  # noqa: E402
from tamis.config import Settings  # noqa: E402
from tamis.content.document import safe_name  # noqa: E402
from tamis.engine import Engine  # noqa: E402
from tamis.errors import ArchiveBombError, CorruptInputError, EncryptedError, TooDeepError  # noqa: E402


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    return Engine(Settings(home=tmp_path_factory.mktemp("home"))).load()


def where(result, label: str) -> list[tuple]:
    return [(f.location.page, f.location.part) for f in result.findings if f.label == label]


def test_pdf_text_per_page_and_embedded_images(eng):
    r = eng.scan(make.text_pdf([f"Hello, write to {make.EMAIL}", make.THREAT], image=make.FACE), name="a.pdf")
    assert (r.kind, r.media_type, r.document.pages) == ("document", "application/pdf", 2)
    assert (1, "text") in where(r, "pii/email")
    assert (2, "text") in where(r, "harassment/threatening")
    image = [p for p in r.document.parts if p.part == "image 1"]
    assert image and image[0].page == 1 and image[0].kind == "image" and image[0].faces == 1
    assert r.action == "block"
    json.dumps(r.to_dict())


def test_pdf_links_comments_and_form_fields_are_read(eng):
    """A phishing link shows "click here"; a threat can sit in a sticky note or a form
    field: none of them is in the text layer."""
    pdf = make.text_pdf(["Your account statement is ready.", "Page two."], comment=make.THREAT,
                        link="http://paypa1-secure-login.example/verify", field=f"Contact {make.EMAIL}")
    r = eng.scan(pdf, name="statement.pdf")
    assert (1, "annotations") in where(r, "harassment/threatening")
    assert where(r, "pii/email") == [(1, "fields")]  # typed into a form field
    assert where(r, "pii/url") == [(1, "links")]
    assert not any(p.page == 2 and p.part != "text" and p.part != "page image" for p in r.document.parts)


def test_pdf_annotations_are_bounded_and_survive_a_page_that_cannot_be_rendered(eng):
    import io

    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(60, 800, "Form")  # under 20 characters: the page is rendered for OCR
    for i in range(300):  # many notes with one text: read once
        c.textAnnotation(make.THREAT, Rect=(60, 100 + i, 200, 150 + i))
    c.textAnnotation("x" * 30_000, Rect=(300, 100, 400, 150))  # over the string limit
    c.acroForm.checkbox(name="agree", x=60, y=700, size=20)  # ticks are not text
    c.save()
    broken = buf.getvalue().replace(b"/MediaBox [ 0 0 595.2756 841.8898 ]", b"/MediaBox [ 0 0 100000000 0.00001 ]")
    for data in (buf.getvalue(), broken):
        r = eng.scan(data, name="notes.pdf")
        parts = [(p.part, p.error.code if p.error else None) for p in r.document.parts]
        assert ("annotations", "too_large") in parts and ("annotations", None) in parts
        assert not any(p == "fields" for p, _ in parts)
        assert where(r, "harassment/threatening") == [(1, "annotations")]
    assert ("page image", "corrupt_input") in [(p.part, p.error.code if p.error else None)
                                               for p in eng.scan(broken, name="n.pdf").document.parts]


def test_pdf_page_without_text_layer_is_rendered_and_read(eng):
    r = eng.scan(make.scanned_pdf([f"Contact {make.EMAIL}", "Meeting at noon"]), name="scan.pdf")
    assert [(p.part, p.page, p.kind) for p in r.document.parts] == [("page image", 1, "image")]
    email = [f for f in r.findings if f.label == "pii/email"]
    assert email and email[0].location.page == 1 and email[0].location.part == "page image > ocr"
    assert email[0].location.box is not None  # where on the page


def test_encrypted_pdf_needs_its_password(eng, tmp_path):
    data = make.text_pdf([f"mail {make.EMAIL}"], encrypt="s3cret")
    with pytest.raises(EncryptedError, match="encrypted; give its password"):
        eng.scan(data, name="locked.pdf")
    with pytest.raises(EncryptedError, match="the one given is wrong"):
        Engine(Settings(home=tmp_path, pdf_password="nope")).scan(data, name="locked.pdf")
    r = Engine(Settings(home=tmp_path, pdf_password="s3cret")).scan(data, name="locked.pdf")
    assert where(r, "pii/email") == [(1, "text")]
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(data)
    res = CliRunner().invoke(app, ["scan", str(locked), "--format", "json"])
    assert res.exit_code == 2 and json.loads(res.stdout)[0]["error"]["code"] == "encrypted"
    res = CliRunner().invoke(app, ["scan", str(locked), "--format", "json", "--pdf-password", "s3cret"])
    assert res.exit_code == 0 and "pii/email" in {f["label"] for f in json.loads(res.stdout)[0]["findings"]}


def test_office_documents_name_their_parts(eng):
    r = eng.scan(make.docx(["Hello team", f"mail {make.EMAIL}"], image=make.FACE), name="a.docx")
    assert r.media_type.endswith("wordprocessingml.document")
    assert ("body" in {p.part for p in r.document.parts} and "header 1" in {p.part for p in r.document.parts})
    assert where(r, "pii/email") == [(None, "body")]
    assert any(p.part == "image word/media/image1.jpg" and p.faces == 1 for p in r.document.parts)

    r = eng.scan(make.pptx(["Agenda", make.THREAT], notes=f"call {make.EMAIL}", picture_on=2), name="a.pptx")
    assert r.document.pages == 2
    picture = [p for p in r.document.parts if p.part.startswith("slide 2 > image ")]
    assert picture and picture[0].page == 2 and picture[0].faces == 1
    assert (None, "slide 2") in where(r, "harassment/threatening")
    assert (None, "notes 1") in where(r, "pii/email")

    r = eng.scan(make.xlsx({"People": [["name", "email"], ["Jane", make.EMAIL]], "Sums": [[1, 2, 3]]}), name="a.xlsx")
    assert where(r, "pii/email") == [(None, "sheet People!B2")]

    r = eng.scan(make.odt(["Hello", make.THREAT]), name="a.odt")
    assert r.media_type == "application/vnd.oasis.opendocument.text"
    assert (None, "body") in where(r, "harassment")


def test_files_and_pictures_embedded_in_office_documents_are_scanned(eng):
    inner = make.xlsx({"Contacts": [["email"], [make.EMAIL]]})
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504  # an old OLE object: not readable
    doc = make.with_members(make.docx(["Quarterly report"]), {
        "word/embeddings/Microsoft_Excel_Worksheet.xlsx": inner, "word/embeddings/oleObject1.bin": ole})
    r = eng.scan(doc, name="report.docx")
    assert where(r, "pii/email") == [(None, "embedded Microsoft_Excel_Worksheet.xlsx > sheet Contacts!A2")]
    parts = {p.part: p for p in r.document.parts}
    assert parts["embedded Microsoft_Excel_Worksheet.xlsx"].kind == "document"
    ole_error = parts["embedded oleObject1.bin"].error  # reported, not silently skipped
    assert ole_error.code == "unsupported_format" and "legacy Office" in ole_error.message
    assert r.error is None

    deck = make.with_members(make.pptx(["Agenda"]), {"ppt/embeddings/notes.docx": make.docx([make.THREAT])})
    assert (None, "embedded notes.docx > body") in where(eng.scan(deck, name="deck.pptx"), "harassment/threatening")

    book = make.with_members(make.xlsx({"S": [["x"]]}), {"xl/media/image1.jpg": make.FACE.read_bytes()})
    r = eng.scan(book, name="book.xlsx")
    assert any(p.part == "image xl/media/image1.jpg" and p.faces == 1 for p in r.document.parts)


def test_office_hyperlink_addresses_are_read(eng):
    url = "http://paypa1-secure-login.example/verify"
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId99" TargetMode="External" Target="' + url +
            '" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"/>'
            '</Relationships>')
    doc = make.with_members(make.docx(["Your statement: click here"]), {"word/_rels/extra.xml.rels": rels.encode()})
    assert where(eng.scan(doc, name="a.docx"), "pii/url") == [(None, "links")]
    odt = make.odt([f'Your statement: <text:a xlink:href="{url}">click here</text:a>'])
    r = eng.scan(odt, name="a.odt")
    assert where(r, "pii/url") == [(None, "links")]
    assert any(p.part == "body" for p in r.document.parts)


def test_document_titles_and_other_metadata_are_read(eng):
    r = eng.scan(make.text_pdf(["An ordinary page of text."], title=make.THREAT), name="a.pdf")
    assert (None, "metadata title") in where(r, "harassment/threatening")
    r = eng.scan(make.docx(["An ordinary paragraph."], title=make.THREAT), name="a.docx")
    assert (None, "metadata title") in where(r, "harassment/threatening")
    assert "metadata author" in {p.part for p in r.document.parts}  # python-docx writes one


def test_html_visible_text_and_links_not_scripts(eng):
    r = eng.scan(make.html_page(f"Write to {make.EMAIL} today"), name="page.html")
    assert r.media_type == "text/html"
    assert where(r, "pii/email") == [(None, "body")]
    assert (None, "links") in where(r, "pii/url")
    body = [p for p in r.document.parts if p.part == "body"][0]
    assert body.size < 80  # the script and the style are not text


def test_pictures_written_into_html_are_scanned(eng):
    import base64

    face = base64.b64encode(make.FACE.read_bytes()).decode()
    page = (f'<html><body><p>Our team</p><img src="data:image/jpeg;base64,{face}" alt="team">'
            '<img src="data:image/png;base64,@@not base64@@"><img src="data:image/svg+xml,%3Csvg%3E"></body></html>')
    r = eng.scan(page.encode(), name="team.html")
    parts = {p.part: p for p in r.document.parts}
    assert parts["picture 1"].kind == "image" and parts["picture 1"].faces == 1
    assert parts["picture 2"].error is not None  # reported, the page still scanned
    assert "picture 3" not in parts and r.error is None


def test_a_picture_of_several_megabytes_does_not_cut_the_page_short(eng):
    import base64
    import os

    blob = base64.b64encode(os.urandom(8_300_000)).decode()  # an 11 MB address
    page = (f'<html><body><p>Before</p><img src="data:image/png;base64,{blob}">'
            f'<p>Write to {make.EMAIL}</p></body></html>')
    r = eng.scan(page.encode(), name="big.html")
    assert where(r, "pii/email") == [(None, "body")]
    assert "picture 1" in {p.part for p in r.document.parts}


def test_a_broken_workbook_index_still_leaves_pictures_and_files_scanned(eng):
    book = make.xlsx({"S": [["x"]]})
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = b"<Relationships" if info.filename == "xl/_rels/workbook.xml.rels" else src.read(info)
            dst.writestr(info, data)
    broken = make.with_members(out.getvalue(), {"xl/embeddings/note.docx": make.docx([make.THREAT])})
    r = eng.scan(broken, name="book.xlsx")
    assert (None, "embedded note.docx > body") in where(r, "harassment/threatening")
    assert any(p.part == "workbook" and p.error for p in r.document.parts)


def test_email_body_headers_and_attachments_recursively(eng):
    inner = make.docx([make.THREAT])
    data = make.eml(f"see attached, {make.EMAIL}", [
        ("notes.docx", inner, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("face.jpg", make.FACE.read_bytes(), "image/jpeg")])
    r = eng.scan(data, name="mail.eml")
    assert r.media_type == "message/rfc822"
    parts = [p.part for p in r.document.parts]
    assert parts[:2] == ["headers", "body"]
    assert "attachment notes.docx > body" in parts and "attachment face.jpg" in parts
    assert (None, "attachment notes.docx > body") in where(r, "harassment/threatening")
    assert (None, "body") in where(r, "pii/email")


def test_archives_recursively_with_member_paths(eng):
    pdf = make.text_pdf(["nothing here", make.THREAT])
    data = make.zip_of({"docs/a.pdf": pdf, "../../evil.txt": make.THREAT.encode(),
                        "in.zip": make.zip_of({"x.txt": f"mail {make.EMAIL}".encode()})})
    r = eng.scan(data, name="bundle.zip")
    assert r.kind == "archive"
    assert (2, "member docs/a.pdf > text") in where(r, "harassment")
    assert (None, "member evil.txt") in where(r, "harassment")  # the name made safe...
    assert any("'../../evil.txt' has an unsafe path" in n for n in r.notes)  # ...and reported
    assert where(r, "pii/email") == [(None, "member in.zip > member x.txt")]
    r = eng.scan(make.tar_gz_of({"a.txt": make.THREAT.encode(), "b/face.jpg": make.FACE.read_bytes()}), name="t.tgz")
    assert (None, "member t.tar > member a.txt") in where(r, "harassment") or \
        (None, "member t.tgz.unpacked > member a.txt") in where(r, "harassment")
    assert any(p.part.endswith("member b/face.jpg") and p.faces == 1 for p in r.document.parts)


def test_member_names_are_made_safe():
    assert safe_name("../../etc/passwd") == ("etc/passwd", True)
    assert safe_name("/abs/x.txt") == ("abs/x.txt", True)
    assert safe_name("C:\\win\\x.txt") == ("C:/win/x.txt", True)
    assert safe_name("ok/a..b.txt") == ("ok/a..b.txt", False)


def test_zip_bomb_deep_nesting_and_too_many_members_are_refused(eng, tmp_path):
    with pytest.raises(ArchiveBombError, match="zip bomb"):
        eng.scan(make.zip_bomb(), name="bomb.zip")
    nested = make.THREAT.encode()
    for i in range(6):
        nested = make.zip_of({f"level{i}.zip" if i else "deep.txt": nested})
    with pytest.raises(TooDeepError, match="nested deeper than 4"):
        eng.scan(nested, name="russian.zip")
    many = make.zip_of({f"f{i}.txt": b"x" for i in range(50)})
    with pytest.raises(ArchiveBombError, match="50 members is over the limit of 20"):
        Engine(Settings(home=tmp_path, max_archive_members=20)).scan(many, name="many.zip")
    # Refused, but in a batch the other inputs go on, and the bomb's other parts were scanned.
    bomb_and_text = make.zip_of({"note.txt": f"mail {make.EMAIL}".encode()})[:-22]  # cut: corrupt
    results = list(eng.scan_many([make.zip_bomb(), bomb_and_text, make.FACE]))
    assert [r.action for r in results] == ["error", "error", "allow"]
    assert results[0].error.code == "archive_bomb" and results[1].error.code == "corrupt_input"


def test_one_bad_part_does_not_stop_the_rest(eng):
    r = eng.scan(make.encrypted_member_zip(), name="mixed.zip")
    by_part = {p.part: p for p in r.document.parts}
    assert by_part["member secret.txt"].error.code == "encrypted"
    assert by_part["member plain.txt"].error is None and r.action == "allow"
    data = make.zip_of({"broken.pdf": b"%PDF-1.7\nnot really", "fine.txt": make.THREAT.encode()})
    r = eng.scan(data, name="mixed2.zip")
    assert {p.part: (p.error.code if p.error else None) for p in r.document.parts} == {
        "member broken.pdf": "corrupt_input", "member fine.txt": None}
    assert (None, "member fine.txt") in where(r, "harassment")


def test_type_comes_from_content_not_the_name(eng, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(make.docx([f"mail {make.EMAIL}"]))
    r = eng.scan(path)
    assert r.media_type.endswith("wordprocessingml.document") and where(r, "pii/email") == [(None, "body")]
    with pytest.raises(CorruptInputError):
        eng.scan(b"%PDF-1.4\n" + b"\x00" * 500, name="x.pdf")


def test_cli_scans_a_folder_of_documents(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(make.text_pdf([make.THREAT]))
    (folder / "b.zip").write_bytes(make.zip_of({"x.txt": f"mail {make.EMAIL}".encode()}))
    res = CliRunner().invoke(app, ["scan", str(folder), "--format", "json", "--workers", "1"])
    assert res.exit_code == 1, res.output
    out = {Path(d["source"]).name: d for d in json.loads(res.stdout)}
    assert out["a.pdf"]["document"]["pages"] == 1
    assert out["b.zip"]["findings"][0]["location"]["part"] == "member x.txt"


def _overlapping_zip() -> bytes:
    """Two members whose central-directory entries point at the same data."""
    data = bytearray(make.zip_of({"a.txt": b"first member", "b.txt": b"second member"}))
    first = data.find(b"PK\x01\x02")
    second = data.find(b"PK\x01\x02", first + 4)
    data[second + 42:second + 46] = data[first + 42:first + 46]
    return bytes(data)


def test_malformed_containers_never_crash_the_scan(eng, tmp_path):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_LZMA) as zf:
        zf.writestr("packed.txt", make.THREAT * 50)
    raw = bytearray(buf.getvalue())
    raw[60:80] = b"\xff" * 20  # damage the LZMA stream
    lzma_zip = bytes(raw)
    broken_xlsx = make.zip_of({"xl/workbook.xml": b"<workbook/>", "[Content_Types].xml": b"<Types/>"})
    deep_odt = make.odt(["<text:span>" * 3000 + "deep words" + "</text:span>" * 3000])
    slow_html = b"<!DOCTYPE html><html><body>" + b"<a" * 200_000 + b"</body></html>"
    shared = make.zip_of({f"in{i}.zip": make.zip_of({f"f{j}.txt": b"x" for j in range(8)}) for i in range(3)})
    results = list(Engine(Settings(home=tmp_path, max_archive_members=20)).scan_many(
        [lzma_zip, broken_xlsx, deep_odt, slow_html, _overlapping_zip(), shared]))
    lz, xl, od, ht, overlap, nested = results
    assert lz.document.parts[0].error.code == "corrupt_input"
    assert xl.ok and xl.document.parts[0].error.code == "corrupt_input"  # missing workbook rels: one bad part
    assert od.ok and od.document.parts[0].size == len("deep words")  # 3,000 nested spans: no recursion limit
    assert ht.ok
    assert overlap.error.code == "archive_bomb" and "same data" in overlap.error.message
    # 3 x 8 members inside one zip: the limit of 20 counts across the nesting.
    assert nested.error.code == "archive_bomb" and "in all" in nested.error.message


def test_real_world_mail_headers_and_commented_html_are_recognised():
    from tamis.content.sniff import sniff

    gmail = (b"ARC-Seal: i=1; a=rsa-sha256\r\n\tb=abc\r\nDKIM-Signature: v=1\r\nReceived-SPF: pass\r\n"
             b"Authentication-Results: mx.example.com\r\nFrom: a@example.com\r\nSubject: hi\r\n\r\nbody")
    assert sniff(gmail).media_type == "message/rfc822"
    assert sniff(b"<!-- saved from url=(0014)about:internet -->\n<!DOCTYPE html><html></html>").kind == "document"
    assert sniff(b"Date: tomorrow\nTime: 5pm\n\nSee you there").media_type == "text/plain"
