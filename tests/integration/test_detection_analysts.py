"""Issue 25, item 4 (analysts and the API): an object detector's records through the table in moto:
`spotter stats` and GET /stats count objects per label, exports and GET /predictions carry counts and
boxes, the Athena copy writes a detections dataset that answers the analysts' page's query as `spotter
sql` does, the template's Glue table matches it; and the shipped COCO detector through `spotter up`."""

import base64
import csv
import io
import json
import re
import subprocess
import sys

import boto3
import pytest
from conftest import ROOT, SHARED, clean_env, start_local_stack
from records_helpers import DETECTOR, OBJECTS_PER_LABEL_PER_DAY_PER_SOURCE, detection_record, make_record
from waiting import wait_until

from spotter.adapters.dynamodb_records import ConditionalRecordWriter
from spotter.cli import main as spotter

A, B, C, D = (0.1, 0.2, 0.4, 0.6), (0.5, 0.2, 0.9, 1.0), (0.0, 0.0, 0.3, 0.3), (0.2, 0.2, 0.8, 0.8)
COPY_BUCKET = "test-copy"


def _records():
    """Drone owl: two dogs and a cat (2026-11-01), a dog (11-02), nothing (11-03); a classified photo."""
    return [
        detection_record(0, [("dog", 0.9, A), ("cat", 0.8, C), ("dog", 0.7, B)]),
        detection_record(1, [("dog", 0.6, D)]),
        detection_record(2, []),
        make_record(5, model="m@1"),
    ]


@pytest.fixture
def detected(stack):
    """The records written as the classify function writes them (a low-level client: the boto3
    resource's DynamoPredictions.put refuses the boxes' floats, spotter.adapters.dynamodb_records.to_item)."""
    writer = ConditionalRecordWriter(boto3.client("dynamodb"), stack.spec.predictions.name)
    records = _records()
    for record in records:
        assert writer.put(record)
    return records


def _out(capsys, argv):
    code = spotter(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


def test_stats_cli_counts_objects_per_label_and_says_so(detected, stack, capsys):
    table = stack.spec.predictions.name
    out, err = _out(capsys, ["stats", "--table", table, "--by", "label", "--format", "csv"])
    rows = {r["label"]: r for r in csv.DictReader(io.StringIO(out))}
    assert list(next(iter(rows.values())))[:3] == ["label", "count", "objects"]
    assert {label: (r["count"], r["objects"]) for label, r in rows.items()} == {
        "dog": ("3", "3"),
        "cat": ("1", "1"),
        "benign": ("1", ""),  # the classifier's photo: one record, no objects
        "": ("1", "0"),  # the photo where nothing was found
    }
    assert "spotter stats: objects per label (detection records count each object" in err
    out, err = _out(capsys, ["stats", "--table", table, "--by", "source,day", "--format", "json"])
    got = {(r["source"], r["day"]): (r["count"], r["objects"]) for r in json.loads(out)}
    assert got == {
        ("owl", "2026-11-01"): (1, 3),
        ("owl", "2026-11-02"): (1, 1),
        ("owl", "2026-11-03"): (2, 0),  # a detector's record that found nothing, and a classifier's
    }
    assert "objects per label" not in err  # by source and day, `count` counts records
    out, _ = _out(capsys, ["stats", "--table", table, "--by", "label", "--label", "dog", "--format", "json"])
    assert [(r["label"], r["count"], r["objects"]) for r in json.loads(out)] == [("dog", 3, 3)]


def _api(monkeypatch):
    from spotter.local.http_api import http_api_event
    from spotter.local.lambda_runtime import LambdaContext, load_handler_module

    monkeypatch.setenv("ALLOWED_ORIGINS", "http://127.0.0.1:8123")
    module = load_handler_module("api")

    def get(path):
        event = http_api_event("GET", path, {"origin": "http://127.0.0.1:8123"}, b"")
        response = module.lambda_handler(event, LambdaContext("api"))
        body = response.get("body", "")
        return response["statusCode"], json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)

    return get


