"""Float vs int8 on the same held-out test split, through the production decode and runtime.

The float model is the Keras model, fed pixels decoded and resized by the runtime's own code;
the int8 model runs through `spotter.model.classifier.Classifier` (the real runtime) on the decoded
pictures. Each model's decision threshold is chosen on the validation split (the highest cut with
sensitivity >= the target, default 0.80; Youden's J without a target) and only then applied to the
test split; an int8 model whose card already carries a decision is scored at the card's threshold. Size and latency: the `.tflite` files (the float one
converted on the fly), one thread, median invoke time over the test images.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from spotter.ingest.imaging import decode_image
from spotter.model.card import card_path_for
from spotter.model.classifier import Classifier
from spotter.modelbuild.cardfile import runtime_card, write_card
from spotter.modelbuild.data import Dataset, Sample, label_array, load_pixels, scale_pixels, split_samples
from spotter.modelbuild.metrics import (
    auc_difference,
    auc_interval,
    choose_threshold,
    summarize,
    threshold_for_sensitivity,
)
from spotter.results.scoring import RIGHT_RULE, is_right

TARGET_SENSITIVITY = 0.80
BAND_LOG_ODDS = 0.5  # scores within this many log-odds (odds x/÷ 1.65) of the threshold are labelled uncertain


def keras_probs(model, pixels: np.ndarray, value_range=(-1.0, 1.0), batch_size: int = 32) -> np.ndarray:
    parts = [
        np.asarray(_first(model(scale_pixels(pixels[i : i + batch_size], value_range), training=False)))
        for i in range(0, len(pixels), batch_size)
    ]
    probs = np.concatenate(parts).astype(np.float64)
    if probs.shape[1] == 1:  # one sigmoid output: the positive (second) class, as the runtime reads it
        probs = np.concatenate([1.0 - probs, probs], axis=1)
    return probs


def _first(outputs):
    """A model's class scores: its only output, or the first of several (a domain check's distance after)."""
    return outputs[0] if isinstance(outputs, (list, tuple)) else outputs


def runtime_probs(tflite_path: str | Path, samples: list[Sample]) -> tuple[np.ndarray, list[float]]:
    """Class scores from the serving runtime for each sample, and each invoke time (ms), one thread."""
    classifier = Classifier.load(tflite_path, num_threads=1)
    probs, latencies = [], []
    for sample in samples:
        picture = decode_image(sample.path.read_bytes(), classifier.input_size).image
        tensor = classifier.preprocess(picture)
        started = time.perf_counter()
        scores = classifier.scores(tensor)
        latencies.append((time.perf_counter() - started) * 1000.0)
        probs.append(scores)
    return np.asarray(probs, np.float64), latencies


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def uncertain_band(threshold: float, log_odds: float = BAND_LOG_ODDS) -> list[float]:
    """The scores within `log_odds` of the threshold on the log-odds scale: a band that stays
    meaningful for a threshold near 0 or 1, where a fixed width in probability would not."""
    centre = _logit(threshold)
    return [round(_sigmoid(centre - log_odds), 4), round(_sigmoid(centre + log_odds), 4)]


def choose_decision(
    y_val, p_val, positive: int, target: float | None = TARGET_SENSITIVITY, log_odds: float = BAND_LOG_ODDS
) -> dict:
    """A binary model's operating point, chosen on validation: threshold and uncertain band."""
    score = p_val[:, positive]
    if target is None:
        threshold, rule = (
            choose_threshold(y_val == positive, score),
            "maximising sensitivity + specificity (Youden's J)",
        )
    else:
        threshold, rule = (
            threshold_for_sensitivity(y_val == positive, score, target),
            f"the highest with sensitivity >= {target:.2f}",
        )
    threshold = round(float(threshold), 4)
    return {
        "threshold": threshold,
        "uncertain_band": uncertain_band(threshold, log_odds),
        "rule": rule,
        "target_sensitivity": target,
        "band_log_odds": log_odds,
    }


