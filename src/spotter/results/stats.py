"""Counts and score summaries of prediction records, grouped by any of their dimensions."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from spotter.records import PredictionRecord
from spotter.results.query import PredictionQuery, QueryError, RunQuery, all_pages, plan

DIMENSIONS: dict[str, Callable[[PredictionRecord], str | None]] = {
    "label": lambda r: r.label,
    "source": lambda r: r.source,
    "batch": lambda r: r.batch,
    "status": lambda r: r.status,
    "decision": lambda r: r.decision,  # the card's decision at its threshold ("uncertain" in its band)
    "model": lambda r: r.model,
    "day": lambda r: r.upload_day,  # upload day (UTC)
    "capture_day": lambda r: r.captured_at[:10] if r.captured_at else None,  # as the camera dated it
}
SUMMARY_COLUMNS = ["count", "mean_score", "min_score", "max_score"]


def parse_dimensions(text: str | None) -> tuple[str, ...]:
    names = tuple(n.strip() for n in (text or "label").split(",") if n.strip())
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown or not names:
        raise QueryError(f"by must name some of {', '.join(DIMENSIONS)} (comma-separated), got {text!r}")
    if len(set(names)) != len(names):
        raise QueryError(f"by names a field twice: {text!r}")
    return names


def scans(query: PredictionQuery) -> bool:
    """True when no batch, source, label or time window of up to 92 days narrows the query to an index."""
    return plan(query)[0].index is None


@dataclass
class _Group:
    count: int = 0
    scored: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, score: float | None) -> None:
        self.count += 1
        if score is not None:
            self.scored += 1
            self.total += score
            self.low, self.high = min(self.low, score), max(self.high, score)


def summarise(records: Iterable[PredictionRecord], by: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per group: the group's fields, then count, mean/min/max score (None where no record of
    the group has a score, e.g. rejected ones). Largest groups first, then by the fields."""
    groups: dict[tuple[str | None, ...], _Group] = {}
    for record in records:
        key = tuple(DIMENSIONS[name](record) for name in by)
        groups.setdefault(key, _Group()).add(record.score)
    rows: list[dict[str, Any]] = []
    for key, group in groups.items():
        rows.append(
            {
                **dict(zip(by, key)),
                "count": group.count,
                "mean_score": round(group.total / group.scored, 6) if group.scored else None,
                "min_score": group.low if group.scored else None,
                "max_score": group.high if group.scored else None,
            }
        )
    rows.sort(key=lambda r: (-r["count"], tuple((v is None, v or "") for v in (r[n] for n in by))))
    return rows


def matching_records(
    run_query: RunQuery,
    query: PredictionQuery,
    max_records: int | None = None,
) -> Iterable[PredictionRecord]:
    """Every record `query` matches, page by page through `run_query` (a port: query -> (records, cursor)).
    Past `max_records` it stops with a QueryError rather than answer with part of the count."""
    seen = 0
    for page in all_pages(run_query, query.replace(limit=1000, cursor=None)):
        seen += len(page)
        if max_records is not None and seen > max_records:
            raise QueryError(
                f"more than {max_records} records match: narrow the filters "
                "(batch, source, label, since/until) or query the Athena copy"
            )
        yield from page
