"""Label, source and model names as analysts type them: matched without regard to case, or refused
with the names that exist (DynamoDB itself matches exactly and would silently find nothing)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from spotter.keys import WEB_SOURCE
from spotter.ports import PredictionQueries
from spotter.results.query import PredictionQuery, QueryError


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
    if field == "model":
        short = model_short_form(value, names)
        if short is not None:
            sampled = "" if complete else " (the only fit in a sample of the table)"
            return short, f"model {value!r} matched as {short!r}{sampled}"
    listed = ", ".join(sorted(names)[:30]) or "none"
    sample = "" if complete else " (from a sample of the table)"
    if field == "label":  # a detector's record is indexed by its most counted label only
        raise QueryError(
            f"no label {value!r} in the table; known labels{sample}: {listed} (a detector's record is listed under "
            "its most counted label; objects of every label it counted: spotter stats --by label, or spotter sql's "
            "detections table)"
        )
    raise QueryError(f"no {field} {value!r} in the table; known {field}s{sample}: {listed}")


_ELLIPSES = ("…", "...")


def model_short_form(value: str, models: Sequence[str]) -> str | None:
    """The one model id among `models` that `value` names in short: its start (`hawk@sha256-7aad0`), its
    version or the version's start (`sha256-7aad0`), or text a table cut with `…` at either end
    (`…@sha256-7aad0…`); without regard to case. None when no model, or more than one, fits: a short
    form is accepted only where it is unambiguous (QueryError names the candidates then)."""
    text = value.strip()
    cut_start = text.startswith(_ELLIPSES)
    for mark in _ELLIPSES:
        text = text.removeprefix(mark).removesuffix(mark)
    wanted = text.casefold()
    if not wanted:
        return None

    def fits(model: str) -> bool:
        version = model.casefold().rpartition("@")[2]
        if cut_start:  # the text shown after a cut start is somewhere inside the id
            return wanted in model.casefold()
        return model.casefold().startswith(wanted) or version.startswith(wanted)

    found = sorted({m for m in models if fits(m)})
    if len(found) > 1:
        raise QueryError(f"model {value!r} fits more than one model: {', '.join(found[:10])}; give more of it")
    return found[0] if found else None


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


def _case_variants(value: str) -> list[str]:
    return list(dict.fromkeys(v for v in (value.lower(), value.upper(), value.title()) if v != value))


class CachedNames:
    """A PredictionQueries' name lookups for the API: `exists` also tries the usual case variants
    (lower, upper, title: a key lookup each), and `known_values` (a table scan) is read at most once per
    `ttl_s` per field and kept, so an unknown name costs no scan of its own, however many are asked."""

    def __init__(
        self, queries: PredictionQueries, ttl_s: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.queries = queries
        self.ttl_s = ttl_s
        self.clock = clock
        self._known: dict[str, tuple[float, tuple[list[str], bool]]] = {}

    def exists(self, field: str, value: str) -> bool:
        return self.queries.exists(field, value)

    def variant(self, field: str, value: str) -> str | None:
        """The one case variant of `value` stored for `field` (by key lookups), else None."""
        found = [v for v in _case_variants(value) if self.queries.exists(field, v)]
        return found[0] if len(found) == 1 else None

    def known_values(self, field: str, max_items: int = 5000) -> tuple[list[str], bool]:
        now = self.clock()
        cached = self._known.get(field)
        if cached is None or now - cached[0] >= self.ttl_s:
            cached = self._known[field] = (now, self.queries.known_values(field, max_items))
        return cached[1]

    def stored_names(self, query: PredictionQuery) -> tuple[PredictionQuery, list[str]]:
        """`stored_names` through these lookups: exact, then a case variant, then the cached list."""

        def known(field: str) -> tuple[list[str], bool]:
            value = getattr(query, field)
            variant = self.variant(field, value) if value else None
            if variant is not None:
                return [variant], False
            return self.known_values(field)

        changes: dict[str, str] = {}
        notes: list[str] = []
        for field in ("label", "source", "model"):
            value = getattr(query, field)
            if value:
                stored, note = resolve_name(field, value, self.exists, known)
                if note:
                    notes.append(note)
                changes[field] = stored
        return (query.replace(**changes) if changes else query), notes


def _visible(field: str, value: str, names: Sequence[str], refusal: str) -> tuple[str, str | None]:
    if value in names:
        return value, None
    same = [n for n in names if n.casefold() == value.casefold()]
    if len(same) == 1:
        return same[0], f"{field} {value!r} matched as {same[0]!r}"
    raise QueryError(refusal)


def visible_names(
    query: PredictionQuery, labels: Sequence[str], served_model: str
) -> tuple[PredictionQuery, list[str]]:
    """Names for a caller who may read only their own web records (a researcher): matched against what
    they may see, with no table lookup, so a refusal tells nothing of other people's records. Their
    source is `web`; labels are the served model card's (GET /model shows them); a model matching the
    served one is spelt as it, any other is kept as given (it finds their records of it, or nothing)."""
    changes: dict[str, str] = {}
    notes: list[str] = []
    if query.label:
        listed = ", ".join(labels) or "none"
        changes["label"], note = _visible(
            "label", query.label, list(labels), f"no label {query.label!r}; the model's labels: {listed}"
        )
        notes += [note] if note else []
    if query.source:
        changes["source"], note = _visible(
            "source", query.source, [WEB_SOURCE], f"no source {query.source!r} among the records you may read"
        )
        notes += [note] if note else []
    if query.model and query.model.casefold() == served_model.casefold() and query.model != served_model:
        changes["model"] = served_model
        notes.append(f"model {query.model!r} matched as {served_model!r}")
    return (query.replace(**changes) if changes else query), notes
