"""The classify Lambda end to end on moto: S3 -> SQS -> handler -> DynamoDB."""

import json

import images
import pytest


def test_upload_becomes_one_ok_record(stack):
    stack.put("uploads/batch-1/0b8f4a52-4d7e-4d3c-9a57-2a1e8c2f6b11-red.jpg", images.jpeg(images.RED))
    stack.drain()
    record = stack.record_for("uploads/batch-1/0b8f4a52-4d7e-4d3c-9a57-2a1e8c2f6b11-red.jpg")
    assert record["status"] == "ok"
    assert record["label"] == "red" and float(record["score"]) > 0.9
    assert next(t["label"] for t in record["top"]) == "red" and len(record["top"]) == 3
    assert record["source"] == "web" and record["batch"] == "batch-1" and record["file_name"] == "red.jpg"
    assert record["model"] == "colours-int8@1.0.0"
    assert (record["width"], record["height"]) == (64, 48)
    assert record["etag"] and record["uploaded_at"].endswith("Z") and record["upload_day"] == record["uploaded_at"][:10]
    assert float(record["inference_ms"]) > 0 and float(record["decode_ms"]) > 0
    assert stack.nothing_left()


@pytest.mark.parametrize(
    "key",
    [
        "drones/falcon-2/flight 7/IMG 0001.jpg",
        "drones/falcon-2/a+b/c+d.jpg",
        "drones/falcon-2/été/ünïcødé 写真.jpg",
        "drones/falcon-2/odd%20percent%2F.jpg",
    ],
)
def test_keys_with_spaces_plus_and_unicode_are_decoded(stack, key):
    stack.put(key, images.jpeg(images.BLUE))
    stack.drain()
    record = stack.record_for(key)
    assert record["status"] == "ok" and record["label"] == "blue"
    assert record["source"] == "falcon-2"


def test_duplicate_and_redelivered_events_leave_one_record(stack):
    key = "drones/owl/dup.jpg"
    stack.put(key, images.jpeg(images.GREEN))
    message = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10)["Messages"]
    body = next(m["Body"] for m in message if "dup.jpg" in m["Body"])
    for received in message:  # received, never deleted: SQS redelivers it
        stack.sqs.change_message_visibility(
            QueueUrl=stack.queue_url, ReceiptHandle=received["ReceiptHandle"], VisibilityTimeout=0
        )
    # S3 delivers the same event twice, and SQS redelivers the first copy too
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=body)
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=body)
    objects, reads = stack.handler_module.services().objects, []
    read = objects.read

    def counted_read(bucket, k, *args):
        reads.append(k)
        return read(bucket, k, *args)

    objects.read = counted_read
    stack.drain(idle_polls=3)
    # no idempotency table: each delivery is classified, and the conditional write keeps one record
    assert reads.count(key) == 3
    (record,) = [r for r in stack.records() if r["key"] == key]
    assert record["label"] == "green" and record["status"] == "ok"
    assert stack.nothing_left()


def test_test_event_is_ignored(stack):
    stack.sqs.send_message(
        QueueUrl=stack.queue_url,
        MessageBody=json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": stack.spec.bucket}),
    )
    assert stack.drain() >= 1
    assert stack.records() == []
    assert stack.nothing_left()


def test_bad_files_each_get_the_right_outcome_and_the_batch_goes_on(stack):
    corpus = images.bad_and_odd_files()
    for name, (data, _, _) in corpus.items():
        stack.put(f"drones/lab/{name}", data)
    stack.put("drones/lab/good.jpg", images.jpeg(images.GREEN))
    stack.drain()
    for name, (_, status, reason_word) in corpus.items():
        record = stack.record_for(f"drones/lab/{name}")
        assert record["status"] == status, (name, record.get("reason"))
        if status == "rejected":
            assert reason_word in record["reason"], (name, record["reason"])
        else:
            assert record["label"] in {"red", "blue"}, (name, record["label"])
    assert stack.record_for("drones/lab/good.jpg")["label"] == "green"
    assert stack.nothing_left()


def test_rotated_and_animated_images_report_their_shape(stack):
    stack.put("drones/lab/rotated.jpg", images.exif_rotated_jpeg(images.RED, size=(80, 40)))
    stack.put("drones/lab/animated.gif", images.animated_gif(images.RED, images.BLUE))
    stack.drain()
    rotated = stack.record_for("drones/lab/rotated.jpg")
    assert (rotated["width"], rotated["height"]) == (40, 80)
    animated = stack.record_for("drones/lab/animated.gif")
    assert animated["frames"] == 2 and animated["label"] == "red"  # the first frame


