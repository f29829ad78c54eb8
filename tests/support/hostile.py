"""Hostile uploads, generated in code (no binary corpus): what a careless or malicious client can send.

`catalogue()` is a fixed list of kinds (each a name, the bytes, and the outcome it must end as);
`mutations()` adds seeded random damage to valid files; `hostile_keys()` names objects the way
only a hostile client would. Used by tests/integration/test_hostile.py (fast) and tests/support/stress.py (`make stress`).
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from images import BLUE, GREEN, RED, animated_gif, encode, photo_like, png_bomb, solid
from PIL import Image

OK, REJECTED, EITHER = "ok", "rejected", "either"


@dataclass(frozen=True)
class Case:
    kind: str  # what was tried, as it appears in the summary table
    name: str  # the file name it is uploaded as (its extension may lie)
    data: bytes
    expect: str  # OK, REJECTED or EITHER (random damage may leave a decodable image)
    reason_word: str | None = None  # a word a rejection's reason must contain
    group: str = "format"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_raw(width: int, height: int, rows: bytes, bit_depth=8, colour_type=0) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")
    )


def png_zeros(width: int, height: int, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    """A real PNG of zeros of any size, streamed through zlib (never held decoded in memory)."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = b"\x00" * (width * channels * bit_depth // 8 + 1)
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)] + [compressor.flush()]
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


def big_bombs() -> list[Case]:
    """Real decompression bombs just under Pillow's 89.5-megapixel ceiling: files of a few hundred
    KB that inflate to hundreds of MB. Slow (seconds each): for `make stress`, not `make test`."""
    side = 9400  # 88.4 megapixels
    tiff_f = io.BytesIO()
    Image.new("F", (side, side)).save(tiff_f, "TIFF", compression="tiff_deflate")
    return [
        Case("real bomb: 16-bit grey PNG 9400x9400", "bomb-grey16.png", png_zeros(side, side, 16, 0), OK, None, "bomb"),
        Case("real bomb: LA PNG 9400x9400", "bomb-la.png", png_zeros(side, side, 8, 4), OK, None, "bomb"),
        Case("real bomb: RGBA PNG 9400x9400", "bomb-rgba.png", png_zeros(side, side, 8, 6), OK, None, "bomb"),
        Case("real bomb: RGBA PNG 800x111000", "bomb-tall.png", png_zeros(800, 111_000, 8, 6), EITHER, None, "bomb"),
        Case("real bomb: float TIFF 9400x9400", "bomb-float.tif", tiff_f.getvalue(), OK, None, "bomb"),
        Case("real bomb: 1x89000000 grey PNG", "bomb-line.png", png_zeros(89_000_000, 1, 8, 0), EITHER, None, "bomb"),
    ]


# ---- traps against the decode budget (issue 13): each generated, none stored ------------------------


def tiff_pages(pages: int, width: int = 1, height: int = 1) -> bytes:
    """A TIFF of `pages` tiny grey pages sharing one strip: 114 bytes a page (200,000 pages = 23 MB).
    Pillow's `n_frames` walks the page list in time that grows with the square of its length."""
    strip_at = 8
    ifd_at = strip_at + width * height + (width * height) % 2
    entry_count, size = 9, 2 + 9 * 12 + 4
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_at) + b"\x80" * (ifd_at - strip_at))
    for page in range(pages):
        at = ifd_at + page * size
        following = at + size if page + 1 < pages else 0
        entries = [
            (256, 4, width),
            (257, 4, height),
            (258, 3, 8),
            (259, 3, 1),
            (262, 3, 1),
            (273, 4, strip_at),
            (277, 3, 1),
            (278, 4, height),
            (279, 4, width * height),
        ]
        out += struct.pack("<H", entry_count)
        for tag, kind, value in entries:
            out += (
                struct.pack("<HHII", tag, kind, 1, value)
                if kind == 4
                else struct.pack("<HHIHH", tag, kind, 1, value, 0)
            )
        out += struct.pack("<I", following)
    return bytes(out)


