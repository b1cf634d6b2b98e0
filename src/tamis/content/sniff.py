"""File type from content (magic bytes), never from the name."""

from __future__ import annotations

import functools
import io
import re
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True)
class Sniffed:
    kind: str  # image, video, document, archive, text, unknown
    media_type: str


_ISO_IMAGE_BRANDS = {
    b"heic": "image/heic", b"heix": "image/heic", b"heim": "image/heic", b"heis": "image/heic",
    b"hevc": "image/heic", b"hevx": "image/heic", b"mif1": "image/heif", b"msf1": "image/heif",
    b"avif": "image/avif", b"avis": "image/avif",
}


def sniff(data: bytes) -> Sniffed:
    """Tell what ``data`` is from its first bytes."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg")
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return Sniffed("ole", "application/x-ole-storage")  # legacy .doc/.xls/.ppt, OLE objects
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "image/gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp")
    if head[:2] == b"BM" and len(head) >= 14:
        return Sniffed("image", "image/bmp")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed("image", "image/tiff")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _ISO_IMAGE_BRANDS:
            return Sniffed("image", _ISO_IMAGE_BRANDS[brand])
        if brand == b"qt  ":
            return Sniffed("video", "video/quicktime")
        return Sniffed("video", "video/mp4")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed("video", "video/x-msvideo")
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska, or its WebM profile
        return Sniffed("video", "video/webm" if b"webm" in head else "video/x-matroska")
    if head[:5] == b"%PDF-":
        return Sniffed("document", "application/pdf")
    if head[:4] == b"PK\x03\x04":
        return Sniffed("archive", "application/zip")
    if head[:2] == b"\x1f\x8b":
        return Sniffed("archive", "application/gzip")
    if (len(data) > 262 and data[257:262] == b"ustar") or _is_tar_header(data):
        return Sniffed("archive", "application/x-tar")
    if _looks_like_text(data):
        return _text_kind(data)
    return Sniffed("unknown", "application/octet-stream")


def appended_zip(data: bytes) -> int | None:
    """Where a ZIP archive appended to (or hidden in) a file starts, if there is one."""
    if b"PK\x05\x06" not in data[-(1 << 16) - 22:]:
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            starts = [i.header_offset for i in z.infolist()]
    except (zipfile.BadZipFile, ValueError, NotImplementedError, OSError, EOFError):
        return None
    start = min(starts, default=None)
    return start if start and data[start:start + 4] == b"PK\x03\x04" else None


def _is_tar_header(data: bytes) -> bool:
    """A 512-byte tar header without the POSIX magic (the V7 format) whose checksum holds."""
    if len(data) < 512 or data[0] == 0:
        return False
    field = data[148:156].replace(b"\x00", b" ").strip()
    if not field or not all(48 <= c <= 55 for c in field):
        return False
    head = data[:148] + b" " * 8 + data[156:512]
    return int(field, 8) == sum(head) and data[156:157] in (b"\x00", *(bytes([c]) for c in b"01234567"))


def _looks_like_text(data: bytes) -> bool:
    """UTF-8 text, or text that starts as such and has a bad byte later (reported as
    malformed UTF-8 by the text loader rather than as an unknown format)."""
    sample = data[:4096]
    if not sample or b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3:  # a character cut at the sample's end
            return True
        prefix = sample[:exc.start].decode("utf-8")
        printable = sum(c.isprintable() or c.isspace() for c in prefix)
        return len(prefix) >= 16 and printable >= 0.95 * len(prefix)
    return True


_HEADER = re.compile(rb"^[!-9;-~]+:")  # an RFC 5322 field name, then a colon
_EMAIL_KEY_HEADERS = (b"from:", b"subject:")


def _text_kind(data: bytes) -> Sniffed:
    """Plain text, or text that is an HTML page or an e-mail message (RFC 5322)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    lower = head[:1024].lower()
    while lower.startswith(b"<!--") and b"-->" in lower:  # comments before the doctype
        lower = lower[lower.index(b"-->") + 3:].lstrip()
    if lower.startswith((b"<!doctype html", b"<html")) or (lower.startswith(b"<?xml") and b"<html" in lower):
        return Sniffed("document", "text/html")
    fields, key = 0, 0
    for line in head.split(b"\n", 60)[:60]:
        line = line.rstrip(b"\r")
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t"):
            continue  # a folded header line
        if not _HEADER.match(line):
            return Sniffed("text", "text/plain")
        fields += 1
        key += line.lower().startswith(_EMAIL_KEY_HEADERS)
    if fields >= 3 and key >= 1:
        return Sniffed("document", "message/rfc822")
    return Sniffed("text", "text/plain")


