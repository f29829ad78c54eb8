"""Training-time augmentation on decoded pictures (Pillow only, seeded, no TensorFlow).

Uploads vary in framing, scale, aspect, orientation, colour, exposure, focus and compression, so
each view covers all of them (dermoscopy has no up or down: any rotation and mirror is valid):

- rotation 0-360 degrees (bilinear), then a crop inside the largest centred square without black
  corners: a random resized crop of 35-100 % of that square's area, aspect 3:4 to 4:3, placed at
  random (the lesion is near the centre of these photos, so it stays in view); a mirror half the time;
- the crop is squashed to the input square, so shapes are stretched by up to 4:3 (as a squashing app
  would); a square crop goes through the card's own resize (spotter.model.preprocess);
- brightness, contrast and saturation x0.75-1.25, and a white-balance gain of x0.92-1.08 per channel;
- with probability 0.3 a Gaussian blur (radius 0.3-1.5 px of the crop), with probability 0.3 a
  lower resolution (downscaled to 40-90 % and back), and with probability 0.5 a JPEG re-encoding at
  quality 40-95 (before the final resize, as a camera's JPEG is).
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from spotter.modelbuild.data import BUILD_RESIZE, resize_like_runtime

SCALE = (0.35, 1.0)  # area of the crop, as a fraction of the inscribed square
ASPECT = (3 / 4, 4 / 3)
JITTER = (0.75, 1.25)
GAIN = (0.92, 1.08)
BLUR = (0.3, (0.3, 1.5))  # probability, radius range
LOW_RES = (0.3, (0.4, 0.9))  # probability, scale range
JPEG = (0.5, (40, 95))  # probability, quality range


def augment(
    image: Image.Image,
    size: tuple[int, int],
    rng: np.random.Generator,
    resize: str = BUILD_RESIZE,
    scale: tuple[float, float] = SCALE,
    aspect: tuple[float, float] = ASPECT,
) -> Image.Image:
    """One augmented view of `image`; `scale` (crop area as a fraction of the inscribed square) and
    `aspect` (crop width / height, squashed to the input square) set the geometry's spread."""
    angle = float(rng.uniform(0.0, 360.0))
    rotated = image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False)
    w, h = image.size
    theta = math.radians(angle % 90.0)
    inner = min(w, h) / (math.cos(theta) + math.sin(theta))  # inscribed square of the rotated frame
    area = float(rng.uniform(*scale)) * inner * inner
    ratio = math.exp(float(rng.uniform(math.log(aspect[0]), math.log(aspect[1]))))
    crop_w = min(inner, max(8.0, math.sqrt(area * ratio)))
    crop_h = min(inner, max(8.0, math.sqrt(area / ratio)))
    cx = w / 2 + float(rng.uniform(-1, 1)) * (inner - crop_w) / 2
    cy = h / 2 + float(rng.uniform(-1, 1)) * (inner - crop_h) / 2
    view = rotated.crop(
        (round(cx - crop_w / 2), round(cy - crop_h / 2), round(cx + crop_w / 2), round(cy + crop_h / 2))
    )
    if rng.random() < 0.5:
        view = view.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        view = enhancer(view).enhance(float(rng.uniform(*JITTER)))
    gains = rng.uniform(*GAIN, size=3)
    view = Image.fromarray(np.clip(np.asarray(view, np.float32) * gains, 0, 255).round().astype(np.uint8))
    blur, low_res, jpeg = rng.random(3)
    radius, shrink, quality = (
        float(rng.uniform(*BLUR[1])),
        float(rng.uniform(*LOW_RES[1])),
        int(rng.integers(*JPEG[1], endpoint=True)),
    )
    if blur < BLUR[0]:
        view = view.filter(ImageFilter.GaussianBlur(radius))
    if low_res < LOW_RES[0]:
        small = (max(8, round(view.width * shrink)), max(8, round(view.height * shrink)))
        view = view.resize(small, Image.Resampling.BILINEAR).resize(view.size, Image.Resampling.BILINEAR)
    if jpeg < JPEG[0]:
        buffer = io.BytesIO()
        view.save(buffer, "JPEG", quality=quality)
        view = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    if view.width == view.height:
        return resize_like_runtime(view, size, resize)
    return resize_like_runtime(view, size, "squash")  # the aspect change is part of the augmentation


def augmented_pixels(
    images: list[Image.Image],
    size: tuple[int, int],
    copies: int,
    seed: int,
    resize: str = BUILD_RESIZE,
    geometry: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`copies` augmented views of each picture: uint8 [N*copies, h, w, 3] and the source index of each.
    `geometry`: `scale` and `aspect` ranges other than the defaults (SCALE, ASPECT)."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(images) * copies, size[1], size[0], 3), np.uint8)
    source = np.repeat(np.arange(len(images)), copies)
    for k, i in enumerate(source):
        out[k] = np.asarray(augment(images[i], size, rng, resize, **(geometry or {})), np.uint8)
    return out, source
