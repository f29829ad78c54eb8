"""Does the quantization-aware head narrow the int8 gap? 5-fold cross-validation on train+validation.

    .venv/bin/python benchmarks/int8_head_cv.py [--copies 4] [--l2 0.3 1 3]

The demo recipe's frozen MobileNetV2 features (its taps, each stage scaled to unit RMS) are
computed once, in float (Keras) and in int8 (the same layers converted with 200 calibration
photos, run through the serving runtime's quantization), for every train+validation photo of the
demo split and `--copies` augmented views of each. The test split is never read. For each fold
and L2 strength, a head fitted on float features only and one fitted on float and int8 features
(`int8_aware_head`) are scored on the held-out photos' float and int8 features. Needs ../shared
and the model-build dependencies (`make install-model`); about 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from spotter.config import REPO_MODEL_DIR
from spotter.modelbuild.augment import augmented_pixels
from spotter.modelbuild.convert import calibration_from_samples, converted_int8_outputs
from spotter.modelbuild.data import (
    decode,
    label_array,
    load_dataset,
    load_pixels,
    load_split,
    scale_pixels,
    split_samples,
)
from spotter.modelbuild.demo_paths import DEMO_DATA, DEMO_WEIGHTS
from spotter.modelbuild.head import fit_softmax, softmax_probs
from spotter.modelbuild.metrics import roc_auc
from spotter.modelbuild.train import TrainConfig, build_backbone, log, pooled_features

FOLDS = 5


def features(config: TrainConfig, pixels: np.ndarray, calibration: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(float, int8) pooled features [N, F] of `pixels`, each stage scaled to unit RMS."""
    import keras

    base = build_backbone(config)
    pools = pooled_features(base, tuple(config.taps))
    parts = keras.Model(base.input, pools).predict(scale_pixels(pixels), batch_size=64, verbose=0)
    scales = [float(1.0 / np.sqrt(np.mean(np.square(p)))) for p in parts]
    scaled = [keras.layers.Rescaling(k)(p) for p, k in zip(pools, scales)]
    model = keras.Model(base.input, keras.layers.Concatenate()(scaled))
    float_features = np.concatenate([p * k for p, k in zip(parts, scales)], axis=1)
    return float_features, converted_int8_outputs(model, calibration, pixels)


def folds_of(y: np.ndarray, seed: int = 0) -> np.ndarray:
    fold = np.zeros(len(y), int)
    rng = np.random.default_rng(seed)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        rng.shuffle(members)
        fold[members] = np.arange(len(members)) % FOLDS
    return fold


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="augmented views of each photo (the demo uses 8)")
    parser.add_argument("--l2", type=float, nargs="+", default=[0.3, 1.0, 3.0])
    args = parser.parse_args()
    if not DEMO_DATA.exists() or not DEMO_WEIGHTS.exists():
        print("needs ../shared (the demo data and weights)", file=sys.stderr)
        return 2

    config = TrainConfig(weights=str(DEMO_WEIGHTS))
    size = (config.size, config.size)
    dataset = load_dataset(DEMO_DATA, label_column="benign_malignant")
    split = load_split(REPO_MODEL_DIR / "skin-lesion-split.json")
    samples = split_samples(dataset, split, "train") + split_samples(dataset, split, "validation")
    y_photo = label_array(samples)
    log(f"{len(samples)} train+validation photos, {args.copies} augmented views each")
    augmented, source = augmented_pixels([decode(s.path, size) for s in samples], size, args.copies, config.seed)
    pixels = np.concatenate([load_pixels(samples, size), augmented])
    photo = np.concatenate([np.arange(len(samples)), source])
    calibration = calibration_from_samples(split_samples(dataset, split, "train"), size, 200, config.seed)
    log("float and int8 features")
    f_all, q_all = features(config, pixels, calibration)

    fold = folds_of(y_photo)
    is_original = np.arange(len(pixels)) < len(samples)
    print(
        "\n| head            | L2   | CV AUC float | CV AUC int8 | gap    |\n|-----------------|------|--------------|-------------|--------|"
    )
    for int8_aware in (False, True):
        for l2 in args.l2:
            scores = []
            for k in range(FOLDS):
                fit_rows, held = fold[photo] != k, (fold[photo] == k) & is_original
                x, y = f_all[fit_rows], y_photo[photo[fit_rows]]
                mean, std = x.mean(axis=0), x.std(axis=0)
                std = np.maximum(std, 0.1 * float(np.median(std)) + 1e-6)
                x = (x - mean) / std
                if int8_aware:
                    x, y = np.concatenate([x, (q_all[fit_rows] - mean) / std]), np.concatenate([y, y])
                weights = {c: len(y) / (2.0 * max(1, int((y == c).sum()))) for c in (0, 1)}
                w, b = fit_softmax(x, y, 2, l2=l2, class_weight=weights)
                y_held = y_photo[photo[held]] == 1
                scores.append(
                    [roc_auc(y_held, softmax_probs((z[held] - mean) / std, w, b)[:, 1]) for z in (f_all, q_all)]
                )
            auc_float, auc_int8 = np.mean(scores, axis=0)
            name = "float + int8" if int8_aware else "float only"
            print(f"| {name:15s} | {l2:<4g} | {auc_float:12.3f} | {auc_int8:11.3f} | {auc_float - auc_int8:+.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
