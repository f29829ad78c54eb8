"""Train a classifier: ImageNet MobileNetV2 backbone, global pooling, a dense softmax head.

The recipe, cheap enough for a 2-core CPU:
1. every training picture plus `augment_copies` augmented views of it (and each validation
   picture) go once through the frozen backbone up to `cut_layer`; the result is cached;
2. global average pooling of several backbone stages (`taps`, the cut and after) is scaled per
   stage and concatenated; a class-weighted, L2-regularised softmax head is fitted on the
   standardised features, and the standardisation folded into the dense layer's weights;
3. optionally (`int8_aware_head`, a quantization-aware head): the backbone and pooling are also
   converted to int8 with the calibration images, the head learns from the float *and* the int8
   features of every view, so it leans on what survives quantization, and the L2 strength is
   chosen on the int8 model's validation AUC, the model that ships;
4. the top of the backbone (everything after `cut_layer`, batch-norm statistics frozen) is
   fine-tuned with the head (the head stays fixed when it is int8-aware: float tensors alone would
   untrain it) on the cached tensors with a small learning rate; the epoch with the best validation
   AUC (of the int8 conversion, when the head is int8-aware) is kept, epoch 0 (no fine-tuning)
   included.
Seeds are fixed and TensorFlow's deterministic ops are on, so a rebuild gives the same model.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spotter.modelbuild.augment import ASPECT as AUGMENT_ASPECT
from spotter.modelbuild.augment import SCALE as AUGMENT_SCALE
from spotter.modelbuild.augment import augmented_pixels
from spotter.modelbuild.convert import calibration_from_samples, converted_int8_outputs
from spotter.modelbuild.data import BUILD_RESIZE, Dataset, decode, label_array, load_pixels, split_samples
from spotter.modelbuild.features import FloatRunner, float_tflite, run_on_pixels
from spotter.modelbuild.head import fit_softmax, softmax_probs
from spotter.modelbuild.metrics import roc_auc

MOBILENET_V2 = "mobilenet_v2"
TINY = "tiny"
FEATURES, PROBABILITIES = "features", "probabilities"
MOBILENET_TAPS = ("block_12_add", "block_13_expand_relu", "block_15_add", "block_16_project_BN", "out_relu")


@dataclass
class TrainConfig:
    backbone: str = MOBILENET_V2  # or "tiny": a small random-init CNN for tests
    weights: str | None = "imagenet"  # a weights file, "imagenet" (Keras download) or None
    size: int = 224
    resize: str = (
        BUILD_RESIZE  # the preprocessing contract's resize mode (spotter.model.preprocess), written on the card
    )
    seed: int = 0
    taps: tuple[str, ...] = MOBILENET_TAPS  # layers whose global average pool feeds the head
    cut_layer: str = "block_12_add"  # cached below; fine-tuned above. Every tap is at or above it.
    augment_copies: int = 8
    augment_scale: tuple[float, float] = AUGMENT_SCALE  # crop area, as a share of the inscribed square
    augment_aspect: tuple[float, float] = AUGMENT_ASPECT  # crop width / height, squashed to the input
    l2_grid: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
    head_steps: int = 200
    class_weighted: bool = True  # weight each class by its inverse frequency (head and fine-tuning)
    int8_aware_head: bool = False  # fit the head on float and int8 features; choose on int8 validation AUC
    calibration_images: int = 200  # training pictures that calibrate the int8 ranges
    fine_tune_epochs: int = 3
    fine_tune_lr: float = 1e-5
    batch_size: int = 32
    qat_epochs: int = 0  # quantization-aware fine-tuning of the int8 copy (qat.py); 0: post-training only
    qat_lr: float = 1e-5
    qat_copies: int = 2  # augmented views per training image the int8 copy learns from

    @classmethod
    def tiny(cls, **changes) -> TrainConfig:
        return cls(
            **{
                "backbone": TINY,
                "weights": None,
                "size": 32,
                "taps": ("cut", "top_conv"),
                "cut_layer": "cut",
                "augment_copies": 1,
                **changes,
            }
        )

    def to_json(self) -> dict:
        return asdict(self)

    def geometry(self) -> dict:
        """The augmentation's geometry (augment.augmented_pixels)."""
        return {"scale": tuple(self.augment_scale), "aspect": tuple(self.augment_aspect)}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def seed_everything(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _keras_or_default(keras: Any) -> Any:
    """The Keras API a builder was given, else Keras 3."""
    if keras is None:
        import keras as keras3

        return keras3
    return keras


def build_backbone(config: TrainConfig, keras=None):
    """A Keras Functional model from pixels in [-1, 1] to its last feature map (no pooling).
    `keras`: the Keras API to build with (default Keras 3; qat.py passes tf_keras)."""
    keras = _keras_or_default(keras)

    shape = (config.size, config.size, 3)
    if config.backbone == MOBILENET_V2:
        local = config.weights not in (None, "imagenet")
        base = keras.applications.MobileNetV2(
            input_shape=shape, alpha=1.0, include_top=False, weights=None if local else config.weights
        )
        if local:
            base.load_weights(str(config.weights))
        return base
    if config.backbone == TINY:
        inputs = keras.Input(shape, name="pixels")
        x = inputs
        for i, filters in enumerate((8, 16)):
            x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu", name=f"conv{i}")(x)
        x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="cut")(x)
        x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="top_conv")(x)
        return keras.Model(inputs, x, name="tiny")
    raise ValueError(f"unknown backbone {config.backbone!r}")


