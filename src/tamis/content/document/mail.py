"""HTML pages and e-mail messages (RFC 5322): text, links, pictures written in, attachments."""

from __future__ import annotations

import email
import email.errors
import email.policy
import itertools
import re
from collections.abc import Iterator

from tamis.content.base import printable
from tamis.content.document.archives import safe_name
from tamis.content.document.base import MAX_HTML_BYTES, DocumentContent, Limits, Part
from tamis.errors import (
    CorruptInputError,
    TooLargeError,
)

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


def read_html(content: DocumentContent, limits: Limits) -> Iterator[Part]:
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


def read_eml(content: DocumentContent, limits: Limits) -> Iterator[Part]:
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
