"""The local stack's durable state: what moto holds in memory, kept in the state folder.

moto 5 has no persistence of its own. This module runs inside the moto server process and keeps,
in `STATE/data.sqlite3` (and `STATE/blobs/` for object bodies):

- every S3 object version (bytes, ETag, version id, last-modified, metadata such as Content-Type),
- every DynamoDB item of every table (the records),
- every SQS message still in a queue (body, attributes, send time, receive count), dead-letter
  queue included.

How: moto's backend methods that mutate (S3 put/copy/complete-multipart/delete, DynamoDB
put/update/delete item, SQS add/delete/receive/purge) are wrapped to note *which* object, item or
message a request touched. When the request's handler has run, and before its response goes back,
a WSGI middleware reads the current state of what was touched from moto and writes it to SQLite
in one transaction. So an acknowledged request is on disk, and an upload's object and the S3 -> SQS
notification it caused are committed together. Writing the state (not a log of requests) makes the
file converge on moto's memory whatever order concurrent requests finish in, and keeps its size
proportional to the data, not to the history.

A request whose changes cannot be written (a full disk, a read-only folder) fails (500) and leaves
no trace: `Store.rollback` puts back in moto each object, item and message it touched as the state
folder holds it. The messages a request sends (an upload's S3 notification, a dead-letter move) are
queued in moto only after its transaction commits, so no receiver ever gets one that was not written.

At start the stack creates the template's resources in a fresh moto, then asks this process
(`POST /_spotter/restore`) to load the saved state back into them, directly into moto's backends:
no S3 notification fires again, message ids, version ids and ETags are kept. Messages come back
visible: work that was in flight when the stack died is delivered again, and the records it may
already have written are keyed by object and model, so redoing it leaves one record.

SQLite runs in WAL mode with synchronous=NORMAL: a committed transaction survives the death of any
process (kill -9 included); a power cut or OS crash may lose the last moments.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar, overload

from spotter.config import full_disk_flag

if TYPE_CHECKING:  # moto is imported inside the moto process only (it is slow to import)
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.s3.models import FakeBucket, FakeDeleteMarker, FakeKey, S3Backend
    from moto.sqs.models import Message, Queue, SQSBackend

log = logging.getLogger(__name__)

DB_NAME = "data.sqlite3"
BLOBS = "blobs"
SCHEMA = """
CREATE TABLE IF NOT EXISTS s3_objects (
    account TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, position INTEGER NOT NULL,
    version_id TEXT NOT NULL, blob TEXT, etag TEXT, size INTEGER, last_modified TEXT, metadata TEXT,
    storage TEXT, checksum TEXT, delete_marker INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, bucket, key, position)
);
CREATE TABLE IF NOT EXISTS ddb_items (
    account TEXT NOT NULL, region TEXT NOT NULL, tbl TEXT NOT NULL, pk TEXT NOT NULL, sk TEXT NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (account, region, tbl, pk, sk)
);
CREATE TABLE IF NOT EXISTS sqs_messages (
    id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, queue TEXT NOT NULL, body TEXT NOT NULL,
    message_attributes TEXT, system_attributes TEXT, sent_ms INTEGER, receive_count INTEGER NOT NULL DEFAULT 0
);
"""


@overload
def connect(state_dir: Path, readonly: Literal[False] = False) -> sqlite3.Connection: ...
@overload
def connect(state_dir: Path, readonly: bool) -> sqlite3.Connection | None: ...
def connect(state_dir: Path, readonly: bool = False) -> sqlite3.Connection | None:
    """The state database; None only when `readonly` and there is none yet."""
    path = Path(state_dir) / DB_NAME
    if readonly:
        if not path.exists():
            return None
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        return db
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    return db


class Summary(TypedDict):
    objects: dict[str, int]  # bucket -> objects (delete markers not counted)
    items: dict[str, int]  # table -> items
    messages: dict[str, int]  # queue -> messages
    bytes: int  # object bodies on disk


def summary(state_dir: Path) -> Summary:
    """What the state folder holds, read without moto: objects per bucket, items per table, messages
    per queue. Empty dicts when there is no state yet."""
    found: Summary = {"objects": {}, "items": {}, "messages": {}, "bytes": 0}
    db = connect(state_dir, readonly=True)
    if db is None:
        return found
    try:
        found["objects"] = dict(
            db.execute("SELECT bucket, COUNT(DISTINCT key) FROM s3_objects WHERE delete_marker = 0 GROUP BY bucket")
        )
        found["items"] = dict(db.execute("SELECT tbl, COUNT(*) FROM ddb_items GROUP BY tbl"))
        found["messages"] = dict(db.execute("SELECT queue, COUNT(*) FROM sqs_messages GROUP BY queue"))
    except sqlite3.DatabaseError:  # a folder from before persistence, or a damaged file: say so, do not guess
        raise
    finally:
        db.close()
    blobs = Path(state_dir) / BLOBS
    if blobs.is_dir():
        found["bytes"] = sum(f.stat().st_size for f in blobs.rglob("*") if f.is_file())
    return found


def data_paths(state_dir: Path) -> list[Path]:
    """The files and folders that hold the local data (what `spotter up --reset` deletes)."""
    state_dir = Path(state_dir)
    names = [DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", BLOBS]
    return [state_dir / name for name in names if (state_dir / name).exists()]


# ---- inside the moto process ----------------------------------------------------------------------

_local = threading.local()
_deliver: Callable[[Queue, Message], None] | None = None  # moto's own Queue.add_message (set by install_hooks)


def _check_disk() -> None:
    flag = full_disk_flag()
    if flag and os.path.exists(flag):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _Touched:
    def __init__(self) -> None:
        self.s3: set[tuple[S3Backend, str, str]] = set()  # (backend, bucket, key)
        self.ddb: set[tuple[DynamoDBBackend, str, str, str]] = set()  # (backend, table, hash json, range json)
        self.sqs: dict[tuple[str, str], tuple[SQSBackend, set[str]]] = {}  # (account, region) -> (backend, ids)
        # messages the request sent (an S3 notification, a dead-letter move): queued only once committed
        self.pending: list[tuple[Queue, Message]] = []
        self.reset = False

    def __bool__(self) -> bool:
        return bool(self.s3 or self.ddb or self.sqs or self.reset)


def _touched() -> _Touched | None:
    return getattr(_local, "touched", None)


def _key_json(value: DynamoType | None) -> str:
    return json.dumps(value.to_json() if value is not None else None, sort_keys=True)


class Restored(TypedDict):
    """What `Store.restore` loaded (per bucket, table, queue) and what it could not."""

    objects: dict[str, int]
    items: dict[str, int]
    messages: dict[str, int]
    orphaned: list[str]  # saved for a bucket, table or queue the template no longer has
    missing: list[str]  # objects whose bytes are gone from blobs/
    retired: int  # items of tables the template dropped on purpose, deleted from the state folder


class Store:
    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir)
        self.blobs = self.state_dir / BLOBS
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.db = connect(self.state_dir)  # not read-only: never None
        self.lock = threading.RLock()

    # -- writing ---------------------------------------------------------------------------------
    def _blob(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.blobs / digest[:2] / digest
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            tmp = path.with_name(f"{digest}.{threading.get_ident()}.tmp")
            try:
                _check_disk()
                tmp.write_bytes(data)
                os.replace(tmp, path)  # a blob is whole or absent
            except BaseException:
                tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
                raise
        return digest

    def sync(self, touched: _Touched) -> None:
        """Write the current state of everything `touched` names; one transaction. Then queue the
        messages the request sent: no receiver sees a message before it is on disk."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if touched.reset:
                    for table in ("s3_objects", "ddb_items", "sqs_messages"):
                        self.db.execute(f"DELETE FROM {table}")  # nosec B608: fixed names
                for s3, bucket_name, key_name in touched.s3:
                    self._sync_object(s3, bucket_name, key_name)
                for dynamodb, table_name, pk, sk in touched.ddb:
                    self._sync_item(dynamodb, table_name, pk, sk)
                for (account, region), (sqs, ids) in touched.sqs.items():
                    self._sync_messages(account, region, sqs, ids, touched.pending)
                _check_disk()
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            pending, touched.pending = touched.pending, []
            for queue, message in pending:
                _queue_now(queue, message)

    def rollback(self, touched: _Touched) -> None:
        """Put back in moto what a request whose changes could not be written changed: each object,
        item and message it touched as the state folder holds it (absent when it holds none), and
        drop the messages it sent. So a request that failed leaves no trace (a reset is not undone)."""
        from moto.dynamodb.models.dynamo_type import DynamoType

        with self.lock:
            touched.pending = []
            for s3, bucket_name, key_name in touched.s3:
                bucket = s3.buckets.get(bucket_name)
                if bucket is None:
                    continue
                rows = self.db.execute(
                    "SELECT account, bucket, key, position, version_id, blob, etag, last_modified, metadata, storage,"
                    " checksum, delete_marker FROM s3_objects WHERE account = ? AND bucket = ? AND key = ?"
                    " ORDER BY position",
                    (s3.account_id, bucket_name, key_name),
                ).fetchall()
                keys = self._versions(s3, bucket, key_name, rows, [])
                if keys:
                    bucket.keys.setlist(key_name, keys)
                elif key_name in bucket.keys:
                    bucket.keys.pop(key_name)
            for dynamodb, table_name, pk, sk in touched.ddb:
                table = dynamodb.tables.get(table_name)
                if table is None:
                    continue
                saved = self.db.execute(
                    "SELECT item FROM ddb_items WHERE account = ? AND region = ? AND tbl = ? AND pk = ? AND sk = ?",
                    (dynamodb.account_id, dynamodb.region_name, table_name, pk, sk),
                ).fetchone()
                if saved is not None:
                    table.put_item(json.loads(saved[0]), overwrite=True)
                else:
                    range_json = json.loads(sk)
                    table.delete_item(DynamoType(json.loads(pk)), DynamoType(range_json) if range_json else None)
            for sqs, ids in touched.sqs.values():
                self._rollback_messages(sqs, ids)

    def _rollback_messages(self, backend: SQSBackend, ids: set[str]) -> None:
        from moto.sqs.models import Message

        held: dict[str, tuple[Queue | None, Message | None]] = {}
        for each in list(backend.queues.values()):
            for kept in list(each._messages):
                if kept.id in ids:
                    held[kept.id] = (each, kept)
        for message_id in ids:
            saved = self.db.execute(
                "SELECT queue, body, message_attributes, system_attributes, sent_ms, receive_count"
                " FROM sqs_messages WHERE id = ?",
                (message_id,),
            ).fetchone()
            queue, message = held.get(message_id, (None, None))
            if queue is not None and message is not None and (saved is None or queue.name != saved[0]):
                with queue._messages_lock:  # never acknowledged (or not in this queue): gone from it
                    queue._messages.remove(message)
                queue.pending_messages.discard(message)
                message = None
            if saved is None:
                continue
            queue_name, body, message_attributes, system_attributes, sent_ms, receive_count = saved
            home = backend.queues.get(queue_name)
            if home is None:
                continue
            if message is None:  # deleted, or moved to the dead-letter queue, by the failed request
                message = Message(message_id, body, json.loads(system_attributes or "{}"))
                message.message_attributes = json.loads(message_attributes or "{}")
                message.sent_timestamp = sent_ms
                _queue_now(home, message)
            message.approximate_receive_count = receive_count  # a failed receive: visible again, not counted
            message.visible_at = 0.0
            home.pending_messages.discard(message)

    def _sync_object(self, backend: S3Backend, bucket_name: str, key_name: str) -> None:
        from moto.s3.models import FakeKey

        account = backend.account_id
        where = (account, bucket_name, key_name)
        saved = {
            (version, etag): blob
            for version, etag, blob in self.db.execute(
                "SELECT version_id, etag, blob FROM s3_objects WHERE account = ? AND bucket = ? AND key = ?", where
            )
        }
        self.db.execute("DELETE FROM s3_objects WHERE account = ? AND bucket = ? AND key = ?", where)
        bucket = backend.buckets.get(bucket_name)
        if bucket is None:
            return
        for position, version in enumerate(bucket.keys.getlist(key_name, [])):
            if not isinstance(version, FakeKey):  # a delete marker (versioned bucket)
                self.db.execute(
                    "INSERT INTO s3_objects (account, bucket, key, position, version_id, delete_marker, last_modified)"
                    " VALUES (?, ?, ?, ?, ?, 1, ?)",
                    (account, bucket_name, key_name, position, str(version.version_id), _iso(version.last_modified)),
                )
                continue
            checksum = {
                "algorithm": version.checksum_algorithm,
                "value": version.checksum_value,
                "type": version.checksum_type,
            }
            etag = version.etag.strip('"')
            blob = saved.get((str(version.version_id), etag))  # an older version kept already: not read again
            if blob is None or not (self.blobs / blob[:2] / blob).exists():
                blob = self._blob(version.value)
            self.db.execute(
                "INSERT INTO s3_objects (account, bucket, key, position, version_id, blob, etag, size, last_modified,"
                " metadata, storage, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    account,
                    bucket_name,
                    key_name,
                    position,
                    str(version.version_id),
                    blob,
                    etag,
                    version.size,
                    _iso(version.last_modified),
                    json.dumps(dict(version.metadata)),
                    version.storage_class,
                    json.dumps(checksum),
                ),
            )

    def _sync_item(self, backend: DynamoDBBackend, table_name: str, pk: str, sk: str) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        where = (backend.account_id, backend.region_name, table_name, pk, sk)
        table = backend.tables.get(table_name)
        item = None
        if table is not None:
            range_json = json.loads(sk)
            item = table.get_item(DynamoType(json.loads(pk)), DynamoType(range_json) if range_json else None)
        if item is None:
            self.db.execute(
                "DELETE FROM ddb_items WHERE account = ? AND region = ? AND tbl = ? AND pk = ? AND sk = ?", where
            )
        else:
            self.db.execute(
                "INSERT OR REPLACE INTO ddb_items (account, region, tbl, pk, sk, item) VALUES (?, ?, ?, ?, ?, ?)",
                (*where, json.dumps(item.to_json()["Attributes"])),
            )

    def _sync_messages(
        self, account: str, region: str, backend: SQSBackend, ids: set[str], pending: list[tuple[Queue, Message]]
    ) -> None:
        present = {}
        for queue in list(backend.queues.values()):
            for message in list(queue._messages):
                if message.id in ids:
                    present[message.id] = (queue.name, message)
        for queue, message in pending:
            if queue.account_id == account and queue.region == region:
                present[message.id] = (queue.name, message)
        for message_id in ids:
            if message_id not in present:
                self.db.execute("DELETE FROM sqs_messages WHERE id = ?", (message_id,))
        for message_id, (queue_name, m) in present.items():
            self.db.execute(
                "INSERT OR REPLACE INTO sqs_messages (id, account, region, queue, body, message_attributes,"
                " system_attributes, sent_ms, receive_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message_id,
                    account,
                    region,
                    queue_name,
                    m.body,
                    json.dumps(m.message_attributes or {}),
                    json.dumps(m.system_attributes or {}),
                    m.sent_timestamp,
                    m.approximate_receive_count,
                ),
            )

    # -- reading back ----------------------------------------------------------------------------
    def restore(self, retired_tables: tuple[str, ...] = ()) -> Restored:
        """Load the saved state into moto's (freshly created) resources. Returns what was loaded and
        what had nowhere to go (a bucket, table or queue the template no longer has). The items of
        `retired_tables` (tables removed from the template on purpose) are deleted, not kept."""
        from moto.dynamodb.models import dynamodb_backends
        from moto.s3.models import FakeKey, s3_backends
        from moto.sqs.models import Message, sqs_backends

        loaded: Restored = {
            "objects": {},
            "items": {},
            "messages": {},
            "orphaned": [],
            "missing": [],
            "retired": 0,
        }
        with self.lock:
            _local.touched = None  # nothing below is a client's request
            rows = self.db.execute(
                "SELECT account, bucket, key, position, version_id, blob, etag, last_modified, metadata, storage, checksum,"
                " delete_marker FROM s3_objects ORDER BY account, bucket, key, position"
            ).fetchall()
            versions: dict[tuple[str, str, str], list[Any]] = {}
            for row in rows:
                versions.setdefault(row[:3], []).append(row)
            for (account, bucket_name, key_name), found in versions.items():
                backend = s3_backends[account]["aws"]
                bucket = backend.buckets.get(bucket_name)
                if bucket is None:
                    loaded["orphaned"].append(f"s3://{bucket_name}/{key_name}")
                    continue
                keys = self._versions(backend, bucket, key_name, found, loaded["missing"])
                if not keys:
                    continue
                bucket.keys.setlist(key_name, keys)
                if not isinstance(keys[-1], FakeKey):
                    continue
                loaded["objects"][bucket_name] = loaded["objects"].get(bucket_name, 0) + 1

            for account, region, table_name, count in self.db.execute(
                "SELECT account, region, tbl, COUNT(*) FROM ddb_items GROUP BY account, region, tbl"
            ).fetchall():
                if table_name in retired_tables and table_name not in dynamodb_backends[account][region].tables:
                    where = (account, region, table_name)
                    self.db.execute("DELETE FROM ddb_items WHERE account = ? AND region = ? AND tbl = ?", where)
                    loaded["retired"] += count
            for account, region, table_name, item in self.db.execute(
                "SELECT account, region, tbl, item FROM ddb_items"
            ).fetchall():
                table = dynamodb_backends[account][region].tables.get(table_name)
                if table is None:
                    loaded["orphaned"].append(f"dynamodb:{table_name}")
                    continue
                table.put_item(json.loads(item), overwrite=True)
                loaded["items"][table_name] = loaded["items"].get(table_name, 0) + 1

            present: dict[str, set[str]] = {}
            for (
                message_id,
                account,
                region,
                queue_name,
                body,
                message_attributes,
                system_attributes,
                sent_ms,
                receive_count,
            ) in self.db.execute(
                "SELECT id, account, region, queue, body, message_attributes, system_attributes, sent_ms, receive_count"
                " FROM sqs_messages ORDER BY sent_ms, rowid"
            ).fetchall():
                queue = sqs_backends[account][region].queues.get(queue_name)
                if queue is None:
                    loaded["orphaned"].append(f"sqs:{queue_name}")
                    continue
                if message_id in present.setdefault(queue_name, {m.id for m in queue._messages}):
                    continue  # sent since this moto started (the notification's s3:TestEvent): already there
                message = Message(message_id, body, json.loads(system_attributes or "{}"))
                message.message_attributes = json.loads(message_attributes or "{}")
                message.sent_timestamp = sent_ms
                message.approximate_receive_count = receive_count  # visible now: in-flight work is redone
                queue._messages.append(message)
                if "s3:TestEvent" not in body[:200]:  # the notification's test message is no work
                    loaded["messages"][queue_name] = loaded["messages"].get(queue_name, 0) + 1
            self._collect_garbage()
        return loaded

    def _versions(
        self, backend: S3Backend, bucket: FakeBucket, key_name: str, found: list[Any], missing: list[str]
    ) -> list[FakeKey | FakeDeleteMarker]:
        """An object's versions as moto holds them, from its saved rows (position order)."""
        from moto.s3.models import FakeDeleteMarker, FakeKey

        keys: list[FakeKey | FakeDeleteMarker] = []
        for _, _, _, _, version_id, blob, etag, modified, metadata, storage, checksum, marker in found:
            if marker:
                if keys:  # a marker stands for the version before it
                    # as moto does: a marker after a marker wraps that marker (only its .name is read)
                    keys.append(FakeDeleteMarker(key=keys[-1]))  # type: ignore[arg-type]
                    keys[-1]._version_id = version_id
                    keys[-1].last_modified = _parse_iso(modified)
                continue
            try:
                value = (self.blobs / blob[:2] / blob).read_bytes()
            except OSError:  # its bytes are gone (an incomplete backup): load the rest, say which
                missing.append(f"s3://{bucket.name}/{key_name}")
                continue
            checksum = json.loads(checksum or "{}")
            key = FakeKey(
                name=key_name,
                value=value,
                account_id=backend.account_id,
                region_name=backend.region_name,
                storage=storage,
                etag=etag,
                is_versioned=bucket.is_versioned,
                version_id=version_id,
                bucket_name=bucket.name,
                checksum_value=checksum.get("value"),
                checksum_type=checksum.get("type"),
            )
            key.checksum_algorithm = checksum.get("algorithm")
            key.set_metadata(json.loads(metadata or "{}"))
            key.last_modified = _parse_iso(modified)
            keys.append(key)
        return keys

    def _collect_garbage(self) -> None:
        """Blobs no object version refers to (a request that died before its commit; a replaced object)."""
        used = {row[0] for row in self.db.execute("SELECT DISTINCT blob FROM s3_objects WHERE blob IS NOT NULL")}
        for path in self.blobs.glob("*/*"):
            if path.name not in used:
                path.unlink(missing_ok=True)


