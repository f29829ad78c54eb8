"""Why a message ended in the dead-letter queue, and whether redriving it can help."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .errors import MalformedEvent
from .events import objects_in_message


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
        reason=(f"failed {receive_count} deliveries although the object is readable: a platform error "
                "(throttling, 5xx, timeout) that outlasted the retries; see the classify function's logs"),
        keys=keys,
        retryable=True,
    )
