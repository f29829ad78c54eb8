"""`spotter up`: the whole stack on 127.0.0.1, with the production handlers on moto.

    moto server process (S3, SQS, DynamoDB)  <- resources read from infra/template.yaml
        its state kept in the state folder (persist.py): data.sqlite3 + blobs/
    S3 ObjectCreated -> SQS -> SqsTrigger -> functions/classify/app.py
    HTTP server (API Gateway v2 events) -> functions/api/app.py, plus GET /health
    static server -> frontend/ + config.json

One stack per state folder: the stack holds an exclusive `flock` on `STATE/lock` for its whole life
(the kernel drops it when the process dies, however it dies), and its moto holds `STATE/moto.lock`.
A supervisor thread restarts moto (same port, state reloaded from the folder) or a classify poller
when one dies, with one line in the log; if moto cannot be brought back, or the API or web server
dies, the stack stops with one message and a non-zero exit: never half-alive.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO, TypedDict

import boto3

from spotter.config import Settings, shipped, use_local_aws
from spotter.local import http_api, persist, static_site
from spotter.local.lambda_runtime import PER_INSTANCE_PACKAGES, InstancePool, load_handler_module
from spotter.local.moto_process import MotoProcess
from spotter.local.resources import CreatedStack, StackSpec, create_stack
from spotter.local.sqs_trigger import SqsHandler, SqsTrigger
from spotter.local.template import STACK_NAME, TEMPLATE, stack_spec

log = logging.getLogger(__name__)
API_INSTANCES = 4  # concurrent API invocations locally: a slow request holds one, the others serve the rest


def _no_cold_start() -> Any:
    raise RuntimeError("every local API instance is started with the stack")


FRONTEND = shipped("frontend")
LOCK_NAME = "lock"
MAX_MOTO_RESTARTS = 3  # within RESTART_WINDOW_S; more means something is wrong that a restart will not fix
RESTART_WINDOW_S = 60.0
STATE_CHECK_S = 2.0  # how often the supervisor asks moto whether the state folder takes writes
# Tables the template once had and no longer has on purpose: a state folder from then may hold their
# items, which are dropped at start (not kept as orphans). The idempotency table went in issue 20.
RETIRED_TABLES = (f"{STACK_NAME}-idempotency",)


@dataclass
class LocalOptions:
    host: str = "127.0.0.1"
    web_port: int = 0
    api_port: int = 0
    s3_port: int = 0
    state_dir: Path = Path(".spotter")
    model: Path | None = None
    labels: Path | None = None  # a labels file overriding the model card's
    template: Path = TEMPLATE
    visibility_timeout_s: int | None = None
    pollers: int = 1
    log_level: str | None = None  # the handlers' unless POWERTOOLS_LOG_LEVEL says (None: Powertools' default)


class StackRunning(RuntimeError):
    pass


class _Poller(TypedDict):
    name: str
    handler: SqsHandler
    thread: threading.Thread | None  # None until its first start
    trigger: SqsTrigger | None
    restarts: int


def lock_owner(state_dir: Path) -> dict[str, Any] | None:
    """Who holds the state folder: {"pid", "started", "web"?} of a live stack, or None. Asks the kernel
    (a non-blocking shared flock), never the network, so it answers the same under any load."""
    path = Path(state_dir) / LOCK_NAME
    try:
        handle = open(path)
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            try:
                owner: dict[str, Any] = json.loads(handle.read() or "{}")
            except ValueError:
                return {}
            return owner
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


class StateLock:
    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / LOCK_NAME
        self.handle: TextIO | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        deadline = time.monotonic() + 2.0  # a reader's shared lock lasts microseconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    handle.seek(0)
                    try:
                        owner = json.loads(handle.read() or "{}")
                    except ValueError:
                        owner = {}
                    handle.close()
                    raise StackRunning(owner) from None
                time.sleep(0.05)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "started": datetime.now(UTC).isoformat(timespec="seconds")}))
        handle.flush()
        self.handle = handle

    def note(self, **fields: object) -> None:
        """Add what a second `spotter up` should be told (the web page) to the lock's content."""
        if self.handle is None:
            return
        self.handle.seek(0)
        owner = json.loads(self.handle.read() or "{}")
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(json.dumps({**owner, **fields}))
        self.handle.flush()

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def refused_message(state_dir: Path, owner: dict[str, Any]) -> str:
    who = f"pid {owner['pid']}" if owner.get("pid") else "another process"
    where = f", web page {owner['web']}" if owner.get("web") else ""
    return (
        f"a local stack is already running with {Path(state_dir) / 'local.json'} ({who}{where}): "
        "stop it, or give this one another --state-dir"
    )


