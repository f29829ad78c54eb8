"""Write prediction records as a terminal table, CSV, JSON lines or Parquet (typed columns)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Iterable

from .export import COLUMN_NAMES, COLUMNS, row, write_csv
from .records import PredictionRecord

FORMATS = ("table", "csv", "jsonl", "parquet")
_TABLE_COLUMNS = ["file_name", "source", "batch", "status", "label", "score", "uploaded_at", "captured_at",
                  "latitude", "longitude", "model_version", "reason"]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def write_table(records: list[PredictionRecord], stream) -> None:
    rows = [[_cell(row(r).get(c, getattr(r, c, None))) for c in _TABLE_COLUMNS] for r in records]
    widths = [min(40, max([len(c)] + [len(r[i]) for r in rows])) for i, c in enumerate(_TABLE_COLUMNS)]
    stream.write("  ".join(c.ljust(w) for c, w in zip(_TABLE_COLUMNS, widths)).rstrip() + "\n")
    for values in rows:
        clipped = [v if len(v) <= w else v[: w - 1] + "…" for v, w in zip(values, widths)]
        stream.write("  ".join(v.ljust(w) for v, w in zip(clipped, widths)).rstrip() + "\n")
    stream.write(f"({len(records)} record{'s' if len(records) != 1 else ''})\n")


def write_jsonl(records: Iterable[PredictionRecord], stream) -> None:
    for record in records:
        data = record.as_dict()
        data.pop("sequencer", None)
        stream.write(json.dumps(data, ensure_ascii=False) + "\n")


def _timestamp(value: str | None):
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def write_parquet(records: Iterable[PredictionRecord], path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise SystemExit("Parquet output needs pyarrow: pip install pyarrow") from None
    types = {"string": pa.string(), "float": pa.float64(), "int": pa.int64(), "timestamp": pa.timestamp("ms", tz="UTC")}
    schema = pa.schema([(name, types[kind]) for name, kind in COLUMNS])
    columns: dict[str, list] = {name: [] for name in COLUMN_NAMES}
    for record in records:
        values = row(record)
        for name, kind in COLUMNS:
            value = values[name]
            if kind == "timestamp":
                value = _timestamp(value)
            elif kind == "float" and value is not None:
                value = float(value)
            elif kind == "int" and value is not None:
                value = int(value)
            columns[name].append(value)
    pq.write_table(pa.table(columns, schema=schema), path, compression="zstd")


def write(records: list[PredictionRecord], fmt: str, output: Path | None) -> None:
    if fmt == "parquet":
        if output is None:
            raise SystemExit("--output FILE is required for Parquet")
        write_parquet(records, output)
        return
    writer = {"table": write_table, "csv": write_csv, "jsonl": write_jsonl}[fmt]
    if output is None:
        writer(records, sys.stdout)
    else:
        with open(output, "w", encoding="utf-8", newline="") as stream:
            writer(records, stream)