def tiff_samples(
    bits: int,
    sample_format: int,
    samples: int = 1,
    size=(16, 12),
    photometric: int | None = None,
    value: bytes | None = None,
) -> bytes:
    """An uncompressed TIFF with any sample layout: 16/32/64-bit, unsigned/signed/float (SampleFormat
    1/2/3), 1 or 3 samples a pixel. Cameras and GIS tools write these; Pillow reads only some."""
    width, height = size
    pixel = value if value is not None else (b"\x40" * (bits // 8))
    strip = pixel * samples * width * height
    photometric = photometric if photometric is not None else (2 if samples >= 3 else 1)
    entries = [
        (256, 4, [width]),
        (257, 4, [height]),
        (258, 3, [bits] * samples),
        (259, 3, [1]),
        (262, 3, [photometric]),
        (273, 4, [0]),
        (277, 3, [samples]),
        (278, 4, [height]),
        (279, 4, [len(strip)]),
        (284, 3, [1]),
        (339, 3, [sample_format] * samples),
    ]
    ifd_at = 8
    extra_at = ifd_at + 2 + 12 * len(entries) + 4
    extra, body = bytearray(), bytearray(struct.pack("<H", len(entries)))
    strip_at = extra_at + sum(2 * len(v) for _, k, v in entries if k == 3 and len(v) > 2)
    for tag, kind, values in entries:
        values = [strip_at] if tag == 273 else values
        if kind == 3 and len(values) > 2:
            body += struct.pack("<HHII", tag, kind, len(values), extra_at + len(extra))
            extra += struct.pack(f"<{len(values)}H", *values)
        elif kind == 3:
            body += struct.pack("<HHI", tag, kind, len(values)) + struct.pack("<2H", *([*values, 0])[:2])
        else:
            body += struct.pack("<HHII", tag, kind, 1, values[0])
    body += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", ifd_at) + bytes(body) + bytes(extra) + strip


def jpeg_repeated_scan(repeats: int, size=(64, 48)) -> bytes:
    """A progressive JPEG whose last refinement scan is repeated `repeats` times (libjpeg decodes
    every one: tens of thousands take from seconds to minutes)."""
    data = encode(photo_like(size, seed=4), "JPEG", quality=80, progressive=True)
    last = data.rindex(b"\xff\xda")
    scan = data[last:-2]
    return data[:last] + scan * repeats + b"\xff\xd9"


def png_palette_zeros(width: int, height: int, transparent: bool = True) -> bytes:
    """A P-mode PNG of zeros (with a tRNS chunk: transparency), streamed like `png_zeros`."""
    row = b"\x00" * (width + 1)
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)] + [compressor.flush()]
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"PLTE", b"\xff\x00\x00" * 2)
        + (_chunk(b"tRNS", b"\x80\xff") if transparent else b"")
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def pa_tiff(side: int) -> bytes:
    """A palette-with-alpha TIFF of side x side (deflate: 271 KB at 9400x9400)."""
    out = io.BytesIO()
    Image.new("PA", (side, side)).save(out, "TIFF", compression="tiff_deflate")
    return out.getvalue()


def mpo(first=RED, second=BLUE, size=(64, 48)) -> bytes:
    """A phone's MPO: a JPEG with a second picture inside (MP index in APP2)."""
    return encode(solid(first, size), "MPO", save_all=True, append_images=[solid(second, size)])


def rotated(data_image: Image.Image, fmt: str, orientation: int = 6, **options) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(data_image, fmt, exif=exif.tobytes(), **options)


def budget_cases() -> list[Case]:
    """Small forms of the issue-13 traps (fast enough for `make test`); `budget_bombs()` has full-size ones."""
    jpg = encode(solid(RED, (64, 48)), "JPEG", quality=90)
    return [
        Case("TIFF of 20,000 one-pixel pages", "pages-20000.tif", tiff_pages(20_000), REJECTED, "pages", "budget"),
        Case("TIFF of 500 one-pixel pages", "pages-500.tif", tiff_pages(500), OK, None, "budget"),
        Case(
            "progressive JPEG, last scan repeated 5,000 times",
            "scans.jpg",
            jpeg_repeated_scan(5000),
            REJECTED,
            "scans",
            "budget",
        ),
        Case("MPO (two pictures)", "phone.mpo.jpg", mpo(), OK, None, "budget"),
        Case(
            "JPEG with a second JPEG appended",
            "twice.jpg",
            jpg + encode(solid(BLUE, (64, 48)), "JPEG"),
            OK,
            None,
            "budget",
        ),
        Case(
            "JPEG with an MP4 trailer (motion photo)",
            "motion.jpg",
            jpg + b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4000,
            OK,
            None,
            "budget",
        ),
        Case(
            "P PNG with transparency 3000x3000", "palette-alpha.png", png_palette_zeros(3000, 3000), OK, None, "budget"
        ),
        Case("PA TIFF 3000x3000", "pa.tif", pa_tiff(3000), OK, None, "budget"),
        Case(
            "RGBA PNG 3000x3000 rotated by EXIF",
            "rotated-rgba.png",
            rotated(Image.new("RGBA", (3000, 3000), (200, 0, 0, 128)), "PNG"),
            OK,
            None,
            "budget",
        ),
        Case(
            "CMYK progressive JPEG 3000x2000",
            "cmyk-progressive.jpg",
            encode(Image.new("CMYK", (3000, 2000), (0, 200, 200, 0)), "JPEG", progressive=True, quality=80),
            OK,
            None,
            "budget",
        ),
        Case(
            "float32 grey TIFF",
            "float32.tif",
            tiff_samples(32, 3, value=struct.pack("<f", 0.5)),
            OK,
            None,
            "float TIFF",
        ),
        Case("float64 grey TIFF", "float64.tif", tiff_samples(64, 3), REJECTED, "64-bit floating-point", "float TIFF"),
        Case("float16 grey TIFF", "float16.tif", tiff_samples(16, 3), EITHER, None, "float TIFF"),
        Case("float32 RGB TIFF", "float32-rgb.tif", tiff_samples(32, 3, samples=3), EITHER, None, "float TIFF"),
        Case("32-bit signed grey TIFF", "int32.tif", tiff_samples(32, 2), OK, None, "float TIFF"),
        Case("32-bit unsigned grey TIFF", "uint32.tif", tiff_samples(32, 1), EITHER, None, "float TIFF"),
        Case("16-bit RGB TIFF", "rgb16.tif", tiff_samples(16, 1, samples=3), OK, None, "float TIFF"),
        Case("16-bit signed grey TIFF", "int16.tif", tiff_samples(16, 2), EITHER, None, "float TIFF"),
    ]


