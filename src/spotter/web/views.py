"""How the HTTP API shows records and reads its query string: shared by the API handler and tests."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spotter.model.card import card_for_model, with_labels_file
from spotter.records import PredictionRecord, capture_fields
from spotter.results.query import PredictionQuery, QueryError, parse_bbox

_TEXT_FILTERS = ("batch", "source", "label", "status", "since", "until", "captured_since", "captured_until", "cursor")


@dataclass(frozen=True)
class ModelInfo:
    model_id: str
    card: dict[str, Any]

    @classmethod
    def load(cls, model_path: Path, labels_path: Path | None = None) -> ModelInfo:
        """The card alone (no interpreter): the API describes the model, it never runs it."""
        card = card_for_model(Path(model_path))  # the classifier's rule, or the API would look under another model
        if labels_path is not None:  # as spotter.model.loading does: a labels file overrides the card's
            card = with_labels_file(card, Path(labels_path))
        return cls(model_id=card.model_id, card=card.as_written())


def _number(params: Mapping[str, str], name: str) -> float | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise QueryError(f"{name} must be a number, got {raw!r}")
    return value


def query_from_params(params: Mapping[str, str], current_model: str, limit_default: int = 100) -> PredictionQuery:
    text = {name: params[name] for name in _TEXT_FILTERS if params.get(name)}
    bbox: tuple[float, float, float, float] | None = None
    if params.get("bbox"):
        bbox = parse_bbox(params["bbox"])
    limit = _number(params, "limit")
    model = params.get("model") or current_model
    return PredictionQuery(
        **text,
        min_score=_number(params, "min_score"),
        max_score=_number(params, "max_score"),
        bbox=bbox,
        model=None if model == "all" else model,
        # a fraction: 0, which PredictionQuery refuses as it refuses any limit outside 1..1000
        limit=limit_default if limit is None else int(limit) if limit.is_integer() else 0,
    )


# What the decoder found -> the only types a view link may be served as (all raster, none scriptable).
VIEW_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
}


def view_type(record: PredictionRecord) -> str | None:
    """The type to serve the record's object as; None (no link) unless the decoder read a raster image."""
    return VIEW_TYPES.get(record.format or "")


def record_view(record: PredictionRecord, image_url: str | None) -> dict[str, Any]:
    view = record.as_dict()
    view.pop("sequencer", None)
    view.update(capture_fields(record.captured_at))  # both keys, as in every other output
    view["image_url"] = image_url
    return view
