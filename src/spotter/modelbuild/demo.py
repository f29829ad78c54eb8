"""The shipped demo model: skin-lesion benign/malignant, rebuilt in one command from ../shared.

`spotter model build-demo` (or `make model`) splits the data, trains, converts to int8, evaluates
float vs int8 through the runtime, writes `model/skin-lesion-int8.tflite`, its card and the
split, and prints the evaluation table.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

from spotter.config import DEFAULT_MODEL_FILE, REPO_MODEL_DIR
from spotter.model.card import card_path_for
from spotter.modelbuild.cardfile import DEMO_DISCLAIMER, build_card, write_card
from spotter.modelbuild.convert import calibration_from_samples, convert, tensor_types
from spotter.modelbuild.data import load_dataset, save_split, split_samples, stratified_split
from spotter.modelbuild.demo_paths import DEMO_DATA, DEMO_FULL, DEMO_NAME, DEMO_WEIGHTS, DEMO_WORK_DIR
from spotter.modelbuild.evaluate import BAND_LOG_ODDS, evaluate, full_resolution_check
from spotter.modelbuild.qat import quantization_aware_int8, quantization_method
from spotter.modelbuild.report import SEED_APPS, table
from spotter.modelbuild.train import TrainConfig, log, save_model, train

DEMO_VERSION = "1.0.0"
DEMO_SEED = 0
DEMO_QAT_EPOCHS = 3
DEMO_FRACTIONS = (0.6, 0.2, 0.2)
DEMO_TARGET_SENSITIVITY = 0.80  # the operating threshold: the highest with this sensitivity on validation
AUGMENTATION = (
    "8 views per training photo: rotation 0-360, random resized crop of 35-100 % of the inscribed "
    "square at aspect 3:4-4:3 (squashed to the input square), mirror, brightness/contrast/saturation "
    "x0.75-1.25, white balance x0.92-1.08 per channel, Gaussian blur (p 0.3, radius 0.3-1.5), lower "
    "resolution (p 0.3, 40-90 %), JPEG re-encoding (p 0.5, quality 40-95); then the card's resize "
    "(spotter.modelbuild.augment)"
)
REBUILD_COMMAND = "make model   (= .venv/bin/spotter model build-demo)"

INTENDED_USE = (
    "Demonstrating Spotter end to end (upload, int8 inference, results) on realistic dermoscopy "
    "photos, and showing how a Keras CNN becomes a small int8 TFLite model without losing accuracy. "
    "Input: a dermoscopic photo of a single pigmented skin lesion. Output: scores for benign "
    "(nevus) and malignant (melanoma). Not for use on people."
)
LIMITATIONS = [
    "Trained on 333 images and tested on 112 from a single collection (ISIC UDA-1): nevus vs melanoma "
    "only, no other lesion types, so every other diagnosis is out of distribution.",
    "The test split is small: ROC AUC has a 95 % interval of roughly +/- 0.07 at this size.",
    "No information on skin types, devices or sites in the data; performance on other populations "
    "and cameras is unknown.",
    "The runtime decides at the operating threshold below (chosen on validation for sensitivity >= 0.80) and "
    "labels scores near it (decision.uncertain_band) `uncertain`; the raw scores are kept beside the decision. At this "
    "sensitivity many benign lesions are flagged: see metrics for specificity.",
    "Photos are centre-cropped to a square before resizing (input.resize): a lesion off the centre of a "
    "wide frame may be cut off.",
]


def build_demo(
    data_dir: Path = DEMO_DATA,
    weights: Path = DEMO_WEIGHTS,
    out_dir: Path = REPO_MODEL_DIR,
    work_dir: Path = DEMO_WORK_DIR,
    config: TrainConfig | None = None,
    full_dir: Path = DEMO_FULL,
) -> dict:
    started = time.perf_counter()
    data_dir, weights, out_dir, work_dir = Path(data_dir), Path(weights), Path(out_dir), Path(work_dir)
    full_dir = Path(full_dir)
    for needed in (data_dir, weights, full_dir):
        if not needed.exists():
            raise FileNotFoundError(f"{needed} is missing: the demo model is built from ../shared (see README)")
    config = config or TrainConfig(weights=str(weights), seed=DEMO_SEED, qat_epochs=DEMO_QAT_EPOCHS)
    dataset = load_dataset(data_dir, label_column="benign_malignant")
    split = stratified_split(dataset, DEMO_FRACTIONS, seed=DEMO_SEED, test_only=full_resolution_ids(full_dir))
    split_path = out_dir / f"{DEMO_NAME}-split.json"
    out_dir.mkdir(parents=True, exist_ok=True)
    save_split(split, split_path)
    log(f"{len(dataset.samples)} images {dataset.counts()}; split saved to {split_path}")

    model, training_log = train(dataset, split, config)
    save_model(model, work_dir / f"{DEMO_NAME}.keras")
    size = (config.size, config.size)
    # the same pictures that calibrated the int8 features the head was fitted on
    calibration = calibration_from_samples(
        split_samples(dataset, split, "train"), size, config.calibration_images, config.seed, config.resize
    )
    tflite_path = out_dir / DEFAULT_MODEL_FILE
    log(f"converting to full-integer int8 with {len(calibration)} training images as the representative dataset")
    if config.qat_epochs:
        content, training_log["quantization_aware"] = quantization_aware_int8(
            model, dataset, split, config, calibration
        )
        tflite_path.parent.mkdir(parents=True, exist_ok=True)
        tflite_path.write_bytes(content)
    else:
        convert(model, tflite_path, calibration=calibration)
    seconds = time.perf_counter() - started
    card = demo_card(
        model,
        tflite_path,
        dataset,
        split,
        training_log,
        weights.name,
        len(calibration),
        seconds,
        data_dir,
        full_dir,
        split_path,
    )
    log(
        f"wrote {tflite_path} ({tflite_path.stat().st_size} bytes), its card and {split_path.name} "
        f"in {time.perf_counter() - started:.0f} s"
    )
    print()
    print(table(card["metrics"], SEED_APPS))
    return card


def demo_card(
    model,
    tflite_path: Path,
    dataset,
    split: dict,
    training_log: dict,
    weights_name: str,
    calibration_images: int,
    seconds: float,
    data_dir: Path = DEMO_DATA,
    full_dir: Path = DEMO_FULL,
    split_path: Path | None = None,
) -> dict:
    """Evaluate the built model (float and int8, test split and full-resolution originals), choose its
    operating threshold on validation, and write its card beside `tflite_path`."""
    import keras
    import tensorflow as tf

    size = tuple(training_log["config"]["size"] for _ in range(2))
    resize = training_log["config"].get("resize", "center_crop")
    card_path = card_path_for(tflite_path)
    # a minimal card first, so the runtime can load the model for evaluation
    write_card(card_path, build_card(DEMO_NAME, DEMO_VERSION, dataset.labels, size, resize=resize))
    log("evaluating float32 (Keras) and int8 (spotter runtime) on the test split")
    metrics = evaluate(model, tflite_path, dataset, split, name=DEMO_NAME, target=DEMO_TARGET_SENSITIVITY)
    positive = metrics["positive_class"]
    decision = {
        "positive": positive,
        "threshold": metrics["int8"]["threshold"],
        "uncertain_band": metrics["int8"]["uncertain_band"],
        "chosen_on": f"validation split ({len(split['validation'])} images), int8 model through the runtime: "
        f"{metrics['int8']['threshold_rule']}",
        "band": f"scores within {BAND_LOG_ODDS} log-odds of the threshold (odds within x/÷ "
        f"{np.exp(BAND_LOG_ODDS):.2f}) are labelled uncertain",
        "target": {"sensitivity": DEMO_TARGET_SENSITIVITY},
    }
    write_card(card_path, build_card(DEMO_NAME, DEMO_VERSION, dataset.labels, size, resize=resize, decision=decision))
    log(f"the {len(full_resolution_ids(full_dir))} full-resolution originals through the runtime")
    metrics["full_resolution"] = full_resolution_check(
        tflite_path, full_dir, data_dir, positive, resize_modes=("center_crop", "pad", "squash")
    )
    config = {**training_log["config"], "weights": weights_name}  # a file name, not a folder of the build machine
    card = build_card(
        DEMO_NAME,
        DEMO_VERSION,
        dataset.labels,
        size,
        resize=resize,
        decision=decision,
        disclaimer=DEMO_DISCLAIMER,
        intended_use=INTENDED_USE,
        limitations=LIMITATIONS,
        model={
            "architecture": "MobileNetV2 (alpha 1.0) ImageNet backbone; global average pooling of the outputs of "
            f"{', '.join(config['taps'])}, concatenated ({training_log['head']['features']} features) and "
            f"standardised; dense {len(dataset.labels)}-way softmax"
            + (
                " fitted on the float and int8 features of every training view (quantization-aware head)"
                if config.get("int8_aware_head")
                else ""
            ),
            "parameters": int(model.count_params()),
            "backbone_weights": {
                "file": weights_name,
                "source": "TF-Hub tf2-preview/mobilenet_v2/feature_vector/4 (ImageNet), mapped onto Keras layer names",
                "licence": "Apache-2.0",
            },
            "output": "probabilities, in the order of `labels`",
        },
        quantization={
            "type": "full-integer int8 (weights, activations, input and output)",
            "tensors": tensor_types(tflite_path),
            "method": quantization_method(training_log.get("quantization_aware")),
            "representative_dataset": f"{calibration_images} images of the training split, decoded and preprocessed "
            "by the runtime's own code (the card's input contract)",
            "converter": f"tensorflow {tf.__version__}, keras {keras.__version__}",
        },
        training_data={
            "name": "ISIC Archive, collection UDA-1 (centre-cropped to 256x256 JPEG)",
            "images": len(dataset.samples),
            "per_class": dataset.counts(),
            "labels_from": "labels.csv column benign_malignant (melanoma: histopathology-confirmed)",
            "licence": "CC0-1.0 (public domain dedication, see ATTRIBUTION.txt of the data)",
            "split": {
                "file": f"{DEMO_NAME}-split.json",
                "method": f"stratified per class, seed {DEMO_SEED}; the "
                f"{len(split.get('test_only', []))} photos of isic-uda1-full (and their 256 px versions) are "
                "test-only",
                "fractions": list(DEMO_FRACTIONS),
                "images": {name: len(split[name]) for name in ("train", "validation", "test")},
            },
        },
        training={
            **training_log,
            "config": config,
            "augmentation": AUGMENTATION,
            "selection": f"L2 strength and fine-tuning epoch by the {training_log['head']['l2_chosen_on']}; "
            "the decision threshold on the int8 validation scores; the test split and the "
            "full-resolution originals are used only for the metrics below",
        },
        metrics=metrics,
        reference={"seed_apps": SEED_APPS},
        build={
            "command": REBUILD_COMMAND,
            "seconds": round(seconds, 1),
            "python": platform.python_version(),
            "machine": platform.machine(),
        },
    )
    write_card(card_path, card)
    return card


def refresh_demo_card(
    out_dir: Path = REPO_MODEL_DIR,
    work_dir: Path = DEMO_WORK_DIR,
    data_dir: Path = DEMO_DATA,
    full_dir: Path = DEMO_FULL,
) -> dict:
    """Evaluate an already built demo model again and rewrite its card (no training): the Keras model in
    `work_dir`, the int8 model, card and split in `out_dir`."""
    from spotter.modelbuild.convert import load_keras_model
    from spotter.modelbuild.data import load_split

    out_dir, work_dir = Path(out_dir), Path(work_dir)
    tflite_path = out_dir / DEFAULT_MODEL_FILE
    old = json.loads(card_path_for(tflite_path).read_text(encoding="utf-8"))
    dataset = load_dataset(data_dir, label_column="benign_malignant")
    split = load_split(out_dir / f"{DEMO_NAME}-split.json")
    model = load_keras_model(work_dir / f"{DEMO_NAME}.keras")
    training = {k: v for k, v in old["training"].items() if k not in ("augmentation", "selection")}
    calibration = int(old["quantization"]["representative_dataset"].split()[0])
    card = demo_card(
        model,
        tflite_path,
        dataset,
        split,
        training,
        old["model"]["backbone_weights"]["file"],
        calibration,
        old["build"]["seconds"],
        data_dir,
        full_dir,
    )
    print(table(card["metrics"], SEED_APPS))
    return card


def full_resolution_ids(full_dir: Path = DEMO_FULL) -> list[str]:
    """The ids of the full-resolution originals (kept out of training and validation)."""
    import csv

    with (Path(full_dir) / "labels.csv").open(newline="", encoding="utf-8") as handle:
        return sorted(row["image_id"].strip() for row in csv.DictReader(handle))


def update_card_metrics(card_path: Path, metrics: dict) -> None:
    card = json.loads(card_path.read_text(encoding="utf-8"))
    kept = {k: v for k, v in card.get("metrics", {}).items() if k == "full_resolution"}  # evaluate does not redo it
    card["metrics"] = {**kept, **metrics}
    write_card(card_path, card)
