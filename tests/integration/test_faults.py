"""Faults: throttling and 5xx from S3 and DynamoDB, a handler killed mid-batch, out-of-order and
double events. Expected: retries, the DLQ after maxReceiveCount, and exactly one record per object
and model version once the fault clears."""

import json

import images
import pytest
from botocore.exceptions import ClientError

from spotter.cli import main as spotter
from spotter.local.lambda_runtime import LambdaContext
from spotter.local.sqs_trigger import sqs_event


def _error(code: str, status: int):
    return ClientError(
        {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Injected"
    )


def _fail_first(monkeypatch, owner, method: str, times: dict, error):
    """Make owner.method raise `error` for the first times[key] calls about each key."""
    real = getattr(owner, method)
    seen: dict[str, int] = {}

    def flaky(*args, **kwargs):
        key = kwargs.get("Key") or kwargs.get("Item", {}).get("key")
        if isinstance(key, dict):  # a low-level client's item: {"S": "..."}
            key = key.get("S")
        for pattern, count in times.items():
            if key and key.endswith(pattern):
                seen[pattern] = seen.get(pattern, 0) + 1
                if seen[pattern] <= count:
                    raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, method, flaky)
    return seen


@pytest.fixture
def stack(retry_at_once_stack):
    """Every test here runs on a queue whose visibility timeout is 0 (see `_settle`)."""
    return retry_at_once_stack


def _settle(stack):
    """Poll until the queue stays empty. With the visibility timeout at 0 a failed message is received
    again on the next poll, so this runs every retry, and the redrive policy moves a message that keeps
    failing to the DLQ on its (maxReceiveCount + 1)th receive, without sleeping through timeouts."""
    assert stack.spec.visibility_timeout_s == 0
    stack.drain(idle_polls=2)


def _count(stack, key):
    return len([r for r in stack.records() if r["key"] == key])


@pytest.mark.parametrize("code, status", [("SlowDown", 503), ("InternalError", 500), ("RequestTimeout", 400)])
def test_s3_errors_are_retried_until_they_clear(stack, monkeypatch, code, status):
    s3_client = stack.handler_module.services().objects.client
    seen = _fail_first(monkeypatch, s3_client, "get_object", {"flaky.jpg": 2}, _error(code, status))
    stack.put("drones/owl/flaky.jpg", images.jpeg(images.RED))
    stack.put("drones/owl/steady.jpg", images.jpeg(images.BLUE))
    _settle(stack)
    assert seen["flaky.jpg"] == 3
    assert _count(stack, "drones/owl/flaky.jpg") == 1 and _count(stack, "drones/owl/steady.jpg") == 1
    assert stack.record_for("drones/owl/flaky.jpg")["label"] == "red"
    assert stack.dead_letters() == []


@pytest.mark.parametrize(
    "code, status",
    [("ProvisionedThroughputExceededException", 400), ("InternalServerError", 500), ("ThrottlingException", 400)],
)
def test_dynamodb_errors_are_retried_until_they_clear(stack, monkeypatch, code, status):
    dynamodb = stack.handler_module.services().predictions.client
    seen = _fail_first(monkeypatch, dynamodb, "put_item", {"flaky.jpg": 2}, _error(code, status))
    stack.put("drones/owl/flaky.jpg", images.jpeg(images.GREEN))
    _settle(stack)
    assert seen["flaky.jpg"] == 3
    assert _count(stack, "drones/owl/flaky.jpg") == 1
    assert stack.dead_letters() == []


def test_a_lasting_fault_dead_letters_then_dlq_redrive_recovers(stack, monkeypatch, capsys):
    dynamodb = stack.handler_module.services().predictions.client
    _fail_first(monkeypatch, dynamodb, "put_item", {"doomed.jpg": 10**6}, _error("InternalServerError", 500))
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody="{not json")
    stack.put("drones/owl/doomed.jpg", images.jpeg(images.RED))
    stack.put("drones/owl/fine.jpg", images.jpeg(images.BLUE))
    _settle(stack)
    assert _count(stack, "drones/owl/doomed.jpg") == 0 and _count(stack, "drones/owl/fine.jpg") == 1

    target = ["--bucket", stack.spec.bucket, "--queue-url", stack.queue_url, "--dlq-url", stack.dlq_url]
    assert spotter(["dlq", *target]) == 0
    shown = capsys.readouterr().out
    assert "2 dead-lettered messages" in shown
    assert "poison message: message body is not JSON" in shown
    assert "drones/owl/doomed.jpg" in shown and "platform error" in shown

    monkeypatch.undo()  # the fault clears
    assert spotter(["dlq", "--redrive", *target]) == 0
    assert "redrove 1 of 2" in capsys.readouterr().out
    _settle(stack)
    assert _count(stack, "drones/owl/doomed.jpg") == 1 and stack.record_for("drones/owl/doomed.jpg")["label"] == "red"
    remaining = [
        m["Body"]
        for m in stack.sqs.receive_message(QueueUrl=stack.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        )
    ]
    assert remaining == ["{not json"]  # a poison message is not redriven unless asked (--all)


