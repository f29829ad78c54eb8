"""Plan a folder sync to the bucket: what to upload, what the bucket already has (size + checksum)."""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from spotter.keys import DRONES_PREFIX, source_name_problem

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


@dataclass(frozen=True)
class Skipped:
    """A path under the folder that is not uploaded, and why (one line each for the user)."""

    path: Path
    reason: str


MAX_KEY_BYTES = 1024  # S3's limit on an object key, in UTF-8 bytes
_PSEUDO_ROOTS = ("/proc", "/sys")  # kernel files: regular by their mode, never photos


def _pseudo_devices() -> set[int]:
    found = set()
    for root in _PSEUDO_ROOTS:
        with contextlib.suppress(OSError):
            found.add(os.stat(root).st_dev)
    return found


def name_problem(relative: str) -> str | None:
    """Why a relative path cannot become an object key, or None: a name that is not UTF-8 (S3 keys
    are), one with control characters (a newline cannot even be signed for), one too long."""
    if any("\udc80" <= c <= "\udcff" for c in relative):  # os.fsdecode's stand-ins for undecodable bytes
        return "its name is not valid UTF-8 (S3 keys must be): rename it"
    if any(unicodedata.category(c) == "Cc" for c in relative):
        return "its name holds a control character (a newline, tab or escape): rename it"
    if len(relative.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        return f"its path is over S3's {MAX_KEY_BYTES}-byte key limit"
    return None


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def scan_folder(
    root: Path, prefix: str, include_hidden: bool = False, follow_symlinks: bool = False
) -> tuple[list[LocalFile], list[Skipped]]:
    """Every regular file under `root`, keyed as `prefix` + its path relative to root (POSIX), and
    what was passed over with the reason. A symbolic link whose target is outside `root` (a file
    or a folder) is skipped unless `follow_symlinks`; whatever the links, only regular files are
    read (no FIFO, device or socket, nothing under /proc or /sys); a name that cannot be a key is
    skipped saying why, never tried."""
    found: list[LocalFile] = []
    skipped: list[Skipped] = []
    real_root = os.path.realpath(root)
    pseudo = _pseudo_devices()
    seen_dirs = {real_root}
    for folder, dirs, names in os.walk(root, followlinks=True):
        if not include_hidden:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
        kept = []
        for name in sorted(dirs):
            path = Path(folder) / name
            if not path.is_symlink():
                kept.append(name)
                continue
            real = os.path.realpath(path)
            if not follow_symlinks and not _inside(real, real_root):
                skipped.append(
                    Skipped(path, "a link to a folder outside the synced folder (--follow-symlinks follows it)")
                )
            elif real in seen_dirs or _inside(real_root, real):  # a loop, or a folder met already
                skipped.append(Skipped(path, "a link to a folder already synced (or above it): not followed"))
            else:
                seen_dirs.add(real)
                kept.append(name)
        dirs[:] = kept
        for name in sorted(names):
            if not include_hidden and name.startswith("."):
                continue
            path = Path(folder) / name
            relative = path.relative_to(root).as_posix()
            problem = name_problem(relative)
            if problem:
                skipped.append(Skipped(path, problem))
                continue
            try:
                info = os.stat(path)  # through a link: what would be read
            except OSError as exc:
                skipped.append(Skipped(path, f"cannot be read: {exc.strerror or exc}"))
                continue
            if path.is_symlink() and not follow_symlinks and not _inside(os.path.realpath(path), real_root):
                skipped.append(
                    Skipped(path, "a link to a file outside the synced folder (--follow-symlinks follows it)")
                )
            elif not stat.S_ISREG(info.st_mode):
                skipped.append(Skipped(path, "not a regular file (a FIFO, device or socket): never read"))
            elif info.st_dev in pseudo:
                skipped.append(Skipped(path, "a kernel file (/proc or /sys): never read"))
            else:
                found.append(LocalFile(path=path, key=prefix + relative, size=info.st_size))
    return found, skipped


def local_files(
    root: Path, prefix: str, include_hidden: bool = False, follow_symlinks: bool = False
) -> list[LocalFile]:
    """The files `scan_folder` would upload."""
    return scan_folder(root, prefix, include_hidden, follow_symlinks)[0]


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
