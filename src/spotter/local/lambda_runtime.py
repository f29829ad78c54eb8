"""Load the Lambda handlers from `functions/` and give them a context, as the Lambda runtime does."""

from __future__ import annotations

import importlib.util
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from spotter.config import Settings, shipped

FUNCTIONS_DIR = shipped("functions")
_loaded = itertools.count()


# What an instance of the local API imports a copy of its own: Powertools' event handler keeps the
# event being handled (its Origin, the caller's claims) in class attributes of BaseRouter, one per
# process on Lambda; instances sharing one process must not share them, or a request is answered with
# another's CORS headers and caller. Such instances are loaded before any request is served (the
# loading swaps entries of sys.modules, which a concurrent import would trip on).
PER_INSTANCE_PACKAGES = ("aws_lambda_powertools.event_handler",)


def load_handler_module(
    name: str,
    settings: Settings | None = None,
    functions_dir: Path = FUNCTIONS_DIR,
    own_packages: tuple[str, ...] = (),
) -> ModuleType:
    """Import `functions/<name>/app.py` afresh (with a copy of `own_packages` of its own) and build its
    services from `settings` (default: the environment's) with its `init`, as Lambda's INIT does: a
    cold start."""
    import sys

    def owned(key: str) -> bool:
        return any(key == package or key.startswith(package + ".") for package in own_packages)

    path = functions_dir / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"spotter_function_{name}_{next(_loaded)}", path)
    if spec is None or spec.loader is None:  # not for a path ending in .py: a missing file fails in exec_module
        raise ImportError(f"cannot load a handler from {path}")
    module = importlib.util.module_from_spec(spec)
    shared = {key: sys.modules.pop(key) for key in list(sys.modules) if owned(key)}
    try:
        spec.loader.exec_module(module)
    finally:
        for key in [key for key in sys.modules if owned(key)]:
            del sys.modules[key]  # this instance keeps its copies; the next import finds the shared ones
        sys.modules.update(shared)
        for key, package in shared.items():  # the parent package's attribute, as it was
            parent, _, child = key.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, package)
    module.init(settings if settings is not None else Settings.from_env())
    return module


@dataclass
class LambdaContext:
    function_name: str
    timeout_s: float = 30.0
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


# A Lambda handler: (event, context) -> the response
Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


class InstancePool:
    """Up to `size` instances of one function, each serving one invocation at a time, as Lambda
    serves concurrent invocations from separate instances: a slow invocation holds its instance
    only. A new instance is started (`start`: a cold start, e.g. a fresh `load_handler_module`, so
    no two invocations share a module's globals) only when every one is busy; past `size`, a call
    waits for the first to come free. `warm`: instances already started."""

    def __init__(self, start: Callable[[], Handler], size: int = 4, warm: tuple[Handler, ...] = ()) -> None:
        if size < 1 or len(warm) > size:
            raise ValueError("an instance pool holds 1..size instances")
        self._start = start
        self.size = size
        self._idle: list[Handler] = list(warm)
        self.started = len(warm)
        self._changed = threading.Condition()
        self._starting = threading.Lock()  # one cold start at a time: boto3's default session is not thread-safe

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        handler = self._acquire()
        try:
            return handler(event, context)
        finally:
            with self._changed:
                self._idle.append(handler)
                self._changed.notify()

    def _acquire(self) -> Handler:
        with self._changed:
            while not self._idle and self.started >= self.size:
                self._changed.wait()
            if self._idle:
                return self._idle.pop()
            self.started += 1
        try:
            with self._starting:
                return self._start()
        except BaseException:
            with self._changed:
                self.started -= 1
                self._changed.notify()
            raise
