"""Warm per-stage latency: decode, preprocess, inference, for three kinds of input."""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image

from spotter.ingest.imaging import decode_image
from spotter.model.classifier import Classifier

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


def _once(classifier: Classifier, data: bytes, use_draft: bool, decoder=None, fit: bool = False) -> dict[str, float]:
    """One picture end to end. `decoder`: a BudgetedDecoder (the classify function's bounded path):
    decode ms is then the whole round trip to its worker process (the bytes there, decoding, the
    pixels back); with `fit`, the worker also fits the picture to the model's input (the classify
    function's path), so that time is in decode ms and only the 150 KB input comes back."""
    started = time.perf_counter()
    if decoder is None:
        decoded = decode_image(data, classifier.input_size, use_draft=use_draft)
        decode_ms = decoded.decode_ms
    else:
        contract = classifier.contract if fit else None
        decoded = decoder.decode(data, classifier.input_size, use_draft=use_draft, fit=contract)
        decode_ms = (time.perf_counter() - started) * 1000.0
    prediction = classifier.classify(decoded.image)
    return {
        "decode": decode_ms,
        "preprocess": prediction.preprocess_ms,
        "inference": prediction.inference_ms,
        "total": decode_ms + prediction.preprocess_ms + prediction.inference_ms,
    }


def measure(classifier: Classifier, data: bytes, modes: dict[str, dict], runs: int, block: int = 5) -> dict[str, dict]:
    """Each mode `runs` times, in blocks of `block` runs taking turns (so a busy moment on a shared
    machine falls on all of them alike, while each mode runs back to back as a batch would); the
    first run of each block warms caches and is dropped. Returns per mode the stages' (median, p95),
    and for a worker mode its breakdown (`BudgetedDecoder.last_stats`)."""
    samples: dict[str, dict[str, list[float]]] = {label: {} for label in modes}
    for _ in range(-(-runs // block)):
        for label, options in modes.items():
            for number in range(block + 1):
                stages = _once(classifier, data, **options)
                if options.get("decoder") is not None:
                    stages |= {f"worker {k}": v for k, v in options["decoder"].last_stats["ms"].items()}
                if number:
                    for name, value in stages.items():
                        samples[label].setdefault(name, []).append(value)
    return {label: {name: median_p95(values) for name, values in stages.items()} for label, stages in samples.items()}


BEFORE = "worker, decoded picture back"  # the protocol before: the decoded picture came back, fitted here
NOW = "worker, model input back"  # the classify function's path


def run(model_path, runs: int = 20) -> str:
    from spotter.adapters.wiring import decode_limits
    from spotter.config import Settings
    from spotter.ingest.decode_sandbox import BudgetedDecoder

    classifier = Classifier.load(model_path, num_threads=1)
    settings = Settings.from_env({})
    # a worker each: one worker serving both would carry one mode's memory (glibc keeps or returns
    # freed memory depending on what is still allocated) into the other's page faults
    picture_back = BudgetedDecoder(decode_limits(settings)).start()
    input_back = BudgetedDecoder(decode_limits(settings)).start()
    rows, costs, breakdown = [], [], []
    try:
        for name, data in inputs():
            is_jpeg = data[:2] == b"\xff\xd8"
            # the production path reduces while decoding (JPEG draft) or right after (an integer box
            # reduce): inline against the worker on that path, then the full-size decode for scale
            inline = "draft" if is_jpeg else "reduced"
            results = measure(
                classifier,
                data,
                {
                    inline: {"use_draft": True},
                    BEFORE: {"use_draft": True, "decoder": picture_back},
                    NOW: {"use_draft": True, "decoder": input_back, "fit": True},
                },
                runs,
            )
            plain_runs = runs if len(data) < 2_000_000 else max(5, runs // 3)
            results |= measure(classifier, data, {"plain": {"use_draft": False}}, plain_runs)
            for label in (inline, BEFORE, NOW, "plain"):
                result = results[label]
                stages = ("decode", "preprocess", "inference", "total")
                rows.append([name, label, *[f"{result[s][0]:.1f} / {result[s][1]:.1f}" for s in stages]])
            base = results[inline]["total"][0]
            for label in (BEFORE, NOW):
                cost = results[label]["total"][0] - base
                costs.append(f"{name}, {label}: {cost:+.2f} ms a picture ({100 * cost / base:+.1f} % of {base:.1f} ms)")
                worker = {k.removeprefix("worker "): v[0] for k, v in results[label].items() if k.startswith("worker ")}
                parts = [worker.get(k, 0.0) for k in ("in", "read", "decode", "fit", "out", "back")]
                breakdown.append(
                    [
                        name,
                        label,
                        *[f"{v:.2f}" for v in parts],
                        f"{worker['total'] - sum(parts):.2f}",
                        f"{worker['total']:.2f}",
                    ]
                )
    finally:
        picture_back.close()
        input_back.close()
    return (
        table(["input", "decode mode", "decode ms (med / p95)", "preprocess ms", "inference ms", "end to end ms"], rows)
        + f"\n\nThe decode budget ({settings.decode_memory_mb} MB, {settings.decode_seconds:g} s; a warm worker "
        f"process), median end to end against the same path inline, same run, modes taking turns in blocks of 5:\n- "
        + "\n- ".join(costs)
        + "\n\nWhere a round trip to the worker goes (medians, ms): here, the bytes into the shared file; there, "
        "the bytes read from it, decode_image, the fit to the model's input, the pixels into the shared file; "
        "here, the reply parsed and the pixels read back into a picture; the rest (the round trip's median "
        "less the others') is the job and reply through the pipes, the two processes waking each other and "
        "the worker's bookkeeping:\n\n"
        + table(
            [
                "input",
                "mode",
                "bytes in",
                "worker reads",
                "decode",
                "fit",
                "pixels out",
                "read back",
                "the rest",
                "round trip",
            ],
            breakdown,
        )
    )
