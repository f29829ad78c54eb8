"""Frozen backbone features, fast: a Keras sub-model converted to a float32 TFLite model and run with
the TFLite interpreter (XNNPACK), several times faster than TensorFlow's own CPU kernels on the small
build machine. Used to cache what does not train (the frozen lower backbone, pooled features for the
domain check); the float values agree with TensorFlow's to rounding (about 1e-5 relative)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from spotter.modelbuild.data import scale_pixels


def float_tflite(model) -> bytes:
    """`model` (Keras 3) as a float32 TFLite flatbuffer (no quantization)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        model.export(str(Path(tmp) / "saved"), format="tf_saved_model", verbose=False)
        return tf.lite.TFLiteConverter.from_saved_model(str(Path(tmp) / "saved")).convert()


class FloatRunner:
    """One float TFLite model with one input and one output, run on float inputs one at a time."""

    def __init__(self, content: bytes, threads: int | None = None) -> None:
        from spotter.model.runtime import Interpreter

        self._interpreter = Interpreter(model_content=content, num_threads=threads or min(4, os.cpu_count() or 1))
        self._interpreter.allocate_tensors()
        self._in = self._interpreter.get_input_details()[0]
        self._out = self._interpreter.get_output_details()[0]

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        out = np.empty((len(inputs), *self._out["shape"][1:]), np.float32)
        for i, x in enumerate(inputs):
            self._interpreter.set_tensor(self._in["index"], np.asarray(x, np.float32)[np.newaxis])
            self._interpreter.invoke()
            out[i] = self._interpreter.get_tensor(self._out["index"])[0]
        return out


def run_on_pixels(runner: FloatRunner, pixels: np.ndarray, value_range=(-1.0, 1.0), chunk: int = 256) -> np.ndarray:
    """`runner` on uint8 pixels [N, h, w, 3], scaled to the network's input range."""
    parts = [runner(scale_pixels(pixels[i : i + chunk], value_range)) for i in range(0, len(pixels), chunk)]
    return np.concatenate(parts) if parts else np.empty((0,), np.float32)


def near_duplicates(features: np.ndarray, ids: list[str], threshold: float) -> list[tuple[str, str, float]]:
    """Pairs of samples whose feature vectors have a cosine similarity of at least `threshold`
    (the same lesion photographed twice, or one photo resized twice), most similar first."""
    f = np.asarray(features, np.float64)
    f = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    similarity = f @ f.T
    first, second = np.nonzero(np.triu(similarity, k=1) >= threshold)
    pairs = [(ids[a], ids[b], round(float(similarity[a, b]), 4)) for a, b in zip(first, second)]
    return sorted(pairs, key=lambda pair: (-pair[2], pair[0], pair[1]))
