"""Hostile files, made in a few lines each: the reproducers of faults found by fuzzing and
by hand. Each returns bytes (or writes a file) that once escaped as a foreign exception, a
hang, or memory past the limit."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image

from conftest import noise_image


def tiff_ifd_claims_127_entries() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(noise_image(32, 32)).save(buf, format="TIFF")
    data = bytearray(buf.getvalue())
    ifd = struct.unpack_from("<I", data, 4)[0]
    struct.pack_into("<H", data, ifd, 127)  # the first IFD now claims 127 entries
    return bytes(data)


def avif_renamed_iinf() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(noise_image(64, 64)).save(buf, format="AVIF")
    return buf.getvalue().replace(b"iinf", b"iinx", 1)


def avif_bad_mdat_byte() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(noise_image(64, 64)).save(buf, format="AVIF")
    data = bytearray(buf.getvalue())
    at = data.index(b"mdat") + 12
    data[at] ^= 0xFF
    return bytes(data)


def zip_version_needed_14_8(package: bytes | None = None) -> bytes:
    """A zip (or an ODT, a PPTX) whose central directory says 'version needed: 14.8'."""
    if package is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("a.txt", "hello")
        package = buf.getvalue()
    data = bytearray(package)
    at = 0
    while (at := data.find(b"PK\x01\x02", at)) >= 0:
        struct.pack_into("<H", data, at + 6, 148)
        at += 4
    return bytes(data)


def gif_cut_after_descriptor() -> bytes:
    frames = [Image.fromarray(noise_image(32, 32, seed=i)).convert("P") for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    data = buf.getvalue()
    second = data.index(b"\x2c", data.index(b"\x2c") + 1)  # the second image descriptor
    return data[:second + 10]


def _video(codec_tag_patch: bytes | None = None, size=(64, 48), fmt="mp4", frames=6) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(noise_image(*size, seed=i), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def mp4_unknown_codec() -> bytes:
    """An MP4 whose sample entry names a codec nobody knows ('bvc1')."""
    return _video().replace(b"mp4v", b"bvc1")


def mkv_unknown_codec() -> bytes:
    """A Matroska file whose track names a codec FFmpeg does not know."""
    return _video(fmt="matroska").replace(b"V_MPEG4/ISO/ASP", b"V_BVC1X/ISO/ASP")


def mkv_frames_grow(big=(4000, 3000)) -> bytes:
    """A Motion-JPEG Matroska whose header (and first frames) say 64x48, later frames ``big``."""
    import fractions

    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as out:
        stream = out.add_stream("mjpeg", rate=10)
        stream.width, stream.height = 64, 48
        stream.pix_fmt = "yuvj420p"
        for i, size in enumerate([(64, 48), (64, 48), big, big]):
            jpg = io.BytesIO()
            Image.new("RGB", size, (40 * i, 90, 120)).save(jpg, "JPEG")
            packet = av.Packet(jpg.getvalue())
            packet.stream, packet.pts, packet.dts = stream, i, i
            packet.time_base = fractions.Fraction(1, 10)
            out.mux(packet)
    return buf.getvalue()


def mp4_truncated() -> bytes:
    data = _video()
    return data[:len(data) // 3]


def avi_header_smaller_than_frames() -> bytes:
    """An AVI whose header says 64x48 while its frames are far larger."""
    data = bytearray(_video(size=(4000, 3008), fmt="avi", frames=2))
    for fourcc in (b"avih", b"strf"):
        at = data.index(fourcc) + 8
        offset = 32 if fourcc == b"avih" else 4
        struct.pack_into("<II", data, at + offset, 64, 48)
    return bytes(data)


def pdf_flate_bomb(spaces: int = 3 << 30) -> bytes:
    """A small PDF whose one page's content stream inflates to ``spaces`` bytes of spaces."""
    comp = zlib.compressobj(9)
    block = b" " * (1 << 20)
    stream = b"".join(comp.compress(block) for _ in range(spaces >> 20)) + comp.flush()
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                 b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                 b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
                 b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"])


