"""The Athena copy: the stream handler writes day-partitioned Parquet to moto S3; DuckDB over that
layout gives the table's counts, and the example queries of docs/analysts.md the same answers as `spotter sql`."""

import json

import boto3
import pytest
from records_helpers import MODEL_VERSIONS_COMPARED, PER_LABEL_PER_DRONE_PER_DAY, POSITIVES_IN_A_BOX, make_record

from spotter.adapters.dynamodb_records import to_item
from spotter.adapters.s3_day_files import S3DayFiles
from spotter.local.lambda_runtime import LambdaContext
from spotter.results.parquet_copy import Change, changes_by_day

BUCKET = "test-copy"


def _image(record) -> dict:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in to_item(record).items()}


def _stream_event(changes) -> dict:
    """A DynamoDB stream batch (NEW_AND_OLD_IMAGES) as Lambda delivers it."""
    records = []
    for n, (old, new) in enumerate(changes):
        name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        body: dict[str, object] = {"SequenceNumber": str(1000 + n), "StreamViewType": "NEW_AND_OLD_IMAGES"}
        if old is not None:
            body["OldImage"] = _image(old)
        if new is not None:
            body["NewImage"] = _image(new)
        records.append({"eventName": name, "eventSource": "aws:dynamodb", "dynamodb": body})
    return {"Records": records}


@pytest.fixture
def copy_handler(moto, monkeypatch):
    from spotter.local.lambda_runtime import load_handler_module

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("COPY_BUCKET", BUCKET)
    monkeypatch.setenv("COPY_PREFIX", "predictions/")
    module = load_handler_module("parquet_copy")
    return lambda event: module.lambda_handler(event, LambdaContext("copy"))


def _sync(tmp_path):
    s3 = boto3.client("s3")
    root = tmp_path / "copy"
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="predictions/").get("Contents", []):
        target = root / item["Key"][len("predictions/") :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
    return root


def _sql(root, text):
    from spotter.results.sql import connect, run

    return run(connect(root, root.parent / "spill"), text)


def test_stream_batches_become_day_files_with_the_tables_counts(copy_handler, tmp_path):
    records = [
        make_record(i, label="malignant" if i % 3 == 0 else "benign", latitude=43.0 + i % 4, longitude=1.0 + i % 5)
        for i in range(30)
    ]
    copy_handler(_stream_event([(None, r) for r in records[:20]]))
    copy_handler(_stream_event([(None, r) for r in records[20:]]))
    keys = sorted(o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == [f"predictions/upload_day=2026-11-0{d}/records.parquet" for d in (1, 2, 3)]
    root = _sync(tmp_path)
    assert _sql(root, "SELECT count(*) FROM predictions")[1] == [(30,)]
    by_day = dict(_sql(root, "SELECT upload_day, count(*) FROM predictions GROUP BY upload_day")[1])
    assert by_day == {d: sum(r.upload_day == d for r in records) for d in ("2026-11-01", "2026-11-02", "2026-11-03")}


def test_replaced_moved_and_removed_records_leave_no_duplicates(copy_handler, tmp_path):
    first = [make_record(i) for i in range(6)]
    copy_handler(_stream_event([(None, r) for r in first]))
    relabelled = make_record(0, label="malignant", score=0.99)  # same key and model: a newer event's record
    moved = make_record(1, uploaded_at="2026-11-09T10:00:00.000Z")  # re-uploaded another day
    event = _stream_event([(first[0], relabelled), (first[1], moved), (first[2], None)])
    copy_handler(event)
    copy_handler(event)  # a retried batch writes the same files
    root = _sync(tmp_path)
    rows = _sql(root, "SELECT object_id, label, upload_day FROM predictions ORDER BY object_id")[1]
    assert len(rows) == 5 and len({r[0] for r in rows}) == 5
    assert (relabelled.object_id, "malignant", "2026-11-01") in rows
    assert (moved.object_id, "benign", "2026-11-09") in rows
    assert first[2].object_id not in {r[0] for r in rows}


def test_a_writer_that_loses_a_race_reads_again(moto, monkeypatch):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    files = S3DayFiles(s3, BUCKET)
    a, b = make_record(0), make_record(3)  # both 2026-11-01
    files.apply("2026-11-01", changes_by_day([Change("2026-11-01", a.object_id, a.model, a)])["2026-11-01"])
    real_put = s3.put_object
    raced: list[bool] = []

    def put_after_a_rival(**kwargs):  # another writer changes the day file between our read and our write
        if not raced:
            raced.append(True)
            real_put(
                Bucket=BUCKET, Key=kwargs["Key"], Body=s3.get_object(Bucket=BUCKET, Key=kwargs["Key"])["Body"].read()
            )
        return real_put(**kwargs)

    monkeypatch.setattr(s3, "put_object", put_after_a_rival)
    assert files.apply("2026-11-01", changes_by_day([Change("2026-11-01", b.object_id, b.model, b)])["2026-11-01"]) == 2
    assert raced


def test_readme_examples_answer_the_same_over_the_copy_and_spotter_sql(copy_handler, stack, tmp_path, capsys):
    from records_helpers import seed_table

    from spotter.adapters.dynamodb import DynamoPredictions
    from spotter.cli import main as spotter

    table = stack.dynamodb.Table(stack.spec.predictions.name)
    records = seed_table(table)
    from dataclasses import replace

    reprocessed = [
        replace(r, model="m@2", model_version="2", label="malignant" if n % 3 else r.label)
        for n, r in enumerate(r for r in records if r.model == "m@1" and r.status == "ok")
        if n < 12
    ]
    for record in reprocessed:  # a second model version beside the first, as `spotter reprocess` leaves them
        DynamoPredictions(table).put(record)
    records += reprocessed
    copy_handler(_stream_event([(None, r) for r in records]))
    root = _sync(tmp_path)
    for text in (PER_LABEL_PER_DRONE_PER_DAY, POSITIVES_IN_A_BOX, MODEL_VERSIONS_COMPARED):
        _columns, rows = _sql(root, text)
        assert spotter(["sql", "--table", stack.spec.predictions.name, "--format", "json", text]) == 0
        local = json.loads(capsys.readouterr().out)
        assert [list(r.values()) for r in local] == [
            [v.isoformat() if hasattr(v, "isoformat") else v for v in r] for r in rows
        ]
        assert rows, text


def test_the_analysts_page_shows_exactly_the_queries_tested_here():
    import re

    from conftest import ROOT

    def words(query: str) -> str:
        lines = [line for line in query.splitlines() if not line.strip().startswith("--")]
        return " ".join(" ".join(lines).replace(";", "").split())

    block = re.findall(r"```sql\n(.*?)```", (ROOT / "docs" / "analysts.md").read_text(), re.S)[0]
    shown = [words(q) for q in block.split(";") if words(q)]
    assert shown == [words(q) for q in (PER_LABEL_PER_DRONE_PER_DAY, POSITIVES_IN_A_BOX, MODEL_VERSIONS_COMPARED)]