def budget_bombs() -> list[Case]:
    """The issue's traps at full size (slow to make and to decode: `make stress` only)."""
    return [
        Case(
            "TIFF of 200,000 one-pixel pages (23 MB)",
            "pages-200000.tif",
            tiff_pages(200_000),
            REJECTED,
            "pages",
            "budget",
        ),
        Case(
            "progressive JPEG, last scan repeated 40,000 times",
            "scans-40000.jpg",
            jpeg_repeated_scan(40_000),
            REJECTED,
            "scans",
            "budget",
        ),
        Case("PA TIFF 9400x9400 (271 KB)", "bomb-pa.tif", pa_tiff(9400), EITHER, None, "budget"),
        Case(
            "P PNG with transparency 9400x9400",
            "bomb-palette.png",
            png_palette_zeros(9400, 9400),
            EITHER,
            None,
            "budget",
        ),
        Case(
            "RGBA PNG 9400x9400 rotated by EXIF",
            "bomb-rotated.png",
            rotated(Image.new("RGBA", (9400, 9400)), "PNG", compress_level=9),
            EITHER,
            None,
            "budget",
        ),
        Case(
            "CMYK progressive JPEG 9400x9400",
            "bomb-cmyk.jpg",
            encode(Image.new("CMYK", (9400, 9400)), "JPEG", progressive=True, quality=50),
            EITHER,
            None,
            "budget",
        ),
    ]


def jpeg_bomb(width=65500, height=65500) -> bytes:
    """A small JPEG whose SOF0 marker is patched to declare a huge frame."""
    data = bytearray(encode(solid(RED, (16, 16)), "JPEG"))
    at = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def gif_bomb(width=65535, height=65535) -> bytes:
    data = bytearray(encode(solid(RED, (8, 8)), "GIF"))
    struct.pack_into("<HH", data, 6, width, height)
    return bytes(data)


def tiff_bomb(width=100_000, height=100_000) -> bytes:
    """A TIFF whose IFD declares a 10-gigapixel image backed by a few bytes."""
    data = bytearray(encode(solid(RED, (8, 8)), "TIFF"))
    # little-endian IFD: patch ImageWidth (256) and ImageLength (257), stored as SHORT or LONG
    offset = struct.unpack_from("<I", data, 4)[0]
    count = struct.unpack_from("<H", data, offset)[0]
    for i in range(count):
        entry = offset + 2 + 12 * i
        tag, _kind = struct.unpack_from("<HH", data, entry)
        if tag in (256, 257):
            struct.pack_into("<HHII", data, entry, tag, 4, 1, width if tag == 256 else height)
    return bytes(data)


def webp_bomb(width=16384, height=16384) -> bytes:
    """A lossless WebP header declaring 16384x16384 (268 megapixels) with almost no data."""
    bits = (width - 1) | ((height - 1) << 14)
    payload = b"\x2f" + struct.pack("<I", bits) + b"\x00" * 16
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def bmp_bomb(width=50_000, height=50_000) -> bytes:
    data = bytearray(encode(solid(RED, (4, 4)), "BMP"))
    struct.pack_into("<ii", data, 18, width, height)
    return bytes(data)


