"""Which model version a reader counts: one rule for `spotter query/stats/export/sql` and the API.

The table keeps one record per (object, model version): after `spotter reprocess` an image has a record
from each model. A reader counts the model the stack serves now unless it is asked for a version
(`--model name@version`) or for every one (`--model all`); an answer that spans versions says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace

from spotter.ports import PredictionWriter
from spotter.records import PredictionRecord
from spotter.results.query import PredictionQuery, RunQuery

ALL_MODELS = "all"


def is_all(model: str | None) -> bool:
    return model is not None and model.strip().casefold() == ALL_MODELS


def chosen_model(asked: str | None, current: str | None) -> tuple[str | None, str | None]:
    """(the model version to read, None for every one; a note saying which, or None).
    `asked`: what the caller named (a version, `all`, or nothing); `current`: the model the stack
    serves, when the reader knows it (the local stack's, the API's own)."""
    if is_all(asked):
        return None, None
    if asked:
        return asked, None
    if current:
        return current, f"model {current} (the one served now; --model all for every version)"
    return None, None  # the served model is not known here: every version, and `spanned` says so


def spanned(models: Iterable[str | None], by_model: bool = False) -> str | None:
    """A note when the records read come from more than one model version: each image is counted once
    per version, so counts and means mix models. None for one version, or when grouped by model."""
    return spanned_counts(Counter(m for m in models if m), by_model)


def spanned_counts(counts: Mapping[str, int], by_model: bool = False) -> str | None:
    """`spanned`, from the records per model version."""
    counts = {model: n for model, n in counts.items() if n}
    if len(counts) < 2 or by_model:
        return None
    listed = ", ".join(f"{model}: {n}" for model, n in sorted(counts.items()))
    return (
        f"these records span {len(counts)} model versions ({listed}): an image reprocessed with a new model "
        "counts once per version; --model VERSION reads one, --by model splits them, "
        "spotter compare OLD NEW sets two side by side"
    )


def carry_refusals(
    run_query: RunQuery,
    store: PredictionWriter,
    model: str,
    source: str | None = None,
    batch: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> int:
    """Refused files (never stored, so never reprocessed) listed under `model` too: a copy of each
    refusal record matching the filters that has no record from `model`, so a batch read by the model
    served now still lists them. The number written."""
    from spotter.results.stats import matching_records  # here: stats imports this module

    name, _, version = model.partition("@")
    query = PredictionQuery(status="refused", source=source, batch=batch, since=since, until=until)
    by_object: dict[str, list[PredictionRecord]] = {}
    for record in matching_records(run_query, query):
        by_object.setdefault(record.object_id, []).append(record)
    written = 0
    for records in by_object.values():
        if any(record.model == model for record in records):
            continue
        newest = max(records, key=lambda record: record.uploaded_at or "")
        written += bool(store.put(replace(newest, model=model, model_name=name, model_version=version)))
    return written
