"""Repeat `spotter sql` and indexed `spotter stats` (issue 28, item 9): the kept export is brought up
to date one upload day at a time and answers as a fresh export does; an indexed stats reads in pages
of 1,000; the local stack's moto answers reads without deep-copying every item."""

import json

import pytest
from records_helpers import make_record

from spotter.adapters.dynamodb import DynamoPredictions
from spotter.cli import main as spotter

QUERY = "SELECT object_id, model, upload_day, label, score, classified_at FROM predictions ORDER BY ALL"


def _record(i, **changes):
    return make_record(i, **{"uploaded_at": f"2026-11-{1 + i % 6:02d}T10:00:00.000Z", **changes})


@pytest.fixture
def table(stack, tmp_path, monkeypatch):
    monkeypatch.setenv("SPOTTER_CACHE_DIR", str(tmp_path / "cache"))
    table = stack.dynamodb.Table(stack.spec.predictions.name)
    for i in range(30):
        DynamoPredictions(table).put(_record(i))  # six upload days, 2026-11-01 to -06, five records each
    return table


def _sql(capsys, *extra):
    assert spotter(["sql", QUERY, "--table", extra[0], "--format", "json", *extra[1:]]) == 0
    out, err = capsys.readouterr()
    return json.loads(out), err


def _fresh(capsys, table):
    fresh, err = _sql(capsys, table.name, "--no-cache")
    assert "unchanged" not in err
    return fresh


def test_a_repeat_query_reads_only_the_days_that_changed_and_answers_as_a_fresh_export(table, capsys):
    first, err = _sql(capsys, table.name)
    assert len(first) == 30 and "6 upload days read, 0 unchanged" in err
    again, err = _sql(capsys, table.name)
    assert again == first and "0 upload days read, 6 unchanged" in err
    # a new classification of one record: its day is read again, by key
    DynamoPredictions(table).put(_record(0, label="malignant", classified_at="2026-11-06T00:00:00.000Z"))
    one, err = _sql(capsys, table.name)
    assert "1 upload days read, 5 unchanged" in err
    assert one == _fresh(capsys, table) and one != first
    assert {r["label"] for r in one if r["object_id"] == _record(0).object_id} == {"malignant"}
    # a record removed from day 2, one re-uploaded from day 3 to a new day, one more on day 4
    gone = _record(1)
    table.delete_item(Key={"object_id": gone.object_id, "model": gone.model})
    DynamoPredictions(table).put(_record(2, uploaded_at="2026-11-09T10:00:00.000Z"))
    DynamoPredictions(table).put(_record(99, uploaded_at="2026-11-04T11:00:00.000Z"))
    changed, err = _sql(capsys, table.name)
    assert "4 upload days read, 3 unchanged" in err
    assert changed == _fresh(capsys, table) and len(changed) == 30
    # every record of a day removed: the day goes from the kept export too
    for i in range(5, 30, 6):
        record = _record(i)
        table.delete_item(Key={"object_id": record.object_id, "model": record.model})
    after, err = _sql(capsys, table.name)
    assert "0 upload days read, 6 unchanged" in err  # day 6 went whole
    assert after == _fresh(capsys, table)
    assert not any(r["upload_day"] == "2026-11-06" for r in after)


def test_a_kept_export_cut_short_is_rebuilt_not_trusted(table, capsys, tmp_path):
    first, _ = _sql(capsys, table.name)
    (day,) = list((tmp_path / "cache").glob("*/upload_day=2026-11-02"))
    for part in day.iterdir():
        part.unlink()  # as if a run died while it rewrote the day
    again, err = _sql(capsys, table.name)
    assert again == first and "1 upload days read, 5 unchanged" in err


def test_a_kept_day_edited_or_added_to_is_read_again_not_trusted(table, capsys, tmp_path):
    """The re-trial rewrote a cached day's file (every status 'ok') and dropped a second file beside
    another's: both answered as they were. What a day folder holds is kept with its digest."""
    import pyarrow.parquet as pq

    first, _ = _sql(capsys, table.name)
    (root,) = (tmp_path / "cache").iterdir()
    edited, added = root / "upload_day=2026-11-02", root / "upload_day=2026-11-03"
    (part,) = edited.glob("*.parquet")
    rows = pq.read_table(part).to_pylist()
    for row in rows:
        row["label"] = "forged"
    import pyarrow as pa

    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(part)), part)
    (extra,) = added.glob("*.parquet")
    (added / "part-00001.parquet").write_bytes(extra.read_bytes())
    again, err = _sql(capsys, table.name)
    assert again == first and "2 upload days read, 4 unchanged" in err, err


