"""The runtime on real TFLite models: float32, uint8 and int8 inputs, cards, metadata, background class."""

import json

import images
import numpy as np
import pytest
from conftest import MODELS, ROOT
from PIL import Image

from spotter.errors import ModelError
from spotter.model.card import load_card
from spotter.model.classifier import Classifier

SAMPLES = {"red": images.RED, "green": images.GREEN, "blue": images.BLUE}


@pytest.mark.parametrize("variant", ["float32", "uint8", "int8"])
def test_float_uint8_and_int8_models_agree(variant):
    classifier = Classifier.load(MODELS / f"colours-{variant}.tflite")
    assert str(classifier.input_dtype) == variant
    for expected, colour in SAMPLES.items():
        prediction = classifier.classify(images.photo_like((120, 90), tint=colour), top_k=2)
        assert prediction.label == expected, (variant, expected, prediction.top)
        assert len(prediction.top) == 2 and prediction.top[0][1] >= prediction.top[1][1]


def test_quantization_parameters_come_from_the_model():
    white = Image.new("RGB", (32, 32), (255, 255, 255))
    black = Image.new("RGB", (32, 32), (0, 0, 0))
    for variant in ("int8", "uint8"):
        classifier = Classifier.load(MODELS / f"colours-{variant}.tflite")
        scale, zero_point = classifier._input["quantization"]
        # the card scales pixels to [-1, 1]; the model's own (scale, zero point) maps that to integers
        assert int(classifier.preprocess(white).max()) == int(np.clip(np.rint(1.0 / scale + zero_point), -128, 255))
        assert int(classifier.preprocess(black).min()) == int(np.clip(np.rint(-1.0 / scale + zero_point), -128, 255))


@pytest.mark.parametrize("variant", ["int8", "uint8", "float32"])
def test_every_8_bit_pixel_value_stays_distinct(variant):
    """Each channel value 0..255 maps to its own input value, the nearest the model's quantization allows.
    (Rounding real / scale half to even merged neighbouring values: the int8 demo model saw 128 levels.)"""
    classifier = Classifier.load(MODELS / f"colours-{variant}.tflite")
    assert classifier.input_size == (32, 32)
    every_value = np.tile(np.arange(256, dtype=np.uint8), 4).reshape(32, 32)
    picture = Image.fromarray(np.stack([every_value] * 3, axis=-1))  # already the input size: no resampling
    tensor = classifier.preprocess(picture).reshape(-1, 3)[:256]
    ramp = np.repeat(np.arange(256)[:, np.newaxis], 3, axis=1)
    real = ramp / 127.5 - 1.0  # the card's [-1, 1] scaling
    scale, zero_point = classifier._input["quantization"]
    fed = (tensor.astype(np.float64) - zero_point) * scale if variant != "float32" else tensor.astype(np.float64)
    assert np.all(np.diff(tensor[:, 0].astype(np.int64)) >= 0)
    if variant == "float32":
        np.testing.assert_allclose(fed, real, atol=1e-6)
    else:
        inside = (real / scale + zero_point >= np.iinfo(tensor.dtype).min) & (
            real / scale + zero_point <= np.iinfo(tensor.dtype).max
        )
        assert np.all(np.abs(fed - real)[inside] <= scale / 2 + 1e-9)
        assert len(np.unique(tensor[:, 0])) >= 254  # at most the two ends clamp onto a neighbour


def test_model_without_card_uses_its_metadata():
    classifier = Classifier.load(MODELS / "colours-metadata-float32.tflite")
    assert classifier.labels == ("red", "green", "blue")
    assert classifier.version.startswith("sha256-")
    assert classifier.classify(images.solid(images.GREEN)).label == "green"


def test_the_api_shows_a_carded_model_as_its_card_file_says():
    from spotter.web.views import ModelInfo

    path = MODELS / "colours-int8.tflite"
    info = ModelInfo.load(path)
    assert info.card == json.loads(path.with_suffix(".card.json").read_text())
    assert info.model_id == Classifier.load(path).card.model_id


