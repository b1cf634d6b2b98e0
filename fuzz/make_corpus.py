"""Write the seed corpora of the fuzzer: small valid files of every format tamis reads.

    .venv/bin/python fuzz/make_corpus.py            # rewrites fuzz/corpus/
    .venv/bin/python fuzz/make_corpus.py --check    # exit 1 if the files on disk differ

Deterministic: the same library versions write the same bytes (fixed dates, zip and tar
timestamps, MIME boundaries, bit-exact muxing). The files are committed, so the fuzzer
runs without writing libraries installed; this script documents how each was made. Seeds
are kept small (mostly under 20 KB): a mutation then hits the structure, not the payload.

Pictures are drawn here or cut small from samples/images (Apache-2.0 or their own licences,
samples/README.md). The e-mail addresses (example.com/.org) and 555 numbers are fictional.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import io
import json
import shutil
import sys
import tarfile
import tempfile
import zipfile
from email.message import EmailMessage
from email.policy import default as email_default
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SAMPLES = ROOT / "samples" / "images"
CORPUS = HERE / "corpus"
FIXED = dt.datetime(2024, 1, 2, 3, 4, 5)
ZIP_TIME = (2024, 1, 2, 3, 4, 6)
EMAIL = "jane.roe@example.org"
PHONE = "(202) 555-0143"
SCAM = "Congratulations! You won a $5,000 gift card. Send your bank login to claim it."


# -- pictures ---------------------------------------------------------------------------


def picture(w: int = 48, h: int = 40, seed: int = 0, text: str | None = "Hi") -> Image.Image:
    """A small RGB picture with a gradient, shapes and a little text (deterministic)."""
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([(x * 255 // max(1, w - 1)), (y * 255 // max(1, h - 1)),
                    ((x + y + seed * 37) * 7) % 256], axis=-1).astype(np.uint8)
    img = Image.fromarray(arr, "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse((w // 6, h // 6, w // 2, h // 2), fill=(200, 40 + seed * 30 % 200, 60))
    d.rectangle((w // 2, h // 2, w - 4, h - 4), outline=(0, 0, 0), width=2)
    if text:
        d.text((3, h - 14), text, fill=(255, 255, 255))
    return img


def photo(w: int = 64, h: int = 48) -> Image.Image:
    """A real photo, made small (PDQ needs some texture to give a good quality)."""
    return Image.open(SAMPLES / "cat.jpg").convert("RGB").resize((w, h), Image.LANCZOS)


def save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def frames(n: int = 3, w: int = 40, h: int = 32) -> list[Image.Image]:
    return [picture(w, h, seed=i, text=str(i)) for i in range(n)]


def png() -> dict[str, bytes]:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", f"contact {EMAIL}")
    info.add_itxt("Description", "caf\u00e9 \u263a", lang="fr", tkey="D")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90
    rgba = picture(24, 20).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((24, 20)))
    pal = picture(32, 24).convert("P", palette=Image.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    gray16 = _i16(250)
    apng = frames(3, 24, 20)
    return {
        "rgb.png": save(photo(48, 36), "PNG", pnginfo=info, optimize=True),
        "rgba.png": save(rgba, "PNG"),
        "palette_transparent.png": save(pal, "PNG", transparency=0),
        "gray16.png": save(gray16, "PNG"),
        "exif_rotated.png": save(picture(30, 20), "PNG", exif=exif),
        "animated.png": save(apng[0], "PNG", save_all=True, append_images=apng[1:], duration=[50, 100, 150],
                             loop=0),
        "one_bit.png": save(picture(40, 16).convert("1"), "PNG"),
    }


def jpeg() -> dict[str, bytes]:
    exif = Image.Exif()
    exif[0x0112] = 8
    exif[0x010E] = "a description"
    return {
        "baseline.jpg": save(photo(64, 48), "JPEG", quality=70),
        "progressive.jpg": save(photo(64, 48), "JPEG", quality=70, progressive=True, optimize=True),
        "exif_orientation.jpg": save(picture(40, 30), "JPEG", quality=60, exif=exif),
        "gray.jpg": save(picture(32, 32).convert("L"), "JPEG", quality=60),
        "cmyk.jpg": save(picture(24, 24).convert("CMYK"), "JPEG", quality=60),
        "subsampling_444_restart.jpg": save(picture(40, 24), "JPEG", quality=80, subsampling=0,
                                            restart_marker_blocks=1),
    }


def gif() -> dict[str, bytes]:
    fr = frames(4, 40, 32)
    flash = [picture(32, 24, 1, None)] * 2 + [Image.new("RGB", (32, 24), "white")] + [picture(32, 24, 1, None)] * 2
    return {
        "animated.gif": save(fr[0], "GIF", save_all=True, append_images=fr[1:], duration=[80, 10, 200, 0], loop=0),
        "flash.gif": save(flash[0], "GIF", save_all=True, append_images=flash[1:], duration=100, disposal=2),
        "still.gif": save(picture(32, 24).convert("P"), "GIF"),
        "transparent.gif": save(picture(24, 24).convert("P"), "GIF", transparency=3, comment=b"a comment"),
        "gif87a.gif": save(picture(16, 16).convert("P"), "GIF", interlace=False).replace(b"GIF89a", b"GIF87a", 1),
    }


def webp() -> dict[str, bytes]:
    fr = frames(3, 32, 24)
    rgba = picture(24, 24).convert("RGBA")
    rgba.putalpha(128)
    return {
        "lossy.webp": save(photo(48, 36), "WEBP", quality=50, method=6),
        "lossless.webp": save(picture(32, 24), "WEBP", lossless=True),
        "alpha.webp": save(rgba, "WEBP", quality=50),
        "animated.webp": save(fr[0], "WEBP", save_all=True, append_images=fr[1:], duration=[40, 100, 200],
                              quality=40, loop=0),
    }


def bmp() -> dict[str, bytes]:
    rgba = picture(16, 12).convert("RGBA")
    return {
        "rgb24.bmp": save(picture(32, 24), "BMP"),
        "palette8.bmp": save(picture(24, 16).convert("P", palette=Image.ADAPTIVE, colors=32), "BMP"),
        "one_bit.bmp": save(picture(32, 16).convert("1"), "BMP"),
        "rgba32.bmp": save(rgba, "BMP"),
        "gray.bmp": save(picture(20, 20).convert("L"), "BMP"),
    }


def tiff() -> dict[str, bytes]:
    fr = frames(2, 24, 16)
    return {
        "raw.tiff": save(picture(24, 16), "TIFF"),
        "lzw.tiff": save(photo(40, 30), "TIFF", compression="tiff_lzw"),
        "deflate.tiff": save(picture(24, 24), "TIFF", compression="tiff_adobe_deflate"),
        "packbits_gray.tiff": save(picture(24, 16).convert("L"), "TIFF", compression="packbits"),
        "multipage.tiff": save(fr[0], "TIFF", save_all=True, append_images=fr[1:]),
        "gray16.tiff": save(_i16(200), "TIFF"),
        "big_endian16.tiff": save(_i16b(), "TIFF", tiffinfo={270: "described"}),
    }


def _i16(step: int) -> Image.Image:
    arr = (np.arange(256, dtype=np.uint32).reshape(16, 16) * step).astype("<u2")
    return Image.frombytes("I;16", (16, 16), arr.tobytes())


def _i16b() -> Image.Image:
    """A 16-bit big-endian grey picture: Pillow writes it as a big-endian (MM) TIFF."""
    arr = (np.arange(256, dtype=np.uint16).reshape(16, 16) * 99).astype(">u2")
    return Image.frombytes("I;16B", (16, 16), arr.tobytes())


def heic() -> dict[str, bytes]:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return {"photo.heic": save(photo(64, 48), "HEIF", quality=30)}


def avif() -> dict[str, bytes]:
    return {"photo.avif": save(photo(64, 48), "AVIF", quality=30),
            "alpha.avif": save(picture(32, 24).convert("RGBA"), "AVIF", quality=30)}


# -- documents ----------------------------------------------------------------------------


def _zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED,
         stored: tuple[str, ...] = ("mimetype",)) -> bytes:
    """A zip with fixed timestamps, members in the order given."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED if name in stored else method
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def renormalised(package: bytes, drop: tuple[str, ...] = ()) -> bytes:
    """A zip (an Office file a library wrote) rewritten with fixed timestamps and dates,
    maximum compression, and the parts ``drop`` left out together with the relationships
    and content types that name them (parts tamis does not read: styles, themes, fonts)."""
    import posixpath
    import re

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2024-01-02T03:04:05Z", data)
            elif info.filename == "[Content_Types].xml":
                for name in drop:
                    data = re.sub(rb'<Override PartName="/' + re.escape(name.encode()) + rb'"[^>]*/>', b"", data)
            elif info.filename.endswith(".rels"):
                folder = posixpath.dirname(posixpath.dirname(info.filename))

                def keep(m: re.Match, folder: str = folder) -> bytes:
                    target = re.search(rb'Target="([^"]*)"', m.group(0)).group(1).decode()
                    path = posixpath.normpath(posixpath.join(folder, target)).lstrip("/")
                    return b"" if path in drop else m.group(0)

                data = re.sub(rb"<Relationship [^>]*/>", keep, data)
            new = zipfile.ZipInfo(info.filename, ZIP_TIME)
            new.compress_type = zipfile.ZIP_DEFLATED
            new.external_attr = 0o644 << 16
            dst.writestr(new, data, compresslevel=9)
    return out.getvalue()


