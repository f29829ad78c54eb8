"""Exactly one record per object and model, the newest event's, under overlapped processing: the
classify function reads ahead and writes behind (`ClassifyService.classify_batch`), and no
idempotency table skips duplicates any more. Duplicate deliveries, events out of order inside one
batch and across batches, writes that land in the wrong order, and per-message failures, all
against moto with the real classify module, the real TFLite model and Pillow."""

import json
import random
import threading
import time
import uuid

import images
import pytest
from botocore.exceptions import ClientError

from spotter.local.lambda_runtime import LambdaContext

COLOURS = [("red", images.RED), ("green", images.GREEN), ("blue", images.BLUE)]


def _body(stack, key: str, version: dict) -> str:
    """An S3 notification as real S3 sends it (moto's carry no sequencer)."""
    return json.dumps(
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "eventTime": version["time"],
                    "s3": {
                        "bucket": {"name": stack.spec.bucket},
                        "object": {
                            "key": key,
                            "size": version["size"],
                            "eTag": version["etag"],
                            "versionId": version["version_id"],
                            "sequencer": version["sequencer"],
                        },
                    },
                }
            ]
        }
    )


def _upload_versions(stack, key: str, count: int, first_sequencer: int = 0x10) -> list[dict]:
    """`count` versions of `key`, each a different colour, with rising sequencers."""
    versions = []
    for n in range(count):
        label, colour = COLOURS[n % len(COLOURS)]
        data = images.jpeg(colour)
        put = stack.put(key, data)
        versions.append(
            {
                "label": label,
                "size": len(data),
                "etag": put["ETag"].strip('"'),
                "version_id": put["VersionId"],
                "sequencer": f"{first_sequencer + n:012X}",
                "time": f"2030-01-01T00:00:{n:02d}.000Z",
            }
        )
    return versions


def _invoke(stack, bodies: list[str]) -> tuple[list[str], set[str]]:
    """One classify invocation over these message bodies; returns (message ids, failed ids)."""
    ids = [str(uuid.uuid4()) for _ in bodies]
    event = {
        "Records": [
            {"messageId": i, "body": b, "eventSource": "aws:sqs", "receiptHandle": i} for i, b in zip(ids, bodies)
        ]
    }
    response = stack.handler_module.lambda_handler(event, LambdaContext("classify"))
    return ids, {f["itemIdentifier"] for f in response["batchItemFailures"]}


def _records_for(stack, key: str) -> list[dict]:
    return [r for r in stack.records() if r["key"] == key]


@pytest.fixture
def clean_stack(stack):
    """The stack, nothing recorded yet. The tests invoke the handler with their own deliveries; moto's
    notifications of their uploads (which carry no sequencer) stay in the queue, never delivered."""
    stack.drain()
    for record in stack.records():
        stack.dynamodb.Table(stack.spec.predictions.name).delete_item(
            Key={"object_id": record["object_id"], "model": record["model"]}
        )
    return stack


def test_duplicates_and_older_events_in_one_overlapped_batch_leave_the_newest_record(clean_stack, monkeypatch):
    stack = clean_stack
    key = "drones/owl/three-versions.jpg"
    v1, v2, v3 = _upload_versions(stack, key, 3)
    others = {f"drones/owl/other-{n}.jpg": _upload_versions(stack, f"drones/owl/other-{n}.jpg", 1)[0] for n in range(4)}
    reads, in_flight, peak, lock = [], [0], [0], threading.Lock()
    objects = stack.handler_module.services().objects
    real_read = objects.read

    def slow_read(bucket, key, max_bytes, version_id=None):  # as slow as the network, so the overlap shows
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            reads.append(version_id)
        try:
            time.sleep(0.03)
            return real_read(bucket, key, max_bytes, version_id)
        finally:
            with lock:
                in_flight[0] -= 1

    monkeypatch.setattr(objects, "read", slow_read)
    # newest first, then the oldest, a duplicate of the newest, the middle one, the oldest again
    bodies = [_body(stack, key, v) for v in (v3, v1, v3, v2, v1)]
    bodies[2:2] = [_body(stack, k, v) for k, v in others.items()]
    _, failed = _invoke(stack, bodies)

    assert failed == set()
    assert peak[0] > 1  # the batch really was read ahead, overlapped
    assert len(reads) == len(bodies)  # every delivery was processed: nothing skipped them
    (record,) = _records_for(stack, key)
    assert (record["version_id"], record["label"], record["etag"]) == (v3["version_id"], "blue", v3["etag"])
    for other, version in others.items():
        (kept,) = _records_for(stack, other)
        assert kept["version_id"] == version["version_id"] and kept["label"] == version["label"]


