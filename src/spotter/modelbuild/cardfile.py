"""Write the model card (`NAME.card.json`) the runtime reads, with what people need to trust it.

The runtime uses `name`, `version`, `labels` and `input`; everything else (quantization,
training data and licence, metrics, intended use, disclaimer) is kept verbatim for people.
"""

from __future__ import annotations

import json
from pathlib import Path

from spotter.model.card import ModelCard
from spotter.model.preprocess import InputContract
from spotter.modelbuild.data import BUILD_RESIZE

DEMO_DISCLAIMER = (
    "This is a demonstration model, NOT a medical device. It has not been clinically validated, "
    "it was trained and tested on 2,251 images from two public collections of the ISIC Archive, and it "
    "must never be used "
    "to diagnose, screen for or rule out skin cancer, or to make any decision about a person's care. "
    "Anyone worried about a skin lesion should see a doctor or dermatologist."
)


def runtime_card(
    name: str, version: str, labels, size: tuple[int, int], value_range=(-1.0, 1.0), resize: str = BUILD_RESIZE
) -> dict:
    """The fields the runtime needs: labels in output order, input size, scaling and the preprocessing
    contract the build used (spotter.model.preprocess)."""
    return {
        "name": name,
        "version": version,
        "labels": list(labels),
        "input": {
            "size": [int(size[0]), int(size[1])],
            "scaling": {"range": [float(value_range[0]), float(value_range[1])]},
            **InputContract(size=(size[0], size[1]), resize=resize).to_json(),
        },
    }


def build_card(
    name: str, version: str, labels, size, value_range=(-1.0, 1.0), resize: str = BUILD_RESIZE, **sections
) -> dict:
    """A full card: the runtime fields, then each non-empty section (quantization, training_data,
    training, metrics, intended_use, disclaimer, ...) in the order given."""
    card = runtime_card(name, version, labels, size, value_range, resize)
    card.update({key: value for key, value in sections.items() if value is not None})
    ModelCard.from_json(card)  # it must be a card the runtime accepts
    return card


def write_card(path: str | Path, card: dict) -> Path:
    ModelCard.from_json(card)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_card(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
