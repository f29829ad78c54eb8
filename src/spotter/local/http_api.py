"""Serve a Lambda handler over HTTP as API Gateway (HTTP API, payload format 2.0) does."""

from __future__ import annotations

import base64
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from spotter.local.lambda_runtime import Handler as Handler
from spotter.local.lambda_runtime import LambdaContext
from spotter.local.request_guard import bound_address, host_allowed

log = logging.getLogger(__name__)
# A client that hung up before its reply was written: a line in the log, not a traceback
DISCONNECTED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")


def http_api_event(
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    source_ip: str = "127.0.0.1",
    jwt_claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`jwt_claims`: what API Gateway's JWT authorizer passes on once it has verified a token."""
    parts = urlsplit(raw_path)
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value  # API Gateway joins repeats
    lowered = {k.lower(): v for k, v in headers.items()}
    is_text = any(lowered.get("content-type", "").startswith(t) for t in _TEXT_TYPES) or not body
    if is_text and body:
        try:  # a "text" body that is not UTF-8 travels base64-encoded, as API Gateway passes binary
            body.decode("utf-8")
        except UnicodeDecodeError:
            is_text = False
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if jwt_claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": jwt_claims, "scopes": None}}
    if query:
        event["queryStringParameters"] = query
    if "cookie" in lowered:
        event["cookies"] = [c.strip() for c in lowered["cookie"].split(";")]
    if body:
        event["body"] = body.decode("utf-8") if is_text else base64.b64encode(body).decode()
    return event


MAX_REQUEST_BYTES = 10 * 1024 * 1024


def make_server(
    host: str,
    port: int,
    handler: Handler,
    function_name: str = "ApiFunction",
    health: Callable[[], tuple[bool, dict[str, Any]]] | None = None,
) -> ThreadingHTTPServer:
    """`health`: answers `GET /health` locally (not a route of the deployed API): (healthy, report).
    Each request runs on its own thread and calls `handler` at once: `handler` serialises what must
    be (the local stack passes a `lambda_runtime.InstancePool`: one invocation per instance, as on
    Lambda, so a slow request holds one instance and the other routes are answered by the rest)."""

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30  # seconds a client may stall mid-request (API Gateway gives up after 30 s too)

        def _handle(self) -> None:
            bound_host, bound_port = bound_address(self.server.server_address)
            if not host_allowed(self.headers.get("Host"), bound_port, bound_host):  # DNS rebinding
                self._reply(
                    {
                        "statusCode": 403,
                        "headers": {"Content-Type": "application/json"},
                        "body": json.dumps({"message": "this server answers requests to 127.0.0.1 or localhost only"}),
                    }
                )
                self.close_connection = True
                return
            if health is not None and self.command == "GET" and urlsplit(self.path).path == "/health":
                healthy, report = health()
                self._reply(
                    {
                        "statusCode": 200 if healthy else 503,
                        "headers": {
                            "Content-Type": "application/json",
                            "Cache-Control": "no-store",  # no CORS: other sites have no business reading it
                        },
                        "body": json.dumps(report),
                    }
                )
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_REQUEST_BYTES:  # API Gateway's own limit
                self._reply(
                    {
                        "statusCode": 413,
                        "headers": {"Content-Type": "application/json"},
                        "body": json.dumps({"message": f"request body must be at most {MAX_REQUEST_BYTES} bytes"}),
                    }
                )
                self.close_connection = True
                return
            body = self.rfile.read(length) if length else b""
            event = http_api_event(self.command, self.path, dict(self.headers.items()), body, self.client_address[0])
            try:
                response = handler(event, LambdaContext(function_name=function_name))
            except Exception:
                log.exception("API handler raised")
                response = {
                    "statusCode": 500,
                    "headers": {"Content-Type": "application/json"},
                    "body": '{"message":"Internal Server Error"}',
                }
            self._reply(response)

        def _reply(self, response: dict[str, Any]) -> None:
            body = response.get("body") or ""
            payload = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode("utf-8")
            self.send_response(int(response.get("statusCode", 200)))
            headers = dict(response.get("headers") or {})
            for name, values in (response.get("multiValueHeaders") or {}).items():
                headers[name] = ", ".join(values)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, str(value))
            for cookie in response.get("cookies") or []:
                self.send_header("Set-Cookie", cookie)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _serve(self) -> None:
            try:
                self._handle()
            except DISCONNECTED as error:
                self.close_connection = True
                log.info("api: %s %s: the client disconnected (%s)", self.command, self.path, type(error).__name__)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("api %s", format % args)

    return _QuietServer((host, port), RequestHandler)


class _QuietServer(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: a burst of 30 requests had connections reset; queue them
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone mid-request (reading its request line, say) is one line; anything else keeps
        socketserver's traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, DISCONNECTED):
            log.info("api: %s:%s disconnected (%s)", *client_address[:2], type(error).__name__)
            return
        super().handle_error(request, client_address)
