"""Decode untrusted image bytes into an RGB picture, quickly and safely.

Every failure becomes `RejectedImage` with a reason a person can act on. This module decodes in
the calling process; `spotter.ingest.decode_sandbox` runs it in a warm worker process under a wall-time and
memory limit, which is what the classify function uses. The pre-checks here (page and scan
counts read without decoding, a memory estimate from the header) reject the known traps early,
with a precise reason; the worker's limits bound everything else.
"""

from __future__ import annotations

import io
import mmap
import re
import struct
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from spotter.errors import RejectedImage
from spotter.ingest.exif import FieldMetadata, read_field_metadata
from spotter.limits import MAX_FRAMES, MAX_IMAGE_PIXELS, MAX_JPEG_SCANS, MAX_UPLOAD_BYTES, MiB

if TYPE_CHECKING:
    from spotter.model.tiling import TilePlan, View

# An upload's bytes: in memory, or mapped from a file (the decode worker maps the shared file the
# caller wrote them to, rather than copying them out of it). Every reader below takes either.
ImageData = bytes | mmap.mmap

SUPPORTED_FORMATS = {"JPEG", "MPO", "PNG", "GIF", "WEBP", "TIFF", "BMP"}
_TRANSPARENT_MODES = {"LA", "La", "RGBA", "RGBa", "PA"}
_HIGH_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
# Modes Pillow reduces in place. Not P, PA, 1 (indices cannot be averaged), nor LA and RGBA (Pillow
# first makes a premultiplied copy at full size), nor 16-bit: those are converted a band at a time.
_REDUCIBLE_MODES = {"L", "RGB", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "I", "F"}
_BYTES_PER_PIXEL = {
    "1": 1,
    "L": 1,
    "P": 1,
    "I;16": 2,
    "I;16B": 2,
    "I;16L": 2,
    "I;16N": 2,
}  # Pillow stores the rest in 4
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class DecodeLimits:
    max_bytes: int = MAX_UPLOAD_BYTES
    max_pixels: int = MAX_IMAGE_PIXELS
    max_frames: int = MAX_FRAMES
    max_jpeg_scans: int = MAX_JPEG_SCANS
    memory_bytes: int | None = None  # the decode memory budget; None: no estimate check (inline use)
    seconds: float | None = None  # the decode wall-time budget (enforced by spotter.ingest.decode_sandbox's worker)


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, possibly reduced but never below 2x the target size (unless fitted, below)
    width: int  # of the original, after EXIF orientation
    height: int
    format: str
    frames: int
    field: FieldMetadata
    decode_ms: float
    # set when the decode worker also fitted `image` to the model's input (spotter.model.preprocess): the
    # fit's ms; `image` is then the model's input picture, which the classifier's own fit only copies
    fit_ms: float | None = None
    # set when the picture was also cut for a detector (spotter.model.tiling): the whole picture and
    # its tiles, each fitted to the model's input (`image` is then the first), and the tile plan
    views: tuple[View, ...] = ()
    plan: TilePlan | None = None


def _mb(n: int) -> str:
    return f"{n / MiB:.1f} MB"


def _describe_unknown(data: ImageData) -> str:
    head = data[:512].lstrip()
    if head[:4] == b"<svg" or (head[:5] == b"<?xml" and b"<svg" in data[:4096]):
        return "SVG is a vector format and is not supported: upload a raster image (JPEG, PNG, WebP)"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc", b"ftypmsf1"):
        return "HEIC/HEIF images are not supported: export the photo as JPEG"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "AVIF images are not supported: export the photo as JPEG or PNG"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        layout = tiff_layout(data)
        return (
            f"a TIFF with {layout}, a sample layout the decoder cannot read (it reads 1/8-bit, 16-bit and "
            "32-bit integer, 32-bit float grey, and 8/16-bit colour)"
            if layout
            else "a TIFF image whose header cannot be read"
        )
    if data[:4] == b"%PDF":
        return "a PDF document, not an image"
    if data[:2] == b"PK":
        return "a ZIP archive, not an image"
    try:
        data[:256].decode("utf-8")
        return "a text file, not an image"
    except UnicodeDecodeError:
        pass
    return f"not a recognised image format (starts with {data[:8].hex(' ')})"


def check_size(size: int, limits: DecodeLimits) -> None:
    if size == 0:
        raise RejectedImage("empty file (0 bytes)")
    if size > limits.max_bytes:
        raise RejectedImage(f"file is {_mb(size)}, over the {_mb(limits.max_bytes)} limit")


# ---- pre-checks on the raw bytes: counts read without decoding -----------------------------------

