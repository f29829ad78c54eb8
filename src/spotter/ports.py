"""The domain's view of storage. Adapters in `spotter.adapters` implement these with boto3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .records import PredictionRecord


@dataclass(frozen=True)
class StoredObject:
    data: bytes  # at most the first `max_bytes + 1` bytes: enough to know a file is too large
    size: int  # the object's full size
    etag: str | None = None
    metadata: dict[str, str] | None = None  # S3 user metadata (x-amz-meta-*), names lower-case


class ObjectReader(Protocol):
    def read(self, bucket: str, key: str, max_bytes: int, version_id: str | None = None) -> StoredObject:
        """Raises `ObjectMissing` when the object is gone; anything else is worth a retry."""


class PredictionWriter(Protocol):
    def put(self, record: PredictionRecord) -> bool:
        """Store `record`; False when a record from a later event for the same object is already there."""

