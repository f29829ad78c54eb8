"""The bucket's key layout: where an object came from, and how upload keys are made.

uploads/<batch>/<uuid>-<name>   web page uploads (one batch per drop of files)
drones/<source>/<any path>      drone and camera syncs
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

UPLOADS_PREFIX = "uploads/"
DRONES_PREFIX = "drones/"
WEB_SOURCE = "web"
# Sources the key layout itself names: the page's uploads ("web") and keys outside both folders
# ("unknown"). A drone named either would be mixed up with them in every query and count, so its
# folder (drones/web/...) is refused at sync, denied by IAM, and read as source "unknown".
RESERVED_SOURCES = frozenset({WEB_SOURCE, "unknown"})
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_BATCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
MAX_NAME_CHARS = 120


@dataclass(frozen=True)
class Origin:
    source: str
    batch: str | None
    file_name: str


def origin_of(key: str) -> Origin:
    parts = key.split("/")
    # a non-empty object named like a folder ("drones/x/sub/") is still shown by its last name
    file_name = parts[-1] or next((part for part in reversed(parts) if part), key)
    if key.startswith(UPLOADS_PREFIX) and len(parts) >= 3:
        stored = file_name
        # uploads carry "<uuid>-<name>"; show the name the researcher picked
        file_name = stored[37:] if len(stored) > 37 and stored[36] == "-" else stored
        return Origin(source=WEB_SOURCE, batch=parts[1] or None, file_name=file_name)
    if key.startswith(DRONES_PREFIX) and len(parts) >= 3 and parts[1] and not _reads_as_reserved(parts[1]):
        folder = "/".join(parts[2:-1])
        if not any(part in (".", "..") for part in parts[2:-1]):  # a folder that reads as a path elsewhere
            return Origin(source=parts[1], batch=folder or None, file_name=file_name)
    return Origin(source="unknown", batch=None, file_name=file_name)


def sanitise_file_name(name: str) -> str:
    """A file name safe in an S3 key and a URL: ASCII letters, digits, `._-`; extension kept."""
    base = PurePosixPath(name.replace("\\", "/")).name
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("_", ascii_name).strip("._") or "image"
    if len(cleaned) > MAX_NAME_CHARS:
        stem, dot, ext = cleaned.rpartition(".")
        ext = ext[:10] if dot else ""
        cleaned = (stem if dot else cleaned)[: MAX_NAME_CHARS - len(ext) - 1] + ("." + ext if ext else "")
    return cleaned


def is_valid_batch(batch: str) -> bool:
    return bool(_BATCH.match(batch))


# A signed-in researcher's batches start with a tag derived from their identity (spotter.web.access):
# `u` and 10 hex digits, then `-`. The tag is the record's `owner` (the by-owner index's key).
_OWNER_TAG = re.compile(r"^(u[0-9a-f]{10})-")


def owner_of(key: str, batch: str | None) -> str | None:
    """The owner tag of a web upload's record (`uploads/<batch>/...` with a tagged batch), else None:
    drones' records and batches made with sign-in off have no owner."""
    if not batch or not key.startswith(f"{UPLOADS_PREFIX}{batch}/"):
        return None
    match = _OWNER_TAG.match(batch)
    return match.group(1) if match else None


def _reads_as_reserved(source: str) -> bool:
    """`web` or `unknown` however written: any case, full-width letters, with dots, dashes or spaces around."""
    folded = unicodedata.normalize("NFKC", source).casefold()
    return folded in RESERVED_SOURCES or folded.strip("._- ") in RESERVED_SOURCES


def source_name_problem(source: str) -> str | None:
    """Why `source` cannot name a drone or camera, or None when it can."""
    if _reads_as_reserved(source):
        return f"{source!r} is reserved ({', '.join(sorted(RESERVED_SOURCES))}: the page's uploads and unknown keys)"
    if not _BATCH.match(source):
        return "source must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    return None


def is_valid_source(source: str) -> bool:
    return source_name_problem(source) is None


def upload_key(batch: str, upload_id: str, file_name: str) -> str:
    return f"{UPLOADS_PREFIX}{batch}/{upload_id}-{sanitise_file_name(file_name)}"


# The name the researcher chose, kept beside the sanitised key as S3 user metadata on web uploads.
# Base64 of its UTF-8 bytes: any Unicode name of up to 255 characters (at most 1,020 bytes, 1,360
# base64 characters) fits S3's 2 KB user-metadata limit with room to spare, and the value is plain
# ASCII, as an HTTP header must be. (Percent-encoding a 255-character name can reach 3,060 bytes:
# S3 would refuse the upload.)
ORIGINAL_NAME_METADATA = "original-name"  # sent as the form field x-amz-meta-original-name
MAX_ORIGINAL_NAME_CHARS = 255


def encode_original_name(name: str) -> str:
    return base64.b64encode(name.encode("utf-8", "surrogatepass")).decode("ascii")


def decode_original_name(value: str | None) -> str | None:
    """The name from an object's metadata; None when absent, not base64 of UTF-8, or too long."""
    if not value or len(value) > 4 * MAX_ORIGINAL_NAME_CHARS * 4 // 3 + 4:
        return None
    try:
        name = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (ValueError, UnicodeError):
        return None
    name = name.strip()
    return name if name and len(name) <= MAX_ORIGINAL_NAME_CHARS else None