_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")  # the next marker after entropy-coded data


@dataclass(frozen=True)
class JpegLayout:
    scans: int
    progressive: bool
    width: int
    height: int
    components: tuple[tuple[int, int], ...]  # (horizontal, vertical) sampling of each component


def jpeg_layout(data: ImageData, stop_after_scans: int) -> JpegLayout | None:
    """Walk the first JPEG's markers (up to its EOI: an MPO's later pictures are not counted):
    its scan count (0xFFDA), whether it is progressive, its frame size and sampling."""
    if data[:2] != b"\xff\xd8":
        return None
    at, scans, progressive, size = 2, 0, False, (0, 0)
    components: tuple[tuple[int, int], ...] = ()
    end = len(data)
    while at + 4 <= end and scans <= stop_after_scans:
        if data[at] != 0xFF:
            found = _JPEG_MARKER.search(data, at)
            if not found:
                break
            at = found.start()
            continue
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xD9:
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7 or marker == 0xD8:
            at += 2
            continue
        length = struct.unpack_from(">H", data, at + 2)[0]
        if (
            marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
            and at + 10 <= end
            and not size[0]
        ):
            progressive = marker in (0xC2, 0xC6, 0xCA, 0xCE)
            height, width, count = struct.unpack_from(">HHB", data, at + 5)
            size = (width, height)
            components = tuple((data[p] >> 4, data[p] & 15) for p in range(at + 11, min(end, at + 10 + 3 * count), 3))
        if marker == 0xDA:
            scans += 1
            found = _JPEG_MARKER.search(data, at + 2 + length)
            if not found:
                break
            at = found.start()
            continue
        at += 2 + length
    return JpegLayout(scans, progressive, size[0], size[1], components)


