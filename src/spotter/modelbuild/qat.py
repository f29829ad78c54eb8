"""Quantization-aware fine-tuning: an int8 model that agrees with its float model.

Post-training quantization (convert.py) rounds the trained weights and activations as they are; through
a deep backbone the rounding errors add up (in the demo model, to a third of the pooled features'
spread). Here a copy of the model is fine-tuned with int8 rounding simulated (TensorFlow Model
Optimization's fake quantization) so that its pooled features reproduce the float model's on the
training views. It is distillation, not training: no labels are used, so the copy learns to agree
with the float model, not to fit the training data harder. The plain post-training conversion
competes as epoch 0, and the int8 conversion whose probabilities on the validation split stay closest
to the float model's is kept.

tfmot needs the Keras 2 API (tf_keras), so the model is rebuilt there with the same layers and
weights. Two changes make its simulation match what the TFLite converter will build: batch norms are
folded into the kernels first (the converter folds them; tfmot would round the unfolded kernels), and
depthwise kernels are rounded per channel, as the converter does (tfmot rounds them per tensor).
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from spotter.modelbuild.augment import augmented_pixels
from spotter.modelbuild.convert import convert_scores_first, int8_outputs, scores_output_first
from spotter.modelbuild.data import Dataset, decode, load_pixels, scale_pixels, split_samples
from spotter.modelbuild.domain import (
    DISTANCE,
    DISTANCE_RANGE,
    DOMAIN_CONCAT,
    DOMAIN_FEATURES,
    WHITEN,
    WHITEN_RANGE,
    with_domain_ranges,
)
from spotter.modelbuild.train import (
    PROBABILITIES,
    TrainConfig,
    build_backbone,
    feature_spread,
    features_layer,
    log,
    pooled_features,
    stage_features,
)


def quantization_aware_int8(
    model, dataset: Dataset, split: dict, config: TrainConfig, calibration: np.ndarray
) -> tuple[bytes, dict]:
    """The int8 TFLite model (bytes) closest to `model` on validation, and the log of the choice."""
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(config.seed)
    size = (config.size, config.size)
    train_samples = split_samples(dataset, split, "train")
    augmented, _ = augmented_pixels(
        [decode(s.path, size) for s in train_samples],
        size,
        config.qat_copies,
        config.seed,
        config.resize,
        config.geometry(),
    )
    views = scale_pixels(np.concatenate([load_pixels(train_samples, size, config.resize), augmented]))
    del augmented
    x_val = load_pixels(split_samples(dataset, split, "validation"), size, config.resize)
    float_val = model.predict(scale_pixels(x_val), verbose=0)
    float_val = np.asarray(float_val[0] if isinstance(float_val, list) else float_val, np.float64)

    import keras

    name = features_layer(tuple(config.taps))
    teacher = keras.Model(model.input, model.get_layer(name).output)
    targets = np.concatenate([teacher.predict(views[i : i + 64], verbose=0) for i in range(0, len(views), 64)])
    inverse_spread = tf.constant(1.0 / feature_spread(targets[: len(train_samples)]), tf.float32)

    def feature_error(target, predicted):  # in the units of the head's standardised features
        return tf.reduce_mean(tf.square((predicted - target) * inverse_spread))

    candidates: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:

        def consider(epoch: int, path: Path, loss: float | None = None) -> None:
            gap = disagreement(int8_outputs(path, x_val), float_val)
            candidates.append(
                {
                    "epoch": epoch,
                    "validation_disagreement": round(gap, 5),
                    **({"feature_loss": round(loss, 5)} if loss is not None else {}),
                    "path": path,
                }
            )
            log(
                f"int8 epoch {epoch}: validation disagreement with float {gap:.4f}"
                + (f" (training feature loss {loss:.4f})" if loss is not None else " (post-training quantization)")
            )

        consider(0, convert_scores_first(model, Path(tmp) / "epoch-0.tflite", calibration=calibration))
        student = fake_quantized_copy(model, config)
        calibrate_ranges(student, scale_pixels(calibration))
        fix_domain_ranges(student)
        trainer = tf_keras.Model(student.input, student.get_layer(f"quant_{name}").output)
        trainer.compile(optimizer=tf_keras.optimizers.Adam(config.qat_lr), loss=feature_error)
        for epoch in range(1, config.qat_epochs + 1):
            fitted = trainer.fit(views, targets, batch_size=config.batch_size, epochs=1, shuffle=True, verbose=0)
            path = Path(tmp) / f"epoch-{epoch}.tflite"
            path.write_bytes(to_int8_tflite(student))
            consider(epoch, path, float(fitted.history["loss"][-1]))
        best = min(candidates, key=lambda c: (c["validation_disagreement"], c["epoch"]))
        content = best["path"].read_bytes()
    for candidate in candidates:
        del candidate["path"]
    log(f"kept int8 epoch {best['epoch']}")
    return content, {
        "epochs": config.qat_epochs,
        "learning_rate": config.qat_lr,
        "views": len(views),
        "objective": "pooled features of the float model (standardised squared error), no labels",
        "selected_on": "validation disagreement: mean total variation distance between the int8 and "
        "float probabilities (epoch 0: post-training quantization)",
        "best_epoch": best["epoch"],
        "history": candidates,
    }


def quantization_method(qat_log: dict | None) -> str:
    """The card's one-line account of how the int8 model was made."""
    if not qat_log or not qat_log["best_epoch"]:
        return "post-training quantization" + (
            " (it agreed with the float model better on validation than every quantization-aware epoch)"
            if qat_log
            else ""
        )
    return (
        f"quantization-aware fine-tuning: epoch {qat_log['best_epoch']} of {qat_log['epochs']}, the one whose int8 "
        "probabilities on validation were closest to the float model's (see training.quantization_aware)"
    )


