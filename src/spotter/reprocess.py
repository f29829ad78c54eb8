"""Re-classify stored images: S3 notifications, made anew, for the classify function to handle."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import quote_plus

from .keys import DRONES_PREFIX, UPLOADS_PREFIX, WEB_SOURCE


def prefixes_for(source: str | None, batch: str | None) -> list[str]:
    if source == WEB_SOURCE or (batch and not source):
        return [f"{UPLOADS_PREFIX}{batch}/" if batch else UPLOADS_PREFIX]
    if source:
        return [f"{DRONES_PREFIX}{source}/" + (f"{batch}/" if batch else "")]
    return [UPLOADS_PREFIX, DRONES_PREFIX]


def in_window(modified: datetime, since: str | None, until: str | None) -> bool:
    """`modified` is S3's LastModified (aware); bounds are ISO 8601 UTC strings."""
    if since and modified < datetime.fromisoformat(since.replace("Z", "+00:00")):
        return False
    if until and modified >= datetime.fromisoformat(until.replace("Z", "+00:00")):
        return False
    return True


def notification(bucket: str, key: str, size: int, etag: str, modified: datetime) -> str:
    """An S3 ObjectCreated notification as S3 would send it (key URL-encoded)."""
    return json.dumps({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "eventTime": modified.isoformat().replace("+00:00", "Z"),
        "userIdentity": {"principalId": "spotter-reprocess"},
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag}},
    }]})
