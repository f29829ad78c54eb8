"""In-memory implementations of every port in `spotter.ports`, for unit tests of the use cases
without moto. Each keeps what it was given in plain attributes the tests read."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from spotter.errors import ObjectMissing
from spotter.ports import ListedObject, ObjectHead, QueuedMessage, StoredObject
from spotter.records import PredictionRecord, replaces, sequence_key
from spotter.results.query import PredictionQuery


class PlatformError(Exception):
    """What a fake raises for an outage: not a rejection, so the message is retried."""


@dataclass
class FakeObjects:
    """ObjectReader: objects by (bucket, key); `failing` keys raise a platform error."""

    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    metadata: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    reads: list[str] = field(default_factory=list)
    discarded: list[tuple[str, str | None]] = field(default_factory=list)

    def discard(self, bucket: str, key: str, version_id: str | None) -> None:
        self.discarded.append((key, version_id))
        self.objects.pop((bucket, key), None)

    def read(self, bucket: str, key: str, max_bytes: int, version_id: str | None = None) -> StoredObject:
        self.reads.append(key)
        if key in self.failing:
            raise PlatformError(f"S3 is down for {key}")
        if (bucket, key) not in self.objects:
            raise ObjectMissing(f"s3://{bucket}/{key}")
        data = self.objects[bucket, key]
        return StoredObject(
            data=data[: max_bytes + 1], size=len(data), etag="etag-" + key, metadata=self.metadata.get((bucket, key))
        )


@dataclass
class FakePredictions:
    """PredictionStore with the conditional write: the newer event (`records.replaces`) wins."""

    records: dict[tuple[str, str], PredictionRecord] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)

    def put(self, record: PredictionRecord) -> bool:
        if record.key in self.failing:
            raise PlatformError(f"DynamoDB is down for {record.key}")
        stored = self.records.get((record.object_id, record.model))
        new = sequence_key(record.sequencer, record.uploaded_at)
        old = sequence_key(stored.sequencer, stored.uploaded_at) if stored is not None else ""
        if stored is not None and not replaces(
            new, old, record.uploaded_at, stored.uploaded_at, record.etag, stored.etag
        ):
            return False
        self.records[record.object_id, record.model] = record
        return True

    def get(self, object_id: str, model: str) -> PredictionRecord | None:
        return self.records.get((object_id, model))

    def set_truth(self, object_id: str, model: str, truth: str | None) -> bool:
        stored = self.records.get((object_id, model))
        if stored is None:
            return False
        stored.truth = truth
        return True


def _matches(query: PredictionQuery, record: PredictionRecord) -> bool:
    prefix = query.key_prefix
    return (
        (prefix is None or record.key.startswith(prefix))
        and (query.source is None or record.source == query.source)
        and all(getattr(query, name) in (None, getattr(record, name)) for name in ("label", "status", "model"))
        and (query.min_score is None or (record.score is not None and record.score >= query.min_score))
    )


@dataclass
class FakeQueries:
    """PredictionQueries over a list of records; the cursor is an offset, pages are `query.limit` long."""

    records: list[PredictionRecord] = field(default_factory=list)
    calls: int = 0

    def query(self, query: PredictionQuery) -> tuple[list[PredictionRecord], str | None]:
        self.calls += 1
        found = [r for r in self.records if _matches(query, r)]
        start = int(query.cursor or 0)
        end = start + query.limit
        return found[start:end], (str(end) if end < len(found) else None)

    def exists(self, field_name: str, value: str) -> bool:
        return any(getattr(r, field_name) == value for r in self.records)

    def known_values(self, field_name: str, max_items: int = 5000) -> tuple[list[str], bool]:
        return sorted({getattr(r, field_name) for r in self.records if getattr(r, field_name)}), True


@dataclass
class FakeRecordReader:
    """RecordReader: object id -> ETag of its record, for one model."""

    etags: dict[tuple[str, str], str] = field(default_factory=dict)
    recorded: dict[str, list] = field(default_factory=dict)  # object id -> RecordedUpload of each record

    def current(self, object_ids, model: str) -> dict[str, str | None]:
        return {i: self.etags[i, model] for i in object_ids if (i, model) in self.etags}

    def uploads(self, object_ids) -> dict:
        return {i: self.recorded[i] for i in object_ids if i in self.recorded}


@dataclass
class FakeRemover:
    deleted: list[PredictionRecord] = field(default_factory=list)
    table: list[PredictionRecord] = field(default_factory=list)  # what a consistent read by key finds

    def delete(self, records) -> int:
        records = list(records)
        self.deleted.extend(records)
        gone = {(r.object_id, r.model) for r in records}
        self.table = [r for r in self.table if (r.object_id, r.model) not in gone]
        return len(records)

    def delete_of_objects(self, object_ids) -> int:
        ids = set(object_ids)
        swept = [r for r in self.table if r.object_id in ids]
        return self.delete(swept)


@dataclass
class FakeTombstones:
    deleted: list[str] = field(default_factory=list)

    def mark(self, batch: str) -> None:
        self.deleted.append(batch)

    def is_deleted(self, batch: str) -> bool:
        return batch in self.deleted


@dataclass
class FakeBatchObjects:
    versions: dict[str, int] = field(default_factory=dict)  # key -> stored versions
    bucket: str = "bucket"
    deleted_prefixes: list[str] = field(default_factory=list)

    def object_ids_under(self, prefix: str) -> set[str]:
        from spotter.records import object_id_for

        return {object_id_for(self.bucket, k) for k in self.versions if k.startswith(prefix)}

    def delete_prefix(self, prefix: str) -> int:
        self.deleted_prefixes.append(prefix)
        gone = [k for k in self.versions if k.startswith(prefix)]
        return sum(self.versions.pop(k) for k in gone)


@dataclass
class FakePresigner:
    bucket: str = "bucket"
    forms: list[dict] = field(default_factory=list)

    def upload_form(
        self, key: str, content_type: str, max_bytes: int, expires_s: int, metadata: dict[str, str] | None = None
    ) -> dict:
        form = {
            "url": f"https://{self.bucket}.example/",
            "fields": {"key": key, "Content-Type": content_type, **(metadata or {})},
        }
        self.forms.append({"key": key, "type": content_type, "max": max_bytes, "ttl": expires_s})
        return form

    def view_url(self, key: str, expires_s: int, content_type: str) -> str:
        return f"https://{self.bucket}.example/{key}?type={content_type}&ttl={expires_s}"


@dataclass
class FakeFolder:
    """Folder: key -> ListedObject; uploads are recorded and become listable."""

    objects: dict[str, ListedObject] = field(default_factory=dict)
    uploaded: list[tuple[Path, str, str]] = field(default_factory=list)

    def add(self, key: str, size: int, etag: str, modified: datetime) -> None:
        self.objects[key] = ListedObject(key, size, etag, modified)

    def list(self, prefix: str):
        for key in sorted(self.objects):
            if key.startswith(prefix):
                obj = self.objects[key]
                yield obj.key, obj.size, obj.etag, obj.modified

    def upload(self, path: Path, key: str, content_type: str, multipart_threshold: int, chunk_size: int) -> None:
        self.uploaded.append((path, key, content_type))


@dataclass
class FakeInspector:
    """ObjectInspector: (bucket, key) -> ObjectHead; anything else does not exist."""

    heads: dict[tuple[str, str], ObjectHead] = field(default_factory=dict)

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        return self.heads.get((bucket, key))


@dataclass
class FakeQueue:
    """Queue: every body sent, and each call's batch."""

    sent: list[str] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)

    def send(self, bodies: list[str]) -> None:
        self.batches.append(list(bodies))
        self.sent.extend(bodies)


@dataclass
class FakeDeadLetters:
    """DeadLetterQueue: messages in, and what became of each (deleted, released)."""

    messages: list[QueuedMessage] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=itertools.count)

    def add(self, body: str, receive_count: int = 5) -> QueuedMessage:
        n = next(self._ids)
        message = QueuedMessage(message_id=f"m{n}", body=body, receipt=f"r{n}", receive_count=receive_count)
        self.messages.append(message)
        return message

    def receive_all(self, hold_s: int) -> list[QueuedMessage]:
        return [m for m in self.messages if m.message_id not in self.deleted]

    def delete(self, message: QueuedMessage) -> None:
        self.deleted.append(message.message_id)

    def release(self, message: QueuedMessage) -> None:
        self.released.append(message.message_id)