def test_api_stats_counts_objects_and_records_apart(detected, stack, monkeypatch):
    get = _api(monkeypatch)
    status, body = get("/stats?by=label&source=owl&model=all")
    assert status == 200, body
    groups = {g["label"]: (g["count"], g["objects"]) for g in body["groups"]}
    assert groups == {"dog": (3, 3), "cat": (1, 1), "benign": (1, None), None: (1, 0)}
    assert (body["records"], body["objects"]) == (4, 4)  # records are records, whatever `count` counts
    assert any(n.startswith("objects per label (detection records count each object") for n in body["notes"])
    status, body = get(f"/stats?by=source&model={DETECTOR}")
    assert status == 200 and body["groups"] == [
        {
            "source": "owl",
            "count": 3,
            "objects": 4,
            "mean_top": pytest.approx((0.9 + 0.6) / 2),  # the records' scores: their best box of the top label
            "min_top": 0.6,
            "max_top": 0.9,
            "p5_top": pytest.approx(0.615),
            "p50_top": 0.75,
            "p95_top": pytest.approx(0.885),
        }
    ]
    assert not any("objects per label" in n for n in body["notes"])


def test_api_predictions_return_counts_and_boxes(detected, stack, monkeypatch):
    """The record view is the record: through DynamoDB (a box edge at 1 comes back as a whole number)."""
    get = _api(monkeypatch)
    status, body = get("/predictions?source=owl&model=all&limit=10")
    assert status == 200, body
    items = {item["file_name"]: item for item in body["items"]}
    first = items["0.jpg"]
    assert (first["task"], first["counts"], first["objects"], first["label"]) == (
        "detect",
        {"dog": 2, "cat": 1},
        3,
        "dog",
    )
    assert [(d["label"], d["score"], d["box"]) for d in first["detections"]] == [
        ("dog", 0.9, list(A)),
        ("cat", 0.8, list(C)),
        ("dog", 0.7, list(B)),
    ]
    assert (items["2.jpg"]["counts"], items["2.jpg"]["objects"], "detections" in items["2.jpg"]) == ({}, 0, False)
    assert "counts" not in items["5.jpg"] and "task" not in items["5.jpg"]


def test_export_and_query_carry_task_counts_objects_and_boxes(detected, stack, tmp_path, capsys):
    import pyarrow.parquet as pq

    table = stack.spec.predictions.name
    _out(capsys, ["export", "--table", table, "--format", "csv", "--output", str(tmp_path / "all.csv")])
    rows = {r["file_name"]: r for r in csv.DictReader((tmp_path / "all.csv").open(encoding="utf-8"))}
    assert "detections" not in rows["0.jpg"]
    assert (rows["0.jpg"]["task"], rows["0.jpg"]["counts"], rows["0.jpg"]["objects"]) == (
        "detect",
        '{"dog": 2, "cat": 1}',
        "3",
    )
    assert (rows["5.jpg"]["task"], rows["5.jpg"]["counts"], rows["5.jpg"]["objects"]) == ("", "", "")
    out, _ = _out(capsys, ["query", "--table", table, "--source", "owl", "--format", "jsonl"])
    lines = {r["file_name"]: r for r in map(json.loads, out.splitlines())}
    assert lines["1.jpg"]["counts"] == {"dog": 1} and lines["1.jpg"]["detections"][0]["box"] == list(D)
    _out(capsys, ["export", "--table", table, "--format", "parquet", "--output", str(tmp_path / "all.parquet")])
    parquet = {r["file_name"]: r for r in pq.read_table(tmp_path / "all.parquet").to_pylist(maps_as_pydicts="strict")}
    assert parquet["0.jpg"]["counts"] == {"dog": 2, "cat": 1} and parquet["0.jpg"]["objects"] == 3
    assert parquet["0.jpg"]["detections"][2] == {"label": "dog", "score": 0.7, "box": [0.5, 0.2, 0.9, 1.0]}
    assert parquet["5.jpg"]["counts"] is None and parquet["5.jpg"]["detections"] is None


# --- the Athena copy ---------------------------------------------------------------------------------------


def _stream_event(changes) -> dict:
    """A DynamoDB stream batch (NEW_AND_OLD_IMAGES) as Lambda delivers it, images in the wire form."""
    from spotter.adapters.dynamodb_records import attribute_value, to_item

    records = []
    for n, (old, new) in enumerate(changes):
        body: dict[str, object] = {"SequenceNumber": str(1000 + n), "StreamViewType": "NEW_AND_OLD_IMAGES"}
        for name, image in (("OldImage", old), ("NewImage", new)):
            if image is not None:
                body[name] = {k: attribute_value(v) for k, v in to_item(image).items()}
        kind = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        records.append({"eventName": kind, "eventSource": "aws:dynamodb", "dynamodb": body})
    return {"Records": records}


