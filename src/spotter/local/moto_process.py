"""moto server in its own process: AWS state and request handling off the handlers' interpreter
(its own GIL and memory), as the real services are."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request



def _die_with_parent() -> None:
    """Linux: SIGTERM moto if the stack process dies without stopping it (kill -9, crash)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class MotoProcess:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.port = port or free_port(host)
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a full pipe would block moto

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> str:
        with socket.socket() as probe:  # else the readiness check below would be answered by whoever holds it
            try:
                probe.bind((self.host, self.port))
            except OSError as exc:
                raise RuntimeError(f"port {self.port} on {self.host} (--s3-port) is not free: {exc.strerror}") from None
        self.process = subprocess.Popen(
            [sys.executable, "-m", "spotter.local.moto_main", "-H", self.host, "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=self._log, text=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            start_new_session=True,  # Ctrl-C in the terminal reaches the stack, which stops moto last
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.seek(0)
                raise RuntimeError(f"moto server exited: {self._log.read()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=1).read()
                return self.endpoint
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.endpoint} within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()
