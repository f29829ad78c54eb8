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

from spotter.errors import BatchDeleted
from spotter.keys import WEB_SOURCE, owner_of
from spotter.ports import RecordedUpload
from spotter.records import (
    REFUSALS_MODEL,
    SEQUENCED,
    TIMED,
    TOMBSTONE_MODEL,
    PredictionRecord,
    refusals_id,
    sequence_key,
    tombstone_id,
    utc_now,
)

if TYPE_CHECKING:  # botocore ships no types: this names what is passed, for the reader
    from botocore.client import BaseClient

_FLOAT_FIELDS = (
    "score",
    "decode_ms",
    "preprocess_ms",
    "inference_ms",
    "latitude",
    "longitude",
    "altitude",
    "positive_score",
    "domain_distance",
)


def to_item(record: PredictionRecord) -> dict[str, Any]:
    item = record.as_dict()
    owner = owner_of(record.key, record.batch)
    if owner:  # the by-owner index (GET /batches): web records of a signed-in researcher's batches
        item["owner"] = owner
    for name in _FLOAT_FIELDS:
        if name in item:
            item[name] = Decimal(str(item[name]))
    if "top" in item:
        item["top"] = [{"label": t["label"], "score": Decimal(str(t["score"]))} for t in item["top"]]
    if "detections" in item:  # a detector's boxes: boto3's resource layer takes Decimals, never floats
        item["detections"] = [
            {"label": d["label"], "score": Decimal(str(d["score"])), "box": [Decimal(str(v)) for v in d["box"]]}
            for d in item["detections"]
        ]
    item["sequence"] = sequence_key(record.sequencer, record.uploaded_at)
    return item


