"""The model build pipeline: data and splits, metrics, and a tiny CNN trained, converted to int8
and evaluated end to end in seconds (TensorFlow tests are marked `tensorflow`)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from model_helpers import COLOURS, METRIC_KEYS, cli_train_tiny, make_images
from PIL import Image

from spotter.modelbuild import data
from spotter.modelbuild.metrics import choose_threshold, roc_auc, summarize


def test_folder_and_csv_datasets_agree(tmp_path):
    by_folder = data.load_dataset(make_images(tmp_path / "folders"))
    by_csv = data.load_dataset(make_images(tmp_path / "flat", csv=True))
    assert by_folder.labels == by_csv.labels == ("blue", "red")
    assert by_folder.counts() == by_csv.counts() == {"blue": 12, "red": 12}


def test_split_is_stratified_disjoint_and_reproducible(tmp_path):
    dataset = data.load_dataset(make_images(tmp_path, per_class=20))
    split = data.stratified_split(dataset, (0.6, 0.2, 0.2), seed=3)
    assert split == data.stratified_split(dataset, (0.6, 0.2, 0.2), seed=3)
    assert split != data.stratified_split(dataset, (0.6, 0.2, 0.2), seed=4)
    parts = [set(split[name]) for name in data.SPLITS]
    assert sum(map(len, parts)) == 40 and len(set.union(*parts)) == 40
    for name, expected in (("train", 12), ("validation", 4), ("test", 4)):
        labels = data.label_array(data.split_samples(dataset, split, name))
        assert list(np.bincount(labels)) == [expected, expected]
    data.save_split(split, tmp_path / "split.json")
    assert data.load_split(tmp_path / "split.json") == json.loads(json.dumps(split))


def test_pixels_are_what_the_runtime_feeds(tmp_path, int8_model):
    from spotter.model.classifier import Classifier

    make_images(tmp_path, per_class=1, size=97)
    sample = data.load_dataset(tmp_path).samples[0]
    classifier = Classifier.load(int8_model)
    expected = classifier.preprocess(data.decode(sample.path, classifier.input_size))
    pixels = data.load_pixels([sample], classifier.input_size)
    assert np.array_equal(classifier.tensor_from_pixels(pixels), expected)


def test_metrics():
    y = np.array([0, 0, 0, 1, 1, 1])
    assert roc_auc(y, np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])) == 1.0
    assert roc_auc(y, np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.1])) == 0.0
    assert roc_auc(y, np.full(6, 0.5)) == 0.5
    assert roc_auc(np.array([0, 1, 0, 1]), np.array([0.1, 0.4, 0.5, 0.8])) == 0.75
    cut = choose_threshold(y, np.array([0.1, 0.2, 0.45, 0.55, 0.8, 0.9]))
    assert 0.45 < cut <= 0.55
    result = summarize(
        y, np.stack([1 - np.array([0.1, 0.2, 0.6, 0.4, 0.8, 0.9]), [0.1, 0.2, 0.6, 0.4, 0.8, 0.9]], 1), threshold=0.5
    )
    assert result["sensitivity"] == pytest.approx(2 / 3) and result["specificity"] == pytest.approx(2 / 3)
    assert result["confusion_matrix"] == [[2, 1], [1, 2]]


def test_cli_help_does_not_import_tensorflow():
    code = (
        "import sys; from spotter.cli import build_parser; p = build_parser(); "
        "p.parse_args(['model', 'evaluate', '--no-card']); assert 'tensorflow' not in sys.modules, 'TF imported'; "
        "assert 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.tensorflow
def test_tiny_cnn_trains_converts_to_int8_and_agrees_with_float(tmp_path):
    pytest.importorskip("tensorflow")
    from spotter.model.classifier import Classifier
    from spotter.modelbuild.cardfile import build_card, write_card
    from spotter.modelbuild.convert import calibration_from_folder, convert, tensor_types
    from spotter.modelbuild.evaluate import evaluate, keras_probs
    from spotter.modelbuild.train import TrainConfig, train

    dataset = data.load_dataset(make_images(tmp_path / "images", per_class=15))
    split = data.stratified_split(dataset, (0.6, 0.2, 0.2), seed=0)
    model, log = train(dataset, split, TrainConfig.tiny(fine_tune_epochs=2, fine_tune_lr=1e-3, int8_aware_head=True))
    assert log["head"]["validation_auc"] >= 0.9
    # the head is quantization-aware: every L2 is scored on the int8 conversion, and so is every epoch
    assert log["head"]["l2_chosen_on"] == "int8 validation ROC AUC"
    assert all(set(by_kind) == {"float32", "int8"} for by_kind in log["head"]["validation_auc_by_l2"].values())
    assert log["fine_tune"]["selected_on"] == "int8 validation ROC AUC" and log["fine_tune"]["head_trained"] is False

    out = convert(
        model, tmp_path / "tiny-int8.tflite", calibration=calibration_from_folder(tmp_path / "images", (32, 32))
    )
    types = tensor_types(out)
    assert types["input"]["dtype"] == "int8" and types["output"]["dtype"] == "int8"
    assert types["input"]["shape"] == [1, 32, 32, 3]
    write_card(out.with_suffix(".card.json"), build_card("tiny", "0.0.1", dataset.labels, (32, 32)))

    classifier = Classifier.load(out)
    assert classifier.labels == ("blue", "red") and classifier.input_dtype == np.int8
    float_top = keras_probs(model, data.load_pixels(list(dataset.samples), (32, 32))).argmax(1)
    int8_top = [
        classifier.labels.index(classifier.classify(data.decode(s.path, (32, 32))).label) for s in dataset.samples
    ]
    assert list(int8_top) == list(float_top)
    assert (np.asarray(int8_top) == data.label_array(list(dataset.samples))).mean() >= 0.9

    metrics = evaluate(model, out, dataset, split, name="tiny")
    for kind in ("float32", "int8"):
        assert set(metrics[kind]) >= METRIC_KEYS
    assert metrics["int8"]["size_bytes"] < metrics["float32"]["size_bytes"]
    assert metrics["int8_float_top1_agreement"] == 1.0


@pytest.mark.tensorflow
def test_int8_outputs_match_the_serving_runtime(tmp_path):
    """The build scores int8 models with `int8_outputs`; it must quantize exactly as the runtime does."""
    pytest.importorskip("tensorflow")
    import keras

    from spotter.model.classifier import Classifier
    from spotter.modelbuild.cardfile import build_card, write_card
    from spotter.modelbuild.convert import calibration_from_folder, convert, int8_outputs
    from spotter.modelbuild.train import TrainConfig, build_backbone

    images = make_images(tmp_path / "images", per_class=6)
    backbone = build_backbone(TrainConfig.tiny())
    head = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(backbone.output))
    out = convert(
        keras.Model(backbone.input, head),
        tmp_path / "m-int8.tflite",
        calibration=calibration_from_folder(images, (32, 32)),
    )
    write_card(out.with_suffix(".card.json"), build_card("m", "0.0.1", ("blue", "red"), (32, 32)))
    samples = list(data.load_dataset(images).samples)
    pixels = data.load_pixels(samples, (32, 32))
    classifier = Classifier.load(out)
    expected = np.stack([classifier.scores(classifier.preprocess(data.decode(s.path, (32, 32)))) for s in samples])
    np.testing.assert_array_equal(int8_outputs(out, pixels), expected)


@pytest.mark.tensorflow
def test_cli_train_then_convert(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    from spotter.cli import main
    from spotter.model.classifier import Classifier

    images = make_images(tmp_path / "images", per_class=10, csv=True)
    out = tmp_path / "tiny.keras"
    assert cli_train_tiny(images, out) == 0
    assert out.exists() and out.with_suffix(".split.json").exists() and out.with_suffix(".train.json").exists()
    assert (
        main(["model", "convert", str(out), "--calibration", str(images), "--name", "tiny", "--version", "0.1.0"]) == 0
    )
    classifier = Classifier.load(tmp_path / "tiny-int8.tflite")
    assert classifier.model_id == "tiny@0.1.0" and classifier.labels == ("blue", "red")
    assert classifier.input_dtype == np.int8
    card = json.loads((tmp_path / "tiny-int8.card.json").read_text())
    assert card["quantization"]["tensors"]["output"]["dtype"] == "int8" and card["training"]["train_images"] == 12
    assert card["disclaimer"]  # a card always says what its scores are not
    capsys.readouterr()
    evaluate = [
        "model",
        "evaluate",
        "--model",
        str(out),
        "--tflite",
        str(tmp_path / "tiny-int8.tflite"),
        "--data",
        str(images),
        "--no-card",
        "--json",
    ]
    assert main([*evaluate, "--positive", "blue"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["positive_class"] == "blue"
    for kind in ("float32", "int8"):  # at the threshold chosen on validation, with 95 % intervals
        low, high = scored[kind]["sensitivity_ci95"]
        assert low <= scored[kind]["sensitivity"] <= high and "specificity_ci95" in scored[kind]
        assert scored[kind]["uncertain_band"][0] < scored[kind]["threshold"] < scored[kind]["uncertain_band"][1]
    assert main([*evaluate[:-1], "--target-sensitivity", "0.9"]) == 0
    assert "95 % interval" in capsys.readouterr().out
    assert main([*evaluate, "--positive", "green"]) == 2 and "not one of the labels" in capsys.readouterr().err


def test_labels_csv_paths_keep_their_folders_and_clashes_are_refused(tmp_path):
    for colour in COLOURS:
        (tmp_path / colour).mkdir()
        for i in range(5):
            Image.new("RGB", (8, 8), COLOURS[colour]).save(tmp_path / colour / f"{i}.png")
    rows = [f"{c}/{i}.png,{c}" for c in COLOURS for i in range(5)]
    (tmp_path / "labels.csv").write_text("path,label\n" + "\n".join(rows) + "\n")
    dataset = data.load_dataset(tmp_path)
    assert len(dataset.samples) == 10 and dataset.counts() == {"blue": 5, "red": 5}
    assert {s.id for s in dataset.samples} == {f"{c}/{i}" for c in COLOURS for i in range(5)}
    (tmp_path / "labels.csv").write_text("path,label\nblue/0.png,blue\nblue/0,blue\nred/1.png,red\n")
    with pytest.raises(ValueError, match="both be sample 'blue/0'"):
        data.load_dataset(tmp_path)


def test_dataset_mistakes_are_named(tmp_path):
    images = make_images(tmp_path / "images", per_class=6)
    (images / "blue" / "._blue_00.png").write_bytes(b"\x00\x05\x16\x07 macOS metadata")  # skipped: a dotfile
    dataset = data.load_dataset(images)
    assert dataset.counts() == {"blue": 6, "red": 6}
    (images / "red" / "red_99.png").write_text("not a picture")
    broken = [s for s in data.load_dataset(images).samples if s.path.name == "red_99.png"]
    with pytest.raises(ValueError, match=r"red_99\.png: a text file, not an image"):
        data.load_pixels(broken, (16, 16))
    (tmp_path / "wide").mkdir()
    (tmp_path / "wide" / "labels.csv").write_text("image,site,target\n")
    with pytest.raises(ValueError, match="--label-column"):
        data.load_dataset(tmp_path / "wide")
    few = data.load_dataset(make_images(tmp_path / "few", per_class=2))
    with pytest.raises(ValueError, match="too few"):
        data.stratified_split(few)


def _letter_labels(n: int) -> tuple[str, ...]:
    """`n` distinct labels of letters only ("birdaa", "birdab", ...): a card refuses labels of words and digits."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return tuple(f"bird{letters[i // 26]}{letters[i % 26]}" for i in range(n))


@pytest.mark.tensorflow
def test_sigmoid_and_many_class_models_are_read_as_their_outputs_mean(tmp_path):
    pytest.importorskip("tensorflow")
    import keras

    from spotter.model.classifier import Classifier
    from spotter.modelbuild.cardfile import build_card, write_card
    from spotter.modelbuild.convert import calibration_from_folder, convert
    from spotter.modelbuild.evaluate import keras_probs

    images = make_images(tmp_path / "images", per_class=4)
    calibration = calibration_from_folder(images, (16, 16))
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    for name, head, labels in (
        ("sigmoid", keras.layers.Dense(1, activation="sigmoid"), ("no", "yes")),
        ("many", keras.layers.Dense(400, activation="softmax"), _letter_labels(400)),
    ):
        model = keras.Model(inputs, head(pooled))
        out = convert(model, tmp_path / f"{name}-int8.tflite", calibration=calibration)
        write_card(out.with_suffix(".card.json"), build_card(name, "1", labels, (16, 16)))
        classifier = Classifier.load(out)
        scores = classifier.scores(classifier.tensor_from_pixels(calibration[0])[np.newaxis])
        expected = keras_probs(model, calibration[:1])[0]
        assert scores.shape == expected.shape == (len(labels),)
        # int8 steps are 1/256: the top score is the model's, not a second softmax of it
        assert abs(float(scores.max()) - float(expected.max())) < 0.02, (name, scores.max(), expected.max())


@pytest.mark.tensorflow
def test_convert_refuses_labels_that_do_not_match_the_outputs_and_user_errors_are_one_line(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    import keras

    from spotter.cli import main

    images = make_images(tmp_path / "images", per_class=4)
    inputs = keras.Input((16, 16, 3))
    model = keras.Model(
        inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs))
    )
    model.save(tmp_path / "three.keras")
    (tmp_path / "two.txt").write_text("cat\ndog\n")
    assert (
        main(
            [
                "model",
                "convert",
                str(tmp_path / "three.keras"),
                "--calibration",
                str(images),
                "--labels",
                str(tmp_path / "two.txt"),
            ]
        )
        == 2
    )
    assert "3 outputs but 2 labels" in capsys.readouterr().err and not (tmp_path / "three-int8.tflite").exists()
    assert (
        main(
            [
                "model",
                "convert",
                str(tmp_path / "three.keras"),
                "--calibration",
                str(images),
                "--labels",
                str(tmp_path / "two.txt"),
                "--calibration-limit",
                "0",
            ]
        )
        == 2
    )
    assert main(["model", "train", "--data", str(images), "--backbone", "tiny", "--out", str(tmp_path / "model")]) == 2
    assert ".keras" in capsys.readouterr().err
    assert (
        main(
            [
                "model",
                "train",
                "--data",
                str(images),
                "--backbone",
                "tiny",
                "--split",
                str(tmp_path / "none.json"),
                "--out",
                str(tmp_path / "m.keras"),
            ]
        )
        == 2
    )
    assert "none.json" in capsys.readouterr().err


def test_an_input_range_narrower_than_the_pixels_is_reported():
    from spotter.modelbuild.convert import input_clipping

    full = {"scale": 2 / 255, "zero_point": -1}  # the demo model's input: every pixel 0..255
    assert input_clipping(full) is None
    narrow = {"scale": 0.00729, "zero_point": 6}  # calibrated on mid-tone pictures only
    clipped = input_clipping(narrow)
    assert clipped is not None and "pixel values 3..240 only" in clipped  # 0..3 and 240..255 each read as one value


@pytest.mark.tensorflow
def test_a_domain_check_output_survives_int8_and_the_runtime_reads_it(tmp_path):
    """The demo model's second output (modelbuild/domain.py): the distance of a photo's pooled features
    from the training photos', built into the graph, converted to int8 with the class scores still the
    first output, and read by the runtime from the card's domain_check with the calibration applied."""
    pytest.importorskip("tensorflow")
    import keras

    from spotter.model.calibration import OUT_OF_DOMAIN
    from spotter.model.classifier import Classifier
    from spotter.modelbuild.cardfile import build_card, write_card
    from spotter.modelbuild.convert import (
        calibration_from_folder,
        convert_scores_first,
        output_names,
        scores_output_first,
    )
    from spotter.modelbuild.domain import distance, fit_whitening, pooled_of, with_domain_output
    from spotter.modelbuild.metrics import clipped_logit, platt
    from spotter.modelbuild.train import TrainConfig, build_backbone

    keras.utils.set_random_seed(0)
    images = make_images(tmp_path / "images", per_class=20, size=32)
    backbone = build_backbone(TrainConfig.tiny())
    pooled = keras.layers.GlobalAveragePooling2D(name="pool_top")(backbone.output)
    model = keras.Model(backbone.input, keras.layers.Dense(2, activation="softmax", name="probabilities")(pooled))
    pixels = calibration_from_folder(images, (32, 32), limit=40)
    fit = fit_whitening(pooled_of(model, pixels, "pool_top"), 4)
    both = with_domain_output(model, fit, "pool_top")
    out = convert_scores_first(both, tmp_path / "d-int8.tflite", calibration=pixels)
    assert scores_output_first(out.read_bytes())
    names = output_names(out)
    assert [shape for _, shape in names] == [[1, 2], [1, 1]]
    decision = {"positive": "red", "threshold": 0.5, "uncertain_band": [0.4, 0.6]}
    check = {"output": names[1][0], "threshold": 3.0, "sentence": "does not look like a dermoscopy photo; not assessed"}
    calibration = {"method": "platt", "a": 0.5, "b": 0.25}
    write_card(
        out.with_suffix(".card.json"),
        build_card(
            "d", "1.0.0", ("blue", "red"), (32, 32), decision=decision, calibration=calibration, domain_check=check
        ),
    )
    classifier = Classifier.load(out)
    expected = distance(pooled_of(model, pixels, "pool_top"), fit)
    served = [classifier.classify(Image.fromarray(p)) for p in pixels]
    got = np.array([p.domain_distance for p in served])
    assert np.corrcoef(got, expected)[0, 1] > 0.9 and np.abs(got - expected).mean() < 0.15 * expected.mean()
    raw = np.array([classifier.raw_scores(classifier.tensor_from_pixels(p)[np.newaxis])[1] for p in pixels])
    positive = np.array([p.positive_score for p in served], dtype=np.float64)
    np.testing.assert_allclose(positive, platt(clipped_logit(raw), 0.5, 0.25), atol=1e-5)
    # a picture unlike any training picture: a black and white checkerboard
    board = (np.indices((32, 32)).sum(axis=0) // 4 % 2 * 255).astype(np.uint8)
    far = classifier.classify(Image.fromarray(np.stack([board] * 3, axis=-1)))
    assert far.domain_distance > expected.max() and far.decision == OUT_OF_DOMAIN