def tiff_ifd_loop() -> bytes:
    """A TIFF whose first IFD's next-IFD pointer points back at itself (an endless page list)."""
    data = bytearray(encode(solid(GREEN, (8, 8)), "TIFF"))
    offset = struct.unpack_from("<I", data, 4)[0]
    count = struct.unpack_from("<H", data, offset)[0]
    struct.pack_into("<I", data, offset + 2 + 12 * count, offset)
    return bytes(data)


def heic_header() -> bytes:
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + b"\x00" * 200


def avif_header() -> bytes:
    return struct.pack(">I", 24) + b"ftypavif" + b"\x00\x00\x00\x00avifmif1" + b"\x00" * 200


def svg(prolog: bool = False) -> bytes:
    body = b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>'
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n' + body) if prolog else body


def _mode_image(mode: str, size=(48, 40)) -> Image.Image:
    """A red-dominated picture in `mode` (high-depth modes get a gradient, not a flat field)."""
    if mode == "F":
        return Image.fromarray(np.linspace(0.0, 1.0, size[0] * size[1], dtype=np.float32).reshape(size[1], size[0]))
    if mode in ("I", "I;16"):
        values = np.linspace(0, 65535, size[0] * size[1]).reshape(size[1], size[0])
        return Image.fromarray(values.astype(np.uint16 if mode == "I;16" else np.int32))
    base = solid(RED, size)
    if mode in ("LA", "PA", "RGBA"):
        rgba = base.convert("RGBA")
        rgba.putalpha(200)
        return rgba.convert(mode)
    return base.convert(mode)


# Every Pillow mode, in each format among PNG, JPEG, GIF, WebP, TIFF and BMP that stores it
# as itself (HSV has none: Pillow writes it only by converting, so it is sent as TIFF of its RGB).
MODE_FORMATS = {
    "1": ("PNG", "TIFF", "BMP"),
    "L": ("PNG", "JPEG", "TIFF", "BMP"),
    "LA": ("PNG", "TIFF"),
    "P": ("PNG", "GIF", "TIFF", "BMP"),
    "PA": ("TIFF",),
    "RGB": ("PNG", "JPEG", "GIF", "WEBP", "TIFF", "BMP"),
    "RGBA": ("PNG", "WEBP", "TIFF"),
    "CMYK": ("JPEG", "TIFF"),
    "YCbCr": ("JPEG", "TIFF"),
    "LAB": ("TIFF",),
    "HSV": ("WEBP",),
    "I": ("TIFF",),
    "I;16": ("PNG", "TIFF"),
    "F": ("TIFF",),
}
_EXT = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp", "TIFF": "tif", "BMP": "bmp"}


def mode_cases() -> list[Case]:
    cases = []
    for mode, formats in MODE_FORMATS.items():
        image = _mode_image(mode)
        for fmt in formats:
            options: dict[str, object] = (
                {"quality": 90} if fmt == "JPEG" else {"lossless": True} if fmt == "WEBP" else {}
            )
            if fmt == "TIFF" and mode == "YCbCr":
                options = {"compression": "tiff_deflate"}  # Pillow cannot read back its own raw YCbCr TIFF
            tag = mode.replace(";", "_")
            cases.append(
                Case(
                    f"mode {mode} as {fmt}", f"mode-{tag}.{_EXT[fmt]}", encode(image, fmt, **options), OK, group="mode"
                )
            )
    return cases


def _valid_samples() -> dict[str, bytes]:
    picture = photo_like((96, 72), seed=3)
    return {
        "JPEG": encode(picture, "JPEG", quality=85),
        "progressive JPEG": encode(picture, "JPEG", quality=85, progressive=True),
        "PNG": encode(picture, "PNG"),
        "GIF": encode(picture, "GIF"),
        "WebP": encode(picture, "WEBP", quality=80),
        "TIFF": encode(picture, "TIFF", compression="tiff_deflate"),
        "BMP": encode(picture, "BMP"),
    }


def bit_flipped(data: bytes, flips: int, seed: int, skip_header: int = 0) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(flips):
        at = rng.randrange(min(skip_header, len(out) - 1), len(out))
        out[at] ^= 1 << rng.randrange(8)
    return bytes(out)