def put_condition(item: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The write's condition and its values: never let an older event overwrite a newer one's record
    (out-of-order or duplicate deliveries), and let a real upload replace a reprocess's record. A
    reprocess (timed) replaces a real upload's (sequenced) record only when the version it read is not
    older than the one recorded: an image re-uploaded while a reprocess read the old version keeps
    the new version's record. `records.replaces` says the same for the in-memory fakes.
    Names used: #seq (sequence), and #up (uploaded_at) for a timed item."""
    condition, values = "attribute_not_exists(object_id) OR #seq <= :seq", {":seq": item["sequence"]}
    if item["sequence"].startswith(SEQUENCED):
        # A reprocess has no sequencer and sorts after every S3 event; the next real upload must still win.
        condition, values[":timed"] = condition + " OR begins_with(#seq, :timed)", TIMED
    else:
        # ... or it read the very version recorded (the same ETag): S3's LastModified, a reprocess's
        # upload time, has whole seconds and may sort before the upload event's milliseconds
        condition = (
            "attribute_not_exists(object_id) OR (begins_with(#seq, :timed) AND #seq <= :seq)"
            " OR (begins_with(#seq, :sequenced) AND (#up <= :up OR #etag = :etag))"
        )
        values.update(
            {":timed": TIMED, ":sequenced": SEQUENCED, ":up": item["uploaded_at"], ":etag": item.get("etag") or "-"}
        )
    return condition, values


def condition_names(item: dict[str, Any]) -> dict[str, str]:
    names = {"#seq": "sequence"}
    if not item["sequence"].startswith(SEQUENCED):
        names["#up"], names["#etag"] = "uploaded_at", "etag"
    return names


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


def tombstone_key(batch: str) -> dict[str, Any]:
    return {"object_id": {"S": tombstone_id(batch)}, "model": {"S": TOMBSTONE_MODEL}}


def _plain(value: Any, native: bool) -> Any:
    return value if native else next(iter(value.values()))


def _keep_truth(
    client: BaseClient, table_name: str, item: dict[str, Any], replaced: dict[str, Any], wire: Any, native: bool
) -> None:
    """The researcher's diagnosis outlives the model's rewrite of the same image (a reprocess, a
    repeated event): written back unless the image changed (another ETag) or a later write came first.
    One more PutItem, only when the replaced record had a truth: the classify role has no UpdateItem."""
    old_etag = _plain(replaced["etag"], native) if "etag" in replaced else None
    if old_etag and item.get("etag") and old_etag != item["etag"]:
        return  # another picture under the same key: the old diagnosis is not about it
    kept = {**item, "truth": _plain(replaced["truth"], native)}
    try:
        client.put_item(
            TableName=table_name,
            Item={k: wire(v) for k, v in kept.items()},
            ConditionExpression="#seq = :seq AND attribute_not_exists(#truth)",
            ExpressionAttributeNames={"#seq": "sequence", "#truth": "truth"},
            ExpressionAttributeValues={":seq": wire(item["sequence"])},
        )
    except ClientError as exc:
        if not is_condition_failure(exc):
            raise


def conditional_put(client: BaseClient, table_name: str, record: PredictionRecord, native: bool = False) -> bool:
    """The one write of a record (the classify function's and the API's): False when a newer event's
    record is kept; `BatchDeleted` when the record's web batch has a tombstone. A web record is written,
    then its batch's tombstone is read (consistently): if the batch was deleted meanwhile, the record is
    deleted again. With the delete's own order (tombstone, objects, then every record read after it,
    `web.batches.remove_batch`), whichever comes last removes it: a batch deleted while its images are
    in flight stays deleted. Not a transaction: every write of a batch would check the same tombstone
    item, and DynamoDB cancels concurrent transactions on one item (TransactionConflict).
    `native`: `client` is a boto3 resource's (`Table.meta.client`), which serializes Python values itself."""
    item = to_item(record)
    condition, values = put_condition(item)
    wire = (lambda v: v) if native else attribute_value
    try:
        replaced = client.put_item(
            TableName=table_name,
            Item={k: wire(v) for k, v in item.items()},
            ConditionExpression=condition,
            ExpressionAttributeNames=condition_names(item),
            ExpressionAttributeValues={k: wire(v) for k, v in values.items()},
            ReturnValues="ALL_OLD",
        ).get("Attributes")
    except ClientError as exc:
        if is_condition_failure(exc):
            return False
        raise
    if replaced and "truth" in replaced and record.truth is None:
        _keep_truth(client, table_name, item, replaced, wire, native)
    if record.batch and record.source == WEB_SOURCE:
        tombstone = tombstone_key(record.batch)
        plain = {k: v["S"] for k, v in tombstone.items()}
        reply = client.get_item(
            TableName=table_name, Key=plain if native else tombstone, ConsistentRead=True, ProjectionExpression="model"
        )
        if "Item" in reply:
            key = {"object_id": record.object_id, "model": record.model}
            client.delete_item(TableName=table_name, Key=key if native else {k: {"S": v} for k, v in key.items()})
            raise BatchDeleted(record.batch)
    return True


class ConditionalRecordWriter:
    """The classify function's writer: one conditional write per record, through a low-level client."""

    def __init__(self, client: BaseClient, table_name: str) -> None:
        self.client = client  # a botocore DynamoDB client
        self.table_name = table_name

    def put(self, record: PredictionRecord) -> bool:
        return conditional_put(self.client, self.table_name, record)


class DynamoRefusalCounter:
    """A caller's refused files per clock hour, as one item of the records table (`records.refusals_id`),
    changed by compare-and-set: a consistent read, then a put on condition that the count is still what
    was read (the API role may put, not update). A few retries under contention, then False."""

    ATTEMPTS = 12

    def __init__(self, client: BaseClient, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def reserve(self, scope: str, hour: str, count: int, limit: int) -> bool:
        import random
        import time

        key = {"object_id": {"S": refusals_id(scope, hour)}, "model": {"S": REFUSALS_MODEL}}
        for attempt in range(self.ATTEMPTS):
            held = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
            used = int(held["refused"]["N"]) if held else 0
            if used + count > limit:
                return False
            put: dict[str, Any] = {
                "TableName": self.table_name,
                "Item": {**key, "refused": {"N": str(used + count)}, "hour": {"S": hour}},
            }
            if held is None:
                put["ConditionExpression"] = "attribute_not_exists(object_id)"
            else:
                put["ConditionExpression"] = "refused = :used"
                put["ExpressionAttributeValues"] = {":used": {"N": str(used)}}
            try:
                self.client.put_item(**put)
                return True
            except ClientError as exc:
                if not is_condition_failure(exc):
                    raise
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # nosec B311: jitter, not a secret
        return False


class DynamoBatchTombstones:
    """Deleted batches' tombstones, items of the records table that no index holds (`records.tombstone_id`)."""

    def __init__(self, client: BaseClient, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def mark(self, batch: str) -> None:
        item = {**tombstone_key(batch), "deleted_at": {"S": utc_now()}}
        self.client.put_item(TableName=self.table_name, Item=item)

    def is_deleted(self, batch: str) -> bool:
        reply = self.client.get_item(
            TableName=self.table_name, Key=tombstone_key(batch), ConsistentRead=True, ProjectionExpression="model"
        )
        return "Item" in reply


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

    def uploads(self, object_ids: Iterable[str]) -> dict[str, list[RecordedUpload]]:
        """Every record's ETag, version id and upload time per object (a query of its partition each,
        8 at a time; consistent reads, so a record just written is seen)."""
        from concurrent.futures import ThreadPoolExecutor

        def of(object_id: str) -> list[RecordedUpload]:
            args: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "object_id = :id",
                "ExpressionAttributeValues": {":id": {"S": object_id}},
                "ProjectionExpression": "etag, version_id, uploaded_at",
                "ConsistentRead": True,
            }
            found: list[RecordedUpload] = []
            while True:
                reply = self.client.query(**args)
                found += [
                    RecordedUpload(
                        etag=item.get("etag", {}).get("S"),
                        version_id=item.get("version_id", {}).get("S"),
                        uploaded_at=item.get("uploaded_at", {}).get("S"),
                    )
                    for item in reply.get("Items", [])
                ]
                if "LastEvaluatedKey" not in reply:
                    return found
                args["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

        ids = list(dict.fromkeys(object_ids))
        with ThreadPoolExecutor(8, thread_name_prefix="spotter-uploads") as pool:
            return {object_id: found for object_id, found in zip(ids, pool.map(of, ids)) if found}
