"""Issue 25, item 4 (analysts): an object detector's records in stats (objects per label), exports
(`task`, `counts`, `objects`; the boxes in JSON lines and Parquet), `spotter sql`'s table `detections`
and its cache, the Athena copy's detections dataset, and the API's record view. No server: the
shared functions, real DuckDB over real Parquet files."""

import csv
import io
import json

import pytest
from records_helpers import (
    DETECTOR,
    OBJECTS_PER_LABEL_PER_DAY_PER_SOURCE,
    detection_record,
    make_record,
)

from spotter.cli import main as spotter
from spotter.results.export import to_csv
from spotter.results.stats import summarise
from spotter.results.tabular import write

A, B, C, D = (0.1, 0.2, 0.4, 0.6), (0.5, 0.2, 0.9, 1.0), (0.0, 0.0, 0.3, 0.3), (0.2, 0.2, 0.8, 0.8)
NEW_COLUMNS = ("task", "counts", "objects", "tiles", "tiling", "detections")


@pytest.fixture
def records():
    """Three photos from the drone owl: two dogs and a cat (2026-11-01), one dog (11-02), nothing (11-03)."""
    return [
        detection_record(0, [("dog", 0.9, A), ("cat", 0.8, C), ("dog", 0.7, B)]),
        detection_record(1, [("dog", 0.6, D)]),
        detection_record(2, []),
    ]


def _by(rows, name="label"):
    return {row[name]: row for row in rows}


# --- stats: one implementation for `spotter stats` and GET /stats --------------------------------------


def test_stats_by_label_counts_each_object_of_a_detectors_records(records):
    from spotter.results.stats import counting_note, summary_columns

    rows = summarise(records, ("label",))
    by = _by(rows)
    assert {label: (r["count"], r["objects"]) for label, r in by.items()} == {
        "dog": (3, 3),
        "cat": (1, 1),
        None: (1, 0),
    }
    assert by["dog"]["mean_top"] == pytest.approx((0.9 + 0.7 + 0.6) / 3)  # the boxes' scores
    assert (by["dog"]["min_top"], by["dog"]["max_top"], by["cat"]["max_top"]) == (0.6, 0.9, 0.8)
    assert by["dog"]["p50_top"] == 0.7
    assert summary_columns(rows, ("label",), "top")[:4] == ["label", "count", "objects", "mean_top"]
    note = counting_note(rows, ("label",))
    assert note is not None and note.startswith("objects per label (detection records count each object")


def test_stats_by_label_keeps_counting_a_classifiers_records_once(records):
    from spotter.results.stats import counting_note, summary_columns

    classified = [make_record(5, label="dog", model="m@1"), make_record(6, label="benign", model="m@1")]
    by = _by(summarise(records + classified, ("label",)))
    assert (by["dog"]["count"], by["dog"]["objects"]) == (4, 3)  # three dogs detected, one photo classified dog
    assert (by["benign"]["count"], by["benign"]["objects"]) == (1, None)
    only_classifiers = summarise(classified, ("label",))
    assert all("objects" not in r for r in only_classifiers) and counting_note(only_classifiers, ("label",)) is None
    assert summary_columns(only_classifiers, ("label",), "top") == [
        "label", "count", "mean_top", "min_top", "max_top", "p5_top", "p50_top", "p95_top",
    ]  # fmt: skip


def test_stats_by_source_and_day_count_records_with_an_objects_column(records):
    from spotter.results.stats import counting_note

    classified = make_record(5, source="web", model="m@1")
    by_source = _by(summarise([*records, classified], ("source",)), "source")
    assert (by_source["owl"]["count"], by_source["owl"]["objects"]) == (3, 4)
    assert (by_source["web"]["count"], by_source["web"]["objects"]) == (1, None)
    by_day = _by(summarise(records, ("day",)), "day")
    assert {day: (r["count"], r["objects"]) for day, r in by_day.items()} == {
        "2026-11-01": (1, 3),
        "2026-11-02": (1, 1),
        "2026-11-03": (1, 0),
    }
    assert counting_note(list(by_day.values()), ("day",)) is None  # records: nothing to say


def test_stats_for_a_label_count_only_that_labels_objects(records):
    rows = summarise(records[:2], ("label", "source"), label="dog")
    assert [(r["label"], r["source"], r["count"], r["objects"]) for r in rows] == [("dog", "owl", 3, 3)]


# --- exports ---------------------------------------------------------------------------------------------


