"""Decode untrusted image bytes into an RGB picture, quickly and safely.

Every failure becomes `RejectedImage` with a reason a person can act on.
"""

from __future__ import annotations

import io
import time
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import RejectedImage
from .exif import FieldMetadata, read_field_metadata

SUPPORTED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"}
_TRANSPARENT_MODES = {"LA", "La", "RGBA", "RGBa", "PA"}
_HIGH_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_REDUCIBLE_MODES = {"L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "I", "F"}  # not P, PA, 1


@dataclass(frozen=True)
class DecodeLimits:
    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 89_000_000  # the worst real bombs under it peak at ~800 MB (tests/hostile.py)


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, possibly reduced by draft() but never below 2x the target size
    width: int  # of the original, after EXIF orientation
    height: int
    format: str
    frames: int
    field: FieldMetadata
    decode_ms: float


def _describe_unknown(data: bytes) -> str:
    head = data[:512].lstrip()
    if head[:4] == b"<svg" or (head[:5] == b"<?xml" and b"<svg" in data[:4096]):
        return "SVG is a vector format and is not supported: upload a raster image (JPEG, PNG, WebP)"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc", b"ftypmsf1"):
        return "HEIC/HEIF images are not supported: export the photo as JPEG"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "AVIF images are not supported: export the photo as JPEG or PNG"
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


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def check_size(size: int, limits: DecodeLimits) -> None:
    if size == 0:
        raise RejectedImage("empty file (0 bytes)")
    if size > limits.max_bytes:
        raise RejectedImage(f"file is {_mb(size)}, over the {_mb(limits.max_bytes)} limit")


def _open(data: bytes, limits: DecodeLimits) -> Image.Image:
    # Pillow's own bomb check reads a global (it warns above it, refuses above twice it): keep it in
    # step with `limits`, so the check below, which names the size, is the one that decides.
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise RejectedImage(
            f"declared image size is over the {limits.max_pixels / 1e6:.0f} megapixel limit "
            "(possible decompression bomb)"
        ) from None
    except UnidentifiedImageError:
        raise RejectedImage(_describe_unknown(data)) from None
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


def _high_depth_to_l(image: Image.Image) -> Image.Image:
    # float32, not float64: a 170 KB 16-bit PNG can declare 88 megapixels (2.4 GB as float64)
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float32)
        finite = np.isfinite(values)
        lo, hi = (float(values[finite].min()), float(values[finite].max())) if finite.any() else (0.0, 0.0)
        with np.errstate(all="ignore"):
            values = np.where(finite, (values - lo) * np.float32(255.0 / (hi - lo or 1.0)), 0.0)
    else:
        # 16-bit data (stored in mode I or I;16*): scale the full 16-bit range down to 8 bits.
        values = np.asarray(image) // 257
    np.clip(values, 0, 255, out=values)
    return Image.fromarray(values.astype(np.uint8), "L")


def _reduced(image: Image.Image, target_size: tuple[int, int]) -> Image.Image:
    """Box-average a big picture by an integer factor, never below twice the target, before any
    colour conversion: an 88-megapixel LA PNG of 170 KB otherwise needs ~1.5 GB to flatten."""
    factor = min(image.size) // (2 * max(target_size))
    if factor < 2:
        return image
    if image.mode.startswith("I;16"):  # cannot be reduced: to 8 bits first
        image = _high_depth_to_l(image)
    return image.reduce(factor) if image.mode in _REDUCIBLE_MODES else image


def to_rgb(image: Image.Image, background=(255, 255, 255)) -> Image.Image:
    """Any Pillow mode to RGB; transparency is flattened onto a white background."""
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _HIGH_DEPTH_MODES:
        return _high_depth_to_l(image).convert("RGB")
    if image.mode in _TRANSPARENT_MODES:
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def decode_image(
    data: bytes,
    target_size: tuple[int, int] = (224, 224),
    limits: DecodeLimits = DecodeLimits(),
    use_draft: bool = True,
) -> DecodedImage:
    """Decode `data` to RGB, reducing large JPEGs while decoding (draft mode) when that cannot hurt.

    `target_size` is the model's input size; the result is at least twice that on each side
    (when the original is), so the final resize still averages over real pixels.
    """
    started = time.perf_counter()
    check_size(len(data), limits)
    image = _open(data, limits)
    try:
        frames = getattr(image, "n_frames", 1)
        field = read_field_metadata(image)
        width, height = image.size
        if use_draft and image.format == "JPEG":
            side = 2 * max(target_size)
            if min(width, height) > 2 * side:
                image.draft("RGB", (side, side))
        image.load()
        before = image.size
        ImageOps.exif_transpose(image, in_place=True)  # not a copy: that would double the memory
        if image.size != before:
            width, height = height, width
        rgb = to_rgb(_reduced(image, target_size) if use_draft else image)
        rgb.load()
    except RejectedImage:
        raise
    except MemoryError:
        raise
    except Exception as exc:
        raise RejectedImage(f"corrupt or truncated {image.format} image: {exc}") from None
    return DecodedImage(
        image=rgb,
        width=width,
        height=height,
        format=image.format,
        frames=frames,
        field=field,
        decode_ms=(time.perf_counter() - started) * 1000.0,
    )
