"""A record describes one version of its object: a reprocess racing a re-upload never leaves a mixed
record (the old ETag and upload time beside the new size and label), and an older version's record
never replaces a newer one's. Run on moto with the real classify handler and conditional write."""

from __future__ import annotations

import boto3
import images

from spotter.adapters.dynamodb_records import ConditionalRecordWriter
from spotter.local.lambda_runtime import LambdaContext
from spotter.local.sqs_trigger import sqs_event
from spotter.ops.reprocess import notification
from spotter.records import PredictionRecord, normalise_time

KEY = "drones/owl/flight-1/nest.jpg"


def _classify(stack, body: str) -> None:
    """One message through the classify handler, as Lambda's SQS trigger hands it over."""
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=body)
    messages = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=1)["Messages"]
    assert messages[0]["Body"] == body
    event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q")
    response = stack.handler_module.lambda_handler(event, LambdaContext("classify"))
    assert response["batchItemFailures"] == []
    stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])


def test_a_reprocess_racing_a_reupload_records_the_version_it_read(stack, monkeypatch):
    old, new = images.jpeg(images.RED), images.jpeg(images.BLUE, size=(96, 72))
    assert len(old) != len(new)
    stack.put(KEY, old)
    stack.drain()
    # the reprocess is for a model version with no record of this object yet: its write is taken as is
    table = stack.dynamodb.Table(stack.spec.predictions.name)
    first = stack.record_for(KEY)
    table.delete_item(Key={"object_id": first["object_id"], "model": first["model"]})
    listed = stack.s3.list_objects_v2(Bucket=stack.spec.bucket, Prefix=KEY)["Contents"][0]
    reprocess = notification(stack.spec.bucket, KEY, listed["Size"], listed["ETag"].strip('"'), listed["LastModified"])

    service = stack.handler_module.services()
    real_read = service.objects.read
    uploaded: dict[str, str] = {}

    def reuploaded_before_the_read(bucket, key, max_bytes, version_id=None):
        if not uploaded:  # the researcher re-uploads between the reprocess's listing and its read
            uploaded.update(stack.put(KEY, new))
        return real_read(bucket, key, max_bytes, version_id)

    monkeypatch.setattr(service.objects, "read", reuploaded_before_the_read)
    _classify(stack, reprocess)

    record = stack.record_for(KEY)
    head = stack.s3.head_object(Bucket=stack.spec.bucket, Key=KEY)
    assert record["label"] == "blue" and int(record["size"]) == len(new)  # the version decoded...
    assert record["etag"] == uploaded["ETag"].strip('"')  # ...is the one whose ETag,
    assert record["version_id"] == uploaded["VersionId"]  # version
    assert record["uploaded_at"] == normalise_time(head["LastModified"].isoformat())  # and upload time it shows
    stack.drain()  # the re-upload's own event: the same version, recorded again
    assert stack.record_for(KEY)["etag"] == uploaded["ETag"].strip('"')
    assert stack.nothing_left()


def _record(uploaded_at: str, label: str, sequencer: str | None) -> PredictionRecord:
    return PredictionRecord(
        object_id="0" * 32,
        model="colours@1",
        bucket="b",
        key=KEY,
        status="ok",
        source="owl",
        file_name="nest.jpg",
        uploaded_at=uploaded_at,
        classified_at=uploaded_at,
        model_name="colours",
        model_version="1",
        sequencer=sequencer,
        label=label,
    )


def test_a_reprocess_of_an_older_version_never_replaces_a_newer_uploads_record(stack):
    """A reprocess (no sequencer: ordered by time) read the old version; the re-upload's record (S3's
    sequencer) landed first. The reprocess's write must not put the old version back; a reprocess of
    the current version still replaces it (a new model version's or a re-run's result)."""
    writer = ConditionalRecordWriter(boto3.client("dynamodb"), stack.spec.predictions.name)
    assert writer.put(_record("2026-12-01T10:00:05.000Z", "blue", sequencer="0062A1B2C3D4E5F6"))
    assert not writer.put(_record("2026-12-01T10:00:00.000Z", "red", sequencer=None))  # the older version
    assert stack.record_for(KEY)["label"] == "blue"
    assert writer.put(_record("2026-12-01T10:00:05.000Z", "green", sequencer=None))  # the same version, again
    assert stack.record_for(KEY)["label"] == "green"
    assert writer.put(_record("2026-12-01T10:00:06.000Z", "blue", sequencer="0062A1B2C3D4E5F7"))  # a new upload
    assert stack.record_for(KEY)["label"] == "blue"


def test_a_reprocess_keeps_the_version_id_and_the_millisecond_upload_time(stack, monkeypatch):
    """The new model's record describes the same upload as the first: the object's version id and the
    upload event's time to the millisecond (not S3's LastModified, cut to whole seconds), so a time
    window around the upload finds both model versions' records of the image."""
    from conftest import MODELS

    from spotter.cli import main as spotter
    from spotter.local.lambda_runtime import load_handler_module
    from spotter.local.sqs_trigger import SqsTrigger
    from spotter.results.query import PredictionQuery

    for name in ("a.jpg", "b.jpg"):
        stack.put(f"drones/owl/{name}", images.jpeg(images.RED))
    stack.drain()
    first = {r["key"]: r for r in stack.records()}
    table = stack.dynamodb.Table(stack.spec.predictions.name)
    # the event's time has milliseconds: make them non-zero, as S3's are all but one time in a thousand
    for record in first.values():
        record["uploaded_at"] = record["uploaded_at"][:20] + "725Z"
        table.update_item(
            Key={"object_id": record["object_id"], "model": record["model"]},
            UpdateExpression="SET uploaded_at = :u",
            ExpressionAttributeValues={":u": record["uploaded_at"]},
        )
    monkeypatch.setenv("SPOTTER_MODEL", str(MODELS / "colours-float32.tflite"))
    upgraded = SqsTrigger(stack.sqs, stack.queue_url, load_handler_module("classify").lambda_handler)
    assert spotter(["reprocess", "--bucket", stack.spec.bucket, "--table", stack.spec.predictions.name,
                    "--queue-url", stack.queue_url, "--source", "owl"]) == 0  # fmt: skip
    upgraded.drain()
    again = [r for r in stack.records() if r["model"] == "colours-float32@1.0.0"]
    assert len(again) == 2
    for record in again:
        assert record["version_id"] and record["version_id"] == first[record["key"]]["version_id"]
        assert record["uploaded_at"] == first[record["key"]]["uploaded_at"]
        assert record["etag"] == first[record["key"]]["etag"]
    upload = first["drones/owl/a.jpg"]["uploaded_at"]
    window = PredictionQuery(source="owl", since=upload, until=upload[:20] + "726Z")
    from spotter.adapters.dynamodb import DynamoPredictionQueries

    found, _ = DynamoPredictionQueries(table).query(window)
    assert sorted(r.model for r in found if r.key == "drones/owl/a.jpg") == [
        "colours-float32@1.0.0",
        "colours-int8@1.0.0",
    ]