def test_field_metadata_is_recorded(stack):
    stack.put("drones/owl/field.jpg", images.jpeg_with_field_data())
    stack.drain()
    record = stack.record_for("drones/owl/field.jpg")
    assert record["captured_at"] == "2026-05-04T08:30:15.000Z"
    assert float(record["latitude"]) == pytest.approx(48.8584, abs=1e-4)
    assert float(record["longitude"]) == pytest.approx(2.2945, abs=1e-4)
    assert float(record["altitude"]) == pytest.approx(35.0)
    assert record["camera"] == "DJI FC3411"


def test_a_capture_time_without_an_offset_stays_the_cameras_local_time(stack):
    stack.put("drones/owl/local.jpg", images.jpeg_with_field_data(offset=None))
    stack.drain()
    assert stack.record_for("drones/owl/local.jpg")["captured_at"] == "2026-05-04T10:30:15.000"  # no Z: not UTC


def test_a_camera_clock_out_of_range_does_not_fail_the_image(stack):
    # year 1 at +01:00 is before the first representable UTC instant
    stack.put("drones/owl/clock.jpg", images.jpeg_with_field_data(taken="0001:01:01 00:00:00", offset="+01:00"))
    stack.drain()
    record = stack.record_for("drones/owl/clock.jpg")
    assert record["status"] == "ok" and record["label"] == "green"
    assert "captured_at" not in record and float(record["latitude"]) == pytest.approx(48.8584, abs=1e-4)
    assert stack.nothing_left()


def test_oversize_object_is_rejected_without_downloading_it(moto, int8_model, monkeypatch):
    from stack import make_stack

    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1000")
    stack = make_stack(int8_model)
    stack.put("drones/owl/big.png", images.encode(images.photo_like((200, 200)), "PNG"))
    objects = stack.handler_module.services().objects
    objects.read = lambda *args, **kwargs: pytest.fail("downloaded an object the event said was too big")
    stack.drain()
    assert "over the 0.0 MB limit" in stack.record_for("drones/owl/big.png")["reason"]
    assert stack.nothing_left()


def test_an_object_deleted_before_it_is_read_is_skipped_not_retried(stack):
    stack.put("drones/owl/gone.jpg", images.jpeg(images.RED))
    stack.s3.delete_object(Bucket=stack.spec.bucket, Key="drones/owl/gone.jpg")
    stack.put("drones/owl/kept.jpg", images.jpeg(images.BLUE))
    stack.drain()
    assert [r["key"] for r in stack.records()] == ["drones/owl/kept.jpg"]
    assert stack.nothing_left()


def test_transient_dynamodb_failure_is_a_batch_item_failure_then_retried(retry_at_once_stack, monkeypatch):
    stack = retry_at_once_stack
    from botocore.exceptions import ClientError

    stack.put("drones/owl/a.jpg", images.jpeg(images.RED))
    stack.put("drones/owl/b.jpg", images.jpeg(images.BLUE))
    writer = stack.handler_module.services().predictions
    real_put, calls = writer.put, []

    def throttled_once_for_b(record):
        calls.append(record.key)
        if record.key.endswith("b.jpg") and calls.count(record.key) == 1:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem"
            )
        return real_put(record)

    monkeypatch.setattr(writer, "put", throttled_once_for_b)
    messages = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])[
        "Messages"
    ]
    from spotter.local.lambda_runtime import LambdaContext
    from spotter.local.sqs_trigger import sqs_event

    response = stack.handler_module.lambda_handler(
        sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q"), LambdaContext("classify")
    )
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    b_message = next(m["MessageId"] for m in messages if "b.jpg" in m["Body"])
    assert failed == {b_message}
    assert {r["key"] for r in stack.records()} == {"drones/owl/a.jpg"}
    # the failed message comes back after its visibility timeout (0 here: at once) and succeeds
    assert stack.spec.visibility_timeout_s == 0
    stack.drain(idle_polls=3)
    assert {r["key"] for r in stack.records()} == {"drones/owl/a.jpg", "drones/owl/b.jpg"}


def test_poison_message_ends_in_the_dead_letter_queue(retry_at_once_stack):
    stack = retry_at_once_stack  # visibility timeout 0: each failure is redelivered at once
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody="this is not an S3 event")
    stack.put("drones/owl/fine.jpg", images.jpeg(images.RED))
    for _ in range(stack.spec.max_receive_count + 1):
        stack.drain(idle_polls=1)
    dead = stack.dead_letters()
    assert [m["Body"] for m in dead] == ["this is not an S3 event"]
    assert stack.record_for("drones/owl/fine.jpg")["status"] == "ok"
