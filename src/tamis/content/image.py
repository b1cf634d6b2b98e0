"""Images: decoded once, EXIF orientation applied, animated images sampled into frames
(the first, every scene change, and evenly spaced ones, with their times)."""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from tamis.content.base import Content
from tamis.content.sniff import appended_zip
from tamis.errors import CorruptInputError, DecompressionBombError, TooSmallError, UnsupportedFormatError

ImageFile.LOAD_TRUNCATED_IMAGES = False

try:  # HEIC/HEIF through the pillow-heif wheel, where it is installed
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - optional
    HEIF_SUPPORTED = False

#: PIL format names tamis decodes, by the media type that sniffing found.
PIL_FORMATS = {
    "image/jpeg": {"JPEG", "MPO"},
    "image/png": {"PNG"},
    "image/gif": {"GIF"},
    "image/webp": {"WEBP"},
    "image/bmp": {"BMP", "DIB"},
    "image/tiff": {"TIFF"},
    "image/heic": {"HEIF"},
    "image/heif": {"HEIF"},
    "image/avif": {"AVIF", "HEIF"},
}


@dataclass
class Frame:
    """One decoded picture (a still image has one; an animation several)."""

    index: int
    rgb: np.ndarray  # H x W x 3, uint8
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    def shared(self, key: str, compute):
        """Work several detectors need (a resized copy, grey levels, OCR) computed once."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

    def gray(self) -> np.ndarray:
        import cv2

        return self.shared("gray", lambda: cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY))

    def bgr(self) -> np.ndarray:
        return self.shared("bgr", lambda: np.ascontiguousarray(self.rgb[:, :, ::-1]))


@dataclass
class ImageContent(Content):
    width: int = 0
    height: int = 0
    frame_count: int = 1
    frames: list[Frame] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: A picture tamis made (a video frame, a rendered page): no bytes of its own to hash.
    derived: bool = False
    #: For an animation: each analysed frame's time from its start, in seconds.
    frame_times: dict[int, float] = field(default_factory=dict)
    #: Detectors not to run on this content (a video frame whose text was read moments ago).
    skip: frozenset[str] = frozenset()
    #: Read text even where the text gate sees none (a scanned page).
    ocr_always: bool = False


def jpeg_scans(data: bytes, stop: int) -> int:
    """The scans (SOS segments) of a JPEG's main picture, counted up to ``stop``: its marker
    segments are walked to the end of the picture, so what follows it (the video of a
    phone's "motion photo") or sits in an APP segment is not counted."""
    n, pos, end = 0, 2, len(data)
    while pos + 4 <= end and n < stop:
        if data[pos] != 0xFF:
            pos = data.find(b"\xff", pos)
            if pos < 0:
                break
            continue
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # end of the picture
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # restart markers, TEM: no length
            pos += 2
            continue
        pos += 2 + ((data[pos + 2] << 8) | data[pos + 3])
        if marker == 0xDA:  # a scan: its entropy-coded data runs to the next real marker
            n += 1
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= end:
                    return n
                nxt = data[pos + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
                    pos += 1 if nxt == 0xFF else 2
                    continue
                break
    return n


def gif_frames(data: bytes, stop: int) -> int:
    """The images of a GIF, counted up to ``stop`` by walking its blocks (without decoding
    them; Pillow's ``n_frames`` and ``seek`` decode every frame before the one asked for)."""

    def skip_sub_blocks(at: int) -> int:
        while at < len(data) and data[at]:
            at += data[at] + 1
        return at + 1

    if len(data) < 13:
        return 1
    pos = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    n = 0
    while pos < len(data) and n < stop:
        block = data[pos]
        if block == 0x3B:
            break
        if block == 0x21:  # an extension: its label, then sub-blocks
            pos = skip_sub_blocks(pos + 2)
        elif block == 0x2C:  # an image: descriptor, local colour table, LZW size, sub-blocks
            n += 1
            flags = data[pos + 9] if pos + 9 < len(data) else 0
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            pos = skip_sub_blocks(pos + 1)
        else:
            break
    return max(n, 1)


def _frame_count(img: Image.Image, data: bytes) -> int:
    """The frames of an animation, counted up to MAX_ANIMATION_FRAMES + 1."""
    if img.format == "GIF":
        return gif_frames(data, MAX_ANIMATION_FRAMES + 1)
    return int(getattr(img, "n_frames", 1) or 1)


def _to_rgb(img: Image.Image) -> np.ndarray:
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = arr.max() or 1.0
        img = Image.fromarray((arr * (255.0 / peak)).astype(np.uint8))
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


#: Most scans of a progressive JPEG decoded. Encoders write about ten; each one is a pass
#: over the whole picture, so 20,000 of them in a 1 MB file take a minute and gigabytes.
MAX_JPEG_SCANS = 100
#: Most frames of an animation looked at (each is decoded to pick the frames analysed).
MAX_ANIMATION_FRAMES = 5_000


def load_image(name: str, data: bytes, media_type: str, *, max_pixels: int, min_side: int,
               max_frames: int, scene_threshold: float = 0.12) -> ImageContent:
    """Decode ``data`` into an :class:`ImageContent`, with limits checked before decoding."""
    if media_type == "image/jpeg":
        scans = jpeg_scans(data, MAX_JPEG_SCANS + 1)
        if scans > MAX_JPEG_SCANS:
            raise DecompressionBombError(f"{name}: a JPEG of {scans:,} scans is over the limit of "
                                         f"{MAX_JPEG_SCANS} (each scan is a pass over the whole picture)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            allowed = PIL_FORMATS.get(media_type, set())
            if img.format not in allowed:
                raise UnsupportedFormatError(
                    f"{name}: content looks like {media_type} but decodes as {img.format}")
            width, height = img.size
            if width * height > max_pixels:
                raise DecompressionBombError(
                    f"{name}: {width}x{height} = {width * height:,} pixels is over the limit of "
                    f"{max_pixels:,} (possible decompression bomb)")
            if min(width, height) < min_side:
                raise TooSmallError(f"{name}: {width}x{height} is under the minimum side of {min_side} px")
            n_frames = _frame_count(img, data)
            content = ImageContent(kind="image", name=name, media_type=media_type, data=data,
                                   width=width, height=height, frame_count=n_frames)
            zip_at = appended_zip(data)
            if zip_at is not None:  # a polyglot: a picture to viewers, an archive to unzip
                content.notes.append(f"a ZIP archive is appended at byte {zip_at:,} (a way to hide files); "
                                     "scan it on its own to see what it holds")
            if n_frames <= 1:
                oriented = ImageOps.exif_transpose(img)
                rgb = _to_rgb(oriented)
                content.height, content.width = int(rgb.shape[0]), int(rgb.shape[1])
                content.frames = [Frame(0, rgb)]
                return content
            content.frames = _sample_frames(img, n_frames, max_frames, max_pixels, content, scene_threshold)
            return content
    except Image.DecompressionBombError as exc:
        raise DecompressionBombError(f"{name}: {exc}") from None
    except UnidentifiedImageError:
        raise CorruptInputError(f"{name}: not a decodable {media_type} image") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, MemoryError) as exc:
        msg = str(exc) or type(exc).__name__
        if "truncated" in msg:
            raise CorruptInputError(f"{name}: truncated {media_type} ({msg})") from None
        raise CorruptInputError(f"{name}: corrupt {media_type} ({msg})") from None


#: Browsers show a GIF frame that asks for less than 20 ms (or gives no time) for 100 ms.
_DEFAULT_FRAME_MS = 100


def luma_thumb(gray: np.ndarray) -> np.ndarray:
    """A 32 x 32 float thumbnail of a grey-level picture (nearest samples): what scene
    changes are measured on, for animations and videos alike."""
    h, w = gray.shape
    return gray[np.ix_((np.arange(32) * h) // 32, (np.arange(32) * w) // 32)].astype(np.float32)


def thumb_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two luma thumbnails, 0 to 1."""
    return float(np.abs(a - b).mean()) / 255.0


def _sample_frames(img: Image.Image, n_frames: int, max_frames: int, max_pixels: int,
                   content: ImageContent, scene_threshold: float) -> list[Frame]:
    """At most ``max_frames`` frames of an animation: the first, then the frames that start
    a new scene (the biggest changes first: a one-frame flash is one), then frames evenly
    spread over the rest. Every frame is looked at (a 32 x 32 grey thumbnail), so a flash
    between two evenly spaced frames is not missed."""
    # Seeking an animation decodes every frame before the target, so bound the frames
    # considered by a pixel budget as well as by count.
    per_frame = max(1, content.width * content.height)
    budget = max(1, min(MAX_ANIMATION_FRAMES, (4 * max_pixels) // per_frame))
    considered = min(n_frames, budget)
    if considered < n_frames:
        total = f"{n_frames:,}" if n_frames <= MAX_ANIMATION_FRAMES else f"more than {MAX_ANIMATION_FRAMES:,}"
        content.notes.append(f"only the first {considered:,} of {total} frames were considered "
                             "(decoding budget)")
    times, thumbs, changes, t = [], [], [], 0.0
    for index in range(considered):
        img.seek(index)
        gray = img.convert("L")  # decodes the frame, which also reads its duration (WebP)
        times.append(t)
        duration = img.info.get("duration") or 0
        t += (duration if duration >= 20 else _DEFAULT_FRAME_MS) / 1000.0
        thumbs.append(luma_thumb(np.asarray(gray)))
        if index:
            change = thumb_difference(thumbs[-1], thumbs[-2])
            if change > scene_threshold:
                changes.append((change, index))
    count = max(1, min(max_frames, considered))
    wanted = [0]
    # Scene changes, the biggest first, each only if its picture is new: a one-frame flash
    # changes the picture twice (into the flash and back), and the way back is not news.
    for _, index in sorted(changes, key=lambda c: (-c[0], c[1])):
        if len(wanted) >= count:
            break
        if min(thumb_difference(thumbs[index], thumbs[w]) for w in wanted) > scene_threshold:
            wanted.append(index)
    if len(wanted) < count:
        even = [round(i * (considered - 1) / (count - 1)) for i in range(count)] if count > 1 else [0]
        # Evenly spaced frames fill the rest, those farthest from any chosen frame first.
        for index in sorted(even, key=lambda i: -min(abs(i - w) for w in wanted)):
            if len(wanted) >= count:
                break
            if index not in wanted:
                wanted.append(index)
    frames = []
    for index in sorted(wanted):
        img.seek(index)
        frames.append(Frame(index, _to_rgb(img)))
        content.frame_times[index] = round(times[index], 3)
    return frames
