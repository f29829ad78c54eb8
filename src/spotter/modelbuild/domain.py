"""The domain check shipped inside the model: a second output, how far a photo's pooled backbone
features are from the training photos'.

The features are the global average pools of the backbone's last two bottlenecks (`block_15_add`, 160
values, and `block_16_project_BN`, 320: the outputs of MobileNetV2's last inverted-residual blocks,
before the 1280-channel expansion), concatenated. On the training photos (and augmented views of them)
they are centred, rotated onto their principal components and each component divided by its standard
deviation (whitening), all 480 of them: an in-domain photo then has components of about unit size, and a photo unlike the training photos
has large ones, mostly along the directions in which the training photos vary least. The distance is the
mean absolute whitened component, sum_i |v_i . (f - mean)| / sqrt(lambda_i) / k: a Mahalanobis
distance in L1 form, about 0.8 for a typical training photo. In L1 form it is two dense layers and a
ReLU (|x| = relu(x) + relu(-x)), which int8 quantizes without a squaring's range problem, and the
runtime reads one dequantized scalar.

Why not the top principal components of the 1280-value `out_relu` pool: measured on ImageNet
features, a whitened top-32 (or top-256) subspace flagged almost none of 20 real non-skin photos at a
2 % in-domain rate (photos of other things differ from dermoscopy photos mostly in the directions that
dermoscopy photos hardly vary in, which a top-k subspace leaves out), and whitening all 1280 would add
3.3 M weights; whitening all of the last bottlenecks' 480 values flagged all 20 (docs/model.md), with
0.5 M weights.
"""

from __future__ import annotations

import numpy as np

# the pooled features the distance is measured on (train.pooled_features' layers), concatenated
DOMAIN_FEATURES = ("pool_block_15_add", "pool_block_16_project_BN")
DOMAIN_CONCAT = "domain_features"
WHITEN, DISTANCE = "domain_whiten", "domain_distance"
# the int8 ranges of each whitened component and of the distance in a quantization-aware build (0 to
# these): the calibration photos, all in domain, would leave them ending just above the in-domain values
WHITEN_RANGE, DISTANCE_RANGE = 8.0, 4.0


RIDGE = 0.01  # added to every component's variance, as a share of the mean variance (shrinkage)


def fit_whitening(features: np.ndarray, k: int, ridge: float = RIDGE) -> dict:
    """Mean, the first `k` principal directions and their variances of `features` [N, D] (float64), each
    variance plus `ridge` times the mean variance: the smallest variances are the least certain, and a
    direction the training photos do not vary in at all would otherwise get an infinite weight."""
    f = np.asarray(features, np.float64)
    mean = f.mean(axis=0)
    centred = f - mean
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2 / max(1, len(f) - 1)
    explained = float(variance[:k].sum() / variance.sum())
    components = np.zeros((f.shape[1], k))
    kept = min(k, vt.shape[0])
    components[:, :kept] = vt[:kept].T
    shrunk = np.zeros(k)
    shrunk[:kept] = variance[:kept]
    shrunk += ridge * float(variance.sum() / f.shape[1])
    return {"mean": mean, "components": components, "variance": shrunk, "k": k, "explained": explained}


def whitening_weights(fit: dict) -> tuple[np.ndarray, np.ndarray]:
    """The dense layer of the L1 distance: kernel [D, 2k] = [W, -W] and bias [2k] = [-mean W, mean W],
    where W = components / sqrt(variance); relu of its output summed is sum |W^T (f - mean)|."""
    w = fit["components"] / np.sqrt(fit["variance"])[None, :]
    b = -fit["mean"] @ w
    return np.concatenate([w, -w], axis=1).astype(np.float32), np.concatenate([b, -b]).astype(np.float32)


def distance(features: np.ndarray, fit: dict) -> np.ndarray:
    """The distance the model's second output computes, in NumPy (float64)."""
    w = fit["components"] / np.sqrt(fit["variance"])[None, :]
    return np.abs((np.asarray(features, np.float64) - fit["mean"]) @ w).mean(axis=1)