def test_csv_carries_task_counts_and_objects_as_text_and_leaves_the_boxes_out(records, tmp_path):
    classified = make_record(5, file_name="=cmd.jpg")
    rows = list(csv.DictReader(io.StringIO(to_csv([*records, classified]))))
    assert "detections" not in rows[0] and all(name in rows[0] for name in NEW_COLUMNS if name != "detections")
    assert (rows[0]["task"], json.loads(rows[0]["counts"]), rows[0]["objects"]) == ("detect", {"dog": 2, "cat": 1}, "3")
    assert rows[0]["counts"] == '{"dog": 2, "cat": 1}'  # JSON text, most numerous first
    assert (rows[2]["counts"], rows[2]["objects"], rows[2]["label"]) == ("{}", "0", "")  # found nothing
    assert (rows[3]["task"], rows[3]["counts"], rows[3]["objects"], rows[3]["file_name"]) == ("", "", "", "=cmd.jpg")
    out = tmp_path / "excel.csv"
    write([*records, classified], "csv", out, excel=True)  # --excel: the mark and the guard, counts untouched
    text = out.read_text(encoding="utf-8")
    excel_rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert text.startswith("\ufeff") and excel_rows[3]["file_name"] == "'=cmd.jpg"
    assert excel_rows[0]["counts"] == '{"dog": 2, "cat": 1}'


def test_json_lines_and_parquet_carry_counts_and_boxes(records, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    write(records, "jsonl", tmp_path / "r.jsonl")
    first = json.loads((tmp_path / "r.jsonl").read_text().splitlines()[0])
    assert (first["task"], first["counts"], first["objects"]) == ("detect", {"dog": 2, "cat": 1}, 3)
    assert first["detections"][0] == {"label": "dog", "score": 0.9, "box": list(A)}

    write([*records, make_record(5)], "parquet", tmp_path / "r.parquet")
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.schema.field("counts").type == pa.map_(pa.string(), pa.int64())
    assert table.schema.field("detections").type.value_type.field("box").type == pa.list_(pa.float64())
    rows = table.to_pylist(maps_as_pydicts="strict")
    assert [(r["task"], r["counts"], r["objects"]) for r in rows] == [
        ("detect", {"dog": 2, "cat": 1}, 3),
        ("detect", {"dog": 1}, 1),
        ("detect", {}, 0),
        (None, None, None),
    ]
    assert rows[0]["detections"][2] == {"label": "dog", "score": 0.7, "box": list(B)}
    assert (rows[2]["detections"], rows[3]["detections"]) == ([], None)  # found nothing; not a detector


def test_the_terminal_table_shows_objects_and_counts_only_beside_a_detectors_records(records):
    from spotter.results.tabular import write_table

    shown = io.StringIO()
    write_table(records, shown)
    header = shown.getvalue().splitlines()[0].split()
    assert header[header.index("score") + 1 : header.index("score") + 3] == ["objects", "counts"]
    assert '{"dog": 2, "cat": 1}' in shown.getvalue()
    plain = io.StringIO()
    write_table([make_record(5)], plain)
    assert "objects" not in plain.getvalue().splitlines()[0]


# --- spotter sql: the table `detections` -----------------------------------------------------------------


@pytest.fixture
def data(records, tmp_path):
    from spotter.results.parquet_copy import write_layout

    write_layout([*records, make_record(5), make_record(6, source="web")], tmp_path / "data")
    return tmp_path / "data"


def _run(data, text, model=None):
    from spotter.results.sql import connect, run

    return run(connect(data, data.parent / "spill", model=model), text)


def test_sql_has_a_detections_table_one_row_per_box(data):
    from spotter.results.parquet_copy import DETECTION_COLUMNS

    columns, rows = _run(data, "SELECT * FROM detections ORDER BY upload_day, score DESC")
    assert columns == [name for name, _ in DETECTION_COLUMNS]
    assert columns[:2] == ["object_id", "model"] and columns[-5:] == ["x_min", "y_min", "x_max", "y_max", "upload_day"]
    boxes = [(r[columns.index("label")], r[columns.index("score")], r[-5:-1], r[-1]) for r in rows]
    assert boxes == [
        ("dog", 0.9, A, "2026-11-01"),
        ("cat", 0.8, C, "2026-11-01"),
        ("dog", 0.7, B, "2026-11-01"),
        ("dog", 0.6, D, "2026-11-02"),
    ]
    assert {r[columns.index("source")] for r in rows} == {"owl"}
    assert {r[columns.index("model")] for r in rows} == {DETECTOR}


def test_the_analysts_detection_example_runs_in_spotter_sql(data):
    columns, rows = _run(data, OBJECTS_PER_LABEL_PER_DAY_PER_SOURCE)
    assert columns == ["upload_day", "source", "label", "objects", "images", "mean_score"]
    assert rows == [
        ("2026-11-01", "owl", "cat", 1, 1, 0.8),
        ("2026-11-01", "owl", "dog", 2, 1, 0.8),
        ("2026-11-02", "owl", "dog", 1, 1, 0.6),
    ]


def test_detections_follow_the_model_version_predictions_holds(data):
    assert _run(data, "SELECT count(*) FROM detections", model=DETECTOR)[1] == [(4,)]
    assert _run(data, "SELECT count(*) FROM detections", model="m@1")[1] == [(0,)]


def test_sql_prints_counts_as_a_json_object_and_boxes_from_the_command_line(data, capsys):
    query = "SELECT file_name, counts, objects FROM predictions WHERE task = 'detect' ORDER BY file_name"
    assert spotter(["sql", "--data", str(data), "--format", "json", query]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"file_name": "0.jpg", "counts": {"dog": 2, "cat": 1}, "objects": 3},
        {"file_name": "1.jpg", "counts": {"dog": 1}, "objects": 1},
        {"file_name": "2.jpg", "counts": {}, "objects": 0},
    ]
    query = "SELECT label, count(*) AS boxes FROM detections GROUP BY label ORDER BY label"
    assert spotter(["sql", "--data", str(data), "--format", "csv", query]) == 0
    assert capsys.readouterr().out.splitlines() == ["label,boxes", "cat,1", "dog,3"]