def describe(summary: persist.Summary, spec: StackSpec) -> dict[str, int]:
    """N images, M records, K pending (and dead letters, other model's records) from what the state holds."""
    return {
        "images": summary["objects"].get(spec.bucket, 0),
        "records": summary["items"].get(spec.predictions.name, 0),
        "pending": summary["messages"].get(spec.queue, 0),
        "dead_letters": summary["messages"].get(spec.dead_letter_queue, 0),
        "bytes": summary.get("bytes", 0),
    }


class LocalStack:
    def __init__(self, options: LocalOptions):
        self.options = options
        self.stop_event = threading.Event()
        self.failed = threading.Event()  # set with self.failure when the stack must stop
        self.failure: str | None = None
        self.threads: list[threading.Thread] = []
        self.endpoints: dict[str, Any] = {}  # written to local.json
        self.found: dict[str, Any] = {}  # what the state folder held at start
        self.events: list[str] = []  # restarts, for /health
        self._moto: MotoProcess | None = None
        self._servers: list[ThreadingHTTPServer] = []  # serving
        self._bound: list[ThreadingHTTPServer] = []  # listening sockets, serving or not
        self._lock = StateLock(options.state_dir)
        self._pollers: list[_Poller] = []
        self._moto_restarts: list[float] = []
        self.write_failure: dict[str, Any] | None = None  # the state folder refusing writes (see _check_state_writes)
        self._state_checked_at = 0.0
        self._spec: StackSpec | None = None
        self._supervisor: threading.Thread | None = None
        self._supervisor_stop = threading.Event()

    @property
    def state_file(self) -> Path:
        return self.options.state_dir / "local.json"

    # -- the state folder ------------------------------------------------------------------------
    def claim(self) -> None:
        """Hold the state folder, or raise StackRunning(owner)."""
        self._lock.acquire()

    def stored(self) -> dict[str, int]:
        """What the state folder holds now (read from disk, moto not needed)."""
        return describe(persist.summary(self.options.state_dir), self._template_spec())

    def reset(self) -> list[Path]:
        """Delete the local data (the folder must be claimed). Returns what was deleted."""
        if self._lock.handle is None:
            raise RuntimeError("claim() the state folder before resetting it")
        paths = persist.data_paths(self.options.state_dir)
        for path in paths:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        return paths

    def _template_spec(self) -> StackSpec:
        return stack_spec(self.options.template)

    # -- start and stop --------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        o = self.options
        if self._lock.handle is None:
            self.claim()
        api_handler: dict[str, http_api.Handler] = {}
        api_server = _listening(
            lambda: http_api.make_server(
                o.host, o.api_port, lambda event, context: api_handler["fn"](event, context), health=self.health
            ),
            o.host,
            o.api_port,
            "--api-port",
        )
        self._bound.append(api_server)  # closed by stop() even if a later step fails
        api_url = f"http://{o.host}:{api_server.server_address[1]}"
        web_headers: dict[str, str] = {}  # its Content-Security-Policy, once moto's address is known
        web_server = _listening(
            lambda: static_site.make_server(o.host, o.web_port, FRONTEND, {"apiUrl": api_url}, web_headers),
            o.host,
            o.web_port,
            "--web-port",
        )
        self._bound.append(web_server)
        web_port = web_server.server_address[1]
        web_origin = f"http://{o.host}:{web_port}"
        origins = (web_origin, f"http://localhost:{web_port}") if o.host == "127.0.0.1" else (web_origin,)

        spec = self._template_spec()
        spec = replace(spec, cors_origins=origins)
        # moto after the page's port is known: a browser may use moto's port from the page's origin only
        self._moto = MotoProcess(
            o.host, o.s3_port, state_dir=o.state_dir, page_origins=origins, page_buckets=(spec.bucket,)
        )
        s3_endpoint = self._moto.start()
        web_headers["Content-Security-Policy"] = static_site.content_security_policy([api_url, s3_endpoint])
        if o.visibility_timeout_s is not None:
            spec = replace(spec, visibility_timeout_s=o.visibility_timeout_s)
        self._spec = spec
        # Local never talks to real AWS: fake credentials, every client pointed at moto.
        use_local_aws(s3_endpoint)
        settings = self.handler_settings(spec, s3_endpoint, origins)
        created, loaded = self._provision()
        self.found = {
            "images": loaded["objects"].get(spec.bucket, 0),
            "records": loaded["items"].get(spec.predictions.name, 0),
            "pending": loaded["messages"].get(spec.queue, 0),
            "dead_letters": loaded["messages"].get(spec.dead_letter_queue, 0),
            "orphaned": loaded.get("orphaned", []),
            "retired": loaded.get("retired", 0),  # items of RETIRED_TABLES, dropped
            "missing": loaded.get("missing", []),
        }

        classify = load_handler_module("classify", settings)
        # up to API_INSTANCES concurrent invocations, each in a module (and Powertools event handler) of its
        # own, as Lambda scales out; all loaded now, before any request (see PER_INSTANCE_PACKAGES)
        api_instances = tuple(
            load_handler_module("api", settings, own_packages=PER_INSTANCE_PACKAGES).lambda_handler
            for _ in range(API_INSTANCES)
        )
        api_handler["fn"] = InstancePool(_no_cold_start, API_INSTANCES, warm=api_instances)
        # one handler module per poller: each is its own "Lambda instance" with its own interpreter
        instances = [classify] + [load_handler_module("classify", settings) for _ in range(max(1, o.pollers) - 1)]
        for number, instance in enumerate(instances):
            self._pollers.append(
                {
                    "name": f"classify-{number}",
                    "handler": instance.lambda_handler,
                    "thread": None,
                    "trigger": None,
                    "restarts": 0,
                }
            )
            self._start_poller(self._pollers[-1], created.queue_url)
        self._serve(api_server, "api")
        self._serve(web_server, "web")

        self.endpoints = {
            "web": f"{web_origin}/",
            "api": api_url,
            "s3": s3_endpoint,
            "bucket": spec.bucket,
            "table": spec.predictions.name,
            "queue": created.queue_url,
            "dead_letter_queue": created.dead_letter_queue_url,
            "model": classify.services().model_id,
            "region": "us-east-1",
            "pid": os.getpid(),
            "state_dir": str(o.state_dir.resolve()),
        }
        o.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.endpoints, indent=2) + "\n")
        tmp.replace(self.state_file)  # readers never see a half-written file
        self._lock.note(web=self.endpoints["web"])
        self._supervisor = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
        self._supervisor.start()
        return self.endpoints

    def handler_settings(self, spec: StackSpec, endpoint_url: str, origins: tuple[str, ...]) -> Settings:
        """What the handlers are given: the template's names on this moto, the page's origins, the
        model asked for, and otherwise what the environment says (e.g. DECODE_ISOLATION)."""
        o = self.options
        settings = replace(
            Settings.from_env(),
            uploads_bucket=spec.bucket,
            predictions_table=spec.predictions.name,
            allowed_origins=origins,
            endpoint_url=endpoint_url,
        )
        if o.model:
            settings = replace(settings, model_path=Path(o.model).resolve())
        if o.labels:
            settings = replace(settings, labels_path=Path(o.labels).resolve())
        if o.log_level and settings.log_level is None:  # POWERTOOLS_LOG_LEVEL, if set, wins
            settings = replace(settings, log_level=o.log_level)
        return settings

    def _started_moto(self) -> MotoProcess:
        if self._moto is None:
            raise RuntimeError("the stack's moto has not been started")
        return self._moto

    def _started_spec(self) -> StackSpec:
        if self._spec is None:
            raise RuntimeError("the stack has not been started")
        return self._spec

    def _provision(self) -> tuple[CreatedStack, dict[str, Any]]:
        """Create the template's resources in the (fresh) moto, then load the saved state into them
        (what was loaded: persist.Restored, as JSON)."""
        spec = self._started_spec()
        created = create_stack(spec, boto3.client("s3"), boto3.client("sqs"), boto3.client("dynamodb"))
        loaded = self._started_moto().call("/_spotter/restore", {"retired_tables": list(RETIRED_TABLES)})
        return created, loaded

    def _serve(self, server: ThreadingHTTPServer, name: str) -> None:
        self._servers.append(server)
        thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _start_poller(self, poller: _Poller, queue_url: str) -> None:
        spec = self._started_spec()
        trigger = SqsTrigger(
            boto3.client("sqs"),
            queue_url,
            poller["handler"],
            batch_size=spec.batch_size,
            batching_window_s=spec.batching_window_s,
            function_timeout_s=spec.function_timeout_s,
        )
        thread = threading.Thread(
            target=trigger.run,
            args=(self.stop_event, poller["name"]),
            name=f"sqs-trigger-{poller['name']}",
            daemon=True,
        )
        thread.start()
        poller["thread"], poller["trigger"] = thread, trigger

    def stop(self) -> None:
        self._supervisor_stop.set()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout=60)
        self.stop_event.set()
        for server in self._servers:
            server.shutdown()  # only for servers whose loop runs: shutdown() waits for it to end
        for server in self._bound:
            server.server_close()
        for thread in self.threads + [p["thread"] for p in self._pollers if p["thread"]]:
            thread.join(timeout=5)
        if self._moto is not None:
            self._moto.stop()
        if self._lock.handle is not None and self.endpoints and _read_state(self.state_file) == self.endpoints:
            self.state_file.unlink()  # ours: we hold the folder's lock
        self._lock.release()

    # -- supervision -----------------------------------------------------------------------------
    def _fail(self, message: str) -> None:
        if self.failure is None:
            self.failure = message
        self.failed.set()

    def _supervise(self) -> None:
        while not self._supervisor_stop.wait(0.5):
            try:
                self._check_once()
            except Exception as exc:  # the supervisor itself must never die silently
                log.exception("supervisor")
                self._fail(f"the stack's supervisor failed: {exc}")
            if self.failed.is_set():
                return

    def _check_once(self) -> None:
        moto, spec = self._started_moto(), self._started_spec()
        if not moto.alive():
            code = moto.returncode()
            now = time.monotonic()
            self._moto_restarts = [t for t in self._moto_restarts if now - t < RESTART_WINDOW_S] + [now]
            if len(self._moto_restarts) > MAX_MOTO_RESTARTS:
                self._fail(
                    f"moto (S3, SQS, DynamoDB) exited {len(self._moto_restarts)} times in "
                    f"{RESTART_WINDOW_S:.0f} s (last exit code {code}): stopping. Its last words: "
                    f"{moto.log_tail(500).strip() or 'none'}"
                )
                return
            line = f"moto (S3, SQS, DynamoDB) exited with code {code}: restarting it on {moto.endpoint}, state from {self.options.state_dir}"
            log.warning(line)
            try:
                moto.start()
                _, loaded = self._provision()
            except Exception as exc:
                self._fail(f"moto (S3, SQS, DynamoDB) exited with code {code} and could not be restarted: {exc}")
                return
            self.events.append(
                f"{datetime.now(UTC).isoformat(timespec='seconds')} moto restarted "
                f"(exit code {code}); reloaded {loaded['objects'].get(spec.bucket, 0)} images, "
                f"{loaded['items'].get(spec.predictions.name, 0)} records, "
                f"{loaded['messages'].get(spec.queue, 0)} pending"
            )
        self._check_state_writes()
        for poller in self._pollers:
            thread = poller["thread"]
            if (thread is None or not thread.is_alive()) and not self.stop_event.is_set():
                poller["restarts"] += 1
                line = f"classify poller {poller['name']} stopped: restarting it (restart {poller['restarts']})"
                log.warning(line)
                self.events.append(f"{datetime.now(UTC).isoformat(timespec='seconds')} {line}")
                self._start_poller(poller, self.endpoints["queue"])
        for server_thread in self.threads:
            if not server_thread.is_alive():
                self._fail(f"the {server_thread.name} server stopped unexpectedly")

    def _check_state_writes(self) -> None:
        """One line when the state folder stops taking writes (a full disk), one when it recovers."""
        now = time.monotonic()
        moto = self._started_moto()
        if now - self._state_checked_at < STATE_CHECK_S or not moto.alive():
            return
        self._state_checked_at = now
        try:
            failure = moto.call("/_spotter/status", timeout_s=2).get("write_failure")
        except Exception:  # moto busy or restarting: the next check will tell
            return
        if failure and not self.write_failure:
            line = (
                f"cannot write the state folder {self.options.state_dir}: {failure['error']}; uploads and "
                "records fail until it can (free some space)"
            )
            log.warning(line)
            self.events.append(f"{datetime.now(UTC).isoformat(timespec='seconds')} {line}")
        elif self.write_failure and not failure:
            log.warning("the state folder %s takes writes again", self.options.state_dir)
        self.write_failure = failure

    def health(self) -> tuple[bool, dict[str, Any]]:
        moto_ok = bool(self._moto and self._moto.alive())
        pollers = [
            {
                "name": p["name"],
                "alive": bool(p["thread"] and p["thread"].is_alive()),
                "reaching_queue": p["trigger"] is not None and p["trigger"].failing_since is None,
                "restarts": p["restarts"],
            }
            for p in self._pollers
        ]
        servers = {t.name: t.is_alive() for t in self.threads}
        parts = {
            "moto": {
                "alive": moto_ok,
                "pid": self._moto.pid if self._moto else None,
                "endpoint": self._moto.endpoint if self._moto else None,
                "restarts": len(self._moto_restarts),
            },
            "pollers": pollers,
            "servers": servers,
            "state": {
                "dir": str(self.options.state_dir.resolve()),
                "lock_pid": os.getpid(),
                "found_at_start": self.found,
                "write_failure": self.write_failure,
            },
        }
        healthy = (
            moto_ok
            and all(p["alive"] and p["reaching_queue"] for p in pollers)
            and all(servers.values())
            and not self.failed.is_set()
            and not self.write_failure
        )
        return healthy, {
            "status": "ok" if healthy else "degraded",
            "pid": os.getpid(),
            "parts": parts,
            "events": self.events[-20:],
            "failure": self.failure,
        }


def _listening(
    make_server: Callable[[], ThreadingHTTPServer], host: str, port: int, option: str
) -> ThreadingHTTPServer:
    try:
        return make_server()
    except OSError as exc:
        raise RuntimeError(f"port {port} on {host} ({option}) is not free: {exc.strerror}") from None


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state


def running_stack(state_dir: Path) -> str | None:
    """The web page (or pid) of the live stack that holds `state_dir`, None when none does."""
    owner = lock_owner(state_dir)
    if owner is None:
        return None
    return (
        owner.get("web") or (_read_state(Path(state_dir) / "local.json") or {}).get("web") or f"pid {owner.get('pid')}"
    )
