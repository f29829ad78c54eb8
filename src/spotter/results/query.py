"""What analysts and the web page ask of the predictions table, and which index answers it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from spotter.keys import DRONES_PREFIX, UPLOADS_PREFIX, WEB_SOURCE
from spotter.records import STATUSES, PredictionRecord, normalise_time, parse_time


class QueryError(ValueError):
    pass


def _is_iso_time(value: str) -> bool:
    try:
        parse_time(value)
    except ValueError:
        return False
    return True


_TIME_HINT = "an ISO 8601 date or time (2026-11-01 or 2026-11-01T08:00:00Z)"


def capture_bound(value: str) -> str:
    """A capture-time filter bound as UTC wall-clock text with no zone (`2026-10-10T06:00:00.000`).
    Stored capture times are a UTC instant (`...000Z`) or a camera's clock with its offset unknown
    (`...000`, no zone); compared as text with this form, both sort right at the bound: an instant
    by its UTC time, a camera's clock as its face value read as UTC."""
    moment = parse_time(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds")


def _as_typed(value: float) -> str:
    """A number as the caller typed it, near enough: `91`, not `91.0`; `-33.95`."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """`south,west,north,east` as four numbers; a QueryError naming the part that is not one (the range
    is PredictionQuery's to check: bbox_problem)."""
    parts = text.split(",")
    if len(parts) != 4:
        raise QueryError(f"bbox is four numbers, south,west,north,east in degrees; got {len(parts)} in {text[:100]!r}")
    numbers: list[float] = []
    for name, part in zip(("south", "west", "north", "east"), parts):
        try:
            numbers.append(float(part))
        except ValueError:
            raise QueryError(f"bbox {name} {part.strip()[:40]!r} is not a number, in {text[:100]!r}") from None
    return numbers[0], numbers[1], numbers[2], numbers[3]


def bbox_problem(bbox: tuple[float, float, float, float]) -> str | None:
    """Why `bbox` (south, west, north, east in degrees) is no box, naming the value at fault; None if it is
    one. A west greater than east is a box across the antimeridian, not a fault."""
    south, west, north, east = bbox
    for name, value, kind, limit in (
        ("south", south, "latitude", 90),
        ("west", west, "longitude", 180),
        ("north", north, "latitude", 90),
        ("east", east, "longitude", 180),
    ):
        if not -limit <= value <= limit:  # NaN too
            return f"bbox {name} {_as_typed(value)} is out of range: a {kind} is between -{limit} and {limit}"
    if south > north:
        return (
            f"bbox south {_as_typed(south)} is north of north {_as_typed(north)}: "
            "give south,west,north,east with south <= north"
        )
    return None


@dataclass(frozen=True)
class PredictionQuery:
    batch: str | None = None
    source: str | None = None
    label: str | None = None
    status: str | None = None
    since: str | None = None  # uploaded_at >= since (ISO 8601 UTC)
    until: str | None = None  # uploaded_at < until
    captured_since: str | None = None
    captured_until: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    bbox: tuple[float, float, float, float] | None = None  # south, west, north, east
    model: str | None = None  # "name@version"; None: every model version
    owner: str | None = None  # a researcher's tag (spotter.keys.owner_of): their web records only
    limit: int = 100
    cursor: str | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise QueryError(f"status must be {', '.join(STATUSES[:-1])} or {STATUSES[-1]}, got {self.status!r}")
        if not isinstance(self.limit, int) or not 1 <= self.limit <= 1000:
            raise QueryError(f"limit must be a whole number between 1 and 1000, got {self.limit!r}")
        for name in ("since", "until", "captured_since", "captured_until"):
            value = getattr(self, name)
            if value is not None and not _is_iso_time(value):
                raise QueryError(f"{name} must be {_TIME_HINT}, got {value!r}")
        for name in ("since", "until"):
            # stored upload times are UTC text with milliseconds and `Z`, compared as text: a bound is
            # made the same shape here (normalise_time), whoever built the query (CLI, API, tests)
            value = getattr(self, name)
            if value is not None:
                normalised = normalise_time(value)
                if normalised is None:
                    raise QueryError(f"{name} is out of range, got {value!r}")
                object.__setattr__(self, name, normalised)
        for name in ("captured_since", "captured_until"):
            if getattr(self, name) is not None:
                try:
                    object.__setattr__(self, name, capture_bound(getattr(self, name)))
                except OverflowError:
                    raise QueryError(f"{name} is out of range, got {getattr(self, name)!r}") from None
        for name in ("min_score", "max_score"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise QueryError(f"{name} must be between 0 and 1, got {_as_typed(value)}")
        if self.bbox is not None:
            problem = bbox_problem(self.bbox)
            if problem:
                raise QueryError(problem)

    @property
    def key_prefix(self) -> str | None:
        """Where a batch's objects live. A batch alone (or with source "web") is a web upload batch,
        only ever written through the API's presigned forms; with a drone's source it is that drone's
        folder. Matching the key keeps the two apart whatever a drone names its folders."""
        if not self.batch:
            return None
        if self.source in (None, WEB_SOURCE):
            return f"{UPLOADS_PREFIX}{self.batch}/"
        return f"{DRONES_PREFIX}{self.source}/{self.batch}/"

    def fingerprint(self) -> str:
        """A short hash of the filters (everything but `limit` and `cursor`), normalised as the query
        holds them: a cursor carries it, so a cursor is only ever used with the filters it was made for."""
        filters = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("limit", "cursor")}
        text = json.dumps(filters, sort_keys=True, separators=(",", ":"), default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def replace(self, **changes: Any) -> PredictionQuery:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return PredictionQuery(**values)


@dataclass(frozen=True)
class Partition:
    """One DynamoDB read: a query of `index` where `hash_key` = `value`, or a scan (index None)."""

    index: str | None
    hash_key: str | None = None
    value: str | None = None


MAX_DAYS_BY_INDEX = 92


def plan(query: PredictionQuery) -> list[Partition]:
    """The most selective index for the query; a scan only when nothing narrows it."""
    if query.owner:  # its index projects what every other filter reads: no other index may hold it
        return [Partition("by-owner", "owner", query.owner)]
    if query.batch:
        return [Partition("by-batch", "batch", query.batch)]
    if query.source:
        return [Partition("by-source", "source", query.source)]
    if query.label:
        return [Partition("by-label", "label", query.label)]
    if query.since:
        first = date.fromisoformat(query.since[:10])
        last = date.fromisoformat(query.until[:10]) if query.until else datetime.now(UTC).date()
        days = (last - first).days + 1
        if 0 < days <= MAX_DAYS_BY_INDEX:
            return [Partition("by-day", "upload_day", (last - timedelta(d)).isoformat()) for d in range(days)]
    return [Partition(None)]


RunQuery = Callable[[PredictionQuery], "tuple[list[PredictionRecord], str | None]"]  # PredictionQueries.query


def all_pages(run_query: RunQuery, query: PredictionQuery) -> Iterator[list[PredictionRecord]]:
    """Every page `query` matches, from its cursor on, cursor by cursor until none is left.
    The one cursor loop: a caller that has enough stops iterating, and no further page is read."""
    while True:
        page, cursor = run_query(query)
        yield page
        if not cursor:
            return
        query = query.replace(cursor=cursor)