def _queue_now(queue: Queue, message: Message) -> None:
    if _deliver is None:
        queue.add_message(message)
    else:
        _deliver(queue, message)


def _iso(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return str(value)


def _parse_iso(value: str | None) -> datetime:
    from moto.core.utils import utcnow

    if not value:
        return utcnow()
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=None) if parsed.tzinfo else parsed  # moto keeps naive UTC times


# ---- the hooks ------------------------------------------------------------------------------------


_T = TypeVar("_T")
_When = Literal["before", "after"]
_Args = tuple[Any, ...]
_Kwargs = dict[str, Any]
_After = tuple[Any, set[str] | None] | None
# A hook's note on a call to a wrapped moto method: (touched, the backend or queue called, "before" or
# "after", args, kwargs, result); the result is None before the call, (returned, what the note returned
# before the call) after it. Before the call, a note may return the message ids it will need after.
_Note = Callable[
    [_Touched, _T, _When, _Args, _Kwargs, _After],
    set[str] | None,
]


def _wrap(cls: type[_T], name: str, note: _Note[_T]) -> None:
    original = getattr(cls, name)

    def wrapper(self: _T, *args: Any, **kwargs: Any) -> Any:
        touched = _touched()
        if touched is None:
            return original(self, *args, **kwargs)
        before = note(touched, self, "before", args, kwargs, None)
        result = original(self, *args, **kwargs)  # raised: nothing changed (a failed transaction restores its tables)
        note(touched, self, "after", args, kwargs, (result, before))
        return result

    wrapper.__dict__["__wrapped__"] = original  # as functools.wraps would, nothing else copied
    setattr(cls, name, wrapper)


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    """An argument of a wrapped moto method, passed by keyword or by position (None: not passed)."""
    return kwargs[name] if name in kwargs else (args[index] if len(args) > index else None)


