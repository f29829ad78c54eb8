"""Which model a deployed stack serves, read from its classify function rather than guessed.

The function's configuration names the model file (`SPOTTER_MODEL`, under `/opt`) and the layer
version that holds it; a layer version never changes. Its card (or, for a model without one, the
model itself) is read out of the layer's zip with HTTP range requests on the link Lambda gives
(`GetLayerVersionByArn`), so a layer of tens of MB costs a few small reads, and the id is made by
the rule the function itself uses (spotter.model.card.card_for_model). The id is kept per layer
version and model path in a small JSON file: a later run makes one `GetFunctionConfiguration` call.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

LAYER_ROOT = PurePosixPath("/opt")  # where Lambda unpacks a layer's zip


class ServedModelUnknown(Exception):
    """The stack's served model cannot be told; the message says why."""


def served_model(lambda_client: Any, function_name: str, kept: Path) -> str:
    """The model id the function `function_name` serves; `kept`: the JSON file of ids already read."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        config = lambda_client.get_function_configuration(FunctionName=function_name)
    except (ClientError, BotoCoreError) as exc:
        raise ServedModelUnknown(f"cannot read function {function_name}: {exc}") from None
    model_path = ((config.get("Environment") or {}).get("Variables") or {}).get("SPOTTER_MODEL", "")
    member = _layer_member(model_path)
    layers = [layer["Arn"] for layer in config.get("Layers") or []]
    if member is None or len(layers) != 1:
        raise ServedModelUnknown(
            f"function {function_name} names no model in one layer (SPOTTER_MODEL={model_path!r}, {len(layers)} layers)"
        )
    key = f"{layers[0]} {member}"
    known = _read_kept(kept)
    if key in known:
        return known[key]
    try:
        location = lambda_client.get_layer_version_by_arn(Arn=layers[0])["Content"]["Location"]
    except (ClientError, BotoCoreError, KeyError) as exc:
        raise ServedModelUnknown(f"cannot read layer {layers[0]}: {exc}") from None
    model_id = model_id_in_zip(RangeFile(location), member)
    _keep(kept, {**known, key: model_id})
    return model_id


def model_id_in_zip(file: io.RawIOBase, member: str) -> str:
    """The id of the model `member` in the zip `file` (a seekable file): its card's, or for a model
    without a card its own digest, by spotter.model.card.card_for_model."""
    from spotter.errors import ModelError
    from spotter.model.card import card_for_model, card_path_for

    card_member = str(card_path_for(Path(member)))
    try:
        with zipfile.ZipFile(io.BufferedReader(file, buffer_size=256 * 1024)) as layer:
            names = set(layer.namelist())
            if member not in names:
                raise ServedModelUnknown(f"the layer holds no {member}")
            with tempfile.TemporaryDirectory(prefix="spotter-served-") as scratch:
                wanted = [card_member] if card_member in names else [member]
                for name in wanted:
                    target = Path(scratch) / "model" / Path(name).name
                    target.parent.mkdir(exist_ok=True)
                    target.write_bytes(layer.read(name))
                model = Path(scratch) / "model" / Path(member).name
                content = None if card_member in names else model.read_bytes()
                return card_for_model(model, content).model_id
    except (OSError, zipfile.BadZipFile, ModelError) as exc:
        raise ServedModelUnknown(f"cannot read the model from the layer: {exc}") from None


def _layer_member(model_path: str) -> str | None:
    """`/opt/model/x.tflite` -> `model/x.tflite`, its name in the layer's zip; None if not under /opt."""
    path = PurePosixPath(model_path)
    if not model_path or not path.is_absolute() or ".." in path.parts:
        return None
    try:
        return str(path.relative_to(LAYER_ROOT))
    except ValueError:
        return None


def _read_kept(kept: Path) -> dict[str, str]:
    try:
        data = json.loads(kept.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _keep(kept: Path, known: dict[str, str]) -> None:
    try:
        kept.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = kept.with_name(kept.name + f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(known, indent=1, sort_keys=True))
        temporary.chmod(0o600)
        temporary.replace(kept)
    except OSError:
        pass  # not kept: the next run reads the layer again


class RangeFile(io.RawIOBase):
    """A read-only, seekable file over an HTTP(S) URL that answers Range requests (S3 does)."""

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise ServedModelUnknown(f"the layer's link is not HTTP: {url[:40]!r}")
        self.url, self.timeout_s, self.position = url, timeout_s, 0
        self.size = self._size()

    def _size(self) -> int:
        with self._get("bytes=0-0") as reply:
            total = reply.headers.get("Content-Range", "").rpartition("/")[2]
            if reply.status != 206 or not total.isdigit():
                raise ServedModelUnknown("the layer's link does not answer range requests")
            return int(total)

    def _get(self, byte_range: str) -> Any:
        request = urllib.request.Request(self.url, headers={"Range": byte_range})
        try:
            return urllib.request.urlopen(request, timeout=self.timeout_s)
        except OSError as exc:
            raise ServedModelUnknown(f"cannot read the layer: {exc}") from None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self.size - self.position)
        if wanted <= 0:
            return 0
        with self._get(f"bytes={self.position}-{self.position + wanted - 1}") as reply:
            data = reply.read(wanted)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)