@pytest.mark.parametrize(
    "text",
    [
        "DROP VIEW detections",
        "CREATE OR REPLACE VIEW detections AS SELECT 1 AS label",
        "COPY (SELECT * FROM detections) TO 'out.csv'",
        "EXPLAIN ANALYZE COPY (SELECT * FROM detections) TO 'out.csv'",
        "SELECT * FROM detections, read_parquet('/etc/passwd')",
        "SELECT * FROM detections; DROP VIEW predictions",
    ],
)
def test_sql_stays_read_only_with_the_detections_table(data, text):
    from spotter.results.sql import SqlError

    assert _run(data, "SELECT count(*) FROM detections")[1] == [(4,)]
    with pytest.raises(SqlError):
        _run(data, text)


def test_data_written_before_detectors_has_an_empty_detections_table(records, tmp_path):
    """A kept export or a synced copy from before: its files have no `detections` column."""
    import pyarrow.parquet as pq

    from spotter.results.parquet_copy import DETECTION_COLUMNS, day_table

    old = day_table([make_record(0), make_record(3)]).drop_columns(list(NEW_COLUMNS))
    (tmp_path / "old" / "upload_day=2026-11-01").mkdir(parents=True)
    pq.write_table(old, tmp_path / "old" / "upload_day=2026-11-01" / "records.parquet")
    columns, rows = _run(tmp_path / "old", "SELECT * FROM detections")
    assert (columns, rows) == ([name for name, _ in DETECTION_COLUMNS], [])
    assert _run(tmp_path / "old", "SELECT count(*) FROM predictions")[1] == [(2,)]
    assert _run(tmp_path / "none", "SELECT count(*) FROM detections")[1] == [(0,)]  # no data at all


def test_the_sql_cache_rereads_days_a_cache_from_before_detectors_kept(records, tmp_path):
    """A cache written before the detector's columns existed (its state of layout version 2) would
    answer `detections` with nothing: its days are read again, whatever their digests say."""
    import pyarrow.parquet as pq

    from spotter.results import sql_cache
    from spotter.results.parquet_copy import day_folder, day_table
    from spotter.results.sql_cache import STATE_FILE, DayDigest, refresh

    root = tmp_path / "cache"
    by_day: dict[str, list] = {}
    for record in records:
        by_day.setdefault(record.upload_day, []).append(record)
    digests = {}
    for day, day_records in by_day.items():
        digest = DayDigest()
        for record in day_records:
            digest.add_record(record)
        digests[day] = digest.hexdigest()
        (root / day_folder(day)).mkdir(parents=True)
        old = day_table(day_records).drop_columns(list(NEW_COLUMNS))  # what version 2 wrote
        pq.write_table(old, root / day_folder(day) / "records.parquet")
    files = {day: sql_cache._files_of(root, day) for day in digests}  # each day whole, as version 2 kept it
    (root / STATE_FILE).write_text(json.dumps({"version": 2, "days": digests, "files": files}))
    keys = {day: [(r.object_id, r.model) for r in rs] for day, rs in by_day.items()}
    wanted = {(r.object_id, r.model): r for r in records}
    done = refresh(root, digests, keys.__getitem__, lambda ks: [wanted[k] for k in ks], lambda: [records])
    assert (done.written, done.kept) == (3, 0)
    assert _run(root, "SELECT count(*) FROM detections")[1] == [(4,)]
    again = refresh(root, digests, keys.__getitem__, lambda ks: [wanted[k] for k in ks], lambda: [records])
    assert (again.written, again.kept) == (0, 3)  # and kept from then on


