"""Office Open XML (DOCX, PPTX, XLSX) and OpenDocument (ODT, ODP, ODS)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from tamis.content.document.archives import Zip
from tamis.content.document.base import DocumentContent, Limits, Part
from tamis.errors import (
    InputError,
)

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


def _media(z: Zip, prefix: str, skip: set[str] | frozenset = frozenset()) -> Iterator[Part]:
    """The raster pictures stored under ``prefix`` (EMF/WMF vector pictures are not drawn)."""
    for name in z.names():
        if name.startswith(prefix) and name.lower().endswith(_RASTER_EXT) and name not in skip:
            try:
                yield Part(f"image {name}", data=z.read(name))
            except InputError as exc:
                yield Part(f"image {name}", error=exc)


def _embedded(z: Zip, prefix: str) -> Iterator[Part]:
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


def _metadata(z: Zip, name: str) -> Iterator[Part]:
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


def _links(z: Zip) -> Iterator[Part]:
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


def _package_extras(z: Zip, folder: str, shown: set[str] | frozenset = frozenset()) -> Iterator[Part]:
    """What every Office package holds beside its text, under ``folder`` (``word/``, ``ppt/``,
    ``xl/``): pictures (less those ``shown`` already), embedded files, hyperlink addresses
    and metadata."""
    yield from _media(z, folder + "media/", shown)
    yield from _embedded(z, folder + "embeddings/")
    yield from _links(z)
    yield from _metadata(z, "docProps/core.xml")


def _xml_part(z: Zip, name: str, label: str, para: str, text: str, extra=None) -> Iterator[Part]:
    try:
        body = _paragraphs(z.xml(name), para, text, extra)
    except InputError as exc:
        yield Part(label, error=exc)
        return
    if body.strip():
        yield Part(label, text=body)


def read_docx(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    z = Zip(content, limits)
    extra = {_W + "tab": "\t", _W + "br": "\n"}
    yield from _xml_part(z, "word/document.xml", "body", _W + "p", _W + "t", extra)
    for name in sorted(z.names()):
        m = re.fullmatch(r"word/(header|footer|footnotes|endnotes|comments)(\d*)\.xml", name)
        if m:
            yield from _xml_part(z, name, m.group(1) + (f" {m.group(2)}" if m.group(2) else ""),
                                 _W + "p", _W + "t", extra)
    yield from _package_extras(z, "word/")


def read_pptx(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    z = Zip(content, limits)

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


def read_xlsx(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    """One text per sheet, a line per row; each cell's stretch is labelled ``sheet NAME!B7``."""
    z = Zip(content, limits)
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


def read_odf(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    z = Zip(content, limits)
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