def pooled_features(base, taps: tuple[str, ...], keras=None) -> list:
    """The global average pool of each `taps` layer's output (Keras tensors)."""
    keras = _keras_or_default(keras)

    return [keras.layers.GlobalAveragePooling2D(name=f"pool_{name}")(base.get_layer(name).output) for name in taps]


def stage_features(pools: list, scales: list[float], taps: tuple[str, ...], keras=None):
    """Each stage's pool scaled by its factor, then concatenated: the head's input (a Keras tensor)."""
    keras = _keras_or_default(keras)

    scaled = [keras.layers.Rescaling(k, name=f"scale_{name}")(p) for p, k, name in zip(pools, scales, taps)]
    return scaled[0] if len(scaled) == 1 else keras.layers.Concatenate(name=FEATURES)(scaled)


def features_layer(taps: tuple[str, ...]) -> str:
    """The name of the layer whose output `stage_features` returns."""
    return f"scale_{taps[0]}" if len(taps) == 1 else FEATURES


def feature_spread(features: np.ndarray) -> np.ndarray:
    """Each feature's standard deviation, floored so that near-constant features stay near zero
    once standardised."""
    std = features.std(axis=0)
    return np.maximum(std, 0.1 * float(np.median(std)) + 1e-6)


def class_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    return {k: float(len(y) / (n_classes * max(1.0, c))) for k, c in enumerate(counts)}


