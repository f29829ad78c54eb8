"""Make tiny real TFLite models with detector-like outputs, for the loader's tests.

Run with TensorFlow installed:  .venv/bin/python tests/models/make_test_detectors.py
It writes, next to this file:
  odd-detector-float32.tflite  a float 64x64 "detector" whose four outputs come in another order
      than TFLite_Detection_PostProcess writes them (scores, boxes, count, classes), with names that
      do not say which is which. It finds one "red" object (class 0) in the left half of the picture,
      scored by how red that half is, and one "blue" object (class 1) in the right half, likewise.
  boxes-only-float32.tflite  one output of shape [1, 2, 4]: neither a classifier nor a detector.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
SIZE = 64


def main() -> None:
    import tensorflow as tf

    spec = tf.TensorSpec([1, SIZE, SIZE, 3], tf.float32)

    @tf.function(input_signature=[spec])
    def odd(image):
        left = tf.reduce_mean(image[:, :, : SIZE // 2, :], axis=[1, 2])  # [1, 3], values in 0..1
        right = tf.reduce_mean(image[:, :, SIZE // 2 :, :], axis=[1, 2])
        red = left[:, 0] - 0.5 * (left[:, 1] + left[:, 2])
        blue = right[:, 2] - 0.5 * (right[:, 0] + right[:, 1])
        scores = tf.stack([tf.clip_by_value(red, 0.0, 1.0), tf.clip_by_value(blue, 0.0, 1.0)], axis=1)  # [1, 2]
        boxes = tf.constant([[[0.25, 0.1, 0.75, 0.4], [0.3, 0.6, 0.7, 0.9]]], tf.float32)  # ymin, xmin, ymax, xmax
        classes = tf.constant([[0.0, 1.0]], tf.float32) + 0.0 * scores
        count = tf.constant([2.0], tf.float32) + 0.0 * scores[:, 0]
        return {"a_scores": scores, "b_boxes": boxes + 0.0 * scores[:, :, None], "c_count": count, "d_classes": classes}

    @tf.function(input_signature=[spec])
    def boxes_only(image):
        mean = tf.reduce_mean(image, axis=[1, 2, 3])
        return tf.constant([[[0.1, 0.1, 0.5, 0.5], [0.5, 0.5, 0.9, 0.9]]], tf.float32) + 0.0 * mean[:, None, None]

    for name, function in (("odd-detector-float32", odd), ("boxes-only-float32", boxes_only)):
        converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], function)
        (HERE / f"{name}.tflite").write_bytes(converter.convert())
        print("wrote", name)


if __name__ == "__main__":
    main()
