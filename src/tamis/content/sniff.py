"""File type from content (magic bytes), never from the name."""

from __future__ import annotations

import re
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
    if len(data) > 262 and data[257:262] == b"ustar":
        return Sniffed("archive", "application/x-tar")
    if _looks_like_text(data):
        return _text_kind(data)
    return Sniffed("unknown", "application/octet-stream")


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
