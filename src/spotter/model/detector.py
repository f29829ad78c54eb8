"""Serve an SSD-style TFLite object detector: the four postprocessed outputs (boxes, classes, scores,
count; TFLite_Detection_PostProcess), float32, uint8 or int8 input, quantization read from the model.

A photo is detected whole and, when much larger than the input, tile by tile (spotter.model.tiling);
the views' boxes are mapped back onto the photo and merged (spotter.model.merge), and what is left
above the card's score threshold is counted per label.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from spotter.errors import ModelError
from spotter.model.card import PLACEHOLDER_LABEL as PLACEHOLDER
from spotter.model.card import CardIdentity, ModelCard
from spotter.model.classifier import input_converter
from spotter.model.merge import Found, larger_than, merge
from spotter.model.runtime import Interpreter
from spotter.model.tiling import WHOLE, TilePlan, Tiling, View, cut_views, to_photo, touches_inner_edge

DEFAULT_SCORE_THRESHOLD = 0.5
MAX_STORED_DETECTIONS = 300  # boxes kept on a record (highest scores first); counts cover all of them


@dataclass(frozen=True)
class DetectorOutputs:
    """Which output tensor is which (their order differs between exporters)."""

    boxes: int
    classes: int
    scores: int
    count: int
    named: bool = True  # the names told classes from scores; else their values do, at each call

    @classmethod
    def find(cls, details: list[dict[str, Any]]) -> DetectorOutputs | None:
        """The detector's outputs among `details`, or None when they are not boxes [1,N,4], two [1,N]
        and a count [1]. The two [1,N] are told apart by their names (the postprocess op names its
        classes `:1` and scores `:2`), else by their values at each call (class ids are whole numbers)."""
        if len(details) != 4:
            return None
        shapes = [tuple(int(d) for d in output["shape"]) for output in details]
        boxes = [i for i, s in enumerate(shapes) if len(s) == 3 and s[0] == 1 and s[2] == 4]
        count = [i for i, s in enumerate(shapes) if s in ((1,), ())]
        pair = [i for i, s in enumerate(shapes) if len(s) == 2 and s[0] == 1]
        if len(boxes) != 1 or len(count) != 1 or len(pair) != 2:
            return None
        if shapes[pair[0]][1] != shapes[boxes[0]][1] or shapes[pair[1]][1] != shapes[boxes[0]][1]:
            return None
        names = [str(details[i].get("name", "")) for i in pair]
        named = names[0].endswith(":1") and names[1].endswith(":2")
        if names[0].endswith(":2") and names[1].endswith(":1"):
            pair.reverse()
            named = True
        return cls(boxes=boxes[0], classes=pair[0], scores=pair[1], count=count[0], named=named)


@dataclass(frozen=True)
class Detection:
    """A photo's objects: merged boxes above the threshold, their counts per label, and how many views
    (the whole photo and its tiles) were detected."""

    found: tuple[Found, ...]
    counts: dict[str, int]
    views_done: int
    views_planned: int
    plan: TilePlan
    preprocess_ms: float = 0.0
    inference_ms: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def tiling_note(self) -> str | None:
        """Why the photo was counted on fewer or larger tiles than planned, and what to doubt; None when
        it was counted as planned."""
        parts = [self.plan.describe(max(0, self.views_done - 1)), *self.notes]
        return "; ".join(p for p in parts if p) or None

    def stored(self, limit: int = MAX_STORED_DETECTIONS) -> list[dict[str, Any]]:
        """The boxes as a record keeps them: the `limit` highest-scoring, rounded."""
        return [
            {"label": f.label, "score": round(f.score, 4), "box": [round(v, 4) for v in f.box]}
            for f in sorted(self.found, key=lambda f: -f.score)[:limit]
        ]


class Detector(CardIdentity):
    """One loaded detector. Not thread-safe (neither is the interpreter): one per worker."""

    task = "detect"

    def __init__(
        self,
        interpreter: Interpreter,
        card: ModelCard,
        path: Path,
        outputs: DetectorOutputs,
        float_range: tuple[float, float] = (-1.0, 1.0),
    ) -> None:
        self.path = path
        self.card = card
        self._interpreter = interpreter
        self._input = interpreter.get_input_details()[0]
        self._details = interpreter.get_output_details()
        self._outputs = outputs
        dtype = np.dtype(self._input["dtype"])
        if dtype not in (np.dtype(np.float32), np.dtype(np.uint8), np.dtype(np.int8)):
            raise ModelError(f"unsupported detector input type {dtype}; expected float32, uint8 or int8")
        shape = tuple(int(d) for d in self._input["shape"])
        if len(shape) != 4 or shape[3] != 3:
            raise ModelError(f"expected an image input of shape [1, height, width, 3], got {list(shape)}")
        self.input_size = (shape[2], shape[1])
        if card.input_size and tuple(card.input_size) != self.input_size:
            raise ModelError(f"card says input {card.input_size} but the model takes {self.input_size}")
        self._to_input = input_converter(dtype, self._input["quantization"], card.scaling, float_range)
        self.contract = card.contract(self.input_size)
        labels = list(card.labels)
        self._offset = 1 if labels and labels[0] == PLACEHOLDER else 0
        self.labels = tuple(labels)
        spec = card.extra.get("detection") or {}
        if not isinstance(spec, dict):
            raise ModelError('card detection must be an object, e.g. {"score_threshold": 0.5}')
        if set(spec) - {"score_threshold"}:
            unknown = sorted(set(spec) - {"score_threshold"})
            raise ModelError(f"card detection has unknown fields {unknown}; known: score_threshold")
        threshold = spec.get("score_threshold", DEFAULT_SCORE_THRESHOLD)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 < float(threshold) < 1.0:
            raise ModelError(f"card detection.score_threshold must be a number above 0 and below 1; got {threshold!r}")
        self.score_threshold = float(threshold)
        self.tiling = self._fitting(Tiling.from_json(card.extra.get("tiling")), "card tiling")

    def with_tiling(self, tiling: Tiling, where: str = "--tiling") -> Detector:
        """This detector with other tiling (the command line's override of the card's)."""
        self.tiling = self._fitting(tiling, where)
        return self

    def _fitting(self, tiling: Tiling, where: str) -> Tiling:
        """`tiling`, unless its tiles are smaller than the model's input: their pixels would only be
        enlarged, and objects larger than a tile are seen only in pieces."""
        side = max(self.input_size)
        if tiling.enabled and tiling.tile < side:
            raise ModelError(
                f"{where}.tile is {tiling.tile} px, smaller than the model's {side} px input: a tile must be at least "
                f"that (and larger than the objects to count, which are otherwise seen in pieces)"
            )
        return tiling

    def label_for(self, class_id: int) -> str | None:
        """The label of a class id (a label map's `???` first line shifts ids by one); None for an
        unused id (`???`); `class_<id>` where the labels stop short."""
        if class_id < 0:
            return None
        index = class_id + self._offset
        if index < len(self.labels):
            label = self.labels[index]
            return None if label == PLACEHOLDER else label
        return f"class_{class_id}"

    def views(self, image: Image.Image, width: int | None = None, height: int | None = None) -> list[View]:
        """The whole picture and its tiles, fitted to the input (the decode worker does the same)."""
        plan = self.tiling.plan(width or image.width, height or image.height)
        return cut_views(image, plan, self.contract)

    def raw(self, image: Image.Image) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], int]:
        """One invoke on a picture at the input size: boxes [N,4] (ymin, xmin, ymax, xmax), classes,
        scores and the count, as the postprocess op gives them."""
        tensor = self._to_input(np.asarray(image, dtype=np.uint8))[np.newaxis]
        self._interpreter.set_tensor(self._input["index"], tensor)
        self._interpreter.invoke()
        get = self._interpreter.get_tensor
        boxes = np.asarray(get(self._details[self._outputs.boxes]["index"]), np.float32).reshape(-1, 4)
        classes = np.asarray(get(self._details[self._outputs.classes]["index"]), np.float32).reshape(-1)
        scores = np.asarray(get(self._details[self._outputs.scores]["index"]), np.float32).reshape(-1)
        # a model's own numbers, not trusted: NaN or infinite ids and counts would stop the record
        count_value = np.nan_to_num(np.asarray(get(self._details[self._outputs.count]["index"]), np.float64))
        count = int(np.clip(count_value.reshape(-1)[0], 0, len(scores)))
        if not self._outputs.named and _whole(scores) and not _whole(classes):
            classes, scores = scores, classes
        classes = np.nan_to_num(classes, nan=-1.0, posinf=-1.0, neginf=-1.0)
        boxes = np.nan_to_num(boxes, nan=0.0, posinf=1.0, neginf=0.0)
        return boxes, classes, scores, count

    def detect(self, views: list[View], plan: TilePlan | None = None, deadline: float | None = None) -> Detection:
        """Detect every view (the whole photo first), stopping before the view that would pass
        `deadline` (time.monotonic()): the result then says how many views were detected."""
        plan = plan if plan is not None else TilePlan(tuple(v.region for v in views[1:]), 0, None)
        found: list[Found] = []
        done, spent = 0, 0.0
        for number, view in enumerate(views):
            started = time.perf_counter()
            if done and deadline is not None and time.monotonic() + spent / done > deadline:
                break
            boxes, classes, scores, count = self.raw(view.image)
            for box, class_id, score in zip(boxes[:count], classes[:count], scores[:count], strict=True):
                label = self.label_for(round(float(class_id)))
                if label is None or not float(score) >= self.score_threshold:
                    continue
                ymin, xmin, ymax, xmax = (float(v) for v in box)
                placed = to_photo((xmin, ymin, xmax, ymax), view)
                if placed[2] <= placed[0] or placed[3] <= placed[1]:
                    continue  # wholly outside the photo (a padded input's margin)
                cut = view.region != WHOLE and touches_inner_edge(placed, view)
                found.append(Found(label, float(score), placed, cut, number))
            done += 1
            spent += time.perf_counter() - started
        sizes = {(round(v.region[2] - v.region[0], 6), round(v.region[3] - v.region[1], 6)) for v in views[1:]}
        tile = next(iter(sizes)) if len(sizes) == 1 else None
        merged = tuple(merge(found, tile=tile))
        notes = []
        if tile is not None and any(f.view == 0 and larger_than(f.box, tile) for f in merged):
            notes.append(
                "some objects are larger than a tile: pieces of them may be counted as objects of their own "
                "(tiles of at least twice their size count them once)"
            )
        counts = Counter(f.label for f in merged)
        ordered = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        return Detection(
            found=merged,
            counts=ordered,
            views_done=done,
            views_planned=len(views),
            plan=plan,
            inference_ms=spent * 1000,
            notes=notes,
        )

    def detect_image(self, image: Image.Image, deadline: float | None = None) -> Detection:
        """Tile, fit and detect a decoded photo in this process (the CLI's and the tests' path)."""
        started = time.perf_counter()
        plan = self.tiling.plan(*image.size)
        views = cut_views(image, plan, self.contract)
        prepared = time.perf_counter()
        result = self.detect(views, plan, deadline)
        return Detection(**{**result.__dict__, "preprocess_ms": (prepared - started) * 1000.0})


def _whole(values: NDArray[np.float32]) -> bool:
    return bool(np.all(values == np.round(values)))
