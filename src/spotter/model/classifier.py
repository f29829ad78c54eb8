"""Serve any TFLite image classifier: float32, uint8 or int8 input, quantization read from the model."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from spotter.errors import ModelError
from spotter.files import read_regular
from spotter.limits import MAX_MODEL_BYTES
from spotter.model.calibration import OUT_OF_DOMAIN
from spotter.model.card import CardIdentity, Decision, ModelCard, card_for_model, with_labels_file
from spotter.model.runtime import Interpreter
from spotter.model.scaling import Scaling

_BACKGROUND_LABELS = {"background", "__background__", "???"}
_SUPPORTED_INPUTS = {np.dtype(np.float32), np.dtype(np.uint8), np.dtype(np.int8)}


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    top: tuple[tuple[str, float], ...]
    preprocess_ms: float
    inference_ms: float
    # a binary card with a `decision`: the label decided at its threshold ("uncertain" inside its band),
    # and the rule in words; `label` stays the top-scoring label, `top` the raw scores
    decision: str | None = None
    decision_rule: str | None = None
    # a binary card's positive label's score (calibrated when the card says how): the number shown
    positive_score: float | None = None
    domain_distance: float | None = None  # the card's domain check: the photo's distance from the training photos


def decision_rule(decision: Decision) -> str:
    """The card's decision in one line, e.g. 'malignant if its score >= 0.320; uncertain 0.220-0.420'
    (the positive label's own score: a record's `score` is the top label's)."""
    rule = f"{decision.positive} if its score >= {decision.threshold:.3f}"
    if decision.band is not None:
        rule += f"; uncertain {decision.band[0]:.3f}-{decision.band[1]:.3f}"
    return rule


class Classifier(CardIdentity):
    """One loaded model. Not thread-safe (neither is the interpreter): one per worker."""

    def __init__(
        self, interpreter: Interpreter, card: ModelCard, path: Path, float_range: tuple[float, float] = (-1.0, 1.0)
    ) -> None:
        self.path = path
        self.card = card
        self._interpreter = interpreter
        self._input = interpreter.get_input_details()[0]
        details = interpreter.get_output_details()
        self._distance = _distance_output(details, card.domain_check.output) if card.domain_check else None
        self._output = next(d for d in details if self._distance is None or d["index"] != self._distance["index"])
        self.input_dtype = np.dtype(self._input["dtype"])
        if self.input_dtype not in _SUPPORTED_INPUTS:
            raise ModelError(f"unsupported input type {self.input_dtype}; expected float32, uint8 or int8")
        shape = tuple(int(d) for d in self._input["shape"])
        if len(shape) != 4 or shape[3] != 3:
            raise ModelError(f"expected an image input of shape [1, height, width, 3], got {list(shape)}")
        self.input_size = (shape[2], shape[1])  # (width, height)
        if card.input_size and tuple(card.input_size) != self.input_size:
            raise ModelError(f"card says input {card.input_size} but the model takes {self.input_size}")
        outputs = int(np.prod(self._output["shape"][1:]))
        self._binary = outputs == 1  # one sigmoid output: the second label's probability
        self._softmax_output = _is_softmax_output(*self._output["quantization"])
        self.labels, self._skip_first = _resolve_labels(card.labels, 2 if self._binary else outputs)
        self._to_input = input_converter(self.input_dtype, self._input["quantization"], card.scaling, float_range)
        self.contract = card.contract(self.input_size)
        self.decision = card.decision
        if self.decision is not None and set(self.labels) != {self.decision.positive, self.decision.negative}:
            raise ModelError(
                f"card decision is about {self.decision.positive!r} but the labels are {list(self.labels)}"
            )

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        labels_path: str | Path | None = None,
        float_range: tuple[float, float] = (-1.0, 1.0),
        num_threads: int | None = None,
    ) -> Classifier:
        path = Path(path)
        try:  # a regular file of bounded size: never /dev/zero read until memory runs out, nor a FIFO waited on
            content = read_regular(path, MAX_MODEL_BYTES, "model")
        except OSError as exc:
            raise ModelError(f"cannot read model {path}: {exc.strerror or exc}") from None
        try:
            interpreter = Interpreter(model_content=content, num_threads=num_threads)
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{path} is not a loadable TFLite model: {exc}") from None
        # Task Library rules: normalization applies to float inputs only; quantized inputs take pixels as they are
        float_input = np.dtype(interpreter.get_input_details()[0]["dtype"]) == np.float32
        card = card_for_model(path, content, float_input=float_input)
        if labels_path is not None:
            card = with_labels_file(card, Path(labels_path))
        return cls(interpreter, card, path, float_range=float_range)

    def preprocess(self, image: Image.Image) -> NDArray[Any]:
        """The card's preprocessing contract (spotter.model.preprocess), then scaling and quantization."""
        return self.tensor_from_pixels(np.asarray(self.contract.apply(image), dtype=np.uint8))[np.newaxis]

    def decide(self, scores: NDArray[np.float32]) -> str | None:
        """The card's decision for these class scores, or None when the card has none."""
        if self.decision is None:
            return None
        return self.decision.decide(float(scores[self.labels.index(self.decision.positive)]))

    def tensor_from_pixels(self, pixels: NDArray[np.uint8]) -> NDArray[Any]:
        """uint8 RGB pixels [..., 3] to the model's input values (scaled, and quantized when it takes integers)."""
        return self._to_input(pixels)

    def scores(self, tensor: NDArray[Any]) -> NDArray[np.float32]:
        """The class scores the runtime serves: the raw scores, the positive one calibrated when the card
        says how (and the other its complement)."""
        values = self.raw_scores(tensor)
        calibration, decision = self.card.calibration, self.decision
        if calibration is not None and decision is not None:
            positive = calibration.apply(float(values[self.labels.index(decision.positive)]))
            values = np.asarray(
                [positive if label == decision.positive else 1.0 - positive for label in self.labels], np.float32
            )
        return values

    def domain_distance(self) -> float | None:
        """The last invoke's distance output (the card's domain check), dequantized; None without one."""
        if self._distance is None:
            return None
        raw = np.asarray(self._interpreter.get_tensor(self._distance["index"])).reshape(-1)
        scale, zero_point = self._distance["quantization"]
        value = (float(raw[0]) - zero_point) * scale if scale else float(raw[0])
        return value if np.isfinite(value) else float("inf")

    def raw_scores(self, tensor: NDArray[Any]) -> NDArray[np.float32]:
        """The model's own class scores for `tensor` (probabilities; not calibrated)."""
        self._interpreter.set_tensor(self._input["index"], tensor)
        self._interpreter.invoke()
        raw: NDArray[Any] = self._interpreter.get_tensor(self._output["index"]).reshape(-1)
        scale, zero_point = self._output["quantization"]
        values = (raw.astype(np.float32) - zero_point) * scale if scale else raw.astype(np.float32)
        if self._binary:
            p = float(values[0]) if 0.0 <= values[0] <= 1.0 else float(1.0 / (1.0 + np.exp(-values[0])))
            return np.asarray([1.0 - p, p], np.float32)
        # TFLite's quantized softmax always outputs in steps of 1/256: probabilities, even when with
        # many classes the small ones round to 0 and the sum drops well below 1.
        if not (self._softmax_output or _looks_like_probabilities(values)):
            values = _softmax(values)
        return values[1:] if self._skip_first else values

    def classify(self, image: Image.Image, top_k: int = 3) -> Prediction:
        started = time.perf_counter()
        tensor = self.preprocess(image)
        prepared = time.perf_counter()
        scores = self.scores(tensor)
        distance = self.domain_distance()
        finished = time.perf_counter()
        order = np.argsort(-scores, kind="stable")[: max(1, top_k)]
        top = tuple((self.labels[i], round(float(scores[i]), 6)) for i in order)
        decided = self.decide(scores)
        rule = decision_rule(self.decision) if self.decision is not None else None
        check = self.card.domain_check
        if check is not None and distance is not None and check.flags(distance):
            decided = OUT_OF_DOMAIN
            kept = f"{rule}; " if rule else ""  # the positive label leads, as on every decided record
            rule = (
                f"{kept}{OUT_OF_DOMAIN}: {check.sentence} (distance {distance:.2f} from the training photos;"
                f" at most {check.threshold:.2f} is assessed)"
            )
        positive = None
        if self.decision is not None:
            positive = round(float(scores[self.labels.index(self.decision.positive)]), 6)
        return Prediction(
            label=top[0][0],
            score=top[0][1],
            top=top,
            preprocess_ms=(prepared - started) * 1000.0,
            inference_ms=(finished - prepared) * 1000.0,
            decision=decided,
            decision_rule=rule,
            positive_score=positive,
            domain_distance=None if distance is None else round(distance, 4),
        )


