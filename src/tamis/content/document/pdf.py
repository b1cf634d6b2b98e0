"""PDF: text per page, pictures, pages without text rendered for OCR, annotations, form values, metadata."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator

import numpy as np

from tamis.content.document.base import DocumentContent, Limits, Part
from tamis.content.sniff import appended_zip
from tamis.errors import (
    ArchiveBombError,
    CorruptInputError,
    DecompressionBombError,
    EncryptedError,
    TamisError,
    TooLargeError,
)


def open_pdf(name: str, data: bytes, password: str | None):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data, password=password)
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise EncryptedError(f"{name}: the PDF is encrypted; give its password"
                                 + (" (the one given is wrong)" if password else "")) from None
        raise CorruptInputError(f"{name}: corrupt PDF ({msg})") from None


_STREAM = re.compile(rb"(?<!end)stream\r?\n")


def _check_pdf_streams(content: DocumentContent, limits: Limits) -> None:
    """Inflate every zlib stream of a PDF once, in bounded pieces, before PDFium does it in
    one piece: a stream over the member limit (a page of 3 GiB of spaces fits in 3 MB) is a
    bomb, refused before PDFium allocates it."""
    data = content.data
    for m in _STREAM.finditer(data):
        at = m.end()
        head = data[at:at + 2]
        if len(head) < 2 or head[0] & 0x0F != 8 or (head[0] << 8 | head[1]) % 31:
            continue  # not a zlib stream (DCT, JBIG2, raw...)
        inflater = zlib.decompressobj()
        size, pos, view = 0, at, memoryview(data)
        try:
            while not inflater.eof and pos < len(data) and size <= limits.max_member_bytes:
                chunk = view[pos:pos + (1 << 20)]
                pos += len(chunk)
                size += len(inflater.decompress(chunk, 1 << 22))
                while inflater.unconsumed_tail and not inflater.eof and size <= limits.max_member_bytes:
                    more = len(inflater.decompress(inflater.unconsumed_tail, 1 << 22))
                    if not more:
                        break
                    size += more
            if size > limits.max_member_bytes:
                raise ArchiveBombError(f"{content.name}: a PDF stream unpacks to more than "
                                       f"{limits.max_member_bytes:,} bytes (a decompression bomb?)")
        except zlib.error:
            pass  # PDFium says what is wrong with it, if anything


def read_pdf(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    _check_pdf_streams(content, limits)
    zip_at = appended_zip(content.data)
    if zip_at is not None:  # a polyglot: a PDF to readers, a ZIP to unzip; both are scanned
        content.notes.append(f"a ZIP archive is appended at byte {zip_at:,}; it was scanned too")
        yield Part("appended zip", data=content.data[zip_at:])
    pdf = open_pdf(content.name, content.data, limits.password)
    try:
        try:
            pdf.init_forms()  # before any page is loaded: lets form fields' values be read
        except (pdfium.PdfiumError, ValueError):
            pass
        for key in ("Title", "Subject", "Keywords", "Author"):  # each read alone, like any text
            value = _pdf_text(lambda b, n, k=key: raw.FPDF_GetMetaText(pdf.raw, k.encode(), b, n),
                              content, limits)
            if isinstance(value, TamisError):
                yield Part(f"metadata {key.lower()}", error=value)
            elif value:
                yield Part(f"metadata {key.lower()}", text=value)
        n = len(pdf)
        content.pages = n
        seen: dict[str, None] = {}  # annotation texts read so far: many annotations can share one
        blank = 0
        if n > limits.max_pages:
            content.notes.append(f"only the first {limits.max_pages:,} of {n:,} pages were scanned")
        for i in range(min(n, limits.max_pages)):
            number = i + 1
            try:
                page = pdf[i]
                text = page.get_textpage().get_text_bounded().replace("\r\n", "\n").replace("\x00", "")
            except pdfium.PdfiumError as exc:
                yield Part(f"page {number}", page=number,
                           error=CorruptInputError(f"{content.name}: page {number}: {exc}"))
                continue
            if len(text.strip()) >= 20:
                yield Part("text", text=text, page=number)
                yield from _pdf_images(content, page, number, limits)
            else:  # no text layer: a scan or a picture; render the page and read it
                try:
                    w, h = page.get_size()
                    _render_scale(w, h, limits)
                    rgb = None if _blank(page, w, h) else _render(page, w, h, limits)
                    blank += rgb is None
                except (pdfium.PdfiumError, ValueError, OSError, MemoryError) as exc:
                    rgb = None
                    yield Part("page image", page=number,
                               error=CorruptInputError(f"{content.name}: page {number} cannot be rendered ({exc})"))
                if rgb is not None:
                    yield Part("page image", rgb=rgb, page=number, ocr=True)
                if text.strip():
                    yield Part("text", text=text, page=number)
            try:
                yield from _pdf_annotations(content, limits, pdf, page, number, seen)
            except (pdfium.PdfiumError, ValueError, OSError) as exc:
                yield Part("annotations", page=number,
                           error=CorruptInputError(f"{content.name}: page {number} annotations: {exc}"))
        if blank:
            content.notes.append(f"{blank:,} blank page{'s' if blank > 1 else ''} without text (not rendered)")
    finally:
        pdf.close()


def _render_scale(w: float, h: float, limits: Limits) -> float:
    """The scale a page is rendered at for OCR; a page too thin or too long to draw (a
    MediaBox of 100,000,000 by 0.00001 points) raises ValueError."""
    scale = limits.render_dpi / 72
    if w * h * scale * scale > limits.max_pixels:
        scale = (limits.max_pixels / max(1.0, w * h)) ** 0.5
    if min(w, h) * scale < 1 or max(w, h) * scale > 65_535:
        raise ValueError(f"a page of {w:g} x {h:g} points cannot be drawn")
    return scale


def _blank(page, w: float, h: float) -> bool:
    """Whether a page without text draws nothing: rendered first at about 256 x 256 pixels
    (cheap, whatever the page's size), so blank pages are not rendered at full size and read."""
    scale = min(1.0, 256 / max(1.0, w, h))
    small = np.asarray(page.render(scale=scale, grayscale=True).to_pil().convert("L"))
    if small.size == 0:
        raise ValueError(f"a page of {w:g} x {h:g} points cannot be drawn")
    return int(small.max()) - int(small.min()) < 4


def _render(page, w: float, h: float, limits: Limits) -> np.ndarray:
    scale = _render_scale(w, h, limits)
    return np.asarray(page.render(scale=scale).to_pil().convert("RGB"))


#: Annotations read on one page (comments, notes, fields, links); a page with more is cut there.
MAX_ANNOTATIONS = 1_000
#: The longest comment, field value or metadata value read; a longer one is a failed part.
MAX_PDF_STRING_CHARS = 20_000
_REFUSED = "\x00refused"  # in ``seen``: a string was over the limit, stop reading annotations


def _pdf_text(getter, content: DocumentContent, limits: Limits) -> str | TamisError:
    """A UTF-16 string from PDFium through ``getter(buffer, size)``: its size is asked first,
    so an over-long one is refused before any memory is taken for it; what is read counts
    against the scan's unpacking budget."""
    import ctypes

    import pypdfium2.raw as raw

    size = getter(None, 0)  # bytes, with a two-byte terminator
    if size <= 2:
        return ""
    chars = size // 2 - 1
    if chars > MAX_PDF_STRING_CHARS:
        return TooLargeError(f"{content.name}: a string of {chars:,} characters is over the limit of "
                             f"{MAX_PDF_STRING_CHARS:,}")
    if size > limits.max_unpacked_bytes - content.budget.bytes:
        return ArchiveBombError(f"{content.name}: reading its strings would pass {limits.max_unpacked_bytes:,} "
                                "bytes for this scan")
    content.budget.bytes += size
    buf = ctypes.create_string_buffer(size)
    getter(ctypes.cast(buf, ctypes.POINTER(raw.FPDF_WCHAR)), size)
    return buf.raw[:size - 2].decode("utf-16-le", "replace").replace("\x00", "").strip()


def _pdf_annotations(content: DocumentContent, limits: Limits, pdf, page, number: int,
                     seen: dict[str, None]) -> Iterator[Part]:
    """What a page's annotations hold but its text layer does not show: the text of its
    comments and notes (one ``annotations`` part), the values typed into its text and choice
    form fields (``fields``), and the addresses behind its links (``links``: a phishing link
    reads "click here" on the page). A text already read in the document (``seen``) is not
    read again. A string over MAX_PDF_STRING_CHARS is a failed part, and no annotation of
    the document is read after it: PDFium works out a string's whole length before saying
    it, so a small file repeating a huge note could keep it busy for minutes."""
    if _REFUSED in seen:
        return
    import ctypes

    import pypdfium2.raw as raw

    form = pdf.formenv.raw if getattr(pdf, "formenv", None) is not None else None
    text_fields = {raw.FPDF_FORMFIELD_TEXTFIELD, raw.FPDF_FORMFIELD_COMBOBOX, raw.FPDF_FORMFIELD_LISTBOX}
    found: dict[str, dict[str, None]] = {"annotations": {}, "fields": {}, "links": {}}
    errors: list[TamisError] = []
    for i in range(min(raw.FPDFPage_GetAnnotCount(page.raw), MAX_ANNOTATIONS)):
        annot = raw.FPDFPage_GetAnnot(page.raw, i)
        if not annot:
            continue
        try:
            texts = [("annotations", _pdf_text(
                lambda b, n, a=annot: raw.FPDFAnnot_GetStringValue(a, b"Contents", b, n), content, limits))]
            if (form is not None and raw.FPDFAnnot_GetSubtype(annot) == raw.FPDF_ANNOT_WIDGET
                    and raw.FPDFAnnot_GetFormFieldType(form, annot) in text_fields):
                texts.append(("fields", _pdf_text(
                    lambda b, n, a=annot: raw.FPDFAnnot_GetFormFieldValue(form, a, b, n), content, limits)))
            link = raw.FPDFAnnot_GetLink(annot)
            action = raw.FPDFLink_GetAction(link) if link else None
            if action and raw.FPDFAction_GetType(action) == raw.PDFACTION_URI:
                size = raw.FPDFAction_GetURIPath(pdf.raw, action, None, 0)
                if 1 < size <= MAX_PDF_STRING_CHARS:
                    buf = ctypes.create_string_buffer(size)
                    raw.FPDFAction_GetURIPath(pdf.raw, action, buf, size)
                    uri = buf.raw[:size - 1]
                    try:
                        texts.append(("links", uri.decode("utf-8")))
                    except UnicodeDecodeError:
                        texts.append(("links", uri.decode("latin-1")))
        finally:
            raw.FPDFPage_CloseAnnot(annot)
        for kind, text in texts:
            if isinstance(text, TamisError):
                errors.append(text)
            elif text.strip() and text.strip() not in seen:
                seen[text.strip()] = None
                found[kind][text.strip()] = None
        if errors:
            seen[_REFUSED] = None
            content.notes.append(f"page {number}: an annotation over {MAX_PDF_STRING_CHARS:,} characters; "
                                 "the document's other annotations were not read")
            break
    for error in {str(e): e for e in errors}.values():
        yield Part("annotations", page=number, error=error)
    # Comments and fields are separated by blank lines: each is read as a sentence of its own.
    for kind, joiner in (("annotations", "\n\n"), ("fields", "\n\n"), ("links", "\n")):
        if found[kind]:
            yield Part(kind, text=joiner.join(found[kind]), page=number)


def _pdf_images(content: DocumentContent, page, number: int, limits: Limits) -> Iterator[Part]:
    """The pictures placed on a page (at most 20, each within the pixel limit)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    images = 0
    try:
        objects = list(page.get_objects(filter=(raw.FPDF_PAGEOBJ_IMAGE,), max_depth=2))
    except (pdfium.PdfiumError, ValueError) as exc:
        yield Part("images", page=number, error=CorruptInputError(f"{content.name}: page {number}: {exc}"))
        return
    for obj in objects:
        if images >= 20:
            content.notes.append(f"page {number}: only the first 20 images were scanned")
            return
        try:
            w, h = obj.get_px_size()
            if min(w, h) < 64:
                continue
            images += 1
            if w * h > limits.max_pixels:
                yield Part(f"image {images}", page=number, error=DecompressionBombError(
                    f"{content.name}: page {number} image {images}: {w}x{h} is over the limit of "
                    f"{limits.max_pixels:,} pixels"))
                continue
            rgb = np.asarray(obj.get_bitmap(render=False).to_pil().convert("RGB"))
        except (pdfium.PdfiumError, ValueError, OSError, MemoryError) as exc:
            yield Part(f"image {images}", page=number,
                       error=CorruptInputError(f"{content.name}: page {number} image: {exc}"))
            continue
        yield Part(f"image {images}", rgb=rgb, page=number)
