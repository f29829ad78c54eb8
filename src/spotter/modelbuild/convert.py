"""Any Keras model (`.keras`, `.h5`, SavedModel folder) to a full-integer int8 TFLite model.

Weights and activations are int8, and so are the input and output tensors (no float ops left);
activation ranges come from a representative dataset of real images preprocessed exactly as the
runtime preprocesses them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from spotter.modelbuild.data import BUILD_RESIZE, Sample, list_images, load_pixels, scale_pixels


def load_keras_model(path: str | Path):
    """A `.keras` or `.h5` file through Keras; a SavedModel folder is converted from directly."""
    import keras

    path = Path(path)
    if path.is_dir():
        return None
    return keras.models.load_model(str(path), compile=False)


def model_input_size(model_path: str | Path) -> tuple[int, int]:
    """(width, height) of the model's image input."""
    path = Path(model_path)
    if path.is_dir():
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        spec = next(iter(loaded.signatures["serving_default"].structured_input_signature[1].values()))
        shape = spec.shape
    else:
        shape = load_keras_model(path).inputs[0].shape
    if len(shape) != 4 or shape[3] != 3 or not shape[1] or not shape[2]:
        raise ValueError(f"{path}: expected an input of shape [batch, height, width, 3], got {list(shape)}")
    return int(shape[2]), int(shape[1])


def _converter(model_or_path, workdir: Path):
    """A TFLite converter for a SavedModel folder, a Keras file or a Keras model object (exported
    as a SavedModel first: the route Keras 3 supports, with every variable frozen)."""
    import tensorflow as tf

    if isinstance(model_or_path, (str, Path)):
        path = Path(model_or_path)
        if path.is_dir():
            return tf.lite.TFLiteConverter.from_saved_model(str(path))
        model_or_path = load_keras_model(path)
    exported = workdir / "saved_model"
    model_or_path.export(str(exported), format="tf_saved_model", verbose=False)
    return tf.lite.TFLiteConverter.from_saved_model(str(exported))


def convert(
    model_or_path,
    out_path: str | Path,
    *,
    calibration: np.ndarray | None = None,
    value_range=(-1.0, 1.0),
    quantize: bool = True,
) -> Path:
    """Write `out_path`. With `quantize`, `calibration` (uint8 [N, h, w, 3] pixels, runtime-resized)
    calibrates a full-integer int8 model with int8 input and output; otherwise a float32 model."""
    with tempfile.TemporaryDirectory() as workdir:
        converter = _converter(model_or_path, Path(workdir))
        content = _run(converter, calibration, value_range, quantize)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(content)
    return out_path


