"""Documents and archives: containers split into parts (texts, pictures, embedded files).

Every format is read from memory; nothing is ever written to disk, so a member named
``../../etc/passwd`` is only a name (reported as unsafe). Limits on parts, unpacked bytes,
compression ratio and nesting depth are checked before anything is unpacked, and each
member is read with a bounded read in case its header lies. A part that cannot be read is
reported and the rest of the container is still scanned.
"""

from __future__ import annotations

import email
import email.errors
import email.policy
import io
import itertools
import posixpath
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from tamis.content.base import Content, printable
from tamis.content.sniff import appended_zip
from tamis.errors import (
    ArchiveBombError,
    CorruptInputError,
    DecompressionBombError,
    EncryptedError,
    InputError,
    TamisError,
    TooLargeError,
    UnsupportedFormatError,
)

# -- what a container is -------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    max_parts: int = 10_000  # members, pages, sheets, attachments in one container
    max_unpacked_bytes: int = 1 << 30  # total bytes unpacked from one container
    max_member_bytes: int = 256 << 20  # one member
    max_ratio: float = 200.0  # unpacked / packed, for members over 1 MB
    max_depth: int = 4  # containers inside containers
    max_pages: int = 2_000  # pages of one PDF
    render_dpi: int = 150  # pages without a text layer are rendered at this resolution for OCR
    max_pixels: int = 40_000_000  # a rendered page or an embedded picture
    password: str | None = None  # for encrypted PDFs


@dataclass
class Budget:
    """What one top-level scan has unpacked so far, over every nesting level (so a zip of
    zips cannot multiply the per-container limits)."""

    parts: int = 0
    bytes: int = 0


@dataclass
class Part:
    """One piece of a container. ``label`` names it for people ("page 3", "slide 2",
    "sheet Sales", "member docs/a.pdf", "attachment invoice.pdf", "image 1")."""

    label: str
    text: str | None = None  # a text part
    data: bytes | None = None  # an embedded file, typed from its content (may be a container)
    rgb: np.ndarray | None = None  # a rendered page
    page: int | None = None
    ocr: bool = False  # a rendered page without a text layer: always OCR it
    regions: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, label) within text
    error: TamisError | None = None  # the part could not be read


@dataclass
class DocumentContent(Content):
    """A document or an archive, still packed; :func:`parts` unpacks it lazily."""

    format: str = ""  # pdf, docx, pptx, xlsx, odt, html, eml, zip, tar, gzip
    depth: int = 0
    budget: Budget = field(default_factory=Budget)  # shared with the containers inside
    pages: int | None = None
    notes: list[str] = field(default_factory=list)


OOXML = {"word/document.xml": "docx", "ppt/presentation.xml": "pptx", "xl/workbook.xml": "xlsx"}
ODF = {"application/vnd.oasis.opendocument.text": "odt",
       "application/vnd.oasis.opendocument.presentation": "odp",
       "application/vnd.oasis.opendocument.spreadsheet": "ods"}
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "html": "text/html", "eml": "message/rfc822",
    "zip": "application/zip", "tar": "application/x-tar", "gzip": "application/gzip",
}
ARCHIVES = {"zip", "tar", "gzip"}
#: Largest XML part of an office document parsed into a tree (a tree costs ~100x its text).
MAX_XML_BYTES = 32 << 20
#: Largest HTML page parsed.
MAX_HTML_BYTES = 16 << 20


def identify(media_type: str, data: bytes) -> str:
    """The container format of ``data`` that sniffing called ``media_type``."""
    if media_type == "application/pdf":
        return "pdf"
    if media_type == "text/html":
        return "html"
    if media_type == "message/rfc822":
        return "eml"
    if media_type == "application/gzip":
        return "gzip"
    if media_type == "application/x-tar":
        return "tar"
    if media_type == "application/zip":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = set(zf.namelist())
                for marker, fmt in OOXML.items():
                    if marker in names:
                        return fmt
                if "mimetype" in names:
                    with zf.open("mimetype") as fh:
                        mime = fh.read(100).decode("ascii", "replace").strip()
                    if mime in ODF:
                        return ODF[mime]
        except Exception:  # noqa: BLE001 - any failure here is reported as corrupt when unpacked
            pass
        return "zip"
    raise UnsupportedFormatError(f"{media_type} is not a document or archive tamis reads")


