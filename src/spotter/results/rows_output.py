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


def decimal_text(value: Decimal) -> str:
    """A DECIMAL (or a HUGEINT, which DuckDB hands over as a DECIMAL of scale 0) as written: every
    digit and the scale it has (`1.50`), an integer as an integer (`11362542`), never through a double."""
    if not value.is_finite():
        return str(value)
    if value.as_tuple().exponent >= 0:  # type: ignore[operator]  # an int for a finite Decimal
        return str(int(value))
    return format(value, "f")


def _plain(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):  # BLOBs as hex, in every format
        return bytes(value).hex()
    if isinstance(value, Decimal):
        return int(value) if value.is_finite() and value.as_tuple().exponent >= 0 else decimal_text(value)  # type: ignore[operator]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def json_text(value: object) -> str:
    """`value` as JSON with exact numbers: an integer (a HUGEINT too) as its digits, a float as its
    shortest round-trip form, a DECIMAL as written (`1.50`, a JSON number, never through a double)."""
    if isinstance(value, Decimal) and value.is_finite():
        return decimal_text(value)
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k), ensure_ascii=False)}: {json_text(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(json_text(v) for v in value) + "]"
    return json.dumps(_plain(value), ensure_ascii=False, default=str)


# C0 and C1 controls, DEL, and the bidirectional overrides and isolates: a drone's file name must not
# retitle, recolour or rewrite the analyst's terminal, nor reverse what follows it.
_UNPRINTABLE = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_UNPRINTABLE.update({c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})


def printable(text: str) -> str:
    """`text` for a terminal: control characters shown as escapes (`\\x1b`), never obeyed."""
    return text.translate(_UNPRINTABLE)


def _needs_exact_json(value: object) -> bool:
    """A value json.dumps would not write exactly: a DECIMAL with a fraction, or a list or struct (which
    may hold one)."""
    if isinstance(value, Decimal):
        return not (value.is_finite() and value.as_tuple().exponent >= 0)  # type: ignore[operator]
    return isinstance(value, (list, tuple, dict))


def _json_row(columns: list[str], row: tuple[object, ...]) -> str:
    if any(_needs_exact_json(v) for v in row):
        return json_text(dict(zip(columns, row)))
    return json.dumps(dict(zip(columns, map(_plain, row))), ensure_ascii=False, default=str)  # the fast way


def _cell(value: object) -> str:
    """A value as text, exactly: a float as its shortest round-trip form (`0.914062`), an integer as
    an integer, a DECIMAL as written; a list or struct as exact JSON."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, (list, tuple, dict)):
        return printable(json_text(value))
    return printable(str(_plain(value)))


def _whole(column: str, value: object) -> bool:
    """A table cell never cut short: a number (a cut number reads as another number), and a model id,
    which is pasted back into `--model` (any column whose name says model: model, model_version...)."""
    return isinstance(value, (int, float, Decimal)) or "model" in column.casefold()


def _csv_value(value: object, excel: bool) -> str:
    if value is None:
        return ""
    text = _cell(value)
    # the formula guard is for spreadsheets (--excel); and a number is data, never a formula
    return str(csv_cell(text)) if excel and isinstance(value, str) else text


def write_rows(
    columns: list[str],
    rows: Sequence[tuple[object, ...]],
    fmt: str,
    stream: TextIO,
    noun: str = "row",
    excel: bool = False,
) -> int:
    return write_row_chunks(columns, [rows], fmt, stream, noun, excel=excel)[0]


def write_row_chunks(
    columns: list[str],
    chunks: Iterable[Sequence[tuple[object, ...]]],
    fmt: str,
    stream: TextIO,
    noun: str = "row",
    max_rows: int | None = None,
    excel: bool = False,
) -> tuple[int, bool]:
    """Write rows as they come, a chunk at a time (memory bounded by a chunk, whatever the total);
    stop after `max_rows`. A terminal table sizes its columns on the first chunk and clips later
    text to those widths (never a number or a model id: those are shown whole). Numbers are exact in
    every format. CSV is plain; `excel` adds the formula guard (spotter.results.export.csv_cell).
    Returns how many rows were written, and whether `max_rows` left some out."""
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
                stream.write(("\n" if count == 0 else ",\n") + _json_row(columns, r))
                count += 1
        elif fmt == "csv":
            writer.writerows([_csv_value(v, excel) for v in r] for r in rows)
            count += len(rows)
        else:
            cells = [[_cell(v) for v in r] for r in rows]
            whole = [[_whole(c, v) for c, v in zip(columns, r)] for r in rows]
            if cells:
                if widths is None:
                    widths = [
                        max([len(c)] + [len(r[i]) if w[i] else min(40, len(r[i])) for r, w in zip(cells, whole)])
                        for i, c in enumerate(columns)
                    ]
                    stream.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
                for values, keep in zip(cells, whole):
                    clipped = [v if len(v) <= w or k else v[: w - 1] + "…" for v, w, k in zip(values, widths, keep)]
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
