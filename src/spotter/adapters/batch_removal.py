"""Removing a web batch: every stored version of its objects (S3) and its records (DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from spotter.records import PredictionRecord

if TYPE_CHECKING:  # botocore and boto3 ship no types: these name what is passed, for the reader
    from boto3.resources.base import ServiceResource
    from botocore.client import BaseClient


class S3BatchObjects:
    def __init__(self, client: BaseClient, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

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