@pytest.mark.parametrize("slow", ["newer", "older"])
def test_writes_landing_in_either_order_keep_the_newer_event(clean_stack, monkeypatch, slow):
    stack = clean_stack
    key = "drones/owl/race.jpg"
    older, newer = _upload_versions(stack, key, 2)
    writer = stack.handler_module.services().predictions
    real_put, landed = writer.put, []
    delayed = (newer if slow == "newer" else older)["version_id"]

    def put(record):
        if record.version_id == delayed:
            time.sleep(0.3)  # the other write, behind it in the batch, lands first
        stored = real_put(record)
        landed.append((record.version_id, stored))
        return stored

    monkeypatch.setattr(writer, "put", put)
    _, failed = _invoke(stack, [_body(stack, key, older), _body(stack, key, newer)])

    assert failed == set()
    assert landed[-1][0] == delayed  # the writes really did land in the order under test
    (record,) = _records_for(stack, key)
    assert record["version_id"] == newer["version_id"] and record["label"] == "green"
    # the older event's write is refused when the newer record is already there
    assert dict(landed)[older["version_id"]] is (slow == "newer")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shuffled_duplicated_deliveries_across_batches_leave_one_newest_record_per_object(clean_stack, seed):
    stack = clean_stack
    rng = random.Random(seed)
    keys = [f"drones/owl/shuffled-{seed}-{n}.jpg" for n in range(3)]
    versions = {
        key: _upload_versions(stack, key, rng.randint(2, 3), first_sequencer=0x100 * (n + 1))
        for n, key in enumerate(keys)
    }
    deliveries = [(key, n) for key, vs in versions.items() for n in range(len(vs)) for _ in range(rng.randint(1, 3))]
    rng.shuffle(deliveries)
    # this order really delivers an older event after the newest one of the same object
    assert any(
        n < len(versions[key]) - 1 and (key, len(versions[key]) - 1) in deliveries[:i]
        for i, (key, n) in enumerate(deliveries)
    )
    bodies = [_body(stack, key, versions[key][n]) for key, n in deliveries]
    while bodies:  # Lambda's batches: up to 10 messages each
        size = rng.randint(1, 10)
        _, failed = _invoke(stack, bodies[:size])
        assert failed == set()
        bodies = bodies[size:]

    assert sorted(r["key"] for r in stack.records()) == sorted(keys)
    for key, vs in versions.items():
        (record,) = _records_for(stack, key)
        assert (record["version_id"], record["label"]) == (vs[-1]["version_id"], vs[-1]["label"])


def test_failures_are_reported_per_message_and_the_retry_leaves_one_record_each(clean_stack, monkeypatch):
    stack = clean_stack
    keys = [f"drones/owl/batch-{n}.jpg" for n in range(5)]
    versions = {key: _upload_versions(stack, key, 1)[0] for key in keys}
    service = stack.handler_module.services()
    real_read, real_put = service.objects.read, service.predictions.put

    def read(bucket, key, max_bytes, version_id=None):
        if key == keys[1]:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "injected"}}, "GetObject")
        return real_read(bucket, key, max_bytes, version_id)

    def put(record):
        if record.key == keys[3]:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}}, "PutItem"
            )
        return real_put(record)

    monkeypatch.setattr(service.objects, "read", read)
    monkeypatch.setattr(service.predictions, "put", put)
    bodies = [_body(stack, key, versions[key]) for key in keys] + ["this is not an S3 event"]
    ids, failed = _invoke(stack, bodies)

    assert failed == {ids[1], ids[3], ids[5]}  # the S3 error, the DynamoDB error, the poison message
    assert sorted(r["key"] for r in stack.records()) == [keys[0], keys[2], keys[4]]
    monkeypatch.undo()
    _, failed = _invoke(stack, [bodies[1], bodies[3], bodies[0]])  # SQS redelivers; one came twice
    assert failed == set()
    assert sorted(r["key"] for r in stack.records()) == sorted(keys)
    for key in keys:
        (record,) = _records_for(stack, key)
        assert record["version_id"] == versions[key]["version_id"] and record["status"] == "ok"
