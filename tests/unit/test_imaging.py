"""Decoding untrusted bytes: every mode to RGB, draft for big JPEGs, precise reasons for bad files."""

import images
import numpy as np
import pytest
from PIL import Image

from spotter.errors import RejectedImage
from spotter.ingest.imaging import DecodeLimits, decode_image


def test_every_good_mode_becomes_rgb_with_its_colour():
    cases = {
        "cmyk": images.cmyk_jpeg(images.RED),
        "rgba": images.rgba_png(images.RED),
        "palette": images.palette_png_with_transparency(images.RED),
        "gif": images.animated_gif(images.RED, images.BLUE),
        "la": images.encode(Image.new("LA", (20, 20), (128, 255)), "PNG"),
        "l": images.encode(Image.new("L", (20, 20), 200), "PNG"),
        "one-bit": images.encode(Image.new("1", (20, 20), 1), "BMP"),
        "webp": images.encode(images.solid(images.RED), "WEBP"),
        "tiff": images.encode(images.solid(images.RED), "TIFF"),
    }
    for name, data in cases.items():
        decoded = decode_image(data)
        assert decoded.image.mode == "RGB", name
        r, g, b = np.asarray(decoded.image, dtype=float).reshape(-1, 3).mean(axis=0)
        if name in ("cmyk", "rgba", "palette", "gif", "webp", "tiff"):
            assert r > 150 and g < 90 and b < 90, (name, r, g, b)


def test_transparent_pixels_flatten_onto_white():
    decoded = decode_image(images.rgba_png(images.RED, alpha=0))
    assert np.asarray(decoded.image).min() == 255


def test_sixteen_bit_grey_is_scaled_not_clipped():
    decoded = decode_image(images.png_16bit_grey(level=0.5))
    value = np.asarray(decoded.image)[0, 0, 0]
    assert 120 <= value <= 135  # half of the 16-bit range -> half of 8 bits (clipping would give 255)


def test_exif_orientation_is_applied():
    decoded = decode_image(images.exif_rotated_jpeg(size=(80, 40), orientation=6))
    assert decoded.image.size == (40, 80) and (decoded.width, decoded.height) == (40, 80)


def test_large_jpeg_is_decoded_in_draft_mode_but_never_below_twice_the_input():
    data = images.encode(images.photo_like((3000, 2000)), "JPEG", quality=85)
    decoded = decode_image(data, target_size=(224, 224))
    assert (decoded.width, decoded.height) == (3000, 2000)
    assert decoded.image.size[0] < 3000 and min(decoded.image.size) >= 448


@pytest.mark.parametrize("name", list(images.bad_and_odd_files()))
def test_bad_and_odd_files(name):
    data, status, word = images.bad_and_odd_files()[name]
    if status == "ok":
        assert decode_image(data).image.mode == "RGB"
    else:
        with pytest.raises(RejectedImage) as caught:
            decode_image(data)
        assert word is not None and word in caught.value.reason


@pytest.mark.parametrize(
    "data, word",
    [
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (bytes(range(256)) * 4, "not a recognised image format"),
    ],
)
def test_unsupported_formats_say_what_they_are(data, word):
    with pytest.raises(RejectedImage) as caught:
        decode_image(data)
    assert word in caught.value.reason


def test_limits_are_checked_before_decoding():
    with pytest.raises(RejectedImage, match=r"over the 0\.0 MB limit"):
        decode_image(images.jpeg(), limits=DecodeLimits(max_bytes=10))
    small_bomb = images.png_bomb(5000, 5000)
    with pytest.raises(RejectedImage, match="5000x5000 = 25 megapixels, over the 20 megapixel limit"):
        decode_image(small_bomb, limits=DecodeLimits(max_pixels=20_000_000))
    with pytest.raises(RejectedImage, match="over the 1 megapixel limit"):  # Pillow refuses it first
        decode_image(small_bomb, limits=DecodeLimits(max_pixels=1_000_000))


def test_the_configured_pixel_limit_is_the_one_applied():
    header_only = images.png_bomb(10000, 9500)  # declares 95 megapixels, above Pillow's own 89.5 default
    with pytest.raises(RejectedImage, match="95 megapixels, over the 89 megapixel limit"):
        decode_image(header_only)
    with pytest.raises(RejectedImage) as raised:  # within a raised limit: refused for its missing data instead
        decode_image(header_only, limits=DecodeLimits(max_pixels=200_000_000))
    assert "megapixel" not in raised.value.reason


def test_bit_flipped_jpeg_is_rejected_or_decoded_never_crashes():
    data = bytearray(images.encode(images.photo_like((128, 96)), "JPEG"))
    rng = np.random.default_rng(1)
    for _ in range(30):
        corrupt = bytearray(data)
        for position in rng.integers(2, len(corrupt), size=8):
            corrupt[position] ^= 0xFF
        try:
            assert decode_image(bytes(corrupt)).image.mode == "RGB"
        except RejectedImage as rejection:
            assert rejection.reason