def _scored(
    y_val, p_val, y_test, p_test, positive: int, decision: dict | None = None, target: float | None = TARGET_SENSITIVITY
) -> dict:
    if p_val.shape[1] != 2:
        result = summarize(y_test, p_test, positive=positive)
    else:
        decision = decision or choose_decision(y_val, p_val, positive, target)
        band = tuple(decision["uncertain_band"]) if decision.get("uncertain_band") else None
        result = summarize(y_test, p_test, threshold=decision["threshold"], positive=positive, band=band)
        at_validation = summarize(y_val, p_val, threshold=decision["threshold"], positive=positive)
        result.update(
            validation_sensitivity=at_validation["sensitivity"],
            validation_specificity=at_validation["specificity"],
            threshold_rule=decision.get("rule"),
        )
    result["validation_roc_auc"] = summarize(y_val, p_val, positive=positive)["roc_auc"]
    return result


def _round(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def _rounded(metrics: dict) -> dict:
    return {k: _round(v) for k, v in metrics.items()}


def evaluate(
    model,
    int8_path: str | Path,
    dataset: Dataset,
    split: dict,
    *,
    value_range=(-1.0, 1.0),
    positive: int = 1,
    name: str = "model",
    target: float | None = TARGET_SENSITIVITY,
    decision: dict | None = None,
) -> dict:
    """Metrics of the float (Keras) and int8 (TFLite, served by Classifier) models on split['test'].
    Binary: each at a threshold chosen on validation for sensitivity >= `target`, or the int8 model
    at `decision` (a card's) when given."""
    from spotter.modelbuild.convert import convert_scores_first

    int8_path = Path(int8_path)
    val_samples, test_samples = split_samples(dataset, split, "validation"), split_samples(dataset, split, "test")
    y_val, y_test = label_array(val_samples), label_array(test_samples)
    served = Classifier.load(int8_path)
    size, resize = served.input_size, served.contract.resize

    p_val_f = keras_probs(model, load_pixels(val_samples, size, resize), value_range)
    p_test_f = keras_probs(model, load_pixels(test_samples, size, resize), value_range)
    float_metrics = _scored(y_val, p_val_f, y_test, p_test_f, positive, target=target)

    p_val_q, _ = runtime_probs(int8_path, val_samples)
    p_test_q, latency_q = runtime_probs(int8_path, test_samples)
    int8_metrics = _scored(y_val, p_val_q, y_test, p_test_q, positive, decision, target)
    int8_metrics.update(size_bytes=int8_path.stat().st_size, latency_ms=round(statistics.median(latency_q), 2))

    with tempfile.TemporaryDirectory() as tmp:  # the float32 TFLite twin, for its size and speed
        float_path = convert_scores_first(model, Path(tmp) / f"{name}-float32.tflite", quantize=False)
        write_card(card_path_for(float_path), runtime_card(name, "float32", dataset.labels, size, value_range, resize))
        _, latency_f = runtime_probs(float_path, test_samples)
        float_metrics.update(size_bytes=float_path.stat().st_size, latency_ms=round(statistics.median(latency_f), 2))

    agreement = float((p_test_f.argmax(1) == p_test_q.argmax(1)).mean())
    extra: dict[str, Any] = {}
    if p_test_q.shape[1] == 2:
        truth = y_test == positive
        float_metrics["roc_auc_ci95"] = auc_interval(truth, p_test_f[:, positive])
        int8_metrics["roc_auc_ci95"] = auc_interval(truth, p_test_q[:, positive])
        gap = auc_difference(truth, p_test_q[:, positive], p_test_f[:, positive])
        extra["int8_minus_float_auc"] = {"difference": round(gap["difference"], 4), "ci95": _round(gap["ci95"])}
        extra["auc_interval"] = "95 % DeLong interval"
    return {
        **extra,
        "split": {
            "name": "test",
            "images": len(y_test),
            "per_class": {dataset.labels[k]: int((y_test == k).sum()) for k in range(len(dataset.labels))},
            "threshold_chosen_on": f"validation ({len(y_val)} images), "
            + (
                f"the highest threshold with sensitivity >= {target:.2f}"
                if target is not None
                else "maximising sensitivity + specificity"
            )
            + ("; int8: the card's decision" if decision else ""),
        },
        "positive_class": dataset.labels[positive] if len(dataset.labels) == 2 else None,
        "float32": _rounded(float_metrics),
        "int8": _rounded(int8_metrics),
        "int8_float_top1_agreement": round(agreement, 4),
        "latency_note": "median TFLite invoke time, one thread, ai-edge-litert, on the build machine",
    }


def full_resolution_check(
    tflite_path: str | Path,
    full_dir: str | Path,
    small_dir: str | Path,
    positive_label: str | None = None,
    label_column: str = "benign_malignant",
    resize_modes: tuple[str, ...] = (),
) -> dict:
    """The int8 model through the runtime (decode, the card's preprocessing and decision) on the
    full-resolution originals in `full_dir` and on their 256 px versions in `small_dir`: how many are
    right at the card's threshold, how many land in the uncertain band, and how often the two
    resolutions agree. `resize_modes`: also count the full-resolution hits with other resize modes."""
    from dataclasses import replace

    from spotter.modelbuild.data import load_dataset

    classifier = Classifier.load(tflite_path, num_threads=1)
    full = load_dataset(full_dir, label_column)
    small = load_dataset(small_dir, label_column).by_id()
    positive = positive_label or (classifier.decision.positive if classifier.decision else classifier.labels[-1])
    threshold = classifier.decision.threshold if classifier.decision else 0.5

    def score(path: Path, served: Classifier) -> float:
        picture = decode_image(path.read_bytes(), served.input_size).image
        return float(served.scores(served.preprocess(picture))[served.labels.index(positive)])

    def upload(path: Path):  # the runtime's prediction for an upload of this file (decision, distance)
        return classifier.classify(decode_image(path.read_bytes(), classifier.input_size).image)

    rows: list[dict[str, Any]] = []
    for sample in full.samples:
        truth = full.labels[sample.label]
        s_full, s_small = score(sample.path, classifier), score(small[sample.id].path, classifier)
        p_full, p_small = upload(sample.path), upload(small[sample.id].path)
        rows.append(
            {
                "id": sample.id,
                "truth": truth,
                "score_full": round(s_full, 4),
                "score_256": round(s_small, 4),
                "positive_full": s_full >= threshold,
                "positive_256": s_small >= threshold,
                "decision_full": p_full.decision,
                "decision_256": p_small.decision,
                **(
                    {"distance_full": p_full.domain_distance, "distance_256": p_small.domain_distance}
                    if p_full.domain_distance is not None
                    else {}
                ),
            }
        )
    result: dict[str, Any] = {
        "images": len(rows),
        "per_class": full.counts(),
        "positive_class": positive,
        "threshold": threshold,
        # right: the decision is the truth; uncertain and out-of-domain photos are neither (the one rule
        # of spotter.results.scoring, which the page and `spotter score` use too)
        "right_rule": RIGHT_RULE,
        "right_full": sum(is_right(r["decision_full"], r["truth"], classifier.labels) is True for r in rows),
        "right_256": sum(is_right(r["decision_256"], r["truth"], classifier.labels) is True for r in rows),
        "wrong_full": sum(is_right(r["decision_full"], r["truth"], classifier.labels) is False for r in rows),
        "wrong_256": sum(is_right(r["decision_256"], r["truth"], classifier.labels) is False for r in rows),
        "agree": sum(r["positive_full"] == r["positive_256"] for r in rows),
        "uncertain_full": sum(r["decision_full"] == "uncertain" for r in rows),
        "uncertain_256": sum(r["decision_256"] == "uncertain" for r in rows),
        "out_of_domain_full": sum(r["decision_full"] == "out_of_domain" for r in rows),
        "out_of_domain_256": sum(r["decision_256"] == "out_of_domain" for r in rows),
        "mean_abs_score_difference": round(float(np.mean([abs(r["score_full"] - r["score_256"]) for r in rows])), 4),
        "resize": classifier.contract.resize,
        "photos": rows,
    }
    if resize_modes:
        result["right_full_by_resize"] = {}
        for mode in resize_modes:
            served = Classifier(classifier._interpreter, replace(classifier.card, resize=mode), classifier.path)
            decide = served.decision.decide if served.decision else None
            hits = sum(
                is_right(decide(score(s.path, served)) if decide else None, full.labels[s.label], served.labels) is True
                for s in full.samples
            )  # the card's decision (its uncertain band included) at this resize; the domain check not applied
            result["right_full_by_resize"][mode] = int(hits)
    return result
