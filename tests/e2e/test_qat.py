"""Quantization-aware fine-tuning (spotter/modelbuild/qat.py): its simulation of int8 must match what
the TFLite converter builds, and it must never ship an int8 model further from the float one than
post-training quantization."""

from __future__ import annotations

import json

import numpy as np
import pytest
from model_helpers import cli_train_tiny, make_images

from spotter.modelbuild import data

pytestmark = pytest.mark.tensorflow


def _conv_bn_model(rng):
    """conv -> batch norm -> ReLU6 -> depthwise conv -> batch norm -> ReLU6 -> pool -> softmax, in tf_keras,
    with batch-norm statistics far from the identity."""
    tf_keras = pytest.importorskip("tf_keras")
    layers = tf_keras.layers
    inputs = tf_keras.Input((16, 16, 3))
    x = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)))
    x = layers.ReLU(6.0)(layers.BatchNormalization()(layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)))
    model = tf_keras.Model(inputs, layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling2D()(x)))
    for norm in (layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)):
        n = norm.gamma.shape[0]
        norm.set_weights([rng.uniform(0.2, 3, n), rng.normal(0, 1, n), rng.normal(0, 1, n), rng.uniform(0.1, 4, n)])
    return model


def test_folding_batch_norms_keeps_the_outputs_and_moves_the_scale_into_the_kernels():
    from spotter.modelbuild.qat import fold_batch_norms

    rng = np.random.default_rng(0)
    model = _conv_bn_model(rng)
    pixels = rng.uniform(-1, 1, (4, 16, 16, 3)).astype(np.float32)
    kernels = [layer.get_weights()[0] for layer in model.layers if "conv" in layer.name]
    before = model(pixels).numpy()
    fold_batch_norms(model)
    np.testing.assert_allclose(model(pixels).numpy(), before, atol=1e-5)
    norms = [layer for layer in model.layers if "batch_normalization" in layer.name]
    assert all(np.allclose(norm.get_weights()[0], 1.0) for norm in norms)  # only a bias is left in them
    assert not any(
        np.allclose(k, layer.get_weights()[0])
        for k, layer in zip(kernels, [layer for layer in model.layers if "conv" in layer.name])
    )


def test_the_quantization_aware_model_converts_with_per_channel_depthwise_kernels():
    """tfmot on its own rounds a depthwise kernel with one scale for all its channels."""
    from spotter.model.runtime import Interpreter
    from spotter.modelbuild.qat import calibrate_ranges, fake_quantized, to_int8_tflite

    rng = np.random.default_rng(1)
    model = _conv_bn_model(rng)
    pixels = rng.uniform(-1, 1, (50, 16, 16, 3)).astype(np.float32)
    expected = model(pixels).numpy()
    quantized = fake_quantized(model)
    calibrate_ranges(quantized, pixels)
    interpreter = Interpreter(model_content=to_int8_tflite(quantized))
    interpreter.allocate_tensors()
    source, sink = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    assert source["dtype"] == np.int8 and sink["dtype"] == np.int8
    filters = {
        tuple(t["shape"]): t for t in interpreter.get_tensor_details() if len(t["shape"]) == 4 and t["dtype"] == np.int8
    }
    depthwise = filters[(1, 3, 3, 8)]  # TFLite stores a depthwise filter as [1, h, w, channels]
    # one scale per channel (tfmot alone stores 8 copies of a single scale here)
    assert len(np.unique(depthwise["quantization_parameters"]["scales"])) == 8
    # and the int8 model computes what the float one does
    in_scale, in_zero = source["quantization"]
    out_scale, out_zero = sink["quantization"]
    got = []
    for picture in pixels[:10]:
        interpreter.set_tensor(
            source["index"], np.clip(np.round(picture / in_scale + in_zero), -128, 127).astype(np.int8)[None]
        )
        interpreter.invoke()
        got.append((interpreter.get_tensor(sink["index"]).astype(np.float32) - out_zero) * out_scale)
    np.testing.assert_allclose(np.concatenate(got), expected[:10], atol=0.05)


