"""A one-line progress bar with rate and ETA on a terminal; sparse plain lines otherwise."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    def __init__(self, total: int, total_bytes: int, label: str = "files", stream: TextIO | None = None) -> None:
        self.total, self.total_bytes, self.label = total, total_bytes, label
        self.stream = stream or sys.stderr
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.done = self.done_bytes = self.failed = 0
        self.started = time.monotonic()
        self._last = 0.0
        self._lock = threading.Lock()

    def advance(self, size: int, failed: bool = False) -> None:
        with self._lock:
            self.done += 1
            self.done_bytes += size
            self.failed += failed
            now = time.monotonic()
            if now - self._last >= (0.1 if self.tty else 10.0) or self.done == self.total:
                self._last = now
                self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-6)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate else 0
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {self.label} "
            f"{self.done_bytes / 1e6:.1f}/{self.total_bytes / 1e6:.1f} MB  {rate:.1f}/s  ETA {_clock(eta)}"
            + (f"  {self.failed} failed" if self.failed else "")
        )
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started
