"""Opening inputs: bytes, paths and streams into typed content, its type read from the
content, with the limits of the settings; what cannot be read is one clear error."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tamis.config import Settings
from tamis.content.base import Content, Source, printable, read_source
from tamis.content.image import load_image
from tamis.content.sniff import name_mismatch, sniff
from tamis.content.text import TextContent, load_text
from tamis.errors import InputError, TamisError, UnsupportedFormatError, input_error

log = logging.getLogger("tamis")

#: Kinds tamis reads today; the others are recognised and refused with a clear message.
SUPPORTED_KINDS = {"image", "text", "video", "document", "archive"}
#: What to tell people about a format tamis recognises but does not scan.
_NOT_SCANNED_HINTS = {
    "ole": ": a legacy Office file (.doc, .xls, .ppt) or an embedded OLE object; save it as DOCX, "
           "XLSX or PPTX to scan it",
}


def _why_not_text(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        return "it contains NUL bytes"
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"malformed UTF-8 at byte {exc.start}"
    return "unknown content"


def _text_in_another_encoding(data: bytes) -> bool:
    """Bytes that read as text in a single-byte encoding (Latin-1, Windows-1252...) but are
    not UTF-8: the same fault as a text file with a bad byte later, so the same error."""
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    chars = sample.decode("latin-1")
    return sum(c.isprintable() or c in "\t\r\n" for c in chars) >= 0.95 * len(chars)


def _name_note(content: Content) -> Content:
    """Note on ``content`` when its file name claims another type (text named .jpg)."""
    note = name_mismatch(content.name, content)
    if note:
        content.notes.append(note)
    return content


class Opener:
    """Turns sources into content under ``self.settings`` (the engine's)."""

    settings: Settings

    def open(self, source: Source, name: str | None = None) -> Content:
        """Read and decode one input into typed content (type from content, not name).

        A video file is not read here: it is streamed from disk when scanned.
        """
        try:
            video = self._open_video_file(source, name)
            if video is not None:
                return _name_note(video)
            name, data = read_source(source, self.settings.max_bytes, name)
        except Exception as exc:  # noqa: BLE001 - one input's fault, as a tamis error
            label = name or (str(source) if isinstance(source, (str, os.PathLike)) else "<bytes>")
            raise self._foreign(exc, printable(label), "video or file") from None
        sniffed = sniff(data)
        try:
            return _name_note(self._load(name, data, sniffed))
        except Exception as exc:  # noqa: BLE001
            raise self._foreign(exc, name, sniffed.media_type) from None

    @staticmethod
    def _foreign(exc: Exception, name: str, what: str) -> TamisError:
        if not isinstance(exc, TamisError):
            log.debug("reading %s failed in a library", name, exc_info=exc)
        return input_error(exc, name, what)

    def _load(self, name: str, data: bytes, sniffed) -> Content:
        if sniffed.kind not in SUPPORTED_KINDS:
            if sniffed.kind == "unknown" and _text_in_another_encoding(data):
                load_text(name, data, self.settings.max_text_chars)  # raises: malformed UTF-8 (corrupt_input)
            if sniffed.kind == "unknown":
                raise UnsupportedFormatError(
                    f"{name}: not a recognised image, video, document, archive or UTF-8 text "
                    f"({_why_not_text(data)})")
            hint = _NOT_SCANNED_HINTS.get(sniffed.kind, "")
            raise UnsupportedFormatError(
                f"{name}: {sniffed.media_type} ({sniffed.kind}) is recognised but this version "
                f"of tamis does not scan it{hint}")
        if sniffed.kind == "text":
            return load_text(name, data, self.settings.max_text_chars)
        if sniffed.kind == "video":
            return self._load_video(name, sniffed.media_type, data=data)
        if sniffed.kind in ("document", "archive"):
            from tamis.content.document import load_document

            return load_document(name, data, sniffed.media_type, password=self.settings.pdf_password)
        return load_image(name, data, sniffed.media_type, max_pixels=self.settings.max_pixels,
                          min_side=self.settings.min_side, max_frames=self.settings.max_frames,
                          scene_threshold=self.settings.video_scene_threshold)

    def _open_video_file(self, source: Source, name: str | None) -> Content | None:
        """A path whose first bytes say video, opened for streaming; else None."""
        if not isinstance(source, (str, os.PathLike)):
            return None
        path = Path(source)
        try:
            with path.open("rb") as fh:
                head = fh.read(64)
        except OSError:
            return None  # read_source gives the specific error
        sniffed = sniff(head)
        if sniffed.kind != "video":
            return None
        return self._load_video(printable(name or str(path)), sniffed.media_type, path=path)

    def _load_video(self, name: str, media_type: str, **where) -> Content:
        from tamis.content.video import load_video

        s = self.settings
        return load_video(name, media_type, max_bytes=s.max_video_bytes, max_pixels=s.max_pixels,
                          max_seconds=s.max_video_seconds, **where)

    def open_text(self, text: str, name: str = "<text>") -> TextContent:
        """Text given directly (not bytes), checked against the same limits."""
        name = printable(str(name))
        if not isinstance(text, str):
            raise InputError(f"{name}: expected str, got {type(text).__name__}")
        return load_text(name, text, self.settings.max_text_chars)

