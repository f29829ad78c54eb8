"""Prediction records: one per (object, model version), `ok` with a prediction or `rejected` with a reason;
`refused` for a file the API would not sign an upload for (never stored in S3), so its batch still lists it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol

STATUS_OK = "ok"
STATUS_REJECTED = "rejected"
STATUS_REFUSED = "refused"
STATUSES = (STATUS_OK, STATUS_REJECTED, STATUS_REFUSED)


def object_id_for(bucket: str, key: str) -> str:
    """Stable id of an object key; a re-upload to the same key replaces its record."""
    return hashlib.sha256(f"{bucket}\n{key}".encode()).hexdigest()[:32]


TOMBSTONE_MODEL = "#batch-deleted"  # the sort key of a deleted batch's tombstone in the records table


def tombstone_id(batch: str) -> str:
    """The partition key of batch `batch`'s tombstone: no object id looks like it (those are 32 hex
    digits), and it carries none of the indexed attributes, so no index holds it."""
    return f"#deleted-batch/{batch}"


REFUSALS_MODEL = "#refusal-count"  # the sort key of a caller's refused-file count for one hour


def refusals_id(scope: str, hour: str) -> str:
    """The partition key of `scope`'s (an owner tag, or `site` with sign-in off) refused-file count for
    the clock hour `hour` (YYYY-MM-DDTHH): like a tombstone, no record and in no index."""
    return f"#refusals/{scope}/{hour}"


def is_tombstone_item(item: Mapping[str, Any]) -> bool:
    """A bookkeeping item of the records table, not a record: a deleted batch's tombstone or a count."""
    return item.get("model") in (TOMBSTONE_MODEL, REFUSALS_MODEL)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ISO 8601's extended form: a date, or a date and a time of day with an optional zone. Python's
# fromisoformat alone takes more: any one character between date and time, so `2026-11-29+01:00`
# read as 01:00 and `2026-11-29Z` as midnight with the zone dropped.
_ISO_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)


