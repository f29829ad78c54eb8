"""Training-time augmentation on decoded pictures (Pillow only, seeded, no TensorFlow).

Dermoscopy has no up or down: any rotation and mirror is a valid view. Each variant is a random
rotation (then the largest centred square without black corners), a mirror, a random crop of
75-100 % of the area, a small brightness/contrast/saturation jitter, and finally the runtime's
own resize, so the network sees what production feeds it.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageEnhance

from .data import resize_like_runtime


def augment(image: Image.Image, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    angle = float(rng.uniform(0.0, 360.0))
    rotated = image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False)
    w, h = image.size
    theta = math.radians(angle % 90.0)
    inner = min(w, h) / (math.cos(theta) + math.sin(theta))  # inscribed square of the rotated frame
    scale = math.sqrt(float(rng.uniform(0.75, 1.0)))
    side = max(8.0, inner * scale)
    cx = w / 2 + float(rng.uniform(-1, 1)) * (inner - side) / 2
    cy = h / 2 + float(rng.uniform(-1, 1)) * (inner - side) / 2
    view = rotated.crop((round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2)))
    if rng.random() < 0.5:
        view = view.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        view = enhancer(view).enhance(float(rng.uniform(0.85, 1.15)))
    return resize_like_runtime(view, size)


def augmented_pixels(images: list[Image.Image], size: tuple[int, int], copies: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`copies` augmented views of each picture: uint8 [N*copies, h, w, 3] and the source index of each."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(images) * copies, size[1], size[0], 3), np.uint8)
    source = np.repeat(np.arange(len(images)), copies)
    for k, i in enumerate(source):
        out[k] = np.asarray(augment(images[i], size, rng), np.uint8)
    return out, source
