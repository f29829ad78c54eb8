"""Upload policy: which files the web page may upload, under which keys, with which limits."""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from spotter.keys import WEB_SOURCE, is_valid_batch, upload_key
from spotter.ports import RefusalCounter
from spotter.records import STATUS_REFUSED, PredictionRecord, object_id_for, utc_now
from spotter.results.query import PredictionQuery, RunQuery, all_pages

MAX_FILES_PER_REQUEST = 500
MAX_BODY_BYTES = 1024 * 1024  # 500 files with 255-character names, each 4 UTF-8 bytes, fit in about 600 KB
MAX_JSON_DEPTH = 4  # {"files": [{"name": ...}]} is 3 deep
MAX_NAME_CHARS = 255  # what every common file system allows
# The largest declared size taken: 2**53 - 1, the largest integer a JSON number holds exactly in every
# reader (JavaScript's MAX_SAFE_INTEGER), far inside a 64-bit column. Above the upload limit a file is
# refused (and recorded with its size); above this the request itself is malformed.
MAX_DECLARED_BYTES = 2**53 - 1

# The raster types the decoder reads and a browser can show; the key is what a client may declare.
RASTER_TYPES = {
    "image/jpeg": "image/jpeg",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/png": "image/png",
    "image/x-png": "image/png",
    "image/gif": "image/gif",
    "image/webp": "image/webp",
    "image/tiff": "image/tiff",
    "image/bmp": "image/bmp",
    "image/x-ms-bmp": "image/bmp",
}
_MIME_PART = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
_MIME = re.compile(rf"^{_MIME_PART}/{_MIME_PART}\Z")
_PARAMETER = re.compile(rf'^\s*{_MIME_PART}=({_MIME_PART}|"[^"\\\r\n]*")\s*\Z', re.IGNORECASE)


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
    key: str = ""  # where it would have gone: names its record (object id) in the batch; no object exists
    object_id: str = ""
    size: int | None = None  # the size the client declared, kept in the record (the page and CSV show it)


def new_batch_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def normalise_type(declared: str) -> str:
    """The one MIME type a client declared, lower-case and without parameters ("" when none).

    A list (`image/png,text/html`) or anything else that is not a single type is a malformed
    request: browsers render such an object with the last type in the list."""
    kind, *parameters = declared.split(";")
    kind = kind.strip().lower()
    if (kind or parameters) and not (_MIME.match(kind) and all(_PARAMETER.match(p) for p in parameters)):
        raise UploadRequestError(f"type must be one MIME type such as image/jpeg, got {declared[:100]!r}")
    return kind


def _nesting(value: object) -> int:
    """Levels of dicts and lists, counted level by level (no recursion), stopping past the limit."""
    depth, level = 0, [value]
    while depth <= MAX_JSON_DEPTH:
        containers = [item for item in level if isinstance(item, (dict, list))]
        if not containers:
            break
        depth += 1
        level = [child for item in containers for child in (item.values() if isinstance(item, dict) else item)]
    return depth