# -- what the name claims -----------------------------------------------------------------

#: Extensions of formats tamis reads that Python's table may not know.
_EXTRA_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".mkv": "video/x-matroska", ".gz": "application/gzip", ".tgz": "application/gzip",
}
_COMPRESSED = {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz"}
_ARCHIVE_TYPES = {"application/zip", "application/gzip", "application/x-tar", "application/x-bzip2",
                  "application/x-xz", "application/x-7z-compressed", "application/vnd.rar",
                  "application/x-rar-compressed"}
_TEXT_TYPES = {"message/rfc822", "application/json", "application/xml", "application/javascript",
               "application/x-sh", "image/svg+xml"}  # SVG is XML text, not a picture tamis decodes
_DOCUMENT_TYPES = {"application/pdf", "application/msword", "application/vnd.ms-excel",
                   "application/vnd.ms-powerpoint", "application/rtf"}
#: Two names for one format.
_SAME = {"image/x-ms-bmp": "image/bmp", "image/heif": "image/heic", "image/pjpeg": "image/jpeg"}


def _family(media_type: str) -> str | None:
    if media_type in _TEXT_TYPES:
        return "text"
    major = media_type.split("/", 1)[0]
    if major in ("image", "video", "audio", "text"):
        return major
    if media_type in _ARCHIVE_TYPES:
        return "archive"
    if media_type in _DOCUMENT_TYPES or ".opendocument." in media_type or "officedocument" in media_type:
        return "document"
    return None


def _claimed(name: str) -> tuple[str, str] | None:
    """(extension, media type) that the file name claims, or None for a name without a
    known extension."""
    import posixpath

    base = posixpath.basename(name.replace("\\", "/"))
    stem, ext = posixpath.splitext(base)
    if not stem or not ext or any(c in ext for c in " #"):
        return None
    media_type, encoding = _types().guess_type("x" + ext.lower(), strict=False)
    media_type = _COMPRESSED.get(encoding or "", media_type) or _EXTRA_TYPES.get(ext.lower())
    return (ext, media_type) if media_type else None


@functools.cache
def _types():
    import mimetypes

    return mimetypes.MimeTypes()  # Python's own table only: the same answer on every machine


def name_mismatch(name: str, found) -> str | None:
    """A note when the extension of ``name`` claims another kind of content than ``found``
    (a :class:`Sniffed` or a loaded content: anything with ``kind`` and ``media_type``), e.g.
    text named ``.jpg``, a common way to slip content past filters that trust names; also
    when a picture or a document is another format of its kind (a PNG named ``.jpg``).
    None when the name has no known extension or agrees with the content."""
    claimed = _claimed(name)
    if claimed is None:
        return None
    ext, said = claimed
    said = _SAME.get(said, said)
    actual = _SAME.get(found.media_type, found.media_type)
    said_family = _family(said)
    actual_family = _family(actual) or found.kind
    if said_family is None or said == actual:
        return None
    if said == "application/zip" and actual_family == "document" and actual.startswith("application/vnd."):
        return None  # OOXML and ODF files are zip packages
    if said_family != actual_family:
        return f"name says {said_family} ({ext}) but the content is {actual}"
    if said_family in ("image", "document"):  # precise types; text, video and archive names vary
        return f"name says {said} ({ext}) but the content is {actual}"
    return None