def disagreement(int8_probs: np.ndarray, float_probs: np.ndarray) -> float:
    """Mean total variation distance between two models' class probabilities (0: identical)."""
    return float(0.5 * np.abs(np.asarray(int8_probs, np.float64) - float_probs).sum(axis=1).mean())


def keras2_copy(model, config: TrainConfig):
    """`model` (built by train.py in Keras 3) rebuilt in tf_keras with the same weights."""
    import tf_keras

    base = build_backbone(TrainConfig(**{**config.to_json(), "weights": None}), keras=tf_keras)
    taps = tuple(config.taps)
    scales = [float(model.get_layer(f"scale_{tap}").scale) for tap in taps]
    pools = pooled_features(base, taps, keras=tf_keras)
    features = stage_features(pools, scales, taps, keras=tf_keras)
    n_classes = model.get_layer(PROBABILITIES).units
    outputs = [tf_keras.layers.Dense(n_classes, activation="softmax", name=PROBABILITIES)(features)]
    if _has_layer(model, DISTANCE):  # the domain check's output (domain.py), rebuilt beside the scores
        by_name = dict(zip([f"pool_{tap}" for tap in taps], pools))
        wanted = [by_name[name] for name in DOMAIN_FEATURES]
        pooled = wanted[0] if len(wanted) == 1 else tf_keras.layers.Concatenate(name=DOMAIN_CONCAT)(wanted)
        whiten = model.get_layer(WHITEN)
        hidden = tf_keras.layers.Dense(whiten.units, activation="relu", name=WHITEN)(pooled)
        outputs.append(tf_keras.layers.Dense(1, use_bias=False, name=DISTANCE)(hidden))
    copy = tf_keras.Model(base.input, outputs if len(outputs) > 1 else outputs[0])
    for layer in copy.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    probe = np.random.default_rng(0).uniform(-1, 1, (2, config.size, config.size, 3)).astype(np.float32)
    expected, got = model(probe), copy(probe)
    expected, got = (expected, got) if isinstance(expected, (list, tuple)) else ([expected], [got])
    drift = max(float(np.abs(np.asarray(e) - np.asarray(g)).max()) for e, g in zip(expected, got))
    if drift > 1e-4:
        raise RuntimeError(f"the tf_keras copy of the model differs from it by {drift}")
    return copy