def _predict(model, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def _auc(y: np.ndarray, probs: np.ndarray) -> float:
    if probs.shape[1] == 2:
        return roc_auc(y == 1, probs[:, 1])
    return float(np.nanmean([roc_auc(y == k, probs[:, k]) for k in range(probs.shape[1])]))


def _fit_best(model, x, y, score, *, epochs, lr, batch_size, weights) -> dict:
    """Fit, keeping the weights of the epoch with the best `score()` (epoch 0: as it came in)."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy")
    start_auc = score()
    best = {"auc": start_auc, "epoch": 0, "weights": model.get_weights()}
    history = []
    for epoch in range(1, epochs + 1):
        fitted = model.fit(x, y, batch_size=batch_size, epochs=1, class_weight=weights, shuffle=True, verbose=0)
        auc = score()
        loss = float(fitted.history["loss"][-1])
        history.append({"epoch": epoch, "loss": round(loss, 4), "validation_auc": round(auc, 4)})
        log(f"fine-tune epoch {epoch}/{epochs}: loss {loss:.4f}, validation AUC {auc:.4f}")
        if auc > best["auc"] + 1e-9:
            best = {"auc": auc, "epoch": epoch, "weights": model.get_weights()}
    model.set_weights(best["weights"])
    return {
        "epochs": epochs,
        "learning_rate": lr,
        "validation_auc_before": round(start_auc, 4),
        "best_epoch": best["epoch"],
        "validation_auc": round(best["auc"], 4),
        "history": history,
    }


def train(dataset: Dataset, split: dict, config: TrainConfig):
    """Train on split['train'], select on split['validation']; returns (Keras model, training log)."""
    import keras

    started = time.perf_counter()
    seed_everything(config.seed)
    size = (config.size, config.size)
    n_classes = len(dataset.labels)
    train_samples = split_samples(dataset, split, "train")
    val_samples = split_samples(dataset, split, "validation")
    base = build_backbone(config)
    cut_tensor = base.get_layer(config.cut_layer).output
    pools = pooled_features(base, tuple(config.taps))

    log(
        f"decoding {len(train_samples)} training and {len(val_samples)} validation images, "
        f"{config.augment_copies} augmented views of each training image"
    )
    y_train0, y_val = label_array(train_samples), label_array(val_samples)
    originals = load_pixels(train_samples, size, config.resize)
    augmented, source = augmented_pixels(
        [decode(s.path, size) for s in train_samples],
        size,
        config.augment_copies,
        config.seed,
        config.resize,
        config.geometry(),
    )
    x_train_pixels = np.concatenate([originals, augmented])
    x_val_pixels = load_pixels(val_samples, size, config.resize)
    y_train = np.concatenate([y_train0, y_train0[source]])
    del augmented

    # the frozen lower backbone, and the pools above it, run as float32 TFLite models (features.py):
    # several times faster than TensorFlow's kernels on a small CPU, equal to rounding
    lower = FloatRunner(float_tflite(keras.Model(base.input, cut_tensor)))
    log(f"caching the frozen backbone's {config.cut_layer} output for {len(x_train_pixels) + len(val_samples)} images")
    z_train = run_on_pixels(lower, x_train_pixels)
    z_val = run_on_pixels(lower, x_val_pixels)
    del lower

    # Each stage's pooled features are brought to unit RMS by one scalar (so that the concatenation,
    # quantized with a single int8 scale, keeps every stage's resolution); the head is fitted on
    # standardised features and the standardisation folded into its weights (no per-feature
    # multipliers for int8 to mangle).
    to_pools = FloatRunner(
        float_tflite(keras.Model(cut_tensor, pools[0] if len(pools) == 1 else keras.layers.Concatenate()(pools)))
    )
    edges = np.cumsum([0] + [int(p.shape[-1]) for p in pools])
    p_train = np.split(to_pools(z_train), edges[1:-1], axis=1)
    p_val = np.split(to_pools(z_val), edges[1:-1], axis=1)
    del to_pools
    tap_scale = [float(1.0 / max(1e-6, np.sqrt(np.mean(np.square(p))))) for p in p_train]
    f_train = np.concatenate([p * k for p, k in zip(p_train, tap_scale)], axis=1)
    f_val = np.concatenate([p * k for p, k in zip(p_val, tap_scale)], axis=1)
    mean, std = f_train.mean(axis=0), feature_spread(f_train)
    features = stage_features(pools, tap_scale, tuple(config.taps))

    x_fit, y_fit, q_val = (f_train - mean) / std, y_train, None
    if config.int8_aware_head:
        calibration = calibration_from_samples(
            train_samples, size, config.calibration_images, config.seed, config.resize
        )
        log(
            f"int8 features of the {len(x_train_pixels)} training views and the validation images "
            f"({len(calibration)} calibration images)"
        )
        q_all = converted_int8_outputs(
            keras.Model(base.input, features), calibration, np.concatenate([x_train_pixels, x_val_pixels])
        )
        q_train, q_val = q_all[: len(x_train_pixels)], q_all[len(x_train_pixels) :]
        x_fit, y_fit = np.concatenate([x_fit, (q_train - mean) / std]), np.concatenate([y_train, y_train])
        log(
            f"int8 feature error: RMS {np.sqrt(np.mean(np.square(q_train - f_train))):.3f} "
            f"(features have unit RMS per stage)"
        )
    del x_train_pixels

    weights = class_weights(y_train, n_classes) if config.class_weighted else dict.fromkeys(range(n_classes), 1.0)
    aucs: dict[float, dict[str, float | None]] = {}  # L2 -> validation AUC of the float32 and int8 features
    head_weights: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    for l2 in config.l2_grid:
        w, b = fit_softmax(x_fit, y_fit, n_classes, l2=l2, class_weight=weights, steps=config.head_steps)
        auc_float = _auc(y_val, softmax_probs((f_val - mean) / std, w, b))
        auc_int8 = _auc(y_val, softmax_probs((q_val - mean) / std, w, b)) if q_val is not None else None
        aucs[l2] = {"float32": auc_float, "int8": auc_int8}
        head_weights[l2] = (w, b)
        log(
            f"softmax head on {f_train.shape[1]} pooled features, L2 {l2}: validation AUC float {auc_float:.4f}"
            + (f", int8 {auc_int8:.4f}" if auc_int8 is not None else "")
        )
    chosen_on = "int8" if config.int8_aware_head else "float32"

    def chosen_auc(l2: float) -> float:
        auc = aucs[l2][chosen_on]
        if auc is None:  # int8 AUCs exist whenever the choice is on int8 (int8_aware_head)
            raise ValueError(f"no {chosen_on} validation AUC for L2 {l2}")
        return auc

    best_l2 = max(config.l2_grid, key=chosen_auc)
    w, b = head_weights[best_l2]
    if len(config.l2_grid) > 1 and best_l2 in (min(config.l2_grid), max(config.l2_grid)):
        log(f"L2 {best_l2} is at the edge of the grid {config.l2_grid}: a wider grid may do better")

    # the whole model: pixels -> backbone -> pooled stages, each scaled -> concatenated -> dense softmax
    dense = keras.layers.Dense(n_classes, activation="softmax", name=PROBABILITIES)
    model = keras.Model(base.input, dense(features), name=f"{config.backbone}_classifier")
    dense.set_weights([(w / std[:, None]).astype(np.float32), (b - (mean / std) @ w).astype(np.float32)])

    fine_log = None
    if config.fine_tune_epochs > 0:
        upper = keras.Model(cut_tensor, model.output)
        for layer in upper.layers:
            layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
        dense.trainable = not config.int8_aware_head  # trained on float tensors, it would unlearn the int8 features
        trainable = sum(int(np.prod(v.shape)) for v in upper.trainable_variables)
        log(f"fine-tuning the backbone after {config.cut_layer} with the head ({trainable} weights)")
        if config.int8_aware_head:

            def score():
                return _auc(y_val, converted_int8_outputs(model, calibration, x_val_pixels))
        else:

            def score():
                return _auc(y_val, _predict(upper, z_val))

        fine_log = _fit_best(
            upper,
            z_train,
            y_train,
            score,
            epochs=config.fine_tune_epochs,
            lr=config.fine_tune_lr,
            batch_size=config.batch_size,
            weights=weights,
        )
        fine_log.update(selected_on=f"{chosen_on} validation ROC AUC", head_trained=not config.int8_aware_head)
    for layer in model.layers:
        layer.trainable = False
    seconds = time.perf_counter() - started
    log(f"trained in {seconds:.0f} s")
    return model, {
        "config": config.to_json(),
        "train_images": len(train_samples),
        "train_views": len(y_train),
        "validation_images": len(val_samples),
        "class_weights": {dataset.labels[k]: round(v, 4) for k, v in weights.items()},
        "head": {
            "features": int(f_train.shape[1]),
            "l2": best_l2,
            "stage_scales": [round(k, 6) for k in tap_scale],
            "int8_aware": config.int8_aware_head,
            "l2_chosen_on": f"{chosen_on} validation ROC AUC",
            "validation_auc_by_l2": {
                str(k): {kind: round(auc, 4) for kind, auc in v.items() if auc is not None} for k, v in aucs.items()
            },
            "validation_auc": round(chosen_auc(best_l2), 4),
        },
        "fine_tune": fine_log,
        "seconds": round(seconds, 1),
    }


def save_model(model, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path
