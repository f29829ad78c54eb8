"""Counting: whole-photo against tiled detection with the shipped COCO detector, side by side.

The production path: the decode worker (BudgetedDecoder, the classify function's budget) decodes the
photo and cuts and fits its views; the detector runs them in this process with one thread. Photos:
the two samples in ../shared/data/detect-samples, and 12 MP field photos made of small copies of
pets.jpg (two dogs each, so the true count is known); without ../shared, a generated 12 MP photo.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

from PIL import Image

from spotter.config import Settings
from spotter.ingest.decode_sandbox import BudgetedDecoder
from spotter.model.detector import Detector
from spotter.model.loading import load_model
from spotter.model.tiling import Tiling

from .common import ROOT, SHARED, median_p95, table

COUNT_MODEL = ROOT / "model" / "coco-ssd-mobilenet-v1.tflite"
SAMPLES = SHARED / "data" / "detect-samples"
REPEATS = 3
LAMBDA_FULL_CPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB; less memory, a share of one


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def field_photo(copies: tuple[int, int], scale: float, size=(4000, 3000)) -> Image.Image:
    """A 12 MP photo of `copies` (columns, rows) small copies of pets.jpg on plain ground."""
    pets = Image.open(SAMPLES / "pets.jpg").convert("RGB")
    small = pets.resize((int(pets.width * scale), int(pets.height * scale)))
    canvas = Image.new("RGB", size, (110, 120, 100))
    cols, rows = copies
    for i in range(cols):
        for j in range(rows):
            x = int(40 + i * (size[0] - 80 - small.width) / max(1, cols - 1))
            y = int(40 + j * (size[1] - 80 - small.height) / max(1, rows - 1))
            canvas.paste(small, (x, y))
    return canvas


def photos() -> list[tuple[str, bytes, int | None]]:
    """(name, JPEG or file bytes, true object count or None)."""
    if not SAMPLES.is_dir():
        from .latency import _photo

        return [("4000x3000 generated (no ../shared)", _jpeg(_photo((4000, 3000))), None)]
    cases: list[tuple[str, bytes, int | None]] = [
        ("pets.jpg 512x430 (2 dogs)", (SAMPLES / "pets.jpg").read_bytes(), 2),
        ("grace_hopper.bmp 512x600 (a person, her tie)", (SAMPLES / "grace_hopper.bmp").read_bytes(), 2),
    ]
    for copies, scale in (((4, 3), 1.2), ((6, 5), 0.8), ((8, 6), 0.6)):
        truth = 2 * copies[0] * copies[1]
        cases.append((f"4000x3000 field, {truth} dogs", _jpeg(field_photo(copies, scale)), truth))
    return cases


def _count(
    detector: Detector, decoder: BudgetedDecoder, data: bytes, tiling: Tiling
) -> tuple[float, int, dict[str, int]]:
    """(ms for decode, tiles and inference; tiles detected; objects counted per label)."""
    detector.with_tiling(tiling)
    started = time.perf_counter()
    decoded = decoder.decode(data, detector.input_size, use_draft=False, fit=detector.contract, tiling=tiling)
    found = detector.detect(list(decoded.views), decoded.plan)
    return (time.perf_counter() - started) * 1000.0, found.views_done - 1, found.counts


def _said(counts: dict[str, int]) -> str:
    """'61: 38 person, 17 horse, ...' (the total, then the three most counted labels)."""
    top = ", ".join(f"{n} {label}" for label, n in list(counts.items())[:3])
    return f"{sum(counts.values())}" + (f": {top}" if top else "")


def run(_model: Path) -> str:
    detector = load_model(COUNT_MODEL, num_threads=1)
    assert isinstance(detector, Detector)
    card_tiling = detector.tiling
    settings = Settings()  # the template's defaults: 1,024 MB, 30 s, batches of 10
    budget_s = settings.decode_seconds
    from spotter.adapters.wiring import decode_limits

    decoder = BudgetedDecoder(decode_limits(settings)).start()
    rows = []
    try:
        for name, data, truth in photos():
            timings: dict[str, list[float]] = {"whole": [], "tiled": []}
            counts: dict[str, dict[str, int]] = {}
            tiles = 0
            for _ in range(REPEATS):  # alternated, so both see the same machine load
                for kind, tiling in (("whole", Tiling(enabled=False)), ("tiled", card_tiling)):
                    ms, used, objects = _count(detector, decoder, data, tiling)
                    timings[kind].append(ms)
                    counts[kind] = objects
                    tiles = used if kind == "tiled" else tiles
            whole_ms, tiled_ms = median_p95(timings["whole"])[0], median_p95(timings["tiled"])[0]
            lambda_s = tiled_ms / 1000.0 * LAMBDA_FULL_CPU_MB / settings.function_memory_mb
            rows.append(
                [
                    name,
                    "?" if truth is None else truth,
                    _said(counts["whole"]),
                    _said(counts["tiled"]),
                    tiles,
                    whole_ms,
                    tiled_ms,
                    f"{tiled_ms / whole_ms:.1f}x",
                    f"{lambda_s:.2f} s of {budget_s:.1f} s",
                ]
            )
    finally:
        decoder.close()
    note = (
        f"\nMedians of {REPEATS} runs each, whole and tiled alternated; ms = decode + tiles cut and fitted "
        f"(decode worker) + inference, one thread. Tiling: the card's ({card_tiling.tile} px tiles, "
        f"{card_tiling.overlap:.0%} overlap, at most {card_tiling.max_tiles}). 'At 1,024 MB' scales the tiled "
        f"time by {LAMBDA_FULL_CPU_MB}/1024 (Lambda's CPU share at the template's memory), against the "
        f"classify function's per-image budget (decode_seconds: 30 s less 3 s, over batches of 10): an estimate, "
        "not a Lambda measurement."
    )
    return (
        table(
            [
                "photo",
                "objects (known)",
                "found whole",
                "found tiled",
                "tiles",
                "whole ms",
                "tiled ms",
                "tiled/whole",
                "tiled at 1,024 MB",
            ],
            rows,
        )
        + note
    )