def parse_body(body: str | bytes | None) -> object:
    """The request's JSON, refused with a clear message when too big, too deep or not JSON."""
    raw = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    if len(raw) > MAX_BODY_BYTES:
        raise UploadRequestError(f"request body is {len(raw):,} bytes, over the {MAX_BODY_BYTES:,} byte limit")
    try:
        payload = json.loads(raw)
    except RecursionError:
        raise UploadRequestError(f"request body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise UploadRequestError(f"request body is not JSON: {exc}") from None
    if _nesting(payload) > MAX_JSON_DEPTH:
        raise UploadRequestError(f"request body is nested deeper than {MAX_JSON_DEPTH} levels")
    return payload


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
            raise UploadRequestError(f'files[{index}] needs a non-empty string "name"')
        if any(0xD800 <= ord(char) <= 0xDFFF for char in item["name"]):  # JSON lets a lone surrogate through
            raise UploadRequestError(f"files[{index}] name is not valid Unicode (it holds a lone surrogate)")
        control = next((char for char in item["name"] if unicodedata.category(char) == "Cc"), None)
        if control is not None:  # NUL, tab, newline, escape...: no file system names a file so
            raise UploadRequestError(f"files[{index}] name holds control character U+{ord(control):04X}")
        if len(item["name"]) > MAX_NAME_CHARS:
            raise UploadRequestError(
                f"files[{index}] name is {len(item['name']):,} characters, over the {MAX_NAME_CHARS} character limit"
            )
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_DECLARED_BYTES:
            raise UploadRequestError(
                f'files[{index}] ({item["name"]}) "size" must be a whole number of bytes from 0 to '
                f"{MAX_DECLARED_BYTES:,}"
            )
        declared = item.get("type") or ""
        if not isinstance(declared, str):
            raise UploadRequestError(f'files[{index}] ({item["name"]}) "type" must be a string')
        parsed.append(FileRequest(name=item["name"], type=normalise_type(declared), size=size))
    return parsed, batch


# Formats people do upload that Spotter cannot read: what the file is, and what to do instead.
_KNOWN_UNREADABLE = {
    "image/heic": (
        "a HEIC/HEIF photo (the iPhone's default format)",
        "export it as JPEG and upload that: on a Mac open it in Preview and use File > Export > JPEG; "
        "on Windows open it in Photos and use Save as > JPEG; to take JPEGs on an iPhone, set "
        "Settings > Camera > Formats > Most Compatible",
    ),
    "image/heif": None,  # the same as HEIC, filled in below
    "image/avif": ("an AVIF image", "export it as JPEG or PNG and upload that"),
    "image/svg+xml": ("an SVG drawing (a vector format)", "export it as PNG or JPEG and upload that"),
}
_KNOWN_UNREADABLE["image/heif"] = _KNOWN_UNREADABLE["image/heic"]
# Browsers often declare no type (or a generic one) for these: the extension tells.
_EXTENSION_TYPES = {
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".hif": "image/heif",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
}
READABLE = "JPEG, PNG, GIF, WebP, TIFF or BMP"


def _refusal(file: FileRequest) -> str:
    extension = "." + file.name.rsplit(".", 1)[-1].lower() if "." in file.name else ""
    by_extension = _EXTENSION_TYPES.get(extension)
    kind = (
        file.type
        if file.type in _KNOWN_UNREADABLE
        else by_extension
        if file.type in ("", "application/octet-stream")
        else None
    )
    known = _KNOWN_UNREADABLE.get(kind or "")
    if known:
        what, action = known
        return f"{file.name} is {what}, not a raster image Spotter reads: {action}."
    return f"{file.name} is {file.type or 'of unknown type'}, not a raster image Spotter reads: upload {READABLE}"


def plan_uploads(
    files: list[FileRequest], batch: str, bucket: str, max_bytes: int
) -> list[PlannedUpload | RefusedFile]:
    """One decision per file, in order: refused up front, or a server-chosen key to upload to.
    Each gets its own key, so a refused file can be recorded in the batch beside the uploaded ones."""
    plans: list[PlannedUpload | RefusedFile] = []
    for file in files:
        key = upload_key(batch, str(uuid.uuid4()), file.name)
        kind = RASTER_TYPES.get(normalise_type(file.type))
        error = None
        if kind is None:
            error = _refusal(file)
        elif file.size == 0:
            error = f"{file.name} is empty"
        elif file.size > max_bytes:
            error = f"{file.name} is {file.size / 1048576:.1f} MiB, over the {max_bytes / 1048576:.0f} MiB limit"
        if kind is not None and not error:
            plans.append(PlannedUpload(file.name, key, object_id_for(bucket, key), kind))
        else:  # kind None: `error` is its refusal
            plans.append(RefusedFile(file.name, error or _refusal(file), key, object_id_for(bucket, key), file.size))
    return plans


def refusal_record(
    refused: RefusedFile, batch: str, bucket: str, model_name: str, model_version: str, now: str | None = None
) -> PredictionRecord:
    """The batch's record of a file the API refused: status `refused`, the reason, the name as chosen
    and the size declared.
    Recorded under the current model, so the batch's listing (which shows that model) includes it."""
    now = now or utc_now()
    return PredictionRecord(
        object_id=refused.object_id,
        model=f"{model_name}@{model_version}",
        bucket=bucket,
        key=refused.key,
        status=STATUS_REFUSED,
        source=WEB_SOURCE,
        batch=batch,
        file_name=refused.name,
        uploaded_at=now,
        classified_at=now,
        model_name=model_name,
        model_version=model_version,
        reason=refused.error,
        size=refused.size,
    )


class TooManyRefusals(Exception):
    """The caller has had as many refused files recorded this past hour as the limit allows (HTTP 429)."""


def check_refusal_cap(
    run_query: RunQuery, owner: str | None, new: int, limit: int, now: datetime | None = None
) -> None:
    """TooManyRefusals when recording `new` more refused files would take `owner` past `limit` refused
    records in the past hour (`owner` None, sign-in off: the site's web uploads are counted together).
    Counts through the by-owner (or source) index, reading no more than `limit` entries."""
    if new <= 0:
        return
    since = ((now or datetime.now(UTC)) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    query = PredictionQuery(
        owner=owner,
        source=None if owner else WEB_SOURCE,
        since=since,
        status=STATUS_REFUSED,
        limit=max(1, min(1000, limit)),
    )
    seen = 0
    for page in all_pages(run_query, query) if new <= limit else ():
        seen += len(page)
        if seen + new > limit:
            break
    if seen + new > limit:
        raise TooManyRefusals(
            f"at most {limit} refused files an hour {'per user' if owner else 'for this site'} "
            f"(MAX_REFUSED_PER_HOUR): this request's {new} would pass it; send only files Spotter reads, "
            "or try again later"
        )


def reserve_refusals(
    counter: RefusalCounter, owner: str | None, new: int, limit: int, now: datetime | None = None
) -> None:
    """TooManyRefusals unless `new` more refused files fit in `owner`'s (or, sign-in off, the site's)
    count for this clock hour, taken atomically: `check_refusal_cap` counts the records of the past
    hour, but concurrent requests each read that count before the others' records are written."""
    if new <= 0:
        return
    hour = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H")
    if not counter.reserve(owner or "site", hour, new, limit):
        raise TooManyRefusals(
            f"at most {limit} refused files an hour {'per user' if owner else 'for this site'} "
            f"(MAX_REFUSED_PER_HOUR): this request's {new} would pass it; send only files Spotter reads, "
            "or try again later"
        )