def _has_layer(model, name: str) -> bool:
    return any(layer.name == name for layer in model.layers)


def fold_batch_norms(model) -> None:
    """Scale each convolution's kernel by the batch norm after it, leaving the norm a pure bias add:
    the same arithmetic, but the kernel that gets rounded is the one the converter will round."""
    import tf_keras

    for norm in model.layers:
        if not isinstance(norm, tf_keras.layers.BatchNormalization):
            continue
        conv = norm._inbound_nodes[0].inbound_layers
        if not isinstance(conv, (tf_keras.layers.Conv2D, tf_keras.layers.DepthwiseConv2D)) or conv.use_bias:
            continue
        gamma, beta, mean, variance = norm.get_weights()
        scale = gamma / np.sqrt(variance + norm.epsilon)
        (kernel,) = conv.get_weights()
        depthwise = isinstance(conv, tf_keras.layers.DepthwiseConv2D)
        conv.set_weights([kernel * (scale[:, None] if depthwise else scale)])
        norm.set_weights(
            [np.ones_like(gamma), beta - mean * scale, np.zeros_like(mean), np.full_like(variance, 1.0 - norm.epsilon)]
        )


def fake_quantized_copy(model, config: TrainConfig):
    """A tf_keras copy of `model` (Keras 3, built by train.py) with int8 rounding simulated."""
    return fake_quantized(keras2_copy(model, config))


def fake_quantized(copy):
    """tfmot's quantization-aware model of the tf_keras model `copy`, batch norms folded and frozen
    (`copy` is folded in place)."""
    import tensorflow_model_optimization as tfmot
    import tf_keras

    fold_batch_norms(copy)

    def annotate(layer):
        if isinstance(layer, tf_keras.layers.InputLayer):
            return layer
        if isinstance(layer, tf_keras.layers.Rescaling):  # not in tfmot's registry: quantize its output
            return tfmot.quantization.keras.quantize_annotate_layer(layer, quantize_config=_output_only()())
        return tfmot.quantization.keras.quantize_annotate_layer(layer)

    annotated = tf_keras.models.clone_model(copy, clone_function=annotate)
    annotated.set_weights(copy.get_weights())
    with _per_channel_depthwise(), tfmot.quantization.keras.quantize_scope({"OutputOnly": _output_only()}):
        quantized = tfmot.quantization.keras.quantize_apply(annotated)
    for wrapper in quantized.layers:
        if isinstance(getattr(wrapper, "layer", None), tf_keras.layers.BatchNormalization):
            wrapper.layer.trainable = False  # a pure bias add now, and too few images for batch statistics
    return quantized


def fix_domain_ranges(quantized) -> None:
    """Set the int8 ranges of the domain check's layers (domain.py) to 0..WHITEN_RANGE (each whitened
    component) and 0..DISTANCE_RANGE (the distance) instead of what the calibration photos showed: those
    are all in domain, so their range would clip the distance of a photo far from them just above the
    in-domain distances (the check would still flag it, but its distance would read as the top of the
    in-domain range). The layers learn nothing from the training photos (the pooled features are the
    only target), so the ranges stay as set."""
    for layer, high in ((f"quant_{WHITEN}", WHITEN_RANGE), (f"quant_{DISTANCE}", DISTANCE_RANGE)):
        wrapper = next((w for w in quantized.layers if w.name == layer), None)
        for variable in wrapper.weights if wrapper is not None else []:
            if variable.name.endswith("post_activation_min:0"):
                variable.assign(0.0)
            elif variable.name.endswith("post_activation_max:0"):
                variable.assign(high)


