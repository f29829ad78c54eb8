"""Pages through the predictions table's indexes (issue 20): the indexes project only what the
filters read (INCLUDE), so `DynamoPredictionQueries.query` reads the records whole with BatchGetItem,
in the index's order, and the cursors page exactly as before. Against moto, which applies the
template's projections (an index query returns partial items there too)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from records_helpers import matches_query, seed_table

from spotter.adapters.dynamodb import (
    BATCH_GET_MAX_KEYS,
    BATCH_GET_TRIES,
    DynamoPredictionQueries,
    DynamoPredictions,
    UnprocessedKeysError,
    _filters,
    _key_condition,
)
from spotter.adapters.dynamodb_records import to_item
from spotter.local.template import stack_spec
from spotter.records import PredictionRecord, object_id_for
from spotter.results.query import PredictionQuery, all_pages, plan

# what a record holds that no index projects: a page without the second read would lack them
NOT_PROJECTED = ("top", "file_name", "classified_at", "camera", "altitude", "bucket", "model_name")


@pytest.fixture
def table(moto):
    spec = stack_spec().predictions
    dynamodb = boto3.resource("dynamodb")
    dynamodb.meta.client.create_table(
        TableName="index-pages",
        KeySchema=spec.key_schema,
        AttributeDefinitions=spec.attribute_definitions,
        GlobalSecondaryIndexes=spec.global_secondary_indexes,
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb.Table("index-pages")


@pytest.fixture
def seeded(table):
    records = [replace(r, camera="Canon EOS R5", altitude=812.5) for r in seed_table(table)]
    writer = DynamoPredictions(table)
    for record in records:
        writer.put(record)
    return table, {(r.object_id, r.model): r for r in records}


INDEX_QUERIES = {
    "by-batch": PredictionQuery(batch="f1", source="owl"),
    "by-source": PredictionQuery(source="falcon", status="ok"),
    "by-label": PredictionQuery(label="benign", min_score=0.6),
    "by-day": PredictionQuery(since="2026-11-03T00:00:00.000Z", until="2026-11-12T00:00:00.000Z"),
}


def _index_order(table, query: PredictionQuery) -> list[tuple[str, str]]:
    """What the index itself lists for `query`, in its order: the order pages had when every index
    projected ALL (one Query per partition, newest first, partitions in the planner's order)."""
    keys = []
    for partition in plan(query):
        args: dict[str, Any] = {
            "IndexName": partition.index,
            "KeyConditionExpression": _key_condition(query, partition),
            "ScanIndexForward": False,
        }
        if (condition := _filters(query, partition)) is not None:
            args["FilterExpression"] = condition
        while True:
            page = table.query(**args)
            keys += [
                (i["object_id"], i["model"])
                for i in page["Items"]
                if not (query.until and i["uploaded_at"] >= query.until)
            ]
            if "LastEvaluatedKey" not in page:
                break
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return keys


def test_moto_applies_the_template_projections_so_an_index_entry_is_partial(seeded):
    table, _ = seeded
    for index, query in INDEX_QUERIES.items():
        (partition, *_) = plan(query)
        assert partition.index == index
        items = table.query(IndexName=index, KeyConditionExpression=Key(partition.hash_key).eq(partition.value))[
            "Items"
        ]
        assert items, index
        for item in items:
            assert not set(NOT_PROJECTED) & set(item), (index, sorted(item))
            whole = table.get_item(Key={"object_id": item["object_id"], "model": item["model"]})["Item"]
            assert {"file_name", "classified_at", "camera", "altitude"} <= set(whole)


@pytest.mark.parametrize("index", INDEX_QUERIES)
@pytest.mark.parametrize("limit,page_size", [(100, 200), (4, 7), (1, 3)])
def test_pages_through_each_index_are_whole_records_in_index_order_each_once(seeded, index, limit, page_size):
    table, records = seeded
    query = INDEX_QUERIES[index].replace(limit=limit)
    queries = DynamoPredictionQueries(table, page_size=page_size)
    pages = list(all_pages(queries.query, query))
    found = [r for page in pages for r in page]
    assert all(len(page) <= limit for page in pages)
    order = [(r.object_id, r.model) for r in found]
    assert order == _index_order(table, query)  # the index's order, across pages and cursors
    assert len(set(order)) == len(order)  # each record once
    assert sorted(order) == sorted(k for k, r in records.items() if matches_query(r, query))
    assert len(found) >= 5, "a query that matches little proves little"
    for record in found:
        assert record == records[(record.object_id, record.model)]  # whole: every field as written
        assert record.camera == "Canon EOS R5" and record.file_name and record.classified_at
        assert record.top or record.status != "ok"


def _spy(table, monkeypatch, change=None) -> list[list[dict]]:
    """Record each BatchGetItem's keys; `change(call_number, request, answer)` may alter the answer."""
    client = table.meta.client
    real = client.batch_get_item
    calls: list[list[dict]] = []

    def batch_get_item(RequestItems):
        calls.append(list(RequestItems[table.name]["Keys"]))
        answer = real(RequestItems=RequestItems)
        return change(len(calls), RequestItems, answer) if change else answer

    monkeypatch.setattr(client, "batch_get_item", batch_get_item)
    return calls


def _same_batch(table, count: int) -> list[PredictionRecord]:
    records = []
    with table.batch_writer() as batch:
        for i in range(count):
            key = f"uploads/big/{i:036d}-img{i}.jpg"
            record = PredictionRecord(
                object_id=object_id_for("b", key),
                model="m@1",
                bucket="b",
                key=key,
                status="ok",
                source="web",
                batch="big",
                file_name=f"img{i}.jpg",
                uploaded_at=f"2026-11-01T10:{i // 60:02d}:{i % 60:02d}.000Z",
                classified_at="2026-11-22T00:00:00.000Z",
                model_name="m",
                model_version="1",
                label="benign",
                score=0.75,
                top=[{"label": "benign", "score": 0.75}, {"label": "malignant", "score": 0.25}],
            )
            batch.put_item(Item=to_item(record))
            records.append(record)
    return sorted(records, key=lambda r: r.uploaded_at, reverse=True)  # newest first, as the index lists them


def test_a_page_over_100_records_is_read_100_keys_a_call_in_order(table, monkeypatch):
    newest_first = _same_batch(table, 230)
    calls = _spy(table, monkeypatch)
    queries = DynamoPredictionQueries(table, page_size=200)
    found, cursor = queries.query(PredictionQuery(batch="big", limit=150))
    assert found == newest_first[:150] and cursor
    # 150 entries from the index's first page of 200: two calls (100 + 50 keys)
    assert [len(keys) for keys in calls] == [BATCH_GET_MAX_KEYS, 50]
    rest, cursor = queries.query(PredictionQuery(batch="big", limit=150, cursor=cursor))
    assert rest == newest_first[150:] and cursor is None


def test_unprocessed_keys_are_asked_again_after_a_pause_and_the_order_kept(table, monkeypatch):
    newest_first = _same_batch(table, 12)

    def throttle(call, request, answer):
        got = answer["Responses"][table.name]
        if call <= 2:  # DynamoDB answers part and hands back the rest, in any order
            kept, left = got[: len(got) // 2], got[len(got) // 2 :]
            answer["Responses"][table.name] = list(reversed(kept))
            answer["UnprocessedKeys"] = {
                table.name: {"Keys": [{"object_id": i["object_id"], "model": i["model"]} for i in left]}
            }
        return answer

    calls = _spy(table, monkeypatch, throttle)
    pauses: list[float] = []
    found, cursor = DynamoPredictionQueries(table, sleep=pauses.append).query(PredictionQuery(batch="big"))
    assert found == newest_first and cursor is None
    assert [len(keys) for keys in calls] == [12, 6, 3]
    assert len(pauses) == 2 and 0 < pauses[0] < pauses[1] <= 1.0


def test_keys_left_unprocessed_for_good_raise_rather_than_return_a_short_page(table, monkeypatch):
    _same_batch(table, 3)

    def never(call, request, answer):
        return {"Responses": {table.name: []}, "UnprocessedKeys": request}

    calls = _spy(table, monkeypatch, never)
    pauses: list[float] = []
    with pytest.raises(UnprocessedKeysError, match="3 keys unprocessed"):
        DynamoPredictionQueries(table, sleep=pauses.append).query(PredictionQuery(batch="big"))
    assert len(calls) == BATCH_GET_TRIES and len(pauses) == BATCH_GET_TRIES - 1


def test_a_record_deleted_between_the_index_and_the_read_is_skipped_and_paging_goes_on(table, monkeypatch):
    newest_first = _same_batch(table, 9)
    gone = newest_first[1]

    client = table.meta.client
    real = client.batch_get_item

    def batch_get_item(RequestItems):
        table.delete_item(Key={"object_id": gone.object_id, "model": gone.model})  # after the index was read
        return real(RequestItems=RequestItems)

    monkeypatch.setattr(client, "batch_get_item", batch_get_item)
    queries = DynamoPredictionQueries(table, page_size=4)
    first, cursor = queries.query(PredictionQuery(batch="big", limit=3))
    assert first == [newest_first[0], newest_first[2]] and cursor  # 3 index entries taken, 1 gone
    rest = [r for page in all_pages(queries.query, PredictionQuery(batch="big", limit=3, cursor=cursor)) for r in page]
    assert rest == newest_first[3:]


def test_exists_reads_the_index_keys_only(seeded, monkeypatch):
    table, _ = seeded
    queries = DynamoPredictionQueries(table)
    monkeypatch.setattr(table.meta.client, "batch_get_item", lambda **kw: pytest.fail("exists needs no record"))
    assert queries.exists("batch", "f1") and queries.exists("source", "owl") and queries.exists("label", "benign")
    assert not queries.exists("batch", "nope") and not queries.exists("camera", "Canon EOS R5")


def test_scans_read_whole_records_without_a_second_read(seeded, monkeypatch):
    table, records = seeded
    monkeypatch.setattr(table.meta.client, "batch_get_item", lambda **kw: pytest.fail("a scan has the whole item"))
    queries = DynamoPredictionQueries(table, page_size=11)
    found = [r for page in all_pages(queries.query, PredictionQuery(status="rejected", limit=4)) for r in page]
    assert found and all(r == records[(r.object_id, r.model)] for r in found)
    assert sorted(itertools.chain.from_iterable(queries.scan_pages(2)), key=lambda r: r.object_id + r.model) == sorted(
        records.values(), key=lambda r: r.object_id + r.model
    )
