"""Loading images: type from content, limits, orientation, animation, and hostile input."""

from __future__ import annotations

import functools
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import jpeg_bytes, noise_image, png_bytes
from tamis.config import Settings
from tamis.content import sniff
from tamis.content.image import HEIF_SUPPORTED
from tamis.engine import Engine
from tamis.errors import (
    CorruptInputError,
    DecompressionBombError,
    EmptyInputError,
    InputError,
    InputNotFoundError,
    TooLargeError,
    TooSmallError,
    UnsupportedFormatError,
)


@pytest.fixture(scope="module")
def loader():
    """An engine used only to open content (no detector runs)."""
    return Engine(Settings(max_bytes=2_000_000, max_pixels=4_000_000), detectors=[])


def encode(fmt: str, arr: np.ndarray | None = None, **kw) -> bytes:
    img = Image.fromarray(arr if arr is not None else noise_image(96, 64))
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt,media", [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"),
                                        ("WEBP", "image/webp"), ("BMP", "image/bmp"), ("TIFF", "image/tiff")])
def test_formats_are_sniffed_from_content_and_decoded(loader, tmp_path, fmt, media):
    data = encode(fmt)
    assert sniff(data).media_type == media
    wrong_name = tmp_path / "picture.txt"  # the name lies; content decides
    wrong_name.write_bytes(data)
    content = loader.open(wrong_name)
    assert content.media_type == media
    assert (content.width, content.height) == (96, 64)
    assert content.frames[0].rgb.shape == (64, 96, 3)


@pytest.mark.skipif(not HEIF_SUPPORTED, reason="pillow-heif not installed")
def test_heic(loader):
    data = encode("HEIF", quality=80)
    assert sniff(data).media_type in ("image/heic", "image/heif")
    assert loader.open(data).width == 96


def test_exif_orientation_is_applied(loader):
    img = Image.fromarray(noise_image(120, 60))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    content = loader.open(buf.getvalue())
    assert (content.width, content.height) == (60, 120)


def test_animated_gif_is_sampled_with_frame_indices(loader):
    frames = [Image.new("RGB", (64, 64), (i * 8, 0, 0)) for i in range(30)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    content = Engine(Settings(max_frames=5), detectors=[]).open(buf.getvalue())
    assert content.frame_count == 30
    assert [f.index for f in content.frames] == [0, 7, 14, 22, 29]


def test_a_one_frame_flash_in_an_animation_is_analysed(loader):
    """Evenly spaced sampling (0, 7, 14, 22, 29) would step over frame 13."""
    frames = [Image.new("RGB", (64, 64), (i * 8, 0, 0)) for i in range(30)]
    frames[13] = Image.new("RGB", (64, 64), (255, 255, 255))
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    content = Engine(Settings(max_frames=5), detectors=[]).open(buf.getvalue())
    indices = [f.index for f in content.frames]
    assert 13 in indices and len(indices) == 5 and indices[0] == 0
    assert content.frame_times[13] == pytest.approx(0.65)  # 13 frames of 50 ms


def test_the_flash_itself_is_analysed_not_the_frame_after_it(loader):
    # Distinct frames (GIF merges equal neighbours); the way back from the flash (to 40) is
    # the bigger change, and its picture is the first frame's again.
    frames = [Image.new("RGB", (64, 64), (40 + (i if i < 5 else i - 6), 40, 40)) for i in range(12)]
    frames[5] = Image.new("RGB", (64, 64), (250, 250, 250))
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=40)
    content = Engine(Settings(max_frames=2), detectors=[]).open(buf.getvalue())
    assert [f.index for f in content.frames] == [0, 5]


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animation_frame_times_follow_each_frames_duration(loader, fmt):
    frames = [Image.new("RGB", (64, 64), (0, i * 60, 0)) for i in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, format=fmt, save_all=True, append_images=frames[1:], duration=[1000, 200, 3000, 500])
    content = Engine(Settings(max_frames=4), detectors=[]).open(buf.getvalue())
    assert content.frame_times == {0: 0.0, 1: 1.0, 2: 1.2, 3: 4.2}


