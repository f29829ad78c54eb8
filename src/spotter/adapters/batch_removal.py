"""Removing a web batch: every stored version of its objects (S3) and its records (DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from spotter.records import PredictionRecord, object_id_for

if TYPE_CHECKING:  # botocore and boto3 ship no types: these name what is passed, for the reader
    from boto3.resources.base import ServiceResource
    from botocore.client import BaseClient


class S3BatchObjects:
    def __init__(self, client: BaseClient, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def object_ids_under(self, prefix: str) -> set[str]:
        paginator = self.client.get_paginator("list_object_versions")
        return {
            object_id_for(self.bucket, v["Key"])
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        }

    def delete_prefix(self, prefix: str) -> int:
        """Every version and delete marker under `prefix`: the bucket is versioned, so a plain delete
        would only hide the images for 30 days."""
        deleted = 0
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            targets = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(targets), 1000):  # DeleteObjects takes at most 1000 keys
                chunk = targets[start : start + 1000]
                reply = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
                errors = reply.get("Errors") or []
                if errors:
                    first = errors[0]
                    raise RuntimeError(
                        f"could not delete {len(errors)} object versions, e.g. "
                        f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                    )
                deleted += len(chunk)
        return deleted


class DynamoRecordRemover:
    """Deletes records one DeleteItem each (the API role may delete, not batch-write), a few at once."""

    def __init__(self, table: ServiceResource, workers: int = 8) -> None:  # a DynamoDB Table
        self.table = table
        self.workers = workers

    def delete(self, records: Iterable[PredictionRecord]) -> int:
        keys = [{"object_id": r.object_id, "model": r.model} for r in records]
        if not keys:
            return 0
        client, name = self.table.meta.client, self.table.name  # a client is thread-safe; a resource is not
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            list(pool.map(lambda key: client.delete_item(TableName=name, Key=key), keys))
        return len(keys)

    def delete_of_objects(self, object_ids: Iterable[str]) -> int:
        """Each object's records by its partition key, with a consistent read (no index): every model
        version's record of it, however recently written."""
        client, name = self.table.meta.client, self.table.name

        def sweep(object_id: str) -> int:
            keys = []
            paginator = client.get_paginator("query")
            for page in paginator.paginate(
                TableName=name,
                KeyConditionExpression="object_id = :id",
                ExpressionAttributeValues={":id": object_id},  # the resource's client takes plain values
                ProjectionExpression="object_id, #m",
                ExpressionAttributeNames={"#m": "model"},
                ConsistentRead=True,
            ):
                keys += page.get("Items", [])
            for key in keys:
                client.delete_item(TableName=name, Key=key)
            return len(keys)

        ids = list(object_ids)
        if not ids:
            return 0
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return sum(pool.map(sweep, ids))