def install_hooks() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.s3.models import S3Backend
    from moto.sqs.models import Queue, SQSBackend

    # S3: which keys a request wrote or deleted
    def s3_key(position: int, name: str) -> _Note[S3Backend]:
        def note(
            touched: _Touched, backend: S3Backend, when: _When, args: _Args, kwargs: _Kwargs, result: _After
        ) -> None:
            if when == "after":
                touched.s3.add((backend, _arg(args, kwargs, 0, "bucket_name"), _arg(args, kwargs, position, name)))

        return note

    _wrap(S3Backend, "put_object", s3_key(1, "key_name"))
    _wrap(S3Backend, "delete_object", s3_key(1, "key_name"))

    def s3_copy(
        touched: _Touched, backend: S3Backend, when: _When, args: _Args, kwargs: _Kwargs, result: _After
    ) -> None:
        if when == "after":
            touched.s3.add((backend, _arg(args, kwargs, 1, "dest_bucket_name"), _arg(args, kwargs, 2, "dest_key_name")))

    _wrap(S3Backend, "copy_object", s3_copy)

    # DynamoDB: which items
    def ddb_key(from_item: bool) -> _Note[DynamoDBBackend]:
        def note(
            touched: _Touched, backend: DynamoDBBackend, when: _When, args: _Args, kwargs: _Kwargs, result: _After
        ) -> None:
            if when != "after":
                return
            table_name = _arg(args, kwargs, 0, "table_name")
            attrs = _arg(args, kwargs, 1, "item_attrs" if from_item else "key")
            table = backend.tables.get(table_name)
            if table is None or not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
                return
            hash_value = DynamoType(attrs[table.hash_key_attr])
            range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr in attrs else None
            touched.ddb.add((backend, table_name, _key_json(hash_value), _key_json(range_value)))

        return note

    _wrap(DynamoDBBackend, "put_item", ddb_key(True))
    _wrap(DynamoDBBackend, "update_item", ddb_key(False))
    _wrap(DynamoDBBackend, "delete_item", ddb_key(False))

    # SQS: which messages (added: sends, S3 notifications, dead-letter moves; deleted; received)
    def sqs_backend_of(queue: Queue) -> SQSBackend:
        from moto.sqs.models import sqs_backends

        return sqs_backends[queue.account_id][queue.region]

    def remember(touched: _Touched, account: str, region: str, backend: SQSBackend, ids: set[str]) -> None:
        touched.sqs.setdefault((account, region), (backend, set()))[1].update(ids)

    global _deliver
    add_message = Queue.add_message
    _deliver = add_message

    def add_when_committed(queue: Queue, message: Message) -> None:
        """A message a request sends is queued once the request's changes are on disk (Store.sync):
        a receiver never gets the notification of an upload that then fails (a full disk)."""
        touched = _touched()
        if touched is None or queue.fifo_queue:  # FIFO deduplication reads the queue: not deferred
            add_message(queue, message)
            if touched is None:
                return
        else:
            touched.pending.append((queue, message))
        remember(touched, queue.account_id, queue.region, sqs_backend_of(queue), {message.id})

    add_when_committed.__dict__["__wrapped__"] = add_message

    def queue_delete(
        touched: _Touched, queue: Queue, when: _When, args: _Args, kwargs: _Kwargs, result: _After
    ) -> set[str] | None:
        handle = _arg(args, kwargs, 0, "receipt_handle")
        if when == "before":
            return {m.id for m in queue._messages if m.had_receipt_handle(handle)}
        if result is None or result[1] is None:  # never: "after" gets what "before" returned
            return None
        remember(touched, queue.account_id, queue.region, sqs_backend_of(queue), result[1])
        return None

    def backend_receive(
        touched: _Touched, backend: SQSBackend, when: _When, args: _Args, kwargs: _Kwargs, result: _After
    ) -> None:
        if when == "after" and result is not None:  # after: (what receive_message returned, None)
            remember(touched, backend.account_id, backend.region_name, backend, {m.id for m in result[0]})

    def backend_purge(
        touched: _Touched, backend: SQSBackend, when: _When, args: _Args, kwargs: _Kwargs, result: _After
    ) -> set[str] | None:
        queue = backend.queues.get(_arg(args, kwargs, 0, "queue_name"))
        if when == "before":
            return {m.id for m in queue._messages} if queue else set()
        if result is None or result[1] is None:  # never: "after" gets what "before" returned
            return None
        remember(touched, backend.account_id, backend.region_name, backend, result[1])
        return None

    # moto's Queue leaves some of CloudFormationModel's abstract methods unimplemented (mypy: abstract)
    Queue.add_message = add_when_committed  # type: ignore[method-assign,assignment]
    _wrap(Queue, "delete_message", queue_delete)  # type: ignore[type-abstract]
    _wrap(SQSBackend, "receive_message", backend_receive)
    _wrap(SQSBackend, "purge_queue", backend_purge)