def _distance_output(details: list[dict[str, Any]], name: str | None) -> dict[str, Any]:
    """The domain check's output: the one named so, else the single one-value output beside the scores."""
    if name is not None:
        found = [d for d in details if d.get("name") == name]
    else:
        found = [d for d in details if int(np.prod(d["shape"])) == 1] if len(details) > 1 else []
    if len(found) != 1 or len(details) < 2:
        outputs = ", ".join(f"{d.get('name')} {[int(n) for n in d['shape']]}" for d in details)
        raise ModelError(
            f"the card's domain_check reads output {name or '(one value)'}, which the model does not have"
            f" beside its scores; its outputs: {outputs}"
        )
    return found[0]


def _resolve_labels(labels: tuple[str, ...], outputs: int) -> tuple[tuple[str, ...], bool]:
    if not labels:
        return tuple(f"class_{i}" for i in range(outputs)), False
    if len(labels) == outputs:
        if labels[0].strip().lower() in _BACKGROUND_LABELS and outputs > 2:
            return labels[1:], True
        return labels, False
    if len(labels) + 1 == outputs == 1001:  # ImageNet models with a background class the labels leave out
        return labels, True
    raise ModelError(f"the model has {outputs} outputs but {len(labels)} labels were given")


def input_converter(
    dtype: np.dtype[Any],
    quantization: tuple[float, int] | None,
    scaling: Scaling | None,
    float_range: tuple[float, float],
) -> Callable[[NDArray[np.uint8]], NDArray[Any]]:
    """A function from uint8 RGB pixels [..., 3] to the model's input values: a lookup in `input_table`."""
    table = input_table(dtype, quantization, scaling, float_range)
    if (table == table[:, :1]).all():  # one scaling for all channels: a flat lookup, the fast path
        flat = np.ascontiguousarray(table[:, 0])  # contiguous: np.take is about 2x faster
        return lambda pixels: np.take(flat, pixels)
    channels = [np.ascontiguousarray(table[:, c]) for c in range(3)]
    return lambda pixels: np.stack([np.take(lut, pixels[..., c]) for c, lut in enumerate(channels)], axis=-1)


