"""Why a message ended in the dead-letter queue, whether redriving it can help, and the redrive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from spotter.errors import MalformedEvent
from spotter.ingest.events import is_folder_marker, objects_in_message
from spotter.ports import DeadLetterQueue, ObjectHead, ObjectInspector, Queue, QueuedMessage

ARCHIVED = {"GLACIER", "DEEP_ARCHIVE"}
HOLD_S = 30  # how long a message looked at stays invisible while the review runs


@dataclass(frozen=True)
class Diagnosis:
    reason: str
    keys: tuple[str, ...]
    retryable: bool


def diagnose(body: str, receive_count: int, object_exists: Callable[[str, str], bool]) -> Diagnosis:
    """Re-read the message as the classify function does; check the objects it names."""
    try:
        objects = objects_in_message(body)
    except MalformedEvent as exc:
        return Diagnosis(reason=f"poison message: {exc}", keys=(), retryable=False)
    if not objects:
        return Diagnosis(reason="names no created object (nothing to classify)", keys=(), retryable=False)
    keys = tuple(obj.key for obj in objects)
    missing = [obj.key for obj in objects if not object_exists(obj.bucket, obj.key)]
    if len(missing) == len(objects):
        return Diagnosis(reason="the object no longer exists", keys=keys, retryable=False)
    return Diagnosis(
        reason=(
            f"failed {receive_count} deliveries although the object is readable: a platform error "
            "(throttling, 5xx, timeout) that outlasted the retries; see the classify function's logs"
        ),
        keys=keys,
        retryable=True,
    )


def permanent_reason(head: ObjectHead | None, key: str) -> str | None:
    """Why redriving this object cannot help, from its HEAD (None: it might); never guesses retryable."""
    if head is None:
        return None
    if head.size == 0 and is_folder_marker(key):
        return "a zero-byte folder marker: nothing to classify"
    restore = head.restore or ""
    archived = head.storage_class in ARCHIVED or head.archive_status
    if archived and 'ongoing-request="false"' not in restore:
        return (
            f"archived in S3 storage class {head.storage_class or head.archive_status}: unreadable "
            "until restored (then `spotter reprocess`); redriving cannot help"
        )
    return None


def diagnose_with_heads(body: str, count: int, inspector: ObjectInspector) -> Diagnosis:
    """`diagnose`, but an object that S3 will never let the function read (archived, a folder marker)
    makes the message permanent, not retryable."""
    heads: dict[tuple[str, str], ObjectHead | None] = {}

    def head(bucket: str, key: str) -> ObjectHead | None:
        if (bucket, key) not in heads:
            heads[bucket, key] = inspector.head(bucket, key)
        return heads[bucket, key]

    diagnosis = diagnose(body, count, lambda bucket, key: head(bucket, key) is not None)
    if not diagnosis.retryable:
        return diagnosis
    objects = objects_in_message(body)  # it parsed in `diagnose`
    reasons = [permanent_reason(head(obj.bucket, obj.key), obj.key) for obj in objects]
    if reasons and all(reasons):
        return Diagnosis(reason="; ".join(sorted({r for r in reasons if r})), keys=diagnosis.keys, retryable=False)
    return diagnosis


@dataclass(frozen=True)
class Reviewed:
    message: QueuedMessage
    diagnosis: Diagnosis
    redriven: bool


def review(
    dead_letters: DeadLetterQueue, inspector: ObjectInspector, queue: Queue | None = None, redrive_all: bool = False
) -> list[Reviewed]:
    """Diagnose every dead-lettered message. With a `queue`, send the retryable ones (every one with
    `redrive_all`) back to it and delete them here; the rest are released, visible again at once."""
    reviewed = []
    for message in dead_letters.receive_all(hold_s=HOLD_S):
        diagnosis = diagnose_with_heads(message.body, message.receive_count, inspector)
        redrive = queue is not None and (diagnosis.retryable or redrive_all)
        if redrive and queue is not None:
            queue.send([message.body])
            dead_letters.delete(message)
        else:
            dead_letters.release(message)
        reviewed.append(Reviewed(message, diagnosis, redrive))
    return reviewed