def load_document(name: str, data: bytes, media_type: str, depth: int = 0,
                  password: str | None = None) -> DocumentContent:
    """A container, checked to open (a corrupt or encrypted one fails here, before any
    part is read); its parts are unpacked later, by :func:`parts`."""
    fmt = identify(media_type, data)
    kind = "archive" if fmt in ARCHIVES else "document"
    if fmt == "pdf":
        _open_pdf(name, data, password).close()
    elif media_type == "application/zip":
        try:
            zipfile.ZipFile(io.BytesIO(data)).close()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise CorruptInputError(f"{name}: corrupt zip container ({exc})") from None
    return DocumentContent(kind=kind, name=name, media_type=MEDIA_TYPES.get(fmt, media_type), data=data,
                           format=fmt, depth=depth)


def parts(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    """The parts of ``content``, in document order. Raises an :class:`InputError` when the
    container as a whole cannot be read (corrupt, encrypted, over a limit)."""
    reader = {"pdf": _pdf, "docx": _docx, "pptx": _pptx, "xlsx": _xlsx, "odt": _odf, "odp": _odf, "ods": _odf,
              "html": _html, "eml": _eml, "zip": _zip, "tar": _tar, "gzip": _gzip}[content.format]
    yield from reader(content, limits)


# -- zip, with limits (also the container of OOXML and ODF) ----------------------------------


def safe_name(name: str) -> tuple[str, bool]:
    """A member name made safe to show, and whether the original was unsafe (absolute,
    or climbing out with ``..``)."""
    clean = name.replace("\\", "/")
    unsafe = clean.startswith("/") or re.match(r"^[A-Za-z]:", clean) is not None or ".." in clean.split("/")
    normal = printable(posixpath.normpath("/" + clean).lstrip("/"))
    return normal or "(unnamed)", unsafe


class _Zip:
    """A zip file opened with its limits checked up front, members read with bounded reads."""

    def __init__(self, content: DocumentContent, limits: Limits) -> None:
        self.name, self.limits = content.name, limits
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(content.data))
            self.infos = [i for i in self.zf.infolist() if not i.filename.endswith("/")]  # is_dir() fails on ''
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise CorruptInputError(f"{content.name}: corrupt zip container ({exc})") from None
        if len(self.infos) > limits.max_parts:
            raise ArchiveBombError(f"{content.name}: {len(self.infos):,} members is over the limit of "
                                   f"{limits.max_parts:,}")
        declared = sum(i.file_size for i in self.infos)
        if declared > limits.max_unpacked_bytes:
            raise ArchiveBombError(f"{content.name}: {declared:,} bytes unpacked is over the limit of "
                                   f"{limits.max_unpacked_bytes:,} (zip bomb?)")
        offsets = [i.header_offset for i in self.infos]
        if len(set(offsets)) != len(offsets):  # entries sharing their data: a known zip-bomb trick
            raise ArchiveBombError(f"{content.name}: several members point at the same data (zip bomb?)")
        self.budget = content.budget

    def names(self) -> list[str]:
        return [i.filename for i in self.infos]

    def read(self, info: zipfile.ZipInfo | str) -> bytes:
        if isinstance(info, str):
            info = self.zf.getinfo(info)
        label = f"{self.name}: member {info.filename!r}"
        if info.flag_bits & 0x1:
            raise EncryptedError(f"{label} is encrypted")
        if info.file_size > (1 << 20) and info.file_size > self.limits.max_ratio * max(1, info.compress_size):
            raise ArchiveBombError(f"{label}: compressed {info.file_size / max(1, info.compress_size):,.0f} to 1, "
                                   f"over the limit of {self.limits.max_ratio:,.0f} (zip bomb?)")
        if info.file_size > self.limits.max_member_bytes:
            raise ArchiveBombError(f"{label}: {info.file_size:,} bytes is over the member limit of "
                                   f"{self.limits.max_member_bytes:,}")
        left = self.limits.max_unpacked_bytes - self.budget.bytes
        if info.file_size > left:
            raise ArchiveBombError(f"{label}: unpacking it would pass {self.limits.max_unpacked_bytes:,} bytes "
                                   "for this scan (zip bomb?)")
        try:
            with self.zf.open(info) as fh:
                data = fh.read(info.file_size + 1)
        except Exception as exc:  # noqa: BLE001 - zlib, lzma, bz2, encryption...: all are a bad member
            raise CorruptInputError(f"{label}: cannot be unpacked ({type(exc).__name__}: {exc})") from None
        if len(data) > info.file_size:  # the header lied about the size
            raise ArchiveBombError(f"{label}: unpacks to more than its header says (zip bomb?)")
        self.budget.bytes += len(data)
        return data

    def xml(self, name: str):
        from defusedxml import ElementTree

        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise CorruptInputError(f"{self.name}: {name} is missing") from None
        if info.file_size > MAX_XML_BYTES:
            raise TooLargeError(f"{self.name}: {name} is {info.file_size:,} bytes of XML, over the limit of "
                                f"{MAX_XML_BYTES:,}")
        data = self.read(info)
        try:
            return ElementTree.fromstring(data)
        except Exception as exc:  # noqa: BLE001 - defusedxml raises several kinds
            raise CorruptInputError(f"{self.name}: {name} is not well-formed XML ({exc})") from None


