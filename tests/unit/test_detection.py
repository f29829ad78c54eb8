"""Object detectors: recognising them, tiling large photos, merging boxes across tiles, the record.

The shipped COCO detector runs on real photos from ../shared (skipped when it is absent); the tile
plan and the merge are checked on synthetic boxes whose answer is known.
"""

import itertools
import json
import time

import images
import pytest
from conftest import MODELS, ROOT, SHARED
from PIL import Image

from spotter.errors import ModelError
from spotter.ingest.imaging import decode_image
from spotter.model.detector import MAX_STORED_DETECTIONS, Detection, Detector
from spotter.model.loading import load_model
from spotter.model.merge import Found, merge
from spotter.model.tiling import WHOLE, TilePlan, Tiling, View, to_photo, touches_inner_edge
from spotter.records import PredictionRecord, apply_detection

COUNT_MODEL = ROOT / "model" / "coco-ssd-mobilenet-v1.tflite"
SAMPLES = SHARED / "data" / "detect-samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/data/detect-samples is absent")


@pytest.fixture(scope="module")
def coco():
    return load_model(COUNT_MODEL)


def mosaic(cols: int, rows: int, scale: float, size=(4000, 3000)) -> Image.Image:
    """A large field photo made of small copies of pets.jpg (two dogs each) on grass-grey ground."""
    pets = Image.open(SAMPLES / "pets.jpg").convert("RGB")
    small = pets.resize((int(pets.width * scale), int(pets.height * scale)))
    canvas = Image.new("RGB", size, (110, 120, 100))
    gap = 40
    for i in range(cols):
        for j in range(rows):
            x = int(gap + i * (size[0] - 2 * gap - small.width) / max(1, cols - 1))
            y = int(gap + j * (size[1] - 2 * gap - small.height) / max(1, rows - 1))
            canvas.paste(small, (x, y))
    return canvas


# ---- recognising a detector -------------------------------------------------------------------


def test_the_shipped_detector_is_recognised_with_its_card_and_label_map(coco):
    assert isinstance(coco, Detector)
    assert coco.input_size == (300, 300) and coco.model_id == "coco-ssd-mobilenet-v1@1.0-quant"
    assert coco.label_for(0) == "person" and coco.label_for(17) == "dog"  # '???' first: ids shifted by one
    assert coco.label_for(11) is None  # a '???' gap: an id COCO does not use
    assert coco.label_for(-1) is None and coco.label_for(500) == "class_500"
    assert coco.tiling == Tiling(tile=768, overlap=0.2, max_tiles=36)


def test_a_detector_without_a_card_is_recognised_from_its_outputs(tmp_path):
    model = tmp_path / "detect.tflite"
    model.write_bytes(COUNT_MODEL.read_bytes())
    labels = tmp_path / "labelmap.txt"
    labels.write_text("\n".join(json.loads(COUNT_MODEL.with_suffix(".card.json").read_text())["labels"]) + "\n")
    detector = load_model(model, labels_path=labels)
    assert isinstance(detector, Detector) and detector.label_for(17) == "dog"
    assert detector.tiling == Tiling()  # the defaults: tiling on


def test_a_detector_whose_outputs_come_in_another_order_is_read_by_their_values(tmp_path):
    """TF2 exports write scores, boxes, count, classes, with names that do not say which is which."""
    model = tmp_path / "odd.tflite"
    model.write_bytes((MODELS / "odd-detector-float32.tflite").read_bytes())
    labels = tmp_path / "labels.txt"
    labels.write_text("red\nblue\n")
    detector = load_model(model, labels_path=labels, float_range=(0.0, 1.0))
    assert isinstance(detector, Detector)
    picture = Image.new("RGB", (64, 64), (40, 40, 200))  # scores of 0.63 and 0.69: not whole numbers
    picture.paste((215, 40, 40), (0, 0, 32, 64))  # left half red, right half blue
    found = detector.with_tiling(Tiling(enabled=False)).detect_image(picture)
    assert found.counts == {"blue": 1, "red": 1}
    red = next(f for f in found.found if f.label == "red")
    assert red.box == pytest.approx((0.1, 0.25, 0.4, 0.75), abs=1e-3)  # x_min, y_min, x_max, y_max


