"""Prediction records as DynamoDB items, and the classify function's conditional write.

Nothing here imports boto3: the classify function writes through a low-level botocore client,
which keeps boto3 (its resources, s3transfer) out of its cold start. `spotter.adapters.dynamodb`
holds the Table-resource adapters the API and the command line use; both write the same item
under the same condition (`put_condition`).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..records import SEQUENCED, TIMED, PredictionRecord, sequence_key

if TYPE_CHECKING:  # botocore ships no types: this names what is passed, for the reader
    from botocore.client import BaseClient

_FLOAT_FIELDS = ("score", "decode_ms", "preprocess_ms", "inference_ms", "latitude", "longitude", "altitude")


def to_item(record: PredictionRecord) -> dict[str, Any]:
    item = record.as_dict()
    for name in _FLOAT_FIELDS:
        if name in item:
            item[name] = Decimal(str(item[name]))
    if "top" in item:
        item["top"] = [{"label": t["label"], "score": Decimal(str(t["score"]))} for t in item["top"]]
    item["sequence"] = sequence_key(record.sequencer, record.uploaded_at)
    return item


def put_condition(item: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The write's condition and its values: never let an older event overwrite a newer one's record
    (out-of-order or duplicate deliveries), and let a real upload replace a reprocess's record."""
    condition, values = "attribute_not_exists(object_id) OR #seq <= :seq", {":seq": item["sequence"]}
    if item["sequence"].startswith(SEQUENCED):
        # A reprocess has no sequencer and sorts after every S3 event; the next real upload must still win.
        condition, values[":timed"] = condition + " OR begins_with(#seq, :timed)", TIMED
    return condition, values


def attribute_value(value: object) -> dict[str, Any]:
    """One Python value in DynamoDB's wire form (what boto3's TypeSerializer writes for these types)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, Decimal)):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": str(Decimal(str(value)))}
    if isinstance(value, list):
        return {"L": [attribute_value(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: attribute_value(v) for k, v in value.items()}}
    if value is None:
        return {"NULL": True}
    raise TypeError(f"no DynamoDB type for {type(value).__name__}")


def is_condition_failure(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class ConditionalRecordWriter:
    """The classify function's writer: one conditional PutItem per record, through a low-level client."""

    def __init__(self, client: BaseClient, table_name: str) -> None:
        self.client = client  # a botocore DynamoDB client
        self.table_name = table_name

    def put(self, record: PredictionRecord) -> bool:
        item = to_item(record)
        condition, values = put_condition(item)
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={k: attribute_value(v) for k, v in item.items()},
                ConditionExpression=condition,
                ExpressionAttributeNames={"#seq": "sequence"},
                ExpressionAttributeValues={k: attribute_value(v) for k, v in values.items()},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True


class DynamoRecordReader:
    """Which ETag each object's record from one model was made from (BatchGetItem, 100 keys a call)."""

    def __init__(self, client: BaseClient, table: str) -> None:
        self.client = client
        self.table = table

    def current(self, object_ids: Iterable[str], model: str) -> dict[str, str | None]:
        wanted = [{"object_id": {"S": object_id}, "model": {"S": model}} for object_id in object_ids]
        found: dict[str, str | None] = {}
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] | None = {
                self.table: {"Keys": wanted[start : start + 100], "ProjectionExpression": "object_id, etag"}
            }
            while request:
                reply = self.client.batch_get_item(RequestItems=request)
                for item in reply.get("Responses", {}).get(self.table, []):
                    found[item["object_id"]["S"]] = item.get("etag", {}).get("S")
                request = reply.get("UnprocessedKeys") or None
        return found
