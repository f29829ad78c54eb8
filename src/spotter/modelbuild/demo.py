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
from typing import Any

import numpy as np

from spotter.config import DEFAULT_MODEL_FILE, REPO_MODEL_DIR
from spotter.model.calibration import OUT_OF_DOMAIN
from spotter.model.card import card_path_for
from spotter.modelbuild.augment import augmented_pixels
from spotter.modelbuild.cardfile import DEMO_DISCLAIMER, build_card, write_card
from spotter.modelbuild.convert import calibration_from_samples, convert_scores_first, output_names, tensor_types
from spotter.modelbuild.data import (
    Dataset,
    decode,
    label_array,
    list_images,
    load_datasets,
    load_pixels,
    save_split,
    split_samples,
    stratified_split,
    with_links,
)
from spotter.modelbuild.demo_paths import (
    DEMO_DATA,
    DEMO_FULL,
    DEMO_MORE_DATA,
    DEMO_NAME,
    DEMO_NON_SKIN,
    DEMO_WEIGHTS,
    DEMO_WORK_DIR,
)
from spotter.modelbuild.domain import (
    DOMAIN_FEATURES,
    fit_whitening,
    pooled_of,
    threshold_for_share,
    with_domain_output,
)
from spotter.modelbuild.evaluate import BAND_LOG_ODDS, choose_decision, evaluate, full_resolution_check
from spotter.modelbuild.metrics import (
    auc_interval,
    clipped_logit,
    expected_calibration_error,
    fit_platt,
    platt,
    reliability_bins,
)
from spotter.modelbuild.qat import quantization_aware_int8, quantization_method
from spotter.modelbuild.report import SEED_APPS, reliability_diagram, table
from spotter.modelbuild.train import TrainConfig, log, save_model, train

DEMO_VERSION = "2.0.0"
DEMO_SEED = 0
DEMO_QAT_EPOCHS = 2
DEMO_FRACTIONS = (0.6, 0.2, 0.2)
DUPLICATE_COLUMN = "near_duplicate_of"  # isic2017's labels.csv: the near-identical photo's id
DUPLICATE_COSINE = 0.93  # photos this similar in ImageNet features are the same lesion (checked by eye)
DEMO_TARGET_SENSITIVITY = 0.80  # the operating threshold: the highest with this sensitivity on validation
DOMAIN_COMPONENTS = 480  # principal components of the domain check's whitened feature space: all of them
DOMAIN_VIEWS = 2  # augmented views of each training photo, beside it, that the domain check is fitted on
DOMAIN_SHARE = 0.015  # at most this share of in-domain validation photos is flagged (2 % allowed: room for noise)
DOMAIN_SENTENCE = "does not look like a dermoscopy photo; not assessed"
AUGMENTATION = (
    "{copies} views per training photo: rotation 0-360, random resized crop of {scale0:.0f}-{scale1:.0f} % of the "
    "inscribed square at aspect {aspect0:.2f}-{aspect1:.2f} (squashed to the input square), mirror, "
    "brightness/contrast/saturation x0.75-1.25, white balance x0.92-1.08 per channel, Gaussian blur (p 0.3, "
    "radius 0.3-1.5), lower resolution (p 0.3, 40-90 %), JPEG re-encoding (p 0.5, quality 40-95); then the "
    "card's resize (spotter.modelbuild.augment)"
)
REBUILD_COMMAND = "make model   (= .venv/bin/spotter model build-demo)"

