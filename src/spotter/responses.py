"""Replies that stay under API Gateway and Lambda's 6 MB response limit, whatever the records hold."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .export import to_csv
from .query import PredictionQuery, RunQuery
from .records import PredictionRecord

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


def csv_pages(fetch: RunQuery, query: PredictionQuery, budget: int = RESPONSE_BUDGET_BYTES) -> tuple[str, str | None]:
    """Whole pages of CSV up to the budget, and the cursor for the rest (None when all were read).
    A page that would cross the budget is left for the next request, not cut."""
    parts: list[str] = []
    size = 0
    while True:
        records, cursor = fetch(query)
        text = to_csv(records, header=not parts)
        if size + len(text.encode()) > budget:
            if parts:
                return "".join(parts), query.cursor
            if query.limit > 1:  # one page alone is too big: smaller pages
                query = query.replace(limit=max(1, query.limit // 2))
                continue
        parts.append(text)
        size += len(text.encode())
        if not cursor or size >= budget:
            return "".join(parts), cursor
        query = query.replace(cursor=cursor)
