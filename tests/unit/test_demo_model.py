"""The committed demo model: it loads with the runtime, its card says what it is (calibration, decision,
domain check), and (where ../shared exists) it classifies real photos and reproduces the test metrics,
the calibrated scores and the domain check's figures on its card."""

from __future__ import annotations

import json

import numpy as np
import pytest
from model_helpers import METRIC_KEYS

from spotter.config import REPO_MODEL_DIR, default_model_path
from spotter.ingest.imaging import decode_image
from spotter.model.card import load_card
from spotter.model.classifier import Classifier

MODEL = REPO_MODEL_DIR / "skin-lesion-int8.tflite"
CARD = REPO_MODEL_DIR / "skin-lesion-int8.card.json"
SPLIT = REPO_MODEL_DIR / "skin-lesion-split.json"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load(MODEL, num_threads=1)


def test_it_is_the_default_model():
    assert default_model_path().name == MODEL.name
    assert MODEL.stat().st_size < 4 * 1024 * 1024


def test_loads_with_the_runtime_as_full_int8(classifier):
    assert classifier.name == "skin-lesion"
    assert classifier.version.count(".") == 2
    assert classifier.labels == ("benign", "malignant")
    assert classifier.input_size == (224, 224)
    assert classifier.input_dtype == np.int8
    assert np.dtype(classifier._output["dtype"]) == np.int8


def test_its_first_output_is_the_scores_and_its_second_the_domain_distance():
    """A runtime that knows no domain check reads the first output as the class scores."""
    from spotter.model.runtime import Interpreter

    outputs = Interpreter(model_path=str(MODEL)).get_output_details()
    assert [[int(n) for n in d["shape"]] for d in outputs] == [[1, 2], [1, 1]]
    assert all(np.dtype(d["dtype"]) == np.int8 for d in outputs)
    assert load_card(CARD).extra["domain_check"]["output"] == outputs[1]["name"]


def test_card_says_what_it_is():
    card = load_card(CARD)
    extra = card.extra
    assert card.scaling is not None and card.resize == "center_crop" and card.filter == "bilinear"
    assert "EXIF" in extra["input"]["colour"]
    assert card.decision is not None and card.decision.positive == "malignant"
    band = card.decision.band
    assert band is not None and band[0] < card.decision.threshold < band[1]
    assert extra["decision"]["target"]["sensitivity"] == 0.8
    assert "calibrated" in extra["decision"]["chosen_on"]
    assert extra["metrics"]["int8"]["threshold"] == card.decision.threshold
    assert extra["metrics"]["int8"]["validation_sensitivity"] >= 0.8
    assert "/" not in extra["training"]["config"]["weights"]  # a file name, not a folder of the build machine
    assert "not a medical device" in extra["disclaimer"].lower()
    assert extra["training_data"]["licence"].startswith("CC0")
    assert extra["training_data"]["per_source"] == {"isic-uda1": 557, "isic2017": 1694}
    assert extra["training_data"]["per_class"] == {"benign": 1802, "malignant": 449}
    assert extra["quantization"]["tensors"]["input"]["dtype"] == "int8"
    metrics = extra["metrics"]
    for kind in ("float32", "int8"):
        assert set(metrics[kind]) >= METRIC_KEYS
        low, high = metrics[kind]["roc_auc_ci95"]  # DeLong
        assert low < metrics[kind]["roc_auc"] < high and high - low < 0.15
    assert {"sensitivity_ci95", "specificity_ci95", "uncertain_band", "uncertain"} <= set(metrics["int8"])
    assert metrics["int8"]["size_bytes"] == MODEL.stat().st_size
    # Issue 26's targets: at most 4 MB; sensitivity >= 0.80 at the validation-chosen threshold (on validation; on
    # test it is what the card says, with its interval); int8 within 0.01 AUC of float: met on validation, where
    # the build chose, and missed on test by 0.002 in int8's favour (int8 0.864, float 0.852: docs/model.md), so
    # the test bound is 0.015 and the int8 model must not score below float there. The AUC floor guards against
    # a regression: the model trained on 557 photos scored 0.799 on its own (smaller) test split.
    assert metrics["int8"]["roc_auc"] >= 0.80
    assert abs(metrics["int8"]["validation_roc_auc"] - metrics["float32"]["validation_roc_auc"]) <= 0.01
    gap = metrics["int8_minus_float_auc"]
    assert gap["difference"] == pytest.approx(metrics["int8"]["roc_auc"] - metrics["float32"]["roc_auc"], abs=2e-4)
    assert -0.01 <= gap["difference"] <= 0.015 and gap["ci95"][0] < gap["difference"] < gap["ci95"][1]
    assert metrics["full_resolution"]["agree"] >= 18
    qat = extra["training"]["quantization_aware"]
    best = qat["best_epoch"]
    if best:
        assert extra["quantization"]["method"].startswith(f"quantization-aware fine-tuning: epoch {best}")
    assert qat["history"][best]["validation_disagreement"] <= qat["history"][0]["validation_disagreement"]
    assert extra["reference"]["seed_apps"]["images"] == 1017
    variants = extra["training"]["variants"]
    assert len(variants["rows"]) >= 5 and sum(row["chosen"] for row in variants["rows"]) == 1


