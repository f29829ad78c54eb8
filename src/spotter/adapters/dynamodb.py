"""DynamoDB adapter for prediction records."""

from __future__ import annotations

from decimal import Decimal

from botocore.exceptions import ClientError

from ..records import PredictionRecord, sequencer_key

_FLOAT_FIELDS = ("score", "decode_ms", "preprocess_ms", "inference_ms", "latitude", "longitude", "altitude")


def to_item(record: PredictionRecord) -> dict:
    item = record.as_dict()
    for name in _FLOAT_FIELDS:
        if name in item:
            item[name] = Decimal(str(item[name]))
    if "top" in item:
        item["top"] = [{"label": t["label"], "score": Decimal(str(t["score"]))} for t in item["top"]]
    item["sequence"] = sequencer_key(record.sequencer)
    return item


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def from_item(item: dict) -> PredictionRecord:
    return PredictionRecord.from_dict(_plain(item))


class DynamoPredictions:
    def __init__(self, table):
        self.table = table  # a boto3 DynamoDB Table resource

    def put(self, record: PredictionRecord) -> bool:
        item = to_item(record)
        try:
            # Out-of-order deliveries: never let an older event overwrite a newer one's record.
            self.table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(object_id) OR #seq <= :seq",
                ExpressionAttributeNames={"#seq": "sequence"},
                ExpressionAttributeValues={":seq": item["sequence"]},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, object_id: str, model: str) -> PredictionRecord | None:
        item = self.table.get_item(Key={"object_id": object_id, "model": model}).get("Item")
        return from_item(item) if item else None
