"""Upload policy: which files the web page may upload, under which keys, with which limits."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from .keys import is_valid_batch, upload_key
from .records import object_id_for

MAX_FILES_PER_REQUEST = 500


class UploadRequestError(ValueError):
    """The request as a whole is malformed (HTTP 400)."""


@dataclass(frozen=True)
class FileRequest:
    name: str
    type: str
    size: int


@dataclass(frozen=True)
class PlannedUpload:
    name: str
    key: str
    object_id: str
    content_type: str


@dataclass(frozen=True)
class RefusedFile:
    name: str
    error: str


def new_batch_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def parse_files(payload: object) -> tuple[list[FileRequest], str | None]:
    if not isinstance(payload, dict):
        raise UploadRequestError('expected a JSON object like {"files": [{"name", "type", "size"}]}')
    files = payload.get("files")
    if not isinstance(files, list) or not files:
        raise UploadRequestError('"files" must be a non-empty list of {"name", "type", "size"}')
    if len(files) > MAX_FILES_PER_REQUEST:
        raise UploadRequestError(f"at most {MAX_FILES_PER_REQUEST} files per request, got {len(files)}")
    batch = payload.get("batch")
    if batch is not None and (not isinstance(batch, str) or not is_valid_batch(batch)):
        raise UploadRequestError("batch must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    parsed = []
    for index, item in enumerate(files):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise UploadRequestError(f"files[{index}] needs a non-empty string \"name\"")
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise UploadRequestError(f"files[{index}] ({item['name']}) needs an integer \"size\" in bytes")
        parsed.append(FileRequest(name=item["name"], type=str(item.get("type") or ""), size=size))
    return parsed, batch


def plan_uploads(
    files: list[FileRequest], batch: str, bucket: str, max_bytes: int
) -> list[PlannedUpload | RefusedFile]:
    """One decision per file, in order: refused up front, or a server-chosen key to upload to."""
    plans: list[PlannedUpload | RefusedFile] = []
    for file in files:
        kind = file.type.lower().split(";")[0].strip()
        if not kind.startswith("image/") or kind == "image/svg+xml":
            plans.append(RefusedFile(file.name, f"{file.name} is {kind or 'of unknown type'}, not a raster image"))
        elif file.size == 0:
            plans.append(RefusedFile(file.name, f"{file.name} is empty"))
        elif file.size > max_bytes:
            plans.append(RefusedFile(
                file.name, f"{file.name} is {file.size / 1048576:.1f} MB, over the {max_bytes / 1048576:.0f} MB limit"))
        else:
            key = upload_key(batch, str(uuid.uuid4()), file.name)
            plans.append(PlannedUpload(file.name, key, object_id_for(bucket, key), kind))
    return plans