def domain_features(model, features=DOMAIN_FEATURES, keras=None):
    """The output of `model`'s layers named `features`, concatenated when there are several (a Keras tensor;
    `keras`: the Keras API the model is built with, default Keras 3)."""
    if keras is None:
        import keras as keras3

        keras = keras3
    names = (features,) if isinstance(features, str) else tuple(features)
    outputs = [model.get_layer(name).output for name in names]
    return outputs[0] if len(outputs) == 1 else keras.layers.Concatenate(name=DOMAIN_CONCAT)(outputs)


def with_domain_output(model, fit: dict, features=DOMAIN_FEATURES):
    """`model` (pixels -> class probabilities) with a second output, the distance measured on the outputs
    of its layers `features` (concatenated): a new Keras model sharing its layers. Outputs:
    [probabilities, distance [1]]."""
    import keras

    pooled = domain_features(model, features)
    kernel, bias = whitening_weights(fit)
    whiten = keras.layers.Dense(kernel.shape[1], activation="relu", name=WHITEN)
    mean_abs = keras.layers.Dense(1, use_bias=False, name=DISTANCE)
    out = mean_abs(whiten(pooled))
    whiten.set_weights([kernel, bias])
    mean_abs.set_weights([np.full((kernel.shape[1], 1), 1.0 / fit["k"], np.float32)])
    return keras.Model(model.input, [model.output, out], name=model.name)


def threshold_for_share(in_domain: np.ndarray, share: float) -> float:
    """The smallest distance that flags at most `share` of `in_domain` (flagged: distance > threshold),
    set midway between the kept photo furthest out and the next one."""
    d = np.sort(np.asarray(in_domain, np.float64))
    allowed = int(np.floor(share * len(d) + 1e-9))  # photos that may be flagged
    keep = len(d) - allowed  # the closest `keep` photos stay in domain
    if allowed == 0:
        return float(d[-1] * 1.0001)
    return float((d[keep - 1] + d[keep]) / 2.0)


def pooled_of(model, pixels: np.ndarray, features=DOMAIN_FEATURES) -> np.ndarray:
    """The float model's `features` (concatenated) for uint8 pixels (through a float TFLite copy: fast)."""
    import keras

    from spotter.modelbuild.features import FloatRunner, float_tflite, run_on_pixels

    runner = FloatRunner(float_tflite(keras.Model(model.input, domain_features(model, features))))
    return run_on_pixels(runner, pixels)


def with_domain_ranges(content: bytes) -> bytes:
    """A full-integer TFLite model whose domain check output (the one-value output) and the whitened
    components it averages get the int8 ranges 0..DISTANCE_RANGE and 0..WHITEN_RANGE. Post-training
    quantization takes every range from the calibration photos, all in domain, so the distance of a photo
    far from them would be clipped just above the in-domain distances. The int8 kernels derive their
    rescaling from the tensors' scales when the model is loaded, so setting a tensor's scale and zero point
    sets the range it holds. A model whose ranges already are these (a quantization-aware build sets them
    in training) is returned unchanged, byte for byte."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(content))
    graph = model.subgraphs[0]
    outputs = [i for i in graph.outputs if int(np.prod(graph.tensors[i].shape)) == 1]
    if len(graph.outputs) < 2 or len(outputs) != 1:
        return content
    producer = next(op for op in graph.operators if outputs[0] in list(op.outputs))
    changed = False
    for index, high in ((outputs[0], DISTANCE_RANGE), (int(producer.inputs[0]), WHITEN_RANGE)):
        quantization = graph.tensors[index].quantization
        scale, zero_point = np.float32(high / 255.0), -128
        if quantization is None or quantization.scale is None or len(quantization.scale) != 1:
            raise ValueError("the domain check's tensors are not quantized per tensor")
        if (
            abs(float(quantization.scale[0]) - float(scale)) > 1e-6 * float(scale)
            or quantization.zeroPoint[0] != zero_point
        ):
            quantization.scale = [float(scale)]
            quantization.zeroPoint = [zero_point]
            quantization.min, quantization.max = [0.0], [float(high)]
            changed = True
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)) if changed else content
