"""A researcher's web batches: what each holds (for "My batches"), and removing one (images and records).

Batches are not stored anywhere of their own: a batch is the records whose key is under
`uploads/<batch>/`. Listing reads the web source's records of the last `LIST_DAYS` days through its
index; removal deletes every stored version of every object under the batch's prefix, then every
record of the batch (all model versions), so nothing of it is left to list, view or export.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from spotter.keys import UPLOADS_PREFIX, WEB_SOURCE, is_valid_batch
from spotter.ports import BatchObjects, BatchTombstones, RecordRemover
from spotter.records import STATUS_OK, STATUS_REFUSED, PredictionRecord
from spotter.results.query import PredictionQuery, QueryError, RunQuery

LIST_DAYS = 90  # the source index answers windows of up to 92 days without a scan
MAX_NAMES_SHOWN = 50


def outcome_of(record: PredictionRecord) -> str:
    """What a researcher reads for a record: the decision (or the label when the card has none) for a
    classified image, else its status (rejected, refused)."""
    if record.status == STATUS_OK:
        return record.decision or record.label or STATUS_OK
    return record.status


@dataclass
class BatchSummary:
    batch: str
    first_upload: str
    last_upload: str
    files: int = 0
    images: int = 0  # files stored in S3 (every record but a refusal)
    by_status: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "first_upload": self.first_upload,
            "last_upload": self.last_upload,
            "files": self.files,
            "images": self.images,
            "by_status": self.by_status or {},
            "by_outcome": self.by_outcome or {},
        }


def summarise_batches(records: Iterable[PredictionRecord], keep_names: bool = False) -> list[BatchSummary]:
    """One summary per batch, newest first (by its latest upload). Counts one record per object (the
    records of one model version, as the page lists them)."""
    batches: dict[str, BatchSummary] = {}
    for record in records:
        if not record.batch:
            continue
        summary = batches.get(record.batch)
        if summary is None:
            summary = batches[record.batch] = BatchSummary(
                record.batch, record.uploaded_at, record.uploaded_at, by_status={}, by_outcome={}, names=[]
            )
        summary.first_upload = min(summary.first_upload, record.uploaded_at)
        summary.last_upload = max(summary.last_upload, record.uploaded_at)
        summary.files += 1
        summary.images += record.status != STATUS_REFUSED
        summary.by_status[record.status] = summary.by_status.get(record.status, 0) + 1
        outcome = outcome_of(record)
        summary.by_outcome[outcome] = summary.by_outcome.get(outcome, 0) + 1
        if keep_names and len(summary.names) < MAX_NAMES_SHOWN:
            summary.names.append(record.file_name)
    return sorted(batches.values(), key=lambda s: s.last_upload, reverse=True)


def web_batches_query(model: str | None, owner: str | None = None, now: datetime | None = None) -> PredictionQuery:
    """The page's uploads since the start of the day LIST_DAYS days ago (a bound that holds all day, so
    a listing's cursor stays good while it is paged): `owner`'s through the by-owner index, or every web
    upload through the source index (sign-in off). No table scan either way."""
    now = now or datetime.now(UTC)
    since = (now - timedelta(days=LIST_DAYS)).strftime("%Y-%m-%dT00:00:00Z")
    if owner:
        return PredictionQuery(owner=owner, since=since, model=model, limit=1000)
    return PredictionQuery(source=WEB_SOURCE, since=since, model=model, limit=1000)


BATCHES_PAGE_RECORDS = 5000  # records one GET /batches page reads (a few seconds of a 10 s function)


def batches_page(
    run_query: RunQuery, query: PredictionQuery, max_records: int = BATCHES_PAGE_RECORDS
) -> tuple[list[BatchSummary], str | None]:
    """Summaries of the batches among the next `max_records` or so records of `query` (from its
    cursor on, newest first), and the cursor for the rest (None: no more). Pages cut by records, not
    batches: a batch whose records straddle the cut is summarised on each page, and a client wanting
    whole counts adds up the summaries of one batch name across pages."""
    records: list[PredictionRecord] = []
    cursor = query.cursor
    while True:
        page, cursor = run_query(query.replace(cursor=cursor, limit=max(1, min(1000, max_records - len(records)))))
        records += page
        if not cursor or len(records) >= max_records:
            return summarise_batches(records), cursor


def owned_by(prefix: str | None) -> Callable[[PredictionRecord], bool]:
    """Records of batches starting with `prefix` (a researcher's tag); every web batch when None."""
    return lambda record: bool(record.batch and (prefix is None or record.batch.startswith(prefix)))


def batch_prefix(batch: str) -> str:
    if not is_valid_batch(batch):
        raise QueryError("batch must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return f"{UPLOADS_PREFIX}{batch}/"


@dataclass(frozen=True)
class Removal:
    batch: str
    versions: int  # stored object versions deleted (each upload is one; a re-upload adds one)
    records: int

    def as_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "deleted_object_versions": self.versions, "deleted_records": self.records}


def remove_batch(
    batch: str,
    records: Iterable[PredictionRecord] | Callable[[], Iterable[PredictionRecord]],
    objects: BatchObjects,
    remover: RecordRemover,
    tombstones: BatchTombstones | None = None,
) -> Removal:
    """The tombstone first (every later record write into the batch, and every upload form for it, is
    refused from then on: an image still in flight cannot bring the batch back), then the images (the
    privacy-relevant part), then the records that point at them. `records` must be the batch's records
    of every model version (a web batch: keys under uploads/<batch>/); pass a callable to read them
    after the tombstone is stored, so a record written just before it is removed too."""
    prefix = batch_prefix(batch)
    if tombstones is not None:
        tombstones.mark(batch)
    stored = objects.object_ids_under(prefix)
    versions = objects.delete_prefix(prefix)
    found = records() if callable(records) else records
    mine = [r for r in found if r.key.startswith(prefix)]
    removed = remover.delete(mine)
    # `records` comes through an index, which on AWS may not yet hold a record written just before the
    # tombstone: every object that was stored is swept again by its key, from the table itself.
    return Removal(batch, versions, removed + remover.delete_of_objects(sorted(stored)))
