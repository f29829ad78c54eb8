"""Write plain result rows (stats, SQL answers) as a terminal table, CSV or JSON, chunk by chunk."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TextIO

from spotter.results.export import csv_cell

ROW_FORMATS = ("table", "csv", "json")


def _plain(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):  # BLOBs as hex, in every format
        return bytes(value).hex()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# C0 and C1 controls, DEL, and the bidirectional overrides and isolates: a drone's file name must not
# retitle, recolour or rewrite the analyst's terminal, nor reverse what follows it.
_UNPRINTABLE = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_UNPRINTABLE.update({c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})


def printable(text: str) -> str:
    """`text` for a terminal: control characters shown as escapes (`\\x1b`), never obeyed."""
    return text.translate(_UNPRINTABLE)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, (list, dict)):
        return printable(json.dumps(_plain(value), ensure_ascii=False, default=str))
    return printable(str(_plain(value)))


def write_rows(
    columns: list[str], rows: Sequence[tuple[object, ...]], fmt: str, stream: TextIO, noun: str = "row"
) -> int:
    return write_row_chunks(columns, [rows], fmt, stream, noun)[0]


def write_row_chunks(
    columns: list[str],
    chunks: Iterable[Sequence[tuple[object, ...]]],
    fmt: str,
    stream: TextIO,
    noun: str = "row",
    max_rows: int | None = None,
) -> tuple[int, bool]:
    """Write rows as they come, a chunk at a time (memory bounded by a chunk, whatever the total);
    stop after `max_rows`. A terminal table sizes its columns on the first chunk and clips later
    values to those widths. Returns how many rows were written, and whether `max_rows` left some out."""
    count, more = 0, False
    chunks = iter(chunks)
    widths: list[int] | None = None
    if fmt == "json":
        stream.write("[")
    elif fmt == "csv":
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(columns)
    for rows in chunks:
        if max_rows is not None:
            more = len(rows) > max_rows - count
            rows = rows[: max_rows - count]
        if fmt == "json":
            for r in rows:
                stream.write(
                    ("\n" if count == 0 else ",\n")
                    + json.dumps(dict(zip(columns, map(_plain, r))), ensure_ascii=False, default=str)
                )
                count += 1
        elif fmt == "csv":
            writer.writerows([csv_cell(_cell(v) if v is not None else None) for v in r] for r in rows)
            count += len(rows)
        else:
            cells = [[_cell(v) for v in r] for r in rows]
            if cells:
                if widths is None:
                    widths = [min(40, max([len(c)] + [len(r[i]) for r in cells])) for i, c in enumerate(columns)]
                    stream.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
                for values in cells:
                    clipped = [v if len(v) <= w else v[: w - 1] + "…" for v, w in zip(values, widths)]
                    stream.write("  ".join(v.ljust(w) for v, w in zip(clipped, widths)).rstrip() + "\n")
            count += len(rows)
        if max_rows is not None and count >= max_rows:
            more = more or any(len(rest) for rest in chunks)
            break
    if fmt == "json":
        stream.write("\n]\n" if count else "]\n")
    elif fmt == "table":
        if widths is None:
            stream.write("  ".join(columns) + "\n")
        stream.write(f"({count}{'+' if more else ''} {noun}{'s' if count != 1 else ''})\n")
    return count, more
