"""Make a tiny real two-output TFLite classifier for the calibration and domain-check tests.

Run with TensorFlow installed:  .venv/bin/python tests/models/make_test_domain.py
It writes domain-float32.tflite next to this file: a float 32x32 input in 0..1; output 0, class
scores (blue, red) = softmax(4 * (mean red - mean blue) * (-1, 1)); output 1, one value, the
picture's mean green times 10 (a stand-in for a distance from the training photos: a green picture
is "out of domain"). The tests write the cards.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
SIZE = 32


def main() -> None:
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, SIZE, SIZE, 3], tf.float32)])
    def model(image):
        mean = tf.reduce_mean(image, axis=[1, 2])  # [1, 3]
        margin = 4.0 * (mean[:, 0] - mean[:, 2])
        scores = tf.nn.softmax(tf.stack([-margin, margin], axis=1) / 2.0)
        distance = tf.reshape(10.0 * mean[:, 1], [1, 1])
        return {"a_scores": scores, "b_distance": distance}

    converter = tf.lite.TFLiteConverter.from_concrete_functions([model.get_concrete_function()], model)
    (HERE / "domain-float32.tflite").write_bytes(converter.convert())
    print("wrote domain-float32.tflite")


if __name__ == "__main__":
    main()
