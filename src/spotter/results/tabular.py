"""Write prediction records as a terminal table, CSV, JSON lines or Parquet (typed columns)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from spotter.files import replaced
from spotter.records import PredictionRecord, capture_fields, parse_time
from spotter.results.export import COLUMNS, is_detection, row, write_csv
from spotter.results.rows_output import write_rows

if TYPE_CHECKING:  # imported where used: pyarrow is an optional dependency
    import pyarrow as pa

FORMATS = ("table", "csv", "jsonl", "parquet")
_TABLE_COLUMNS = [
    "file_name",
    "source",
    "batch",
    "status",
    "decision",  # the card's thresholded decision, beside the raw top label and its score
    "label",
    "score",
    "uploaded_at",
    "captured_at",
    "captured_at_local",
    "latitude",
    "longitude",
    "model",  # the whole id, name@version, as `--model` takes it (never cut: spotter.results.rows_output)
    "reason",
]


_DETECTION_TABLE_COLUMNS = ["objects", "counts"]  # beside `score`, when some records are a detector's
# beside `decision`, when some records have a card's decision: the number it was taken on and where
_DECISION_TABLE_COLUMNS = ["positive_score", "threshold"]
_THRESHOLD = re.compile(r" if its score >= ([0-9.]+)")


def threshold_of(record: PredictionRecord) -> float | None:
    """The threshold the record's decision was taken at (from its decision_rule), None without one."""
    found = _THRESHOLD.search(record.decision_rule or "")
    return float(found.group(1)) if found else None


def write_table(records: list[PredictionRecord], stream: TextIO) -> None:
    columns = list(_TABLE_COLUMNS)
    if any(r.decision_rule for r in records):
        at = columns.index("decision") + 1
        columns[at:at] = _DECISION_TABLE_COLUMNS
    if any(is_detection(r) for r in records):
        at = columns.index("score") + 1
        columns[at:at] = _DETECTION_TABLE_COLUMNS
    rows: list[tuple[object, ...]] = []
    for record in records:
        values = {
            **{c: getattr(record, c, None) for c in columns},
            **capture_fields(record.captured_at),
            "threshold": threshold_of(record),
        }
        if values.get("positive_score") is None and record.decision_rule:  # written before positive_score was
            from spotter.results.stats import distribution_score

            values["positive_score"] = distribution_score(record)
        rows.append(tuple(values[c] for c in columns))
    write_rows(columns, rows, "table", stream, noun="record")


def write_jsonl(records: Iterable[PredictionRecord], stream: TextIO) -> None:
    for record in records:
        data = record.as_dict()
        data.pop("sequencer", None)
        data.update(capture_fields(record.captured_at))  # both keys, as in CSV, Parquet and SQL
        stream.write(json.dumps(data, ensure_ascii=False) + "\n")


def timestamp_value(value: str | None) -> datetime | None:
    if not value:
        return None
    return parse_time(value)


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _int64(value: object) -> int | None:
    """A whole-number column's value as Arrow's int64 takes it: None (null) for one that is not a
    whole number or does not fit (a size declared by a client before sizes were bounded), rather
    than an OverflowError for the whole file."""
    try:
        number = int(value)  # type: ignore[call-overload]  # anything a record may hold
    except (TypeError, ValueError, OverflowError):
        return None
    if isinstance(value, float) and number != value:
        return None
    return number if INT64_MIN <= number <= INT64_MAX else None


def float64_value(value: object) -> float | None:
    """A number column's value as a double; None for one a double cannot hold (an integer past 1e308)."""
    try:
        return float(value)  # type: ignore[arg-type]  # anything a record may hold
    except (TypeError, ValueError, OverflowError):
        return None


def parquet_schema() -> pa.Schema:
    """The typed columns (spotter.results.export.COLUMNS) as an Arrow schema: what `spotter export`, `spotter sql`
    and the Athena copy write. A detector's `counts` is a map (string to int64, most numerous first),
    its `detections` a list of {label, score, box: list of 4 doubles}."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "float": pa.float64(),
        "int": pa.int64(),
        "timestamp": pa.timestamp("ms", tz="UTC"),
        "local_timestamp": pa.timestamp("ms"),
        "topk": pa.list_(pa.struct([("label", pa.string()), ("score", pa.float64())])),
        "counts": pa.map_(pa.string(), pa.int64()),
        "boxes": pa.list_(
            pa.struct([("label", pa.string()), ("score", pa.float64()), ("box", pa.list_(pa.float64()))])
        ),
    }
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS])


def arrow_table(records: Iterable[PredictionRecord], drop: tuple[str, ...] = ()) -> pa.Table:
    """Records as an Arrow table of the typed columns (less `drop`, e.g. a partition column)."""
    import pyarrow as pa

    schema = parquet_schema()
    for name in drop:
        schema = schema.remove(schema.get_field_index(name))
    columns: dict[str, list[object]] = {field.name: [] for field in schema}
    kinds = dict(COLUMNS)
    for record in records:
        values = row(record)
        for name, column in columns.items():
            value, kind = values[name], kinds[name]
            if kind in ("timestamp", "local_timestamp"):
                value = timestamp_value(value)
            elif kind == "float" and value is not None:
                value = float64_value(value)
            elif kind == "int" and value is not None:
                value = _int64(value)
            elif kind == "counts" and value is not None:
                value = [(label, _int64(n)) for label, n in value.items()]  # a map, in the order counted
            column.append(value)
    return pa.table(columns, schema=schema)


def write_parquet(records: Iterable[PredictionRecord], path: Path) -> None:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise SystemExit("Parquet output needs pyarrow: pip install pyarrow") from None
    pq.write_table(arrow_table(records), path, compression="zstd")


EXCEL_BOM = "\ufeff"  # only with --excel: Excel needs it to read UTF-8, many other CSV readers choke on it


def write(records: list[PredictionRecord], fmt: str, output: Path | None, excel: bool = False) -> None:
    """`output` None or `-`: standard output (text formats only; the CLI refuses Parquet there)."""
    to_stdout = output is None or str(output) == "-"
    if fmt == "parquet":
        if output is None or to_stdout:
            raise ValueError("--output FILE is required for Parquet")
        with replaced(output) as temporary:  # whole or not at all: the old file stays on a failure
            write_parquet(records, temporary)
        return

    def csv_writer(records: list[PredictionRecord], stream: TextIO) -> None:
        write_csv(records, stream, formula_guard=excel)  # plain CSV is plain: the guard only with --excel

    writers: dict[str, Callable[[list[PredictionRecord], TextIO], None]]
    writers = {"table": write_table, "csv": csv_writer, "jsonl": write_jsonl}
    writer = writers[fmt]
    prefix = EXCEL_BOM if excel and fmt == "csv" else ""
    if output is None or to_stdout:
        sys.stdout.write(prefix)
        writer(records, sys.stdout)
    else:
        with replaced(output) as temporary, open(temporary, "w", encoding="utf-8", newline="") as stream:
            stream.write(prefix)
            writer(records, stream)
