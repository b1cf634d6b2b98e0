"""Scanning documents and archives: each part goes through the detectors of its kind, and
every finding names its part (page, slide, sheet and cell, member, attachment, image).

Parts are unpacked lazily and analysed a few at a time, so memory holds one batch of parts,
not the whole container. Containers inside containers are scanned recursively up to
``max_nesting``. A part that cannot be read (corrupt, encrypted, over a limit) is listed
with its error; the rest of the container is still scanned.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from tamis.content.base import Content
from tamis.content.document import DocumentContent, Limits, Part, parts
from tamis.content.image import Frame, ImageContent
from tamis.content.text import Region, TextContent
from tamis.detectors.hashes import content_hashes
from tamis.engine.merge import Analyzer, describe, placed
from tamis.errors import ArchiveBombError, CorruptInputError, InputError, TooDeepError
from tamis.results import Finding, PartRecord, ScanError, ScanResult

log = logging.getLogger("tamis")

BATCH = 8
#: Findings of a part under this score are left out (as for video frames).
MIN_PART_FINDING = 0.05
#: A part refused for one of these makes the whole container an error: it was built to
#: hurt the scanner (or to hide something from it), not merely damaged.
HOSTILE = {"archive_bomb", "too_deep", "decompression_bomb"}


def limits_for(settings) -> Limits:
    return Limits(max_parts=settings.max_archive_members, max_unpacked_bytes=settings.max_unpacked_bytes,
                  max_member_bytes=settings.max_member_bytes, max_ratio=settings.max_compression_ratio,
                  max_depth=settings.max_nesting, max_pages=settings.max_pages, render_dpi=settings.pdf_render_dpi,
                  max_pixels=settings.max_pixels, password=settings.pdf_password)


def analyze_document(engine: Analyzer, content: DocumentContent) -> ScanResult:
    """Scan a document or archive with ``engine``'s detectors and policy. Raises an
    :class:`InputError` when the container itself cannot be opened."""
    from tamis.results import DocumentSummary

    result = describe(content)
    result.document = DocumentSummary(format=content.format)
    scanner = _Scanner(engine, limits_for(engine.settings), result, content)
    scanner.scan(content, prefix="", depth=0)
    result.document.pages = content.pages
    result.hashes = content_hashes(content)
    result.findings.extend(engine.known_file(result.hashes))
    result.notes = list(dict.fromkeys(result.notes))
    result.decision = engine.policy.decide(result.findings)
    hostile = next((p for p in result.document.parts if p.error and p.error.code in HOSTILE), None)
    if hostile is not None:  # refused, whatever the other parts held (which stay in the result)
        result.error = ScanError(hostile.error.code, f"{hostile.error.message} (the other parts were scanned)")
    return result


class _Scanner:
    def __init__(self, engine: Analyzer, limits: Limits, result: ScanResult, top: Content) -> None:
        self.engine, self.limits, self.result = engine, limits, result
        self.top = top  # whose deadline holds for every container inside
        self.batch: list[tuple[Part, str, Content]] = []

    def scan(self, content: DocumentContent, prefix: str, depth: int) -> None:
        """Scan the parts of ``content``; a container that cannot be opened raises at the
        top and is recorded as a failed part below it."""
        seen = False
        try:
            for part in parts(content, self.limits):
                self.top.check_deadline()
                seen = True
                content.budget.parts += 1
                if content.budget.parts > self.limits.max_parts:
                    raise ArchiveBombError(f"{content.name}: more than {self.limits.max_parts:,} parts in all "
                                           "(containers inside containers count together)")
                self._part(content, part, prefix, depth)
        except Exception as exc:  # noqa: BLE001 - one unreadable container must not end the scan
            if not isinstance(exc, InputError):
                log.exception("reading %s", content.name)
                exc = CorruptInputError(f"{content.name}: could not be read ({type(exc).__name__}: {exc})")
            if depth == 0 and not seen:
                raise exc from None
            self._record(PartRecord(prefix.rstrip(" >") or content.name, kind=content.kind,
                                    media_type=content.media_type, error=ScanError.of(exc)))
        finally:
            self.flush()
            notes = [f"{prefix}{n}" for n in content.notes]
            self.result.notes.extend(notes)
            if depth == 0 and content.pages is not None:
                self.result.document.pages = content.pages

    def _part(self, container: DocumentContent, part: Part, prefix: str, depth: int) -> None:
        label = f"{prefix}{part.label}"
        if part.error is not None:
            self._record(PartRecord(label, page=part.page, error=ScanError.of(part.error)))
            return
        name = f"{container.name}#{label}"
        if part.text is not None:
            limit = self.engine.settings.max_text_chars
            if len(part.text) > limit:
                self.result.notes.append(f"{label}: only the first {limit:,} characters were read")
                part.text = part.text[:limit]
            regions = [Region(a, b, None, None, f"{prefix}{lab}") for a, b, lab in part.regions]
            content: Content = TextContent(kind="text", name=name, media_type="text/plain",
                                           data=part.text.encode("utf-8", "replace"), text=part.text,
                                           regions=regions, part=label)
        elif part.rgb is not None:
            content = ImageContent(kind="image", name=name, media_type="image/x-rendered", data=b"",
                                   width=part.rgb.shape[1], height=part.rgb.shape[0],
                                   frames=[Frame(0, part.rgb)], derived=True, ocr_always=part.ocr)
        else:
            try:
                content = self.engine.open(part.data or b"", name=name)
            except Exception as exc:  # noqa: BLE001 - a bad part is recorded, the rest goes on
                if not isinstance(exc, InputError):
                    log.exception("opening %s", name)
                    exc = CorruptInputError(f"{name}: could not be read ({type(exc).__name__}: {exc})")
                self._record(PartRecord(label, page=part.page, size=len(part.data or b""), error=ScanError.of(exc)))
                return
            if isinstance(content, DocumentContent):
                content.budget = container.budget  # one budget for the whole scan
                if depth + 1 > self.limits.max_depth:
                    err = TooDeepError(f"{name}: nested deeper than {self.limits.max_depth} containers")
                    self._record(PartRecord(label, kind=content.kind, media_type=content.media_type,
                                            error=ScanError.of(err)))
                    return
                self.flush()  # parts stay listed in document order
                self._record(PartRecord(label, kind=content.kind, media_type=content.media_type,
                                        size=len(content.data)))
                content.depth = depth + 1
                self.scan(content, prefix=f"{label} > ", depth=depth + 1)
                return
            if content.kind == "video":
                self.flush()
                self._merge(part, label, content, self.engine.analyze([content])[0])
                return
        self.batch.append((part, label, content))
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        for (part, label, content), r in zip(batch, self.engine.analyze([c for _, _, c in batch])):
            self._merge(part, label, content, r)

    def _merge(self, part: Part, label: str, content: Content, r: ScanResult) -> None:

        size = len(content.text) if isinstance(content, TextContent) else (
            len(content.data) or getattr(content, "size_bytes", None))
        record = PartRecord(label, kind=content.kind, media_type=content.media_type, page=part.page,
                            size=size or None, error=r.error)
        self._record(record)
        if r.error:
            return
        for f in r.findings:
            if f.score < MIN_PART_FINDING:
                continue  # e.g. a whole-picture score near zero on every picture of a big archive
            if isinstance(content, TextContent) and content.regions:
                f = placed(f, content)
                where = f.location.part
            else:
                inner = f.location.part
                where = f"{label} > {inner}" if inner and inner != label else label
            located = _located(f, where, part.page)
            self.result.findings.append(located)
            record.found.append(located)
            record.findings += 1
        record.faces = len(r.faces)
        self.result.keep_highest(r.label_scores)
        if r.language and not self.result.language:
            self.result.language = r.language
        for k, v in r.timings_ms.items():
            self.result.timings_ms[k] = self.result.timings_ms.get(k, 0.0) + v

    def _record(self, record: PartRecord) -> None:
        self.result.document.parts.append(record)


def _located(f: Finding, part: str, page: int | None) -> Finding:
    return replace(f, location=replace(f.location, part=part, page=page if page is not None else f.location.page))
