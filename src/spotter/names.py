"""Label, source and model names as analysts type them: matched without regard to case, or refused
with the names that exist (DynamoDB itself matches exactly and would silently find nothing)."""

from __future__ import annotations

from collections.abc import Callable

from .ports import PredictionQueries
from .query import PredictionQuery, QueryError


def resolve_name(
    field: str, value: str, exists: Callable[[str, str], bool], known: Callable[[str], tuple[list[str], bool]]
) -> tuple[str, str | None]:
    """(the stored spelling of `value`, a note when it differed). `exists(field, value)` checks one exact
    name; `known(field)` lists names found in the table and whether that list is complete."""
    if exists(field, value):
        return value, None
    names, complete = known(field)
    if value in names:
        return value, None
    same = [n for n in names if n.casefold() == value.casefold()]
    if len(same) == 1:
        return same[0], f"{field} {value!r} matched as {same[0]!r}"
    listed = ", ".join(sorted(names)[:30]) or "none"
    sample = "" if complete else " (from a sample of the table)"
    raise QueryError(f"no {field} {value!r} in the table; known {field}s{sample}: {listed}")


def stored_names(query: PredictionQuery, queries: PredictionQueries) -> tuple[PredictionQuery, list[str]]:
    """`query` with label, source and model as the table spells them, and the notes saying where the
    case differed: what `spotter query`, `spotter stats` and `GET /stats` all do. `queries` is a port
    with `exists(field, value)` and `known_values(field)`. A QueryError lists the known names."""
    changes: dict[str, str] = {}
    notes: list[str] = []
    for field in ("label", "source", "model"):
        value = getattr(query, field)
        if value:
            stored, note = resolve_name(field, value, queries.exists, queries.known_values)
            if note:
                notes.append(note)
            changes[field] = stored
    return (query.replace(**changes) if changes else query), notes
