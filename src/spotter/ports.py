"""The domain's view of everything outside it: one `typing.Protocol` per dependency a use case has.

Adapters in `spotter.adapters` implement these with boto3 (`spotter.adapters.wiring` builds them
from `Settings`); tests implement them in memory (`tests/fakes.py`). The domain imports only this
module, never an SDK.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from spotter.records import PredictionRecord

if TYPE_CHECKING:  # only for annotations: query.py is domain too, but keep this module's imports light
    from PIL import Image

    from spotter.ingest.imaging import DecodedImage
    from spotter.model.classifier import Prediction
    from spotter.model.detector import Detection
    from spotter.model.preprocess import InputContract
    from spotter.model.tiling import TilePlan, Tiling, View
    from spotter.results.parquet_copy import DayChanges
    from spotter.results.query import PredictionQuery


@dataclass(frozen=True)
class StoredObject:
    data: bytes  # at most the first `max_bytes + 1` bytes: enough to know a file is too large
    size: int  # the object's full size
    etag: str | None = None
    metadata: dict[str, str] | None = None  # S3 user metadata (x-amz-meta-*), names lower-case
    version_id: str | None = None  # the version these bytes are (GetObject's VersionId), when versioned
    last_modified: str | None = None  # that version's upload time, ISO 8601 UTC


@dataclass(frozen=True)
class ObjectHead:
    """What a HEAD of an object says that matters to the domain (None fields: not reported)."""

    size: int
    storage_class: str | None = None
    archive_status: str | None = None
    restore: str | None = None


@dataclass(frozen=True)
class ListedObject:
    key: str
    size: int
    etag: str
    modified: datetime  # aware (UTC)
    # from a record of this very content (a reprocess): the version it was read from and its upload
    # time in milliseconds (S3's LastModified has whole seconds)
    version_id: str | None = None
    uploaded_at: str | None = None


@dataclass(frozen=True)
class RecordedUpload:
    """What one record (of any model version) says of the object version it was made from."""

    etag: str | None
    version_id: str | None
    uploaded_at: str | None


@dataclass(frozen=True)
class QueuedMessage:
    """A message received from a queue, held invisible until released or deleted."""

    message_id: str
    body: str
    receipt: str
    receive_count: int


# --- the classify pipeline ---------------------------------------------------------------------


class ObjectReader(Protocol):
    def read(self, bucket: str, key: str, max_bytes: int, version_id: str | None = None) -> StoredObject:
        """Raises `ObjectMissing` when the object is gone; anything else is worth a retry."""

    def discard(self, bucket: str, key: str, version_id: str | None) -> None:
        """Deletes that stored version for good (an image that arrived after its batch was deleted)."""


class PredictionWriter(Protocol):
    def put(self, record: PredictionRecord) -> bool:
        """Store `record`; False when a record from a later event for the same object is already there
        (the order is `records.replaces`)."""


class ModelIdentity(Protocol):
    """What a record names of the model that made it (the card's name, version and `name@version`)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def model_id(self) -> str: ...


class ImageClassifier(Protocol):
    """The model (`spotter.model.classifier.Classifier`): a decoded picture in, a prediction out."""

    @property
    def input_size(self) -> tuple[int, int]: ...

    @property
    def model_id(self) -> str: ...

    @property
    def card(self) -> ModelIdentity: ...

    @property
    def contract(self) -> InputContract | None:
        """How a decoded picture becomes the model's input picture (None: the classifier's own affair).
        The decode worker applies it, so `classify` may be given a picture already at `input_size`."""

    def classify(self, image: Image.Image, top_k: int = 3) -> Prediction: ...


class ObjectDetector(Protocol):
    """An object detector (`spotter.model.detector.Detector`): a photo's views in, objects counted."""

    task: str  # "detect"
    tiling: Tiling

    @property
    def input_size(self) -> tuple[int, int]: ...

    @property
    def model_id(self) -> str: ...

    @property
    def card(self) -> ModelIdentity: ...

    @property
    def contract(self) -> InputContract: ...

    def raw(self, image: Image.Image) -> object: ...

    def detect(self, views: list[View], plan: TilePlan | None = None, deadline: float | None = None) -> Detection: ...


class Decoder(Protocol):
    """The bounded decoder (`spotter.ingest.decode_sandbox.BudgetedDecoder`): decodes in a worker process."""

    def decode(
        self,
        data: bytes,
        target_size: tuple[int, int] = (224, 224),
        use_draft: bool = True,
        seconds: float | None = None,
        fit: InputContract | None = None,
        tiling: Tiling | None = None,
    ) -> DecodedImage: ...

    def start(self, wait: bool = True) -> object: ...  # BudgetedDecoder returns itself

    def close(self) -> None: ...


# --- records: the API and the command line -----------------------------------------------------


class PredictionStore(PredictionWriter, Protocol):
    def get(self, object_id: str, model: str) -> PredictionRecord | None: ...

    def set_truth(self, object_id: str, model: str, truth: str | None) -> bool:
        """Set (or with None, remove) a record's `truth`; False when there is no such record."""


class PredictionQueries(Protocol):
    def query(self, query: PredictionQuery) -> tuple[list[PredictionRecord], str | None]:
        """One page of matching records and the cursor for the next (None: no more)."""

    def exists(self, field: str, value: str) -> bool:
        """Whether any record has exactly this label, source or model."""

    def known_values(self, field: str, max_items: int = 5000) -> tuple[list[str], bool]:
        """Names stored for `field`, and whether the list is complete."""


class RecordReader(Protocol):
    def current(self, object_ids: Iterable[str], model: str) -> dict[str, str | None]:
        """object id -> the ETag its record from `model` was made from (only ids that have one)."""

    def uploads(self, object_ids: Iterable[str]) -> dict[str, list[RecordedUpload]]:
        """object id -> what each of its records (every model version) says of the version it read."""


class RecordRemover(Protocol):
    def delete(self, records: Iterable[PredictionRecord]) -> int: ...

    def delete_of_objects(self, object_ids: Iterable[str]) -> int:
        """Delete every record of these objects (every model version), read from the table itself with a
        consistent read, not through an index that may lag; how many were deleted."""


class RefusalCounter(Protocol):
    """How many refused files each caller recorded in each clock hour, kept atomically: concurrent
    requests cannot all pass the cap on a count they each read before the others wrote."""

    def reserve(self, scope: str, hour: str, count: int, limit: int) -> bool:
        """Add `count` to `scope`'s count for `hour` when it stays at most `limit`; False otherwise."""


class BatchTombstones(Protocol):
    """Deleted batches: a batch's tombstone is stored before anything of it is deleted, and every
    later write into it (a record, an upload form) is refused."""

    def mark(self, batch: str) -> None: ...

    def is_deleted(self, batch: str) -> bool: ...


# --- objects: presigned links, folders, batches, dead letters -----------------------------------


class Presigner(Protocol):
    def upload_form(
        self, key: str, content_type: str, max_bytes: int, expires_s: int, metadata: dict[str, str] | None = None
    ) -> dict[str, Any]: ...

    def view_url(self, key: str, expires_s: int, content_type: str) -> str: ...


class Folder(Protocol):
    """One bucket seen as a folder tree: listing (sync, reprocess) and uploading (sync)."""

    def list(self, prefix: str) -> Iterator[tuple[str, int, str, datetime]]:
        """(key, size, etag, last modified) of every object under `prefix`."""

    def upload(self, path: Path, key: str, content_type: str, multipart_threshold: int, chunk_size: int) -> None: ...


class BatchObjects(Protocol):
    def object_ids_under(self, prefix: str) -> set[str]:
        """The record object ids of every key with a stored version or delete marker under `prefix`."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every version under `prefix`; how many were deleted."""


class DayFiles(Protocol):
    """The Parquet copy for Athena: one file per upload day, kept current from the table's changes."""

    def apply(self, day: str, changes: DayChanges) -> int:
        """Fold `changes` into the day's file; the rows it now holds."""


class ObjectInspector(Protocol):
    def head(self, bucket: str, key: str) -> ObjectHead | None:
        """The object's HEAD; None when it does not exist. Other errors propagate."""


# --- queues --------------------------------------------------------------------------------------


class Queue(Protocol):
    def send(self, bodies: list[str]) -> None:
        """Send every body (in batches the queue accepts); raises if any is refused."""


class DeadLetterQueue(Protocol):
    def receive_all(self, hold_s: int) -> list[QueuedMessage]:
        """Every message once, each held invisible for `hold_s` (none deleted)."""

    def delete(self, message: QueuedMessage) -> None: ...

    def release(self, message: QueuedMessage) -> None:
        """Make a received message visible again at once."""