def test_handler_killed_mid_batch_loses_nothing_and_duplicates_nothing(stack, monkeypatch):
    keys = [f"drones/owl/kill-{i}.jpg" for i in range(4)]
    for key in keys:
        stack.put(key, images.jpeg(images.RED))
    messages: list[dict] = []
    while len(messages) < 5:  # 4 objects + the s3:TestEvent, held as Lambda's poller holds a batch
        messages += stack.sqs.receive_message(
            QueueUrl=stack.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=30
        ).get("Messages", [])
    classifier = stack.handler_module.services().classifier
    real, calls = classifier.classify, []

    def dies_on_the_third(image, top_k):
        calls.append(image)
        if len(calls) == 3:
            raise SystemExit("killed")  # like a SIGKILL or a timeout: no cleanup runs
        return real(image, top_k)

    monkeypatch.setattr(classifier, "classify", dies_on_the_third)
    with pytest.raises(SystemExit):
        stack.handler_module.lambda_handler(
            sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q"), LambdaContext("classify", timeout_s=3)
        )
    assert len(stack.records()) == 2  # two written before the kill; nothing was deleted from the queue
    monkeypatch.undo()
    assert stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10).get("Messages", []) == []
    for message in messages:  # the killed invocation's hold expires: SQS redelivers what it left
        stack.sqs.change_message_visibility(
            QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    _settle(stack)
    assert sorted(r["key"] for r in stack.records()) == sorted(keys)
    assert stack.dead_letters() == []


def test_out_of_order_events_keep_the_newest_version(stack):
    key = "drones/owl/overwritten.jpg"
    stack.put(key, images.jpeg(images.RED))
    stack.put(key, images.jpeg(images.BLUE))
    stack.drain()
    newest = stack.record_for(key)
    assert newest["label"] == "blue"

    def event(sequencer, put, when):
        """An S3 notification of version `put` (a put_object reply: its real ETag and version id)."""
        obj = {"key": other, "size": 1, "eTag": put["ETag"].strip('"'), "versionId": put["VersionId"]}
        if sequencer:
            obj["sequencer"] = sequencer
        return json.dumps(
            {
                "Records": [
                    {
                        "eventSource": "aws:s3",
                        "eventName": "ObjectCreated:Put",
                        "eventTime": when,
                        "s3": {"bucket": {"name": stack.spec.bucket}, "object": obj},
                    }
                ]
            }
        )

    other = "drones/owl/ordered.jpg"
    older, newer = stack.put(other, images.jpeg(images.GREEN)), stack.put(other, images.jpeg(images.RED))
    stack.drain()
    # real S3 events carry sequencers (moto's do not): start this key afresh with events that have them
    table = stack.dynamodb.Table(stack.spec.predictions.name)
    record = stack.record_for(other)
    table.delete_item(Key={"object_id": record["object_id"], "model": record["model"]})
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=event("00A1", newer, "2030-01-01T00:00:02.000Z"))
    stack.drain()
    early = event("009F", older, "2030-01-01T00:00:01.000Z")
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=early)  # the older event arrives last
    stack.drain()
    record = stack.record_for(other)
    assert (record["etag"], record["label"]) == (newer["ETag"].strip('"'), "red")

    # a reprocess (no sequencer) of the version recorded replaces the record; the next real upload
    # replaces the reprocess's
    reprocessed = json.loads(event("", newer, "2030-01-01T00:00:03.000Z"))
    del reprocessed["Records"][0]["s3"]["object"]["versionId"]  # a reprocess reads the current version
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=json.dumps(reprocessed))
    stack.drain()
    record = stack.record_for(other)
    assert record["sequence"].startswith("T") and record["etag"] == newer["ETag"].strip('"')
    newest = stack.put(other, images.jpeg(images.BLUE))  # moto's own event (timed, earlier) loses to ...
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=event("00B0", newest, "2030-01-01T00:00:04.000Z"))
    stack.drain()  # ... the sequenced one
    record = stack.record_for(other)
    assert (record["etag"], record["label"]) == (newest["ETag"].strip('"'), "blue")


def test_an_event_is_classified_from_the_version_it_names(stack):
    assert stack.spec.versioned  # as the template's bucket is
    key = "drones/owl/versioned.jpg"
    put = stack.put(key, images.jpeg(images.RED))
    first, first_etag = put["VersionId"], put["ETag"].strip('"')
    second = stack.put(key, images.jpeg(images.BLUE))["VersionId"]
    assert first != second
    stack.drain()
    assert stack.record_for(key)["label"] == "blue"
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": "2030-01-01T00:00:00.000Z",
                "s3": {
                    "bucket": {"name": stack.spec.bucket},
                    "object": {"key": key, "size": 1, "eTag": first_etag, "versionId": first},
                },
            }
        ]
    }
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=json.dumps(event))
    stack.drain()
    record = stack.record_for(key)
    assert record["label"] == "red" and record["version_id"] == first


def test_multipart_upload_double_event_leaves_one_record(stack):
    key = "drones/owl/multipart.jpg"
    data = images.encode(images.photo_like((1600, 1200)), "JPEG", quality=95)
    part_size = 5 * 1024 * 1024
    data = data + b"\0" * max(0, part_size + 1 - len(data))  # two parts; trailing bytes after JPEG EOI are ignored
    upload = stack.s3.create_multipart_upload(Bucket=stack.spec.bucket, Key=key)
    parts = []
    for number, start in enumerate(range(0, len(data), part_size), start=1):
        etag = stack.s3.upload_part(
            Bucket=stack.spec.bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data[start : start + part_size],
        )["ETag"]
        parts.append({"ETag": etag, "PartNumber": number})
    stack.s3.complete_multipart_upload(
        Bucket=stack.spec.bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    handled = stack.drain()
    assert handled >= 2  # the test event plus at least one ObjectCreated (moto sends two for multipart)
    assert _count(stack, key) == 1 and stack.record_for(key)["status"] == "ok"
