"""Text: decoded strictly as UTF-8, with limits; parts of other content (OCR) become text too."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tamis.content.base import Content
from tamis.errors import CorruptInputError, EmptyInputError, TooLargeError


@dataclass(frozen=True)
class Region:
    """Where a stretch [start, end) of text taken from another content came from: its box
    and frame in an image, or its time in a video."""

    start: int
    end: int
    box: Any
    frame: int | None
    part: str  # "ocr", "qr_code", "subtitle" or "metadata"
    timestamp: float | None = None


@dataclass
class TextContent(Content):
    text: str = ""
    #: For text read from an image: where each line or payload sits.
    regions: list[Region] = field(default_factory=list)
    #: For text taken from another content (``ocr``), the name of that part.
    part: str | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Every text, whatever made it (a caller, a document part, a subtitle), can be
        # encoded: lone surrogates (valid in a Python str and in JSON, not in UTF-8) go.
        if _SURROGATE.search(self.text):
            self.text = clean_text(self.text)
            self.notes.append("invalid characters (lone UTF-16 surrogates) were replaced by U+FFFD")

    def normalized(self):
        from tamis.text import normalize

        return self.shared("normalized", lambda: normalize(self.text))

    def language(self) -> tuple[str | None, float]:
        from tamis.text import identify_language

        return self.shared("language", lambda: identify_language(self.text))


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (a surrogate pair becomes its
    character), so that it can always be encoded as UTF-8. Same length or shorter."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def decode_text(name: str, data: bytes, max_chars: int) -> str:
    """UTF-8 (a BOM is allowed) with a specific error for malformed bytes and NULs."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptInputError(
            f"{name}: malformed UTF-8 at byte {exc.start} ({exc.reason}); tamis reads text as UTF-8") from None
    return check_text(name, text, max_chars)


def check_text(name: str, text: str, max_chars: int) -> str:
    if "\x00" in text:
        raise CorruptInputError(f"{name}: text contains NUL characters at offset {text.index(chr(0))}")
    if len(text) > max_chars:
        raise TooLargeError(f"{name}: {len(text):,} characters is over the limit of {max_chars:,}")
    if not text.strip():
        raise EmptyInputError(f"{name}: empty text")
    return text


def load_text(name: str, data: bytes | str, max_chars: int) -> TextContent:
    text = check_text(name, data, max_chars) if isinstance(data, str) else decode_text(name, data, max_chars)
    content = TextContent(kind="text", name=name, media_type="text/plain", data=b"", text=text)
    content.data = content.text.encode("utf-8") if isinstance(data, str) else data
    return content