def parse_time(value: str) -> datetime:
    """An ISO 8601 date or time (`Z` read as UTC), naive when it has no zone; ValueError when it is
    not one (a zone needs a time of day: `2026-11-29Z` is refused, not read as midnight).
    The one parser of the times this package writes, and of the bounds callers give."""
    if not isinstance(value, str) or not _ISO_TIME.fullmatch(value):
        raise ValueError(f"not an ISO 8601 date or time: {value!r}")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _parsed(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def _utc_text(moment: datetime) -> str | None:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # e.g. year 1 with a positive offset: a camera's clock, not worth failing an image
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def normalise_time(value: str | None) -> str | None:
    """ISO 8601 UTC with milliseconds and `Z`, so times sort as strings in DynamoDB (a time without a
    zone is read as UTC); None when `value` is not a time. What every upload-time bound goes through:
    the CLI's `--since/--until` and the API's `since`/`until` alike (PredictionQuery)."""
    moment = _parsed(value)
    return None if moment is None else _utc_text(moment)


def normalise_capture_time(value: str | None) -> str | None:
    """A camera's capture time: UTC with `Z` when it carries an offset (EXIF OffsetTimeOriginal);
    without one, the camera's wall-clock time kept as it is, with no `Z` (local time, offset unknown),
    rather than passed off as UTC."""
    moment = _parsed(value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.isoformat(timespec="milliseconds")
    return _utc_text(moment)


def split_capture_time(value: str | None) -> tuple[str | None, str | None]:
    """(UTC instant, local wall-clock time): a stored capture time is one or the other."""
    if not value:
        return None, None
    return (value, None) if value.endswith("Z") or "+" in value[10:] else (None, value)


def capture_fields(value: str | None) -> dict[str, str | None]:
    """Both capture fields, as every output shows them: `captured_at` the UTC instant (when the camera
    recorded its offset), `captured_at_local` the camera's clock (when it did not); the other None."""
    utc, local = split_capture_time(value)
    return {"captured_at": utc, "captured_at_local": local}


SEQUENCED = "S"  # ordered by S3's sequencer
TIMED = "T"  # no sequencer (a reprocess, or moto): ordered by event time


def sequence_key(sequencer: str | None, event_time: str | None) -> str:
    """Orders events for one key. S3's sequencers are hex of varying length (pad to compare);
    where an event has none, its event time orders it instead. The two kinds cannot be compared
    with each other: a timed record (a reprocess) replaces a sequenced one, and a sequenced event
    (a new upload) replaces a timed record (see the DynamoDB adapter's write condition)."""
    if sequencer:
        return SEQUENCED + sequencer.upper().rjust(32, "0")
    return TIMED + (event_time or "")


def replaces(
    new: str,
    old: str,
    new_uploaded: str | None = None,
    old_uploaded: str | None = None,
    new_etag: str | None = None,
    old_etag: str | None = None,
) -> bool:
    """Whether a write whose `sequence_key` is `new` may replace a stored record whose key is `old`:
    the newer event of one kind wins (ties too: a duplicate delivery rewrites the same record), a
    sequenced event replaces a timed record, and a timed record (a reprocess) replaces a sequenced one
    unless the stored record's version was uploaded after the one the reprocess read (`*_uploaded`:
    the records' `uploaded_at`) and is another version (`*_etag`). The DynamoDB adapter's write condition (`put_condition`) says the
    same in DynamoDB's terms."""
    if new.startswith(SEQUENCED):
        return old <= new or old.startswith(TIMED)
    if old.startswith(TIMED):
        return old <= new
    return (old_uploaded or "") <= (new_uploaded or "") or bool(new_etag and new_etag == old_etag)


@dataclass
class PredictionRecord:
    object_id: str
    model: str  # "name@version"
    bucket: str
    key: str
    status: str
    source: str
    file_name: str
    uploaded_at: str
    classified_at: str
    model_name: str
    model_version: str
    batch: str | None = None  # absent for files at the top of a drone's folder
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    size: int | None = None
    reason: str | None = None
    label: str | None = None
    score: float | None = None
    top: list[dict[str, Any]] = field(default_factory=list)
    width: int | None = None
    height: int | None = None
    format: str | None = None
    frames: int | None = None
    decode_ms: float | None = None
    preprocess_ms: float | None = None
    inference_ms: float | None = None
    captured_at: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    camera: str | None = None
    # the model card's decision (binary models with an operating threshold): the label decided at the
    # threshold, or "uncertain" inside its band, and the rule in words; `label`, `score` and `top` stay
    # the raw top label and scores. Strings, so every store takes them as they are.
    decision: str | None = None
    decision_rule: str | None = None
    # a binary card's positive label's score (calibrated when its card says how): the number shown
    # beside the decision ("malignant 0.42, threshold 0.30"), never the top label's score alone; and
    # the card's domain check: the photo's distance from the training photos (past the card's
    # threshold, the decision is "out_of_domain", the scores kept)
    positive_score: float | None = None
    domain_distance: float | None = None
    # the researcher's own diagnosis of the image (spotter.results.scoring), set by its batch's owner
    truth: str | None = None
    # an object detector's record: objects per label above the card's score threshold, the boxes
    # (label, score, box as x_min, y_min, x_max, y_max in 0..1 of the photo; the highest-scoring
    # MAX_STORED_DETECTIONS of them), how many objects in all, the tiles detected, and why fewer or
    # larger tiles than planned when that happened. `label` and `score` are then the most counted
    # label and its best score.
    task: str | None = None  # "detect"; absent on a classifier's records
    counts: dict[str, int] | None = None
    detections: list[dict[str, Any]] = field(default_factory=list)
    objects: int | None = None
    tiles: int | None = None
    tiling: str | None = None

    @property
    def upload_day(self) -> str:
        return self.uploaded_at[:10]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict without empty fields (DynamoDB indexes stay sparse); a detector's
        record keeps its `counts` even when it found nothing."""
        data = {k: v for k, v in asdict(self).items() if v is not None and v != [] and (v != {} or k == "counts")}
        data["upload_day"] = self.upload_day
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PredictionRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class DetectionSummary(Protocol):
    """What a record takes from a detector's result (spotter.model.detector.Detection)."""

    @property
    def counts(self) -> dict[str, int]: ...

    @property
    def views_done(self) -> int: ...

    @property
    def tiling_note(self) -> str | None: ...

    def stored(self) -> list[dict[str, Any]]: ...


def apply_detection(record: PredictionRecord, found: DetectionSummary) -> None:
    """Fill a record with a detector's result (see the detection fields of PredictionRecord)."""
    record.task = "detect"
    record.counts = dict(found.counts)
    record.detections = found.stored()
    record.objects = sum(found.counts.values())
    record.tiles = max(0, found.views_done - 1)
    record.tiling = found.tiling_note
    record.top = []
    record.decision = record.decision_rule = None
    if found.counts:
        label = next(iter(found.counts))  # counts come most numerous first
        record.label = label
        record.score = max((d["score"] for d in record.detections if d["label"] == label), default=None)
    else:
        record.label = record.score = None
