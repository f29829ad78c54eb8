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


def measure(
    classifier: Classifier, data: bytes, use_draft: bool, runs: int, decoder=None
) -> dict[str, tuple[float, float]]:
    """`decoder`: a BudgetedDecoder (the classify function's bounded path): decode ms is then the whole
    round trip to its worker process (sending the bytes, decoding, receiving the picture)."""
    stages: dict[str, list[float]] = {"decode": [], "preprocess": [], "inference": [], "total": []}
    for _ in range(runs + 1):
        started = time.perf_counter()
        if decoder is None:
            decoded = decode_image(data, classifier.input_size, use_draft=use_draft)
            decode_ms = decoded.decode_ms
        else:
            decoded = decoder.decode(data, classifier.input_size, use_draft=use_draft)
            decode_ms = (time.perf_counter() - started) * 1000.0
        prediction = classifier.classify(decoded.image)
        stages["decode"].append(decode_ms)
        stages["preprocess"].append(prediction.preprocess_ms)
        stages["inference"].append(prediction.inference_ms)
        stages["total"].append(decode_ms + prediction.preprocess_ms + prediction.inference_ms)
    return {name: median_p95(values[1:]) for name, values in stages.items()}  # first run warms caches


def run(model_path, runs: int = 15) -> str:
    from spotter.adapters.wiring import decode_limits
    from spotter.budget import BudgetedDecoder
    from spotter.config import Settings

    classifier = Classifier.load(model_path, num_threads=1)
    settings = Settings.from_env({})
    decoder = BudgetedDecoder(decode_limits(settings)).start()
    rows, costs = [], []
    try:
        for name, data in inputs():
            is_jpeg = data[:2] == b"\xff\xd8"
            # the production path reduces while decoding (JPEG draft) or right after (an integer box
            # reduce): inline against the worker on that path, then the full-size decode for scale
            inline = "draft" if is_jpeg else "reduced"
            modes = [(inline, True, None), ("budget (worker)", True, decoder), ("plain", False, None)]
            results = {}
            for label, use_draft, via in modes:
                n = runs if (use_draft or len(data) < 2_000_000) else max(5, runs // 3)
                results[label] = result = measure(classifier, data, use_draft, n, via)
                rows.append(
                    [
                        name,
                        label,
                        *[
                            f"{result[s][0]:.1f} / {result[s][1]:.1f}"
                            for s in ("decode", "preprocess", "inference", "total")
                        ],
                    ]
                )
            base = results[inline]["total"][0]
            cost = results["budget (worker)"]["total"][0] - base
            costs.append(f"{name}: {cost:+.2f} ms a picture ({100 * cost / base:+.1f} % of {base:.1f} ms)")
    finally:
        decoder.close()
    return (
        table(["input", "decode mode", "decode ms (med / p95)", "preprocess ms", "inference ms", "end to end ms"], rows)
        + f"\n\nThe decode budget ({settings.decode_memory_mb} MB, {settings.decode_seconds:g} s; a warm worker "
        f"process), median end to end against the same path inline, same run:\n- " + "\n- ".join(costs)
    )
