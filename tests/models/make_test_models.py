"""Make the tiny real TFLite models the tests use: a dominant-colour classifier (red, green, blue).

Run with TensorFlow installed:  .venv/bin/python tests/models/make_test_models.py
It writes, next to this file:
  colours-float32.tflite, colours-uint8.tflite, colours-int8.tflite (+ .card.json each)
  colours-background-int8.tflite + colours-background.txt  (4 outputs: background first, no card)
  colours-metadata-float32.tflite  (no card: normalization and labels in TFLite metadata)
The weights are set by hand, so the expected answer for any picture is known.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import flatbuffers
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
LABELS = ["red", "green", "blue"]
SIZE = 32


def build_keras_model(background: bool):
    import keras

    inputs = keras.Input((SIZE, SIZE, 3))
    conv = keras.layers.Conv2D(3, 1, use_bias=True, name="mix")
    x = conv(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    units = 4 if background else 3
    dense = keras.layers.Dense(units, name="logits")
    x = dense(x)
    outputs = keras.layers.Softmax()(x)
    model = keras.Model(inputs, outputs)
    conv.set_weights([np.eye(3, dtype=np.float32).reshape(1, 1, 3, 3), np.zeros(3, np.float32)])
    weights = 4.0 * np.eye(3, dtype=np.float32)
    bias = np.zeros(3, np.float32)
    if background:
        weights = np.concatenate([np.full((3, 1), -1.0, np.float32), weights], axis=1)
        bias = np.concatenate([[-4.0], bias]).astype(np.float32)
    dense.set_weights([weights, bias])
    return model


def representative():
    rng = np.random.default_rng(0)
    for _ in range(64):
        colour = rng.uniform(-1, 1, size=3).astype(np.float32)
        noise = rng.normal(0, 0.2, size=(1, SIZE, SIZE, 3)).astype(np.float32)
        yield [np.clip(colour + noise, -1, 1)]


def convert(model, io_type) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if io_type is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
    return converter.convert()


def card(name: str, quantization: str) -> dict:
    return {
        "name": name,
        "version": "1.0.0",
        "labels": LABELS,
        "input": {"size": [SIZE, SIZE], "scaling": {"range": [-1, 1]}, "resize": "squash"},
        "quantization": quantization,
        "intended_use": "Test fixture: names the dominant colour of a picture.",
    }


def metadata_flatbuffer(labels_file: str) -> bytes:
    """A minimal TFLite ModelMetadata: input normalization and an output labels file."""
    b = flatbuffers.Builder(256)

    def floats(values):
        b.StartVector(4, len(values), 4)
        for v in reversed(values):
            b.PrependFloat32(v)
        return b.EndVector()

    def table_vector(offsets):
        b.StartVector(4, len(offsets), 4)
        for off in reversed(offsets):
            b.PrependUOffsetTRelative(off)
        return b.EndVector()

    mean, std = floats([127.5]), floats([127.5])
    b.StartObject(2)  # NormalizationOptions
    b.PrependUOffsetTRelativeSlot(0, mean, 0)
    b.PrependUOffsetTRelativeSlot(1, std, 0)
    norm = b.EndObject()
    b.StartObject(2)  # ProcessUnit
    b.PrependUint8Slot(0, 1, 0)  # options_type = NormalizationOptions
    b.PrependUOffsetTRelativeSlot(1, norm, 0)
    unit = b.EndObject()
    units = table_vector([unit])
    in_name = b.CreateString("image")
    b.StartObject(7)  # TensorMetadata (input)
    b.PrependUOffsetTRelativeSlot(0, in_name, 0)
    b.PrependUOffsetTRelativeSlot(4, units, 0)
    input_meta = b.EndObject()
    file_name = b.CreateString(labels_file)
    b.StartObject(4)  # AssociatedFile
    b.PrependUOffsetTRelativeSlot(0, file_name, 0)
    b.PrependUint8Slot(2, 2, 0)  # TENSOR_AXIS_LABELS
    labels = b.EndObject()
    files = table_vector([labels])
    out_name = b.CreateString("probability")
    b.StartObject(7)  # TensorMetadata (output)
    b.PrependUOffsetTRelativeSlot(0, out_name, 0)
    b.PrependUOffsetTRelativeSlot(6, files, 0)
    output_meta = b.EndObject()
    inputs, outputs = table_vector([input_meta]), table_vector([output_meta])
    b.StartObject(6)  # SubGraphMetadata
    b.PrependUOffsetTRelativeSlot(2, inputs, 0)
    b.PrependUOffsetTRelativeSlot(3, outputs, 0)
    subgraph = b.EndObject()
    subgraphs = table_vector([subgraph])
    model_name = b.CreateString("colours")
    b.StartObject(8)  # ModelMetadata
    b.PrependUOffsetTRelativeSlot(0, model_name, 0)
    b.PrependUOffsetTRelativeSlot(3, subgraphs, 0)
    root = b.EndObject()
    b.Finish(root, file_identifier=b"M001")
    return bytes(b.Output())


def with_metadata(model_bytes: bytes, labels: list[str]) -> bytes:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(metadata_flatbuffer("labels.txt"), dtype=np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = "TFLITE_METADATA"
    entry.buffer = len(model.buffers) - 1
    model.metadata = (model.metadata or []) + [entry]
    builder = flatbuffers.Builder(len(model_bytes) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    packed = bytes(builder.Output())
    archive = HERE / "_labels.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("labels.txt", "\n".join(labels) + "\n")
    zipped = archive.read_bytes()
    archive.unlink()
    return packed + zipped  # the TFLite metadata convention: a zip of associated files appended


def main() -> None:
    import tensorflow as tf

    tf.random.set_seed(0)
    model = build_keras_model(background=False)
    for name, io_type in (("float32", None), ("uint8", tf.uint8), ("int8", tf.int8)):
        stem = f"colours-{name}"
        (HERE / f"{stem}.tflite").write_bytes(convert(model, io_type))
        quant = "none (float32)" if io_type is None else f"full integer, {name} input and output"
        (HERE / f"{stem}.card.json").write_text(json.dumps(card(stem, quant), indent=2) + "\n")
    background = build_keras_model(background=True)
    (HERE / "colours-background-int8.tflite").write_bytes(convert(background, tf.int8))
    (HERE / "colours-background.txt").write_text("background\n" + "\n".join(LABELS) + "\n")
    (HERE / "colours-metadata-float32.tflite").write_bytes(with_metadata(convert(model, None), LABELS))
    for path in sorted(HERE.glob("colours-*")):
        print(f"{path.name:40s} {path.stat().st_size:>8d} bytes")


if __name__ == "__main__":
    main()
