import json
import subprocess
import sys

import images
from conftest import MODELS, ROOT, clean_env


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "spotter.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=clean_env(),
    )


def test_predict_prints_one_json_line_per_file_and_fails_at_the_end(tmp_path):
    red, blue, bad = tmp_path / "red.jpg", tmp_path / "blue.png", tmp_path / "bad.jpg"
    red.write_bytes(images.jpeg(images.RED))
    blue.write_bytes(images.png(images.BLUE))
    bad.write_text("not an image")
    result = run_cli("predict", red, bad, blue, "--model", MODELS / "colours-int8.tflite", "--top", "2")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1
    assert [line["file"] for line in lines] == [str(red), str(bad), str(blue)]
    assert lines[0]["label"] == "red" and len(lines[0]["top"]) == 2 and set(lines[0]["top"][0]) == {"label", "score"}
    assert "text file" in lines[1]["error"]
    assert lines[2]["label"] == "blue"


def test_predict_all_good_exits_zero_and_bad_model_exits_two(tmp_path):
    red = tmp_path / "red.jpg"
    red.write_bytes(images.jpeg(images.RED))
    assert run_cli("predict", red, "--model", MODELS / "colours-float32.tflite").returncode == 0
    result = run_cli("predict", red, "--model", tmp_path / "missing.tflite")
    assert result.returncode == 2 and "cannot read model" in result.stderr


def test_predict_refuses_a_card_whose_label_is_past_the_key_limit(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes((MODELS / "colours-int8.tflite").read_bytes())
    card = json.loads((MODELS / "colours-int8.card.json").read_text())
    card["labels"][2] = "b" * 3000
    model.with_suffix(".card.json").write_text(json.dumps(card))
    red = tmp_path / "red.jpg"
    red.write_bytes(images.jpeg(images.RED))
    result = run_cli("predict", red, "--model", model)
    assert result.returncode == 2 and result.stdout == ""
    assert "labels[2] is 3000 bytes of UTF-8; the limit is 256" in result.stderr


def test_predict_counts_objects_with_a_detector_and_its_tiling_can_be_overridden(tmp_path):
    from conftest import SHARED

    big = tmp_path / "field.jpg"
    big.write_bytes(images.jpeg(images.GREEN, size=(2400, 1800)))
    pets = SHARED / "data" / "detect-samples" / "pets.jpg"
    files = [big, pets] if pets.exists() else [big]
    result = run_cli("predict", *files, "--model", "count")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0, result.stderr
    assert (
        lines[0]["task"] == "detect"
        and lines[0]["tiles"] > 1
        and lines[0]["objects"] == sum(lines[0]["counts"].values())
    )
    if pets.exists():
        assert lines[1]["counts"] == {"dog": 2} and [d["label"] for d in lines[1]["detections"]] == ["dog", "dog"]
        assert all(0 <= v <= 1 for d in lines[1]["detections"] for v in d["box"])
    whole = json.loads(run_cli("predict", big, "--model", "count", "--tiling", "off").stdout)
    assert whole["tiles"] == 0
    refused = run_cli("predict", big, "--model", MODELS / "colours-int8.tflite", "--tiling", "off")
    assert refused.returncode == 2 and "--tiling is for object detectors" in refused.stderr
