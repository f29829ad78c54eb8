"""The page's sample images: real CC0 ISIC photos from the demo model's test split, at least one
melanoma, each listed with its true diagnosis and attribution."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from spotter.config import REPO_MODEL_DIR

SAMPLES = Path(__file__).resolve().parents[2] / "frontend" / "samples"


def test_samples_are_test_split_photos_with_diagnosis_and_attribution():
    listed = json.loads((SAMPLES / "samples.json").read_text(encoding="utf-8"))
    test = set(json.loads((REPO_MODEL_DIR / "skin-lesion-split.json").read_text())["test"])
    assert 2 <= len(listed) <= 6  # a handful, as ../shared/README.md allows
    assert {s["truth"] for s in listed} == {"benign", "malignant"}
    for sample in listed:
        assert sample["isic_id"] in test, sample["isic_id"]
        assert "CC0" in sample["attribution"] and "ISIC" in sample["attribution"]
        assert sample["diagnosis"] and sample["isic_id"] in sample["text"]
        with Image.open(SAMPLES / sample["file"]) as image:
            assert image.format == "JPEG" and image.size == (256, 256)
    assert "CC0" in (SAMPLES / "ATTRIBUTION.txt").read_text(encoding="utf-8")
