"""Create the stack's emulated resources (bucket, queues, tables, notification) in moto."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TableSpec:
    name: str
    key_schema: list[dict[str, str]]  # CloudFormation's KeySchema: [{"AttributeName", "KeyType"}]
    attribute_definitions: list[dict[str, str]]  # [{"AttributeName", "AttributeType"}]
    global_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)  # IndexName, KeySchema, Projection
    ttl_attribute: str | None = None
    stream_view_type: str | None = None  # the template's StreamSpecification (`spotter sql` reads it)


@dataclass(frozen=True)
class StackSpec:
    bucket: str
    queue: str
    dead_letter_queue: str
    visibility_timeout_s: int
    max_receive_count: int
    predictions: TableSpec
    notify_prefixes: tuple[str, ...] = ("uploads/", "drones/")
    batch_size: int = 10
    batching_window_s: int = 0
    function_timeout_s: int = 30
    cors_origins: tuple[str, ...] = ("*",)
    versioned: bool = False


@dataclass(frozen=True)
class CreatedStack:
    spec: StackSpec
    queue_url: str
    dead_letter_queue_url: str


def _create_table(dynamodb: Any, table: TableSpec) -> None:
    args: dict[str, Any] = {
        "TableName": table.name,
        "KeySchema": table.key_schema,
        "AttributeDefinitions": table.attribute_definitions,
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.global_secondary_indexes:
        args["GlobalSecondaryIndexes"] = table.global_secondary_indexes
    if table.stream_view_type:
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view_type}
    dynamodb.create_table(**args)
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=table.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
        )


def create_stack(spec: StackSpec, s3: Any, sqs: Any, dynamodb: Any) -> CreatedStack:
    """`s3`, `sqs`, `dynamodb`: boto3 clients (boto3 ships no types)."""
    dlq_url = sqs.create_queue(QueueName=spec.dead_letter_queue, Attributes={"MessageRetentionPeriod": "1209600"})[
        "QueueUrl"
    ]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=spec.queue,
        Attributes={
            "VisibilityTimeout": str(spec.visibility_timeout_s),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receive_count}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    _create_table(dynamodb, spec.predictions)
    s3.create_bucket(Bucket=spec.bucket)
    if spec.versioned:
        s3.put_bucket_versioning(Bucket=spec.bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_cors(
        Bucket=spec.bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": list(spec.cors_origins),
                    "AllowedMethods": ["GET", "POST", "PUT", "HEAD"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag"],
                    "MaxAgeSeconds": 3000,
                }
            ]
        },
    )
    s3.put_bucket_notification_configuration(
        Bucket=spec.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": f"classify-{prefix.strip('/')}",
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                }
                for prefix in spec.notify_prefixes
            ]
        },
    )
    return CreatedStack(spec=spec, queue_url=queue_url, dead_letter_queue_url=dlq_url)
