"""Flat, typed rows of prediction records for CSV, JSON lines and Parquet."""

from __future__ import annotations

import csv
import io
from typing import Iterable

from .records import PredictionRecord

# (column, type) in output order; types drive Parquet schemas and CSV formatting
COLUMNS: list[tuple[str, str]] = [
    ("object_id", "string"),
    ("file_name", "string"),
    ("key", "string"),
    ("bucket", "string"),
    ("source", "string"),
    ("batch", "string"),
    ("status", "string"),
    ("label", "string"),
    ("score", "float"),
    ("reason", "string"),
    ("top", "string"),
    ("width", "int"),
    ("height", "int"),
    ("format", "string"),
    ("size", "int"),
    ("uploaded_at", "timestamp"),
    ("classified_at", "timestamp"),
    ("captured_at", "timestamp"),
    ("latitude", "float"),
    ("longitude", "float"),
    ("altitude", "float"),
    ("camera", "string"),
    ("model_name", "string"),
    ("model_version", "string"),
    ("decode_ms", "float"),
    ("inference_ms", "float"),
]
COLUMN_NAMES = [name for name, _ in COLUMNS]


def row(record: PredictionRecord) -> dict:
    values = {name: getattr(record, name, None) for name in COLUMN_NAMES}
    values["top"] = "|".join(f"{t['label']}:{t['score']:.4f}" for t in record.top) or None
    return values


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        # A file name or camera string from a drone would otherwise run as a spreadsheet formula.
        return "'" + value
    return value


def write_csv(records: Iterable[PredictionRecord], stream, header: bool = True) -> None:
    """The one CSV writer (API and CLI). RFC 4180 line ends: Python 3.11/3.12's writer quotes a field
    holding a character of the line terminator, so with "\r\n" a bare "\r" is quoted too (with "\n"
    it was not, and spreadsheets read the text after it as a new row)."""
    writer = csv.DictWriter(stream, fieldnames=COLUMN_NAMES, lineterminator="\r\n")
    if header:
        writer.writeheader()
    for record in records:
        writer.writerow({k: csv_cell(v) for k, v in row(record).items()})


def to_csv(records: Iterable[PredictionRecord], header: bool = True) -> str:
    buffer = io.StringIO()
    write_csv(records, buffer, header)
    return buffer.getvalue()
