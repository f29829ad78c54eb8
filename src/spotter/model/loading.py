"""Load a brought model as what it is: an image classifier or an SSD-style object detector, told
apart by the card's `task` or by the model's own outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from spotter.errors import ModelError
from spotter.files import read_regular
from spotter.limits import MAX_MODEL_BYTES
from spotter.model.card import card_for_model, with_labels_file
from spotter.model.classifier import Classifier
from spotter.model.detector import Detector, DetectorOutputs
from spotter.model.runtime import Interpreter

TASKS = ("classify", "detect")


def describe_outputs(details: list[dict[str, Any]]) -> str:
    return (
        ", ".join(f"{d.get('name') or '?'} {[int(n) for n in d['shape']]} {np.dtype(d['dtype']).name}" for d in details)
        or "no outputs"
    )


def load_model(
    path: str | Path,
    *,
    labels_path: str | Path | None = None,
    float_range: tuple[float, float] = (-1.0, 1.0),
    num_threads: int | None = None,
) -> Classifier | Detector:
    """The model at `path`, with its card (or the labels file's labels). A detector when the card
    says `task: detect` or the outputs are the four of TFLite_Detection_PostProcess; a classifier
    when it has one score vector; otherwise a ModelError naming what the model has."""
    path = Path(path)
    try:  # a regular file of bounded size: never /dev/zero read until memory runs out, nor a FIFO waited on
        content = read_regular(path, MAX_MODEL_BYTES, "model")
    except OSError as exc:
        raise ModelError(f"cannot read model {path}: {exc.strerror or exc}") from None
    if not content:
        raise ModelError(f"{path} is an empty file, not a TFLite model")
    try:
        interpreter = Interpreter(model_content=content, num_threads=num_threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{path} is not a loadable TFLite model: {exc}") from None
    inputs, details = interpreter.get_input_details(), interpreter.get_output_details()
    if len(inputs) != 1:
        raise ModelError(f"{path} has {len(inputs)} inputs; Spotter serves models with one image input")
    float_input = np.dtype(inputs[0]["dtype"]) == np.float32
    card = card_for_model(path, content, float_input=float_input)
    if labels_path is not None:
        card = with_labels_file(card, Path(labels_path))
    task = card.extra.get("task")
    if task is not None and task not in TASKS:
        raise ModelError(f"card task must be one of {', '.join(TASKS)}; got {task!r}")
    outputs = DetectorOutputs.find(details)
    if task == "detect" or (task is None and outputs is not None):
        if outputs is None:
            raise ModelError(
                f"the card says task 'detect' but {path} does not end in an SSD postprocess (boxes [1,N,4], "
                f"classes [1,N], scores [1,N], count [1]); its outputs: {describe_outputs(details)}"
            )
        return Detector(interpreter, card, path, outputs, float_range=float_range)
    if task == "classify" and outputs is not None:
        raise ModelError(
            f"the card says task 'classify' but {path} is an SSD-style detector (its outputs: "
            f"{describe_outputs(details)}): give the card task 'detect', or leave task out"
        )
    first = [int(n) for n in details[0]["shape"]] if details else []
    if not first or any(n != 1 for n in first[:-1]) or first[-1] < 1:
        raise ModelError(
            f"{path} is neither an image classifier (one output of class scores, [1, N]) nor an SSD-style "
            f"detector (boxes [1,N,4], classes [1,N], scores [1,N], count [1]); its outputs: {describe_outputs(details)}"
        )
    return Classifier(interpreter, card, path, float_range=float_range)