def test_a_card_that_says_classify_on_a_detector_an_empty_model_and_an_empty_labels_file_are_refused(tmp_path):
    model = tmp_path / "d.tflite"
    model.write_bytes(COUNT_MODEL.read_bytes())
    model.with_suffix(".card.json").write_text(
        json.dumps({**json.loads(COUNT_MODEL.with_suffix(".card.json").read_text()), "task": "classify"})
    )
    with pytest.raises(ModelError, match=r"card says task 'classify' but .* is an SSD-style detector"):
        load_model(model)
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="is an empty file, not a TFLite model"):
        load_model(empty)
    labels = tmp_path / "labels.txt"
    labels.write_text("\n\n")
    with pytest.raises(ModelError, match=r"labels file .* holds no labels"):
        load_model(COUNT_MODEL, labels_path=labels)


def test_a_model_that_is_neither_a_classifier_nor_a_detector_is_refused_naming_its_outputs():
    with pytest.raises(ModelError, match=r"neither an image classifier .* nor an SSD-style detector .* \[1, 2, 4\]"):
        load_model(MODELS / "boxes-only-float32.tflite")


def test_a_card_that_says_detect_on_a_classifier_is_refused(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes((MODELS / "colours-int8.tflite").read_bytes())
    card = {**json.loads((MODELS / "colours-int8.card.json").read_text()), "task": "detect"}
    model.with_suffix(".card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"card says task 'detect' but .* its outputs: .*\[1, 3\]"):
        load_model(model)
    card["task"] = "segment"
    model.with_suffix(".card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"card task must be one of classify, detect"):
        load_model(model)


@pytest.mark.parametrize(
    ("tiling", "message"),
    [
        ({"tile": 8}, "tiling.tile"),
        ({"overlap": 0.95}, "tiling.overlap"),
        ({"max_tiles": 0}, "tiling.max_tiles"),
        ({"tiles": 4}, "unknown fields"),
        ({"max_tiles": "36"}, "tiling.max_tiles must be a whole number"),  # JSON's own types (the sixth trial)
        ({"overlap": "0.2"}, "tiling.overlap must be a number"),
        ({"enabled": "yes"}, "tiling.enabled must be true or false"),
        ({"tile": 256}, r"tiling.tile is 256 px, smaller than the model's 300 px input"),
    ],
)
def test_a_card_with_unusable_tiling_is_refused(tmp_path, tiling, message):
    model = tmp_path / "d.tflite"
    model.write_bytes(COUNT_MODEL.read_bytes())
    card = {**json.loads(COUNT_MODEL.with_suffix(".card.json").read_text()), "tiling": tiling}
    model.with_suffix(".card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=message):
        load_model(model)


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ([1, 2], "a model card is a JSON object"),
        (None, "a model card is a JSON object"),
        ({"name": "d", "version": "1", "labels": ["a"], "input": None}, "model card input must be an object"),
        ({"name": "d", "version": "1", "labels": {"0": "person"}}, "labels must be a list of texts"),
        ({"name": "d", "version": "1", "labels": "person dog"}, "labels must be a list of texts"),
        (
            {"name": "d", "version": "1", "labels": ["a"], "input": {"size": [300]}},
            r"input.size must be \[width, height\]",
        ),
        (
            {"name": "d", "version": "1", "labels": ["a"], "detection": {"iou": 0.3}},
            r"detection has unknown fields \['iou'\]",
        ),
    ],
)
def test_a_malformed_card_is_a_clear_error_not_a_crash(tmp_path, card, message):
    """The second counting trial: a card of `[1,2]`, `null` or `"input": null` crashed with a traceback."""
    model = tmp_path / "d.tflite"
    model.write_bytes(COUNT_MODEL.read_bytes())
    model.with_suffix(".card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=message):
        load_model(model)


def test_a_detection_of_an_object_larger_than_a_tile_says_its_pieces_may_be_counted():
    tile = View((0.0, 0.0, 0.25, 0.25), Image.new("RGB", (1, 1)))
    big = Found("dog", 0.8, (0.1, 0.1, 0.6, 0.7), view=0)  # wider than a tile: no tile saw it whole
    pieces = [
        found("elephant", 0.6, (0.12, 0.12, 0.24, 0.24), 1, tile),
        found("bench", 0.55, (0.3, 0.3, 0.4, 0.5), 2, tile),
    ]
    kept = merge([big, *pieces], tile=(0.25, 0.25))
    assert [f.label for f in kept] == ["dog"]  # its pieces within it go


def test_tiling_overrides_from_the_command_line(coco):
    base = Tiling()
    assert base.overridden("off").enabled is False
    assert base.overridden("enabled=false").enabled is False  # the card's own field name
    assert base.overridden("tile=512,overlap=0.3,max-tiles=9") == Tiling(tile=512, overlap=0.3, max_tiles=9)
    with pytest.raises(ModelError, match="not understood"):
        base.overridden("size=3")
    with pytest.raises(ModelError, match="--tiling gives tile twice"):
        base.overridden("tile=512,tile=700")
    with pytest.raises(ModelError, match=r"^--tiling.overlap must be"):
        base.overridden("overlap=0.95")
    with pytest.raises(ModelError, match=r"--tiling.tile is 256 px, smaller than the model's 300 px input"):
        coco.with_tiling(base.overridden("tile=256,max_tiles=400"))
    coco.with_tiling(Tiling())


# ---- the tile plan ------------------------------------------------------------------------------


def test_a_small_photo_is_detected_whole_only():
    assert Tiling().plan(900, 700).regions == ()


def test_a_12_mp_photo_is_covered_by_overlapping_tiles_within_the_limit():
    plan = Tiling(tile=768, overlap=0.2, max_tiles=36).plan(4000, 3000)
    assert 1 < len(plan.regions) <= 36 and plan.grown_from is None
    # every pixel is in some tile, and neighbours share at least 20 % of a tile
    for x in range(0, 4000, 97):
        for y in range(0, 3000, 89):
            assert any(r[0] * 4000 <= x < r[2] * 4000 and r[1] * 3000 <= y < r[3] * 3000 for r in plan.regions)
    xs = sorted({r[0] for r in plan.regions})
    assert all((b - a) * 4000 <= 768 * 0.8 + 1 for a, b in itertools.pairwise(xs))


def test_past_the_tile_limit_the_tiles_grow_and_the_record_says_so():
    plan = Tiling(tile=512, max_tiles=9).plan(6000, 4000)
    assert len(plan.regions) <= 9 and plan.tile > 512 and plan.grown_from == 512
    assert "tiles grown from 512" in (plan.describe(len(plan.regions)) or "")
    assert f"counted on 3 of {len(plan.regions)} tiles" in (plan.describe(3) or "")


# ---- merging boxes across tiles (synthetic: the answer is known) --------------------------------

LEFT = View((0.0, 0.0, 0.6, 1.0), Image.new("RGB", (1, 1)))  # two tiles overlapping on x 0.4..0.6
RIGHT = View((0.4, 0.0, 1.0, 1.0), Image.new("RGB", (1, 1)))


def found(label, score, box, view_index, view):
    return Found(label, score, box, touches_inner_edge(box, view), view_index)


def test_an_object_cut_by_a_tile_edge_counts_once_with_its_whole_box():
    # a flower at x 0.5..0.7: the left tile sees its left part up to its edge at 0.6
    piece = found("flower", 0.7, (0.5, 0.2, 0.6, 0.3), 1, LEFT)
    whole = found("flower", 0.9, (0.5, 0.2, 0.7, 0.3), 2, RIGHT)
    assert piece.cut and not whole.cut
    assert [f.box for f in merge([piece, whole])] == [(0.5, 0.2, 0.7, 0.3)]


def test_two_pieces_of_one_object_on_both_sides_of_an_edge_merge_into_one_box():
    left_piece = found("flower", 0.6, (0.35, 0.5, 0.6, 0.6), 1, LEFT)  # cut at x 0.6
    right_piece = found("flower", 0.8, (0.4, 0.5, 0.65, 0.6), 2, RIGHT)  # cut at x 0.4
    merged = merge([left_piece, right_piece])
    assert len(merged) == 1 and merged[0].box == pytest.approx((0.35, 0.5, 0.65, 0.6))


def test_the_same_object_in_the_overlap_counts_once_and_neighbours_count_apart():
    one = found("flower", 0.9, (0.45, 0.1, 0.5, 0.15), 1, LEFT)
    again = found("flower", 0.8, (0.452, 0.101, 0.501, 0.152), 2, RIGHT)
    touching = found("flower", 0.85, (0.5, 0.1, 0.55, 0.15), 2, RIGHT)  # its own flower, side by side
    assert len(merge([one, again, touching])) == 2


def test_the_halves_of_an_object_cut_by_a_horizontal_edge_count_once():
    """The sixth trial: tiles about the size of a dog saw its upper and lower halves, which overlap
    only in the tiles' overlap (IoU 0.29, intersection over the smaller 0.45): two dogs."""
    upper_tile, lower_tile = (
        View((0.5, 0.7, 0.6, 0.82), Image.new("RGB", (1, 1))),
        View((0.5, 0.78, 0.6, 0.9), Image.new("RGB", (1, 1))),
    )
    upper = found("dog", 0.7, (0.59, 0.777, 0.625, 0.838), 1, upper_tile)
    lower = found("dog", 0.6, (0.5875, 0.812, 0.628, 0.859), 2, lower_tile)
    assert upper.cut and lower.cut
    merged = merge([upper, lower])
    assert len(merged) == 1 and merged[0].box == pytest.approx((0.5875, 0.777, 0.628, 0.859))
    # two dogs side by side, each whole, are two
    assert (
        len(
            merge(
                [
                    found("dog", 0.7, (0.1, 0.1, 0.2, 0.2), 1, upper_tile),
                    found("dog", 0.7, (0.21, 0.1, 0.3, 0.2), 1, upper_tile),
                ]
            )
        )
        == 2
    )


def test_a_whole_photo_box_around_objects_the_tiles_saw_is_a_group_not_an_object():
    """The sixth trial: the squashed whole photo read 24 dogs as one 'person' box over the photo."""
    tile = View((0.0, 0.0, 0.5, 0.5), Image.new("RGB", (1, 1)))
    dogs = [found("dog", 0.8, (0.1 + 0.1 * i, 0.1, 0.15 + 0.1 * i, 0.2), 1, tile) for i in range(3)]
    group = Found("person", 0.6, (0.0, 0.0, 0.99, 0.9), view=0)
    assert sorted(f.label for f in merge([*dogs, group])) == ["dog", "dog", "dog"]


def test_a_small_object_the_whole_photo_named_otherwise_counts_once_and_large_ones_stay():
    tile = View((0.0, 0.0, 0.5, 0.5), Image.new("RGB", (1, 1)))
    dog = found("dog", 0.75, (0.10, 0.10, 0.14, 0.18), 1, tile)
    coarse = Found("person", 0.63, (0.105, 0.09, 0.15, 0.20), view=0)  # the whole photo's blurry guess
    bus = Found("bus", 0.8, (0.05, 0.05, 0.45, 0.45), view=0)  # a large object around small ones
    kept = merge([dog, coarse, bus])
    assert sorted(f.label for f in kept) == ["bus", "dog"]


# ---- the record ---------------------------------------------------------------------------------


def test_a_record_keeps_counts_of_all_objects_and_a_bounded_list_of_boxes():
    many = tuple(Found("flower", 0.5 + i / 10000, (0.0, 0.0, 0.001, 0.001)) for i in range(1000))
    result = Detection(found=many, counts={"flower": 1000}, views_done=5, views_planned=5, plan=TilePlan((), 0, None))
    record = PredictionRecord(
        object_id="x", model="m@1", bucket="b", key="k", status="ok", source="web", file_name="f.jpg",
        uploaded_at="2026-12-07T00:00:00.000Z", classified_at="2026-12-07T00:00:00.000Z", model_name="m", model_version="1",
    )  # fmt: skip
    apply_detection(record, result)
    data = record.as_dict()
    assert data["counts"] == {"flower": 1000} and data["objects"] == 1000 and data["task"] == "detect"
    assert len(data["detections"]) == MAX_STORED_DETECTIONS
    assert len(json.dumps(data)) < 100_000  # DynamoDB's item limit is 400 KB
    assert data["label"] == "flower" and data["score"] == round(0.5 + 999 / 10000, 4)
    nothing = Detection(found=(), counts={}, views_done=1, views_planned=1, plan=TilePlan((), 0, None))
    apply_detection(record, nothing)
    assert record.as_dict()["counts"] == {} and "label" not in record.as_dict()


def test_boxes_of_a_padded_input_map_back_onto_the_photo():
    view = View(WHOLE, Image.new("RGB", (1, 1)), window=(0.0, -0.5, 1.0, 1.5))  # a wide photo padded to square
    assert to_photo((0.0, 0.25, 1.0, 0.75), view) == pytest.approx((0.0, 0.0, 1.0, 1.0))


# ---- the real detector on real photos ------------------------------------------------------------


@needs_samples
@pytest.mark.parametrize(("photo", "expected"), [("pets.jpg", {"dog": 2}), ("grace_hopper.bmp", {"person": 1})])
def test_the_coco_detector_counts_real_photos(coco, photo, expected):
    decoded = decode_image((SAMPLES / photo).read_bytes(), coco.input_size, use_draft=False)
    counts = coco.detect_image(decoded.image).counts
    assert {label: counts.get(label) for label in expected} == expected


@needs_samples
def test_a_large_photo_finds_clearly_more_small_objects_tiled_than_whole_without_double_counts(coco):
    field = mosaic(4, 3, scale=1.2)  # 12 copies of pets.jpg: 24 dogs, each about 150 px across
    whole = coco.with_tiling(Tiling(enabled=False)).detect_image(field)
    tiled = coco.with_tiling(Tiling(tile=768, overlap=0.2, max_tiles=36)).detect_image(field)
    assert whole.counts.get("dog", 0) < 12
    assert tiled.counts.get("dog") == 24  # every dog, none twice along the tile edges
    assert sum(tiled.counts.values()) == 24
    assert tiled.views_done == len(tiled.plan.regions) + 1 and tiled.tiling_note is None


@needs_samples
def test_past_the_time_budget_the_photo_is_counted_on_fewer_tiles_and_says_so(coco):
    field = mosaic(4, 3, scale=1.2)
    tiled = coco.with_tiling(Tiling(tile=768)).detect_image(field, deadline=time.monotonic() - 1)
    assert tiled.views_done == 1  # the whole photo only: it is always detected
    assert tiled.tiling_note == f"counted on 0 of {len(tiled.plan.regions)} tiles: the time budget ran out"


def test_the_detector_runs_on_a_synthetic_photo_without_shared(coco):
    """Always runs (the shipped model needs no ../shared): a plain photo yields a well-formed result."""
    picture = decode_image(images.jpeg(images.RED, size=(2000, 1500)), coco.input_size, use_draft=False).image
    result = coco.detect_image(picture)
    assert result.views_done == len(result.plan.regions) + 1 > 1
    assert all(0.0 <= v <= 1.0 for f in result.found for v in f.box)


def test_a_detection_record_goes_through_boto3s_resource_layer():
    """boto3's Table.put_item takes Decimals only: the boxes' floats failed with 'Float types are not supported'."""
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    from spotter.adapters.dynamodb_records import to_item

    record = PredictionRecord(
        object_id="x", model="m@1", bucket="b", key="drones/d/a.jpg", status="ok", source="d", file_name="a.jpg",
        uploaded_at="2026-12-07T00:00:00.000Z", classified_at="2026-12-07T00:00:00.000Z", model_name="m", model_version="1",
    )  # fmt: skip
    found = (Found("dog", 0.8164, (0.2374, 0.1137, 0.4905, 1.0)),)
    apply_detection(record, Detection(found, {"dog": 1}, 1, 1, TilePlan((), 0, None)))
    serialized = {k: TypeSerializer().serialize(v) for k, v in to_item(record).items()}
    back = {k: TypeDeserializer().deserialize(v) for k, v in serialized.items()}
    assert [float(v) for v in back["detections"][0]["box"]] == [0.2374, 0.1137, 0.4905, 1.0]
