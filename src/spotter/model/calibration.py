"""What a binary card adds to the raw scores: a calibration, so the positive class's score reads as
a probability, and a domain check, so a photo unlike the training photos is not given a verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from spotter.errors import ModelError

OUT_OF_DOMAIN = "out_of_domain"
DEFAULT_DOMAIN_SENTENCE = "does not look like the photos this model was trained on; not assessed"
_EPSILON = 1e-6


def _finite(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ModelError(f"card {where} must be a finite JSON number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of the positive class's score: p = sigmoid(a * logit(raw) + b); a temperature T
    is a = 1/T, b = 0."""

    a: float
    b: float

    @classmethod
    def from_json(cls, spec: Any) -> Calibration:
        if not isinstance(spec, dict):
            raise ModelError('card calibration must be an object: {"method": "platt", "a": ..., "b": ...}')
        method = spec.get("method", "platt")
        if method == "temperature":
            temperature = _finite(spec.get("temperature"), "calibration.temperature")
            if temperature <= 0:
                raise ModelError(f"card calibration.temperature must be above 0, got {temperature}")
            return cls(a=1.0 / temperature, b=0.0)
        if method != "platt":
            raise ModelError(f"card calibration.method must be platt or temperature, got {method!r}")
        a = _finite(spec.get("a"), "calibration.a")
        if a <= 0:
            raise ModelError(f"card calibration.a must be above 0 (a calibration keeps the scores' order), got {a}")
        return cls(a=a, b=_finite(spec.get("b", 0.0), "calibration.b"))

    def apply(self, raw: float) -> float:
        raw = min(1.0 - _EPSILON, max(_EPSILON, float(raw)))
        z = self.a * math.log(raw / (1.0 - raw)) + self.b
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


@dataclass(frozen=True)
class DomainCheck:
    """A second model output, a distance from the training photos: above `threshold`, the photo is
    out of domain (decision `out_of_domain`, with `sentence`), its scores kept."""

    threshold: float
    output: str | None = None  # the output tensor's name; None: the model's one scalar output
    sentence: str = DEFAULT_DOMAIN_SENTENCE

    @classmethod
    def from_json(cls, spec: Any) -> DomainCheck:
        if not isinstance(spec, dict):
            raise ModelError('card domain_check must be an object: {"output": NAME, "threshold": ...}')
        threshold = _finite(spec.get("threshold"), "domain_check.threshold")
        output = spec.get("output")
        if output is not None and not isinstance(output, str):
            raise ModelError(f"card domain_check.output must be an output tensor's name, got {output!r}")
        sentence = spec.get("sentence", DEFAULT_DOMAIN_SENTENCE)
        if not isinstance(sentence, str) or not sentence.strip() or len(sentence) > 200:
            raise ModelError("card domain_check.sentence must be a sentence of at most 200 characters")
        return cls(threshold=threshold, output=output, sentence=sentence)

    def flags(self, distance: float) -> bool:
        return not distance <= self.threshold  # NaN counts as out of domain