def _tiff_reader(data: ImageData) -> tuple[str, int, str, int, str] | None:
    """(byte order, first IFD offset, entry-count format, entry size, offset format); None: not a TIFF."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or len(data) < 16:
        return None
    magic = struct.unpack_from(order + "H", data, 2)[0]
    if magic == 42:
        return order, struct.unpack_from(order + "I", data, 4)[0], "H", 12, "I"
    if magic == 43:  # BigTIFF
        return order, struct.unpack_from(order + "Q", data, 8)[0], "Q", 20, "Q"
    return None


def tiff_page_count(data: ImageData, stop_after: int = 1_000_000) -> int:
    """Pages of a TIFF, following the next-IFD chain once (linear; Pillow's `n_frames` is quadratic)."""
    reader = _tiff_reader(data)
    if reader is None:
        return 0
    order, offset, count_type, entry_size, offset_type = reader
    count_size, offset_size = struct.calcsize(count_type), struct.calcsize(offset_type)
    seen, pages = set(), 0
    while offset and offset not in seen and pages < stop_after:
        seen.add(offset)
        if offset + count_size > len(data):
            break
        entries = struct.unpack_from(order + count_type, data, offset)[0]
        pages += 1
        at = offset + count_size + entries * entry_size
        if at + offset_size > len(data):
            break
        offset = struct.unpack_from(order + offset_type, data, at)[0]
    return pages


_SAMPLE_FORMATS = {
    1: "unsigned integer",
    2: "signed integer",
    3: "floating-point",
    4: "untyped",
    5: "complex integer",
    6: "complex floating-point",
}


def tiff_layout(data: ImageData) -> str | None:
    """The first page's sample layout, in words ('3 samples of 64-bit floating-point per pixel, ...')."""
    reader = _tiff_reader(data)
    if reader is None:
        return None
    order, offset, count_type, entry_size, _ = reader
    if offset + 8 > len(data):
        return None
    tags = {}
    entries = struct.unpack_from(order + count_type, data, offset)[0]
    for i in range(min(entries, 512)):
        at = offset + struct.calcsize(count_type) + i * entry_size
        if at + 12 > len(data):
            break
        tag, kind = struct.unpack_from(order + "HH", data, at)
        if tag in (258, 259, 262, 277, 339) and kind in (3, 4):  # SHORT or LONG, first value inline
            value_at = at + (8 if entry_size == 12 else 12)
            count = struct.unpack_from(order + ("I" if entry_size == 12 else "Q"), data, at + 4)[0]
            fmt = "H" if kind == 3 else "I"
            inline = count * struct.calcsize(fmt) <= (4 if entry_size == 12 else 8)
            if inline:
                tags[tag] = struct.unpack_from(order + fmt, data, value_at)[0]
            else:
                pointer = struct.unpack_from(order + ("I" if entry_size == 12 else "Q"), data, value_at)[0]
                if pointer + 2 <= len(data):
                    tags[tag] = struct.unpack_from(order + fmt, data, pointer)[0]
    bits, samples = tags.get(258, 1), tags.get(277, 1)
    kind = _SAMPLE_FORMATS.get(tags.get(339, 1), f"sample format {tags.get(339)}")
    return (
        f"{samples} sample{'s' if samples != 1 else ''} of {bits}-bit {kind} per pixel "
        f"(photometric {tags.get(262, '?')}, compression {tags.get(259, 1)})"
    )


def gif_frame_count(data: ImageData, stop_after: int) -> int:
    """Frames of a GIF, by walking its blocks (Pillow's `n_frames` seeks through each frame)."""
    if data[:3] != b"GIF" or len(data) < 13:
        return 0
    at = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    frames, end = 0, len(data)
    while at < end and frames <= stop_after:
        block = data[at]
        if block == 0x3B:
            break
        if block == 0x2C:
            if at + 10 > end:
                break
            frames += 1
            flags = data[at + 9]
            at += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1  # + LZW minimum code size
        elif block == 0x21:
            at += 2
        else:
            break
        while at < end and data[at]:  # data sub-blocks
            at += data[at] + 1
        at += 1
    return frames


def precheck(data: ImageData, limits: DecodeLimits) -> int | None:
    """Reject the known traps before Pillow sees them; returns the page/frame count when known."""
    return _prechecked(data, limits)[0]


def _prechecked(data: ImageData, limits: DecodeLimits) -> tuple[int | None, JpegLayout | None]:
    """`precheck`'s count, and a JPEG's layout (walked once: decode_image's memory estimate needs it too)."""
    if data[:2] == b"\xff\xd8":
        layout = jpeg_layout(data, limits.max_jpeg_scans)
        if layout and layout.scans > limits.max_jpeg_scans:
            full = jpeg_layout(data, 10_000_000)  # never None: the data starts with SOI
            total = full.scans if full is not None else layout.scans
            raise RejectedImage(
                f"JPEG has {total:,} scans, over the {limits.max_jpeg_scans:,}-scan limit by "
                f"{total - limits.max_jpeg_scans:,} (each scan is another pass over the picture)"
            )
        return None, layout
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        pages = tiff_page_count(data)
        if pages > limits.max_frames:
            raise RejectedImage(
                f"TIFF has {pages:,} pages, over the {limits.max_frames:,}-page limit by {pages - limits.max_frames:,}"
            )
        return pages or None, None
    if data[:3] == b"GIF":
        frames = gif_frame_count(data, stop_after=100 * limits.max_frames)
        if frames > limits.max_frames:
            raise RejectedImage(
                f"GIF has {frames:,} frames, over the {limits.max_frames:,}-frame limit by "
                f"{frames - limits.max_frames:,}"
            )
        return frames or None, None
    return None, None


# ---- opening, the memory estimate, decoding -------------------------------------------------------


class _MappedFile(io.RawIOBase):
    """A read-only file over mapped bytes that behaves as `io.BytesIO` does for Pillow (a read returns
    what is there, up to what was asked; seeking past the end is allowed and reads there return
    nothing; a negative absolute seek is a ValueError; no file descriptor), without first copying
    the bytes. Unbuffered: each read copies its own bytes out, once. `close` lets go of the mapping."""

    def __init__(self, data: mmap.mmap) -> None:
        super().__init__()
        self._data = data
        self._view = memoryview(data)
        self._at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._checkClosed()
        return self._at

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._checkClosed()
        if whence == io.SEEK_SET:
            if offset < 0:
                raise ValueError(f"negative seek value {offset}")
            self._at = offset
        elif whence == io.SEEK_CUR:
            self._at = max(0, self._at + offset)
        elif whence == io.SEEK_END:
            self._at = max(0, len(self._view) + offset)
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        return self._at

    def _take(self, end: int) -> bytes:
        start, self._at = self._at, max(self._at, min(end, len(self._view)))
        return bytes(self._view[start : self._at]) if self._at > start else b""

    def read(self, size: int | None = -1) -> bytes:
        self._checkClosed()
        return self._take(len(self._view) if size is None or size < 0 else self._at + size)

    def readall(self) -> bytes:
        return self.read()

    def readline(self, size: int | None = -1) -> bytes:
        self._checkClosed()
        newline = self._data.find(b"\n", self._at)
        end = len(self._view) if newline < 0 else newline + 1
        return self._take(end if size is None or size < 0 else min(end, self._at + size))

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(memoryview(buffer).cast("B")))
        memoryview(buffer).cast("B")[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        self._view.release()
        super().close()


def _file(data: ImageData) -> BinaryIO:
    """`data` as a file for Pillow: bytes as `io.BytesIO` (which shares them), a mapping as a
    `_MappedFile` (`io.BytesIO` would copy it)."""
    return io.BytesIO(data) if isinstance(data, bytes) else cast(BinaryIO, _MappedFile(data))


def _open(data: ImageData, source: BinaryIO, limits: DecodeLimits) -> Image.Image:
    # Pillow's own bomb check reads a global (it warns above it, refuses above twice it): keep it in
    # step with `limits`, so the check below, which names the size, is the one that decides.
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source)
    except Image.DecompressionBombError:
        raise RejectedImage(
            f"declared image size is over the {limits.max_pixels / 1e6:.0f} megapixel limit "
            "(possible decompression bomb)"
        ) from None
    except UnidentifiedImageError:
        raise RejectedImage(_describe_unknown(data)) from None
    except MemoryError:
        raise
    except Exception as exc:  # a malformed header can raise almost anything
        raise RejectedImage(f"unreadable image header: {exc}") from None
    if image.format not in SUPPORTED_FORMATS:
        raise RejectedImage(f"{image.format} images are not supported (use JPEG, PNG, GIF, WebP, TIFF or BMP)")
    width, height = image.size
    if width < 1 or height < 1:
        raise RejectedImage(f"image declares an empty size {width}x{height}")
    if width * height > limits.max_pixels:
        raise RejectedImage(
            f"image declares {width}x{height} = {width * height / 1e6:.0f} megapixels, over the "
            f"{limits.max_pixels / 1e6:.0f} megapixel limit (possible decompression bomb)"
        )
    return image


