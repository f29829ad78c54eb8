"""Entry point of the local moto server process
(`python -m spotter.local.moto_main -H HOST -p PORT [--state-dir DIR]`).

One adjustment makes moto answer as S3 does where it did not:
- a browser-form POST upload (a presigned POST) is checked as S3 checks it before moto stores it:
  signature, expiry, every condition of its policy, no field outside it (moto checks none of
  these; see `post_policy.py`). A refused one gets S3's status and XML error.

Requests from web pages are refused except the page's own uploads and reads, and every request
must name this server in its `Host` (see `request_guard.py`).

The others are local-only and change nothing that the emulated services answer:
- werkzeug's per-request log is turned down to warnings;
- moto's SQS computes "now" through datetime arithmetic for every message on every receive
  (O(queue depth), ~1.4 s per receive at 1,000 queued messages); the same value from
  `time.time()` makes a deep queue drain at the speed of the rest of the stack;
- S3 notifications carry a `sequencer` and, in a versioned bucket, the `versionId`, as S3's do;
- moto's DynamoDB deep-copies every item a Scan or Query passes, and projects an item (an index's
  projection, a ProjectionExpression) by turning the whole item into JSON once per attribute named:
  inside those reads a copy of the item's attribute map answers the same, and a projection of
  top-level attributes picks them from it (`_shallow_read_copies`), so a read costs about what it
  returns;
- a DynamoDB stream keeps its last 10,000 changes (`_bounded_streams`), not every one for ever;
- with `--state-dir`, what the requests change is kept in that folder before they are answered
  (see `persist.py`), and `POST /_spotter/restore` loads it back after the stack created its
  resources. One moto process per state folder: it holds `moto.lock` there while it runs.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

    from moto.s3.models import FakeBucket


class _S3Event(Protocol):
    """moto.s3.notifications._get_s3_event: the body of an S3 notification."""

    def __call__(
        self, event_name: str, bucket: FakeBucket, key: Any, notification_id: str
    ) -> dict[str, list[dict[str, Any]]]: ...


_moto_unix_time: Callable[[datetime], float]  # moto's own, for a given time; set by main()


def _unix_time(dt: datetime | None = None) -> float:
    if dt is not None:
        return _moto_unix_time(dt)
    return time.time()


def _unix_time_millis(dt: datetime | None = None) -> float:
    return _unix_time(dt) * 1000.0


def _with_sequencer_and_version(get_s3_event: _S3Event) -> _S3Event:
    """moto's S3 notifications lack the object's `sequencer` and `versionId`, which S3 sends. Without
    them every local record is ordered by event time alone, and a `spotter reprocess` (timed by the
    object's LastModified, whole seconds) never replaces the upload's record (milliseconds). Add them:
    sequencers increase across the life of the state folder (nanosecond clock, never repeated)."""
    lock, last = threading.Lock(), [0]

    def event(event_name: str, bucket: FakeBucket, key: Any, notification_id: str) -> dict[str, list[dict[str, Any]]]:
        body = get_s3_event(event_name, bucket, key, notification_id)
        with lock:
            last[0] = max(last[0] + 1, time.time_ns())
            sequencer = f"{last[0]:018X}"
        for record in body.get("Records", []):
            obj = record.get("s3", {}).get("object", {})
            obj.setdefault("sequencer", sequencer)
            version = getattr(key, "version_id", None)
            if version and version != "null":
                obj.setdefault("versionId", version)
        return body

    return event


class _ReadCopies:
    """Stands in for the `copy` module inside moto.dynamodb.models.table: while the thread is in a
    Scan or Query, deepcopy of an item (or a list of items) copies only its attribute map. A read
    never changes the items it copies (projection builds new ones; the answer is serialized from
    them), and a write that follows sets values in the stored item's own map, not the copy's (a write
    racing a read's serialization could be seen half-done; moto's deepcopy, taken without a lock, no
    less). Everywhere else in that module (backups, restores) deepcopy is the real one."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.reading = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.dynamo_type import Item

        if getattr(self.reading, "depth", 0):
            if isinstance(value, Item):
                return self._item(value)
            if isinstance(value, list) and all(isinstance(v, Item) for v in value):
                return [self._item(v) for v in value]
        return self.real.deepcopy(value, memo)

    def _item(self, item: Any) -> Any:
        clone = self.real.copy(item)
        clone.attrs = dict(item.attrs)
        return clone

    def around(self, read: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.reading.depth = getattr(self.reading, "depth", 0) + 1
            try:
                return read(*args, **kwargs)
            finally:
                self.reading.depth -= 1

        return wrapped


def _shallow_read_copies() -> None:
    import copy

    import moto.dynamodb.models.table as table_module
    from moto.dynamodb.models.dynamo_type import Item

    copies = _ReadCopies(copy)
    project = Item.project

    def project_top_level(item: Any, projection_expressions: list[list[str]]) -> Any:
        if not all(len(path) == 1 and "[" not in path[0] for path in projection_expressions):
            return project(item, projection_expressions)  # nested paths, list elements: moto's own way
        names = [path[0] for path in projection_expressions]
        return Item(
            hash_key=item.hash_key,
            range_key=item.range_key,
            attrs={name: item.attrs[name] for name in dict.fromkeys(names) if name in item.attrs},
        )

    Item.project = project_top_level  # type: ignore[method-assign,assignment]
    table_module.copy = copies  # type: ignore[assignment]  # the module's name for `copy`, in that module only
    table_module.Table.scan = copies.around(table_module.Table.scan)  # type: ignore[method-assign]
    table_module.Table.query = copies.around(table_module.Table.query)  # type: ignore[method-assign]


STREAM_KEPT = 10_000  # stream records kept per table: the local stand-in for a stream's 24 hours


def _bounded_streams(kept: int = STREAM_KEPT) -> None:
    """moto keeps every change of a table's stream, in memory, for ever (a reprocessed table holds
    each record's old and new image again); a stream keeps 24 hours. Keep the last `kept` and move
    the shard's starting sequence number past the dropped ones, as a trimmed shard reads: a reader
    whose position was dropped sees the start beyond it (spotter.adapters.dynamodb_stream). moto
    numbers a change by the shard's length, so two concurrent writes could share a number: a lock."""
    from moto.dynamodb.models.table import StreamShard

    add, lock = StreamShard.add, threading.Lock()

    def bounded_add(shard: Any, old: Any, new: Any) -> None:
        with lock:
            add(shard, old, new)
            if len(shard.items) > kept:
                drop = len(shard.items) - kept + kept // 10  # a tenth at a time, not one per write
                del shard.items[:drop]
                shard.starting_sequence_number += drop

    StreamShard.add = bounded_add  # type: ignore[method-assign,assignment]


def _hold_lock(state_dir: Path, timeout_s: float = 15.0) -> TextIO:
    """Wait (briefly) for a moto of a stack that just died to finish exiting, then hold the folder."""
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = open(state_dir / "moto.lock", "a+")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"another moto process still holds {state_dir / 'moto.lock'}")
            time.sleep(0.1)


def main(argv: list[str]) -> None:
    global _moto_unix_time
    parser = argparse.ArgumentParser(prog="python -m spotter.local.moto_main")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, help="keep the state here (default: memory only)")
    parser.add_argument("--page-origin", action="append", default=[], help="the web page's origin (repeatable)")
    parser.add_argument("--page-bucket", action="append", default=[], help="the bucket the page uploads to")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format="moto: %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    import moto.s3.notifications as s3_notifications
    import moto.sqs.models as sqs_models
    from moto.core import utils
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    _moto_unix_time = utils.unix_time
    sqs_models.unix_time = _unix_time
    sqs_models.unix_time_millis = _unix_time_millis
    s3_notifications._get_s3_event = _with_sequencer_and_version(s3_notifications._get_s3_event)
    _shallow_read_copies()
    _bounded_streams()

    os.environ.setdefault("MOTO_PORT", str(args.port))
    app: WSGIApplication = DomainDispatcherApplication(create_backend_app)
    store = None
    if args.state_dir:
        from spotter.local.persist import PersistingApp, Store, install_hooks

        lock = _hold_lock(args.state_dir)  # noqa: F841 (kept open: the lock lives as long as the process)
        install_hooks()
        store = Store(args.state_dir)
        app = PersistingApp(app, store)
    from spotter.local.post_policy import PostPolicyApp

    app = PostPolicyApp(app)  # a refused upload reaches neither moto nor the state folder
    from spotter.local.request_guard import MotoGuard

    app = MotoGuard(app, args.port, args.host, args.page_origin, args.page_bucket)  # outermost: Host, Origin

    def stop(*_: object) -> None:
        # a committed transaction is whole, an open one rolls back; closing folds the WAL into data.sqlite3
        if store is not None and store.lock.acquire(timeout=5):
            store.db.close()
        sys.exit(0)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1:])
