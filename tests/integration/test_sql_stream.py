"""Repeat `spotter sql` reads what changed from the table's change stream, not the table (issue 28,
item 9): the answer equals a fresh export after every kind of write, and a run falls back to checking
every day by a scan whenever the stream cannot prove it holds every change since the last run."""

import json

import pytest
from records_helpers import make_record

from spotter.adapters import dynamodb
from spotter.adapters.aws import low_level_client
from spotter.adapters.dynamodb import DynamoPredictions
from spotter.adapters.dynamodb_records import DynamoBatchTombstones
from spotter.cli import main as spotter
from spotter.local.template import stack_spec

QUERY = "SELECT object_id, model, upload_day, label, score, truth, classified_at FROM predictions ORDER BY ALL"


def _record(i, **changes):
    return make_record(i, **{"uploaded_at": f"2026-11-{1 + i % 6:02d}T10:00:00.000Z", **changes})


@pytest.fixture
def table(stack, tmp_path, monkeypatch):
    monkeypatch.setenv("SPOTTER_CACHE_DIR", str(tmp_path / "cache"))
    table = stack.dynamodb.Table(stack.spec.predictions.name)
    for i in range(30):
        DynamoPredictions(table).put(_record(i))  # six upload days, five records each
    return table


def _sql(capsys, table, *extra):
    assert spotter(["sql", QUERY, "--table", table.name, "--format", "json", *extra]) == 0
    out, err = capsys.readouterr()
    return json.loads(out), err


class TableReads:
    """While `refused`, a read of the whole table (the digest scan, a parallel scan) fails the test."""

    def __init__(self, monkeypatch):
        self.refused = False
        for name in ("day_states", "scan_pages"):
            real = getattr(dynamodb.DynamoPredictionQueries, name)
            monkeypatch.setattr(dynamodb.DynamoPredictionQueries, name, self._guard(real))

    def _guard(self, real):
        def guarded(*args, **kwargs):
            if self.refused:
                raise AssertionError("the repeat run read the table")
            return real(*args, **kwargs)

        return guarded


@pytest.fixture
def table_reads(monkeypatch):
    return TableReads(monkeypatch)


def _fresh(capsys, table, reads=None):
    refused = reads.refused if reads else False
    if reads:
        reads.refused = False
    try:
        return _sql(capsys, table, "--no-cache")[0]
    finally:
        if reads:
            reads.refused = refused


def test_the_local_table_has_the_templates_stream():
    assert stack_spec().predictions.stream_view_type == "NEW_AND_OLD_IMAGES"


def test_a_repeat_query_reads_the_stream_not_the_table_and_answers_as_a_fresh_export(table, capsys, table_reads):
    first, err = _sql(capsys, table)
    assert len(first) == 30 and "the whole table read" in err
    table_reads.refused = True
    again, err = _sql(capsys, table)
    assert again == first and "0 changes read from the table's stream" in err, err

    writes = DynamoPredictions(table)
    writes.put(_record(0, label="malignant", classified_at="2026-11-06T00:00:00.000Z"))  # a new classification
    gone = _record(1)
    table.delete_item(Key={"object_id": gone.object_id, "model": gone.model})  # a record removed
    writes.put(_record(2, uploaded_at="2026-11-09T10:00:00.000Z"))  # re-uploaded: moves to a new day
    writes.put(_record(99, uploaded_at="2026-11-04T11:00:00.000Z"))  # one more
    assert writes.set_truth(_record(3).object_id, "m@1", "malignant")  # a researcher's diagnosis
    DynamoBatchTombstones(low_level_client("dynamodb"), table.name).mark("b1")  # bookkeeping, no record
    changed, err = _sql(capsys, table)
    assert "6 changes read from the table's stream" in err, err
    assert changed == _fresh(capsys, table, table_reads)
    assert {r["label"] for r in changed if r["object_id"] == _record(0).object_id} == {"malignant"}
    assert [r["truth"] for r in changed if r["object_id"] == _record(3).object_id] == ["malignant"]
    assert [r["upload_day"] for r in changed if r["object_id"] == _record(2).object_id] == ["2026-11-09"]

    for i in range(5, 30, 6):  # every record of 2026-11-06 removed: the day goes
        record = _record(i)
        table.delete_item(Key={"object_id": record.object_id, "model": record.model})
    after, err = _sql(capsys, table)
    assert "5 changes read" in err and after == _fresh(capsys, table, table_reads)
    assert not any(r["upload_day"] == "2026-11-06" for r in after)


def test_a_change_made_while_the_first_run_scans_is_in_its_answer(table, capsys, monkeypatch):
    """The stream's position is taken before the scan and what came after it is folded in: a write the
    scan passed by is not lost (it was, when the first run was the scan alone)."""
    real = dynamodb.DynamoPredictionQueries.scan_pages

    def scan_then_write(self, segments):
        yield from real(self, segments)
        DynamoPredictions(table).put(_record(40, label="late"))

    monkeypatch.setattr(dynamodb.DynamoPredictionQueries, "scan_pages", scan_then_write)
    first, err = _sql(capsys, table)
    assert "the whole table read" in err
    assert [r["label"] for r in first if r["object_id"] == _record(40).object_id] == ["late"]
    monkeypatch.setattr(dynamodb.DynamoPredictionQueries, "scan_pages", real)
    assert first == _fresh(capsys, table)