def test_animation_frame_times_default_like_browsers(loader):
    frames = [Image.new("RGB", (64, 64), (0, i * 40, 0)) for i in range(4)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=0)
    content = Engine(Settings(max_frames=4), detectors=[]).open(buf.getvalue())
    assert content.frame_times == {0: 0.0, 1: 0.1, 2: 0.2, 3: 0.3}


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P", "CMYK", "I;16", "1"])
def test_unusual_modes_become_rgb(loader, mode):
    img = Image.fromarray(noise_image(40, 30)).convert(mode if mode != "I;16" else "I")
    if mode == "I;16":
        img = Image.fromarray(np.asarray(img.convert("L"), np.uint16) * 200).convert("I;16")
    buf = io.BytesIO()
    img.save(buf, format="TIFF" if mode in ("CMYK", "I;16") else "PNG")
    content = loader.open(buf.getvalue())
    assert content.frames[0].rgb.dtype == np.uint8 and content.frames[0].rgb.shape == (30, 40, 3)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions (what a decompression bomb looks like)."""
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@functools.lru_cache(maxsize=1)
def _bomb() -> bytes:
    """A real bomb: 10000 x 5000 black pixels (150 MB decoded) in about 150 kB of PNG."""
    width, height = 10_000, 5_000
    row = b"\x00" + b"\x00" * width * 3
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


HOSTILE = [
    ("empty", b"", EmptyInputError),
    ("malformed utf-8 text", b"a normal sentence, then " + b"\xff\xfe bad bytes", CorruptInputError),
    ("text with NUL bytes", b"hello\x00world", UnsupportedFormatError),
    ("whitespace-only text", b"   \n\t  \n", EmptyInputError),
    ("random bytes", bytes(range(256)) * 4, UnsupportedFormatError),
    ("jpeg magic then garbage", b"\xff\xd8\xff\xe0" + b"\x13" * 500, CorruptInputError),
    ("truncated jpeg", jpeg_bytes(noise_image(200, 200))[:1500], CorruptInputError),
    ("truncated png", png_bytes(200, 200)[:60], CorruptInputError),
    ("png claiming 100k x 100k", _png_header_only(100_000, 100_000), DecompressionBombError),
    ("zero-filled png bomb", _bomb(), DecompressionBombError),
    ("tiny image", png_bytes(3, 3), TooSmallError),
    ("over the byte limit", b"\xff\xd8\xff" + b"\x00" * 2_100_000, TooLargeError),
    ("pdf of garbage", b"%PDF-1.7\n" + b"x" * 100, CorruptInputError),
    ("mp4 of zeros", b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100, CorruptInputError),
    ("gif header only", b"GIF89a\x10\x00\x10\x00", CorruptInputError),
]


@pytest.mark.parametrize("what,data,error", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_input_gets_a_specific_error(loader, what, data, error):
    with pytest.raises(error) as info:
        loader.open(data, name=what)
    assert isinstance(info.value, InputError)
    assert info.value.code != "bad_input" or error is InputError
    assert what in info.value.message  # the message names the input


def test_missing_file_and_folder(loader, tmp_path):
    with pytest.raises(InputNotFoundError):
        loader.open(tmp_path / "nope.jpg")
    with pytest.raises(InputError, match="folder"):
        loader.open(tmp_path)


def test_batch_goes_on_after_bad_inputs(engine, samples):
    sources = [samples / "cat.jpg", b"", b"\xff\xd8\xff" + b"\x00" * 100, _bomb(), samples / "qr_payment.png"]
    results = list(engine.scan_many(sources))
    assert [r.action for r in results][1:4] == ["error", "error", "error"]
    assert [r.error.code for r in results[1:4]] == ["empty_input", "corrupt_input", "decompression_bomb"]
    assert results[0].ok and results[4].ok
    qr = [f for f in results[4].findings if f.label == "qr_code"]
    assert qr[0].data["payload"].startswith("https://pay.example.com/")


def test_animated_webp_is_sampled(loader):
    frames = [Image.new("RGB", (48, 48), (0, i * 20, 0)) for i in range(6)]
    buf = io.BytesIO()
    frames[0].save(buf, format="WEBP", save_all=True, append_images=frames[1:], duration=80, lossless=True)
    content = Engine(Settings(max_frames=3), detectors=[]).open(buf.getvalue())
    assert content.media_type == "image/webp" and content.frame_count == 6
    assert [f.index for f in content.frames] == [0, 2, 5]
    assert content.frames[-1].rgb[24, 24, 1] > content.frames[0].rgb[24, 24, 1]
