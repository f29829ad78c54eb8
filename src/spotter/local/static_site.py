"""Serve the static page as the site bucket would, plus its deploy-time `config.json`."""

from __future__ import annotations

import json
import logging
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

log = logging.getLogger(__name__)


def make_server(host: str, port: int, root: Path, config: dict) -> ThreadingHTTPServer:
    config_body = json.dumps(config).encode()

    class Handler(SimpleHTTPRequestHandler):
        extensions_map: ClassVar[dict[str, str]] = {
            **SimpleHTTPRequestHandler.extensions_map,
            ".js": "text/javascript",
            ".mjs": "text/javascript",
        }

        def do_GET(self):
            if self.path.split("?")[0] == "/config.json":  # written at deploy time in production
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(config_body)))
                self.end_headers()
                self.wfile.write(config_body)
                return
            super().do_GET()

        def end_headers(self):
            self.send_header("Cache-Control", "no-cache")
            super().end_headers()

        def log_message(self, format, *args):
            log.debug("web %s", format % args)

    return ThreadingHTTPServer((host, port), partial(Handler, directory=str(root)))