def pdf() -> dict[str, bytes]:
    from reportlab.lib.pagesizes import A6
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    def doc(pages, image=False, link=False, note=False, field=False, encrypt=None, compress=1):
        buf = io.BytesIO()
        c = canvas.Canvas(buf, pagesize=A6, invariant=1, pageCompression=compress, encrypt=encrypt)
        c.setTitle("Fuzz seed")
        c.setAuthor(EMAIL)
        for i, text in enumerate(pages):
            y = 380
            for line in text.split("\n"):
                c.drawString(20, y, line)
                y -= 14
            if image and i == 0:
                c.drawImage(ImageReader(photo(32, 24)), 20, 200, width=64, height=48)
            if link and i == 0:
                c.drawString(20, 150, "click here")
                c.linkURL("https://example.com/win", (20, 145, 100, 160), relative=0)
            if note and i == 0:
                c.textAnnotation(f"call {PHONE}", Rect=(150, 100, 250, 200))
            if field and i == 0:
                c.acroForm.textfield(name="comments", x=20, y=60, width=200, height=20, value="field text")
            c.showPage()
        c.save()
        return buf.getvalue()

    scanned = io.BytesIO()
    page = Image.new("L", (120, 80), 255)
    ImageDraw.Draw(page).text((5, 30), "scanned text", fill=0)
    page.save(scanned, format="PDF", resolution=50, creationDate=FIXED.timetuple(), modDate=FIXED.timetuple())
    return {
        "text.pdf": doc([f"Meeting notes\nsend to {EMAIL}", "Page two\n" + SCAM]),
        "uncompressed.pdf": doc(["plain streams", "second"], compress=0),
        "image_link_note_field.pdf": doc([f"call {PHONE}"], image=True, link=True, note=True, field=True),
        "scanned.pdf": scanned.getvalue(),
        "encrypted.pdf": doc(["secret"], encrypt="pw"),
    }


