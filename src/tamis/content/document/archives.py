"""ZIP (also the container of OOXML and ODF), tar and gzip, read in memory with limits."""

from __future__ import annotations

import io
import posixpath
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterator

from tamis.content.base import printable
from tamis.content.document.base import MAX_XML_BYTES, DocumentContent, Limits, Part
from tamis.errors import (
    ArchiveBombError,
    CorruptInputError,
    EncryptedError,
    InputError,
    TooLargeError,
)


def safe_name(name: str) -> tuple[str, bool]:
    """A member name made safe to show, and whether the original was unsafe (absolute,
    or climbing out with ``..``)."""
    clean = name.replace("\\", "/")
    unsafe = clean.startswith("/") or re.match(r"^[A-Za-z]:", clean) is not None or ".." in clean.split("/")
    normal = printable(posixpath.normpath("/" + clean).lstrip("/"))
    return normal or "(unnamed)", unsafe


class Zip:
    """A zip file opened with its limits checked up front, members read with bounded reads."""

    def __init__(self, content: DocumentContent, limits: Limits) -> None:
        self.name, self.limits = content.name, limits
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(content.data))
            self.infos = [i for i in self.zf.infolist() if not i.filename.endswith("/")]  # is_dir() fails on ''
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise CorruptInputError(f"{content.name}: corrupt zip container ({exc})") from None
        if len(self.infos) > limits.max_parts:
            raise ArchiveBombError(f"{content.name}: {len(self.infos):,} members is over the limit of "
                                   f"{limits.max_parts:,}")
        declared = sum(i.file_size for i in self.infos)
        if declared > limits.max_unpacked_bytes:
            raise ArchiveBombError(f"{content.name}: {declared:,} bytes unpacked is over the limit of "
                                   f"{limits.max_unpacked_bytes:,} (zip bomb?)")
        offsets = [i.header_offset for i in self.infos]
        if len(set(offsets)) != len(offsets):  # entries sharing their data: a known zip-bomb trick
            raise ArchiveBombError(f"{content.name}: several members point at the same data (zip bomb?)")
        self.budget = content.budget

    def names(self) -> list[str]:
        return [i.filename for i in self.infos]

    def read(self, info: zipfile.ZipInfo | str) -> bytes:
        if isinstance(info, str):
            info = self.zf.getinfo(info)
        label = f"{self.name}: member {info.filename!r}"
        if info.flag_bits & 0x1:
            raise EncryptedError(f"{label} is encrypted")
        if info.file_size > (1 << 20) and info.file_size > self.limits.max_ratio * max(1, info.compress_size):
            raise ArchiveBombError(f"{label}: compressed {info.file_size / max(1, info.compress_size):,.0f} to 1, "
                                   f"over the limit of {self.limits.max_ratio:,.0f} (zip bomb?)")
        if info.file_size > self.limits.max_member_bytes:
            raise ArchiveBombError(f"{label}: {info.file_size:,} bytes is over the member limit of "
                                   f"{self.limits.max_member_bytes:,}")
        left = self.limits.max_unpacked_bytes - self.budget.bytes
        if info.file_size > left:
            raise ArchiveBombError(f"{label}: unpacking it would pass {self.limits.max_unpacked_bytes:,} bytes "
                                   "for this scan (zip bomb?)")
        try:
            with self.zf.open(info) as fh:
                data = fh.read(info.file_size + 1)
        except Exception as exc:  # noqa: BLE001 - zlib, lzma, bz2, encryption...: all are a bad member
            raise CorruptInputError(f"{label}: cannot be unpacked ({type(exc).__name__}: {exc})") from None
        if len(data) > info.file_size:  # the header lied about the size
            raise ArchiveBombError(f"{label}: unpacks to more than its header says (zip bomb?)")
        self.budget.bytes += len(data)
        return data

    def xml(self, name: str):
        from defusedxml import ElementTree

        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise CorruptInputError(f"{self.name}: {name} is missing") from None
        if info.file_size > MAX_XML_BYTES:
            raise TooLargeError(f"{self.name}: {name} is {info.file_size:,} bytes of XML, over the limit of "
                                f"{MAX_XML_BYTES:,}")
        data = self.read(info)
        try:
            return ElementTree.fromstring(data)
        except Exception as exc:  # noqa: BLE001 - defusedxml raises several kinds
            raise CorruptInputError(f"{self.name}: {name} is not well-formed XML ({exc})") from None


