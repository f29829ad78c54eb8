"""Read the two things a serving runtime needs from TFLite model metadata, if present:
the input normalization and the labels file (TFLite Task Library conventions).

Only a few fields of `metadata_schema.fbs` are read, directly with `flatbuffers`, so the
runtime needs no tflite-support package (which has no wheels for current Pythons).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import flatbuffers
from flatbuffers import number_types as N

from spotter.model.scaling import Scaling

METADATA_NAME = b"TFLITE_METADATA"
_NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions union member id
_TENSOR_AXIS_LABELS = 2  # AssociatedFileType: a classifier's labels
_TENSOR_VALUE_LABELS = 3  # AssociatedFileType: a detector's class ids' labels (on its classes output)


@dataclass(frozen=True)
class TFLiteMetadata:
    scaling: Scaling | None = None
    labels: tuple[str, ...] | None = None


class _Table:
    def __init__(self, buf: bytes, pos: int):
        self.t = flatbuffers.table.Table(bytearray(buf) if not isinstance(buf, bytearray) else buf, pos)

    def _offset(self, field: int) -> int:
        offset: int = self.t.Offset(4 + 2 * field)
        return offset

    def string(self, field: int) -> str | None:
        o = self._offset(field)
        return self.t.String(o + self.t.Pos).decode("utf-8") if o else None

    def table(self, field: int) -> _Table | None:
        o = self._offset(field)
        return _Table(self.t.Bytes, self.t.Indirect(o + self.t.Pos)) if o else None

    def tables(self, field: int) -> list[_Table]:
        o = self._offset(field)
        if not o:
            return []
        start, count = self.t.Vector(o), self.t.VectorLen(o)
        return [_Table(self.t.Bytes, self.t.Indirect(start + 4 * i)) for i in range(count)]

    def floats(self, field: int) -> list[float]:
        o = self._offset(field)
        if not o:
            return []
        start, count = self.t.Vector(o), self.t.VectorLen(o)
        return [self.t.Get(N.Float32Flags, start + 4 * i) for i in range(count)]

    def ubyte(self, field: int) -> int:
        o = self._offset(field)
        return self.t.Get(N.Uint8Flags, o + self.t.Pos) if o else 0

    def union(self, field: int) -> _Table | None:
        o = self._offset(field)
        if not o:
            return None
        return _Table(self.t.Bytes, self.t.Indirect(o + self.t.Pos))


def _metadata_buffer(model_bytes: bytes) -> bytes | None:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(model_bytes, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name() == METADATA_NAME:
            buffer = model.Buffers(entry.Buffer())
            if buffer.DataLength():
                data: bytes = buffer.DataAsNumpy().tobytes()
                return data
            if buffer.Offset() > 1:  # large models keep buffers after the flatbuffer
                return model_bytes[buffer.Offset() : buffer.Offset() + buffer.Size()]
    return None


def _labels_from_zip(model_bytes: bytes, name: str) -> tuple[str, ...] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(model_bytes)) as archive:
            text = archive.read(name).decode("utf-8")
    except (zipfile.BadZipFile, KeyError):
        return None
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def read_metadata(model_bytes: bytes) -> TFLiteMetadata:
    """Normalization and labels of the first input/output tensor; empty when absent or unreadable."""
    try:
        raw = _metadata_buffer(model_bytes)
        if raw is None:
            return TFLiteMetadata()
        root = _Table(raw, flatbuffers.encode.Get(N.UOffsetTFlags.packer_type, raw, 0))
        subgraphs = root.tables(3)
        if not subgraphs:
            return TFLiteMetadata()
        scaling = None
        inputs = subgraphs[0].tables(2)
        for unit in inputs[0].tables(4) if inputs else []:
            if unit.ubyte(0) == _NORMALIZATION_OPTIONS:
                options = unit.union(1)
                if options is None:  # damaged: read as before, when the attribute error ended here
                    return TFLiteMetadata()
                mean, std = options.floats(0), options.floats(1)
                if mean and std:
                    mean = mean * 3 if len(mean) == 1 else mean
                    std = std * 3 if len(std) == 1 else std
                    # two values (neither one nor three): an IndexError, read as a damaged block
                    scaling = Scaling(mean=(mean[0], mean[1], mean[2]), std=(std[0], std[1], std[2]))
        labels = None
        outputs = subgraphs[0].tables(3)
        files = [associated for output in outputs or [] for associated in output.tables(6)]
        for associated in files:
            kind = associated.ubyte(2)
            if kind in (_TENSOR_AXIS_LABELS, _TENSOR_VALUE_LABELS) and (name := associated.string(0)):
                labels = _labels_from_zip(model_bytes, name)
                break
        return TFLiteMetadata(scaling=scaling, labels=labels)
    except Exception:  # metadata is optional; a damaged block must not stop serving
        return TFLiteMetadata()