def _set_core(props) -> None:
    props.author = "tamis fuzz"
    props.title = "seed"
    props.created = FIXED
    props.modified = FIXED
    props.last_modified_by = "tamis"
    try:
        props.last_printed = FIXED
    except AttributeError:
        pass
    props.revision = 1


def docx() -> dict[str, bytes]:
    from docx import Document
    from docx.shared import Inches

    d = Document()
    _set_core(d.core_properties)
    d.add_paragraph(SCAM)
    p = d.add_paragraph(f"Write to {EMAIL}\tor call ")
    p.add_run(PHONE).bold = True
    d.add_picture(io.BytesIO(save(photo(32, 24), "PNG")), width=Inches(1))
    table = d.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "cell one"
    table.cell(0, 1).text = "cell two"
    d.sections[0].header.paragraphs[0].text = "Header text"
    d.sections[0].footer.paragraphs[0].text = "Footer text"
    buf = io.BytesIO()
    d.save(buf)
    # Styles are 350 KB of XML (11 KB packed) tamis never reads: left out, with the parts
    # that refer to them, so that mutations hit what is read.
    made = renormalised(buf.getvalue(), drop=("word/styles.xml", "word/stylesWithEffects.xml",
                                              "word/theme/theme1.xml", "word/fontTable.xml",
                                              "word/webSettings.xml"))
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    r = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    minimal = _zip([
        ("[Content_Types].xml", _content_types({"/word/document.xml": "application/vnd.openxmlformats-officedocument."
                                                "wordprocessingml.document.main+xml"})),
        ("_rels/.rels", _rels([("rId1", "officeDocument", "word/document.xml", None)])),
        ("word/document.xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{w}" xmlns:r="{r}">'
            f"<w:body><w:p><w:r><w:t>Hello {EMAIL}</w:t><w:tab/><w:t>tabbed</w:t><w:br/><w:t>broken</w:t></w:r>"
            '<w:hyperlink r:id="rId9"><w:r><w:t>click here</w:t></w:r></w:hyperlink></w:p>'
            "</w:body></w:document>").encode()),
        ("word/_rels/document.xml.rels", _rels([("rId9", "hyperlink", "https://example.com/x", "External")])),
        ("word/comments.xml", f'<w:comments xmlns:w="{w}"><w:comment w:id="0"><w:p><w:r><w:t>a comment'
                              "</w:t></w:r></w:p></w:comment></w:comments>".encode()),
        ("word/footnotes.xml", f'<w:footnotes xmlns:w="{w}"><w:footnote w:id="1"><w:p><w:r><w:t>a note'
                               "</w:t></w:r></w:p></w:footnote></w:footnotes>".encode()),
        ("word/embeddings/inner.txt", b"an embedded file"),
        ("docProps/core.xml", _core_xml()),
    ])
    return {"made_with_python_docx.docx": made, "minimal.docx": minimal}


