"""Flat, typed rows of prediction records for CSV, JSON lines and Parquet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any, TextIO

from spotter.records import PredictionRecord, capture_fields

# (column, type) in output order: every field of a record. The names and types are what
# `spotter sql` and the Athena table (infra/template.yaml, PredictionsGlueTable) call them.
# "topk" is a list of {label, score} in Parquet and "label:score|label:score" in CSV.
# positive_score is a two-label card's positive label's score (calibrated when the card says how), the
# number its decision is taken on; domain_distance the card's domain check (out_of_domain past it).
# captured_at is the capture instant in UTC when the camera recorded an offset; captured_at_local is
# the camera's wall-clock time when it did not (its offset unknown): one of the two, or neither.
# An object detector's record (task "detect") adds "counts" (objects per label: a map of string to
# int in Parquet, SQL and Athena, JSON text in CSV), "objects" (their total), "tiles", "tiling", and
# "detections", its boxes (a list of {label, score, box [x_min, y_min, x_max, y_max]} in Parquet;
# not in CSV, where up to 300 boxes make no cell: JSON lines, Parquet or SQL's table `detections`).
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
    ("positive_score", "float"),
    ("domain_distance", "float"),
    ("truth", "string"),
    ("model_name", "string"),
    ("model_version", "string"),
    ("decode_ms", "float"),
    ("preprocess_ms", "float"),
    ("inference_ms", "float"),
    ("task", "string"),
    ("counts", "counts"),
    ("objects", "int"),
    ("tiles", "int"),
    ("tiling", "string"),
    ("detections", "boxes"),
    ("upload_day", "string"),
]
COLUMN_NAMES = [name for name, _ in COLUMNS]
CSV_LEFT_OUT = ("detections",)  # a detector's boxes: JSON lines, Parquet and SQL carry them, CSV does not
CSV_COLUMN_NAMES = [name for name in COLUMN_NAMES if name not in CSV_LEFT_OUT]


def is_detection(record: PredictionRecord) -> bool:
    """An object detector's record (spotter.records.apply_detection): it counts objects per label."""
    return record.task == "detect"


def detection_list(record: PredictionRecord) -> list[dict[str, Any]] | None:
    """The record's boxes as every output types them: {label, score, box: [x_min, y_min, x_max, y_max]}
    with numbers as floats (DynamoDB hands back a whole number, e.g. a box edge at 1, as an int); None
    for a classifier's record, an empty list for a detector's that found nothing."""
    if not is_detection(record) and not record.detections:
        return None
    return [
        {
            "label": str(d.get("label")),
            "score": float(d["score"]),
            "box": [float(v) for v in d.get("box") or []],
        }
        for d in record.detections
    ]


def row(record: PredictionRecord) -> dict[str, Any]:
    """The record's values by column; `top` as a list of {label, score}, times as ISO strings."""
    values = {name: getattr(record, name, None) for name in COLUMN_NAMES}
    values["top"] = [{"label": t["label"], "score": float(t["score"])} for t in record.top]
    values.update(capture_fields(record.captured_at))
    values["counts"] = {str(k): int(v) for k, v in record.counts.items()} if record.counts is not None else None
    values["detections"] = detection_list(record)
    return values


def counts_text(counts: dict[str, int] | None) -> str | None:
    """`counts` as CSV holds it: JSON text, most numerous first (`{"dog": 2, "cat": 1}`; `{}` when a
    detector found nothing); None for a classifier's record."""
    return None if counts is None else json.dumps(counts, ensure_ascii=False)


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
    writer = csv.DictWriter(stream, fieldnames=CSV_COLUMN_NAMES, lineterminator="\r\n")
    if header:
        writer.writeheader()
    for record in records:
        values = row(record)
        values["top"] = top_text(values["top"])
        values["counts"] = counts_text(values["counts"])
        for name in CSV_LEFT_OUT:
            del values[name]
        if formula_guard:
            writer.writerow({k: csv_cell(v) for k, v in values.items()})
        else:
            writer.writerow({k: "" if v is None else v for k, v in values.items()})


def to_csv(records: Iterable[PredictionRecord], header: bool = True, formula_guard: bool = False) -> str:
    buffer = io.StringIO()
    write_csv(records, buffer, header, formula_guard)
    return buffer.getvalue()