# --- the Athena copy: the detections dataset -------------------------------------------------------------


def _changes(*changes):
    from spotter.results.parquet_copy import Change, changes_by_day

    return changes_by_day(
        Change(record.upload_day if record else day, oid, model, record) for day, oid, model, record in changes
    )


def test_the_copy_merges_a_days_boxes_into_the_detections_dataset(records):
    from spotter.results.parquet_copy import DETECTION_COLUMNS, DETECTIONS, merge_day

    first, second = records[0], detection_record(3, [("cat", 0.95, D)])  # both 2026-11-01
    day = first.upload_day
    changes = _changes(*((day, r.object_id, r.model, r) for r in (first, second, make_record(6))))[day]
    table = merge_day(None, changes.of(DETECTIONS))
    assert table.column_names == [name for name, _ in DETECTION_COLUMNS][:-1]  # the folder holds upload_day
    rows = [(r["file_name"], r["label"], r["score"]) for r in table.to_pylist()]
    assert sorted(rows) == sorted(
        [("0.jpg", "dog", 0.9), ("0.jpg", "cat", 0.8), ("0.jpg", "dog", 0.7), ("3.jpg", "cat", 0.95)]
    )
    assert [r for r in rows if r[0] == "0.jpg"] == [("0.jpg", "dog", 0.9), ("0.jpg", "cat", 0.8), ("0.jpg", "dog", 0.7)]
    assert merge_day(table, changes.of(DETECTIONS)).equals(table)  # a retried batch writes the same file
    redetected = detection_record(0, [("bird", 0.5, A)])
    removed = (day, second.object_id, second.model, None)
    after = merge_day(table, _changes((day, first.object_id, first.model, redetected), removed)[day].of(DETECTIONS))
    assert [(r["file_name"], r["label"]) for r in after.to_pylist()] == [("0.jpg", "bird")]
    assert merge_day(table, changes).column_names[:2] == ["object_id", "model"]  # the records' file, as before
    with pytest.raises(ValueError):
        changes.of("boxes")


def test_a_day_file_written_before_the_detector_columns_still_merges(records):
    from spotter.results.parquet_copy import day_table, merge_day

    old = day_table([make_record(3), make_record(6)]).drop_columns(list(NEW_COLUMNS))
    first = records[0]
    merged = merge_day(old, _changes((first.upload_day, first.object_id, first.model, first))[first.upload_day])
    assert merged.num_rows == 3 and set(NEW_COLUMNS) <= set(merged.column_names)
    rows = {r["file_name"]: r for r in merged.to_pylist(maps_as_pydicts="strict")}
    assert rows["0.jpg"]["counts"] == {"dog": 2, "cat": 1} and rows["3.jpg"]["counts"] is None


def test_the_detections_dataset_lives_beside_the_predictions():
    from spotter.results.parquet_copy import detections_prefix

    assert detections_prefix("predictions/") == "detections/"
    assert detections_prefix("copy/predictions/") == "copy/detections/"
    assert detections_prefix("copy/predictions") == "copy/detections/"


# --- the API's view of a record --------------------------------------------------------------------------


def test_the_apis_record_view_has_counts_and_boxes(records):
    from spotter.web.views import record_view

    view = record_view(records[0], None)
    assert (view["task"], view["counts"], view["objects"], view["tiles"]) == ("detect", {"dog": 2, "cat": 1}, 3, 0)
    assert view["detections"][1] == {"label": "cat", "score": 0.8, "box": list(C)}
    assert (view["label"], view["score"]) == ("dog", 0.9)
    nothing = record_view(records[2], None)
    assert (nothing["counts"], nothing["objects"], "label" in nothing) == ({}, 0, False)
