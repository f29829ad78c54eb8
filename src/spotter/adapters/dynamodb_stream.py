"""The predictions table's change stream (NEW_AND_OLD_IMAGES) as copy changes: a batch Lambda hands the
copy function (`changes_from_stream`), or what came since a kept position (`TableStream`, `spotter sql`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from spotter.records import is_tombstone_item
from spotter.results.parquet_copy import Change
from spotter.results.stream_position import ShardMark, StreamGap, StreamPosition


def _plain_image(image: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer  # here: a repeat `spotter sql` with nothing new never loads boto3

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in image.items()}


def changes_from_stream(event: dict[str, Any]) -> list[Change]:
    """Each stream record as the changes it makes to the day files: a put in its (new) upload day, and
    a removal from its old day when the upload day moved (a re-upload) or the item was deleted."""
    from spotter.adapters.dynamodb import from_item

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


# A stream keeps 24 hours of changes; a position older than this may have lost some to trimming.
TRUSTED_AGE_S = 23 * 3600
_GAP_ERRORS = {
    "TrimmedDataAccessException": "the stream no longer holds the changes since the last run (trimmed)",
    "ExpiredIteratorException": "the stream's iterator expired",
    "ResourceNotFoundException": "the table's stream is gone",
    "AccessDeniedException": "these credentials may not read the table's stream",
    "AccessDenied": "these credentials may not read the table's stream",
    "UnrecognizedClientException": "these credentials may not read the table's stream",
}


class TableStream:
    """The table's change stream (NEW_AND_OLD_IMAGES), read from a kept position to its end.

    `position()` reads every shard to its end (the first run, or after a gap); `since(position)` reads
    what came after `position`, shard by shard, parents before children. Either raises StreamGap
    when it cannot prove that it saw every change (see spotter.results.stream_position)."""

    def __init__(self, streams: Any, arn: str) -> None:
        self.streams, self.arn = streams, arn

    @classmethod
    def of_table(cls, dynamodb: Any, table_name: str) -> TableStream | None:
        """The stream of the table (`dynamodb`: a botocore DynamoDB client), or None when it has none
        with both images."""
        from spotter.adapters.aws import low_level_client

        description = dynamodb.describe_table(TableName=table_name)["Table"]
        spec = description.get("StreamSpecification") or {}
        arn = description.get("LatestStreamArn")
        if not arn or not spec.get("StreamEnabled") or spec.get("StreamViewType") != "NEW_AND_OLD_IMAGES":
            return None
        meta = dynamodb.meta
        endpoint = meta.endpoint_url if "amazonaws.com" not in meta.endpoint_url else None
        return cls(low_level_client("dynamodbstreams", meta.region_name, endpoint), arn)

    def position(self) -> StreamPosition:
        """Where the stream ends now, without reading what it holds: each open shard's latest
        iterator (an iterator expires after 15 minutes; the first change read gives a sequence
        number, which lasts as long as the stream keeps it), each closed shard at its end."""
        taken_at = time.time()
        marks: dict[str, ShardMark] = {}
        for shard in self._shards():
            ending = shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber")
            if ending:
                marks[shard["ShardId"]] = ShardMark(_first(shard), str(ending))
                continue
            with _gaps():
                iterator = self.streams.get_shard_iterator(
                    StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
                )["ShardIterator"]
            marks[shard["ShardId"]] = ShardMark(_first(shard), iterator=iterator)
        return StreamPosition(self.arn, taken_at, marks)

    def since(self, position: StreamPosition) -> tuple[list[Change], StreamPosition]:
        if position.stream != self.arn:
            raise StreamGap(
                "the table's stream is another one than at the last run (a re-created table or a restarted local stack)"
            )
        taken_at = time.time()
        if taken_at - position.taken_at > TRUSTED_AGE_S:
            raise StreamGap("the last run was over 23 hours ago, and the stream keeps 24")
        if position.taken_at > taken_at + 60:
            raise StreamGap("the kept position is dated in the future (a clock changed, or the cache was edited)")
        shards = self._shards()
        listed = {shard["ShardId"]: shard for shard in shards}
        for shard_id, mark in position.shards.items():
            shard = listed.get(shard_id)
            if shard is None:
                raise StreamGap(f"the stream no longer lists shard {shard_id} (trimmed)")
            if mark.iterator and not mark.last:
                continue  # an iterator past what the stream still holds fails to read: a gap, then
            if _first(shard) != mark.first and not (mark.last and int(_first(shard)) <= int(mark.last) + 1):
                raise StreamGap(f"the stream no longer holds every change of shard {shard_id} since the last run")
        known = set(position.shards)
        records: list[dict[str, Any]] = []
        marks: dict[str, ShardMark] = {}
        for shard in shards:
            shard_id, parent = shard["ShardId"], shard.get("ParentShardId")
            if shard_id not in known:
                if parent not in known:
                    raise StreamGap(f"shard {shard_id} of the stream is neither known nor a child of one that is")
                known.add(shard_id)  # a shard begun since: read whole, after its parent
            mark = position.shards.get(shard_id, ShardMark(_first(shard)))
            read, iterator = self._read(shard_id, mark)
            records.extend(read)
            last = read[-1]["dynamodb"]["SequenceNumber"] if read else mark.last
            marks[shard_id] = ShardMark(_first(shard), last, "" if last else iterator)
        return changes_from_stream({"Records": records}), StreamPosition(self.arn, taken_at, marks)

    def _shards(self) -> list[dict[str, Any]]:
        """Every shard of the stream, each after its parent."""
        shards: list[dict[str, Any]] = []
        args: dict[str, Any] = {"StreamArn": self.arn}
        while True:
            with _gaps():
                description = self.streams.describe_stream(**args)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            if not description.get("LastEvaluatedShardId"):
                break
            args["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]
        ordered: list[dict[str, Any]] = []
        pending = {shard["ShardId"]: shard for shard in shards}
        while pending:
            ready = [s for s in pending.values() if s.get("ParentShardId") not in pending]
            for shard in sorted(ready, key=lambda s: s["ShardId"]):
                ordered.append(pending.pop(shard["ShardId"]))
        return ordered

    def _read(self, shard_id: str, mark: ShardMark) -> tuple[list[dict[str, Any]], str]:
        """The shard's records after `mark` (its last sequence number, else its iterator, else from the
        oldest it holds) to its end: a closed shard's last page, or an open shard's first empty one;
        and the iterator where that left off ("" at a closed shard's end)."""
        args: dict[str, Any] = {"StreamArn": self.arn, "ShardId": shard_id}
        iterator = mark.iterator
        if mark.last:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=mark.last)
        else:
            args.update(ShardIteratorType="TRIM_HORIZON")
        if mark.last or not iterator:
            with _gaps():
                iterator = self.streams.get_shard_iterator(**args).get("ShardIterator", "")
        records: list[dict[str, Any]] = []
        while iterator:
            with _gaps():
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            records.extend(page.get("Records", []))
            following = page.get("NextShardIterator", "")
            if not page.get("Records"):
                return records, following
            iterator = following
        return records, ""


def _first(shard: dict[str, Any]) -> str:
    return str(shard.get("SequenceNumberRange", {}).get("StartingSequenceNumber", ""))


@contextmanager
def _gaps() -> Iterator[None]:
    """A stream read that fails as a stream can (trimmed, expired, no such stream, no permission, or
    an endpoint that does not serve streams) is a gap: the caller checks every day instead."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise StreamGap(_GAP_ERRORS.get(code, f"the stream could not be read ({code or exc})")) from exc
    except BotoCoreError as exc:
        raise StreamGap(f"the stream could not be read ({exc})") from exc
