"""Mutations: AFL-style "havoc" on bytes, plus structure-aware mutations per format family.

Every mutation is pure Python and deterministic for a given ``random.Random``. The
structure-aware ones keep an input valid enough to get past the first parser (a zip stays
a zip whose member was damaged, a PNG chunk keeps a correct CRC, a tar header a correct
checksum), so that the code behind it is reached.

Families (``Format.family`` in fuzz/targets.py): binary, png, tiff, riff, isobmff, pdf, zip,
tar, gzip, html, eml, text, json, yaml, csv.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import re
import struct
import tarfile
import warnings
import zipfile
import zlib

warnings.filterwarnings("ignore", message="Duplicate name", module="zipfile")

#: Largest input the mutators produce (a finding should need no megabytes).
MAX_LEN = 1 << 20

INTERESTING_8 = [0, 1, 0x7F, 0x80, 0xFF, 0x10, 0x20, 0x40, 0x64]
INTERESTING_16 = [0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x0100, 0x0200, 0x03E8, 0x1000, 0xFFFE]
INTERESTING_32 = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x00010000, 0x7FFFFFFE, 0x00100000, 0x10000000,
                  0xFFFFFFFE, 40_000_001, 65_536, 100_000]

TOKENS: dict[str, list[bytes]] = {
    "binary": [b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x80", b"\xff" * 16],
    "png": [b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"acTL", b"fcTL", b"fdAT", b"eXIf", b"iCCP", b"zTXt",
            b"iTXt", b"tEXt", b"sBIT", b"gAMA", b"pHYs", b"cHRM", b"sRGB", b"bKGD", b"\x89PNG\r\n\x1a\n"],
    "jpeg": [b"\xff\xd8", b"\xff\xd9", b"\xff\xc0", b"\xff\xc1", b"\xff\xc2", b"\xff\xc3", b"\xff\xc4",
             b"\xff\xda", b"\xff\xdb", b"\xff\xdd\x00\x04\x00\x01", b"\xff\xe1\x00\x20Exif\x00\x00MM\x00*",
             b"\xff\xe2\x00\x10ICC_PROFILE\x00\x01\x01", b"\xff\xfe\x00\x05hi", b"\xff\xee\x00\x0eAdobe",
             b"\xff\xe0\x00\x10JFIF\x00", b"\xff\xe2\x00\x08MPF\x00", b"\xff\xd0", b"\xff\xff\xff"],
    "gif": [b"\x21\xf9\x04\x04\x00\x00\x00\x00", b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00", b"\x2c",
            b"\x3b", b"\x21\xfe\x01a\x00", b"GIF89a", b"\x21\x01"],
    "riff": [b"RIFF", b"WEBP", b"VP8 ", b"VP8L", b"VP8X", b"ANIM", b"ANMF", b"ALPH", b"ICCP", b"EXIF", b"XMP ",
             b"AVI ", b"LIST", b"hdrl", b"avih", b"strh", b"strf", b"strl", b"movi", b"idx1", b"00dc", b"01wb",
             b"JUNK", b"vids", b"MJPG", b"odml", b"dmlh", b"indx", b"ix00"],
    "tiff": [struct.pack("<H", t) for t in (256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 317, 320, 322, 323,
                                             324, 325, 330, 338, 339, 347, 530, 532, 34665, 34675, 700, 274)]
            + [b"II*\x00", b"MM\x00*", b"\x00\x00\x00\x00"],
    "isobmff": [t.encode() for t in (
        "ftyp", "moov", "mvhd", "trak", "tkhd", "mdia", "mdhd", "minf", "stbl", "stsd", "stts", "stsc", "stsz",
        "stco", "co64", "mdat", "meta", "iloc", "iinf", "infe", "iprp", "ipco", "ipma", "ispe", "hvcC", "av1C",
        "pitm", "iref", "udta", "free", "heic", "avif", "mif1", "grid", "irot", "imir", "clap", "pixi", "colr",
        "auxC", "dinf", "dref", "edts", "elst", "ctts", "stss", "moof", "traf", "trun", "tfhd", "mvex", "sidx",
        "hdlr", "avc1", "avcC", "mp4v", "esds", "Exif", "mime", "thmb", "dimg", "idat", "auxl")]
        + [b"\x00\x00\x00\x01", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff"],
    "mkv": [b"\x1a\x45\xdf\xa3", b"\x18\x53\x80\x67", b"\x16\x54\xae\x6b", b"\x1f\x43\xb6\x75", b"\xa3", b"\xae",
            b"\x86", b"\x11\x4d\x9b\x74", b"\x15\x49\xa9\x66", b"\x1c\x53\xbb\x6b", b"\x12\x54\xc3\x67",
            b"\x01\xff\xff\xff\xff\xff\xff\xff", b"V_MPEG4/ISO/AVC", b"S_TEXT/UTF8", b"V_VP9", b"V_VP8",
            b"V_MJPEG", b"\xe0", b"\xb0", b"\xba", b"\x2a\xd7\xb1", b"\x44\x89", b"\xe7", b"\xa0", b"\xa1",
            b"webm", b"matroska", b"\x42\x82"],
    "pdf": [b" obj\n", b"endobj\n", b"stream\n", b"\nendstream", b"/Length 0", b"/Length 999999999", b"xref\n",
            b"trailer\n", b"startxref\n", b"/Filter /FlateDecode", b"/Filter [/ASCIIHexDecode /LZWDecode]",
            b"/Filter /DCTDecode", b"/Filter /JBIG2Decode", b"/Filter /CCITTFaxDecode", b"/Filter /RunLengthDecode",
            b"/Type /Page", b"/Type /Pages", b"/Kids [", b"/Count 999999", b"/Annots [", b"/URI (http://e/)",
            b"/AcroForm", b"/Encrypt", b"/Type /ObjStm", b"/Type /XRef", b"<<", b">>", b"(", b")", b"\\",
            b"1 0 R", b"-1", b"1e308", b"/Parent 1 0 R", b"/MediaBox [0 0 1e9 1e9]", b"/Rotate 90", b"/Subtype /Image",
            b"/Width 65535", b"/Height 65535", b"/BitsPerComponent 16", b"/ColorSpace /DeviceCMYK",
            b"/DecodeParms << /Predictor 15 /Columns 99999 >>", b"/FT /Tx /V (x)", b"/Contents (note)", b"/T (t)",
            b"BT /F1 12 Tf (hi) Tj ET", b"q 1 0 0 1 0 0 cm /Im1 Do Q", b"BI /W 9 /H 9 /BPC 8 /CS /G ID \x00 EI",
            b"%%EOF", b"%PDF-1.7\n", b"/Names", b"/EmbeddedFiles", b"/OpenAction", b"/JS (app.alert(1))"],
    "html": [b"<html>", b"</html>", b"<body>", b"<p>", b"<br>", b"<script>", b"</script>", b"<style>", b"<title>",
             b"<template>", b"<noscript>", b"<svg>", b"<math>", b"<![CDATA[", b"]]>", b"<?xml version='1.0'?>",
             b"<!--", b"-->", b"<!DOCTYPE html>", b"&#0;", b"&#xFFFFFFFF;", b"&#x10FFFF;", b"&nbsp;", b"&amp",
             b"<a href='https://x.example/'>", b"<a href='mailto:a@b.example'>", b"<img src='data:image/png;base64,",
             b"'>", b"<img alt='", b"title='t' ", b"<meta charset='utf-16'>", b"<meta charset='x-bogus'>",
             b"<table><tr><td>", b"<div>" * 50, b"<frameset>", b"<object data='x'>", b"<iframe srcdoc='<p>x'>"],
    "eml": [b"Content-Type: multipart/mixed; boundary=\"b\"\r\n", b"\r\n--b\r\n", b"\r\n--b--\r\n",
            b"Content-Transfer-Encoding: base64\r\n", b"Content-Transfer-Encoding: quoted-printable\r\n",
            b"Content-Transfer-Encoding: x-uuencode\r\n", b"Content-Transfer-Encoding: 8bit\r\n",
            b"Content-Transfer-Encoding: binary\r\n", b"charset=utf-7", b"charset=\"x-bogus\"", b"charset=utf-16",
            b"=?utf-8?b?w6k=?=", b"=?iso-8859-1?q?caf=E9?=", b"=?bogus?x?y?=", b"filename*0*=utf-8''a%C3;",
            b"filename*1=b.png", b"Content-Disposition: attachment; filename=\"../x.png\"\r\n",
            b"Content-Type: message/rfc822\r\n", b"Content-Type: text/html\r\n", b"Content-Type: image/png\r\n",
            b"Content-Type: multipart/alternative; boundary=", b"From: a@b.example\r\n", b"Subject: s\r\n",
            b"MIME-Version: 1.0\r\n", b"=\r\n", b"=3D", b"=FF", b"begin 644 x\r\n", b"\r\n\r\n", b"\r\n ", b";",
            b"boundary=\"\"", b"Content-Type: ;;;\r\n"],
    "text": [b"\x00", b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\r", b"\r\n", b"\x0b", b"\x0c",
             b"\x1c", b"\x1d", b"\x1e", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9", b"\xcc\x81" * 40,
             b"\xe2\x80\x8b", b"\xe2\x80\xae", b"\xef\xbc\xa6", b"\xf0\x9f\x98\x80", b"\xf4\x8f\xbf\xbf",
             b"-->", b"00:00:00,000 --> 00:00:01,000\n", b"WEBVTT\n", b"4111 1111 1111 1111", b"+1 202 555 0143",
             b"jane@example.org", b"http://", b"GB82 WEST 1234 5698 7654 32", b"%", b"{", b"\\", b"\t",
             b"\xc4\xb1", b"\xc3\x9f", b"\xef\xac\x81", b"\xe1\xba\x9e", b"\xd5\xa1" * 8],
    "json": [b"{", b"}", b"[", b"]", b'"', b"\\u0000", b"\\ud800", b"\\udfff", b"1e400", b"-0", b"NaN",
             b"Infinity", b"null", b"true", b'"text":', b'"id":', b'"value":', b'"signal":', b'"label":', b",", b":"],
    "yaml": [b"&a ", b"*a", b"<<: *a\n", b"!!binary ", b"!!python/object:os.system ", b"!!set ", b"!!omap ",
             b"? ", b"[", b"]", b"{", b"}", b"\t", b"---\n", b"...\n", b"%YAML 1.1\n", b"%TAG ! tag:x,2000:\n",
             b"never", b".nan", b".inf", b"-.inf", b"1e-400", b"0x1", b"0o7", b"1_0", b"~", b"null", b"yes",
             b"'", b'"', b"|\n", b">-\n", b"#", b": ", b"- ", b"labels:\n", b"profiles:\n", b"version: 1\n",
             b"review: ", b"block: ", b"enabled: ", b"terms:\n", b"patterns:\n", b"description: "],
    "csv": [b",", b'"', b'""', b"\n", b"\r\n", b"\x00", b"signal", b"value", b"label", b"note", b"source", b"md5",
            b"sha256", b"pdq", b"text", b"\xef\xbb\xbf", b";", b"\t", b"known_content", b"spam/scam"],
    "re": [b"(?i)", b"(a+)+", b"\\b", b"[", b"(?P<n>x)", b"(?=x)", b"\\1", b"x{1000}", b"x{1001,}", b"\\p{Greek}",
           b"\\C", b"(?s).*", b"[^\\x00-\\x{10FFFF}]", b"a**", b"re:", b"re:" + b"(" * 50],
}
#: Token lists used by each family (several formats share a family).
FAMILY_TOKENS = {
    "binary": ["binary", "jpeg", "gif", "mkv"], "png": ["png", "binary"], "tiff": ["tiff", "binary"],
    "riff": ["riff", "binary"], "isobmff": ["isobmff", "binary"], "pdf": ["pdf", "binary"],
    "zip": ["binary"], "tar": ["binary"], "gzip": ["binary"], "html": ["html", "text"],
    "eml": ["eml", "text", "html"], "text": ["text", "re"], "json": ["json", "text"], "yaml": ["yaml", "text", "re"],
    "csv": ["csv", "text"],
}
FORMAT_TOKENS = {"jpeg": ["jpeg"], "gif": ["gif"], "mkv": ["mkv"], "webm": ["mkv"], "avi": ["riff"],
                 "blocklist": ["re"], "blocklist_yaml": ["re"]}


class Mutator:
    """Makes inputs for one run: ``mutate(fmt, data)`` returns (new bytes, what was done)."""

    def __init__(self, rng: random.Random, seeds: dict[str, list[bytes]]) -> None:
        self.rng = rng
        self.seeds = seeds  # every format's seeds: splicing, and files to put inside containers

    # -- entry point ---------------------------------------------------------------------------

    def mutate(self, fmt: str, family: str, data: bytes, pool: list[bytes]) -> tuple[bytes, str]:
        rng = self.rng
        self._fmt, self._family, self._pool = fmt, family, pool
        structured = STRUCTURED.get(family)
        how = []
        out = data
        if structured and rng.random() < 0.6:
            fn = rng.choice(structured)
            try:
                out = fn(self, out)
                how.append(fn.__name__.lstrip("_"))
            except Exception:  # noqa: BLE001 - the input no longer parses: mutate its bytes instead
                out = data
        if not how or rng.random() < 0.25:
            out, ops = self.havoc(out)
            how += ops
        if len(out) > MAX_LEN:
            out = out[:MAX_LEN]
        if not out:
            out = data[:1] or b"\x00"
        return bytes(out), "+".join(how)

    # -- havoc: bytes ---------------------------------------------------------------------------

    def tokens(self) -> list[bytes]:
        names = FAMILY_TOKENS.get(self._family, ["binary"]) + FORMAT_TOKENS.get(self._fmt, [])
        return [t for n in names for t in TOKENS[n]]

    def havoc(self, data: bytes, rounds: int | None = None) -> tuple[bytearray, list[str]]:
        rng = self.rng
        buf = bytearray(data)
        ops = []
        n = rounds or (1 << rng.randint(0, 3))
        textual = self._family in ("html", "eml", "text", "json", "yaml", "csv")
        choices = HAVOC_TEXT if textual else HAVOC_BINARY
        for _ in range(n):
            op = rng.choice(choices)
            buf = op(self, buf)
            ops.append(op.__name__.lstrip("_"))
            if len(buf) > MAX_LEN:
                del buf[MAX_LEN:]
        return buf, ops[:4] + ([f"...{len(ops)}"] if len(ops) > 4 else [])

    def _pos(self, buf: bytearray, end: bool = False) -> int:
        """A position, biased towards the start (headers), where most structure is."""
        size = len(buf) + (1 if end else 0)
        if size <= 0:
            return 0
        if self.rng.random() < 0.4:
            return self.rng.randrange(min(size, 256))
        return self.rng.randrange(size)

    def _len(self, limit: int) -> int:
        r = self.rng.random()
        cap = max(1, limit)
        if r < 0.6:
            return self.rng.randint(1, min(cap, 8))
        if r < 0.9:
            return self.rng.randint(1, min(cap, 128))
        return self.rng.randint(1, min(cap, 4096))

    def _flip_bit(self, buf):
        if buf:
            i = self._pos(buf)
            buf[i] ^= 1 << self.rng.randrange(8)
        return buf

    def _field(self, buf) -> tuple[int, int] | None:
        """(offset, width) of a 1-, 2- or 4-byte field inside ``buf``, or None when it is shorter."""
        width = self.rng.choice((1, 2, 4))
        if len(buf) < width:
            return None
        return min(self._pos(buf), len(buf) - width), width

    def _interesting(self, buf):
        rng = self.rng
        field = self._field(buf)
        if field is None:
            return buf
        i, width = field
        if width == 1:
            buf[i] = rng.choice(INTERESTING_8)
        else:
            value = rng.choice(INTERESTING_16 if width == 2 else INTERESTING_32)
            buf[i:i + width] = value.to_bytes(width, rng.choice(("little", "big")))
        return buf

    def _arith(self, buf):
        rng = self.rng
        field = self._field(buf)
        if field is None:
            return buf
        i, width = field
        order = rng.choice(("little", "big"))
        value = int.from_bytes(buf[i:i + width], order)
        value = (value + rng.choice((-1, 1)) * rng.randint(1, 35)) % (1 << (8 * width))
        buf[i:i + width] = value.to_bytes(width, order)
        return buf

    def _random_bytes(self, buf):
        if buf:
            i = self._pos(buf)
            n = min(self._len(16), len(buf) - i)
            buf[i:i + n] = self.rng.randbytes(n)
        return buf

    def _insert_random(self, buf):
        i = self._pos(buf, end=True)
        buf[i:i] = self.rng.randbytes(self._len(64))
        return buf

    def _insert_repeat(self, buf):
        i = self._pos(buf, end=True)
        byte = self.rng.choice((0, 0xFF, 0x20, 0x41, self.rng.randrange(256)))
        buf[i:i] = bytes([byte]) * self._len(4096)
        return buf

    def _delete(self, buf):
        if len(buf) > 1:
            i = self._pos(buf)
            del buf[i:i + self._len(len(buf) - i)]
        return buf

    def _duplicate(self, buf):
        if buf:
            i = self._pos(buf)
            chunk = buf[i:i + self._len(len(buf) - i)]
            j = self._pos(buf, end=True)
            times = min(self.rng.choice((1, 1, 2, 8)), max(1, (MAX_LEN - len(buf)) // max(1, len(chunk))))
            buf[j:j] = chunk * times
        return buf

    def _overwrite_copy(self, buf):
        if len(buf) > 2:
            i, j = self.rng.randrange(len(buf)), self.rng.randrange(len(buf))
            n = min(self._len(len(buf)), len(buf) - i, len(buf) - j)
            buf[j:j + n] = buf[i:i + n]
        return buf

    def _insert_token(self, buf):
        i = self._pos(buf, end=True)
        buf[i:i] = self.rng.choice(self.tokens())
        return buf

    def _overwrite_token(self, buf):
        tok = self.rng.choice(self.tokens())
        if len(buf) >= len(tok):
            i = min(self._pos(buf), len(buf) - len(tok))
            buf[i:i + len(tok)] = tok
        return buf

    def _splice(self, buf):
        """The start of this input and the end of another of the same format."""
        others = [s for s in self._pool if s != bytes(buf)]
        if not others or len(buf) < 2:
            return buf
        other = self.rng.choice(others)
        if len(other) < 2:
            return buf
        i = self.rng.randrange(1, len(buf))
        j = self.rng.randrange(1, len(other))
        return bytearray(buf[:i] + other[j:])

    def _truncate(self, buf):
        if len(buf) > 1:
            del buf[self.rng.randrange(1, len(buf)):]
        return buf

    # -- havoc: text ----------------------------------------------------------------------------

    def _lines(self, buf):
        rng = self.rng
        lines = bytes(buf).split(b"\n")
        if not lines:
            return buf
        i = rng.randrange(len(lines))
        room = max(0, MAX_LEN - len(buf))  # repeats stay under the size limit
        op = rng.randrange(5)
        if op == 0:
            lines.insert(rng.randrange(len(lines) + 1), lines[i])
        elif op == 1 and len(lines) > 1:
            del lines[i]
        elif op == 2:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3:
            times = min(rng.choice((2, 10, 100, 1000)), 1 + room // (len(lines[i]) + 1))
            lines[i:i + 1] = [lines[i]] * times
        else:
            times = min(rng.choice((2, 50, 2000)), 1 + room // (len(lines[i]) + 1))
            lines[i] = lines[i] * times
        return bytearray(b"\n".join(lines))

    def _nest(self, buf):
        """Deep nesting: recursive parsers (YAML, JSON, XML, e-mail) meet their limits."""
        rng = self.rng
        opener, closer = rng.choice(((b"[", b"]"), (b"{", b"}"), (b"- ", b""), (b"<div>", b"</div>"),
                                     (b"<b><i>", b""), (b"(", b")"), (b"<<", b">>"), (b"{\"a\":", b"}"),
                                     (b"&a [", b"]"), (b"\t", b"")))
        depth = min(rng.choice((100, 1000, 5000, 20000)), max(1, (MAX_LEN - len(buf)) // (len(opener) + len(closer))))
        i = self._pos(buf, end=True)
        buf[i:i] = opener * depth + closer * depth
        return buf

    def _unicode(self, buf):
        """A character from a class that normalisers, splitters and decoders treat specially."""
        rng = self.rng
        cp = rng.choice((0x0, 0x85, 0xA0, 0xAD, 0x300, 0x34F, 0x61C, 0x200B, 0x200D, 0x2028, 0x2029, 0x202E,
                         0x2060, 0x2066, 0xFEFF, 0xFFFD, 0xFFFF, 0x1F600, 0x10FFFF, 0x130, 0x1E9E, 0xFB01,
                         0x2126, 0x212A, 0x3000, 0xE000, rng.randrange(0x80, 0x2FFFF)))
        if 0xD800 <= cp <= 0xDFFF:
            cp = 0xFFFD
        i = self._pos(buf, end=True)
        buf[i:i] = chr(cp).encode("utf-8") * (rng.choice((1, 1, 3, 200)) if len(buf) < MAX_LEN - 1000 else 1)
        return buf

    def _case(self, buf):
        if buf:
            i = self._pos(buf)
            n = min(self._len(64), len(buf) - i)
            buf[i:i + n] = bytes(buf[i:i + n]).swapcase()
        return buf

    # -- structure: zip --------------------------------------------------------------------------

    def _zip_members(self, data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [(info, zf.read(info)) for info in zf.infolist()]

    def _rezip(self, members: list[tuple[zipfile.ZipInfo, bytes]], comment: bytes = b"") -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            for info, data in members:
                new = zipfile.ZipInfo(info.filename, info.date_time)
                new.compress_type = info.compress_type
                new.external_attr = info.external_attr
                new.comment = info.comment
                new.extra = info.extra
                zf.writestr(new, data)
            zf.comment = comment
        return out.getvalue()

    def _zip_member_content(self, data: bytes) -> bytes:
        """A member's bytes mutated (as text when it is XML), then zipped again."""
        members = self._zip_members(data)
        files = [k for k, (info, _) in enumerate(members) if not info.is_dir()]
        k = self.rng.choice(files)
        info, body = members[k]
        xmlish = body[:200].lstrip().startswith(b"<") or info.filename.endswith((".xml", ".rels"))
        if xmlish and self.rng.random() < 0.7:
            body = self._xml(body)
        else:
            saved = self._family
            self._family = "text" if xmlish else "binary"
            body, _ = self.havoc(body)
            self._family = saved
        members[k] = (info, bytes(body))
        return self._rezip(members)

    def _xml(self, body: bytes) -> bytes:
        """XML-level damage: elements repeated, removed or nested, attributes and entities changed."""
        rng = self.rng
        text = body
        tags = [m for m in re.finditer(rb"<([A-Za-z_][\w:.-]*)[^<>]*?(/?)>", text)]
        op = rng.randrange(9)
        if op == 0 and tags:  # repeat an element (its start tag to its end tag)
            m = rng.choice(tags)
            end = text.find(b"</" + m.group(1) + b">", m.end())
            stop = end + len(m.group(1)) + 3 if end >= 0 else m.end()
            piece = text[m.start():stop]
            times = min(rng.choice((1, 2, 50, 1000)), max(1, MAX_LEN // max(1, len(piece))))
            text = text[:stop] + piece * times + text[stop:]
        elif op == 1 and tags:  # drop a start tag
            m = rng.choice(tags)
            text = text[:m.start()] + text[m.end():]
        elif op == 2 and tags:  # nest deeply
            m = rng.choice(tags)
            name = m.group(1)
            depth = rng.choice((100, 2000, 20000))
            text = text[:m.end()] + (b"<" + name + b">") * depth + (b"</" + name + b">") * depth + text[m.end():]
        elif op == 3:  # an attribute value changed
            attrs = list(re.finditer(rb'(\w[\w:]*)="([^"]*)"', text))
            if attrs:
                m = rng.choice(attrs)
                value = rng.choice((b"", b"-1", b"99999999999999999999", b"../../x", b"/", b"#", b"rId999",
                                    b"http://e/" + b"a" * 5000, b"\xc3\xa9", b"&amp;", b"NaN", b"1e999",
                                    b"External", m.group(2) * 3))
                text = text[:m.start(2)] + value + text[m.end(2):]
        elif op == 4:  # entities, a DTD, a processing instruction
            extra = rng.choice((b'<!DOCTYPE x [<!ENTITY e "lol">]>', b'<!DOCTYPE x SYSTEM "file:///etc/passwd">',
                                b"&e;", b"&#0;", b"&#xD800;", b"<?pi x?>", b"<![CDATA[text]]>", b"<!-- c -->",
                                b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'))
            pos = text.find(b">", text.find(b"?>") + 1) + 1 if rng.random() < 0.5 else rng.randrange(len(text) + 1)
            text = text[:pos] + extra + text[pos:]
        elif op == 5:  # a namespace changed: the elements are no longer the ones the reader looks for
            text = text.replace(b"http://schemas.openxmlformats.org", b"http://x.example", 1) if rng.random() < 0.5 \
                else text.replace(b"urn:oasis:names:tc:opendocument", b"urn:x", 1)
        elif op == 6:  # text content replaced
            texts = list(re.finditer(rb">([^<>]+)<", text))
            if texts:
                m = rng.choice(texts)
                repl = rng.choice((b"", b"x" * 100000, b"\xff\xfe", b"-1", b"1e400", b"007", b"A1048577",
                                   b"\xe2\x80\xae" * 10, b"9" * 40))
                text = text[:m.start(1)] + repl + text[m.end(1):]
        elif op == 7:  # encoding declaration
            text = re.sub(rb'encoding="[^"]*"', rng.choice((b'encoding="UTF-16"', b'encoding="bogus"',
                                                            b'encoding="latin-1"')), text, count=1)
        else:
            saved = self._family
            self._family = "text"
            text, _ = self.havoc(text)
            self._family = saved
        return bytes(text)

    def _zip_members_list(self, data: bytes) -> bytes:
        """Members removed, duplicated, renamed, recompressed, or added (from other formats)."""
        rng = self.rng
        members = self._zip_members(data)
        op = rng.randrange(7)
        if op == 0 and len(members) > 1:
            del members[rng.randrange(len(members))]
        elif op == 1:
            info, body = rng.choice(members)
            members.insert(rng.randrange(len(members) + 1), (info, body))  # the same name twice
        elif op == 2:
            k = rng.randrange(len(members))
            info, body = members[k]
            new = zipfile.ZipInfo(rng.choice(("../../x.txt", "/abs", "C:\\win.txt", "a/../../b", "", "dir/",
                                               "\u00e9\u202e.txt", "x" * 300, members[0][0].filename,
                                               "word/document.xml", "mimetype", "content.xml",
                                               "ppt/slides/slide99999999999999999999.xml", "xl/workbook.xml",
                                               "ppt/slides/slide1.xml", "word/header.xml")), info.date_time)
            new.compress_type = info.compress_type
            members[k] = (new, body)
        elif op == 3:
            k = rng.randrange(len(members))
            members[k][0].compress_type = rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                                      zipfile.ZIP_LZMA))
        elif op == 4:  # a file of another format inside (nesting, pictures, documents)
            fmt = rng.choice([f for f in self.seeds if self.seeds[f]])
            name = rng.choice(("word/media/x.png", "ppt/media/image9.png", "xl/media/a.jpeg", "Pictures/p.gif",
                               "word/embeddings/e.bin", "inner." + fmt, "ppt/embeddings/o.zip", "nested/x"))
            members.append((zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), rng.choice(self.seeds[fmt])))
        elif op == 5:  # this very input inside itself
            members.append((zipfile.ZipInfo("self.zip", (2024, 1, 1, 0, 0, 0)), data))
        else:
            return self._rezip(members, comment=rng.choice((b"", b"c" * 65535, b"PK\x05\x06", rng.randbytes(40))))
        return self._rezip(members)

    def _zip_header(self, data: bytes) -> bytes:
        """One field of a local header, central directory entry or end record set to an
        interesting value (sizes, offsets, counts, flags, methods, name lengths)."""
        rng = self.rng
        buf = bytearray(data)
        sigs = {b"PK\x03\x04": [(6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2)],
                b"PK\x01\x02": [(8, 2), (10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (34, 2),
                                (38, 4), (42, 4)],
                b"PK\x05\x06": [(4, 2), (6, 2), (8, 2), (10, 2), (12, 4), (16, 4), (20, 2)],
                b"PK\x06\x06": [(24, 8), (32, 8), (40, 8), (48, 8)],
                b"PK\x07\x08": [(4, 4), (8, 4), (12, 4)]}
        found = [(m.start(), sig) for sig in sigs for m in re.finditer(re.escape(sig), data)]
        if not found:
            raise ValueError("no zip record")
        pos, sig = rng.choice(found)
        off, width = rng.choice(sigs[sig])
        at = pos + off
        if at + width > len(buf):
            raise ValueError("short record")
        if sig in (b"PK\x03\x04", b"PK\x01\x02") and off in (6, 8) and width == 2 and rng.random() < 0.5:
            # general purpose flags (encrypted, data descriptor, UTF-8 names) or method
            if (sig == b"PK\x03\x04" and off == 6) or (sig == b"PK\x01\x02" and off == 8):
                flags = int.from_bytes(buf[at:at + 2], "little") ^ rng.choice((0x1, 0x8, 0x40, 0x800, 0x2000))
                buf[at:at + 2] = flags.to_bytes(2, "little")
            else:
                buf[at:at + 2] = rng.choice((0, 1, 8, 9, 12, 14, 93, 95, 98, 99, 0xFFFF)).to_bytes(2, "little")
            return bytes(buf)
        values = INTERESTING_32 + [0xFFFF, 0xFFFFFFFF, len(data), len(data) * 2, 1 << 31]
        value = rng.choice(values) % (1 << (8 * width))
        if rng.random() < 0.3:
            value = (int.from_bytes(buf[at:at + width], "little") + rng.randint(-64, 64)) % (1 << (8 * width))
        buf[at:at + width] = value.to_bytes(width, "little")
        return bytes(buf)

    def _zip_wrap(self, data: bytes) -> bytes:
        """Bytes before (a self-extractor's stub) or after the archive, or the end record repeated."""
        rng = self.rng
        op = rng.randrange(3)
        if op == 0:
            return b"PK\x03\x04" + rng.randbytes(rng.randint(0, 64)) + data
        if op == 1:
            return data + rng.choice((rng.randbytes(rng.randint(1, 64)), data[-22:], b"\x00" * 1000))
        eocd = data.rfind(b"PK\x05\x06")
        return data[:eocd] + data[eocd:] * 2 if eocd >= 0 else data

    # -- structure: tar and gzip ------------------------------------------------------------------

    def _tar_header(self, data: bytes) -> bytes:
        """A field of a tar header changed, its checksum recomputed (so the header is believed)."""
        rng = self.rng
        buf = bytearray(data)
        headers = [i for i in range(0, len(buf) - 511, 512) if buf[i + 257:i + 262] == b"ustar"]
        if not headers:
            raise ValueError("no tar header")
        h = rng.choice(headers)
        field = rng.choice(((0, 100), (100, 8), (124, 12), (136, 12), (156, 1), (157, 100), (345, 155),
                            (329, 8), (337, 8)))
        off, width = field
        if off == 124:  # size
            value = rng.choice((b"77777777777", b"00000000000", b"\x80" + b"\x00" * 7 + b"\xff\xff\xff\xff",
                                b"-1", b"99999999999", b"00000001000", b"\xff" * 12, b" " * 12))
        elif off == 156:  # type flag
            value = rng.choice((b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"g", b"x", b"L", b"K", b"S",
                                b"V", b"M", b"\x00", b"Z"))
        elif off == 0:
            value = rng.choice((b"../../etc/x", b"/abs", b"a" * 100, b"\xff\xfe", b"", b"././@LongLink",
                                b"dir/", b"\x00x"))
        else:
            value = rng.randbytes(width) if rng.random() < 0.3 else rng.choice((b"", b"0" * width, b"7" * width))
        value = value[:width].ljust(width, b"\x00")
        buf[h + off:h + off + width] = value
        buf[h + 148:h + 156] = b" " * 8
        checksum = sum(buf[h:h + 512])
        buf[h + 148:h + 156] = b"%06o\x00 " % (checksum & 0o777777)
        return bytes(buf)

    def _tar_members(self, data: bytes) -> bytes:
        """Members' contents mutated, removed, or added (other formats, this tar itself)."""
        rng = self.rng
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tf:
            members = [(m, tf.extractfile(m).read() if m.isfile() else None) for m in tf.getmembers()]
        if not members:
            raise ValueError("empty tar")
        op = rng.randrange(4)
        if op == 0:
            k = rng.choice([i for i, (_, b) in enumerate(members) if b is not None] or [0])
            m, body = members[k]
            if body is not None:
                members[k] = (m, bytes(self.havoc(body)[0]))
        elif op == 1 and len(members) > 1:
            del members[rng.randrange(len(members))]
        else:
            fmt = rng.choice([f for f in self.seeds if self.seeds[f]])
            body = data if op == 3 else rng.choice(self.seeds[fmt])
            info = tarfile.TarInfo(f"added/{fmt}.bin")
            members.append((info, body))
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=rng.choice((tarfile.GNU_FORMAT, tarfile.PAX_FORMAT))) as tf:
            for m, body in members:
                if body is not None:
                    m.size = len(body)
                    tf.addfile(m, io.BytesIO(body))
                else:
                    tf.addfile(m)
        return out.getvalue()

    def _gzip_inner(self, data: bytes) -> bytes:
        """The unpacked stream mutated (as tar when it is one), packed again."""
        inner = gzip.decompress(data)
        if len(inner) > 262 and inner[257:262] == b"ustar" and self.rng.random() < 0.7:
            inner = self.rng.choice((self._tar_header, self._tar_members))(inner)
        else:
            inner = bytes(self.havoc(inner)[0])
        return gzip.compress(inner, compresslevel=self.rng.choice((0, 1, 9)), mtime=0)

    def _gzip_header(self, data: bytes) -> bytes:
        """Header flags (extra field, name, comment, header CRC), method, or trailer changed."""
        rng = self.rng
        buf = bytearray(data)
        if len(buf) < 18:
            raise ValueError("short gzip")
        op = rng.randrange(4)
        if op == 0:
            buf[3] ^= rng.choice((0x02, 0x04, 0x08, 0x10, 0xE0))
        elif op == 1:
            buf[2] = rng.choice((0, 7, 8, 9, 255))
        elif op == 2:
            buf[-8:] = rng.randbytes(8)  # CRC and size
        else:
            buf[4:8] = rng.randbytes(4)
        return bytes(buf)

    def _gzip_concat(self, data: bytes) -> bytes:
        return data + self.rng.choice((data, gzip.compress(b"x" * 100, mtime=0), b"\x1f\x8b", b"\x00" * 64))

    # -- structure: pictures ----------------------------------------------------------------------

    def _png_chunks(self, data: bytes) -> list[list]:
        if data[:8] != b"\x89PNG\r\n\x1a\n":
            raise ValueError("not png")
        chunks, pos = [], 8
        while pos + 8 <= len(data):
            length = struct.unpack(">I", data[pos:pos + 4])[0]
            ctype = data[pos + 4:pos + 8]
            body = data[pos + 8:pos + 8 + length]
            chunks.append([ctype, body])
            pos += 12 + length
            if ctype == b"IEND":
                break
        return chunks

    @staticmethod
    def _png_join(chunks) -> bytes:
        out = [b"\x89PNG\r\n\x1a\n"]
        for ctype, body in chunks:
            out.append(struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body)))
        return b"".join(out)

    def _png_chunk(self, data: bytes) -> bytes:
        """A chunk's body mutated, or chunks repeated, dropped or reordered: CRCs kept right."""
        rng = self.rng
        chunks = self._png_chunks(data)
        k = rng.randrange(len(chunks))
        op = rng.randrange(6)
        if op == 0:
            chunks[k][1] = bytes(self.havoc(chunks[k][1])[0])
        elif op == 1:
            chunks.insert(rng.randrange(len(chunks) + 1), list(chunks[k]))
        elif op == 2 and len(chunks) > 2:
            del chunks[k]
        elif op == 3:
            j = rng.randrange(len(chunks))
            chunks[k], chunks[j] = chunks[j], chunks[k]
        elif op == 4:  # IHDR: width, height, depth, colour type, interlace
            ihdr = bytearray(chunks[0][1])
            if len(ihdr) == 13:
                field = rng.choice((0, 4, 8, 9, 12))
                if field in (0, 4):
                    ihdr[field:field + 4] = struct.pack(">I", rng.choice((0, 1, 7, 8, 6324, 6325, 65535, 1 << 31,
                                                                          0xFFFFFFFF, 40_000_000)))
                else:
                    ihdr[field] = rng.choice((0, 1, 2, 3, 4, 6, 8, 16, 255))
                chunks[0][1] = bytes(ihdr)
        else:  # an ancillary chunk added
            ctype = rng.choice((b"tRNS", b"acTL", b"fcTL", b"eXIf", b"iCCP", b"zTXt", b"iTXt", b"sBIT", b"pHYs",
                                b"gAMA", b"bKGD", b"PLTE", b"IDAT", b"fdAT", b"sPLT", b"tIME"))
            body = rng.choice((b"", rng.randbytes(rng.randint(1, 64)), b"\x00\x00\x00\x02\x00\x00\x00\x00",
                               b"\xff" * 26, b"Exif\x00\x00MM\x00*\x00\x00\x00\x08",
                               b"k\x00\x00" + zlib.compress(b"x" * 10000)))
            chunks.insert(rng.randint(1, max(1, len(chunks) - 1)), [ctype, body])
        return self._png_join(chunks)

    def _png_pixels(self, data: bytes) -> bytes:
        """The image data unpacked, mutated and packed again (the zlib layer stays valid)."""
        chunks = self._png_chunks(data)
        idat = [c for c in chunks if c[0] == b"IDAT"]
        if not idat:
            raise ValueError("no IDAT")
        raw = zlib.decompress(b"".join(c[1] for c in idat))
        raw = bytes(self.havoc(raw)[0])
        first = chunks.index(idat[0])
        chunks = [c for c in chunks if c[0] != b"IDAT"]
        chunks.insert(first, [b"IDAT", zlib.compress(raw)])
        return self._png_join(chunks)

    def _tiff_ifd(self, data: bytes) -> bytes:
        """An entry of the first IFD: its tag, type, count or value set to an interesting value."""
        rng = self.rng
        order = {b"II": "<", b"MM": ">"}[data[:2]]
        buf = bytearray(data)
        ifd = struct.unpack(order + "I", data[4:8])[0]
        count = struct.unpack(order + "H", data[ifd:ifd + 2])[0]
        if not count:
            raise ValueError("empty IFD")
        e = ifd + 2 + 12 * rng.randrange(count)
        field = rng.randrange(4)
        if field == 0:
            buf[e:e + 2] = struct.pack(order + "H", rng.choice((256, 257, 258, 259, 262, 273, 274, 277, 278, 279,
                                                                322, 323, 324, 325, 330, 338, 339, 34665, 700)))
        elif field == 1:
            buf[e + 2:e + 4] = struct.pack(order + "H", rng.choice((0, 1, 2, 3, 4, 5, 7, 11, 12, 13, 16, 17, 99)))
        elif field == 2:
            buf[e + 4:e + 8] = struct.pack(order + "I", rng.choice(INTERESTING_32))
        else:
            buf[e + 8:e + 12] = struct.pack(order + "I", rng.choice(INTERESTING_32 + [ifd, 8, len(data)]))
        return bytes(buf)

    def _riff_chunk(self, data: bytes) -> bytes:
        """A RIFF chunk's size set to an interesting value, or a chunk repeated or dropped
        (WebP, AVI); the RIFF size is fixed afterwards or not."""
        rng = self.rng
        chunks, pos = [], 12
        while pos + 8 <= len(data):
            size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
            chunks.append((pos, size))
            if data[pos:pos + 4] == b"LIST":  # into a list: its chunks are candidates too
                pos += 12
                continue
            pos += 8 + size + (size & 1)
        if not chunks:
            raise ValueError("no chunk")
        buf = bytearray(data)
        at, size = rng.choice(chunks)
        op = rng.randrange(3)
        if op == 0:
            buf[at + 4:at + 8] = struct.pack("<I", rng.choice(INTERESTING_32 + [size + 1, max(0, size - 1)]))
        elif op == 1:
            chunk = bytes(buf[at:at + 8 + size])
            buf[at:at] = chunk
        else:
            del buf[at:at + 8 + size + (size & 1)]
        if rng.random() < 0.7:
            buf[4:8] = struct.pack("<I", len(buf) - 8)
        return bytes(buf)

    def _boxes(self, data: bytes, start: int = 0, end: int | None = None, depth: int = 0) -> list[tuple[int, int]]:
        """(offset, size) of ISO-BMFF boxes, descending into the container boxes."""
        containers = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts", b"udta", b"moof", b"traf",
                      b"mvex", b"iprp", b"ipco"}
        end = len(data) if end is None else end
        out, pos = [], start
        while pos + 8 <= end and len(out) < 200:
            size = struct.unpack(">I", data[pos:pos + 4])[0]
            btype = data[pos + 4:pos + 8]
            if size < 8 or pos + size > end:
                out.append((pos, end - pos))
                break
            out.append((pos, size))
            if btype == b"meta" and depth < 6:
                out += self._boxes(data, pos + 12, pos + size, depth + 1)
            elif btype in containers and depth < 6:
                out += self._boxes(data, pos + 8, pos + size, depth + 1)
            pos += size
        return out

    def _isobmff_box(self, data: bytes) -> bytes:
        """A box's size or type changed, its body mutated in place, or the box repeated or dropped."""
        rng = self.rng
        boxes = self._boxes(data)
        if not boxes:
            raise ValueError("no box")
        at, size = rng.choice(boxes)
        buf = bytearray(data)
        op = rng.randrange(5)
        if op == 0:
            buf[at:at + 4] = struct.pack(">I", rng.choice((0, 1, 7, 8, 9, size + 1, size - 1, 0xFFFFFFFF, 1 << 31)))
        elif op == 1:
            buf[at + 4:at + 8] = rng.choice(TOKENS["isobmff"])[:4].ljust(4, b" ")
        elif op == 2 and size > 8:
            body = bytes(buf[at + 8:at + size])
            mutated = bytes(self.havoc(body, rounds=self.rng.randint(1, 4))[0])[:len(body)].ljust(len(body), b"\0")
            buf[at + 8:at + size] = mutated
        elif op == 3:
            buf[at:at] = bytes(buf[at:at + size])
        else:
            del buf[at:at + size]
        return bytes(buf)

    # -- structure: PDF ----------------------------------------------------------------------------

    def _pdf_stream(self, data: bytes) -> bytes:
        """A stream's content mutated (unpacked first when it is Flate) and its /Length fixed."""
        rng = self.rng
        streams = list(re.finditer(rb"stream\r?\n", data))
        if not streams:
            raise ValueError("no stream")
        m = rng.choice(streams)
        end = data.find(b"endstream", m.end())
        if end < 0:
            raise ValueError("no endstream")
        body = data[m.end():end].rstrip(b"\r\n")
        head_start = data.rfind(b"obj", 0, m.start())
        head = data[head_start:m.start()]
        flate = b"/FlateDecode" in head
        raw = body
        if flate:
            try:
                raw = zlib.decompress(body)
            except zlib.error:
                flate = False
        if rng.random() < 0.5:
            ops = (b" BT /F1 9 Tf 1 0 0 1 10 10 Tm (x) Tj ET ", b" q 9999 0 0 9999 0 0 cm /Im1 Do Q ",
                   b" BI /W 4 /H 4 /BPC 8 /CS /RGB ID " + b"\x00" * 48 + b" EI ", b" 1 0 0 RG 0 0 1e9 1e9 re f ",
                   b" /GS1 gs ", b" [(a) -1e9 (b)] TJ ", b" q " * 500, b" Q " * 50, b" (\\777\\) Tj ", b" 0 Tr ")
            pos = rng.randrange(len(raw) + 1)
            raw = raw[:pos] + rng.choice(ops) + raw[pos:]
        else:
            raw = bytes(self.havoc(raw)[0])
        new = zlib.compress(raw) if flate else raw
        head2 = re.sub(rb"/Length \d+", b"/Length %d" % len(new), head, count=1)
        return data[:head_start] + head2 + data[m.start():m.end()] + new + b"\n" + data[end:]

    def _pdf_token(self, data: bytes) -> bytes:
        """A number, name or reference of the object syntax changed."""
        rng = self.rng
        nums = list(re.finditer(rb"(?<![\w.])\d+(?![\w.])", data[:200000]))
        if not nums:
            raise ValueError("no numbers")
        m = rng.choice(nums)
        value = rng.choice((b"0", b"-1", b"2147483647", b"4294967296", b"99999999999999999999", b"1e308", b"3.4",
                            b"" + str(int(m.group()) + 1).encode(), b"1 0 R", b"null", b"[]", b"<<>>"))
        return data[:m.start()] + value + data[m.end():]

    # -- structure: text formats ------------------------------------------------------------------

    def _json_lines(self, data: bytes) -> bytes:
        """A JSON value of a line replaced by one of another type (objects, lists, numbers,
        huge strings, nesting), keys added or removed."""
        rng = self.rng
        lines = data.split(b"\n")
        k = rng.randrange(len(lines))
        try:
            obj = json.loads(lines[k])
        except ValueError:
            obj = {"id": k, "text": lines[k].decode("utf-8", "replace")}
        obj = self._json_value(obj, 0)
        text = json.dumps(obj, ensure_ascii=rng.random() < 0.5, allow_nan=True)
        lines[k] = text.encode("utf-8", "surrogatepass")
        return b"\n".join(lines)

    def _random_json(self, depth: int):
        rng = self.rng
        r = rng.randrange(13)
        if r == 0:
            return None
        if r == 1:
            return rng.choice((True, False))
        if r == 2:
            return rng.choice((0, -1, 2 ** 63, -(2 ** 64), 10 ** 400, 1.5, float("nan"), float("inf")))
        if r == 3:
            return rng.choice(("", " ", "x" * rng.choice((10, 100000)), "\u0000", "\ud800", "\U0001f600",
                               "0123456789abcdef0123456789abcdef", "f" * 64, "md5", "pdq", "text", "sha256",
                               "sexual/minors", "known_content", "not/a/label", "\u202e"))
        if r == 4 and depth < 3:
            return [self._random_json(depth + 1) for _ in range(rng.randint(0, 3))]
        if r == 5 and depth < 3:
            return {rng.choice(("id", "text", "value", "signal", "label", "note", "source", "x")):
                    self._random_json(depth + 1) for _ in range(rng.randint(0, 3))}
        if r == 6:
            value: object = "deep"
            for _ in range(rng.choice((50, 500, 3000))):
                value = [value]
            return value
        return rng.choice(("free gift card", "call +1 202 555 0143", "a@b.example", "x" * 1000))

    def _json_value(self, obj, depth: int):
        rng = self.rng
        if isinstance(obj, dict) and obj and rng.random() < 0.8:
            keys = list(obj)
            op = rng.randrange(4)
            key = rng.choice(keys)
            if op == 0:
                obj[key] = self._random_json(0)
            elif op == 1:
                del obj[key]
            elif op == 2:
                obj[rng.choice(("id", "text", "value", "signal", "label", "note", "source", "extra"))] = \
                    self._random_json(0)
            else:
                obj[key] = self._json_value(obj[key], depth + 1)
            return obj
        if isinstance(obj, list) and obj and rng.random() < 0.7:
            k = rng.randrange(len(obj))
            obj[k] = self._json_value(obj[k], depth + 1)
            return obj
        return self._random_json(0)

    def _yaml_tree(self, data: bytes) -> bytes:
        """The YAML document loaded, a node replaced by one of another type, dumped again."""
        import yaml

        rng = self.rng
        doc = yaml.safe_load(data.decode("utf-8"))

        def values():
            return rng.choice((None, True, 0, -1, 1.5, 2.0, 1e-400, float("nan"), float("inf"), "never", "NEVER",
                               "", "0.5", "sexual", "spam/scam", "not_a_label", "pii/credit_card", [], {}, [1, 2],
                               {"review": 0.5}, {"block": "never", "review": 0.9}, {"enabled": "maybe"},
                               {"labels": {}}, "x" * 5000, "(", "re:(", "[", 12345, ["a", ["b"]]))

        def walk(node, depth):
            if isinstance(node, dict) and node and depth < 8:
                key = rng.choice(list(node))
                op = rng.randrange(5)
                if op == 0:
                    node[key] = values()
                elif op == 1:
                    del node[key]
                elif op == 2:
                    node[rng.choice(("version", "labels", "profiles", "terms", "patterns", "description",
                                     "review", "block", "enabled", "hate", "sexual/minors", 1, None, True))] = values()
                else:
                    node[key] = walk(node[key], depth + 1)
                return node
            if isinstance(node, list) and node and depth < 8:
                k = rng.randrange(len(node))
                if rng.random() < 0.3:
                    node.insert(k, values())
                else:
                    node[k] = walk(node[k], depth + 1)
                return node
            return values()

        doc = walk(doc, 0)
        style = rng.choice((None, True, False))
        return yaml.safe_dump(doc, default_flow_style=style, allow_unicode=rng.random() < 0.5).encode("utf-8")

    def _yaml_alias(self, data: bytes) -> bytes:
        """Anchors and aliases: a billion-laughs document, a merge key, a recursive alias."""
        rng = self.rng
        laughs = b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        for i, name in enumerate("bcdefghi"):
            prev = "abcdefghi"[i]
            laughs += (f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n").encode()
        choice = rng.choice((laughs, b"x: &x {review: 0.5}\nlabels:\n  spam:\n    <<: *x\n    block: 0.9\n",
                             b"labels: &l\n  spam: *l\n", b"&a [*a]\n", b"labels:\n  ? [a, b]\n  : {review: 1}\n",
                             b"labels:\n  spam: !!binary aGVsbG8=\n", b"version: !!float 1\n"))
        return choice if rng.random() < 0.5 else data + b"\n" + choice

    def _csv_cells(self, data: bytes) -> bytes:
        """Rows and cells of a CSV changed: quoting, embedded newlines, huge and NUL fields,
        columns added or removed, the header changed."""
        rng = self.rng
        text = data.decode("utf-8", "replace")
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            rows = [["value"]]
        k = rng.randrange(len(rows))
        op = rng.randrange(6)
        if op == 0 and rows[k]:
            c = rng.randrange(len(rows[k]))
            rows[k][c] = rng.choice(("", "\n", "a\r\nb", '"', "x" * rng.choice((1000, 140000)), "\x00",
                                     "known_content", "sexual/minors", "nope", "md5", "pdq", " " * 5,
                                     "0123456789ABCDEF0123456789ABCDEF", "\ufeff", "=cmd|' /C calc'!A0"))
        elif op == 1:
            rows[k].append(rng.choice(("extra", "", "x" * 10)))
        elif op == 2 and rows[k]:
            del rows[k][rng.randrange(len(rows[k]))]
        elif op == 3:
            rows[0] = rng.choice((["value"], ["signal", "value", "signal"], ["Value"], [], ["\ufeffsignal", "value"],
                                  ["signal", "value", "label", "note", "source", "extra"], ["value", None or ""]))
        elif op == 4:
            rows.insert(rng.randrange(len(rows) + 1), list(rows[k]))
        else:
            rows = rows[:1] + rows[1:] * rng.choice((2, 100))
        out = io.StringIO()
        csv.writer(out, quoting=rng.choice((csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC)),
                   lineterminator=rng.choice(("\n", "\r\n", "\r"))).writerows(rows)
        return out.getvalue().encode("utf-8", "surrogatepass")

    def _html_embed(self, data: bytes) -> bytes:
        """A picture of another format written into the page (data: address), base64 or not."""
        import base64

        rng = self.rng
        fmt = rng.choice([f for f in ("png", "jpeg", "gif", "webp", "bmp", "tiff", "heic", "avif", "pdf", "zip")
                          if self.seeds.get(f)])
        payload = base64.b64encode(rng.choice(self.seeds[fmt])).decode()
        if rng.random() < 0.3:
            payload = payload[:rng.randrange(len(payload) + 1)] + rng.choice(("", "=", "!", " \n", "===="))
        tag = f"<img src='data:image/{rng.choice(('png', 'x', fmt))};base64,{payload}'>".encode()
        pos = rng.randrange(len(data) + 1)
        times = min(rng.choice((1, 1, 60)), max(1, (MAX_LEN - len(data)) // len(tag)))
        return data[:pos] + tag * times + data[pos:]

    def _eml_attach(self, data: bytes) -> bytes:
        """A file of another format attached (base64), or this message nested in itself.

        Written by hand: the email package's header parser is slow on damaged headers
        (seconds for some), and the mutator must stay fast."""
        import base64

        rng = self.rng
        fmt = rng.choice([f for f in self.seeds if self.seeds[f]])
        body = rng.choice(self.seeds[fmt])
        name = rng.choice((f"a.{fmt}", "../../x", "", "\u00e9.bin", "x" * 500)).encode()
        b64 = base64.encodebytes(body).replace(b"\n", b"\r\n")
        if rng.random() < 0.2:  # the message itself, attached as a message
            part = b"Content-Type: message/rfc822\r\n\r\n" + data
        else:
            part = (b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
                    b'Content-Disposition: attachment; filename="' + name + b'"\r\n\r\n' + b64)
        m = re.search(rb'boundary="?([^";\r\n]+)"?', data, re.IGNORECASE)
        if m and b"--" + m.group(1) + b"--" in data:
            end = data.rfind(b"--" + m.group(1) + b"--")
            return data[:end] + b"--" + m.group(1) + b"\r\n" + part + b"\r\n" + data[end:]
        head, sep, rest = data.partition(b"\n\n")
        return (head.replace(b"Content-Type:", b"X-Old-Content-Type:") + b"\nMIME-Version: 1.0\n"
                b'Content-Type: multipart/mixed; boundary="fz"\n\n--fz\n' + b"Content-Type: text/plain\n\n"
                + rest + b"\n--fz\r\n" + part + b"\r\n--fz--\r\n")

    def _eml_header(self, data: bytes) -> bytes:
        """A header line changed or added: content types, encodings, charsets, parameters."""
        rng = self.rng
        head, sep, rest = data.partition(b"\n\n") if b"\r\n\r\n" not in data else data.partition(b"\r\n\r\n")
        lines = head.split(b"\n")
        new = rng.choice(TOKENS["eml"]).rstrip(b"\r\n")
        if rng.random() < 0.5 and lines:
            lines[rng.randrange(len(lines))] = new
        else:
            lines.insert(rng.randrange(len(lines) + 1), new)
        # also inside the body, where the parts' headers are
        if rng.random() < 0.4:
            heads = [m.end() for m in re.finditer(rb"\n--[^\n]*\n", rest)]
            if heads:
                pos = rng.choice(heads)
                rest = rest[:pos] + rng.choice(TOKENS["eml"]) + rest[pos:]
        return b"\n".join(lines) + (sep or b"\n\n") + rest


HAVOC_BINARY = [Mutator._flip_bit, Mutator._interesting, Mutator._arith, Mutator._random_bytes,
                Mutator._insert_random, Mutator._insert_repeat, Mutator._delete, Mutator._duplicate,
                Mutator._overwrite_copy, Mutator._insert_token, Mutator._overwrite_token, Mutator._splice,
                Mutator._truncate, Mutator._flip_bit, Mutator._interesting]
HAVOC_TEXT = [Mutator._flip_bit, Mutator._random_bytes, Mutator._insert_random, Mutator._delete,
              Mutator._duplicate, Mutator._insert_token, Mutator._insert_token, Mutator._overwrite_token,
              Mutator._splice, Mutator._truncate, Mutator._lines, Mutator._lines, Mutator._nest,
              Mutator._unicode, Mutator._unicode, Mutator._case, Mutator._insert_repeat]

STRUCTURED = {
    "zip": [Mutator._zip_member_content, Mutator._zip_member_content, Mutator._zip_member_content,
            Mutator._zip_members_list, Mutator._zip_header, Mutator._zip_header, Mutator._zip_wrap],
    "tar": [Mutator._tar_header, Mutator._tar_header, Mutator._tar_members],
    "gzip": [Mutator._gzip_inner, Mutator._gzip_inner, Mutator._gzip_header, Mutator._gzip_concat],
    "png": [Mutator._png_chunk, Mutator._png_chunk, Mutator._png_pixels],
    "tiff": [Mutator._tiff_ifd],
    "riff": [Mutator._riff_chunk],
    "isobmff": [Mutator._isobmff_box],
    "pdf": [Mutator._pdf_stream, Mutator._pdf_stream, Mutator._pdf_token],
    "json": [Mutator._json_lines, Mutator._json_lines],
    "yaml": [Mutator._yaml_tree, Mutator._yaml_tree, Mutator._yaml_alias],
    "csv": [Mutator._csv_cells],
    "html": [Mutator._html_embed],
    "eml": [Mutator._eml_attach, Mutator._eml_header, Mutator._eml_header],
}