def test_card_calibration_and_domain_check():
    card = load_card(CARD)
    calibration, check = card.extra["calibration"], card.extra["domain_check"]
    assert calibration["method"] == "platt" and calibration["on"] == "logit of the positive class's raw score"
    assert card.calibration is not None and card.calibration.a == calibration["a"] > 0
    assert "validation" in calibration["fitted_on"]
    # calibrated scores read as probabilities: the error drops on the test split, which never fitted it
    assert calibration["ece10_test_after"] < calibration["ece10_test_before"]
    assert calibration["ece10_test_after"] <= 0.08
    assert card.domain_check is not None and card.domain_check.threshold == check["threshold"]
    assert check["sentence"] == "does not look like a dermoscopy photo; not assessed"
    flagged = check["flagged"]
    assert flagged["validation_in_domain"] <= 0.02 and flagged["test_in_domain"] <= 0.02
    assert flagged["non_skin"] >= 0.9 and flagged["non_skin_photos"] >= 10
    assert (REPO_MODEL_DIR.parent / "docs" / card.extra["metrics"]["calibration"]["reliability_diagram"]).is_file()


def test_split_is_saved_and_disjoint():
    split = json.loads(SPLIT.read_text())
    parts = [set(split[name]) for name in ("train", "validation", "test")]
    assert all(parts) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert len(split["test_only"]) == 20 and set(split["test_only"]) <= parts[2]  # the full-resolution originals
    assert split["labels"] == ["benign", "malignant"]
    assert split["datasets"] == {"isic-uda1": 557, "isic2017": 1694} and sum(map(len, parts)) == 2251
    assert len(split["test"]) == load_card(CARD).extra["metrics"]["split"]["images"]
    # near-duplicates (isic2017's marked pairs, and pairs found by feature similarity) never straddle splits
    duplicates = split["near_duplicates"]
    assert ["ISIC_0012127", "ISIC_0012970"] in duplicates["marked"]
    assert len(split["groups"]) >= len(duplicates["marked"])
    for group in split["groups"]:
        assert sum(bool(set(group) & part) for part in parts) == 1, group


def _demo_dataset(shared_dir):
    from spotter.modelbuild.data import load_datasets

    data = shared_dir / "data"
    return load_datasets([data / "isic-uda1", data / "isic2017"], "benign_malignant", "near_duplicate_of")


def test_classifies_shared_photos(classifier, shared_dir):
    folder = shared_dir / "data" / "isic-uda1"
    for path in sorted(folder.glob("*.jpg"))[:5]:
        prediction = classifier.classify(decode_image(path.read_bytes(), classifier.input_size).image, top_k=2)
        assert prediction.label in classifier.labels
        assert sum(score for _, score in prediction.top) == pytest.approx(1.0, abs=0.02)


def test_full_resolution_photos_decode_and_classify(classifier, shared_dir):
    folder = shared_dir / "data" / "isic-uda1-full"
    paths = sorted(folder.glob("*.jpg"))[:2]
    if not paths:
        pytest.skip("no full-resolution photos")
    for path in paths:
        assert (
            classifier.classify(decode_image(path.read_bytes(), classifier.input_size).image).label in classifier.labels
        )