class PersistingApp:
    """WSGI middleware: runs moto's app, then writes what the request touched before answering.
    Also answers the stack's control routes under /_spotter/."""

    def __init__(self, app: WSGIApplication, store: Store):
        self.app = app
        self.store = store
        self.write_failure: dict[str, str] | None = None  # the first failed write since the last good one

    def _write_failed(self, exc: Exception) -> None:
        if self.write_failure is None:  # one line per outage, not one per request
            log.warning("cannot write the state folder %s: %s (requests fail until it can)", self.store.state_dir, exc)
            self.write_failure = {
                "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "error": f"{type(exc).__name__}: {exc}",
            }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_spotter/"):
            return self._control(path, environ, start_response)
        _local.touched = _Touched()
        try:
            if path == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
                _local.touched.reset = True  # moto forgets everything: so does the state folder
            try:
                result = self.app(environ, start_response)
            except BaseException:
                touched = _touched()
                if touched:
                    self.store.rollback(touched)
                raise
            touched = _touched()
            if touched:
                try:
                    self.store.sync(touched)  # before the response leaves: acknowledged means on disk
                except Exception as exc:  # a full disk, a read-only folder: the request fails (500), its
                    self.store.rollback(touched)  # changes are undone in moto too, and /health says so
                    self._write_failed(exc)  # until a write succeeds again
                    raise
                if self.write_failure is not None:
                    log.warning("the state folder takes writes again (after: %s)", self.write_failure["error"])
                    self.write_failure = None
            return result
        finally:
            _local.touched = None

    def _control(self, path: str, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        status: str
        body: Mapping[str, object]
        status, body = "200 OK", {}
        try:
            if path == "/_spotter/restore" and environ.get("REQUEST_METHOD") == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                request = json.loads(environ["wsgi.input"].read(length) or b"{}")
                body = self.store.restore(tuple(request.get("retired_tables", ())))
            elif path == "/_spotter/status":
                body = {
                    "pid": os.getpid(),
                    "state_dir": str(self.store.state_dir.resolve()),
                    "write_failure": self.write_failure,
                }
            else:
                status, body = "404 Not Found", {"message": f"no route {path}"}
        except Exception as exc:  # the stack prints it and stops
            log.exception("control request %s failed", path)
            status, body = "500 Internal Server Error", {"message": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]
