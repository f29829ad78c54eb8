"""moto server in its own process: AWS state and request handling off the handlers' interpreter
(its own GIL and memory), as the real services are."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


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
        port: int = probe.getsockname()[1]
        return port


class MotoProcess:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_dir: Path | None = None,
        page_origins: tuple[str, ...] = (),
        page_buckets: tuple[str, ...] = (),
    ):
        """`page_origins`, `page_buckets`: the web page, and the buckets it may upload to and read from
        (see request_guard.py: every other request from a browser is refused)."""
        self.host = host
        self.port = port or free_port(host)
        self.state_dir = state_dir
        self.page_origins = page_origins
        self.page_buckets = page_buckets
        self.process: subprocess.Popen[str] | None = None
        self._log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a full pipe would block moto

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def returncode(self) -> int | None:
        return self.process.poll() if self.process else None

    def log_tail(self, chars: int = 2000) -> str:
        try:
            self._log.seek(0)
            return self._log.read()[-chars:]
        except (OSError, ValueError):
            return ""

    def call(self, path: str, payload: dict[str, Any] | None = None, timeout_s: float = 300.0) -> dict[str, Any]:
        """The state routes of our moto process (`/_spotter/...`, see persist.py)."""
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            f"{self.endpoint}{path}",
            data=data,
            method="POST" if data else "GET",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"moto {path}: {json.loads(exc.read() or b'{}').get('message', exc)}") from None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> str:
        with socket.socket() as probe:  # else the readiness check below would be answered by whoever holds it
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no owner
            try:
                probe.bind((self.host, self.port))
            except OSError as exc:
                raise RuntimeError(f"port {self.port} on {self.host} (--s3-port) is not free: {exc.strerror}") from None
        command = [sys.executable, "-m", "spotter.local.moto_main", "-H", self.host, "-p", str(self.port)]
        if self.state_dir is not None:
            command += ["--state-dir", str(self.state_dir)]
        for origin in self.page_origins:
            command += ["--page-origin", origin]
        for bucket in self.page_buckets:
            command += ["--page-bucket", bucket]
        self._log.seek(0)
        self._log.truncate()
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            text=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            start_new_session=True,  # Ctrl-C in the terminal reaches the stack, which stops moto last
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited: {self.log_tail()}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=1).read()
                return self.endpoint
            except OSError:
                time.sleep(0.1)
        self.stop(close_log=False)
        raise RuntimeError(f"moto server did not answer on {self.endpoint} within {timeout_s:.0f} s")

    def stop(self, close_log: bool = True) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if close_log:
            self._log.close()
