"""A binary card's calibration (the positive score as a probability) and domain check (a second
model output: a photo unlike the training photos gets `out_of_domain`, its scores kept), on a real
two-output TFLite model whose answers are known (tests/models/make_test_domain.py)."""

import json
import math

import images
import pytest
from conftest import MODELS

from spotter.errors import ModelError
from spotter.model.calibration import Calibration
from spotter.model.classifier import Classifier
from spotter.model.loading import load_model

RED, BLUE, GREEN = (220, 30, 30), (30, 40, 220), (30, 200, 40)


def card(**extra):
    return {
        "name": "domain",
        "version": "1",
        "labels": ["blue", "red"],
        "input": {"size": [32, 32], "scaling": {"range": [0.0, 1.0]}},
        "decision": {"positive": "red", "threshold": 0.5},
        **extra,
    }


def loaded(tmp_path, **extra) -> Classifier:
    model = tmp_path / "domain.tflite"
    model.write_bytes((MODELS / "domain-float32.tflite").read_bytes())
    model.with_suffix(".card.json").write_text(json.dumps(card(**extra)))
    classifier = load_model(model)
    assert isinstance(classifier, Classifier)
    return classifier


def picture(colour):
    from PIL import Image

    return Image.new("RGB", (32, 32), colour)


def raw_red(colour) -> float:
    margin = 4.0 * (colour[0] - colour[2]) / 255.0
    return 1.0 / (1.0 + math.exp(-margin))  # softmax of (-m/2, m/2)


def test_without_calibration_the_positive_score_is_the_models_own(tmp_path):
    prediction = loaded(tmp_path).classify(picture(RED))
    assert prediction.positive_score == pytest.approx(raw_red(RED), abs=1e-4)
    assert prediction.decision == "red" and prediction.domain_distance is None


def test_the_calibrated_score_is_served_decided_on_and_shown(tmp_path):
    classifier = loaded(tmp_path, calibration={"method": "platt", "a": 0.5, "b": -1.0})
    prediction = classifier.classify(picture(RED))
    raw = raw_red(RED)
    expected = 1.0 / (1.0 + math.exp(-(0.5 * math.log(raw / (1 - raw)) - 1.0)))
    assert prediction.positive_score == pytest.approx(expected, abs=1e-4)
    assert dict(prediction.top)["red"] == pytest.approx(expected, abs=1e-4)
    assert dict(prediction.top)["blue"] == pytest.approx(1 - expected, abs=1e-4)
    assert prediction.decision == ("red" if expected >= 0.5 else "blue")
    temperature = Calibration.from_json({"method": "temperature", "temperature": 2.0})
    assert temperature.apply(0.8) == pytest.approx(1 / (1 + math.exp(-math.log(4) / 2)))


def test_a_photo_past_the_domain_threshold_is_out_of_domain_with_its_scores_kept(tmp_path):
    classifier = loaded(
        tmp_path,
        domain_check={
            "output": "Identity_1",
            "threshold": 3.0,
            "sentence": "does not look like a test photo; not assessed",
        },
    )
    red = classifier.classify(picture(RED))
    assert red.decision == "red" and red.domain_distance == pytest.approx(10 * 30 / 255, abs=1e-3)
    green = classifier.classify(picture(GREEN))
    assert green.decision == "out_of_domain" and green.domain_distance == pytest.approx(10 * 200 / 255, abs=1e-3)
    assert (green.decision_rule or "").startswith(
        "red if its score >= 0.500; out_of_domain: does not look like a test photo"
    )
    assert green.positive_score is not None and green.top  # the scores are kept
    # without a name, the one one-value output beside the scores
    assert loaded(tmp_path, domain_check={"threshold": 3.0}).classify(picture(GREEN)).decision == "out_of_domain"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"domain_check": {"output": "nope", "threshold": 3.0}},
            r"domain_check reads output nope.*Identity_1 \[1, 1\]",
        ),
        ({"domain_check": {"threshold": "3"}}, "domain_check.threshold must be a finite JSON number"),
        ({"calibration": {"method": "platt", "a": -1, "b": 0}}, "calibration.a must be above 0"),
        ({"calibration": {"method": "isotonic"}}, "calibration.method must be platt or temperature"),
        ({"calibration": {"method": "platt", "a": float("nan"), "b": 0}}, "finite"),
    ],
)
def test_an_unusable_calibration_or_domain_check_is_refused_at_load(tmp_path, extra, message):
    with pytest.raises(ModelError, match=message):
        loaded(tmp_path, **extra)


def test_a_calibration_needs_a_decision(tmp_path):
    model = tmp_path / "domain.tflite"
    model.write_bytes((MODELS / "domain-float32.tflite").read_bytes())
    spec = card(calibration={"method": "platt", "a": 1.0, "b": 0.0})
    del spec["decision"]
    model.with_suffix(".card.json").write_text(json.dumps(spec))
    with pytest.raises(ModelError, match="calibration applies to a two-label card with a decision"):
        load_model(model)


def test_the_pipeline_writes_the_positive_score_and_the_domain_distance(tmp_path):
    from fakes import FakeObjects, FakePredictions

    from spotter.ingest.events import S3Object
    from spotter.ingest.pipeline import ClassifyService

    classifier = loaded(tmp_path, domain_check={"threshold": 3.0})
    objects, predictions = FakeObjects({("b", "drones/d/green.png"): images.png(GREEN)}), FakePredictions()
    service = ClassifyService(objects, predictions, classifier)
    record = service.classify(S3Object("b", "drones/d/green.png")).record
    assert record is not None and record.decision == "out_of_domain"
    assert record.positive_score is not None and record.domain_distance == pytest.approx(7.8431, abs=1e-3)
    data = record.as_dict()
    assert {"positive_score", "domain_distance"} <= set(data)