def pdf_blank_pages(pages: int = 2000, side_pt: float = 14173.0) -> bytes:
    """``pages`` blank pages, each 5 metres square (14,173 pt)."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages)).encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages]
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.0f %.0f] >>" % (side_pt, side_pt)] * pages
    return _pdf(objs)


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def progressive_jpeg_many_scans(scans: int = 20_000) -> bytes:
    """A progressive JPEG whose last scan is repeated ``scans`` times (each costs a pass)."""
    buf = io.BytesIO()
    Image.new("RGB", (1024, 1024), (90, 120, 150)).save(buf, format="JPEG", progressive=True, quality=80)
    data = buf.getvalue()
    last_sos = data.rindex(b"\xff\xda")
    scan = data[last_sos:-2]  # up to the EOI marker
    return data[:-2] + scan * scans + b"\xff\xd9"


def gif_many_frames(frames: int = 100_000) -> bytes:
    """An animated GIF of ``frames`` 1x1 frames, written by hand (Pillow takes minutes)."""
    head = b"GIF89a" + struct.pack("<HHBBB", 8, 8, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = (b"\x21\xf9\x04\x04\x02\x00\x00\x00"  # graphic control: 20 ms
             + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00")
    return head + loop + frame * frames + b"\x3b"


def eml_many_parts(parts: int = 100_000) -> bytes:
    body = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(parts))
    return (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: many\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + body + b"--b--\r\n")


def eml_reply_to_dots(dots: int = 50_000) -> bytes:
    return (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: dots\r\nReply-To: " + b"." * dots
            + b"\r\n\r\nhello\r\n")


def docx_nested_paragraphs(depth: int = 20_000) -> bytes:
    """A DOCX whose body nests ``depth`` paragraphs in each other (text boxes in text boxes)."""
    from documents import docx, with_members

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    inner = "<w:p><w:r><w:t>x</w:t></w:r>" * depth + "</w:p>" * depth
    xml = f'<?xml version="1.0" encoding="UTF-8"?><w:document {w}><w:body>{inner}</w:body></w:document>'
    return with_members(docx(["placeholder"]), {"word/document.xml": xml.encode()})


def odt_nested_paragraphs(depth: int = 5_000) -> bytes:
    from documents import odt, with_members

    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
    inner = "<text:p>x" * depth + "</text:p>" * depth
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}><office:body>'
           f"<office:text>{inner}</office:text></office:body></office:document-content>")
    return with_members(odt(["placeholder"]), {"content.xml": xml.encode()})


def with_zip_appended(host: bytes, members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return host + buf.getvalue()


def tar_with_latin1_names() -> bytes:
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="latin-1") as t:
        for name in ("caf\xe9.txt", "r\xe9sum\xe9/notes.txt"):
            data = b"meet me at the usual place"
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_non_utf8_name(folder: Path) -> Path:
    """A file whose name holds the byte 0xff (not UTF-8)."""
    raw = bytes(folder) + b"/bad\xffname.txt"
    with open(raw, "wb") as fh:
        fh.write(b"a plain note")
    return Path(raw.decode("utf-8", "surrogateescape"))


from tamis.detectors.base import Detector  # noqa: E402


class Misbehaving(Detector):
    """A detector that misbehaves on cue, to test the worker supervisor: a text (or an
    image named so) with CRASH kills its process with SIGSEGV, SLEEP sleeps for a minute,
    ALLOC allocates (and touches) 6 GB. Picklable, so worker processes get it."""

    name = "misbehaving"
    version = "1"
    labels = frozenset({"spam"})
    kinds = frozenset({"text", "image"})
    default = False

    def analyze(self, contents):
        import os
        import signal
        import time

        from tamis.detectors.base import Output

        for c in contents:
            cue = c.text if c.kind == "text" else c.name
            if "CRASH" in cue:
                os.kill(os.getpid(), signal.SIGSEGV)
            if "SLEEP" in cue:
                time.sleep(60)
            if "ALLOC" in cue:
                block = bytearray(6 << 30)
                block[::4096] = b"x" * len(block[::4096])
        return [Output() for _ in contents]


__all__ = [name for name in dir() if not name.startswith("_") and callable(globals()[name])
           and name not in ("Image", "Path", "noise_image", "np")]
