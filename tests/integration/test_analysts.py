"""Analysts: query on indexes with every filter, export to Parquet/CSV, reprocess with a new model."""

import csv

import images
import pytest
from conftest import MODELS
from records_helpers import matches_query, seed_table

from spotter.adapters.dynamodb import DynamoPredictionQueries, DynamoPredictions
from spotter.cli import main as spotter
from spotter.records import PredictionRecord, object_id_for
from spotter.results.query import PredictionQuery, QueryError, all_pages

QUERIES = [
    PredictionQuery(batch="b1"),
    PredictionQuery(source="falcon"),
    PredictionQuery(label="malignant"),
    PredictionQuery(status="rejected"),
    PredictionQuery(source="owl", status="ok", min_score=0.7),
    PredictionQuery(label="benign", max_score=0.8),
    PredictionQuery(since="2026-11-05T00:00:00.000Z", until="2026-11-09T00:00:00.000Z"),
    PredictionQuery(source="falcon", since="2026-11-10T00:00:00.000Z"),
    PredictionQuery(captured_since="2026-10-10T00:00:00.000Z", captured_until="2026-10-20T00:00:00.000Z"),
    PredictionQuery(bbox=(42.0, 0.0, 48.0, 8.0)),
    PredictionQuery(label="benign", model="m@2"),
    PredictionQuery(batch="f1", source="owl"),
    # `until` is exclusive: a record uploaded exactly then (img6) is out, one exactly at `since` (img5) in
    PredictionQuery(since="2026-11-06T10:05:00.000Z", until="2026-11-07T10:06:00.000Z"),
    PredictionQuery(source="owl", since="2026-11-06T10:05:00.000Z", until="2026-11-07T10:06:00.000Z"),
    PredictionQuery(bbox=(40.0, 9.0, 50.0, -4.0)),  # west > east: the box crosses the antimeridian
]


@pytest.mark.parametrize("bbox", [(50.0, 0.0, 40.0, 1.0), (0.0, 0.0, 91.0, 1.0), (0.0, -181.0, 1.0, 1.0)])
def test_impossible_boxes_are_refused(bbox):
    with pytest.raises(QueryError, match="bbox"):
        PredictionQuery(bbox=bbox)


@pytest.fixture
def seeded(stack):
    table = stack.dynamodb.Table(stack.spec.predictions.name)
    return table, seed_table(table)


@pytest.mark.parametrize(
    "query", QUERIES, ids=lambda q: ",".join(f"{k}={v}" for k, v in q.__dict__.items() if v not in (None, 100))
)
def test_every_filter_returns_exactly_the_matching_records(seeded, query):
    table, records = seeded
    queries = DynamoPredictionQueries(table, page_size=7)  # small pages: exercise paging inside a query
    found = [r for page in all_pages(queries.query, query.replace(limit=5)) for r in page]
    expected = sorted((r.object_id, r.model) for r in records if matches_query(r, query))
    assert sorted((r.object_id, r.model) for r in found) == expected
    assert expected, "a query that matches nothing proves little"


@pytest.mark.parametrize(
    "query",
    [
        PredictionQuery(batch="b1"),
        PredictionQuery(source="owl"),
        PredictionQuery(label="benign"),
        PredictionQuery(since="2026-11-03T00:00:00.000Z", until="2026-11-04T00:00:00.000Z"),
    ],
)
def test_label_source_batch_and_time_use_indexes_not_scans(seeded, query, monkeypatch):
    table, _ = seeded
    monkeypatch.setattr(table, "scan", lambda **kw: pytest.fail("full scan for an indexed query"))
    found, _ = DynamoPredictionQueries(table).query(query)
    assert found