@pytest.fixture
def copy_handler(moto, monkeypatch):
    from spotter.local.lambda_runtime import LambdaContext, load_handler_module

    boto3.client("s3").create_bucket(Bucket=COPY_BUCKET)
    monkeypatch.setenv("COPY_BUCKET", COPY_BUCKET)
    monkeypatch.setenv("COPY_PREFIX", "predictions/")
    module = load_handler_module("parquet_copy")
    return lambda event: module.lambda_handler(event, LambdaContext("copy"))


def _keys(prefix=""):
    listed = boto3.client("s3").list_objects_v2(Bucket=COPY_BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def _athena_detections(tmp_path, text):
    """`text` over the copy's detections dataset as Athena reads it: the Glue table `detections` is the
    files under detections/, partitioned by upload_day (DuckDB, hive partitioning)."""
    import duckdb

    s3 = boto3.client("s3")
    root = tmp_path / "athena"
    for key in _keys("detections/"):
        target = root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=COPY_BUCKET, Key=key)["Body"].read())
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    files = f"{root}/detections/upload_day=*/*.parquet"
    con.execute(
        "CREATE VIEW detections AS SELECT * FROM read_parquet("
        f"'{files}', hive_partitioning = true, hive_types = {{'upload_day': VARCHAR}})"
    )
    answer = con.sql(text).to_arrow_table()  # through Arrow: time zones without pytz
    return answer.column_names, [tuple(row.values()) for row in answer.to_pylist()]


def test_the_copy_writes_a_detections_dataset_answering_as_spotter_sql(copy_handler, detected, stack, tmp_path, capsys):
    from spotter.results.parquet_copy import DETECTION_COLUMNS

    copy_handler(_stream_event([(None, r) for r in detected]))
    assert _keys("detections/") == [  # 11-03's photo found nothing: no day file of boxes
        "detections/upload_day=2026-11-01/records.parquet",
        "detections/upload_day=2026-11-02/records.parquet",
    ]
    assert len(_keys("predictions/")) == 3
    columns, rows = _athena_detections(tmp_path, "SELECT * FROM detections ORDER BY upload_day, score DESC")
    assert columns == [name for name, _ in DETECTION_COLUMNS] and len(rows) == 4
    columns, athena = _athena_detections(tmp_path, OBJECTS_PER_LABEL_PER_DAY_PER_SOURCE)
    assert athena == [
        ("2026-11-01", "owl", "cat", 1, 1, 0.8),
        ("2026-11-01", "owl", "dog", 2, 1, 0.8),
        ("2026-11-02", "owl", "dog", 1, 1, 0.6),
    ]
    table = stack.spec.predictions.name
    out, _ = _out(capsys, ["sql", "--table", table, "--format", "json", OBJECTS_PER_LABEL_PER_DAY_PER_SOURCE])
    assert [tuple(r.values()) for r in json.loads(out)] == athena and list(json.loads(out)[0]) == columns

    first, second = detected[0], detected[1]
    redetected = detection_record(1, [("bird", 0.55, A)])
    copy_handler(_stream_event([(first, None), (second, redetected)]))  # one removed, one detected again
    assert _keys("detections/") == ["detections/upload_day=2026-11-02/records.parquet"]
    _, rows = _athena_detections(tmp_path / "again", "SELECT file_name, label, score FROM detections")
    assert rows == [("1.jpg", "bird", 0.55)]