def _content_types(overrides: dict[str, str]) -> bytes:
    parts = "".join(f'<Override PartName="{k}" ContentType="{v}"/>' for k, v in overrides.items())
    return ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Default Extension="png" ContentType="image/png"/>' + parts + "</Types>").encode()


def _rels(rels: list[tuple[str, str, str, str | None]]) -> bytes:
    base = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    body = "".join(f'<Relationship Id="{i}" Type="{base}{t}" Target="{target}"'
                   + (f' TargetMode="{mode}"' if mode else "") + "/>" for i, t, target, mode in rels)
    return ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships">' + body + "</Relationships>").encode()


def _core_xml() -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/'
            'package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<dc:title>A title</dc:title><dc:creator>{EMAIL}</dc:creator><dc:description>described"
            "</dc:description><cp:keywords>one, two</cp:keywords></cp:coreProperties>").encode()


def pptx() -> dict[str, bytes]:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    _set_core(prs.core_properties)
    for number, text in enumerate([SCAM, f"Contact {EMAIL}"], 1):
        slide = prs.slides.add_slide(prs.slide_layouts[6])  # blank: no placeholders
        box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(5), Inches(1))
        box.text_frame.text = text
        if number == 1:
            slide.shapes.add_picture(io.BytesIO(save(photo(32, 24), "PNG")), Inches(1), Inches(3))
            slide.notes_slide.notes_text_frame.text = "speaker notes"
    blank = prs.slide_layouts[6]
    for layout in [lay for lay in prs.slide_layouts if lay is not blank]:
        prs.slide_layouts.remove(layout)  # unused layouts: half the size of the template
    buf = io.BytesIO()
    prs.save(buf)
    made = renormalised(buf.getvalue())
    a = "http://schemas.openxmlformats.org/drawingml/2006/main"
    p = "http://schemas.openxmlformats.org/presentationml/2006/main"
    slide_xml = (f'<p:sld xmlns:a="{a}" xmlns:p="{p}"><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>{{}}'
                 "</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>")
    minimal = _zip([
        ("[Content_Types].xml", _content_types({})),
        ("_rels/.rels", _rels([("rId1", "officeDocument", "ppt/presentation.xml", None)])),
        ("ppt/presentation.xml", f'<p:presentation xmlns:p="{p}"/>'.encode()),
        ("ppt/slides/slide1.xml", slide_xml.format("first slide").encode()),
        ("ppt/slides/slide2.xml", slide_xml.format(f"second {EMAIL}").encode()),
        ("ppt/slides/_rels/slide1.xml.rels", _rels([("rId2", "image", "../media/image1.png", None),
                                                     ("rId3", "hyperlink", "https://example.com/", "External")])),
        ("ppt/media/image1.png", save(picture(16, 16), "PNG")),
        ("ppt/notesSlides/notesSlide1.xml", slide_xml.format("notes").encode()),
    ])
    return {"made_with_python_pptx.pptx": made, "minimal.pptx": minimal}


def xlsx() -> dict[str, bytes]:
    from openpyxl import Workbook

    wb = Workbook()
    _set_core(wb.properties)
    ws = wb.active
    ws.title = "Sales"
    ws.append(["name", "contact", "amount"])
    ws.append(["Jane", EMAIL, 12.5])
    ws.append(["Lee", PHONE, 7])
    ws["E1"] = "=SUM(C2:C3)"
    ws["A5"].hyperlink = "https://example.com/link"
    other = wb.create_sheet("Notes")
    other.append([SCAM])
    buf = io.BytesIO()
    wb.save(buf)
    made = renormalised(buf.getvalue())
    s = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    r = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    minimal = _zip([
        ("[Content_Types].xml", _content_types({})),
        ("xl/workbook.xml", f'<workbook xmlns="{s}" xmlns:r="{r}"><sheets><sheet name="One" sheetId="1" r:id="rId1"/>'
                            '<sheet name="Two" sheetId="2" r:id="rId2"/></sheets></workbook>'.encode()),
        ("xl/_rels/workbook.xml.rels", _rels([("rId1", "worksheet", "worksheets/sheet1.xml", None),
                                              ("rId2", "worksheet", "/xl/worksheets/sheet2.xml", None)])),
        ("xl/sharedStrings.xml", f'<sst xmlns="{s}"><si><t>shared one</t></si><si><r><t>rich </t></r><r><t>two</t>'
                                 "</r></si></sst>".encode()),
        ("xl/worksheets/sheet1.xml", f'<worksheet xmlns="{s}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c>'
                                     '<c r="B1" t="s"><v>1</v></c><c r="C1"><v>3.5</v></c></row><row r="2">'
                                     f'<c r="A2" t="inlineStr"><is><t>{EMAIL}</t></is></c><c r="B2" t="str">'
                                     "<v>formula text</v></c></row></sheetData></worksheet>".encode()),
        ("xl/worksheets/sheet2.xml", f'<worksheet xmlns="{s}"><sheetData><row r="1"><c r="A1" t="s"><v>7</v></c>'
                                     "</row></sheetData></worksheet>".encode()),
    ])
    return {"made_with_openpyxl.xlsx": made, "minimal.xlsx": minimal}


_ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
           'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/" '
           'xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.2"')


def _odf(mime: str, body: str, picture_name: str | None = None) -> bytes:
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS}>'
               f"<office:body>{body}</office:body></office:document-content>")
    meta = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {_ODF_NS}><office:meta>'
            f"<dc:title>ODF seed</dc:title><meta:keyword>k</meta:keyword><dc:creator>{EMAIL}</dc:creator>"
            "</office:meta></office:document-meta>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                'opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" '
                f'manifest:media-type="{mime}"/></manifest:manifest>')
    members = [("mimetype", mime.encode()), ("content.xml", content.encode()), ("meta.xml", meta.encode()),
               ("META-INF/manifest.xml", manifest.encode())]
    if picture_name:
        members.append((f"Pictures/{picture_name}", save(picture(24, 16), "PNG")))
    return _zip(members)


def odt() -> dict[str, bytes]:
    body = ("<office:text><text:h>Heading</text:h><text:p>Para one<text:tab/>tab<text:line-break/>line "
            f"<text:s/>spaced <text:span>{EMAIL}</text:span></text:p>"
            '<text:p>A <text:a xlink:href="https://example.com/odt">link</text:a> and '
            '<text:a xlink:href="#local">anchor</text:a></text:p>'
            f"<text:list><text:list-item><text:p>{SCAM}</text:p></text:list-item></text:list>"
            '<draw:frame><draw:image xlink:href="Pictures/p.png"/></draw:frame></office:text>')
    return {"text.odt": _odf("application/vnd.oasis.opendocument.text", body, "p.png"),
            "empty_body.odt": _odf("application/vnd.oasis.opendocument.text", "<office:text/>")}


def ods() -> dict[str, bytes]:
    body = ('<office:spreadsheet><table:table table:name="Sheet1"><table:table-row>'
            "<table:table-cell><text:p>name</text:p></table:table-cell>"
            f"<table:table-cell><text:p>{EMAIL}</text:p></table:table-cell></table:table-row>"
            '<table:table-row><table:table-cell table:number-columns-repeated="3"><text:p>rep</text:p>'
            "</table:table-cell></table:table-row></table:table></office:spreadsheet>")
    return {"sheet.ods": _odf("application/vnd.oasis.opendocument.spreadsheet", body)}


def _data_uri(img: Image.Image, fmt: str = "PNG") -> str:
    import base64

    return f"data:image/{fmt.lower()};base64," + base64.b64encode(save(img, fmt)).decode()


def html() -> dict[str, bytes]:
    page = (f"<!DOCTYPE html><html><head><title>Offers</title><style>p{{color:red}}</style>"
            f"<script>var secret = 'not text';</script></head><body><h1>Welcome</h1><p>{SCAM}</p>"
            f"<a href='https://example.com/win'>click</a> <a href='mailto:{EMAIL}'>mail</a>"
            f"<img alt='a cat' src='{_data_uri(picture(16, 16))}'><noscript>hidden</noscript>"
            "<table><tr><td>cell</td><th>head</th></tr></table><!-- a comment --></body></html>")
    return {
        "page.html": page.encode(),
        "comment_first.html": b"<!-- generated --><!doctype html><HTML><BODY><P>Call (202) 555-0143<BR>now"
                              b"<template>tpl</template></BODY></HTML>",
        "xhtml.html": b'<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
                      b"<p title='t'>caf\xc3\xa9 &amp; &#x263a; &nbsp; &bogus;</p><img src='data:image/svg+xml,"
                      b"%3Csvg%3E'/></body></html>",
        "unclosed.html": b"<html><body><div><p>unclosed <b>bold <i>italic<ul><li>one<li>two",
    }


def _fixed_boundaries(msg: EmailMessage) -> EmailMessage:
    for i, part in enumerate(msg.walk()):
        if part.is_multipart():
            part.set_boundary(f"==tamis-fuzz-{i}==")
    return msg