def catalogue() -> list[Case]:
    """The fixed list of hostile kinds (about 75), each with the outcome it must end as."""
    samples = _valid_samples()
    jpg, png_, gif, webp = samples["JPEG"], samples["PNG"], samples["GIF"], samples["WebP"]
    cases = [
        # not images at all, under image extensions
        Case("empty file", "empty.jpg", b"", REJECTED, "empty", "not an image"),
        Case("text under .jpg", "notes.jpg", b"field notes, not a photo\n" * 20, REJECTED, "text", "not an image"),
        Case(
            "HTML under .png",
            "page.png",
            b"<!doctype html><html><body>hi</body></html>",
            REJECTED,
            "text",
            "not an image",
        ),
        Case(
            "PDF under .jpg",
            "scan.jpg",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n",
            REJECTED,
            "PDF",
            "not an image",
        ),
        Case("ZIP under .png", "archive.png", b"PK\x03\x04" + b"\x00" * 60, REJECTED, "ZIP", "not an image"),
        Case(
            "ELF binary under .gif",
            "tool.gif",
            b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 2,
            REJECTED,
            "not a recognised",
            "not an image",
        ),
        Case(
            "random bytes under .webp", "noise.webp", random.Random(7).randbytes(4096), REJECTED, None, "not an image"
        ),
        Case("one NUL byte", "nul.png", b"\x00", REJECTED, None, "not an image"),
        Case("HEIC", "IMG_0001.HEIC.jpg", heic_header(), REJECTED, "HEIC", "unsupported"),
        Case("AVIF header", "photo.avif", avif_header(), REJECTED, "AVIF", "unsupported"),
        Case("SVG", "logo.svg", svg(), REJECTED, "SVG", "unsupported"),
        Case("SVG with XML prolog under .png", "logo.png", svg(prolog=True), REJECTED, "SVG", "unsupported"),
        Case("ICO", "favicon.ico", encode(solid(RED, (32, 32)), "ICO"), REJECTED, "not supported", "unsupported"),
        Case("PPM", "frame.ppm", encode(solid(RED, (32, 32)), "PPM"), REJECTED, "not supported", "unsupported"),
        Case(
            "EPS (never rendered)",
            "figure.jpg",
            b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n%%EOF\n",
            REJECTED,
            None,
            "unsupported",
        ),
        # damaged files of each supported format
        Case("JPEG: SOI only", "soi.jpg", b"\xff\xd8", REJECTED, None, "damaged"),
        Case("JPEG: first 20 bytes", "head.jpg", jpg[:20], REJECTED, None, "damaged"),
        Case("JPEG: truncated at 40%", "cut.jpg", jpg[: int(len(jpg) * 0.4)], REJECTED, "truncated", "damaged"),
        Case(
            "progressive JPEG: truncated at 40%",
            "cut-progressive.jpg",
            samples["progressive JPEG"][: int(len(samples["progressive JPEG"]) * 0.4)],
            REJECTED,
            "truncated",
            "damaged",
        ),
        Case("JPEG: 64 bit flips", "flipped.jpg", bit_flipped(jpg, 64, 1, skip_header=200), EITHER, None, "damaged"),
        Case("PNG: header only", "head.png", png_[:33], REJECTED, None, "damaged"),
        Case("PNG: truncated at 40%", "cut.png", png_[: int(len(png_) * 0.4)], REJECTED, "truncated", "damaged"),
        Case("PNG: bad IHDR CRC", "crc.png", png_[:29] + b"\xde\xad\xbe\xef" + png_[33:], REJECTED, None, "damaged"),
        Case(
            "PNG: 16 bit flips in IDAT",
            "flipped.png",
            bit_flipped(png_, 16, 2, skip_header=60),
            EITHER,
            None,
            "damaged",
        ),
        Case("PNG: 0x0 IHDR", "zero.png", _png_raw(0, 0, b""), REJECTED, None, "damaged"),
        Case("GIF: truncated at 40%", "cut.gif", gif[: int(len(gif) * 0.4)], EITHER, None, "damaged"),
        Case("GIF: header only", "head.gif", gif[:13], REJECTED, None, "damaged"),
        Case("GIF: 32 bit flips", "flipped.gif", bit_flipped(gif, 32, 3, skip_header=800), EITHER, None, "damaged"),
        Case("WebP: truncated at 40%", "cut.webp", webp[: int(len(webp) * 0.4)], REJECTED, None, "damaged"),
        Case("WebP: 16 bit flips", "flipped.webp", bit_flipped(webp, 16, 4, skip_header=30), EITHER, None, "damaged"),
        Case(
            "TIFF: truncated at 40%",
            "cut.tif",
            samples["TIFF"][: int(len(samples["TIFF"]) * 0.4)],
            REJECTED,
            None,
            "damaged",
        ),
        Case("TIFF: IFD pointing at itself", "loop.tif", tiff_ifd_loop(), EITHER, None, "damaged"),
        Case(
            "BMP: truncated at 40%",
            "cut.bmp",
            samples["BMP"][: int(len(samples["BMP"]) * 0.4)],
            REJECTED,
            None,
            "damaged",
        ),
        # decompression bombs: a huge declared size in a tiny file, and real ones that inflate
        Case("PNG bomb: declares 40000x40000", "bomb.png", png_bomb(), REJECTED, "megapixel", "bomb"),
        Case("JPEG bomb: declares 65500x65500", "bomb.jpg", jpeg_bomb(), REJECTED, "megapixel", "bomb"),
        Case("GIF bomb: declares 65535x65535", "bomb.gif", gif_bomb(), REJECTED, "megapixel", "bomb"),
        Case("TIFF bomb: declares 100000x100000", "bomb.tif", tiff_bomb(), REJECTED, "megapixel", "bomb"),
        Case("WebP bomb: declares 16384x16384", "bomb.webp", webp_bomb(), REJECTED, None, "bomb"),
        Case("BMP bomb: declares 50000x50000", "bomb.bmp", bmp_bomb(), REJECTED, "megapixel", "bomb"),
        Case("PNG zlib bomb: 6000x6000 of zeros (~35 KB)", "inflate.png", png_zeros(6000, 6000), OK, None, "bomb"),
        # shapes
        Case("1x1 PNG", "dot.png", encode(solid(RED, (1, 1)), "PNG"), OK, None, "shape"),
        Case("1x1 JPEG", "dot.jpg", encode(solid(RED, (1, 1)), "JPEG"), OK, None, "shape"),
        Case("1x20000 PNG", "tall.png", encode(solid(RED, (1, 20000)), "PNG"), OK, None, "shape"),
        Case("20000x1 PNG", "wide.png", encode(solid(RED, (20000, 1)), "PNG"), OK, None, "shape"),
        Case("20000x1 JPEG", "wide.jpg", encode(solid(RED, (20000, 1)), "JPEG"), OK, None, "shape"),
        Case("interlaced PNG", "interlaced.png", encode(photo_like((64, 48)), "PNG", interlace=1), OK, None, "shape"),
        # multi-frame files
        Case(
            "multi-frame TIFF (3 pages)",
            "pages.tif",
            encode(
                solid(RED, (40, 30)),
                "TIFF",
                save_all=True,
                append_images=[solid(GREEN, (40, 30)), solid(BLUE, (40, 30))],
            ),
            OK,
            None,
            "frames",
        ),
        Case("animated GIF", "anim.gif", animated_gif(RED, BLUE), OK, None, "frames"),
        Case("animated GIF, 300 frames", "long.gif", _many_frame_gif(300), OK, None, "frames"),
        Case(
            "animated WebP",
            "anim.webp",
            encode(solid(RED, (40, 40)), "WEBP", save_all=True, append_images=[solid(BLUE, (40, 40))], duration=100),
            OK,
            None,
            "frames",
        ),
        Case(
            "APNG",
            "anim.png",
            encode(solid(RED, (40, 40)), "PNG", save_all=True, append_images=[solid(BLUE, (40, 40))], duration=100),
            OK,
            None,
            "frames",
        ),
        # metadata a camera or an attacker can write
        Case("EXIF orientation 9 (invalid)", "orient9.jpg", _jpeg_with_exif({0x0112: 9}), OK, None, "metadata"),
        Case("EXIF GPS with zero denominators", "gps-zero.jpg", _jpeg_with_zero_gps(), OK, None, "metadata"),
        Case(
            "EXIF block of garbage",
            "exif-garbage.jpg",
            encode(solid(RED), "JPEG", exif=b"Exif\x00\x00" + random.Random(5).randbytes(400)),
            OK,
            None,
            "metadata",
        ),
        Case(
            "EXIF camera name of 300 KB (PNG eXIf)", "long-make.png", _png_with_long_make(300_000), OK, None, "metadata"
        ),
        Case(
            "YCbCr TIFF, uncompressed",
            "ycbcr-raw.tif",
            encode(solid(RED, (48, 40)).convert("YCbCr"), "TIFF"),
            EITHER,
            None,
            "mode",
        ),
        Case("PNG with a 1 MB zTXt chunk", "ztxt.png", _png_with_big_text(), EITHER, None, "metadata"),
    ]
    return cases + mode_cases() + budget_cases()


