"""Replies that stay under API Gateway and Lambda's 6 MB response limit, whatever the records hold."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from spotter.records import PredictionRecord
from spotter.results.export import to_csv
from spotter.results.query import PredictionQuery, RunQuery

RESPONSE_BUDGET_BYTES = 5_000_000  # Lambda allows 6 MB; headers, JSON escaping and base64 are not in it


def json_page(
    fetch: RunQuery,
    query: PredictionQuery,
    render: Callable[[PredictionRecord], dict[str, Any]],
    budget: int = RESPONSE_BUDGET_BYTES,
) -> dict[str, Any]:
    """`{"items", "next"}` for one page; a page over the budget is fetched again with half the limit
    (its cursor then points just past the smaller page, so nothing is skipped)."""
    while True:
        records, cursor = fetch(query)
        reply = {"items": [render(r) for r in records], "next": cursor}
        # measured as the handler writes it: ASCII with \u escapes (an emoji is 12 bytes, not 4)
        if query.limit == 1 or len(json.dumps(reply).encode()) <= budget:
            return reply
        query = query.replace(limit=max(1, query.limit // 2))


CSV_READ_ROWS = 500  # records per internal read of a CSV reply, whatever the client's `limit`


def csv_pages(
    fetch: RunQuery,
    query: PredictionQuery,
    budget: int = RESPONSE_BUDGET_BYTES,
    rows: int | None = None,
    read_rows: int = CSV_READ_ROWS,
) -> tuple[str, str | None]:
    """Whole pages of CSV up to the budget, and the cursor for the rest (None when all were read).
    A page that would cross the budget is left for the next request, not cut.

    `rows`: at most this many records in this reply (the route's `limit`); None: as many as fit.
    The reads are `read_rows` records each (fewer only for the last few of `rows`, or when one read
    alone is over the budget), never `query.limit`: a client's `limit=1` is one small reply, not one
    read per record (every read past the first starts from a cursor, which moto finds by walking
    the table from its start: tiny reads made a whole export quadratic)."""
    parts: list[str] = []
    size = taken = 0
    step = read_rows
    while True:
        want = step if rows is None else min(step, rows - taken)
        records, cursor = fetch(query.replace(limit=want))
        text = to_csv(records, header=not parts, formula_guard=True)  # the web page's download: for spreadsheets
        if size + len(text.encode()) > budget:
            if parts:
                return "".join(parts), query.cursor
            if want > 1:  # one read alone is too big: smaller reads
                step = max(1, want // 2)
                continue
        parts.append(text)
        size += len(text.encode())
        taken += len(records)
        if not cursor or size >= budget or (rows is not None and taken >= rows):
            return "".join(parts), cursor
        query = query.replace(cursor=cursor)
