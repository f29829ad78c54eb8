"""Which model version a reader counts: one rule for `spotter query/stats/export/sql` and the API.

The table keeps one record per (object, model version): after `spotter reprocess` an image has a record
from each model. A reader counts the model the stack serves now unless it is asked for a version
(`--model name@version`) or for every one (`--model all`); an answer that spans versions says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

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
