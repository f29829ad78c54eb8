"""Float vs int8 on the same held-out test split, through the production decode and runtime.

The float model is the Keras model, fed pixels decoded and resized by the runtime's own code;
the int8 model runs through `spotter.classifier.Classifier` (the real runtime) on the decoded
pictures. Each model's decision threshold is chosen on the validation split (Youden's J) and
only then applied to the test split. Size and latency: the `.tflite` files (the float one
converted on the fly), one thread, median invoke time over the test images.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ..card import card_path_for
from ..classifier import Classifier
from ..imaging import decode_image
from .cardfile import runtime_card, write_card
from .data import Dataset, Sample, label_array, load_pixels, scale_pixels, split_samples
from .metrics import choose_threshold, summarize


def keras_probs(model, pixels: np.ndarray, value_range=(-1.0, 1.0), batch_size: int = 32) -> np.ndarray:
    parts = [np.asarray(model(scale_pixels(pixels[i:i + batch_size], value_range), training=False))
             for i in range(0, len(pixels), batch_size)]
    probs = np.concatenate(parts).astype(np.float64)
    if probs.shape[1] == 1:  # one sigmoid output: the positive (second) class, as the runtime reads it
        probs = np.concatenate([1.0 - probs, probs], axis=1)
    return probs


def runtime_probs(tflite_path: str | Path, samples: list[Sample]) -> tuple[np.ndarray, list[float]]:
    """Class scores from the serving runtime for each sample, and each invoke time (ms), one thread."""
    classifier = Classifier.load(tflite_path, num_threads=1)
    probs, latencies = [], []
    for sample in samples:
        picture = decode_image(sample.path.read_bytes(), classifier.input_size).image
        tensor = classifier.preprocess(picture)
        started = time.perf_counter()
        scores = classifier.scores(tensor)
        latencies.append((time.perf_counter() - started) * 1000.0)
        probs.append(scores)
    return np.asarray(probs, np.float64), latencies


def _scored(y_val, p_val, y_test, p_test, positive: int) -> dict:
    threshold = choose_threshold(y_val == positive, p_val[:, positive]) if p_val.shape[1] == 2 else None
    result = summarize(y_test, p_test, threshold=threshold, positive=positive)
    result["validation_roc_auc"] = summarize(y_val, p_val, positive=positive)["roc_auc"]
    return result


def _rounded(metrics: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}


def evaluate(model, int8_path: str | Path, dataset: Dataset, split: dict, *, value_range=(-1.0, 1.0),
             positive: int = 1, name: str = "model") -> dict:
    """Metrics of the float (Keras) and int8 (TFLite, served by Classifier) models on split['test']."""
    from .convert import convert

    int8_path = Path(int8_path)
    val_samples, test_samples = split_samples(dataset, split, "validation"), split_samples(dataset, split, "test")
    y_val, y_test = label_array(val_samples), label_array(test_samples)
    size = Classifier.load(int8_path).input_size

    p_val_f = keras_probs(model, load_pixels(val_samples, size), value_range)
    p_test_f = keras_probs(model, load_pixels(test_samples, size), value_range)
    float_metrics = _scored(y_val, p_val_f, y_test, p_test_f, positive)

    p_val_q, _ = runtime_probs(int8_path, val_samples)
    p_test_q, latency_q = runtime_probs(int8_path, test_samples)
    int8_metrics = _scored(y_val, p_val_q, y_test, p_test_q, positive)
    int8_metrics.update(size_bytes=int8_path.stat().st_size, latency_ms=round(statistics.median(latency_q), 2))

    with tempfile.TemporaryDirectory() as tmp:  # the float32 TFLite twin, for its size and speed
        float_path = convert(model, Path(tmp) / f"{name}-float32.tflite", quantize=False)
        write_card(card_path_for(float_path), runtime_card(name, "float32", dataset.labels, size, value_range))
        _, latency_f = runtime_probs(float_path, test_samples)
        float_metrics.update(size_bytes=float_path.stat().st_size, latency_ms=round(statistics.median(latency_f), 2))

    agreement = float((p_test_f.argmax(1) == p_test_q.argmax(1)).mean())
    return {
        "split": {"name": "test", "images": int(len(y_test)),
                  "per_class": {dataset.labels[k]: int((y_test == k).sum()) for k in range(len(dataset.labels))},
                  "threshold_chosen_on": f"validation ({len(y_val)} images), maximising sensitivity + specificity"},
        "positive_class": dataset.labels[positive] if len(dataset.labels) == 2 else None,
        "float32": _rounded(float_metrics),
        "int8": _rounded(int8_metrics),
        "int8_float_top1_agreement": round(agreement, 4),
        "latency_note": "median TFLite invoke time, one thread, ai-edge-litert, on the build machine",
    }