@pytest.mark.parametrize(
    ("spoil", "why"),
    [
        (lambda state: state["stream"].update(stream=state["stream"]["stream"] + "-old"), "another one"),
        (lambda state: state["stream"].update(taken_at=state["stream"]["taken_at"] - 24 * 3600), "23 hours"),
        (lambda state: state["stream"].update(shards={"shardId-gone": ["1", "1", ""]}), "no longer lists"),
        (lambda state: state.pop("stream"), None),
        (lambda state: state["stream"].update(taken_at=state["stream"]["taken_at"] + 3600), "in the future"),
    ],
    ids=["another stream", "too old", "trimmed shard", "no position (a run cut short)", "dated in the future"],
)
def test_a_stream_that_cannot_prove_it_holds_every_change_falls_back_to_the_scan(table, capsys, tmp_path, spoil, why):
    _sql(capsys, table)
    (state_file,) = (tmp_path / "cache").glob("*/state.json")
    DynamoPredictions(table).put(_record(0, label="malignant", classified_at="2026-11-06T00:00:00.000Z"))
    state = json.loads(state_file.read_text())
    spoil(state)
    state_file.write_text(json.dumps(state))
    answer, err = _sql(capsys, table)
    assert "every day checked by a scan" in err and (why is None or why in err), err
    assert answer == _fresh(capsys, table)
    assert {r["label"] for r in answer if r["object_id"] == _record(0).object_id} == {"malignant"}
    _again, err = _sql(capsys, table)
    assert "0 changes read from the table's stream" in err  # the fallback took a new position


def test_a_kept_day_edited_on_disk_is_read_again_from_the_table(table, capsys, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    first, _ = _sql(capsys, table)
    (part,) = next((tmp_path / "cache").iterdir()).glob("upload_day=2026-11-02/*.parquet")
    rows = pq.read_table(part).to_pylist()
    for row in rows:
        row["label"] = "forged"
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(part)), part)
    again, err = _sql(capsys, table)
    assert again == first and "no longer holds what was written" in err, err


def test_a_kept_day_rewritten_with_its_size_and_time_put_back_is_read_again(table, capsys, tmp_path):
    """The trial rewrote a kept file in place, padded to its size, and put its modification time back."""
    import os

    first, _ = _sql(capsys, table)
    (part,) = next((tmp_path / "cache").iterdir()).glob("upload_day=2026-11-02/*.parquet")
    before = part.stat()
    part.write_bytes(part.read_bytes())  # the same bytes even: only the inode's change time tells
    os.utime(part, ns=(before.st_atime_ns, before.st_mtime_ns))
    again, err = _sql(capsys, table)
    assert again == first and "no longer holds what was written" in err, err


def test_a_trimmed_local_stream_is_a_gap_not_a_silent_loss():
    """The local moto keeps a stream's last changes only (`moto_main._bounded_streams`): a position
    among the dropped ones is refused, as a trimmed shard is on AWS."""
    import boto3
    from moto import mock_aws
    from moto.dynamodb.models.table import StreamShard

    from spotter.adapters.dynamodb_stream import TableStream
    from spotter.local import moto_main
    from spotter.results.stream_position import StreamGap

    real_add = StreamShard.add
    try:
        moto_main._bounded_streams(kept=10)
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(
                TableName="t",
                KeySchema=[
                    {"AttributeName": "object_id", "KeyType": "HASH"},
                    {"AttributeName": "model", "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": "object_id", "AttributeType": "S"},
                    {"AttributeName": "model", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )
            arn = client.describe_table(TableName="t")["Table"]["LatestStreamArn"]
            stream = TableStream(boto3.client("dynamodbstreams", region_name="us-east-1"), arn)
            writes = DynamoPredictions(boto3.resource("dynamodb", region_name="us-east-1").Table("t"))
            writes.put(make_record(0))
            position = stream.position()
            for i in range(5):
                writes.put(make_record(i + 1))
            changes, position = stream.since(position)  # none dropped yet
            assert [change.object_id for change in changes] == [make_record(i + 1).object_id for i in range(5)]
            assert position.shards and all(mark.last for mark in position.shards.values())
            for i in range(20):  # past the 10 kept: the oldest are dropped
                writes.put(make_record(i + 10))
            with pytest.raises(StreamGap, match="no longer holds every change"):
                stream.since(position)
            # a position taken at the stream's end (an iterator), then trimming that leaves it held: no gap
            position = stream.position()
            for i in range(3):
                writes.put(make_record(i + 40))
            changes, _ = stream.since(position)
            assert [change.object_id for change in changes] == [make_record(i + 40).object_id for i in range(3)]
    finally:
        StreamShard.add = real_add  # type: ignore[method-assign]
