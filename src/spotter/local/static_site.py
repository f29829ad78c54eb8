"""Serve the static page as the site bucket would, plus its deploy-time `config.json`."""

from __future__ import annotations

import json
import logging
import os
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from spotter.local.request_guard import bound_address, host_allowed

log = logging.getLogger(__name__)


def content_security_policy(origins: list[str]) -> str:
    """The page's Content-Security-Policy: its own scripts and styles only (no inline), images and
    requests to `origins` too (the API, the uploads bucket). infra/template.yaml sends the same
    directives from CloudFront (tests/test_infra.py compares them)."""
    extra = "".join(f" {origin}" for origin in origins)
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; font-src 'self'; "
        f"img-src 'self' data: blob:{extra}; connect-src 'self'{extra}; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def make_server(
    host: str, port: int, root: Path, config: dict[str, Any], headers: dict[str, str] | None = None
) -> ThreadingHTTPServer:
    """`headers` go on every reply; the stack fills in its Content-Security-Policy once moto's port is known."""
    config_body = json.dumps(config).encode()
    extra_headers = {} if headers is None else headers

    class Handler(SimpleHTTPRequestHandler):
        # not a ClassVar: typeshed declares an instance variable, which mypy will not let a ClassVar override
        extensions_map = {  # noqa: RUF012 (see above)
            **SimpleHTTPRequestHandler.extensions_map,
            ".js": "text/javascript",
            ".mjs": "text/javascript",
        }

        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/config.json":  # written at deploy time in production
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(config_body)))
                self.end_headers()
                self.wfile.write(config_body)
                return
            super().do_GET()

        def list_directory(self, path: str | os.PathLike[str]) -> None:
            self.send_error(404, "No listing here")  # the page's own files only, never a folder's contents
            return None

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-cache")
            for name, value in list(extra_headers.items()):
                self.send_header(name, value)
            super().end_headers()

        def parse_request(self) -> bool:
            if not super().parse_request():
                return False
            bound_host, bound_port = bound_address(self.server.server_address)
            if not host_allowed(self.headers.get("Host"), bound_port, bound_host):  # DNS rebinding
                self.send_error(403, "This server answers requests to 127.0.0.1 or localhost only")
                return False
            return True

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("web %s", format % args)

    return _StaticServer((host, port), partial(Handler, directory=str(root)))


class _StaticServer(ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's backlog of 5 reset connections in a burst
