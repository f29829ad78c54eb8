"""`spotter up`: the whole stack on 127.0.0.1, with the production handlers on moto.

    moto server process (S3, SQS, DynamoDB)  <- resources read from infra/template.yaml
    S3 ObjectCreated -> SQS -> SqsTrigger -> functions/classify/app.py
    HTTP server (API Gateway v2 events) -> functions/api/app.py
    static server -> frontend/ + config.json
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

import boto3

from . import http_api, static_site
from .lambda_runtime import load_handler_module
from .moto_process import MotoProcess
from .resources import create_stack
from .sqs_trigger import SqsTrigger
from .template import TEMPLATE, stack_spec

log = logging.getLogger(__name__)
FRONTEND = Path(__file__).resolve().parents[3] / "frontend"


@dataclass
class LocalOptions:
    host: str = "127.0.0.1"
    web_port: int = 0
    api_port: int = 0
    s3_port: int = 0
    state_dir: Path = Path(".spotter")
    model: Path | None = None
    template: Path = TEMPLATE
    visibility_timeout_s: int | None = None
    pollers: int = 1


class LocalStack:
    def __init__(self, options: LocalOptions):
        self.options = options
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.endpoints: dict = {}
        self._moto = None
        self._servers = []  # serving
        self._bound = []  # listening sockets, serving or not

    def _serve(self, server, name: str) -> None:
        self._servers.append(server)
        thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    @property
    def state_file(self) -> Path:
        return self.options.state_dir / "local.json"

    def start(self) -> dict:
        o = self.options
        running = running_stack(self.state_file)
        if running:
            raise RuntimeError(f"a local stack is already running with {self.state_file} (web page {running}): "
                               "stop it, or give this one another --state-dir")
        self._moto = MotoProcess(o.host, o.s3_port)
        s3_endpoint = self._moto.start()

        api_handler: dict = {}
        api_server = _listening(lambda: http_api.make_server(
            o.host, o.api_port, lambda event, context: api_handler["fn"](event, context)), o.host, o.api_port, "--api-port")
        self._bound.append(api_server)  # closed by stop() even if a later step fails
        api_url = f"http://{o.host}:{api_server.server_address[1]}"
        web_server = _listening(lambda: static_site.make_server(o.host, o.web_port, FRONTEND, {"apiUrl": api_url}),
                                o.host, o.web_port, "--web-port")
        self._bound.append(web_server)
        web_port = web_server.server_address[1]
        web_origin = f"http://{o.host}:{web_port}"
        origins = (web_origin, f"http://localhost:{web_port}") if o.host == "127.0.0.1" else (web_origin,)

        spec = stack_spec(o.template)
        spec = replace(spec, cors_origins=origins)
        if o.visibility_timeout_s is not None:
            spec = replace(spec, visibility_timeout_s=o.visibility_timeout_s)
        # Local never talks to real AWS: fake credentials, every client pointed at moto.
        os.environ.update(
            AWS_ENDPOINT_URL=s3_endpoint, AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local",
            AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1",
            UPLOADS_BUCKET=spec.bucket, PREDICTIONS_TABLE=spec.predictions.name,
            IDEMPOTENCY_TABLE=spec.idempotency.name, ALLOWED_ORIGINS=",".join(origins),
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        if o.model:
            os.environ["SPOTTER_MODEL"] = str(Path(o.model).resolve())
        created = create_stack(spec, boto3.client("s3"), boto3.client("sqs"), boto3.client("dynamodb"))

        classify = load_handler_module("classify")
        api_handler["fn"] = load_handler_module("api").lambda_handler
        # one handler module per poller: each is its own "Lambda instance" with its own interpreter
        instances = [classify] + [load_handler_module("classify") for _ in range(max(1, o.pollers) - 1)]
        for number, instance in enumerate(instances):
            trigger = SqsTrigger(boto3.client("sqs"), created.queue_url, instance.lambda_handler,
                                 batch_size=spec.batch_size, batching_window_s=spec.batching_window_s,
                                 function_timeout_s=spec.function_timeout_s)
            thread = threading.Thread(target=trigger.run, args=(self.stop_event,), name=f"sqs-trigger-{number}",
                                      daemon=True)
            thread.start()
            self.threads.append(thread)
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
            "model": classify.service.model_id,
            "region": "us-east-1",
        }
        o.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.endpoints, indent=2) + "\n")
        tmp.replace(self.state_file)  # readers never see a half-written file
        return self.endpoints

    def stop(self) -> None:
        self.stop_event.set()
        for server in self._servers:
            server.shutdown()  # only for servers whose loop runs: shutdown() waits for it to end
        for server in self._bound:
            server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)
        if self._moto is not None:
            self._moto.stop()
        if self.endpoints and _read_state(self.state_file) == self.endpoints:  # never another stack's file
            self.state_file.unlink()


def _listening(make_server, host: str, port: int, option: str):
    try:
        return make_server()
    except OSError as exc:
        raise RuntimeError(f"port {port} on {host} ({option}) is not free: {exc.strerror}") from None


def _read_state(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def running_stack(state_file: Path) -> str | None:
    """The web page of the stack `state_file` describes, if that stack still answers; None otherwise."""
    endpoints = _read_state(state_file) or {}
    if not str(endpoints.get("s3", "")).startswith(("http://", "https://")):
        return None
    try:
        urllib.request.urlopen(f"{endpoints['s3']}/moto-api/data.json", timeout=1).read()
    except (OSError, ValueError):
        return None  # left behind by a stack that was killed: ours to replace
    return endpoints.get("web", endpoints["s3"])
