"""The model card: what a `.tflite` file needs beside it to be served and trusted.

A card is JSON next to the model (`NAME.tflite` -> `NAME.card.json`). Only `labels` and
`input` matter to the runtime; the rest (metrics, training data, intended use) is for people.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ModelError


@dataclass(frozen=True)
class Scaling:
    """Pixel p (0..255) is fed to the network as (p - mean) / std, per channel."""

    mean: tuple[float, float, float] = (127.5, 127.5, 127.5)
    std: tuple[float, float, float] = (127.5, 127.5, 127.5)

    @classmethod
    def from_range(cls, low: float, high: float) -> "Scaling":
        std = 255.0 / (high - low)
        return cls(mean=(-low * std,) * 3, std=(std,) * 3)

    @classmethod
    def identity(cls) -> "Scaling":
        return cls(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))

    @classmethod
    def from_json(cls, data: dict) -> "Scaling":
        if "range" in data:
            low, high = data["range"]
            return cls.from_range(float(low), float(high))
        mean, std = data.get("mean", 0.0), data.get("std", 1.0)
        mean = (float(mean),) * 3 if isinstance(mean, (int, float)) else tuple(float(m) for m in mean)
        std = (float(std),) * 3 if isinstance(std, (int, float)) else tuple(float(s) for s in std)
        if len(mean) != 3 or len(std) != 3 or any(s == 0 for s in std):
            raise ModelError(f"card scaling needs 3 means and 3 non-zero stds, got {data}")
        return cls(mean=mean, std=std)

    def to_json(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std)}


@dataclass(frozen=True)
class ModelCard:
    name: str
    version: str
    labels: tuple[str, ...]
    input_size: tuple[int, int] | None = None  # (width, height); None: read from the model
    scaling: Scaling | None = None  # None: the runtime's convention for the input type
    resize: str = "squash"  # or "center_crop"
    extra: dict = field(default_factory=dict)  # everything else on the card, kept verbatim

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"

    @classmethod
    def from_json(cls, data: dict) -> "ModelCard":
        try:
            name, version, labels = str(data["name"]), str(data["version"]), tuple(str(x) for x in data["labels"])
        except KeyError as missing:
            raise ModelError(f"model card lacks {missing}") from None
        spec = data.get("input", {})
        size = spec.get("size")
        resize = spec.get("resize", "squash")
        if resize not in ("squash", "center_crop"):
            raise ModelError(f"card input.resize must be squash or center_crop, got {resize!r}")
        extra = {k: v for k, v in data.items() if k not in ("name", "version", "labels")}
        return cls(
            name=name,
            version=version,
            labels=labels,
            input_size=(int(size[0]), int(size[1])) if size else None,
            scaling=Scaling.from_json(spec["scaling"]) if "scaling" in spec else None,
            resize=resize,
            extra=extra,
        )

    def to_json(self) -> dict:
        data = dict(self.extra)
        spec = dict(data.get("input", {}))
        if self.input_size:
            spec["size"] = list(self.input_size)
        if self.scaling:
            spec["scaling"] = self.scaling.to_json()
        spec["resize"] = self.resize
        data.update(name=self.name, version=self.version, labels=list(self.labels), input=spec)
        return data


def uncarded_version(content: bytes) -> str:
    """The version of a model that has no card: a digest of the file, so two such models never share records."""
    return "sha256-" + hashlib.sha256(content).hexdigest()[:12]


def card_path_for(model_path: Path) -> Path:
    return model_path.with_suffix(".card.json")


def load_card(path: Path) -> ModelCard:
    try:
        return ModelCard.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"cannot read model card {path}: {exc}") from None


def load_labels(path: Path) -> tuple[str, ...]:
    """A plain labels file: one label per line (TFLite convention); blank lines ignored."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip())
