"""Re-classify stored images: S3 notifications, made anew, for the classify function to handle."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from urllib.parse import quote_plus

from spotter.keys import DRONES_PREFIX, UPLOADS_PREFIX, WEB_SOURCE
from spotter.ports import Folder, ListedObject, Queue, RecordReader
from spotter.records import object_id_for, parse_time

SQS_BATCH = 10  # SendMessageBatch takes at most 10 entries


def prefixes_for(source: str | None, batch: str | None) -> list[str]:
    if source == WEB_SOURCE or (batch and not source):
        return [f"{UPLOADS_PREFIX}{batch}/" if batch else UPLOADS_PREFIX]
    if source:
        return [f"{DRONES_PREFIX}{source}/" + (f"{batch}/" if batch else "")]
    return [UPLOADS_PREFIX, DRONES_PREFIX]


def in_window(modified: datetime, since: str | None, until: str | None) -> bool:
    """`modified` is S3's LastModified (aware); bounds are ISO 8601 UTC strings."""
    if since and modified < parse_time(since):
        return False
    return not (until and modified >= parse_time(until))


def notification(
    bucket: str,
    key: str,
    size: int,
    etag: str,
    modified: datetime,
    version_id: str | None = None,
    uploaded_at: str | None = None,
) -> str:
    """An S3 ObjectCreated notification as S3 would send it (key URL-encoded). `uploaded_at` (the
    upload event's time, with milliseconds) stands in for `modified` (S3's LastModified, whole
    seconds); `version_id` names the object version, which the classify function then reads."""
    obj: dict[str, object] = {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag}
    if version_id:
        obj["versionId"] = version_id
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "eventTime": uploaded_at or modified.isoformat().replace("+00:00", "Z"),
                    "userIdentity": {"principalId": "spotter-reprocess"},
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                        "object": obj,
                    },
                }
            ]
        }
    )


def matching_objects(
    folder: Folder, source: str | None, batch: str | None, since: str | None = None, until: str | None = None
) -> list[ListedObject]:
    """The stored images a reprocess of (source, batch, since, until) covers."""
    return [
        ListedObject(key, size, etag, modified)
        for prefix in prefixes_for(source, batch)
        for key, size, etag, modified in folder.list(prefix)
        if in_window(modified, since, until)
    ]


def already_classified(records: RecordReader, bucket: str, model: str, matched: list[ListedObject]) -> set[str]:
    """Keys whose record from `model` exists and was made from the object's current ETag: classifying
    them again under the same model version cannot change the answer."""
    by_id = {object_id_for(bucket, obj.key): obj for obj in matched}
    etags = records.current(list(by_id), model)
    return {
        by_id[object_id].key
        for object_id, etag in etags.items()
        if object_id in by_id and (etag or "").strip('"') == (by_id[object_id].etag or "").strip('"')
    }


def with_recorded_uploads(records: RecordReader, bucket: str, matched: list[ListedObject]) -> list[ListedObject]:
    """`matched` with each object's version id and millisecond upload time, from a record (of any model
    version) made from the content now stored (the same ETag): a reprocess then describes the same
    upload as the first record did, so a time window finds every model's record of an image. Of several
    such records the latest upload wins (a re-upload of the same bytes is a newer version; a record an
    older reprocess made has its time cut to whole seconds, which sorts before the true one). An object
    with no such record keeps S3's listing (its LastModified, and the version GetObject reads)."""
    by_id = {object_id_for(bucket, obj.key): obj for obj in matched}
    found = records.uploads(list(by_id))
    enriched = []
    for object_id, obj in by_id.items():
        same = [
            u
            for u in found.get(object_id, [])
            if u.uploaded_at and (u.etag or "").strip('"') == (obj.etag or "").strip('"')
        ]
        if not same:
            enriched.append(obj)
            continue
        latest = max(same, key=lambda u: (u.uploaded_at or "", u.version_id is not None))
        enriched.append(replace(obj, version_id=latest.version_id, uploaded_at=latest.uploaded_at))
    return enriched


def queue_for_classification(queue: Queue, bucket: str, objects: list[ListedObject]) -> int:
    """One S3 notification per object on the classify queue, sent `SQS_BATCH` at a time; how many."""
    bodies = [
        notification(bucket, obj.key, obj.size, obj.etag, obj.modified, obj.version_id, obj.uploaded_at)
        for obj in objects
    ]
    for start in range(0, len(bodies), SQS_BATCH):
        queue.send(bodies[start : start + SQS_BATCH])
    return len(bodies)