def eml() -> dict[str, bytes]:
    a = EmailMessage()
    a["From"] = "Sender <sender@example.com>"
    a["To"] = "someone@example.net"
    a["Subject"] = "Documents"
    a["Date"] = "Tue, 02 Jan 2024 03:04:05 +0000"
    a.set_content(f"Please find attached.\nCall {PHONE}.\n")
    a.add_alternative(f"<html><body><p>{SCAM}</p><img src='{_data_uri(picture(12, 12))}'></body></html>",
                      subtype="html")
    a.add_attachment(save(picture(24, 16), "PNG"), maintype="image", subtype="png", filename="pic.png")
    a.add_attachment(b"plain attachment text " + EMAIL.encode(), maintype="text", subtype="plain",
                     filename="notes.txt")

    inner = EmailMessage()
    inner["From"] = "inner@example.com"
    inner["Subject"] = "Forwarded"
    inner.set_content("the forwarded body")
    b = EmailMessage()
    b["From"] = "fwd@example.com"
    b["To"] = "x@example.net"
    b["Subject"] = "=?utf-8?q?Fw=3A_caf=C3=A9?="
    b.set_content("see below", charset="iso-8859-1", cte="quoted-printable")
    b.add_attachment(inner)
    b.add_attachment(_zip([("in_zip.txt", b"zipped text")]), maintype="application", subtype="zip",
                     filename="../../evil.zip")

    c = EmailMessage(policy=email_default)
    c["From"] = "a@example.com"
    c["To"] = "b@example.com"
    c["Subject"] = "plain"
    c.set_content("\u00e9t\u00e9 " * 10, charset="utf-8", cte="base64")
    raw = (b"From: raw@example.com\r\nTo: t@example.com\r\nSubject: raw\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain; charset=bogus\r\n"
           b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbody\r\n--XX\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Disposition: attachment; filename*=utf-8''na%C3%AFve.bin\r\nContent-Transfer-Encoding: base64"
           b"\r\n\r\nAAECAwQ=\r\n--XX--\r\n")
    return {"attachments.eml": bytes(_fixed_boundaries(a)), "forwarded.eml": bytes(_fixed_boundaries(b)),
            "base64_body.eml": bytes(c), "hand_written.eml": raw}


def zip_() -> dict[str, bytes]:
    nested = _zip([("deep/inner.txt", f"inner text {EMAIL}".encode())])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:  # one member each way the stdlib compresses
        for name, method in (("stored.txt", zipfile.ZIP_STORED), ("deflated.txt", zipfile.ZIP_DEFLATED),
                             ("bzip2.txt", zipfile.ZIP_BZIP2), ("lzma.txt", zipfile.ZIP_LZMA)):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = method
            zf.writestr(info, f"{name}: {SCAM}".encode())
    return {
        "mixed.zip": _zip([("notes/readme.txt", f"Questions: {EMAIL}".encode()),
                           ("pictures/pic.png", save(picture(24, 16), "PNG")),
                           ("pictures/pic.gif", gif()["animated.gif"]),
                           ("nested.zip", nested), ("folder/", b""),
                           ("../escape.txt", b"unsafe name")]),
        "methods.zip": buf.getvalue(),
        "with_comment.zip": _with_comment(_zip([("a.txt", b"alpha"), ("b.html", html()["unclosed.html"])])),
        "zip64.zip": _zip64(),
    }


def _with_comment(data: bytes) -> bytes:
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as zf:
        zf.comment = b"an archive comment"
    return out.getvalue()