def input_table(
    dtype: np.dtype[Any],
    quantization: tuple[float, int] | None,
    scaling: Scaling | None,
    float_range: tuple[float, float],
) -> NDArray[Any]:
    """[256, 3]: the input tensor's value for each 8-bit pixel value, per channel."""
    scale, zero_point = quantization if quantization else (0.0, 0)
    pixel = np.arange(256, dtype=np.float64)[:, np.newaxis]
    if scaling is None:
        if dtype == np.uint8:  # TFLite convention: quantized models take raw pixels
            return np.repeat(pixel, 3, axis=1).astype(np.uint8)
        if dtype == np.int8:
            return np.repeat(pixel - 128, 3, axis=1).astype(np.int8)
        scaling = Scaling.from_range(*float_range)
    real = (pixel - np.asarray(scaling.mean, np.float64)) / np.asarray(scaling.std, np.float64)
    real = np.broadcast_to(real, (256, 3))
    if dtype == np.float32:
        return real.astype(np.float32)
    if not scale:
        raise ModelError("quantized input without quantization parameters")
    return quantize(real, scale, zero_point, dtype)


def quantize(real: NDArray[np.float64], scale: float, zero_point: int, dtype: np.dtype[Any]) -> NDArray[Any]:
    """Real values to a quantized tensor as TFLite's QUANTIZE op does: real / scale rounded half away
    from zero, plus the zero point, clamped. Not np.rint: it rounds halves to even, and with the usual
    [-1, 1] scaling (scale 2/255, zero point -1) every pixel lands on a half, so pairs of neighbouring
    pixel values would merge and the model would see 7 bits of each 8-bit channel."""
    scaled = np.asarray(real, np.float64) / float(scale)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    info = np.iinfo(dtype)
    clipped: NDArray[np.float64] = np.clip(rounded + int(zero_point), info.min, info.max)
    return clipped.astype(dtype)


def _is_softmax_output(scale: float, zero_point: int) -> bool:
    return abs(float(scale) - 1.0 / 256.0) < 1e-9 and int(zero_point) in (-128, 0)


def _looks_like_probabilities(values: NDArray[np.float32]) -> bool:
    return bool(values.size) and float(values.min()) >= -1e-3 and abs(float(values.sum()) - 1.0) < 0.02


def _softmax(values: NDArray[np.float32]) -> NDArray[np.float32]:
    shifted: NDArray[np.float32] = np.exp(values - values.max())
    probabilities: NDArray[np.float32] = shifted / shifted.sum()
    return probabilities
