"""Generated test images: good pictures in every mode, and a corpus of bad files."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 40), (30, 40, 220)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def solid(colour=RED, size=(64, 48), mode="RGB") -> Image.Image:
    return Image.new("RGB", size, colour).convert(mode) if mode != "RGB" else Image.new("RGB", size, colour)


def photo_like(size=(640, 480), seed=0, tint=RED) -> Image.Image:
    """Smooth colour field plus noise: compresses like a photo, dominated by `tint`."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.asarray(tint, np.float32)[None, None, :]
    wave = 25 * np.sin(xx / 37.0)[..., None] + 25 * np.cos(yy / 23.0)[..., None]
    pixels = base + wave + rng.normal(0, 12, (h, w, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def jpeg(colour=RED, size=(64, 48), **options) -> bytes:
    return encode(solid(colour, size), "JPEG", quality=90, **options)


def png(colour=RED, size=(64, 48)) -> bytes:
    return encode(solid(colour, size), "PNG")


def cmyk_jpeg(colour=RED) -> bytes:
    return encode(solid(colour).convert("CMYK"), "JPEG", quality=95)


def png_16bit_grey(level=0.8) -> bytes:
    pixels = np.full((40, 60), int(level * 65535), dtype=np.uint16)
    return encode(Image.fromarray(pixels), "PNG")


def rgba_png(colour=RED, alpha=255) -> bytes:
    return encode(Image.new("RGBA", (50, 50), (*colour, alpha)), "PNG")


def palette_png_with_transparency(colour=RED) -> bytes:
    image = Image.new("RGB", (50, 50), colour).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    return encode(image, "PNG", transparency=255)


def animated_gif(first=RED, second=BLUE) -> bytes:
    frames = [Image.new("RGB", (40, 40), first), Image.new("RGB", (40, 40), second)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def exif_rotated_jpeg(colour=RED, size=(80, 40), orientation=6) -> bytes:
    """A landscape-stored JPEG whose EXIF says to rotate it 90 degrees (portrait when shown)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(solid(colour, size), "JPEG", exif=exif.tobytes())


def jpeg_with_field_data(colour=GREEN, taken="2026:05:04 10:30:15", offset: str | None = "+02:00") -> bytes:
    """A JPEG with EXIF capture time, GPS position (48.8584 N, 2.2945 E, 35 m) and camera."""
    exif = Image.Exif()
    exif[0x010F] = "DJI"
    exif[0x0110] = "FC3411"
    exif.get_ifd(0x8769)[0x9003] = taken
    if offset is not None:
        exif.get_ifd(0x8769)[0x9011] = offset
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 30.24)
    gps[3], gps[4] = "E", (2.0, 17.0, 40.2)
    gps[5], gps[6] = b"\x00", 35.0
    return encode(solid(colour), "JPEG", exif=exif.tobytes())


def png_bomb(width=40000, height=40000) -> bytes:
    """A tiny PNG whose header declares a huge image (a decompression bomb's calling card)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: max(1, int(len(data) * keep))]


# name -> (bytes, expected status, a word the rejection reason must contain)
def bad_and_odd_files() -> dict[str, tuple[bytes, str, str | None]]:
    big_jpeg = encode(photo_like((320, 240)), "JPEG", quality=85)
    big_png = encode(photo_like((320, 240)), "PNG")
    return {
        "empty.jpg": (b"", "rejected", "empty"),
        "notes.jpg": (b"These are field notes, not a photo.\n" * 5, "rejected", "text"),
        "truncated.jpg": (truncated(big_jpeg, 0.4), "rejected", "truncated"),
        "truncated.png": (truncated(big_png, 0.4), "rejected", "truncated"),
        "bomb.png": (png_bomb(), "rejected", "megapixel"),
        "cmyk.jpg": (cmyk_jpeg(RED), "ok", None),
        "grey16.png": (png_16bit_grey(), "ok", None),
        "rgba.png": (rgba_png(RED), "ok", None),
        "palette.png": (palette_png_with_transparency(RED), "ok", None),
        "animated.gif": (animated_gif(RED, BLUE), "ok", None),
        "rotated.jpg": (exif_rotated_jpeg(RED), "ok", None),
    }