def _many_frame_gif(frames: int) -> bytes:
    images = [solid((200, 20 + i % 50, 20), (16, 16)) for i in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=20)


def _jpeg_with_exif(tags: dict) -> bytes:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[tag] = value
    return encode(solid(RED, (60, 40)), "JPEG", exif=exif.tobytes())


def _jpeg_with_zero_gps() -> bytes:
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    zero = IFDRational(0, 0)
    gps[1], gps[2] = "N", (zero, zero, zero)
    gps[3], gps[4] = "E", (zero, zero, zero)
    gps[5], gps[6] = b"\x00", zero
    return encode(solid(RED, (60, 40)), "JPEG", exif=exif.tobytes())


def _png_with_long_make(length: int) -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "M" * length, "X"
    return encode(solid(RED, (48, 40)), "PNG", exif=exif.tobytes())


def _png_with_big_text() -> bytes:
    base = encode(solid(RED, (32, 32)), "PNG")
    text = b"comment\x00\x00" + zlib.compress(b"A" * (1 << 20))
    return base[:33] + _chunk(b"zTXt", text) + base[33:]


def mutations(count: int, seed: int = 0) -> list[Case]:
    """Seeded random damage to valid files of every supported format: bit flips, byte
    overwrites, truncations, chunk duplication and splices. Any outcome is allowed; a crash,
    a hang or a missing record is not."""
    rng = random.Random(seed)
    samples = _valid_samples()
    cases = []
    for n in range(count):
        fmt = rng.choice(sorted(samples))
        data = bytearray(samples[fmt])
        how = rng.choice(["flip", "bytes", "truncate", "duplicate", "splice", "zero-run"])
        if how == "flip":
            data = bytearray(bit_flipped(bytes(data), rng.randint(1, 64), rng.randrange(1 << 30)))
        elif how == "bytes":
            for _ in range(rng.randint(1, 16)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif how == "truncate":
            data = data[: rng.randrange(1, len(data))]
        elif how == "duplicate":
            a = rng.randrange(len(data))
            b = min(len(data), a + rng.randint(1, 512))
            data[a:a] = data[a:b]
        elif how == "splice":
            other = samples[rng.choice(sorted(samples))]
            a = rng.randrange(len(data))
            data = data[:a] + other[rng.randrange(len(other)) :]
        else:
            a = rng.randrange(len(data))
            data[a : a + rng.randint(1, 256)] = b"\x00" * rng.randint(1, 256)
        tag = fmt.lower().replace(" ", "-")
        cases.append(
            Case(
                f"random {how}: {fmt}",
                f"mut-{n:04d}-{tag}-{how}.{_EXT.get(fmt.split()[-1], 'jpg')}",
                bytes(data),
                EITHER,
                None,
                f"mutation: {how}",
            )
        )
    return cases


def hostile_keys(prefix: str) -> list[tuple[str, str]]:
    """(kind, key) for object names a hostile or careless client can choose; each holds a good JPEG."""
    long_ascii = "n" * (1000 - len(prefix) - 4) + ".jpg"
    long_unicode = "é" * ((1000 - len(prefix) - 4) // 2) + ".jpg"  # 2 bytes each in UTF-8
    return [
        ("key with spaces", f"{prefix}flight 7/IMG 0001.jpg"),
        ("key with +", f"{prefix}a+b/c+d.jpg"),
        ("key with %", f"{prefix}100%25/odd%20name%2F.jpg"),
        ("key with unicode", f"{prefix}été/写真 ünï.jpg"),
        ("key with emoji", f"{prefix}🛸/🐦.jpg"),
        ("key with ../", f"{prefix}../../etc/passwd.jpg"),
        ("key with ? # & = ;", f"{prefix}q?a=1&b=2#frag;x.jpg"),
        ("key with backslash and quotes", f"{prefix}dir\\'quoted\" name.jpg"),
        ("key with a tab", f"{prefix}tab\there.jpg"),
        # (a key with a newline is valid in S3 but moto's server cannot route it: 404 on PUT)
        ("key of 1,000 bytes (ASCII)", f"{prefix}{long_ascii}"),
        ("key of ~1,000 bytes (2-byte UTF-8)", f"{prefix}{long_unicode}"),
    ]


def good_jpeg(colour=GREEN) -> bytes:
    return encode(solid(colour, (64, 48)), "JPEG", quality=90)


# ---- talking to a running local stack (`spotter up`) -------------------------------------------


def drain_output(process, keep: int = 200):
    """Read a `spotter up` subprocess's piped output as it comes, keeping the last `keep` lines.
    conftest.start_local_stack pipes it; left unread, the pipe fills after a few hundred
    requests' worth of logs and the whole stack blocks on its next log line."""
    import collections
    import threading

    tail: collections.deque[str] = collections.deque(maxlen=keep)
    if process.stdout is not None:  # nothing to do where the output goes to a file
        threading.Thread(target=lambda: tail.extend(process.stdout), name="drain-spotter-up", daemon=True).start()
    return tail


def clients(endpoints: dict):
    """An S3 client and the predictions table of a local stack (moto takes any credentials)."""
    import boto3
    from botocore.config import Config

    options = {
        "endpoint_url": endpoints["s3"],
        "region_name": endpoints.get("region", "us-east-1"),
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
    }
    s3 = boto3.client("s3", config=Config(retries={"max_attempts": 5}, max_pool_connections=8), **options)
    table = boto3.resource("dynamodb", **options).Table(endpoints["table"])
    sqs = boto3.client("sqs", **options)
    return s3, table, sqs


def upload_all(s3, bucket: str, objects: list[tuple[str, bytes]], workers: int = 4) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda item: s3.put_object(Bucket=bucket, Key=item[0], Body=item[1]), objects))


