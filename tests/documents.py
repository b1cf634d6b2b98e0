"""Documents and archives built for the tests and the benchmark, with the libraries people
write them with (reportlab, python-docx, python-pptx, openpyxl) or by hand (ODT, EML)."""

from __future__ import annotations

import io
import tarfile
import zipfile
from email.message import EmailMessage
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "images"
FACE = SAMPLES / "astronaut_portrait.jpg"
EMAIL = "jane.roe@example.org"
THREAT = "I will find you and kill you, you worthless piece of garbage"


def _font(size: int):
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def text_pdf(pages: list[str], image: Path | None = None, encrypt: str | None = None,
             link: str | None = None, comment: str | None = None, title: str | None = None,
             field: str | None = None) -> bytes:
    """A PDF with a text layer, one string per page (lines split on newlines); ``image`` is
    drawn on the first page, and the first page gets a "click here" ``link`` and a sticky-note
    ``comment`` when given."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, encrypt=encrypt)
    if title is not None:
        c.setTitle(title)
    for i, text in enumerate(pages):
        y = 800
        for line in text.split("\n"):
            c.drawString(60, y, line)
            y -= 16
        if image is not None and i == 0:
            c.drawImage(str(image), 60, 300, width=240, height=320)
        if link is not None and i == 0:
            c.drawString(60, 200, "click here")
            c.linkURL(link, (60, 195, 200, 212), relative=0)
        if comment is not None and i == 0:
            c.textAnnotation(comment, Rect=(300, 150, 400, 250))
        if field is not None and i == 0:
            c.acroForm.textfield(name="comments", x=60, y=100, width=400, height=30, value=field)
        c.showPage()
    c.save()
    return buf.getvalue()


def scanned_pdf(lines: list[str]) -> bytes:
    """A PDF of one page that is only a picture of text (no text layer), as a scanner makes."""
    page = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(lines):
        draw.text((100, 150 + i * 70), line, fill="black", font=_font(40))
    buf = io.BytesIO()
    page.save(buf, format="PDF", resolution=150)
    return buf.getvalue()


def docx(paragraphs: list[str], image: Path | None = None, title: str | None = None) -> bytes:
    from docx import Document
    from docx.shared import Inches

    d = Document()
    if title is not None:
        d.core_properties.title = title
    for p in paragraphs:
        d.add_paragraph(p)
    if image is not None:
        d.add_picture(str(image), width=Inches(2))
    d.sections[0].header.paragraphs[0].text = "Quarterly notes"
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def pptx(slides: list[str], notes: str | None = None, picture_on: int | None = None) -> bytes:
    """Slides of text; ``picture_on``: the slide (from 1) that also shows the face photo."""
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    for number, text in enumerate(slides, 1):
        slide = prs.slides.add_slide(prs.slide_layouts[5])
        slide.shapes.title.text = "Slide"
        box = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(6), Inches(2))
        box.text_frame.text = text
        if number == picture_on:
            slide.shapes.add_picture(str(FACE), Inches(6), Inches(3), width=Inches(2))
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def xlsx(rows: dict[str, list[list]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, data in rows.items():
        ws = wb.create_sheet(name)
        for row in data:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def odt(paragraphs: list[str]) -> bytes:
    body = "".join(f"<text:p>{p}</text:p>" for p in paragraphs)
    content = ('<?xml version="1.0" encoding="UTF-8"?>'
               '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
               'xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.2">'
               f"<office:body><office:text>{body}</office:text></office:body></office:document-content>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", "<manifest/>")
    return buf.getvalue()


def html_page(body: str) -> bytes:
    return (f"<!DOCTYPE html><html><head><title>Offers</title><style>p{{color:red}}</style>"
            f"<script>var secret = 'not text';</script></head><body><h1>Welcome</h1><p>{body}</p>"
            f"<a href='https://example.com/win'>click</a></body></html>").encode()


def eml(body: str, attachments: list[tuple[str, bytes, str]]) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Sender <sender@example.com>"
    msg["To"] = "someone@example.net"
    msg["Subject"] = "Documents"
    msg.set_content(body)
    for name, data, mime in attachments:
        maintype, subtype = mime.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(msg)


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def tar_gz_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bomb(unpacked: int = 300 << 20) -> bytes:
    """One member of ``unpacked`` zero bytes: about a thousand to one."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("zeros.txt", "w", force_zip64=True) as fh:
            chunk = b"\0" * (1 << 20)
            for _ in range(unpacked >> 20):
                fh.write(chunk)
    return buf.getvalue()


def encrypted_member_zip() -> bytes:
    """A zip whose member claims to be encrypted (the flag bit set), beside a plain member."""
    data = bytearray(zip_of({"secret.txt": b"hidden words", "plain.txt": b"plain words here"}))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        pos = data.find(sig)
        flag_at = pos + (6 if sig == b"PK\x03\x04" else 8)
        data[flag_at] |= 0x01
    return bytes(data)


def with_members(package: bytes, members: dict[str, bytes]) -> bytes:
    """``package`` (an Office file or any zip) with ``members`` added, as an application
    that embeds a file or a picture would store them."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        for name, data in members.items():
            dst.writestr(name, data)
    return out.getvalue()