def _run(converter, calibration, value_range, quantize: bool) -> bytes:
    import tensorflow as tf

    if quantize:
        if calibration is None or len(calibration) == 0:
            raise ValueError("int8 conversion needs calibration images")

        def representative():
            for pixels in calibration:
                yield [scale_pixels(pixels[np.newaxis], value_range)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def scores_output_first(content: bytes) -> bool:
    """Whether a TFLite model's first output is its class scores (more than one value): the runtime
    reads the first output as the scores unless the card names another for its domain check."""
    from spotter.model.runtime import Interpreter

    details = Interpreter(model_content=content).get_output_details()
    return len(details) == 1 or int(np.prod(details[0]["shape"][1:])) > 1


def output_names(tflite_path: str | Path) -> list[tuple[str, list[int]]]:
    """Each output's name (as the runtime reports it) and shape, in the runtime's order."""
    from spotter.model.runtime import Interpreter

    details = Interpreter(model_content=Path(tflite_path).read_bytes()).get_output_details()
    return [(str(d["name"]), [int(n) for n in d["shape"]]) for d in details]


def convert_scores_first(model, out_path: str | Path, **options) -> Path:
    """`convert` a model with several outputs (class scores first) so that the TFLite model's first
    output is the class scores. The converter orders a SavedModel's outputs its own way (with TF 2.21,
    the last Keras output first), so both orders are tried, the reversed one first."""
    import keras

    if len(model.outputs) == 1:
        return convert(model, out_path, **options)
    from spotter.modelbuild.domain import with_domain_ranges

    for outputs in (list(reversed(model.outputs)), list(model.outputs)):
        out_path = Path(convert(keras.Model(model.input, outputs), out_path, **options))
        if scores_output_first(out_path.read_bytes()):
            if options.get("quantize", True):  # a domain check's int8 ranges (domain.py)
                out_path.write_bytes(with_domain_ranges(out_path.read_bytes()))
            return out_path
    raise RuntimeError(f"{out_path}: the converter put the class scores after another output in both orders")


def calibration_from_folder(
    folder: str | Path, size: tuple[int, int], limit: int = 200, seed: int = 0, resize: str = BUILD_RESIZE
) -> np.ndarray:
    """Up to `limit` images found under `folder` (a seeded sample when there are more)."""
    paths = list_images(folder)
    if not paths:
        raise ValueError(f"no images under {folder}")
    if len(paths) > limit:
        keep = np.sort(np.random.default_rng(seed).choice(len(paths), limit, replace=False))
        paths = [paths[i] for i in keep]
    return load_pixels([Sample(id=p.stem, path=p, label=0) for p in paths], size, resize)


def calibration_from_samples(
    samples: Iterable[Sample], size: tuple[int, int], limit: int = 200, seed: int = 0, resize: str = BUILD_RESIZE
) -> np.ndarray:
    samples = list(samples)
    if len(samples) > limit:
        keep = np.sort(np.random.default_rng(seed).choice(len(samples), limit, replace=False))
        samples = [samples[i] for i in keep]
    return load_pixels(samples, size, resize)


def int8_outputs(tflite_path: str | Path, pixels: np.ndarray, value_range=(-1.0, 1.0)) -> np.ndarray:
    """Dequantized outputs of a full-integer model (int8 in and out) for uint8 pixels [N, h, w, 3],
    each picture quantized exactly as the serving runtime quantizes it."""
    from spotter.model.classifier import input_converter
    from spotter.model.runtime import Interpreter
    from spotter.model.scaling import Scaling

    interpreter = Interpreter(model_content=Path(tflite_path).read_bytes(), num_threads=2)
    interpreter.allocate_tensors()
    source, sink = interpreter.get_input_details()[0], interpreter.get_output_details()[0]  # the class scores
    to_input = input_converter(np.dtype(np.int8), source["quantization"], Scaling.from_range(*value_range), value_range)
    out_scale, out_zero = sink["quantization"]
    outputs = []
    for picture in pixels:
        interpreter.set_tensor(source["index"], to_input(picture)[np.newaxis])
        interpreter.invoke()
        outputs.append((interpreter.get_tensor(sink["index"]).astype(np.float32) - out_zero) * out_scale)
    return np.concatenate(outputs)


def converted_int8_outputs(model, calibration: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """`model` converted to full-integer int8 with `calibration`, then run on `pixels` (dequantized)."""
    with tempfile.TemporaryDirectory() as tmp:
        return int8_outputs(convert(model, Path(tmp) / "model-int8.tflite", calibration=calibration), pixels)


def tensor_types(tflite_path: str | Path) -> dict:
    """Input/output dtypes and quantization of a TFLite model, read with the serving runtime."""
    from spotter.model.runtime import Interpreter

    interpreter = Interpreter(model_content=Path(tflite_path).read_bytes())
    described = {}
    for role, details in (
        ("input", interpreter.get_input_details()[0]),
        ("output", interpreter.get_output_details()[0]),
    ):
        scale, zero_point = details["quantization"]
        described[role] = {
            "dtype": np.dtype(details["dtype"]).name,
            "shape": [int(d) for d in details["shape"]],
            "scale": float(scale),
            "zero_point": int(zero_point),
        }
    return described


def input_clipping(input_tensor: dict, value_range=(-1.0, 1.0)) -> str | None:
    """Why the int8 input cannot hold every pixel value 0..255, or None when it can. The input's
    range comes from the calibration images: if none is very dark or very bright, it is narrower."""
    low, high = value_range
    scale, zero_point = input_tensor["scale"], input_tensor["zero_point"]
    if not scale:
        return None
    lowest, highest = (-128 - zero_point) * scale, (127 - zero_point) * scale
    step = (high - low) / 255.0
    dark = max(0, int(np.ceil((lowest - low) / step - 0.5)))
    bright = min(255, int(np.floor((highest - low) / step + 0.5)))
    if dark <= 0 and bright >= 255:
        return None
    return (
        f"the int8 input holds pixel values {dark}..{bright} only (the calibration images span no more): "
        "darker or brighter pixels are clipped; calibrate with images that include both"
    )