def read_zip(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    z = Zip(content, limits)
    for info in z.infos:
        name, unsafe = safe_name(info.filename)
        label = f"member {name}"
        if unsafe:
            content.notes.append(f"member {info.filename!r} has an unsafe path; it was read in memory only")
        try:
            yield Part(label, data=z.read(info))
        except InputError as exc:
            yield Part(label, error=exc)


def read_tar(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    try:
        tf = tarfile.open(fileobj=io.BytesIO(content.data), mode="r:")  # plain tar: gzip came through _gzip
        members = tf.getmembers()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise CorruptInputError(f"{content.name}: corrupt tar archive ({exc})") from None
    files = [m for m in members if m.isfile()]
    skipped = len(members) - len(files) - sum(m.isdir() for m in members)
    if skipped:
        content.notes.append(f"{skipped} links or special files were not followed")
    if len(files) > limits.max_parts:
        raise ArchiveBombError(f"{content.name}: {len(files):,} members is over the limit of {limits.max_parts:,}")
    total = sum(m.size for m in files)
    if total > limits.max_unpacked_bytes - content.budget.bytes:
        raise ArchiveBombError(f"{content.name}: {total:,} bytes unpacked is over the limit of "
                               f"{limits.max_unpacked_bytes:,}")
    for m in files:
        name, unsafe = safe_name(m.name)
        if unsafe:
            content.notes.append(f"member {m.name!r} has an unsafe path; it was read in memory only")
        if m.size > limits.max_member_bytes:
            yield Part(f"member {name}", error=ArchiveBombError(
                f"{content.name}: member {name!r}: {m.size:,} bytes is over the member limit"))
            continue
        try:
            fh = tf.extractfile(m)
            data = fh.read(m.size) if fh else b""
            content.budget.bytes += len(data)
            yield Part(f"member {name}", data=data)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            yield Part(f"member {name}", error=CorruptInputError(f"{content.name}: member {name!r}: {exc}"))


def read_gzip(content: DocumentContent, limits: Limits) -> Iterator[Part]:
    """One gzip stream, unpacked with a bounded output (a gzip bomb stops at the limit)."""
    budget = min(limits.max_member_bytes, limits.max_unpacked_bytes - content.budget.bytes)
    d = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        data = d.decompress(content.data, budget + 1)
    except zlib.error as exc:
        raise CorruptInputError(f"{content.name}: corrupt gzip ({exc})") from None
    if len(data) > budget or (d.unconsumed_tail and len(data) >= budget):
        raise ArchiveBombError(f"{content.name}: unpacks to more than {budget:,} bytes (gzip bomb?)")
    if not d.eof:
        content.notes.append("the gzip stream is truncated; what unpacked was scanned")
    elif d.unused_data.strip(b"\0"):
        content.notes.append("only the first member of a multi-member gzip was scanned")
    content.budget.bytes += len(data)
    if len(data) > (1 << 20) and len(data) > limits.max_ratio * len(content.data):
        raise ArchiveBombError(f"{content.name}: compressed {len(data) / len(content.data):,.0f} to 1, over the "
                               f"limit of {limits.max_ratio:,.0f} (gzip bomb?)")
    inner = content.name.rsplit("/", 1)[-1]
    inner = inner[:-3] if inner.lower().endswith(".gz") else inner + ".unpacked"
    yield Part(f"member {inner}", data=data)
