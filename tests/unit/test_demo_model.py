"""The committed demo model: it loads with the runtime, its card says what it is, and (where
../shared exists) it classifies real photos and reproduces the test metrics on its card."""

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


def test_card_says_what_it_is():
    card = load_card(CARD)
    extra = card.extra
    assert card.scaling is not None and card.resize == "center_crop" and card.filter == "bilinear"
    assert "EXIF" in extra["input"]["colour"]
    assert card.decision is not None and card.decision.positive == "malignant"
    band = card.decision.band
    assert band is not None and band[0] < card.decision.threshold < band[1]
    assert extra["decision"]["target"]["sensitivity"] == 0.8
    assert extra["metrics"]["int8"]["threshold"] == card.decision.threshold
    assert extra["metrics"]["int8"]["validation_sensitivity"] >= 0.8
    assert "/" not in extra["training"]["config"]["weights"]  # a file name, not a folder of the build machine
    assert "not a medical device" in extra["disclaimer"].lower()
    assert extra["training_data"]["licence"].startswith("CC0")
    assert extra["quantization"]["tensors"]["input"]["dtype"] == "int8"
    metrics = extra["metrics"]
    for kind in ("float32", "int8"):
        assert set(metrics[kind]) >= METRIC_KEYS
    assert {"sensitivity_ci95", "specificity_ci95", "uncertain_band", "uncertain"} <= set(metrics["int8"])
    assert metrics["int8"]["size_bytes"] == MODEL.stat().st_size
    # Issue 15's targets that this model meets: int8 within 0.01 AUC of float; sensitivity >= 0.80 at the
    # validation-chosen threshold on test; >= 19 of the 20 full-resolution originals agreeing with their
    # 256 px versions. Not met (README): test AUC >= 0.87 (0.799, on a test split that now holds the 20
    # originals) and >= 15 of 20 originals right (13). The AUC floor guards against a regression.
    assert metrics["int8"]["roc_auc"] >= 0.78
    assert abs(metrics["int8"]["roc_auc"] - metrics["float32"]["roc_auc"]) <= 0.01
    assert metrics["int8"]["sensitivity"] >= 0.80
    assert metrics["full_resolution"]["agree"] >= 19
    qat = extra["training"]["quantization_aware"]
    assert extra["quantization"]["method"].startswith(f"quantization-aware fine-tuning: epoch {qat['best_epoch']}")
    assert qat["history"][qat["best_epoch"]]["validation_disagreement"] < qat["history"][0]["validation_disagreement"]
    assert extra["reference"]["seed_apps"]["images"] == 1017


def test_split_is_saved_and_disjoint():
    split = json.loads(SPLIT.read_text())
    parts = [set(split[name]) for name in ("train", "validation", "test")]
    assert all(parts) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert len(split["test_only"]) == 20 and set(split["test_only"]) <= parts[2]  # the full-resolution originals
    assert split["labels"] == ["benign", "malignant"]
    assert len(split["test"]) == load_card(CARD).extra["metrics"]["split"]["images"]


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
    from spotter.modelbuild.data import load_dataset, split_samples
    from spotter.modelbuild.evaluate import runtime_probs
    from spotter.modelbuild.metrics import roc_auc

    dataset = load_dataset(shared_dir / "data" / "isic-uda1", label_column="benign_malignant")
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
    for key in ("right_full", "right_256", "agree", "uncertain_full", "uncertain_256", "threshold", "resize"):
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
