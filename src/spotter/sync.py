"""Plan a folder sync to the bucket: what to upload, what the bucket already has (size + checksum)."""

from __future__ import annotations

import hashlib
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

from .keys import DRONES_PREFIX, source_name_problem

MULTIPART_CHUNK = 8 * 1024 * 1024  # boto3's default chunk size; multipart ETags depend on it
MULTIPART_THRESHOLD = 64 * 1024 * 1024


@dataclass(frozen=True)
class LocalFile:
    path: Path
    key: str
    size: int

    @property
    def content_type(self) -> str:
        return mimetypes.guess_type(self.path.name)[0] or "application/octet-stream"


@dataclass(frozen=True)
class SyncPlan:
    upload: list[LocalFile]
    unchanged: list[LocalFile]

    @property
    def upload_bytes(self) -> int:
        return sum(f.size for f in self.upload)


def source_prefix(source: str) -> str:
    problem = source_name_problem(source)
    if problem:
        raise ValueError(problem)
    return f"{DRONES_PREFIX}{source}/"


def local_files(root: Path, prefix: str, include_hidden: bool = False) -> list[LocalFile]:
    """Every regular file under `root`, keyed as `prefix` + its path relative to root (POSIX)."""
    found = []
    for folder, dirs, names in os.walk(root):
        if not include_hidden:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
        dirs.sort()
        for name in sorted(names):
            if not include_hidden and name.startswith("."):
                continue
            path = Path(folder) / name
            if path.is_file():
                relative = path.relative_to(root).as_posix()
                found.append(LocalFile(path=path, key=prefix + relative, size=path.stat().st_size))
    return found


def s3_etag(path: Path, multipart: bool) -> str:
    """The ETag S3 gives this file: the MD5 of a single PUT, or for a multipart upload in 8 MB parts
    (what `spotter sync` above 64 MB, `aws s3 sync` above 8 MB and boto3 all use) the MD5 of the
    parts' MD5s and their count."""
    digests = []
    with path.open("rb") as handle:
        if not multipart:
            return hashlib.md5(handle.read(), usedforsecurity=False).hexdigest()
        while chunk := handle.read(MULTIPART_CHUNK):
            digests.append(hashlib.md5(chunk, usedforsecurity=False).digest())
    return f"{hashlib.md5(b''.join(digests), usedforsecurity=False).hexdigest()}-{len(digests)}"


def same_content(path: Path, remote_etag: str) -> bool:
    """Whether the object with `remote_etag` holds this file, however it was uploaded."""
    etag = remote_etag.strip('"')
    return etag == s3_etag(path, multipart="-" in etag)


def plan_sync(files: list[LocalFile], remote: dict[str, tuple[int, str]]) -> SyncPlan:
    """`remote` maps key -> (size, etag). Same size and checksum: unchanged; anything else uploads."""
    upload, unchanged = [], []
    for file in files:
        existing = remote.get(file.key)
        if existing and existing[0] == file.size and same_content(file.path, existing[1]):
            unchanged.append(file)
        else:
            upload.append(file)
    return SyncPlan(upload=upload, unchanged=unchanged)