INTENDED_USE = (
    "Demonstrating Spotter end to end (upload, int8 inference, calibrated scores, decisions, results) on "
    "realistic dermoscopy photos, and showing how a Keras CNN becomes a small int8 TFLite model without losing "
    "accuracy. Input: a dermoscopic photo of a single pigmented skin lesion (a nevus, melanoma or seborrheic "
    "keratosis, as in ISIC 2017). Output: the probability that the lesion is malignant (melanoma), calibrated "
    "on validation photos of the same collections, its complement for benign, and a distance from the training "
    "photos: a photo that does not look like a dermoscopy photo is not assessed (decision out_of_domain). "
    "Not for use on people."
)
LIMITATIONS = [
    "Trained on {train} photos and tested on {test} from two public collections of the ISIC Archive (ISIC UDA-1 "
    "and the ISIC 2017 challenge's training and validation photos): melanoma against benign nevi and "
    "seborrheic keratoses only. Other diagnoses (basal or squamous cell carcinoma, other benign lesions) "
    "were never seen: their scores mean nothing, and the domain check does not catch them (they are "
    "dermoscopy photos).",
    "ISIC 2017's photos were resized to 256x256 without keeping their aspect ratio (squashed), while uploads "
    "are centre-cropped; the training augmentation spreads aspect ratios to cover both, but the test split's "
    "ISIC 2017 photos are squashed too, so the test figures are for squashed photos.",
    "The test split ({test} photos, {test_pos} melanomas) gives the ROC AUC a 95 % interval of about "
    "+/- {auc_half:.2f}; sensitivity and specificity carry Wilson intervals (metrics).",
    "No information on skin types, devices or sites in the data; performance on other populations and "
    "cameras is unknown. The probabilities are calibrated on photos with about 20 % melanomas: where "
    "melanomas are rarer, the same photo's real chance is lower than the score.",
    "The runtime decides at the operating threshold below (chosen on validation, on the calibrated score, for "
    "sensitivity >= 0.80) and labels scores near it (decision.uncertain_band) `uncertain`; at this sensitivity "
    "many benign lesions are flagged: see metrics for specificity.",
    "The domain check (domain_check) flags photos far from the training photos in the backbone's features: "
    "it was measured on a handful of real non-skin photos and their crops, not on every kind of photo; "
    "a photo of skin without dermoscopy, or a dermoscopy photo of another lesion, may pass it.",
    "Photos are centre-cropped to a square before resizing (input.resize): a lesion off the centre of a "
    "wide frame may be cut off.",
]
NON_SKIN_NOTE = (
    "the real non-skin photos in ../shared/data/detect-samples (pets.jpg: two dogs; grace_hopper.bmp: a "
    "portrait) and five crops of each (centre half, four quadrants): 12 photos, 2 scenes"
)


def demo_config(weights: Path) -> TrainConfig:
    """The recipe chosen on validation (docs/model.md, training.variants on the card)."""
    return TrainConfig(
        weights=str(weights),
        seed=DEMO_SEED,
        augment_copies=4,
        class_weighted=False,
        qat_epochs=DEMO_QAT_EPOCHS,
        qat_copies=0,
    )


def build_demo(
    data_dir: Path = DEMO_DATA,
    weights: Path = DEMO_WEIGHTS,
    out_dir: Path = REPO_MODEL_DIR,
    work_dir: Path = DEMO_WORK_DIR,
    config: TrainConfig | None = None,
    full_dir: Path = DEMO_FULL,
    more_data: tuple[Path, ...] = DEMO_MORE_DATA,
    non_skin_dir: Path = DEMO_NON_SKIN,
) -> dict:
    started = time.perf_counter()
    data_dir, weights, out_dir, work_dir = Path(data_dir), Path(weights), Path(out_dir), Path(work_dir)
    full_dir, more_data = Path(full_dir), tuple(Path(p) for p in more_data)
    for needed in (data_dir, *more_data, weights, full_dir, non_skin_dir):
        if not needed.exists():
            raise FileNotFoundError(f"{needed} is missing: the demo model is built from ../shared (see README)")
    config = config or demo_config(weights)
    dataset, split = demo_split(demo_dataset(data_dir, more_data), weights, full_dir, config.size)
    split_path = out_dir / f"{DEMO_NAME}-split.json"
    out_dir.mkdir(parents=True, exist_ok=True)
    save_split(split, split_path)
    log(
        f"{len(dataset.samples)} images {dataset.counts()} from {dataset.sources}; "
        f"{ {name: len(split[name]) for name in ('train', 'validation', 'test')} }; split saved to {split_path}"
    )

    model, training_log = train(dataset, split, config)
    model, training_log["domain_check"] = add_domain_check(model, dataset, split, config)
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
        convert_scores_first(model, tflite_path, calibration=calibration)
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
        non_skin_dir,
    )
    log(
        f"wrote {tflite_path} ({tflite_path.stat().st_size} bytes), its card and {split_path.name} "
        f"in {time.perf_counter() - started:.0f} s"
    )
    print()
    print(table(card["metrics"], SEED_APPS))
    return card