def calibrate_ranges(quantized, images: np.ndarray, batch_size: int = 25) -> None:
    """Set every activation range from `images` before training (tfmot starts them all at -6..6 and
    moves them by 0.1 % a step): the first batch sets them, the rest refine them quickly."""
    from tensorflow_model_optimization.python.core.quantization.keras import quant_ops, quantizers

    moving_average = quant_ops.MovingAvgQuantize
    try:
        for decay in (0.0, 0.9):

            def fast(*args, _decay=decay, **kwargs):
                return moving_average(*args, **{**kwargs, "ema_decay": _decay})

            quantizers.quant_ops.MovingAvgQuantize = fast
            for start in range(0, len(images), batch_size):
                quantized(images[start : start + batch_size], training=True)
    finally:
        quantizers.quant_ops.MovingAvgQuantize = moving_average


def to_int8_tflite(quantized) -> bytes:
    """A fake-quantized tf_keras model to full-integer int8 TFLite (ranges from the model itself), its
    class scores the first output (the converter orders several outputs its own way: both orders tried)."""
    import tensorflow as tf
    import tf_keras

    orders = [quantized]
    if len(quantized.outputs) > 1:
        orders = [tf_keras.Model(quantized.input, list(reversed(quantized.outputs))), quantized]
    for model in orders:
        with tempfile.TemporaryDirectory() as tmp:
            tf.saved_model.save(model, tmp)
            converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
            content = converter.convert()
        if scores_output_first(content):
            return with_domain_ranges(content)  # unchanged when fix_domain_ranges set them in training
    raise RuntimeError("the converter put the class scores after another output in both orders")


@contextlib.contextmanager
def _per_channel_depthwise():
    """tfmot's conv weight quantizer rounds per slice of the kernel's last axis; a depthwise kernel
    [h, w, channels, 1] has a last axis of 1, so it would be rounded per tensor."""
    from tensorflow_model_optimization.python.core.quantization.keras import quantizers
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import default_8bit_quantizers

    class PerChannelWeights(quantizers.LastValueQuantizer):  # type: ignore[misc]  # tfmot ships no types
        def __init__(self):
            super().__init__(num_bits=8, per_axis=True, symmetric=True, narrow_range=True)

        @staticmethod
        def _depthwise(shape) -> bool:
            return len(shape) == 4 and shape[-1] == 1

        def build(self, tensor_shape, name, layer):
            import tf_keras

            channels = tensor_shape[-2] if self._depthwise(tensor_shape) else tensor_shape[-1]
            return {
                bound: layer.add_weight(
                    f"{name}_{bound[:3]}",
                    shape=(channels,),
                    trainable=False,
                    initializer=tf_keras.initializers.Constant(value),
                )
                for bound, value in (("min_var", -6.0), ("max_var", 6.0))
            }

        def __call__(self, inputs, training, weights, **kwargs):
            import tensorflow as tf

            if not self._depthwise(inputs.shape):
                return super().__call__(inputs, training, weights, **kwargs)
            h, w, channels, _ = inputs.shape
            per_channel = super().__call__(tf.reshape(inputs, [h, w, 1, channels]), training, weights, **kwargs)
            return tf.reshape(per_channel, inputs.shape)

    original = default_8bit_quantizers.Default8BitConvWeightsQuantizer
    default_8bit_quantizers.Default8BitConvWeightsQuantizer = PerChannelWeights
    try:
        yield
    finally:
        default_8bit_quantizers.Default8BitConvWeightsQuantizer = original


@functools.cache
def _output_only():
    """A QuantizeConfig for layers without weights that tfmot does not know (Rescaling): output rounded."""
    import tensorflow_model_optimization as tfmot
    from tensorflow_model_optimization.python.core.quantization.keras import quantizers

    class OutputOnly(tfmot.quantization.keras.QuantizeConfig):  # type: ignore[misc]  # tfmot ships no types
        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return [quantizers.MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False, narrow_range=False)]

        def get_config(self):
            return {}

    return OutputOnly