def _zip(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    z = _Zip(content, limits)
    for info in z.infos:
        name, unsafe = safe_name(info.filename)
        label = f"member {name}"
        if unsafe:
            content.notes.append(f"member {info.filename!r} has an unsafe path; it was read in memory only")
        try:
            yield Part(label, data=z.read(info))
        except InputError as exc:
            yield Part(label, error=exc)


def _tar(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    try:
        tf = tarfile.open(fileobj=io.BytesIO(content.data), mode="r:")  # plain tar: gzip came through _gzip
        members = tf.getmembers()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise CorruptInputError(f"{content.name}: corrupt tar archive ({exc})") from None
    files = [m for m in members if m.isfile()]
    skipped = len(members) - len(files) - sum(m.isdir() for m in members)
    if skipped:
        content.notes.append(f"{skipped} links or special files were not followed")
    if len(files) > limits.max_parts:
        raise ArchiveBombError(f"{content.name}: {len(files):,} members is over the limit of {limits.max_parts:,}")
    total = sum(m.size for m in files)
    if total > limits.max_unpacked_bytes - content.budget.bytes:
        raise ArchiveBombError(f"{content.name}: {total:,} bytes unpacked is over the limit of "
                               f"{limits.max_unpacked_bytes:,}")
    for m in files:
        name, unsafe = safe_name(m.name)
        if unsafe:
            content.notes.append(f"member {m.name!r} has an unsafe path; it was read in memory only")
        if m.size > limits.max_member_bytes:
            yield Part(f"member {name}", error=ArchiveBombError(
                f"{content.name}: member {name!r}: {m.size:,} bytes is over the member limit"))
            continue
        try:
            fh = tf.extractfile(m)
            data = fh.read(m.size) if fh else b""
            content.budget.bytes += len(data)
            yield Part(f"member {name}", data=data)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            yield Part(f"member {name}", error=CorruptInputError(f"{content.name}: member {name!r}: {exc}"))


def _gzip(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    """One gzip stream, unpacked with a bounded output (a gzip bomb stops at the limit)."""
    budget = min(limits.max_member_bytes, limits.max_unpacked_bytes - content.budget.bytes)
    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        data = d.decompress(content.data, budget + 1)
    except zlib.error as exc:
        raise CorruptInputError(f"{content.name}: corrupt gzip ({exc})") from None
    if len(data) > budget or (d.unconsumed_tail and len(data) >= budget):
        raise ArchiveBombError(f"{content.name}: unpacks to more than {budget:,} bytes (gzip bomb?)")
    if not d.eof:
        content.notes.append("the gzip stream is truncated; what unpacked was scanned")
    elif d.unused_data.strip(b"\0"):
        content.notes.append("only the first member of a multi-member gzip was scanned")
    content.budget.bytes += len(data)
    if len(data) > (1 << 20) and len(data) > limits.max_ratio * len(content.data):
        raise ArchiveBombError(f"{content.name}: compressed {len(data) / len(content.data):,.0f} to 1, over the "
                               f"limit of {limits.max_ratio:,.0f} (gzip bomb?)")
    inner = content.name.rsplit("/", 1)[-1]
    inner = inner[:-3] if inner.lower().endswith(".gz") else inner + ".unpacked"
    yield Part(f"member {inner}", data=data)


# -- PDF --------------------------------------------------------------------------------


def _open_pdf(name: str, data: bytes, password: str | None):
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


def _pdf(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    _check_pdf_streams(content, limits)
    zip_at = appended_zip(content.data)
    if zip_at is not None:  # a polyglot: a PDF to readers, a ZIP to unzip; both are scanned
        content.notes.append(f"a ZIP archive is appended at byte {zip_at:,}; it was scanned too")
        yield Part("appended zip", data=content.data[zip_at:])
    pdf = _open_pdf(content.name, content.data, limits.password)
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


# -- Office Open XML and OpenDocument ------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_TEXT_NS = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_XLINK = "{http://www.w3.org/1999/xlink}"
_RASTER_EXT = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")


def _own_nodes(p, para_tags):
    """The elements inside paragraph ``p`` that are not inside a paragraph nested in it (a
    text box in a text box): each nested paragraph is a line of its own, and every element
    is visited once, so deep nesting costs linear time, not quadratic."""
    stack = list(reversed(list(p)))
    while stack:
        node = stack.pop()
        if node.tag in para_tags:
            continue
        yield node
        stack.extend(reversed(list(node)))


def _paragraphs(root, para_tag: str, text_tag: str, extra: dict[str, str] | None = None) -> str:
    out = []
    for p in root.iter(para_tag):
        bits = []
        for node in _own_nodes(p, (para_tag,)):
            if node.tag == text_tag and node.text:
                bits.append(node.text)
            elif extra and node.tag in extra:
                bits.append(extra[node.tag])
        line = "".join(bits).strip()
        if line:
            out.append(line)
    return "\n".join(out)


def _media(z: _Zip, prefix: str, skip: set[str] | frozenset = frozenset()) -> Iterator[Part]:
    """The raster pictures stored under ``prefix`` (EMF/WMF vector pictures are not drawn)."""
    for name in z.names():
        if name.startswith(prefix) and name.lower().endswith(_RASTER_EXT) and name not in skip:
            try:
                yield Part(f"image {name}", data=z.read(name))
            except InputError as exc:
                yield Part(f"image {name}", error=exc)


def _embedded(z: _Zip, prefix: str) -> Iterator[Part]:
    """Files embedded in an Office document (a workbook in a report, a PDF in a deck), each
    typed from its content and scanned like any member: a container inside is unpacked
    under the same limits. Old OLE objects (``.bin``) are reported as not scanned."""
    for name in z.names():
        if name.startswith(prefix) and not name.endswith("/"):
            label = f"embedded {posixpath.basename(name)}"
            try:
                yield Part(label, data=z.read(name))
            except InputError as exc:
                yield Part(label, error=exc)


#: Metadata fields people write (not dates, software names or statistics), by local name,
#: and what a finding calls them.
_METADATA_FIELDS = {"title": "title", "subject": "subject", "keywords": "keywords", "keyword": "keywords",
                    "description": "description", "creator": "author", "initial-creator": "author"}


#: Values kept per metadata field (a real file has one or two).
MAX_METADATA_VALUES = 20


def _metadata(z: _Zip, name: str) -> Iterator[Part]:
    """Title, subject, keywords, description and author of an Office (``docProps/core.xml``)
    or OpenDocument (``meta.xml``) file, each a part of its own: text people read and can
    abuse."""
    if name not in z.names():
        return
    try:
        root = z.xml(name)
    except InputError as exc:
        yield Part("metadata", error=exc)
        return
    fields: dict[str, dict[str, None]] = {}
    for node in root.iter():
        field_name = _METADATA_FIELDS.get(node.tag.rsplit("}", 1)[-1]) if isinstance(node.tag, str) else None
        value = (node.text or "").strip()
        if field_name and value:
            values = fields.setdefault(field_name, {})
            if len(values) < MAX_METADATA_VALUES:
                values[value] = None
    for field_name, values in fields.items():
        yield Part(f"metadata {field_name}", text="\n\n".join(values))


def _links(z: _Zip) -> Iterator[Part]:
    """The addresses of an Office document's hyperlinks (its text may show only "click
    here"): the external hyperlink targets of every relationship file, in one part."""
    targets: list[str] = []
    for name in z.names():
        if not name.endswith(".rels"):
            continue
        try:
            rels = z.xml(name)
        except InputError as exc:
            yield Part(f"links {name}", error=exc)
            continue
        for rel in rels:
            target = (rel.get("Target") or "").strip()
            if rel.get("TargetMode") == "External" and rel.get("Type", "").endswith("/hyperlink") and target:
                targets.append(target)
    if targets:
        yield Part("links", text="\n".join(dict.fromkeys(targets)))


def _package_extras(z: _Zip, folder: str, shown: set[str] | frozenset = frozenset()) -> Iterator[Part]:
    """What every Office package holds beside its text, under ``folder`` (``word/``, ``ppt/``,
    ``xl/``): pictures (less those ``shown`` already), embedded files, hyperlink addresses
    and metadata."""
    yield from _media(z, folder + "media/", shown)
    yield from _embedded(z, folder + "embeddings/")
    yield from _links(z)
    yield from _metadata(z, "docProps/core.xml")


def _xml_part(z: _Zip, name: str, label: str, para: str, text: str, extra=None) -> Iterator[Part]:
    try:
        body = _paragraphs(z.xml(name), para, text, extra)
    except InputError as exc:
        yield Part(label, error=exc)
        return
    if body.strip():
        yield Part(label, text=body)


def _docx(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    z = _Zip(content, limits)
    extra = {_W + "tab": "\t", _W + "br": "\n"}
    yield from _xml_part(z, "word/document.xml", "body", _W + "p", _W + "t", extra)
    for name in sorted(z.names()):
        m = re.fullmatch(r"word/(header|footer|footnotes|endnotes|comments)(\d*)\.xml", name)
        if m:
            yield from _xml_part(z, name, m.group(1) + (f" {m.group(2)}" if m.group(2) else ""),
                                 _W + "p", _W + "t", extra)
    yield from _package_extras(z, "word/")


def _pptx(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    z = _Zip(content, limits)

    def number(name: str) -> int:
        return int(re.search(r"(\d+)\.xml$", name).group(1))

    slides = sorted((n for n in z.names() if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)), key=number)
    content.pages = len(slides)
    for name in slides:
        yield from _xml_part(z, name, f"slide {number(name)}", _A + "p", _A + "t")
    for name in sorted((n for n in z.names() if re.fullmatch(r"ppt/notesSlides/notesSlide\d+\.xml", n)), key=number):
        yield from _xml_part(z, name, f"notes {number(name)}", _A + "p", _A + "t")
    # Pictures, on the slide that shows them; then any others (layouts, masters).
    done: set[str] = set()
    names = set(z.names())
    for name in slides:
        rels = f"ppt/slides/_rels/{posixpath.basename(name)}.rels"
        if rels not in names:
            continue
        try:
            targets = [r.get("Target", "") for r in z.xml(rels) if r.get("Type", "").endswith("/image")]
        except InputError as exc:
            yield Part(f"slide {number(name)} pictures", error=exc)
            continue
        for target in targets:
            media = posixpath.normpath(posixpath.join("ppt/slides", target))
            if media in names and media not in done and media.lower().endswith(_RASTER_EXT):
                done.add(media)
                label = f"slide {number(name)} > image {posixpath.basename(media)}"
                try:
                    yield Part(label, data=z.read(media), page=number(name))
                except InputError as exc:
                    yield Part(label, error=exc, page=number(name))
    yield from _package_extras(z, "ppt/", done)


def _col(ref: str) -> str:
    return re.match(r"[A-Z]+", ref).group(0) if ref and re.match(r"[A-Z]+", ref) else ""


def _xlsx(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    """One text per sheet, a line per row; each cell's stretch is labelled ``sheet NAME!B7``."""
    z = _Zip(content, limits)
    shared: list[str] = []
    sheets = []
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    try:
        if "xl/sharedStrings.xml" in z.names():
            for si in z.xml("xl/sharedStrings.xml").iter(_S + "si"):
                shared.append("".join(t.text or "" for t in si.iter(_S + "t")))
        rels = {r.get("Id"): r.get("Target") for r in z.xml("xl/_rels/workbook.xml.rels")}
        for s in z.xml("xl/workbook.xml").iter(_S + "sheet"):
            target = rels.get(s.get(rel_ns), "")
            target = target.lstrip("/")
            sheets.append((s.get("name") or "?", target if target.startswith("xl/") else "xl/" + target))
    except InputError as exc:
        yield Part("workbook", error=exc)  # no sheets, but the pictures, files and links below
        sheets = []
    content.pages = len(sheets)
    for sheet, path in sheets:
        label = f"sheet {sheet}"
        try:
            root = z.xml(path)
        except InputError as exc:
            yield Part(label, error=exc)
            continue
        lines, regions, pos = [], [], 0
        for row in root.iter(_S + "row"):
            cells = []
            for c in row.iter(_S + "c"):
                kind, ref = c.get("t"), c.get("r", "")
                if kind == "s":
                    v = c.find(_S + "v")
                    try:
                        value = shared[int(v.text)] if v is not None and v.text else ""
                    except (ValueError, IndexError):
                        value = ""
                elif kind == "inlineStr":
                    value = "".join(t.text or "" for t in c.iter(_S + "t"))
                elif kind == "str":
                    v = c.find(_S + "v")
                    value = v.text or "" if v is not None else ""
                else:
                    continue  # numbers, booleans, dates: not text
                if value.strip():
                    cells.append((ref, value))
            if not cells:
                continue
            line_parts = []
            for ref, value in cells:
                start = pos + sum(len(x) + 1 for x in line_parts)
                regions.append((start, start + len(value), f"{label}!{ref}"))
                line_parts.append(value)
            line = "\t".join(line_parts)
            lines.append(line)
            pos += len(line) + 1
        if lines:
            yield Part(label, text="\n".join(lines), regions=regions)
    yield from _package_extras(z, "xl/")


def _odf(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    z = _Zip(content, limits)
    extra = {_TEXT_NS + "tab": "\t", _TEXT_NS + "line-break": "\n", _TEXT_NS + "s": " "}
    root = z.xml("content.xml")
    body = []
    for node in root.iter():
        if node.tag in (_TEXT_NS + "p", _TEXT_NS + "h"):
            line = "".join(_odf_text(node, extra, (_TEXT_NS + "p", _TEXT_NS + "h"))).strip()
            if line:
                body.append(line)
    if body:
        yield Part("body", text="\n".join(body))
    links = [node.get(_XLINK + "href", "").strip() for node in root.iter(_TEXT_NS + "a")]
    links = [link for link in dict.fromkeys(links) if link and not link.startswith("#")]
    if links:
        yield Part("links", text="\n".join(links))
    yield from _media(z, "Pictures/")
    yield from _metadata(z, "meta.xml")


def _odf_text(node, extra, skip=()) -> Iterator[str]:
    """The text of an element and everything inside it, in order, but for elements whose tag
    is in ``skip`` (nested paragraphs, read as lines of their own; their tails are kept);
    iterative, so deep nesting cannot exhaust the stack, and linear."""
    stack: list = [("node", node)]
    while stack:
        what, item = stack.pop()
        if what == "text":
            yield item
            continue
        if item is not node and item.tag in extra:
            yield extra[item.tag]
        if item.text:
            yield item.text
        for child in reversed(list(item)):
            if child.tail:
                stack.append(("text", child.tail))
            if child.tag not in skip:
                stack.append(("node", child))


# -- HTML and e-mail ---------------------------------------------------------------------------


_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "td", "th",
          "title", "blockquote", "pre", "ul", "ol", "table", "header", "footer", "nav", "aside", "main"}
_HIDDEN = {"script", "style", "noscript", "template", "head"}


def html_text(markup: str) -> tuple[str, list[str], list[str]]:
    """The visible text of an HTML page (scripts, styles and the head left out, except its
    title), its links, and the pictures written into it (``data:image/...`` addresses).
    libxml2's parser: linear time, no network, malformed markup recovered."""
    from lxml import etree

    # huge_tree: pictures written into the page can be attributes of several MB, which
    # libxml2 otherwise stops at, dropping the rest of the page (the input is capped at
    # MAX_HTML_BYTES before this, and the walk below is iterative).
    parser = etree.HTMLParser(recover=True, no_network=True, remove_comments=True, remove_pis=True,
                              huge_tree=True)
    try:
        root = etree.fromstring(markup.encode("utf-8", "replace"), parser)
    except (etree.LxmlError, ValueError):
        root = None
    if root is None:
        return "", [], []
    out: list[str] = []
    links: list[str] = []
    pictures: list[str] = []
    hidden = 0
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _BLOCK:
                out.append("\n")
            for key, value in el.attrib.items():
                if key in ("href", "src") and value and re.match(r"(?i)(https?:|mailto:|tel:)", value):
                    links.append(value)
                elif key == "src" and value[:11].lower() == "data:image/":
                    pictures.append(value)
                elif key in ("alt", "title") and value.strip() and hidden == 0:
                    out.append(f" {value} ")
            if tag in _HIDDEN:
                hidden += 1
            if el.text and (hidden == 0 or tag == "title"):
                out.append(el.text)
        else:
            if tag in _HIDDEN:
                hidden -= 1
            if tag in _BLOCK:
                out.append("\n")
            if el.tail and hidden == 0:
                out.append(el.tail)
    text = re.sub(r"[ \t\r\f\v]+", " ", "".join(out))
    text = "\n".join(line.strip() for line in text.split("\n") if line.strip())
    return text, list(dict.fromkeys(links)), list(dict.fromkeys(pictures))


#: Pictures written into one HTML page or body (``data:`` addresses) that are scanned.
MAX_HTML_PICTURES = 50


def _data_pictures(content: DocumentContent, limits: Limits, pictures: list[str], first: int = 1) -> Iterator[Part]:
    """The pictures of ``data:image/...;base64,`` addresses, decoded within the member and
    scan limits."""
    import base64
    import binascii

    if len(pictures) > MAX_HTML_PICTURES:
        content.notes.append(f"only the first {MAX_HTML_PICTURES} pictures written into the page were scanned")
    for k, uri in enumerate(pictures[:MAX_HTML_PICTURES], first):
        label = f"picture {k}"
        head, _, payload = uri.partition(",")
        if ";base64" not in head.lower():
            continue  # percent-encoded (SVG, in practice): not a raster picture
        size = len(payload) * 3 // 4
        if size > limits.max_member_bytes or size > limits.max_unpacked_bytes - content.budget.bytes:
            yield Part(label, error=TooLargeError(f"{content.name}: {label}: {size:,} bytes is over the limits"))
            continue
        try:
            data = base64.b64decode("".join(payload.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            yield Part(label, error=CorruptInputError(f"{content.name}: {label}: bad base64 ({exc})"))
            continue
        content.budget.bytes += len(data)
        yield Part(label, data=data)


def _html(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    data = content.data
    if len(data) > MAX_HTML_BYTES:
        content.notes.append(f"only the first {MAX_HTML_BYTES:,} bytes of the page were read")
        data = data[:MAX_HTML_BYTES]
    markup = data.decode("utf-8", "replace")
    text, links, pictures = html_text(markup)
    if text:
        yield Part("body", text=text)
    if links:
        yield Part("links", text="\n".join(links))
    yield from _data_pictures(content, limits, pictures)


#: Longest header value read from an e-mail (a hostile one of megabytes is cut, not parsed).
MAX_HEADER_CHARS = 4096


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def _redecode(value: str) -> str:
    """A raw header value as the parser kept it (bytes that are not ASCII as surrogate
    escapes) read as UTF-8, unfolded, with RFC 2047 encoded words decoded one by one."""
    import email.header

    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    value = re.sub(r"\r?\n(?=[ \t])", "", value)

    def word(m: re.Match) -> str:
        try:
            return str(email.header.make_header(email.header.decode_header(m.group())))
        except (ValueError, LookupError, UnicodeError, email.errors.MessageError):
            return m.group()

    return printable(_ENCODED_WORD.sub(word, value))


def _header(msg, key: str) -> str:
    """A header's value (raw UTF-8 and RFC 2047 encoded words decoded), cut to MAX_HEADER_CHARS.

    Messages are parsed with the compat32 policy, which keeps header values as they came:
    the structured parser of the default policy is quadratic on some values (a Reply-To of
    50,000 dots took over a minute) and ran each time a header was read."""
    for name, value in msg.raw_items():
        if name.lower() == key.lower():
            return _redecode(str(value)[:MAX_HEADER_CHARS])
    return ""


def _filename(part) -> str | None:
    """An attachment's file name (RFC 2231, RFC 2047 and raw UTF-8 forms decoded), or None.

    Read from the raw Content-Disposition and Content-Type values, first read as UTF-8:
    compat32's own get_filename() turns raw UTF-8 bytes into U+FFFD."""
    import email.message

    fields = email.message.Message()
    for name, value in part.raw_items():
        if name.lower() in ("content-disposition", "content-type"):
            fields[name] = _redecode(str(value)[:MAX_HEADER_CHARS])
    try:
        filename = fields.get_filename()
    except (ValueError, LookupError, UnicodeError, email.errors.MessageError):
        return None
    return None if filename is None else _redecode(str(filename))


_BOUNDARY = re.compile(rb"(?m)^--[^\s-]")


def _eml(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    # Count the parts before parsing (the parser builds every one of them first): past the
    # limit, only the message up to that boundary line is parsed.
    data = content.data
    boundaries = _BOUNDARY.finditer(data)
    cut = next(itertools.islice(boundaries, 2 * limits.max_parts, None), None)
    if cut is not None:
        data = data[:cut.start()]
        content.notes.append(f"only the part of the message before its {2 * limits.max_parts:,}th MIME boundary "
                             "line was read")
    try:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
    except Exception as exc:  # noqa: BLE001 - the parser raises many kinds
        raise CorruptInputError(f"{content.name}: not a readable e-mail ({exc})") from None
    head = "\n".join(f"{k}: {v}" for k in ("From", "To", "Reply-To", "Subject") if (v := _header(msg, k)))
    if head:
        yield Part("headers", text=head)
    count = pictures_seen = 0
    for part in msg.walk():
        if part.is_multipart():
            continue
        count += 1
        if count > limits.max_parts:
            content.notes.append(f"only the first {limits.max_parts:,} parts were scanned")
            return
        filename = _filename(part)
        ctype = part.get_content_type()
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception as exc:  # noqa: BLE001
            yield Part(f"attachment {filename or ctype}", error=CorruptInputError(f"{content.name}: {exc}"))
            continue
        if len(payload) > limits.max_member_bytes:
            yield Part(f"attachment {filename or ctype}", error=TooLargeError(
                f"{content.name}: attachment {filename or ctype}: {len(payload):,} bytes is over the member limit"))
            continue
        if filename or part.get_content_disposition() == "attachment" or not ctype.startswith("text/"):
            name, _ = safe_name(filename or ctype)
            yield Part(f"attachment {name}", data=payload)
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            body = payload.decode(charset, "replace")
        except LookupError:
            body = payload.decode("utf-8", "replace")
        pictures: list[str] = []
        if ctype == "text/html":
            body, links, pictures = html_text(body)
            if links:
                body += "\n" + "\n".join(links)
        if body.strip():
            yield Part("body", text=body)
        yield from _data_pictures(content, limits, pictures, first=pictures_seen + 1)
        pictures_seen += len(pictures)