def test_the_template_has_a_detections_table_like_the_copy_writes():
    from spotter.local.template import load_template
    from spotter.results.export import COLUMNS
    from spotter.results.parquet_copy import DETECTION_COLUMNS, PARTITION

    resources = load_template()["Resources"]
    athena = {"string": "string", "float": "double", "int": "bigint", "timestamp": "timestamp"}
    athena |= {"local_timestamp": "timestamp", "topk": "array<struct<label:string,score:double>>"}
    athena |= {"counts": "map<string,bigint>", "boxes": "array<struct<label:string,score:double,box:array<double>>>"}
    predictions = resources["PredictionsGlueTable"]["Properties"]["TableInput"]
    detections = resources["DetectionsGlueTable"]["Properties"]["TableInput"]
    for table, columns in ((predictions, COLUMNS), (detections, DETECTION_COLUMNS)):
        assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
            (name, athena[kind]) for name, kind in columns if name != PARTITION
        ]
        assert table["PartitionKeys"] == [{"Name": PARTITION, "Type": "string"}]
    assert detections["Name"] == "detections"
    projection = {k: v for k, v in predictions["Parameters"].items() if k != "storage.location.template"}
    assert {k: v for k, v in detections["Parameters"].items() if k != "storage.location.template"} == projection
    location = json.dumps(detections["Parameters"]["storage.location.template"])
    assert "/detections/upload_day=${!upload_day}/" in location
    assert "/detections/" in json.dumps(detections["StorageDescriptor"]["Location"])
    role = resources["CopyFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (writes,) = [s for s in role if s["Sid"] == "WriteTheCopy"]
    assert sorted(json.dumps(r) for r in writes["Resource"]) == [
        json.dumps({"Fn::Sub": "${CopyBucket.Arn}/detections/*"}),
        json.dumps({"Fn::Sub": "${CopyBucket.Arn}/predictions/*"}),
    ]


def test_the_analysts_page_shows_the_detection_query_tested_here():
    def words(query: str) -> str:
        lines = [line for line in query.splitlines() if not line.strip().startswith("--")]
        return " ".join(" ".join(lines).replace(";", "").split())

    blocks = re.findall(r"```sql\n(.*?)```", (ROOT / "docs" / "analysts.md").read_text(), re.S)
    assert words(OBJECTS_PER_LABEL_PER_DAY_PER_SOURCE) in [words(b) for b in blocks]


# --- the shipped detector, end to end ----------------------------------------------------------------------

COCO = ROOT / "model" / "coco-ssd-mobilenet-v1.tflite"
PETS = SHARED / "data" / "detect-samples" / "pets.jpg"  # two dogs


def test_two_dogs_through_the_local_stack_are_two_detections_rows_and_two_dog_objects(tmp_path):
    if not PETS.is_file():
        pytest.skip("../shared/data/detect-samples/pets.jpg is not present")
    if not COCO.is_file():
        pytest.skip("the shipped COCO detector (model/coco-ssd-mobilenet-v1.tflite) is not present")
    state = tmp_path / "state"
    state.mkdir()
    process, endpoints = start_local_stack(state, COCO)
    try:
        photos = tmp_path / "card"
        photos.mkdir()
        (photos / "pets.jpg").write_bytes(PETS.read_bytes())

        def cli(*argv):
            done = subprocess.run(
                [sys.executable, "-m", "spotter.cli", *argv, "--state-dir", str(state)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
                env=clean_env(SPOTTER_CACHE_DIR=str(tmp_path / "cache")),
            )
            assert done.returncode == 0, done.stderr
            return done

        cli("sync", str(photos), "--source", "kennel")
        table = boto3.resource(
            "dynamodb",
            endpoint_url=endpoints["s3"],
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        ).Table(endpoints["table"])
        (record,) = wait_until(
            lambda: [r for r in table.scan()["Items"] if r["source"] == "kennel"],
            90,
            0.5,
            until=lambda found: bool(found),
            fail=lambda found: "pets.jpg was not detected in time",
        )
        assert (record["task"], record["counts"]) == ("detect", {"dog": 2}), record

        query = "SELECT label, source, x_min, y_min, x_max, y_max FROM detections ORDER BY score DESC"
        rows = json.loads(cli("sql", "--format", "json", query).stdout)
        assert [(r["label"], r["source"]) for r in rows] == [("dog", "kennel"), ("dog", "kennel")]
        assert all(0 <= r["x_min"] < r["x_max"] <= 1 and 0 <= r["y_min"] < r["y_max"] <= 1 for r in rows)
        answer = cli("sql", "--format", "json", OBJECTS_PER_LABEL_PER_DAY_PER_SOURCE)
        ((row,),) = [json.loads(answer.stdout)]
        assert (row["source"], row["label"], row["objects"], row["images"]) == ("kennel", "dog", 2, 1)

        stats = cli("stats", "--by", "label", "--format", "json")
        assert [(r["label"], r["count"], r["objects"]) for r in json.loads(stats.stdout)] == [("dog", 2, 2)]
        assert "objects per label (detection records count each object" in stats.stderr
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
