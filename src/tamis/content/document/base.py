"""What a container is: its limits, the budget it shares with the containers inside it, its parts."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tamis.content.base import Content
from tamis.errors import (
    TamisError,
)


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
