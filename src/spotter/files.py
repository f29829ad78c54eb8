"""Local files the command line reads and writes, safely.

Written: whole or not at all. `replaced(path)` hands out a temporary file in the same folder and
renames it over `path` only once everything is written and flushed to disk, so a full disk or an
error half-way leaves the previous file as it was (never a truncated file that looks complete).
An output path that is a symbolic link, a device, a FIFO or a folder is refused (`check_writable`):
the rename would replace a device or FIFO with a file, and writing through a link whatever it points at.

Read: regular files only, and at most a stated number of bytes (`read_regular`): a device
(/dev/zero), a FIFO or a /proc file is refused before a byte is read, rather than read until memory
runs out or waited on for ever.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


class FileRefused(OSError):
    """A path that is not the kind of file asked for, or too large: one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.strerror = message


def check_writable(path: Path) -> None:
    """Refuse an output path that is a symbolic link (its target would be overwritten) or that exists
    and is not a regular file: a device, a FIFO or a socket would be replaced by the renamed file
    (/dev/null as root), and a folder cannot be."""
    path = Path(path)
    if path.is_symlink():
        raise FileRefused(
            f"{path} is a symbolic link: give the file itself (its target is never written through a link)"
        )
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise FileRefused(
            f"{path} is not a regular file (a device, FIFO, socket or folder): give a file path, "
            "or leave out --output to write to standard output"
        )


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def replaced(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write; renamed over `path` when the block ends without an
    error (after an fsync), deleted otherwise. The file keeps an existing file's permissions."""
    path = Path(path)
    check_writable(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    temporary = Path(name)
    try:
        os.close(fd)
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, _mode_for(path))
        check_writable(path)  # made a link meanwhile: still never written through
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def read_regular(path: Path, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `max_bytes`; FileRefused for anything else (a device,
    a FIFO, a folder, a socket) or anything larger, checked on the opened file itself. Opened
    without blocking, so a FIFO with no writer is refused at once rather than waited on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{path} is not a regular file (a device, FIFO, socket or folder): not read")
        if info.st_size > max_bytes:
            raise FileRefused(f"{what} {path} is {info.st_size:,} bytes, over the {max_bytes:,}-byte limit")
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:  # grew while being read
                raise FileRefused(f"{what} {path} is over the {max_bytes:,}-byte limit")
        return b"".join(chunks)
    finally:
        os.close(fd)