def records_under(table, prefix: str) -> dict[str, list[dict]]:
    """key -> its records, for every record whose key starts with `prefix`."""
    from boto3.dynamodb.conditions import Attr

    found: dict[str, list[dict]] = {}
    kwargs = {"FilterExpression": Attr("key").begins_with(prefix)}
    while True:
        page = table.scan(**kwargs)
        for item in page["Items"]:
            found.setdefault(item["key"], []).append(item)
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def wait_for_records(table, prefix: str, keys: set[str], timeout_s: float, settle_s: float = 1.0):
    """Poll until every key has a record (then `settle_s` more, so late duplicates would show)."""
    import time

    from waiting import wait_until

    wait_until(lambda: records_under(table, prefix), timeout_s, until=lambda found: keys <= set(found), fail=False)
    time.sleep(settle_s)
    return records_under(table, prefix)


def problems_with(case: Case, records: list[dict]) -> list[str]:
    """What is wrong with the records of one upload: none, several, a wrong status, an empty reason."""
    if len(records) != 1:
        return [f"{case.kind}: {len(records)} records (want exactly 1)"]
    record = records[0]
    status, reason = record.get("status"), record.get("reason") or ""
    out = []
    if status not in (OK, REJECTED):
        out.append(f"{case.kind}: status {status!r}")
    if status == REJECTED and not reason.strip():
        out.append(f"{case.kind}: rejected without a reason")
    if status == OK and not record.get("label"):
        out.append(f"{case.kind}: ok without a label")
    if case.expect != EITHER and status != case.expect:
        out.append(f"{case.kind}: {status} ({reason}), want {case.expect}")
    if status == REJECTED and case.reason_word and case.reason_word.lower() not in reason.lower():
        out.append(f"{case.kind}: reason {reason!r} lacks {case.reason_word!r}")
    return out


