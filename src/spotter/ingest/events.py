"""S3 ObjectCreated notifications, delivered directly or inside SQS messages."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote_plus

from spotter.errors import MalformedEvent


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str  # decoded: the object's real key
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    event_time: str | None = None
    event_name: str = "ObjectCreated:Put"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_folder_marker(key: str) -> bool:
    """A key that names a folder, not a file (`drones/x/sub/`, Hadoop's `sub_$folder$`)."""
    return key.endswith("/") or key.endswith("_$folder$")


def _object_from_record(record: dict[str, Any]) -> S3Object | None:
    if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
        raise MalformedEvent(f"not an S3 event record: {str(record)[:200]}")
    name = str(record.get("eventName", ""))
    if not name.startswith("ObjectCreated:"):
        return None  # deletions, restores, replication: nothing to classify
    try:
        s3 = record["s3"]
        bucket = s3["bucket"]["name"]
        obj = s3["object"]
        key = obj["key"]
    except (KeyError, TypeError) as exc:
        raise MalformedEvent(f"S3 event record lacks {exc}") from None
    size = obj.get("size")
    if not isinstance(bucket, str) or not isinstance(key, str) or not isinstance(size, (int, str, type(None))):
        raise MalformedEvent(f"S3 event record has a bucket, key or size of the wrong type: {str(record)[:200]}")
    try:
        size = int(size) if size is not None else None
    except ValueError:
        raise MalformedEvent(f"S3 event record has a size that is not a number: {size[:50]!r}") from None
    key = unquote_plus(key)
    if size == 0 and is_folder_marker(key):
        return None  # a "folder" the console or a sync tool made: nothing to classify, on purpose
    return S3Object(
        bucket=bucket,
        key=key,
        size=size,
        etag=obj.get("eTag") or obj.get("etag"),
        version_id=obj.get("versionId") or None,
        sequencer=obj.get("sequencer"),
        event_time=record.get("eventTime"),
        event_name=name,
    )


def objects_in_s3_event(event: dict[str, Any]) -> list[S3Object]:
    """The created objects in an S3 notification; [] for the s3:TestEvent sent on configuration."""
    if not isinstance(event, dict):
        raise MalformedEvent("an S3 notification must be a JSON object")
    if event.get("Event") == "s3:TestEvent":
        return []
    if "Records" not in event or not isinstance(event["Records"], list):
        raise MalformedEvent(f"not an S3 notification: {json.dumps(event)[:200]}")
    found = (_object_from_record(record) for record in event["Records"])
    return [obj for obj in found if obj is not None]


def objects_in_message(body: str) -> list[S3Object]:
    """Parse one SQS message body holding an S3 notification (possibly wrapped by SNS)."""
    try:
        event = json.loads(body)
    except (TypeError, ValueError, RecursionError):
        raise MalformedEvent(f"message body is not JSON: {str(body)[:200]!r}") from None
    if isinstance(event, dict) and event.get("Type") == "Notification" and "Message" in event:
        return objects_in_message(event["Message"])
    return objects_in_s3_event(event)