def add_domain_check(model, dataset, split: dict, config: TrainConfig) -> tuple[object, dict]:
    """`model` with the domain check's output (domain.py), fitted on the float model's pooled features
    of the training photos and DOMAIN_VIEWS augmented views of each."""
    size = (config.size, config.size)
    train_samples = split_samples(dataset, split, "train")
    views, _ = augmented_pixels(
        [decode(s.path, size) for s in train_samples], size, DOMAIN_VIEWS, config.seed + 1, config.resize,
        config.geometry(),
    )  # fmt: skip
    pixels = np.concatenate([load_pixels(train_samples, size, config.resize), views])
    log(f"domain check: pooled {', '.join(DOMAIN_FEATURES)} of {len(pixels)} training photos and views")
    fit = fit_whitening(pooled_of(model, pixels), DOMAIN_COMPONENTS)
    log(f"domain check: {fit['k']} principal components hold {100 * fit['explained']:.1f} % of the variance")
    return with_domain_output(model, fit), {
        "features": "the global average pools of the backbone's last two bottlenecks, block_15_add (160 values) "
        f"and block_16_project_BN (320), concatenated (layers {', '.join(DOMAIN_FEATURES)})",
        "fitted_on": f"{len(train_samples)} training photos and {DOMAIN_VIEWS} augmented views of each "
        f"({len(pixels)} pictures), float model",
        "components": fit["k"],
        "explained_variance": round(fit["explained"], 4),
    }