@pytest.mark.parametrize("unsafe", ["link", "open"])
def test_a_cache_folder_others_could_write_is_refused(table, capsys, tmp_path, unsafe):
    _sql(capsys, table.name)
    (root,) = (tmp_path / "cache").iterdir()
    if unsafe == "link":
        elsewhere = tmp_path / "elsewhere"
        root.rename(elsewhere)
        root.symlink_to(elsewhere)
    else:
        root.chmod(0o777)
    assert spotter(["sql", QUERY, "--table", table.name]) == 2
    err = capsys.readouterr().err
    assert "--no-cache" in err and err.count("\n") == 1, err


def test_an_indexed_stats_reads_pages_of_a_thousand(stack, monkeypatch, capsys):
    from spotter.adapters import dynamodb

    table = stack.dynamodb.Table(stack.spec.predictions.name)
    with table.batch_writer() as batch:
        for i in range(450):
            batch.put_item(Item=_item(make_record(i)))
    reads = []
    real = dynamodb.DynamoPredictionQueries._read

    def counted(self, query, partition, start_key, wanted):
        reads.append(partition.index)
        return real(self, query, partition, start_key, wanted)

    monkeypatch.setattr(dynamodb.DynamoPredictionQueries, "_read", counted)
    assert spotter(["stats", "--table", table.name, "--source", "owl", "--model", "m@1", "--format", "json"]) == 0
    assert sum(r["count"] for r in json.loads(capsys.readouterr().out)) == 450
    assert reads == ["by-source"]  # one index page for 450 records (pages of 200 made it three)


def _item(record):
    from decimal import Decimal

    return json.loads(json.dumps(record.as_dict()), parse_float=Decimal)


def test_local_moto_answers_reads_without_deep_copying_items():
    import copy

    import boto3
    import moto.dynamodb.models.table as table_module
    from moto import mock_aws
    from moto.dynamodb.models import dynamo_type

    from spotter.local import moto_main

    saved = (table_module.copy, table_module.Table.scan, table_module.Table.query, dynamo_type.Item.project)
    copied = []
    real_deepcopy = copy.deepcopy

    def counting(value, memo=None):
        if isinstance(value, dynamo_type.Item) or (
            isinstance(value, list) and value and isinstance(value[0], dynamo_type.Item)
        ):
            copied.append(value)
        return real_deepcopy(value, memo)

    def reads(client):
        scanned = client.scan(TableName="t", ProjectionExpression="k, v")["Items"]
        queried = client.query(
            TableName="t",
            IndexName="by-g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "x"}},
        )["Items"]
        filtered = client.scan(TableName="t", FilterExpression="v > :v", ExpressionAttributeValues={":v": {"N": "5"}})
        named = client.scan(
            TableName="t", ProjectionExpression="#k, m.n[0], #m", ExpressionAttributeNames={"#k": "k", "#m": "m"}
        )
        nested = client.scan(TableName="t", ProjectionExpression="k, m.n")
        return scanned, queried, filtered["Items"], named["Items"], nested["Items"]

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "k", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for i in range(12):
            client.put_item(
                TableName="t",
                Item={
                    "k": {"S": f"k{i}"},
                    "g": {"S": "x"},
                    "v": {"N": str(i)},
                    "m": {"M": {"n": {"L": [{"N": str(i)}]}}},
                },
            )
        before = reads(client)
        try:
            moto_main._shallow_read_copies()
            copy.deepcopy = counting  # type: ignore[assignment]
            after = reads(client)
            copy.deepcopy = real_deepcopy  # writes copy items as before (update_item's old image)
            # a write after a read leaves what the read answered as it was
            client.update_item(
                TableName="t",
                Key={"k": {"S": "k3"}},
                UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"N": "100"}},
            )
            again = reads(client)
        finally:
            copy.deepcopy = real_deepcopy
            table_module.copy, table_module.Table.scan, table_module.Table.query = saved[:3]  # type: ignore[method-assign]
            dynamo_type.Item.project = saved[3]  # type: ignore[method-assign]
    assert after == before and copied == []
    assert [i for i in again[0] if i["k"]["S"] == "k3"] == [{"k": {"S": "k3"}, "v": {"N": "100"}}]