def test_background_class_is_dropped_with_a_labels_file():
    classifier = Classifier.load(
        MODELS / "colours-background-int8.tflite", labels_path=MODELS / "colours-background.txt"
    )
    assert classifier.labels == ("red", "green", "blue")
    prediction = classifier.classify(images.solid(images.BLUE), top_k=3)
    assert prediction.label == "blue" and all(label != "background" for label, _ in prediction.top)


def test_labels_that_do_not_fit_the_model_are_refused(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\nc\nd\ne\n")
    with pytest.raises(ModelError, match="5 labels"):
        Classifier.load(MODELS / "colours-int8.tflite", labels_path=labels)


def test_not_a_model_is_a_clear_error(tmp_path):
    bogus = tmp_path / "bogus.tflite"
    bogus.write_bytes(b"not a flatbuffer")
    with pytest.raises(ModelError, match="not a loadable TFLite model"):
        Classifier.load(bogus)
    with pytest.raises(ModelError, match="cannot read model"):
        Classifier.load(tmp_path / "missing.tflite")


def test_card_mismatch_is_refused(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes((MODELS / "colours-int8.tflite").read_bytes())
    card = json.loads((MODELS / "colours-int8.card.json").read_text())
    card["input"]["size"] = [64, 64]
    (tmp_path / "m.card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="takes"):
        Classifier.load(model)


BAD_CARDS = [
    ({"labels": ["red", "g" * 257, "blue"]}, r"labels\[1\] is 257 bytes of UTF-8; the limit is 256"),
    ({"labels": ["red", "é" * 129, "blue"]}, r"labels\[1\] is 258 bytes"),  # bytes, not characters
    ({"labels": ["red", "", "blue"]}, r"labels\[1\] is empty"),
    ({"labels": ["red", "  ", "blue"]}, r"labels\[1\] is empty"),
    ({"labels": ["red", "uncertain", "blue"]}, r"labels\[1\] 'uncertain' is or holds a reserved word"),
    ({"labels": ["Rejected", "green", "blue"]}, r"labels\[0\] 'Rejected' is or holds a reserved word"),
    ({"labels": ["red", "green", "red"]}, r"labels\[2\] 'red' reads as labels\[0\]"),
    ({"labels": ["red", "green", "ＲＥＤ"]}, r"labels\[2\] 'ＲＥＤ' reads as labels\[0\] 'red'"),  # fullwidth
    ({"labels": ["red", "uncertain\u200b", "blue"]}, r"labels\[1\] .* invisible or control character U\+200B"),
    ({"labels": ["red", "un\u00adcertain", "blue"]}, r"labels\[1\] .* character U\+00AD"),  # soft hyphen
    ({"labels": ["red", "green\u2060", "blue"]}, r"labels\[1\] .* character U\+2060"),  # word joiner
    ({"labels": ["red", "gr\u034feen", "blue"]}, r"labels\[1\] .* character U\+034F"),  # grapheme joiner
    ({"labels": ["red", "green\u3164", "blue"]}, r"labels\[1\] .* character U\+3164"),  # Hangul filler
    ({"labels": ["red", "green\ufe0f", "blue"]}, r"labels\[1\] .* character U\+FE0F"),  # variation selector
    ({"labels": ["red", "gr\u17b4een", "blue"]}, r"labels\[1\] .* character U\+17B4"),
    ({"labels": ["ok\u2800", "green", "blue"]}, r"labels\[0\] .* character U\+2800"),  # Braille blank
    ({"labels": ["red", "green\U00016fe4", "blue"]}, r"labels\[1\] .* character U\+16FE4"),
    ({"labels": ["red", "\u0301", "blue"]}, r"labels\[1\] .* starts with a combining mark"),
    ({"labels": ["\u043ek", "green", "blue"]}, r"labels\[0\] .* mixes Cyrillic and Latin letters"),  # "оk"
    ({"labels": ["red", "b\u0435nign", "blue"]}, r"labels\[1\] .* mixes Cyrillic and Latin"),
    ({"labels": ["red", "\u03bfk", "blue"]}, r"labels\[1\] .* mixes Greek and Latin"),
    ({"labels": ["red", "\u0585k", "blue"]}, r"labels\[1\] .* mixes Armenian and Latin"),  # Armenian օ
    ({"labels": ["red", "\u2c9fk", "blue"]}, r"labels\[1\] .* mixes Coptic and Latin"),
    ({"labels": ["benign", "\u13f4ENIGN"]}, r"labels\[1\] .* mixes Cherokee and Latin"),
    ({"labels": ["benign", "ben\u0131\u0307gn"]}, r"labels\[1\] .* reads as labels\[0\] 'benign'"),
    ({"labels": ["red", "uncerta\u0131n"]}, r"labels\[1\] .* is or holds a reserved word"),  # dotless ı
    ({"labels": ["\u1d0f\u1d0b", "red"]}, r"labels\[0\] .* is or holds a reserved word"),  # small capitals
    ({"labels": ["o\u0138", "red"]}, r"labels\[0\] .* is or holds a reserved word"),  # kra
    ({"labels": ["red", "refuse\u1e0d"]}, r"labels\[1\] .* is or holds a reserved word"),
    # wholly in another script, caught by the Unicode confusables skeleton (UTS #39)
    ({"labels": ["\u043e\u043a", "red"]}, r"labels\[0\] 'ок' is or holds a reserved word"),  # Cyrillic
    ({"labels": ["red", "\u03bf\u03ba"]}, r"labels\[1\] 'οκ' is or holds a reserved word"),  # Greek
    ({"labels": ["red", "\u041e\u041a"]}, r"labels\[1\] .* is or holds a reserved word"),  # Cyrillic capitals
    ({"labels": ["red", "\u0440\u0435nd\u0456ng"]}, r"labels\[1\] .* mixes Cyrillic and Latin"),
    ({"labels": ["red", "faiIed"]}, r"labels\[1\] 'faiIed' is or holds a reserved word"),  # capital I as l
    ({"labels": ["red", "fai1ed"]}, r"labels\[1\] 'fai1ed' is or holds a reserved word"),  # digit one as l
    ({"labels": ["malignant", "rnalignant"]}, r"labels\[1\] 'rnalignant' reads as labels\[0\] 'malignant'"),
    ({"labels": ["malignant", "\u041calignant"]}, r"labels\[1\] .* mixes Cyrillic and Latin"),
    ({"labels": ["\u0441\u0430\u0442", "cat"]}, r"labels\[1\] 'cat' reads as labels\[0\] 'сат'"),  # Cyrillic сат
    # the fifth trial: outcome and page words inside a label, with punctuation, or symbols alone
    *(
        ({"labels": ["benign", label]}, r"labels\[1\] .* is or holds a reserved word")
        for label in (
            "Upload failed",
            "Classifying…",
            "Classified",
            "Waiting",
            "Uploading",
            "uncertain.",
            "uncertain?",
            "uncertain_",
            "ok.",
            "OK!",
            "o.k.",
            "o_k",
            "PENDING!",
            "\u039f\u039a!",
            "ok (benign)",
            "1 uncertain",
            "rejected: not an image",
            "refused by API",
            "pending review",
            "out of domain",
            "out-of-domain",
            "ok ✓",
        )
    ),
    *(
        ({"labels": ["benign", label]}, r"labels\[1\] .* has no letter or digit")
        for label in ("🆗", "✅", "❓", "?", "\U0001f17e\U0001f17a", "\U0001f1f4\U0001f1f0")
    ),
    # the sixth trial: labels that differ only by punctuation or spacing, state words, marks, scores
    *(
        ({"labels": [first, second]}, r"labels\[1\] .* (reads as labels\[0\]|holds .*: a label is words)")
        for first, second in (
            ("malignant", "malignant."),
            ("malignant", "malignant\u2024"),
            ("malignant", "malignant\u3002"),
            ("cat", "(cat)"),
            ("cat", "c a t"),
            ("cat", "c\u2009a\u2009t"),
            ("cat", "cat'"),
            ("cat", "cat\u2019"),
        )
    ),
    *(
        ({"labels": ["cat", label]}, r"labels\[1\] .* is or holds a reserved word")
        for label in (
            "unsure",
            "not certain",
            "uncertainty",
            "error",
            "failure",
            "Done",
            "queued",
            "in progress",
            "No preview",
            "Not available",
            "unclassified",
        )
    ),
    *(
        ({"labels": ["cat", label]}, r"labels\[1\] .* holds .*: a label is words")
        for label in (
            "\u25b2 malignant",
            "\u2705 benign",
            "\u2713 benign",
            "\u26a0 melanoma",
            "cat\u0964",
            "benign\u0f0b",
        )
    ),
    *(
        ({"labels": ["cat", label]}, r"labels\[1\] .* reads like a score")
        for label in ("benign 0.5", "0.99 benign", "benign .99", "benign 99", "99 benign", "2 dog", "benign 99 pct")
    ),
    ({"labels": ["cat", "99%"]}, r"labels\[1\] .*"),
    ({"labels": ["class_12", "cat"]}, r"labels\[0\] 'class_12' is the name Spotter gives"),
    # the eighth trial: the page's verdicts and counts' words, numbers beside words, near misses, enclosing marks
    *(
        (
            {"labels": ["zebra", label]},
            r"labels\[1\] .* (is or holds a reserved word|reads like a score or a count|holds)",
        )
        for label in (
            "right",
            "wrong",
            "correct",
            "True",
            "mismatch",
            "uncertian",
            "out of distribution",
            "dog 1 cat",
            "in all",
            "photos",
            "dog 2",
            "dog (2)",
            "dog x2",
            "dog: 2",
            "2dogs",
            "#1 dog",
            "malignant 1",
            "benign 9 9",
            "benign \u00b9",
            "dog 1e3",
            "benign\u20e0",
            "dog\u20e4",
            "type 2",
        )
    ),
    # the ninth trial
    *(
        (
            {"labels": ["zebra", label]},
            r"labels\[1\] .* (is or holds a reserved word|reads as one of the page's marks|holds)",
        )
        for label in (
            "pass",
            "p4ss",
            "miss",
            "nil",
            "x",
            "O",
            "fifty percent",
            "two dogs",
            "dozen eggs",
            "nothing",
            "threshold",
            "score",
            "label",
            "blank",
            "unlabeled",
            "dog; person",
        )
    ),
    # the seventh trial: counts forged in a label, synonyms of outcomes and states, digits for letters
    *(
        ({"labels": ["zebra", label]}, r"labels\[1\] .* (is or holds a reserved word|holds ','|reads like a score)")
        for label in (
            "dog, 1 person",
            "cat, 5 dog",
            "dog (3 objects in 2 images)",
            "okay",
            "inconclusive",
            "not sure",
            "n/a",
            "NaN",
            "unknown",
            "fa1led",
            "pendlng",
            "Waitinq",
            "rej3cted",
            "Upload fa1led",
            "No image to show",
            "benign ⁹⁹",
            "benign 𝟗𝟗",
            "benign ۹۹",
        )
    ),
    ({"labels": ["benign", "malignant"], "decision": {"threshold": "0.08"}}, r"numeric threshold"),
    ({"labels": ["benign", "malignant"], "decision": {"threshold": 0.1, "uncertain_band": ["0.04", "0.2"]}}, "numeric"),
    ({"labels": ["red", "\u0300green", "blue"]}, r"labels\[1\] .* starts with a combining mark"),
    ({"labels": ["red", "green", "green\u00a0"]}, r"labels\[2\] .* reads as labels\[1\]"),  # no-break space
    ({"labels": ["red", "light  green", "light\u3000green"]}, r"labels\[2\] .* reads as labels\[1\]"),
    ({"labels": ["red", "gr\neen", "blue"]}, r"labels\[1\] .* control character U\+000A"),
    ({"labels": ["red", "\u202egreen", "blue"]}, r"labels\[1\] .* control character U\+202E"),
    ({"version": "v" * 600}, r"name@version is 613 bytes of UTF-8; the limit is 512"),
    ({"name": ""}, r"model card name is empty"),
]


@pytest.mark.parametrize(("change", "message"), BAD_CARDS)
def test_a_card_that_cannot_be_served_is_refused_at_load_naming_its_field(tmp_path, change, message):
    """A label past DynamoDB's index-key limit (or a model id past the sort key's) would fail every
    image's write and send it to the dead-letter queue; a label spelled as an outcome would read as one."""
    model = tmp_path / "m.tflite"
    model.write_bytes((MODELS / "colours-int8.tflite").read_bytes())
    card = {**json.loads((MODELS / "colours-int8.card.json").read_text()), **change}
    model.with_suffix(".card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=message):
        Classifier.load(model)
    with pytest.raises(ModelError, match=message):
        load_card(model.with_suffix(".card.json"))


@pytest.mark.parametrize(
    "labels",
    [
        ["кошка", "собака"],  # Russian
        ["γάτα", "σκύλος"],  # Greek
        ["Rosa 玫瑰", "Tulipa"],
        ["benign", "malignant", "BENIGN-like"],
        ["0", "1", "2"],  # a digits model
        ["H5N1", "H1N1", "R2D2"],  # digits inside a word
        ["rosa", "rosa canina", "St. John's-wort"],
        ["okra", "bokeh", "classic"],  # outcome letters inside other words
    ],
)
def test_labels_in_any_one_script_that_look_like_nothing_else_load(tmp_path, labels):
    model = tmp_path / "m.tflite"
    model.write_bytes((MODELS / "colours-int8.tflite").read_bytes())
    card = json.loads((MODELS / "colours-int8.card.json").read_text())
    card["labels"] = labels + [f"extra {'abc'[n]}" for n in range(3 - len(labels))] if len(labels) < 3 else labels[:3]
    model.with_suffix(".card.json").write_text(json.dumps(card))
    assert Classifier.load(model).labels == tuple(card["labels"])


def test_the_card_rules_know_every_state_word_the_page_shows():
    """SCREEN_WORDS must follow the page: each state the page writes for a file is reserved."""
    import re

    from spotter.model.card import SCREEN_WORDS

    page = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "frontend").glob("*.js")))
    for word in ("Upload failed", "Uploading", "Waiting", "Classifying", "Classified"):
        assert re.search(re.escape(word), page), word  # the page still says it
        assert word.lower() in SCREEN_WORDS


def test_a_labels_file_names_itself_drops_a_byte_order_mark_and_may_not_reorder_the_cards_labels(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_bytes("\ufeffred\ngreen\nblue\n".encode())  # Windows Notepad's UTF-8
    assert Classifier.load(MODELS / "colours-int8.tflite", labels_path=labels).labels == ("red", "green", "blue")
    labels.write_text("blue\ngreen\nred\n")
    with pytest.raises(ModelError, match=r"labels file .* lists the model card's labels in another order"):
        Classifier.load(MODELS / "colours-int8.tflite", labels_path=labels)
    labels.write_text("red\nuncertain\nblue\n")
    with pytest.raises(ModelError, match=r"^labels file .*labels\.txt: labels\[1\] 'uncertain'"):
        Classifier.load(MODELS / "colours-int8.tflite", labels_path=labels)


def test_a_labels_file_is_held_to_the_card_rules(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("red\nok\nblue\n")
    with pytest.raises(ModelError, match=r"labels\[1\] 'ok' is or holds a reserved word"):
        Classifier.load(MODELS / "colours-int8.tflite", labels_path=labels)


@pytest.mark.parametrize("variant", ["float32", "int8"])
def test_per_channel_scaling_from_the_card(tmp_path, variant):
    model = tmp_path / "m.tflite"
    model.write_bytes((MODELS / f"colours-{variant}.tflite").read_bytes())
    card = json.loads((MODELS / f"colours-{variant}.card.json").read_text())
    card["input"]["scaling"] = {"mean": [127.5, 100.0, 150.0], "std": [127.5, 110.0, 120.0]}  # stays inside [-1, 1]
    model.with_suffix(".card.json").write_text(json.dumps(card))
    classifier = Classifier.load(model)
    pixels = np.array([[[10, 20, 30], [255, 0, 128]]], np.uint8)
    real = (pixels - np.array([127.5, 100.0, 150.0])) / np.array([127.5, 110.0, 120.0])
    tensor = classifier.tensor_from_pixels(pixels)
    assert tensor.shape == pixels.shape and tensor.dtype == classifier.input_dtype
    if variant == "float32":
        np.testing.assert_allclose(tensor, real, atol=1e-6)
    else:
        scale, zero_point = classifier._input["quantization"]
        assert np.all(np.abs((tensor.astype(np.float64) - zero_point) * scale - real) <= scale / 2 + 1e-9)
