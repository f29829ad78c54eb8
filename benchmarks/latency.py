"""Warm per-stage latency: decode, preprocess, inference, for three kinds of input."""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image

from spotter.classifier import Classifier
from spotter.imaging import decode_image

from .common import SHARED, median_p95, table


def _photo(size, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(0, 255, (h // 50 + 1, w // 50 + 1, 3), dtype=np.uint8)
    base = Image.fromarray(small, "RGB").resize(size, Image.Resampling.BICUBIC)
    noise = rng.normal(0, 8, (h, w, 3))
    return Image.fromarray(np.clip(np.asarray(base, np.float32) + noise, 0, 255).astype(np.uint8), "RGB")


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def inputs() -> list[tuple[str, bytes]]:
    small = sorted((SHARED / "data" / "isic-uda1").glob("*.jpg"))
    full = sorted((SHARED / "data" / "isic-uda1-full").glob("*.jpg"))
    cases = []
    if small:
        cases.append(("256x256 JPEG (ISIC)", small[0].read_bytes()))
    else:
        cases.append(("256x256 JPEG (generated)", _encode(_photo((256, 256)), "JPEG", quality=90)))
    if full:
        def pixels(path):
            with Image.open(path) as probe:
                return probe.width * probe.height, path.stat().st_size

        largest = max(full, key=pixels)
        with Image.open(largest) as probe:
            cases.append((f"{probe.width}x{probe.height} JPEG (ISIC full)", largest.read_bytes()))
    else:
        cases.append(("3000x2000 JPEG (generated)", _encode(_photo((3000, 2000)), "JPEG", quality=90)))
    cases.append(("4000x3000 PNG (12 MP)", _encode(_photo((4000, 3000)), "PNG", compress_level=6)))
    return cases


def measure(classifier: Classifier, data: bytes, use_draft: bool, runs: int) -> dict[str, tuple[float, float]]:
    stages: dict[str, list[float]] = {"decode": [], "preprocess": [], "inference": [], "total": []}
    for _ in range(runs + 1):
        decoded = decode_image(data, classifier.input_size, use_draft=use_draft)
        prediction = classifier.classify(decoded.image)
        stages["decode"].append(decoded.decode_ms)
        stages["preprocess"].append(prediction.preprocess_ms)
        stages["inference"].append(prediction.inference_ms)
        stages["total"].append(decoded.decode_ms + prediction.preprocess_ms + prediction.inference_ms)
    return {name: median_p95(values[1:]) for name, values in stages.items()}  # first run warms caches


def run(model_path, runs: int = 15) -> str:
    classifier = Classifier.load(model_path, num_threads=1)
    rows = []
    for name, data in inputs():
        is_jpeg = data[:2] == b"\xff\xd8"
        for use_draft in ((True, False) if is_jpeg else (False,)):
            n = runs if (use_draft or len(data) < 2_000_000) else max(5, runs // 3)
            result = measure(classifier, data, use_draft, n)
            rows.append([name, "draft" if use_draft else "plain",
                         *[f"{result[s][0]:.1f} / {result[s][1]:.1f}" for s in ("decode", "preprocess", "inference", "total")]])
    return table(["input", "decode mode", "decode ms (med / p95)", "preprocess ms", "inference ms", "end to end ms"], rows)
