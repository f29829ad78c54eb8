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

from ..card import card_path_for
from ..config import DEFAULT_MODEL_FILE, REPO_MODEL_DIR
from .cardfile import DEMO_DISCLAIMER, build_card, write_card
from .convert import calibration_from_samples, convert, tensor_types
from .data import load_dataset, save_split, split_samples, stratified_split
from .evaluate import evaluate
from .qat import quantization_aware_int8, quantization_method
from .report import SEED_APPS, table
from .train import TrainConfig, log, save_model, train

REPO_ROOT = REPO_MODEL_DIR.parent
SHARED = REPO_ROOT.parent / "shared"
DEMO_DATA = SHARED / "data" / "isic-uda1"
DEMO_WEIGHTS = SHARED / "weights" / "mobilenetv2_1.00_224_imagenet_notop.weights.h5"
DEMO_NAME = "skin-lesion"
DEMO_VERSION = "1.0.0"
DEMO_SEED = 0
DEMO_QAT_EPOCHS = 3
DEMO_FRACTIONS = (0.6, 0.2, 0.2)
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
    "The runtime reports the top label (argmax of the two scores); the validation-chosen threshold "
    "on the malignant score is recorded below for reference, not applied by the runtime.",
]


def build_demo(data_dir: Path = DEMO_DATA, weights: Path = DEMO_WEIGHTS, out_dir: Path = REPO_MODEL_DIR,
               work_dir: Path = REPO_ROOT / "build" / DEMO_NAME, config: TrainConfig | None = None) -> dict:
    started = time.perf_counter()
    data_dir, weights, out_dir, work_dir = Path(data_dir), Path(weights), Path(out_dir), Path(work_dir)
    for needed in (data_dir, weights):
        if not needed.exists():
            raise FileNotFoundError(f"{needed} is missing: the demo model is built from ../shared (see README)")
    config = config or TrainConfig(weights=str(weights), seed=DEMO_SEED, qat_epochs=DEMO_QAT_EPOCHS)
    dataset = load_dataset(data_dir, label_column="benign_malignant")
    split = stratified_split(dataset, DEMO_FRACTIONS, seed=DEMO_SEED)
    split_path = out_dir / f"{DEMO_NAME}-split.json"
    save_split(split, split_path)
    log(f"{len(dataset.samples)} images {dataset.counts()}; split saved to {split_path}")

    model, training_log = train(dataset, split, config)
    keras_path = save_model(model, work_dir / f"{DEMO_NAME}.keras")
    size = (config.size, config.size)
    # the same pictures that calibrated the int8 features the head was fitted on
    calibration = calibration_from_samples(split_samples(dataset, split, "train"), size, config.calibration_images, config.seed)
    tflite_path = out_dir / DEFAULT_MODEL_FILE
    log(f"converting to full-integer int8 with {len(calibration)} training images as the representative dataset")
    if config.qat_epochs:
        content, training_log["quantization_aware"] = quantization_aware_int8(model, dataset, split, config, calibration)
        tflite_path.parent.mkdir(parents=True, exist_ok=True)
        tflite_path.write_bytes(content)
    else:
        convert(model, tflite_path, calibration=calibration)
    # a minimal card first, so the runtime can load the model for evaluation
    write_card(card_path_for(tflite_path), build_card(DEMO_NAME, DEMO_VERSION, dataset.labels, size))
    log("evaluating float32 (Keras) and int8 (spotter runtime) on the test split")
    metrics = evaluate(model, tflite_path, dataset, split, name=DEMO_NAME)
    seconds = time.perf_counter() - started

    import keras
    import tensorflow as tf

    card = build_card(
        DEMO_NAME, DEMO_VERSION, dataset.labels, size,
        disclaimer=DEMO_DISCLAIMER,
        intended_use=INTENDED_USE,
        limitations=LIMITATIONS,
        model={
            "architecture": "MobileNetV2 (alpha 1.0) ImageNet backbone; global average pooling of the outputs of "
                            f"{', '.join(config.taps)}, concatenated ({training_log['head']['features']} features) and "
                            f"standardised; dense {len(dataset.labels)}-way softmax"
                            + (" fitted on the float and int8 features of every training view (quantization-aware "
                               "head)" if config.int8_aware_head else ""),
            "parameters": int(model.count_params()),
            "backbone_weights": {"file": weights.name, "source": "TF-Hub tf2-preview/mobilenet_v2/feature_vector/4 "
                                 "(ImageNet), mapped onto Keras layer names", "licence": "Apache-2.0"},
            "output": "probabilities, in the order of `labels`",
        },
        quantization={
            "type": "full-integer int8 (weights, activations, input and output)",
            "tensors": tensor_types(tflite_path),
            "method": quantization_method(training_log.get("quantization_aware")),
            "representative_dataset": f"{len(calibration)} images of the training split, decoded and resized "
                                      "by the runtime's own code",
            "converter": f"tensorflow {tf.__version__}, keras {keras.__version__}",
        },
        training_data={
            "name": "ISIC Archive, collection UDA-1 (centre-cropped to 256x256 JPEG)",
            "images": len(dataset.samples),
            "per_class": dataset.counts(),
            "labels_from": "labels.csv column benign_malignant (melanoma: histopathology-confirmed)",
            "licence": "CC0-1.0 (public domain dedication, see ATTRIBUTION.txt of the data)",
            "split": {"file": split_path.name, "method": f"stratified per class, seed {DEMO_SEED}",
                      "fractions": list(DEMO_FRACTIONS),
                      "images": {name: len(split[name]) for name in ("train", "validation", "test")}},
        },
        training={**training_log, "augmentation": "random rotation 0-360 degrees, mirror, crop 75-100 % of the "
                  "area, brightness/contrast/saturation x0.85-1.15 (Pillow), then the runtime's resize",
                  "selection": f"L2 strength and fine-tuning epoch by the {training_log['head']['l2_chosen_on']}; "
                               "the test split is used only for the metrics below"},
        metrics=metrics,
        decision_threshold={"class": metrics.get("positive_class"), "score": metrics["int8"].get("threshold"),
                            "chosen_on": "validation split (Youden's J), for the int8 model"},
        reference={"seed_apps": SEED_APPS},
        build={"command": REBUILD_COMMAND, "seconds": round(seconds, 1), "python": platform.python_version(),
               "machine": platform.machine()},
    )
    write_card(card_path_for(tflite_path), card)
    log(f"wrote {tflite_path} ({tflite_path.stat().st_size} bytes), its card and {split_path.name} in {seconds:.0f} s")
    print()
    print(table(metrics, SEED_APPS))
    return card


def update_card_metrics(card_path: Path, metrics: dict) -> None:
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["metrics"] = metrics
    write_card(card_path, card)