def test_runtime_reproduces_the_int8_test_auc_on_the_card(classifier, shared_dir):
    from spotter.modelbuild.data import split_samples
    from spotter.modelbuild.evaluate import runtime_probs
    from spotter.modelbuild.metrics import roc_auc

    if not (shared_dir / "data" / "isic2017").is_dir():
        pytest.skip("no isic2017 photos")
    dataset = _demo_dataset(shared_dir)
    test = split_samples(dataset, json.loads(SPLIT.read_text()), "test")
    probs, _ = runtime_probs(MODEL, test)
    auc = roc_auc(np.array([s.label == 1 for s in test]), probs[:, 1])
    assert auc == pytest.approx(load_card(CARD).extra["metrics"]["int8"]["roc_auc"], abs=1e-3)


def test_full_resolution_originals_through_the_runtime_match_the_card(classifier, shared_dir):
    """The 20 full-resolution originals, decoded and preprocessed by the runtime, and their 256 px
    versions: as many right and agreeing as the card claims, each score as the card lists it."""
    from spotter.modelbuild.evaluate import full_resolution_check

    full_dir = shared_dir / "data" / "isic-uda1-full"
    if not (full_dir / "labels.csv").exists():
        pytest.skip("no full-resolution photos")
    claimed = load_card(CARD).extra["metrics"]["full_resolution"]
    measured = full_resolution_check(MODEL, full_dir, shared_dir / "data" / "isic-uda1", "malignant")
    assert measured["images"] == claimed["images"] == 20
    keys = ("right_full", "right_256", "agree", "uncertain_full", "uncertain_256", "out_of_domain_full", "threshold")
    for key in (*keys, "resize"):
        assert measured[key] == claimed[key], key
    for got, card in zip(measured["photos"], claimed["photos"]):
        assert got["id"] == card["id"] and got["decision_full"] == card["decision_full"]
        assert got["score_full"] == pytest.approx(card["score_full"], abs=2e-3)
        assert got["score_256"] == pytest.approx(card["score_256"], abs=2e-3)
    # what the runtime says for an upload is what the check counted
    photo = next(p for p in claimed["photos"] if p["id"] == measured["photos"][0]["id"])
    upload = classifier.classify(
        decode_image((full_dir / f"{photo['id']}.jpg").read_bytes(), classifier.input_size).image
    )
    assert upload.decision == photo["decision_full"]


def test_non_skin_photos_are_out_of_domain_as_the_card_says(classifier, shared_dir):
    """The domain check through the runtime: the card's non-skin photos (detect-samples and their crops)
    get decision out_of_domain with the card's sentence, their scores kept, as many as the card claims."""
    from spotter.modelbuild.demo import non_skin_photos

    folder = shared_dir / "data" / "detect-samples"
    if not folder.is_dir():
        pytest.skip("no detect-samples")
    claimed = {row["photo"]: row for row in load_card(CARD).extra["metrics"]["domain_check"]["non_skin"]}
    photos = non_skin_photos(folder)
    assert len(photos) == len(claimed)
    flagged = 0
    for name, picture in photos:
        prediction = classifier.classify(picture)
        assert prediction.decision == claimed[name]["decision"], name
        assert prediction.domain_distance == pytest.approx(claimed[name]["distance"], abs=1e-3)
        if prediction.decision == "out_of_domain":
            flagged += 1
            assert "does not look like a dermoscopy photo; not assessed" in (prediction.decision_rule or "")
            assert prediction.positive_score is not None and len(prediction.top) == 2  # the scores are kept
    assert flagged / len(photos) == load_card(CARD).extra["domain_check"]["flagged"]["non_skin"]


def test_served_scores_are_the_cards_platt_scaling_of_the_raw_scores(classifier, shared_dir):
    from spotter.modelbuild.metrics import clipped_logit, platt

    calibration = load_card(CARD).extra["calibration"]
    for path in sorted((shared_dir / "data" / "isic-uda1").glob("*.jpg"))[:5]:
        tensor = classifier.preprocess(decode_image(path.read_bytes(), classifier.input_size).image)
        raw = float(classifier.raw_scores(tensor)[1])
        served = float(classifier.scores(tensor)[1])
        expected = float(platt(clipped_logit(np.array([raw])), calibration["a"], calibration["b"])[0])
        assert served == pytest.approx(expected, abs=1e-5)