def non_skin_photos(folder: Path = DEMO_NON_SKIN) -> list[tuple[str, Any]]:
    """Real photos that are not skin, decoded as uploads are, and five crops of each (the centre half and
    the four quadrants): (name, picture)."""
    from spotter.ingest.imaging import decode_image

    photos = []
    for path in list_images(folder):
        picture = decode_image(path.read_bytes(), (4096, 4096)).image
        w, h = picture.size
        crops = {
            "": None,
            "centre": (w // 4, h // 4, w - w // 4, h - h // 4),
            "top-left": (0, 0, w // 2, h // 2),
            "top-right": (w - w // 2, 0, w, h // 2),
            "bottom-left": (0, h - h // 2, w // 2, h),
            "bottom-right": (w - w // 2, h - h // 2, w, h),
        }
        for name, box in crops.items():
            photos.append((path.name + (f" ({name})" if name else ""), picture if box is None else picture.crop(box)))
    return photos


def _served_raw(classifier, samples) -> tuple[np.ndarray, np.ndarray]:
    """The int8 model's raw class scores and domain distances, through the runtime (decode, preprocess)."""
    from spotter.ingest.imaging import decode_image

    raw, distance = [], []
    for sample in samples:
        picture = decode_image(sample.path.read_bytes(), classifier.input_size).image
        raw.append(classifier.raw_scores(classifier.preprocess(picture)))
        distance.append(classifier.domain_distance())
    return np.asarray(raw, np.float64), np.asarray(distance, np.float64)


def _served(classifier, pictures) -> list:
    """The runtime's predictions (calibrated score, decision, distance) for decoded pictures."""
    return [classifier.classify(picture) for picture in pictures]


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
    non_skin_dir: Path = DEMO_NON_SKIN,
) -> dict:
    """Evaluate the built model (float and int8, test split, full-resolution originals, non-skin photos),
    fit its calibration, choose its operating threshold and domain threshold on validation, and write its
    card beside `tflite_path`."""
    import keras
    import tensorflow as tf

    from spotter.ingest.imaging import decode_image
    from spotter.model.classifier import Classifier

    size = tuple(training_log["config"]["size"] for _ in range(2))
    resize = training_log["config"].get("resize", "center_crop")
    card_path = card_path_for(tflite_path)
    distance_output = next(name for name, shape in output_names(tflite_path) if int(np.prod(shape[1:])) == 1)
    provisional_check = {"output": distance_output, "threshold": 1e9, "sentence": DOMAIN_SENTENCE}
    # a minimal card first (no calibration, no decision), so the runtime serves the raw scores
    write_card(
        card_path,
        build_card(DEMO_NAME, DEMO_VERSION, dataset.labels, size, resize=resize, domain_check=provisional_check),
    )
    val_samples, test_samples = split_samples(dataset, split, "validation"), split_samples(dataset, split, "test")
    y_val, y_test = label_array(val_samples), label_array(test_samples)
    positive = 1
    positive_label = dataset.labels[positive]
    log("raw int8 scores and domain distances through the runtime (validation and test)")
    raw_classifier = Classifier.load(tflite_path, num_threads=1)
    raw_val, d_val = _served_raw(raw_classifier, val_samples)
    raw_test, d_test = _served_raw(raw_classifier, test_samples)

    # calibration: Platt scaling of the raw positive score's logit, fitted on validation
    a, b = fit_platt(y_val == positive, clipped_logit(raw_val[:, positive]))
    cal_val = platt(clipped_logit(raw_val[:, positive]), a, b)
    cal_test = platt(clipped_logit(raw_test[:, positive]), a, b)
    choice = choose_decision(y_val, np.stack([1 - cal_val, cal_val], 1), positive, DEMO_TARGET_SENSITIVITY)
    log(f"calibration: a {a:.4f}, b {b:.4f}; threshold {choice['threshold']} on the calibrated score")
    domain_threshold = round(threshold_for_share(d_val, DOMAIN_SHARE), 4)
    decision = {
        "positive": positive_label,
        "threshold": choice["threshold"],
        "uncertain_band": choice["uncertain_band"],
        "chosen_on": f"validation split ({len(val_samples)} images), int8 model through the runtime, on the "
        f"calibrated {positive_label} score: {choice['rule']}",
        "band": f"scores within {BAND_LOG_ODDS} log-odds of the threshold (odds within x/÷ "
        f"{np.exp(BAND_LOG_ODDS):.2f}) are labelled uncertain",
        "target": {"sensitivity": DEMO_TARGET_SENSITIVITY},
    }
    ece = {
        "test_before": expected_calibration_error(y_test == positive, raw_test[:, positive]),
        "test_after": expected_calibration_error(y_test == positive, cal_test),
        "validation_before": expected_calibration_error(y_val == positive, raw_val[:, positive]),
        "validation_after": expected_calibration_error(y_val == positive, cal_val),
    }
    calibration = {
        "method": "platt",
        "a": round(a, 6),
        "b": round(b, 6),
        "on": "logit of the positive class's raw score",
        "fitted_on": f"validation split ({len(val_samples)} photos, {int((y_val == positive).sum())} "
        f"{positive_label}), raw scores of the int8 model through the runtime (clipped to 1e-6..1-1e-6)",
        "ece10_test_before": round(ece["test_before"], 4),
        "ece10_test_after": round(ece["test_after"], 4),
        "ece10_validation_before": round(ece["validation_before"], 4),
        "ece10_validation_after": round(ece["validation_after"], 4),
        "ece": f"expected calibration error of the {positive_label} probability: 10 equal-width bins, "
        "|share of melanomas - mean score| weighted by the bin's share of photos",
    }
    domain_check = {
        "output": distance_output,
        "threshold": domain_threshold,
        "sentence": DOMAIN_SENTENCE,
        "measure": "mean absolute whitened deviation (a Mahalanobis distance in L1 form) of the photo's pooled "
        "backbone features (global average pools of block_15_add and block_16_project_BN, 480 values) from the "
        "training photos' "
        f"mean, over all {DOMAIN_COMPONENTS} principal components, each divided by its standard deviation: "
        "about 0.8 for a typical training photo",
        "chosen_on": f"validation split ({len(val_samples)} in-domain photos): the smallest threshold that flags "
        f"at most {100 * DOMAIN_SHARE:.1f} % of them (int8 model through the runtime; 2 % allowed)",
    }
    base = {
        "name": DEMO_NAME,
        "version": DEMO_VERSION,
        "labels": dataset.labels,
        "size": size,
        "resize": resize,
    }
    write_card(
        card_path,
        build_card(
            base["name"], base["version"], base["labels"], size, resize=resize, decision=decision,
            calibration=calibration, domain_check=domain_check,
        ),
    )  # fmt: skip

    log("evaluating float32 (Keras) and int8 (spotter runtime, calibrated) on the test split")
    metrics = evaluate(
        model, tflite_path, dataset, split, name=DEMO_NAME, target=DEMO_TARGET_SENSITIVITY, decision=decision
    )
    served = Classifier.load(tflite_path, num_threads=1)
    test_predictions = _served(
        served, [decode_image(s.path.read_bytes(), served.input_size).image for s in test_samples]
    )
    served_positive = np.asarray([p.positive_score for p in test_predictions], np.float64)
    if not np.allclose(served_positive, cal_test, atol=2e-6):
        raise RuntimeError("the runtime's calibrated scores differ from the build's Platt scaling")
    decisions = [p.decision for p in test_predictions]
    metrics["int8"]["decisions"] = {name: decisions.count(name) for name in sorted(set(decisions))}
    if abs(auc_interval(y_test == positive, served_positive)[0] - metrics["int8"]["roc_auc_ci95"][0]) > 1e-3:
        raise RuntimeError("the runtime's served scores rank the test photos differently from evaluate()'s")
    metrics["calibration"] = {
        **{f"ece10_{k}": round(v, 4) for k, v in ece.items()},
        "reliability_test_before": reliability_bins(y_test == positive, raw_test[:, positive]),
        "reliability_test_after": reliability_bins(y_test == positive, cal_test),
    }

    log("domain check: non-skin photos through the runtime")
    non_skin = non_skin_photos(non_skin_dir)
    non_skin_predictions = _served(served, [picture for _, picture in non_skin])
    flagged_non_skin = [p.decision == OUT_OF_DOMAIN for p in non_skin_predictions]
    flagged_test = [d == OUT_OF_DOMAIN for d in decisions]
    domain_check["flagged"] = {
        "validation_in_domain": round(float(np.mean(d_val > domain_threshold)), 4),
        "test_in_domain": round(float(np.mean(flagged_test)), 4),
        "non_skin": round(float(np.mean(flagged_non_skin)), 4),
        "non_skin_photos": len(non_skin),
    }
    domain_check["non_skin_photos"] = NON_SKIN_NOTE
    metrics["domain_check"] = {
        "threshold": domain_threshold,
        "validation_distance_percentiles": {
            str(q): round(float(np.percentile(d_val, q)), 4) for q in (50, 90, 98, 100)
        },
        "test_distance_percentiles": {str(q): round(float(np.percentile(d_test, q)), 4) for q in (50, 90, 98, 100)},
        "test_flagged": int(sum(flagged_test)),
        "test_flagged_ids": [s.id for s, f in zip(test_samples, flagged_test) if f],
        "non_skin": [
            {"photo": name, "distance": p.domain_distance, "decision": p.decision}
            for (name, _), p in zip(non_skin, non_skin_predictions)
        ],
        "int8_output_range": _output_range(tflite_path, distance_output),
    }

    log(f"the {len(full_resolution_ids(full_dir))} full-resolution originals through the runtime")
    metrics["full_resolution"] = full_resolution_check(
        tflite_path, full_dir, data_dir, positive_label, resize_modes=("center_crop", "pad", "squash")
    )
    reliability_path = reliability_png_path(tflite_path)
    reliability_diagram(
        reliability_path,
        metrics["calibration"]["reliability_test_before"],
        metrics["calibration"]["reliability_test_after"],
        ece["test_before"],
        ece["test_after"],
        title=f"{DEMO_NAME} {DEMO_VERSION}: {positive_label} score on the test split ({len(test_samples)} photos)",
    )
    metrics["calibration"]["reliability_diagram"] = reliability_path.name
    config = {**training_log["config"], "weights": weights_name}  # a file name, not a folder of the build machine
    training = {k: v for k, v in training_log.items() if k not in ("config",)}
    card = build_card(
        DEMO_NAME,
        DEMO_VERSION,
        dataset.labels,
        size,
        resize=resize,
        decision=decision,
        calibration=calibration,
        domain_check=domain_check,
        disclaimer=DEMO_DISCLAIMER,
        intended_use=INTENDED_USE,
        limitations=_limitations(split, y_test, metrics),
        model={
            "architecture": "MobileNetV2 (alpha 1.0) ImageNet backbone; global average pooling of the outputs of "
            f"{', '.join(config['taps'])}, concatenated ({training_log['head']['features']} features) and "
            f"standardised; dense {len(dataset.labels)}-way softmax. Second output: the domain check's "
            f"distance ({DOMAIN_COMPONENTS} whitened principal components of the block_15_add and "
            "block_16_project_BN pools; "
            "dense + ReLU + dense)",
            "parameters": int(model.count_params()),
            "backbone_weights": {
                "file": weights_name,
                "source": "TF-Hub tf2-preview/mobilenet_v2/feature_vector/4 (ImageNet), mapped onto Keras layer names",
                "licence": "Apache-2.0",
            },
            "output": "first output: probabilities, in the order of `labels` (raw: the runtime calibrates the "
            f"{positive_label} score, see calibration); second output ({distance_output}): the domain check's distance",
        },
        quantization={
            "type": "full-integer int8 (weights, activations, input and outputs)",
            "tensors": tensor_types(tflite_path),
            "method": quantization_method(training_log.get("quantization_aware")),
            "representative_dataset": f"{calibration_images} images of the training split, decoded and preprocessed "
            "by the runtime's own code (the card's input contract)",
            "converter": f"tensorflow {tf.__version__}, keras {keras.__version__}",
        },
        training_data={
            "name": "ISIC Archive: collection UDA-1 (centre-cropped to 256x256 JPEG) and the ISIC 2017 challenge's "
            "training and validation photos not in UDA-1 (resized to 256x256 without keeping the aspect ratio)",
            "images": len(dataset.samples),
            "per_class": dataset.counts(),
            "per_source": dict(dataset.sources),
            "diagnoses": "malignant: melanoma; benign: nevus (UDA-1, ISIC 2017) and seborrheic keratosis (ISIC 2017)",
            "labels_from": "labels.csv column benign_malignant of each collection (UDA-1: melanoma "
            "histopathology-confirmed; ISIC 2017: the challenge's ground truth)",
            "licence": "CC0-1.0 (public domain dedication, see ATTRIBUTION.txt of each collection)",
            "split": {
                "file": f"{DEMO_NAME}-split.json",
                "method": f"stratified per class, seed {DEMO_SEED}; the {len(split.get('test_only', []))} photos of "
                "isic-uda1-full (and their 256 px versions) are test-only; near-duplicates in one split "
                f"({split['near_duplicates']['rule']}: {len(split.get('groups', []))} groups)",
                "fractions": list(DEMO_FRACTIONS),
                "images": {name: len(split[name]) for name in ("train", "validation", "test")},
            },
        },
        training={
            **training,
            "config": config,
            "augmentation": _augmentation_text(config),
            "variants": _variants(),
            "selection": "the recipe among the variants by validation ROC AUC (training.variants); L2 strength "
            f"and fine-tuning epoch by the {training_log['head']['l2_chosen_on']}; the int8 epoch by "
            "validation agreement with float; calibration, decision threshold and domain threshold on the int8 "
            "validation outputs; the test split, the full-resolution originals and the non-skin photos are "
            "used only for the metrics below",
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


def _output_range(tflite_path: Path, name: str) -> list[float]:
    """The dequantized range an int8 output can hold."""
    from spotter.model.runtime import Interpreter

    details = next(d for d in Interpreter(model_path=str(tflite_path)).get_output_details() if d["name"] == name)
    scale, zero = details["quantization"]
    return [round((-128 - zero) * scale, 4), round((127 - zero) * scale, 4)]


def _augmentation_text(config: dict) -> str:
    scale, aspect = config.get("augment_scale", (0.35, 1.0)), config.get("augment_aspect", (0.75, 4 / 3))
    return AUGMENTATION.format(
        copies=config["augment_copies"],
        scale0=100 * scale[0],
        scale1=100 * scale[1],
        aspect0=aspect[0],
        aspect1=aspect[1],
    )


def _limitations(split: dict, y_test: np.ndarray, metrics: dict) -> list[str]:
    low, high = metrics["int8"]["roc_auc_ci95"]
    return [
        text.format(
            train=len(split["train"]),
            test=len(split["test"]),
            test_pos=int(y_test.sum()),
            auc_half=(high - low) / 2,
        )
        for text in LIMITATIONS
    ]


def _variants() -> dict | None:
    """The recipe variants measured on validation (model/skin-lesion-variants.json, written by
    `python -m spotter.modelbuild.variants`)."""
    path = REPO_MODEL_DIR / f"{DEMO_NAME}-variants.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def reliability_png_path(tflite_path: Path) -> Path:
    """Where the build writes its reliability diagram: docs/ for the shipped model, else beside the model."""
    if Path(tflite_path).resolve().parent == REPO_MODEL_DIR.resolve():
        return REPO_MODEL_DIR.parent / "docs" / f"{DEMO_NAME}-reliability.png"
    return Path(tflite_path).with_name(f"{DEMO_NAME}-reliability.png")


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
    dataset = demo_dataset(data_dir)
    split = load_split(out_dir / f"{DEMO_NAME}-split.json")
    model = load_keras_model(work_dir / f"{DEMO_NAME}.keras")
    skip = ("augmentation", "selection", "variants")
    training = {k: v for k, v in old["training"].items() if k not in skip}
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
        out_dir / f"{DEMO_NAME}-split.json",
    )
    print(table(card["metrics"], SEED_APPS))
    return card


def demo_dataset(data_dir: Path = DEMO_DATA, more: tuple[Path, ...] = DEMO_MORE_DATA) -> Dataset:
    """isic-uda1 and isic2017 read as one dataset (label column benign_malignant), isic2017's marked
    near-duplicate pairs grouped."""
    return load_datasets([Path(data_dir), *map(Path, more)], "benign_malignant", DUPLICATE_COLUMN)


def demo_split(dataset: Dataset, weights: Path, full_dir: Path = DEMO_FULL, size: int = 224) -> tuple[Dataset, dict]:
    """The demo split: stratified 60/20/20 per class (seed fixed), the full-resolution originals
    test-only, and near-duplicates kept in one split: the pairs isic2017 marks, and every pair of photos
    whose ImageNet backbone features (global average pool of out_relu) have a cosine similarity of at
    least DUPLICATE_COSINE (the same lesion photographed again, or one photo in both collections).
    Returns the dataset with those groups, and the split."""
    import keras

    from spotter.modelbuild.features import FloatRunner, float_tflite, near_duplicates, run_on_pixels
    from spotter.modelbuild.train import build_backbone

    samples = sorted(dataset.samples, key=lambda s: s.id)
    base = build_backbone(TrainConfig(weights=str(weights), size=size))
    pooled = keras.layers.GlobalAveragePooling2D()(base.get_layer("out_relu").output)
    runner = FloatRunner(float_tflite(keras.Model(base.input, pooled)))
    log(f"looking for near-duplicates among {len(samples)} photos (ImageNet features, cosine >= {DUPLICATE_COSINE})")
    features = np.concatenate(
        [run_on_pixels(runner, load_pixels(samples[i : i + 256], (size, size))) for i in range(0, len(samples), 256)]
    )
    found = near_duplicates(features, [s.id for s in samples], DUPLICATE_COSINE)
    marked = sorted({tuple(sorted(pair)) for pair in _pairs(dataset.groups)})
    dataset = with_links(dataset, [(a, b) for a, b, _ in found])
    split = stratified_split(dataset, DEMO_FRACTIONS, seed=DEMO_SEED, test_only=full_resolution_ids(full_dir))
    split["near_duplicates"] = {
        "rule": f"kept in one split: the pairs isic2017's {DUPLICATE_COLUMN} column marks (both photos present), "
        f"and pairs whose ImageNet MobileNetV2 features (global average pool of out_relu) have a cosine "
        f"similarity >= {DUPLICATE_COSINE}",
        "marked": [list(pair) for pair in marked],
        "found_by_similarity": [list(pair) for pair in found],
    }
    return dataset, split


def _pairs(groups: dict[str, str]) -> list[tuple[str, str]]:
    return [(key, member) for member, key in groups.items() if member != key]


def full_resolution_ids(full_dir: Path = DEMO_FULL) -> list[str]:
    """The ids of the full-resolution originals (kept out of training and validation)."""
    import csv

    with (Path(full_dir) / "labels.csv").open(newline="", encoding="utf-8") as handle:
        return sorted(row["image_id"].strip() for row in csv.DictReader(handle))


def update_card_metrics(card_path: Path, metrics: dict) -> None:
    card = json.loads(card_path.read_text(encoding="utf-8"))
    redone_elsewhere = ("full_resolution", "calibration", "domain_check")  # evaluate() does not redo these
    kept = {k: v for k, v in card.get("metrics", {}).items() if k in redone_elsewhere}
    card["metrics"] = {**kept, **metrics}
    write_card(card_path, card)