def _zip64() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("z64.txt", ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            fh.write(b"zip64 member text " * 4)
    return buf.getvalue()


def _tar(members: list[tuple[str, bytes | None, bytes]], fmt=tarfile.GNU_FORMAT) -> bytes:
    """members: (name, type, data); type None for a file, else a tarfile type (SYMTYPE...)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for name, typ, data in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1704164645
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o644
            if typ is None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                info.type = typ
                if typ in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                    info.linkname = data.decode()
                tf.addfile(info)
    return buf.getvalue()


def _tar_members() -> list:
    return [("docs/readme.txt", None, f"Contact {EMAIL}".encode()),
            ("docs", tarfile.DIRTYPE, b""),
            ("pic.png", None, save(picture(16, 16), "PNG")),
            ("link", tarfile.SYMTYPE, b"/etc/passwd"),
            ("/abs/path.txt", None, b"absolute member"),
            ("inner.zip", None, _zip([("z.txt", b"zipped in tar")]))]


def tar() -> dict[str, bytes]:
    return {"gnu.tar": _tar(_tar_members()),
            "pax.tar": _tar([("p\u00e4x_name_" + "x" * 120 + ".txt", None, b"long pax name")], tarfile.PAX_FORMAT),
            "ustar.tar": _tar([("u.txt", None, SCAM.encode())], tarfile.USTAR_FORMAT)}


def targz() -> dict[str, bytes]:
    return {"archive.tar.gz": gzip.compress(_tar(_tar_members()[:3]), mtime=0),
            "text.txt.gz": gzip.compress(f"gzipped text {EMAIL}\n".encode(), mtime=0),
            "multi_member.gz": gzip.compress(b"first member\n", mtime=0) + gzip.compress(b"second\n", mtime=0)}


# -- video ----------------------------------------------------------------------------------


def _video(fmt: str, codec: str, pix_fmt: str = "yuv420p", n: int = 6, subtitles: bool = False,
           options: dict | None = None, metadata: dict | None = None) -> bytes:
    import av

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"v.{fmt}"
        with av.open(str(path), mode="w", format={"mkv": "matroska"}.get(fmt, fmt),
                     options={"fflags": "+bitexact"}) as out:
            if metadata:
                out.metadata.update(metadata)
            stream = out.add_stream(codec, rate=Fraction(5))
            stream.width, stream.height = 32, 24
            stream.pix_fmt = pix_fmt
            stream.options = {"threads": "1", **(options or {})}
            sub_stream = None
            if subtitles:
                srt = _srt_text().encode()
                subs = av.open(io.BytesIO(srt), format="srt")
                sub_in = subs.streams[0]
                sub_stream = out.add_stream_from_template(sub_in)
            for i in range(n):
                img = np.asarray(picture(32, 24, seed=i // 3, text=None))  # a cut after 3 frames
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = i
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
            if sub_stream is not None:
                for packet in subs.demux(sub_in):
                    if packet.dts is None:
                        continue
                    packet.stream = sub_stream
                    out.mux(packet)
                subs.close()
        return path.read_bytes()


def _srt_text() -> str:
    return (f"1\n00:00:00,000 --> 00:00:00,800\nSend the photos to {EMAIL}\n\n"
            "2\n00:00:00,800 --> 00:00:01,200\n<i>I will find you</i>\n\n")


def mp4() -> dict[str, bytes]:
    return {"h264.mp4": _video("mp4", "libx264", options={"preset": "ultrafast", "crf": "40"},
                               metadata={"title": f"clip for {EMAIL}"}),
            "mpeg4.mp4": _video("mp4", "mpeg4", n=4)}


def mkv() -> dict[str, bytes]:
    return {"h264_subtitles.mkv": _video("mkv", "libx264", options={"preset": "ultrafast", "crf": "40"},
                                         subtitles=True, metadata={"comment": f"call {PHONE}"}),
            "mjpeg.mkv": _video("mkv", "mjpeg", pix_fmt="yuvj420p", n=3)}


def webm() -> dict[str, bytes]:
    return {"vp8.webm": _video("webm", "libvpx", n=4, options={"deadline": "realtime", "cpu-used": "8"}),
            "vp9.webm": _video("webm", "libvpx-vp9", n=4, options={"deadline": "realtime", "cpu-used": "8"})}


def avi() -> dict[str, bytes]:
    return {"mjpeg.avi": _video("avi", "mjpeg", pix_fmt="yuvj420p", n=3),
            "mpeg4.avi": _video("avi", "mpeg4", n=4)}


# -- text formats -----------------------------------------------------------------------------


def srt() -> dict[str, bytes]:
    return {"cues.srt": _srt_text().encode(),
            "crlf_bom.srt": ("\ufeff" + _srt_text().replace("\n", "\r\n")).encode()}


def vtt() -> dict[str, bytes]:
    return {"cues.vtt": (f"WEBVTT - seed\n\nNOTE a note\n\n00:00.000 --> 00:01.500 align:start\n"
                         f"<v Jane>mail me at {EMAIL}</v>\n\ncue-2\n00:00:01.500 --> 00:00:03.000\n{SCAM}\n").encode()}


def txt() -> dict[str, bytes]:
    return {
        "plain.txt": f"Hello, write to {EMAIL} or call {PHONE}.\nCard 4111 1111 1111 1111\n".encode(),
        "scam.txt": (SCAM + "\nfr33 g1ft c@rd, c l a i m now!!!\n").encode(),
        "unicode.txt": "Caf\u00e9 \u0441\u043f\u0430\u043c \u4f60\u597d \U0001f600 e\u0301 \u200bzero\u200dwidth "
                       "\uff26\uff52\uff45\uff45 \u202eRTL\n".encode(),
        "iban_ids.txt": b"IBAN GB82 WEST 1234 5698 7654 32, SSN 078-05-1120, https://example.com/path?q=1\n",
    }


def jsonl() -> dict[str, bytes]:
    rows = [{"id": 1, "text": f"write to {EMAIL}"}, {"id": "b", "text": SCAM},
            {"id": None, "text": "caf\u00e9 \U0001f600"}, {"text": "no id"}, {"id": 5, "text": ""},
            {"id": 6, "text": "  "}, {"id": [1, 2], "text": "list id"}]
    lines = [json.dumps(r, ensure_ascii=i % 2 == 0) for i, r in enumerate(rows)]
    return {"texts.jsonl": ("\n".join(lines) + "\n\nnot json\n[1, 2]\n").encode(),
            "one.jsonl": b'{"id": "x", "text": "free gift card, click here"}\n'}


def policy() -> dict[str, bytes]:
    default = (ROOT / "src" / "tamis" / "policy" / "default.yaml").read_bytes()
    small = (b"version: 1\nlabels:\n  spam: {review: 0.3, block: 0.6}\n  pii/email: {review: never, block: never}\n"
             b"  violence:\n    review: 0.2\n    enabled: yes\nprofiles:\n  kids:\n    labels:\n"
             b"      sexual: {review: 0.1, block: 0.2}\n  lax:\n    labels:\n      spam: {enabled: false}\n")
    return {"default.yaml": default, "small.yaml": small, "labels_only.yaml": b"labels:\n  hate: {block: 0.5}\n"}


def blocklist() -> dict[str, bytes]:
    return {"terms.txt": "# a list\nfree gift\nclaim now\ncaf\u00e9\nre:\\bwin(ner)?\\b\nre:[0-9]{4}-[0-9]{4}\n"
                         "spaced out words\n".encode()}


def blocklist_yaml() -> dict[str, bytes]:
    return {"list.yaml": b"description: seed list\nterms:\n  - free gift\n  - \"c l a i m\"\n  - 12345\n"
                         b"patterns:\n  - '(?i)bank\\s+login'\n  - 'x{2,5}'\n"}


_MD5 = hashlib.md5(b"x").hexdigest()
_SHA = hashlib.sha256(b"x").hexdigest()


def bank_csv() -> dict[str, bytes]:
    return {"entries.csv": (f"signal,value,label,note,source\nmd5,{_MD5},known_content,a note,seed\n"
                            f"sha256,{_SHA.upper()},spam,,\npdq,{'f' * 64},,,\ntext,{_SHA},hate/threatening,n,s\n"
                            "md5,not-hex,,,\nbogus,abc,,,\n").encode(),
            "value_only.csv": f"value\n{_MD5}\n{_SHA[:32]}\n".encode()}


def bank_jsonl() -> dict[str, bytes]:
    rows = [{"signal": "md5", "value": _MD5, "label": "known_content", "note": "n", "source": "s"},
            {"signal": "sha256", "value": _SHA}, {"signal": "pdq", "value": "0" * 64, "label": "sexual"},
            {"value": _MD5}, {"signal": "text", "value": 5}]
    return {"entries.jsonl": ("\n".join(json.dumps(r) for r in rows) + "\nnot json\n").encode()}


#: format -> writer. The format names are those of fuzz/targets.py.
WRITERS = {
    "png": png, "jpeg": jpeg, "gif": gif, "webp": webp, "bmp": bmp, "tiff": tiff, "heic": heic, "avif": avif,
    "pdf": pdf, "docx": docx, "pptx": pptx, "xlsx": xlsx, "odt": odt, "ods": ods, "html": html, "eml": eml,
    "zip": zip_, "tar": tar, "targz": targz,
    "mp4": mp4, "mkv": mkv, "webm": webm, "avi": avi,
    "srt": srt, "vtt": vtt, "txt": txt, "jsonl": jsonl,
    "policy": policy, "blocklist": blocklist, "blocklist_yaml": blocklist_yaml,
    "bank_csv": bank_csv, "bank_jsonl": bank_jsonl,
}


def build() -> dict[str, dict[str, bytes]]:
    return {fmt: writer() for fmt, writer in WRITERS.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=CORPUS, help="corpus folder (default fuzz/corpus)")
    ap.add_argument("--check", action="store_true", help="only compare with the files on disk")
    ap.add_argument("--formats", help="comma-separated formats (default all)")
    args = ap.parse_args(argv)
    wanted = args.formats.split(",") if args.formats else list(WRITERS)
    unknown = set(wanted) - set(WRITERS)
    if unknown:
        ap.error(f"unknown formats: {', '.join(sorted(unknown))}")
    differ = 0
    total = 0
    for fmt in wanted:
        files = WRITERS[fmt]()
        folder = args.out / fmt
        if args.check:
            on_disk = {p.name: p.read_bytes() for p in folder.glob("*")} if folder.is_dir() else {}
            if on_disk != files:
                changed = sorted(set(on_disk) ^ set(files) | {n for n in files if on_disk.get(n) != files[n]})
                print(f"{fmt}: differs ({', '.join(changed)})")
                differ += 1
            continue
        if folder.is_dir():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
            total += len(data)
        sizes = ", ".join(f"{n} {len(d):,}" for n, d in files.items())
        print(f"{fmt:15s} {sizes}")
    if args.check:
        print("corpus up to date" if not differ else f"{differ} formats differ")
        return 1 if differ else 0
    print(f"total {total:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