def test_quantization_aware_int8_keeps_the_conversion_closest_to_the_float_model(tmp_path):
    pytest.importorskip("tensorflow_model_optimization")
    from spotter.modelbuild.convert import calibration_from_folder, int8_outputs, tensor_types
    from spotter.modelbuild.evaluate import keras_probs
    from spotter.modelbuild.qat import disagreement, quantization_aware_int8
    from spotter.modelbuild.train import TrainConfig, train

    dataset = data.load_dataset(make_images(tmp_path / "images", per_class=15))
    split = data.stratified_split(dataset, (0.6, 0.2, 0.2), seed=0)
    config = TrainConfig.tiny(fine_tune_epochs=0, qat_epochs=2, qat_lr=1e-3)
    model, _ = train(dataset, split, config)
    content, log = quantization_aware_int8(
        model, dataset, split, config, calibration_from_folder(tmp_path / "images", (32, 32))
    )

    assert [c["epoch"] for c in log["history"]] == [0, 1, 2]
    best = min(log["history"], key=lambda c: c["validation_disagreement"])
    assert log["best_epoch"] == best["epoch"]
    path = tmp_path / "qat-int8.tflite"
    path.write_bytes(content)
    types = tensor_types(path)
    assert types["input"]["dtype"] == "int8" and types["output"]["dtype"] == "int8"
    validation = data.load_pixels(data.split_samples(dataset, split, "validation"), (32, 32))
    # the bytes returned are the candidate that was chosen
    assert disagreement(int8_outputs(path, validation), keras_probs(model, validation)) == pytest.approx(
        best["validation_disagreement"], abs=1e-5
    )
    everything = data.load_pixels(list(dataset.samples), (32, 32))
    assert (int8_outputs(path, everything).argmax(1) == keras_probs(model, everything).argmax(1)).all()


def test_cli_convert_with_quantization_aware_fine_tuning(tmp_path, capsys):
    pytest.importorskip("tensorflow_model_optimization")
    from spotter.cli import main
    from spotter.model.classifier import Classifier

    images = make_images(tmp_path / "images", per_class=12)
    model = tmp_path / "tiny.keras"
    assert cli_train_tiny(images, model) == 0
    assert main(["model", "convert", str(model), "--calibration", str(images), "--qat-epochs", "1"]) == 2
    assert "needs --data" in capsys.readouterr().err
    assert (
        main(
            [
                "model",
                "convert",
                str(model),
                "--calibration",
                str(images),
                "--qat-epochs",
                "1",
                "--data",
                str(images),
                "--range",
                "0",
                "1",
            ]
        )
        == 2
    )
    assert "drop --range" in capsys.readouterr().err
    assert (
        main(["model", "convert", str(model), "--calibration", str(images), "--qat-epochs", "1", "--data", str(images)])
        == 0
    )
    card = json.loads((tmp_path / "tiny-int8.card.json").read_text())
    history = card["training"]["quantization_aware"]["history"]
    assert [c["epoch"] for c in history] == [0, 1]
    assert card["quantization"]["method"].startswith(("post-training", "quantization-aware fine-tuning: epoch 1"))
    assert Classifier.load(tmp_path / "tiny-int8.tflite").labels == ("blue", "red")


def test_a_mobilenet_v2_classifier_gets_a_faithful_fake_quantized_copy():
    """The demo's architecture: rebuilt in tf_keras, folded and wrapped by tfmot without error, and
    before any training its int8 rounding changes the outputs only a little."""
    pytest.importorskip("tensorflow_model_optimization")
    import keras

    from spotter.modelbuild.qat import calibrate_ranges, fake_quantized_copy
    from spotter.modelbuild.train import PROBABILITIES, TrainConfig, build_backbone, pooled_features, stage_features

    config = TrainConfig(weights=None, size=32, taps=("block_15_add", "out_relu"))
    base = build_backbone(config)
    features = stage_features(pooled_features(base, config.taps), [1.0, 0.5], config.taps)
    model = keras.Model(base.input, keras.layers.Dense(2, activation="softmax", name=PROBABILITIES)(features))
    pixels = np.random.default_rng(2).uniform(-1, 1, (16, 32, 32, 3)).astype(np.float32)
    quantized = fake_quantized_copy(model, config)
    calibrate_ranges(quantized, pixels)
    np.testing.assert_allclose(quantized(pixels, training=False).numpy(), np.asarray(model(pixels)), atol=0.1)
