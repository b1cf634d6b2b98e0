"""Documents and archives: containers split into parts (texts, pictures, embedded files).

Every format is read from memory; nothing is ever written to disk, so a member named
``../../etc/passwd`` is only a name (reported as unsafe). Limits on parts, unpacked bytes,
compression ratio and nesting depth are checked before anything is unpacked, and each
member is read with a bounded read in case its header lies. A part that cannot be read is
reported and the rest of the container is still scanned.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from tamis.content.document.archives import read_gzip, read_tar, read_zip, safe_name
from tamis.content.document.base import ARCHIVES, MEDIA_TYPES, ODF, OOXML, Budget, DocumentContent, Limits, Part
from tamis.content.document.mail import html_text, read_eml, read_html
from tamis.content.document.office import read_docx, read_odf, read_pptx, read_xlsx
from tamis.content.document.pdf import open_pdf, read_pdf
from tamis.errors import CorruptInputError, UnsupportedFormatError

__all__ = ["Budget", "DocumentContent", "Limits", "Part", "html_text", "identify", "load_document", "parts",
           "safe_name"]


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
        open_pdf(name, data, password).close()
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
    reader = {"pdf": read_pdf, "docx": read_docx, "pptx": read_pptx, "xlsx": read_xlsx, "odt": read_odf,
              "odp": read_odf, "ods": read_odf, "html": read_html, "eml": read_eml, "zip": read_zip,
              "tar": read_tar, "gzip": read_gzip}[content.format]
    yield from reader(content, limits)
