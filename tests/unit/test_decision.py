"""Decisions, not just scores: a binary card's operating threshold, applied by the runtime, with an
uncertain band; records keep the raw scores and the decided label; metrics with 95 % intervals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from spotter.config import REPO_MODEL_DIR
from spotter.errors import ModelError
from spotter.model.card import UNCERTAIN, Decision, ModelCard
from spotter.model.classifier import Classifier, decision_rule
from spotter.modelbuild.evaluate import choose_decision, uncertain_band
from spotter.modelbuild.metrics import sensitivity, summarize, threshold_for_sensitivity, wilson_interval
from spotter.records import PredictionRecord

DEMO = REPO_MODEL_DIR / "skin-lesion-int8.tflite"


def _card(decision) -> dict:
    return {"name": "m", "version": "1", "labels": ["benign", "malignant"], "decision": decision}


def test_decide_at_the_threshold_with_an_uncertain_band():
    decision = ModelCard.from_json(
        _card({"positive": "malignant", "threshold": 0.3, "uncertain_band": [0.2, 0.4]})
    ).decision
    assert decision is not None
    assert (decision.positive, decision.negative) == ("malignant", "benign")
    assert [decision.decide(s) for s in (0.0, 0.19, 0.2, 0.3, 0.39, 0.4, 0.9)] == [
        "benign",
        "benign",
        UNCERTAIN,
        UNCERTAIN,
        UNCERTAIN,
        "malignant",
        "malignant",
    ]
    plain = Decision("malignant", "benign", 0.3)
    assert [plain.decide(s) for s in (0.29, 0.3)] == ["benign", "malignant"]
    assert decision_rule(decision) == "malignant if its score >= 0.300; uncertain 0.200-0.400"


@pytest.mark.parametrize(
    "bad",
    [
        {"positive": "melanoma", "threshold": 0.3},
        {"positive": "malignant"},
        {"positive": "malignant", "threshold": 1.5},
        {"positive": "malignant", "threshold": 0.5, "uncertain_band": [0.1, 0.3]},
    ],
)
def test_a_bad_decision_is_refused(bad):
    with pytest.raises(ModelError):
        ModelCard.from_json(_card(bad))


def test_a_decision_needs_two_labels():
    with pytest.raises(ModelError):
        ModelCard.from_json({**_card({"threshold": 0.5}), "labels": ["a", "b", "c"]})


def _demo_with(tmp_path, decision) -> Classifier:
    model = tmp_path / "demo.tflite"
    shutil.copy(DEMO, model)
    card = json.loads(DEMO.with_suffix(".card.json").read_text())
    card["decision"] = decision
    model.with_suffix(".card.json").write_text(json.dumps(card))
    return Classifier.load(model)


def test_the_runtime_applies_the_card_decision_and_keeps_the_raw_scores(tmp_path):
    import images

    picture = images.photo_like((300, 300), seed=4, tint=(150, 90, 70))
    raw = Classifier.load(DEMO).classify(picture, top_k=2)
    malignant = dict(raw.top)["malignant"]
    for threshold, expected in ((max(0.0, malignant - 0.2), "malignant"), (min(1.0, malignant + 0.2), "benign")):
        served = _demo_with(tmp_path, {"positive": "malignant", "threshold": threshold})
        prediction = served.classify(picture, top_k=2)
        assert prediction.decision == expected
        assert prediction.top == raw.top and prediction.label == raw.label  # raw scores and top label unchanged
    band = [max(0.0, malignant - 0.05), min(1.0, malignant + 0.05)]
    prediction = _demo_with(
        tmp_path, {"positive": "malignant", "threshold": malignant, "uncertain_band": band}
    ).classify(picture)
    assert prediction.decision == UNCERTAIN
    assert prediction.decision_rule is not None and "uncertain" in prediction.decision_rule


def test_no_decision_without_one_on_the_card():
    import images
    from conftest import MODELS

    prediction = Classifier.load(MODELS / "colours-int8.tflite").classify(images.photo_like((64, 64)))
    assert prediction.decision is None and prediction.decision_rule is None


def test_records_keep_the_decision_beside_the_scores():
    record = PredictionRecord(
        object_id="o",
        model="m@1",
        bucket="b",
        key="k",
        status="ok",
        source="web",
        file_name="f",
        uploaded_at="2026-01-01T00:00:00.000Z",
        classified_at="2026-01-01T00:00:00.000Z",
        model_name="m",
        model_version="1",
        label="benign",
        score=0.6,
        top=[{"label": "benign", "score": 0.6}, {"label": "malignant", "score": 0.4}],
        decision="uncertain",
        decision_rule="malignant if its score >= 0.357; uncertain 0.257-0.457",
    )
    data = record.as_dict()
    assert data["decision"] == "uncertain" and data["label"] == "benign" and len(data["top"]) == 2
    assert all(
        not isinstance(v, float) for k, v in data.items() if k.startswith("decision")
    )  # DynamoDB takes them as they are
    assert PredictionRecord.from_dict(data) == record


def test_threshold_for_a_target_sensitivity():
    rng = np.random.default_rng(0)
    y = rng.random(200) < 0.3
    score = np.clip(rng.normal(0.35 + 0.3 * y, 0.15), 0, 1)
    for target in (0.5, 0.8, 0.95):
        cut = threshold_for_sensitivity(y, score, target)
        assert sensitivity(y, score >= cut) >= target
        lowest_kept = score[y][score[y] >= cut].min()
        assert sensitivity(y, score > lowest_kept) < target  # no higher cut reaches the target
    decision = choose_decision(y.astype(int), np.stack([1 - score, score], 1), 1, 0.8)
    low, high = decision["uncertain_band"]
    assert low < decision["threshold"] < high
    odds = lambda p: p / (1 - p)  # noqa: E731
    assert odds(high) / odds(decision["threshold"]) == pytest.approx(np.exp(0.5), rel=1e-2)
    assert uncertain_band(0.05)[0] > 0.0 and uncertain_band(0.05)[1] < 0.1  # still a band near 0


def test_wilson_intervals():
    assert wilson_interval(21, 32) == pytest.approx([0.483, 0.796], abs=1e-3)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and 0.27 < high < 0.29
    metrics = summarize(
        np.array([0, 0, 1, 1]),
        np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.8, 0.2]]),
        threshold=0.5,
        band=(0.45, 0.65),
    )
    assert metrics["sensitivity_ci95"][0] < 0.5 < metrics["sensitivity_ci95"][1]
    assert metrics["uncertain"] == 1 and metrics["accuracy_outside_band"] == pytest.approx(2 / 3)