def bytes_per_pixel(mode: str) -> int:
    return _BYTES_PER_PIXEL.get(mode, 4)


def estimate_memory(image: Image.Image, layout: JpegLayout | None = None) -> int:
    """Bytes a decode of `image` (as opened, after any draft) needs at least: its pixels as Pillow
    stores them, plus a progressive JPEG's coefficient buffer (kept at full size, whatever the draft)."""
    width, height = image.size
    need = width * height * bytes_per_pixel(image.mode)
    if layout and layout.progressive and layout.components:
        h_max = max(h for h, _ in layout.components) or 1
        v_max = max(v for _, v in layout.components) or 1
        for h, v in layout.components:
            blocks_w = -(-layout.width * max(h, 1) // (8 * h_max))
            blocks_h = -(-layout.height * max(v, 1) // (8 * v_max))
            need += blocks_w * blocks_h * 64 * 2
    if image.format == "TIFF":  # libtiff reads a whole strip or tile before Pillow unpacks it
        tile = image.tile[0] if isinstance(image, ImageFile.ImageFile) and image.tile else None
        rows = min(height, int(getattr(image, "tag_v2", {}).get(278, height) or height))
        if tile is not None:
            need += width * rows * bytes_per_pixel(image.mode)
    return need


def check_memory(image: Image.Image, limits: DecodeLimits, layout: JpegLayout | None = None) -> None:
    if limits.memory_bytes is None:
        return
    need = estimate_memory(image, layout)
    if need > limits.memory_bytes:
        w, h = image.size
        raise RejectedImage(
            f"decoding this {w}x{h} {image.mode} {image.format} image needs at least {_mb(need)}, over the "
            f"{_mb(limits.memory_bytes)} decode memory limit by {_mb(need - limits.memory_bytes)}"
        )


def _finite_range(image: Image.Image) -> tuple[float, float]:
    lo, hi = np.inf, -np.inf
    for band in _bands(image, rows=max(1, 4 * MiB // (4 * image.width))):
        values = np.asarray(band, dtype=np.float32)
        finite = values[np.isfinite(values)]
        if finite.size:
            lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    return (lo, hi) if lo <= hi else (0.0, 0.0)


def _high_depth_to_l(image: Image.Image, value_range: tuple[float, float] | None = None) -> Image.Image:
    # float32, not float64: a 170 KB 16-bit PNG can declare 88 megapixels (2.4 GB as float64)
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float32)
        lo, hi = value_range or _finite_range(image)
        with np.errstate(all="ignore"):
            values = np.where(np.isfinite(values), (values - lo) * np.float32(255.0 / (hi - lo or 1.0)), 0.0)
    else:
        # 16-bit data (stored in mode I or I;16*): scale the full 16-bit range down to 8 bits.
        values = np.asarray(image) // 257
    np.clip(values, 0, 255, out=values)
    return Image.fromarray(values.astype(np.uint8), "L")


def to_rgb(
    image: Image.Image,
    background: tuple[int, int, int] = (255, 255, 255),
    value_range: tuple[float, float] | None = None,
) -> Image.Image:
    """Any Pillow mode to RGB; transparency is flattened onto a white background."""
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _HIGH_DEPTH_MODES:
        return _high_depth_to_l(image, value_range).convert("RGB")
    if image.mode in _TRANSPARENT_MODES:
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def _bands(image: Image.Image, rows: int) -> Iterator[Image.Image]:
    for top in range(0, image.height, rows):
        yield image.crop((0, top, image.width, min(image.height, top + rows)))


def reduce_to_rgb(image: Image.Image, factor: int) -> Image.Image:
    """RGB of `image` box-averaged by `factor`, converted a band of rows at a time: a palette,
    alpha or 16-bit picture is never expanded at full size (a 9400x9400 PA TIFF of 271 KB
    otherwise needs 1.2 GB). The result is what `to_rgb(image).reduce(factor)` gives."""
    if factor < 2:
        return to_rgb(image)
    if image.mode in _REDUCIBLE_MODES:  # Pillow averages these itself, before any colour conversion
        return to_rgb(image.reduce(factor))
    value_range = _finite_range(image) if image.mode == "F" else None
    rows = factor * max(1, (8 * MiB) // (4 * image.width * factor))  # ~8 MB of RGBA per band
    out = Image.new("RGB", (-(-image.width // factor), -(-image.height // factor)))
    for number, band in enumerate(_bands(image, rows)):
        if image.info.get("transparency") is not None:
            band.info["transparency"] = image.info["transparency"]
        out.paste(to_rgb(band, value_range=value_range).reduce(factor), (0, number * rows // factor))
    return out


def decode_image(
    data: ImageData,
    target_size: tuple[int, int] = (224, 224),
    limits: DecodeLimits = DecodeLimits(),
    use_draft: bool = True,
) -> DecodedImage:
    """Decode `data` to RGB, reducing large JPEGs while decoding (draft mode) when that cannot hurt.

    `target_size` is the model's input size; the result is at least twice that on each side
    (when the original is), so the final resize still averages over real pixels. This runs in
    the calling process with no time or memory bound: `spotter.ingest.decode_sandbox.BudgetedDecoder` bounds it.
    """
    started = time.perf_counter()
    check_size(len(data), limits)
    counted, layout = _prechecked(data, limits)
    source = _file(data)
    try:
        return _decode(data, source, started, counted, layout, target_size, limits, use_draft)
    finally:
        if not isinstance(data, bytes):
            source.close()  # lets go of the mapping: nothing decoded reads from it any more


def _decode(
    data: ImageData,
    source: BinaryIO,
    started: float,
    counted: int | None,
    layout: JpegLayout | None,
    target_size: tuple[int, int],
    limits: DecodeLimits,
    use_draft: bool,
) -> DecodedImage:
    image = _open(data, source, limits)
    layout = layout if image.format in ("JPEG", "MPO") else None
    try:
        frames = counted if counted and image.format in ("TIFF", "GIF") else getattr(image, "n_frames", 1)
        if frames > limits.max_frames:  # a count other formats declare (APNG acTL, WebP, MPO index): never walked
            raise RejectedImage(
                f"{image.format} declares {frames:,} frames, over the {limits.max_frames:,}-frame "
                f"limit by {frames - limits.max_frames:,}"
            )
        field = read_field_metadata(image)
        orientation = image.getexif().get(0x0112)
        width, height = image.size
        if use_draft and image.format in ("JPEG", "MPO"):
            side = 2 * max(target_size)
            if min(width, height) > 2 * side:
                image.draft("RGB", (side, side))
        check_memory(image, limits, layout)
        image.load()
        factor = min(image.size) // (2 * max(target_size)) if use_draft else 1
        rgb = reduce_to_rgb(image, factor)
        if orientation in _ORIENTATION:  # after the reduction: rotating the full picture doubles the peak
            rgb = rgb.transpose(_ORIENTATION[orientation])
            if orientation >= 5:
                width, height = height, width
        rgb.load()
    except RejectedImage:
        raise
    except MemoryError:
        raise
    except Exception as exc:
        detail = f" ({tiff_layout(data)})" if image.format == "TIFF" else ""
        raise RejectedImage(f"corrupt or truncated {image.format} image{detail}: {exc}") from None
    return DecodedImage(
        image=rgb,
        width=width,
        height=height,
        format=image.format or "",  # an opened file always has one
        frames=frames,
        field=field,
        decode_ms=(time.perf_counter() - started) * 1000.0,
    )
