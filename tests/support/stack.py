"""A classify stack in moto for tests: bucket -> queue (+DLQ) -> classify handler -> tables."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import boto3

from spotter.local.lambda_runtime import load_handler_module
from spotter.local.resources import StackSpec, create_stack
from spotter.local.sqs_trigger import SqsTrigger
from spotter.local.template import stack_spec
from spotter.records import is_tombstone_item

# The template's resources, with names of our own and short timings so retries happen in seconds.
_TEMPLATE_SPEC = stack_spec()
TEST_SPEC = replace(
    _TEMPLATE_SPEC,
    bucket="test-uploads",
    queue="test-classify",
    dead_letter_queue="test-classify-dlq",
    visibility_timeout_s=1,
    max_receive_count=3,
    predictions=replace(_TEMPLATE_SPEC.predictions, name="test-predictions"),
)


@dataclass
class Stack:
    spec: StackSpec
    s3: Any  # boto3 clients and resources: boto3 ships no types
    sqs: Any
    dynamodb: Any
    queue_url: str
    dlq_url: str
    handler_module: ModuleType
    trigger: SqsTrigger

    def put(self, key: str, data: bytes, **extra) -> dict:
        return self.s3.put_object(Bucket=self.spec.bucket, Key=key, Body=data, **extra)

    def drain(self, **kwargs) -> int:
        return self.trigger.drain(**kwargs)

    def records(self) -> list[dict]:
        table = self.dynamodb.Table(self.spec.predictions.name)
        items: list[dict] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = table.scan(**kwargs)
            items += [item for item in page["Items"] if not is_tombstone_item(item)]  # deleted batches'
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def record_for(self, key: str) -> dict:
        found = [r for r in self.records() if r["key"] == key]
        assert len(found) == 1, f"expected one record for {key!r}, found {len(found)}"
        return found[0]

    def nothing_left(self) -> bool:
        """No message waiting or in flight (a failed one is only hidden for the visibility timeout) and
        none dead-lettered: every delivery was handled for good."""
        counts = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return all(value == "0" for value in counts.values()) and not self.dead_letters()

    def dead_letters(self) -> list[dict]:
        return self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )


def make_stack(model_path, spec: StackSpec = TEST_SPEC) -> Stack:
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    dynamodb = boto3.resource("dynamodb")
    created = create_stack(spec, s3, sqs, dynamodb.meta.client)
    os.environ.update(
        UPLOADS_BUCKET=spec.bucket,
        PREDICTIONS_TABLE=spec.predictions.name,
        SPOTTER_MODEL=str(model_path),
    )
    # configuring the notification queued an s3:TestEvent, as real S3 does; the handler must skip it
    module = load_handler_module("classify")
    trigger = SqsTrigger(
        sqs,
        created.queue_url,
        module.lambda_handler,
        batch_size=spec.batch_size,
        function_timeout_s=spec.function_timeout_s,
    )
    return Stack(spec, s3, sqs, dynamodb, created.queue_url, created.dead_letter_queue_url, module, trigger)


def with_spec(**changes) -> StackSpec:
    return replace(TEST_SPEC, **changes)


# For the fault tests: a failed message is visible again at once (visibility timeout 0), so a retry
# costs a poll rather than a second of sleep; the redrive policy still dead-letters it after
# maxReceiveCount receives.
RETRY_AT_ONCE_SPEC = with_spec(visibility_timeout_s=0)