def test_query_cli_csv_and_jsonl(seeded, stack, tmp_path, capsys):
    out = tmp_path / "q.csv"
    assert (
        spotter(
            [
                "query",
                "--table",
                stack.spec.predictions.name,
                "--source",
                "falcon",
                "--status",
                "ok",
                "--format",
                "csv",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(out.open()))
    assert rows and all(r["source"] == "falcon" and r["status"] == "ok" for r in rows)
    assert spotter(["query", "--table", stack.spec.predictions.name, "--label", "benign", "--limit", "3"]) == 0
    printed = capsys.readouterr().out
    assert "(3 records)" in printed and "benign" in printed
    assert spotter(["query", "--table", stack.spec.predictions.name, "--min-score", "3"]) == 2


def test_the_table_says_why_a_record_was_rejected(seeded, stack, capsys):
    assert spotter(["query", "--table", stack.spec.predictions.name, "--status", "rejected", "--limit", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-1] == "reason" and all(line.endswith("not an image") for line in lines[1:3])


def test_csv_cells_never_run_as_formulas_and_numbers_keep_their_precision(tmp_path):
    from spotter.results.export import to_csv
    from spotter.results.tabular import write

    record = PredictionRecord(
        object_id="x",
        model="m@1",
        bucket="b",
        key='drones/owl/=HYPERLINK("http://evil").jpg',
        status="ok",
        source="owl",
        file_name='=HYPERLINK("http://evil").jpg',
        uploaded_at="2026-11-01T00:00:00.000Z",
        classified_at="2026-11-01T00:00:01.000Z",
        model_name="m",
        model_version="1",
        label="benign",
        score=0.87654321,
        camera="@SUM(A1:A9)",
        latitude=-1.00004999,
        longitude=2.123456789,
    )
    out = tmp_path / "one.csv"
    write([record], "csv", out, excel=True)  # the guard is for spreadsheets: --excel, and the API's download
    for text in (to_csv([record], formula_guard=True), out.read_text(encoding="utf-8-sig")):
        row = next(csv.DictReader(text.splitlines()))
        assert row["file_name"] == '\'=HYPERLINK("http://evil").jpg' and row["camera"] == "'@SUM(A1:A9)"
        assert float(row["latitude"]) == -1.00004999 and float(row["longitude"]) == 2.123456789
        assert float(row["score"]) == 0.87654321


def test_export_parquet_reads_back_in_pyarrow_and_duckdb(seeded, stack, tmp_path, capsys):
    import duckdb
    import pyarrow.parquet as pq

    _, records = seeded
    out = tmp_path / "all.parquet"
    assert spotter(["export", "--table", stack.spec.predictions.name, "--format", "parquet", "--output", str(out)]) == 0
    table = pq.read_table(out)
    assert table.num_rows == len(records)
    assert str(table.schema.field("score").type) == "double"
    assert str(table.schema.field("uploaded_at").type).startswith("timestamp[ms")
    assert str(table.schema.field("width").type) == "int64"

    def rows(query: str) -> list:
        relation = duckdb.sql(query)
        assert relation is not None  # a SELECT has a result
        return relation.fetchall()

    counts = dict(rows(f"select status, count(*) from '{out}' group by status"))
    assert counts == {
        "ok": sum(r.status == "ok" for r in records),
        "rejected": sum(r.status == "rejected" for r in records),
    }
    mean = rows(f"select avg(score) from '{out}' where label = 'benign'")[0][0]
    benign = [r.score for r in records if r.label == "benign"]
    assert mean == pytest.approx(sum(benign) / len(benign))
    assert "(rejected):" in capsys.readouterr().err


def test_reprocess_keeps_both_model_versions_side_by_side(stack, tmp_path, monkeypatch):
    from spotter.local.lambda_runtime import load_handler_module
    from spotter.local.sqs_trigger import SqsTrigger

    for name, colour in (("a.jpg", images.RED), ("b.jpg", images.BLUE)):
        stack.put(f"drones/owl/{name}", images.jpeg(colour))
    stack.put("uploads/day1/x.png", images.png(images.GREEN))
    stack.drain()
    assert {r["model"] for r in stack.records()} == {"colours-int8@1.0.0"}

    monkeypatch.setenv("SPOTTER_MODEL", str(MODELS / "colours-float32.tflite"))  # "deploy" a new model
    upgraded = SqsTrigger(stack.sqs, stack.queue_url, load_handler_module("classify").lambda_handler)
    assert spotter(["reprocess", "--bucket", stack.spec.bucket, "--queue-url", stack.queue_url, "--source", "owl"]) == 0
    upgraded.drain()
    by_key: dict[str, dict[str, str]] = {}
    for record in stack.records():
        by_key.setdefault(record["key"], {})[record["model"]] = record["label"]
    assert by_key["drones/owl/a.jpg"] == {"colours-int8@1.0.0": "red", "colours-float32@1.0.0": "red"}
    assert by_key["drones/owl/b.jpg"] == {"colours-int8@1.0.0": "blue", "colours-float32@1.0.0": "blue"}
    assert by_key["uploads/day1/x.png"] == {"colours-int8@1.0.0": "green"}  # not in the filter


def _capture_records(table):
    """One capture at 2026-10-10 00:00 on the camera's clock (offset unknown), one at that UTC instant,
    one a minute before each."""
    made = []
    for i, captured in enumerate(
        ["2026-10-10T00:00:00.000", "2026-10-10T00:00:00.000Z", "2026-10-09T23:59:00.000", "2026-10-09T23:59:00.000Z"]
    ):
        key = f"drones/kite/c{i}.jpg"
        record = PredictionRecord(
            object_id=object_id_for("b", key),
            model="m@1",
            bucket="b",
            key=key,
            status="ok",
            source="kite",
            file_name=f"c{i}.jpg",
            uploaded_at="2026-11-01T10:00:00.000Z",
            classified_at="2026-11-01T10:00:01.000Z",
            model_name="m",
            model_version="1",
            label="benign",
            score=0.9,
            captured_at=captured,
        )
        DynamoPredictions(table).put(record)
        made.append(record)
    return made


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--captured-since", "2026-10-10"], {"c0.jpg", "c1.jpg"}),  # a bound at the camera's clock, or the instant
        (["--captured-until", "2026-10-10"], {"c2.jpg", "c3.jpg"}),  # exclusive for both kinds
        (["--captured-since", "2026-10-10T02:00:00+02:00"], {"c0.jpg", "c1.jpg"}),  # an offset: its UTC time
        (
            ["--captured-since", "2026-10-09T23:59:00Z", "--captured-until", "2026-10-09T23:59:00.001Z"],
            {"c2.jpg", "c3.jpg"},
        ),
    ],
)
def test_capture_filters_match_the_utc_instant_or_the_cameras_clock(stack, capsys, argv, expected):
    import json

    _capture_records(stack.dynamodb.Table(stack.spec.predictions.name))
    assert (
        spotter(["query", "--table", stack.spec.predictions.name, "--source", "kite", "--format", "jsonl", *argv]) == 0
    )
    assert {json.loads(line)["file_name"] for line in capsys.readouterr().out.splitlines()} == expected


def test_capture_time_is_two_fields_in_every_output(stack, capsys, tmp_path, monkeypatch):
    import base64
    import json

    import pyarrow.parquet as pq

    from spotter.local.http_api import http_api_event
    from spotter.local.lambda_runtime import LambdaContext, load_handler_module

    _capture_records(stack.dynamodb.Table(stack.spec.predictions.name))
    want = {"c0.jpg": (None, "2026-10-10T00:00:00.000"), "c1.jpg": ("2026-10-10T00:00:00.000Z", None)}
    name = stack.spec.predictions.name
    assert spotter(["query", "--table", name, "--source", "kite", "--format", "jsonl"]) == 0
    for line in capsys.readouterr().out.splitlines():
        data = json.loads(line)
        if data["file_name"] in want:
            assert (data["captured_at"], data["captured_at_local"]) == want[data["file_name"]]
    assert spotter(["query", "--table", name, "--source", "kite", "--format", "csv"]) == 0
    for row in csv.DictReader(capsys.readouterr().out.splitlines()):
        if row["file_name"] in want:
            assert (row["captured_at"] or None, row["captured_at_local"] or None) == want[row["file_name"]]
    assert spotter(["query", "--table", name, "--source", "kite"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    at = header.index("captured_at")
    assert header[at : at + 2] == ["captured_at", "captured_at_local"]
    local_row = next(line for line in lines if line.startswith("c0.jpg"))
    assert local_row.index("2026-10-10T00:00:00.000") == lines[0].index("captured_at_local")  # under its own column
    out = tmp_path / "k.parquet"
    assert spotter(["query", "--table", name, "--source", "kite", "--format", "parquet", "--output", str(out)]) == 0
    rows = {r["file_name"]: r for r in pq.read_table(out).to_pylist()}
    assert rows["c0.jpg"]["captured_at"] is None and str(rows["c0.jpg"]["captured_at_local"]) == "2026-10-10 00:00:00"
    assert (
        str(rows["c1.jpg"]["captured_at"]) == "2026-10-10 00:00:00+00:00"
        and rows["c1.jpg"]["captured_at_local"] is None
    )

    monkeypatch.setenv("ALLOWED_ORIGINS", "http://127.0.0.1:8123")
    module = load_handler_module("api")
    response = module.lambda_handler(
        http_api_event("GET", "/predictions?source=kite&model=all", {"origin": "http://127.0.0.1:8123"}, b""),
        LambdaContext("api"),
    )
    body = response["body"]
    items = json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)["items"]
    assert {item["file_name"] for item in items} == {"c0.jpg", "c1.jpg", "c2.jpg", "c3.jpg"}
    for item in items:
        if item["file_name"] in want:
            assert (item["captured_at"], item["captured_at_local"]) == want[item["file_name"]]


def test_export_summary_names_each_status_and_counts_in_words():
    from records_helpers import make_record

    from spotter.cli.export import summary

    records = [
        make_record(1),
        make_record(2),
        make_record(3, status="refused", label=None, score=None, top=[]),
        make_record(4, status="rejected", label=None, score=None, top=[]),
        make_record(5, status="rejected", label=None, score=None, top=[]),
    ]
    assert summary(records) == [
        "benign: 2 records, mean score 0.515",
        "(rejected): 2 records",
        "(refused): 1 record",
    ]


@pytest.mark.parametrize("command", ["query", "export"])
def test_a_reader_that_stops_early_ends_the_output_quietly(stack, monkeypatch, command):
    """`spotter query | head -1`: the closed pipe is not reported as 'cannot write None'."""
    import io
    import sys

    class Stderr(io.StringIO):
        def close(self) -> None:  # main() closes stderr on a broken pipe; keep what was written
            pass

    stderr = Stderr()
    monkeypatch.setattr(sys, "stderr", stderr)
    from spotter.cli import export as export_command
    from spotter.cli import query as query_command

    def closed(*_args, **_kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(query_command, "write", closed)
    monkeypatch.setattr(export_command, "write", closed)
    table = stack.spec.predictions.name
    extra = ["--output", "-"] if command == "export" else []
    assert spotter([command, "--table", table, "--format", "csv", *extra]) == 0
    assert "cannot write" not in stderr.getvalue()
