"""How a model wants its pixels: (p - mean) / std per channel, as a card or the model's metadata says."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spotter.errors import ModelError


@dataclass(frozen=True)
class Scaling:
    """Pixel p (0..255) is fed to the network as (p - mean) / std, per channel."""

    mean: tuple[float, float, float] = (127.5, 127.5, 127.5)
    std: tuple[float, float, float] = (127.5, 127.5, 127.5)

    @classmethod
    def from_range(cls, low: float, high: float) -> Scaling:
        std = 255.0 / (high - low)
        return cls(mean=(-low * std,) * 3, std=(std,) * 3)

    @classmethod
    def identity(cls) -> Scaling:
        return cls(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scaling:
        if "range" in data:
            low, high = data["range"]
            return cls.from_range(float(low), float(high))
        mean, std = data.get("mean", 0.0), data.get("std", 1.0)
        mean = (float(mean),) * 3 if isinstance(mean, (int, float)) else tuple(float(m) for m in mean)
        std = (float(std),) * 3 if isinstance(std, (int, float)) else tuple(float(s) for s in std)
        if len(mean) != 3 or len(std) != 3 or any(s == 0 for s in std):
            raise ModelError(f"card scaling needs 3 means and 3 non-zero stds, got {data}")
        return cls(mean=mean, std=std)

    def to_json(self) -> dict[str, Any]:
        return {"mean": list(self.mean), "std": list(self.std)}
