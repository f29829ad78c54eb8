"""The day-partitioned Parquet layout of the predictions that `spotter sql` and Athena query.

    <root>/upload_day=YYYY-MM-DD/<file>.parquet

Each file holds the typed columns of spotter.results.export.COLUMNS except `upload_day`, which the folder
name carries (Hive partitioning: DuckDB and Athena both read it back as a column). The copy on AWS
keeps one file per day and rewrites it as records change (`merge_day`); a local export writes
several part files per day as it goes, so a table larger than memory never sits in memory whole.

Beside it, the copy keeps a second dataset in the same layout, `detections`: one row per box of an
object detector's records (DETECTION_COLUMNS), under a sibling prefix (`detections_prefix`), merged
from the same changes (`DayChanges.of(DETECTIONS)`). `spotter sql` derives its table `detections`
from the predictions' `detections` column instead (spotter.results.sql), with the same columns.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spotter.records import PredictionRecord
from spotter.results.export import detection_list
from spotter.results.tabular import arrow_table, float64_value, timestamp_value

if TYPE_CHECKING:  # imported where used: pyarrow is an optional dependency
    import pyarrow as pa

PARTITION = "upload_day"
DAY_FILE = "records.parquet"


def day_folder(day: str) -> str:
    return f"{PARTITION}={day}/"


def day_table(records: Iterable[PredictionRecord]) -> pa.Table:
    return arrow_table(records, drop=(PARTITION,))


PREDICTIONS = "predictions"
DETECTIONS = "detections"
# One row per box of a detector's record: the record's key and where it came from, then the box. The
# same columns, in this order, in the copy's detections dataset, its Glue table and `spotter sql`.
DETECTION_RECORD_COLUMNS: list[tuple[str, str]] = [
    ("object_id", "string"),
    ("model", "string"),
    ("key", "string"),
    ("file_name", "string"),
    ("source", "string"),
    ("batch", "string"),
    ("uploaded_at", "timestamp"),
    ("latitude", "float"),
    ("longitude", "float"),
]
BOX_EDGES = ("x_min", "y_min", "x_max", "y_max")  # fractions (0..1) of the photo, the record's `box` in order
DETECTION_BOX_COLUMNS: list[tuple[str, str]] = [
    ("label", "string"),
    ("score", "float"),
    *((edge, "float") for edge in BOX_EDGES),
]
DETECTION_COLUMNS = [*DETECTION_RECORD_COLUMNS, *DETECTION_BOX_COLUMNS, (PARTITION, "string")]


def detection_rows(records: Iterable[PredictionRecord]) -> Iterator[dict[str, Any]]:
    """Each box of each detector's record as a row of DETECTION_COLUMNS (a classifier's record has none)."""
    for record in records:
        boxes = detection_list(record)
        if not boxes:
            continue
        shared: dict[str, Any] = {name: getattr(record, name, None) for name, _ in DETECTION_RECORD_COLUMNS}
        shared["uploaded_at"] = timestamp_value(record.uploaded_at)
        shared["latitude"], shared["longitude"] = float64_value(record.latitude), float64_value(record.longitude)
        shared[PARTITION] = record.upload_day
        for box in boxes:
            edges = [*box["box"], None, None, None, None][:4]
            yield {**shared, "label": box["label"], "score": box["score"], **dict(zip(BOX_EDGES, edges))}


def detections_schema() -> pa.Schema:
    import pyarrow as pa

    types = {"string": pa.string(), "float": pa.float64(), "timestamp": pa.timestamp("ms", tz="UTC")}
    return pa.schema([(name, types[kind]) for name, kind in DETECTION_COLUMNS])


def detections_day_table(records: Iterable[PredictionRecord]) -> pa.Table:
    """A day's boxes as the copy's detections dataset holds them (without the partition column)."""
    import pyarrow as pa

    schema = detections_schema()
    schema = schema.remove(schema.get_field_index(PARTITION))
    rows = list(detection_rows(records))
    return pa.table({f.name: [r[f.name] for r in rows] for f in schema}, schema=schema)


_DAY_TABLES = {PREDICTIONS: day_table, DETECTIONS: detections_day_table}


def detections_prefix(copy_prefix: str) -> str:
    """Where the copy's detections dataset lives: beside the predictions' prefix (`predictions/` ->
    `detections/`, `copy/predictions/` -> `copy/detections/`), never inside it (the predictions' Glue
    table reads every file under its prefix)."""
    parent = copy_prefix.strip("/").rpartition("/")[0]
    return f"{parent}/{DETECTIONS}/" if parent else f"{DETECTIONS}/"


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
    dataset: str = PREDICTIONS  # which day file they go to: the records (PREDICTIONS) or their boxes

    @property
    def touched(self) -> set[tuple[str, str]]:
        return set(self.puts) | self.removals

    def of(self, dataset: str) -> DayChanges:
        """The same changes, for the day file of `dataset` (PREDICTIONS or DETECTIONS)."""
        if dataset not in _DAY_TABLES:
            raise ValueError(f"no dataset {dataset!r}")
        return replace(self, dataset=dataset)


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


def conformed(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with exactly `schema`'s columns: a day file written before a column existed (the detector's
    `counts`, `detections`, ...) gets it empty, and one no longer written is dropped."""
    import pyarrow as pa

    columns = [
        table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type) for f in schema
    ]
    return pa.table(columns, schema=schema)


def merge_day(existing: pa.Table | None, changes: DayChanges) -> pa.Table:
    """A day's table (of `changes.dataset`: the records, or their boxes) with `changes` applied: rows of
    touched records replaced or dropped. Idempotent, so a retried stream batch writes the same file."""
    import pyarrow as pa
    import pyarrow.compute as pc

    new_rows = _DAY_TABLES[changes.dataset](changes.puts.values())
    if existing is None or existing.num_rows == 0:
        merged = new_rows
    else:
        touched = pa.array(sorted(f"{oid}\n{model}" for oid, model in changes.touched), pa.string())
        identity = pc.binary_join_element_wise(existing["object_id"], existing["model"], "\n")
        kept = existing.filter(pc.invert(pc.is_in(identity, value_set=touched)))
        merged = pa.concat_tables([conformed(kept, new_rows.schema), new_rows])
    if merged.num_rows == 0:
        return merged
    order = [("uploaded_at", "ascending"), ("object_id", "ascending"), ("model", "ascending")]
    if changes.dataset == DETECTIONS:  # a record's boxes, highest score first, as the record lists them
        order += [("score", "descending"), *((edge, "ascending") for edge in BOX_EDGES)]
    return merged.sort_by(order)


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
