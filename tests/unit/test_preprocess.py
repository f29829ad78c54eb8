"""One preprocessing contract (spotter.model.preprocess): the card states it, the runtime applies it, and the
model build makes the same tensor from the same photo."""

from __future__ import annotations

import json
import shutil

import images
import numpy as np
import pytest
from conftest import MODELS
from PIL import Image

from spotter.errors import ModelError
from spotter.ingest.imaging import decode_image
from spotter.model.card import ModelCard
from spotter.model.classifier import Classifier
from spotter.model.preprocess import InputContract, center_box, fit
from spotter.modelbuild import data

MODES = ("center_crop", "pad", "squash")


def _served(tmp_path, mode: str, **spec) -> Classifier:
    """The int8 colours model with a card that asks for `mode`."""
    model = tmp_path / f"colours-{mode}.tflite"
    shutil.copy(MODELS / "colours-int8.tflite", model)
    card = json.loads((MODELS / "colours-int8.card.json").read_text())
    card["input"] = {**card.get("input", {}), "resize": mode, **spec}
    model.with_suffix(".card.json").write_text(json.dumps(card))
    return Classifier.load(model)


@pytest.mark.parametrize("mode", MODES)
def test_build_and_runtime_make_the_same_tensor(tmp_path, mode):
    served = _served(tmp_path, mode)
    assert served.contract.resize == mode
    photo = tmp_path / "photo.jpg"
    images.photo_like((640, 480), seed=3).save(photo, quality=90)
    runtime = served.preprocess(decode_image(photo.read_bytes(), served.input_size).image)
    sample = data.Sample(id="photo", path=photo, label=0)
    built = served.tensor_from_pixels(data.load_pixels([sample], served.input_size, mode))
    np.testing.assert_array_equal(runtime, built)


def test_modes_differ_on_a_wide_photo_and_agree_on_a_square_one():
    wide, square = images.photo_like((400, 300), seed=1), images.photo_like((300, 300), seed=1)
    wide_out = {m: np.asarray(fit(wide, (32, 32), m)) for m in MODES}
    assert not np.array_equal(wide_out["center_crop"], wide_out["squash"])
    assert not np.array_equal(wide_out["pad"], wide_out["squash"])
    assert (wide_out["pad"][:3] == 0).all()  # the black bars of a padded 4:3 frame
    square_out = [np.asarray(fit(square, (32, 32), m)) for m in MODES]
    assert all(np.array_equal(square_out[0], other) for other in square_out[1:])


def test_center_box_keeps_the_aspect_ratio_and_the_centre():
    assert center_box(400, 300, (224, 224)) == (50, 0, 350, 300)
    assert center_box(300, 401, (224, 224)) == (0, 50, 300, 350)
    assert center_box(640, 480, (320, 160)) == (0, 80, 640, 400)


def test_card_states_the_contract_and_refuses_what_it_cannot_do():
    card = ModelCard.from_json(
        {
            "name": "m",
            "version": "1",
            "labels": ["a", "b"],
            "input": {
                "size": [8, 8],
                "resize": "pad",
                "filter": "bicubic",
                "reducing_gap": None,
                "pad_colour": [10, 20, 30],
            },
        }
    )
    contract = card.contract((8, 8))
    assert (contract.resize, contract.filter, contract.reducing_gap, contract.pad_colour) == (
        "pad",
        "bicubic",
        None,
        (10, 20, 30),
    )
    spec = card.to_json()["input"]
    assert spec["resize"] == "pad" and spec["filter"] == "bicubic" and "colour" in spec
    assert ModelCard.from_json({"name": "m", "version": "1", "labels": ["a"]}).resize == "squash"  # old cards
    for bad in ({"resize": "letterbox"}, {"filter": "magic"}, {"reducing_gap": 0.5}):
        with pytest.raises(ModelError):
            ModelCard.from_json({"name": "m", "version": "1", "labels": ["a"], "input": bad})


def test_the_filter_on_the_card_is_the_one_applied(tmp_path):
    picture = images.photo_like((200, 150), seed=2)
    bilinear = _served(tmp_path, "squash").preprocess(picture)
    nearest = _served(tmp_path, "squash", filter="nearest").preprocess(picture)
    assert not np.array_equal(bilinear, nearest)
    expected = np.asarray(picture.resize((32, 32), Image.Resampling.NEAREST, reducing_gap=3.0))
    np.testing.assert_array_equal(nearest[0], _served(tmp_path, "squash").tensor_from_pixels(expected))


def test_demo_model_build_and_runtime_agree_on_a_full_resolution_photo(shared_dir):
    from spotter.config import REPO_MODEL_DIR

    served = Classifier.load(REPO_MODEL_DIR / "skin-lesion-int8.tflite")
    path = sorted((shared_dir / "data" / "isic-uda1-full").glob("*.jpg"))[0]
    runtime = served.preprocess(decode_image(path.read_bytes(), served.input_size).image)
    built = served.tensor_from_pixels(
        data.load_pixels([data.Sample(id="x", path=path, label=0)], served.input_size, served.contract.resize)
    )
    np.testing.assert_array_equal(runtime, built)
    assert served.contract.resize == data.BUILD_RESIZE


def test_to_json_round_trips():
    contract = InputContract((224, 224), "center_crop")
    again = InputContract.from_json((224, 224), json.loads(json.dumps(contract.to_json())))
    assert again == contract
