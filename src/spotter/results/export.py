"""Flat, typed rows of prediction records for CSV, JSON lines and Parquet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any, TextIO

from spotter.records import PredictionRecord, capture_fields

# (column, type) in output order: every field of a record. The names and types are what
# `spotter sql` and the Athena table (infra/template.yaml, PredictionsGlueTable) call them.
# "topk" is a list of {label, score} in Parquet and "label:score|label:score" in CSV.
# captured_at is the capture instant in UTC when the camera recorded an offset; captured_at_local is
# the camera's wall-clock time when it did not (its offset unknown): one of the two, or neither.
COLUMNS: list[tuple[str, str]] = [
    ("object_id", "string"),
    ("model", "string"),
    ("file_name", "string"),
    ("key", "string"),
    ("bucket", "string"),
    ("etag", "string"),
    ("version_id", "string"),
    ("source", "string"),
    ("batch", "string"),
    ("status", "string"),
    ("label", "string"),
    ("score", "float"),
    ("reason", "string"),
    ("top", "topk"),
    ("width", "int"),
    ("height", "int"),
    ("format", "string"),
    ("frames", "int"),
    ("size", "int"),
    ("uploaded_at", "timestamp"),
    ("classified_at", "timestamp"),
    ("captured_at", "timestamp"),
    ("captured_at_local", "local_timestamp"),
    ("latitude", "float"),
    ("longitude", "float"),
    ("altitude", "float"),
    ("camera", "string"),
    ("decision", "string"),
    ("decision_rule", "string"),
    ("model_name", "string"),
    ("model_version", "string"),
    ("decode_ms", "float"),
    ("preprocess_ms", "float"),
    ("inference_ms", "float"),
    ("upload_day", "string"),
]
COLUMN_NAMES = [name for name, _ in COLUMNS]


def row(record: PredictionRecord) -> dict[str, Any]:
    """The record's values by column; `top` as a list of {label, score}, times as ISO strings."""
    values = {name: getattr(record, name, None) for name in COLUMN_NAMES}
    values["top"] = [{"label": t["label"], "score": float(t["score"])} for t in record.top]
    values.update(capture_fields(record.captured_at))
    return values


def top_text(top: list[dict[str, Any]]) -> str | None:
    """`label:score|...`, each score as exactly as the `score` column holds it (shortest round trip)."""
    return "|".join(f"{t['label']}:{float(t['score'])!r}" for t in top) or None


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """The formula guard, for CSV meant for a spreadsheet: a text cell that a spreadsheet would run as a
    formula (a file name or camera string from a drone, `=HYPERLINK(...)`, `-10m_north.jpg`) prefixed
    with `'`. Only there: plain CSV (for pandas, DuckDB, R) keeps every value as it is."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(
    records: Iterable[PredictionRecord], stream: TextIO, header: bool = True, formula_guard: bool = False
) -> None:
    """The one CSV writer (API and CLI). RFC 4180 line ends: Python 3.11/3.12's writer quotes a field
    holding a character of the line terminator, so with "\r\n" a bare "\r" is quoted too (with "\n"
    it was not, and spreadsheets read the text after it as a new row). Plain values unless
    `formula_guard` (`--excel`, and the web page's download, which opens in a spreadsheet): csv_cell."""
    writer = csv.DictWriter(stream, fieldnames=COLUMN_NAMES, lineterminator="\r\n")
    if header:
        writer.writeheader()
    for record in records:
        values = row(record)
        values["top"] = top_text(values["top"])
        if formula_guard:
            writer.writerow({k: csv_cell(v) for k, v in values.items()})
        else:
            writer.writerow({k: "" if v is None else v for k, v in values.items()})


def to_csv(records: Iterable[PredictionRecord], header: bool = True, formula_guard: bool = False) -> str:
    buffer = io.StringIO()
    write_csv(records, buffer, header, formula_guard)
    return buffer.getvalue()
