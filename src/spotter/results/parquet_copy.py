"""The day-partitioned Parquet layout of the predictions that `spotter sql` and Athena query.

    <root>/upload_day=YYYY-MM-DD/<file>.parquet

Each file holds the typed columns of spotter.results.export.COLUMNS except `upload_day`, which the folder
name carries (Hive partitioning: DuckDB and Athena both read it back as a column). The copy on AWS
keeps one file per day and rewrites it as records change (`merge_day`); a local export writes
several part files per day as it goes, so a table larger than memory never sits in memory whole.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from spotter.records import PredictionRecord
from spotter.results.tabular import arrow_table

if TYPE_CHECKING:  # imported where used: pyarrow is an optional dependency
    import pyarrow as pa

PARTITION = "upload_day"
DAY_FILE = "records.parquet"


def day_folder(day: str) -> str:
    return f"{PARTITION}={day}/"


def day_table(records: Iterable[PredictionRecord]) -> pa.Table:
    return arrow_table(records, drop=(PARTITION,))


def to_parquet_bytes(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def from_parquet_bytes(data: bytes) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data))


@dataclass(frozen=True)
class Change:
    """One record put (its new image) or removed, from the table's change stream."""

    day: str
    object_id: str
    model: str
    record: PredictionRecord | None = None  # None: removed from this day

    @property
    def identity(self) -> tuple[str, str]:
        return self.object_id, self.model


@dataclass
class DayChanges:
    puts: dict[tuple[str, str], PredictionRecord] = field(default_factory=dict)
    removals: set[tuple[str, str]] = field(default_factory=set)

    @property
    def touched(self) -> set[tuple[str, str]]:
        return set(self.puts) | self.removals


def changes_by_day(changes: Iterable[Change]) -> dict[str, DayChanges]:
    """Changes in stream order, folded per day: the last change of a record wins."""
    days: dict[str, DayChanges] = {}
    for change in changes:
        day = days.setdefault(change.day, DayChanges())
        if change.record is None:
            day.puts.pop(change.identity, None)
            day.removals.add(change.identity)
        else:
            day.removals.discard(change.identity)
            day.puts[change.identity] = change.record
    return days


def merge_day(existing: pa.Table | None, changes: DayChanges) -> pa.Table:
    """A day's table with `changes` applied: rows of touched records replaced or dropped. Idempotent,
    so a retried stream batch writes the same file."""
    import pyarrow as pa
    import pyarrow.compute as pc

    new_rows = day_table(changes.puts.values())
    if existing is None or existing.num_rows == 0:
        merged = new_rows
    else:
        touched = pa.array(sorted(f"{oid}\n{model}" for oid, model in changes.touched), pa.string())
        identity = pc.binary_join_element_wise(existing["object_id"], existing["model"], "\n")
        kept = existing.filter(pc.invert(pc.is_in(identity, value_set=touched)))
        merged = pa.concat_tables([kept.cast(new_rows.schema), new_rows])
    if merged.num_rows == 0:
        return merged
    return merged.sort_by([("uploaded_at", "ascending"), ("object_id", "ascending"), ("model", "ascending")])


class LocalLayout:
    """Writes records into the layout under `root` in part files of at most `chunk` records per
    flush: memory holds one chunk, never the table."""

    def __init__(self, root: Path, chunk: int = 50_000) -> None:
        self.root, self.chunk = Path(root), chunk
        self.pending: list[PredictionRecord] = []
        self.parts = 0
        self.count = 0

    def add(self, records: Iterable[PredictionRecord]) -> None:
        for record in records:
            self.pending.append(record)
            if len(self.pending) >= self.chunk:
                self.flush()

    def flush(self) -> None:
        import pyarrow.parquet as pq

        by_day: dict[str, list[PredictionRecord]] = {}
        for record in self.pending:
            by_day.setdefault(record.upload_day, []).append(record)
        for day, records in by_day.items():
            folder = self.root / day_folder(day)
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(day_table(records), folder / f"part-{self.parts:05d}.parquet", compression="zstd")
        self.parts += 1
        self.count += len(self.pending)
        self.pending = []

    def close(self) -> int:
        if self.pending:
            self.flush()
        return self.count


def write_layout(records: Iterable[PredictionRecord], root: Path, chunk: int = 50_000) -> int:
    layout = LocalLayout(root, chunk)
    layout.add(records)
    return layout.close()
