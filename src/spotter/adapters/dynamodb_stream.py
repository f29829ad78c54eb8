"""Read a DynamoDB stream batch (NEW_AND_OLD_IMAGES) of the predictions table as copy changes."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from spotter.adapters.dynamodb import from_item
from spotter.records import is_tombstone_item
from spotter.results.parquet_copy import Change

_deserializer = TypeDeserializer()


def _plain_image(image: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in image.items()}


def changes_from_stream(event: dict[str, Any]) -> list[Change]:
    """Each stream record as the changes it makes to the day files: a put in its (new) upload day, and
    a removal from its old day when the upload day moved (a re-upload) or the item was deleted."""
    changes: list[Change] = []
    for entry in event.get("Records", []):
        stream = entry.get("dynamodb", {})
        old = _plain_image(stream["OldImage"]) if stream.get("OldImage") else None
        new = _plain_image(stream["NewImage"]) if stream.get("NewImage") else None
        if is_tombstone_item(old or new or {}):
            continue  # a deleted batch's tombstone: not a record, nothing to copy
        if old is not None and (new is None or old.get("upload_day") != new.get("upload_day")):
            changes.append(
                Change(
                    day=str(old.get("upload_day") or str(old["uploaded_at"])[:10]),
                    object_id=str(old["object_id"]),
                    model=str(old["model"]),
                )
            )
        if new is not None:
            record = from_item(new)
            changes.append(Change(day=record.upload_day, object_id=record.object_id, model=record.model, record=record))
    return changes