def dead_letters(sqs, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def presigned_uploads(api: str, cases: list[Case], origin: str | None = None) -> dict[str, Case]:
    """Send `cases` the way the web page does: POST /uploads, then each file to its presigned
    POST form. Returns the stored key -> case (files the API refuses up front are left out)."""
    import requests

    content_types = {
        "jpg": "image/jpeg",
        "png": "image/png",
        "gif": "image/gif",
        "webp": "image/webp",
        "tif": "image/tiff",
        "bmp": "image/bmp",
    }
    types = [content_types.get(c.name.rsplit(".", 1)[-1].lower(), "image/jpeg") for c in cases]
    files: list[dict[str, str | int]] = [
        {"name": c.name, "type": content_type, "size": max(1, len(c.data))} for c, content_type in zip(cases, types)
    ]
    headers = {"Origin": origin} if origin else {}
    response = requests.post(f"{api}/uploads", json={"files": files}, headers=headers, timeout=30)
    response.raise_for_status()
    stored = {}
    for case, content_type, upload in zip(cases, types, response.json()["uploads"]):
        if "error" in upload:
            continue
        posted = requests.post(
            upload["url"], data=upload["fields"], files={"file": (case.name, case.data, content_type)}, timeout=30
        )
        if not case.data and posted.status_code == 400 and "EntityTooSmall" in posted.text:
            continue  # S3 (and the local stack) refuse an empty body under the policy's content-length-range
        if posted.status_code not in (200, 201, 204):
            raise AssertionError(f"presigned POST of {case.kind} answered {posted.status_code}: {posted.text[:300]}")
        stored[upload["key"]] = case
    return stored
