"""Who may talk to the local stack's ports: the checks a web page on the same machine would otherwise get past.

The local servers listen on loopback, but every web page the user's browser opens can send requests
there. Two checks close what such a page could do:

- `Host`: each server answers only requests addressed to it by a loopback name and its own port
  (`127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`, the `--host` given): a DNS-rebinding page
  (`evil.example` resolved to 127.0.0.1) sends `Host: evil.example:PORT` and is refused (403).
- moto's port (`MotoGuard`): moto checks no signature and answers any `Origin` with permissive CORS.
  A request from a browser (it carries `Origin`, or `Sec-Fetch-*` headers) is let through only when it
  is what the page does on its uploads bucket: the presigned POST (a multipart form, whose policy and
  signature `post_policy.py` checks) and GET/HEAD of an object, plus the CORS preflights of those, from
  the page's own origin (or, for a GET/HEAD without `Origin`, an `<img>`, from any page: it displays an
  image whose key it knows but cannot read it). Everything else from a browser (DynamoDB, SQS, moto's
  own API, a form posting `Action=...` as text/plain, a preflight for a JSON API) is refused with 403
  and no CORS headers. Requests with neither header (boto3, the CLI, curl) pass: any local process
  may do anything, as it holds the local stack's public credentials anyway.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
PAGE_METHODS = frozenset({"GET", "HEAD", "POST"})


def host_allowed(host_header: str | None, port: int, bind_host: str = "127.0.0.1") -> bool:
    """Is `Host` a name of this server: a loopback name (or `*.localhost`, which browsers resolve to
    loopback and no DNS can rebind) or the bound address, with this server's port."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    name, sep, given_port = host.rpartition(":")
    if not sep or name.endswith(":") or (host.startswith("[") and not name.endswith("]")):
        name, given_port = host, ""  # no port (or a bare IPv6 address)
    if given_port != str(port) and not (given_port == "" and port == 80):
        return False
    bind = bind_host.lower()
    try:
        if ipaddress.ip_address(bind).version == 6:
            bind = f"[{bind}]"
    except ValueError:
        pass
    return name in LOOPBACK_NAMES or name == bind or name.endswith(".localhost")


def bound_address(server_address: object) -> tuple[str, int]:
    """(host, port) of a listening socketserver's `server_address`."""
    if isinstance(server_address, tuple) and len(server_address) >= 2:
        return str(server_address[0]), int(server_address[1])
    raise ValueError(f"not an IP socket address: {server_address!r}")


def _refuse(start_response: StartResponse, message: str) -> list[bytes]:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>'
    ).encode()
    start_response(
        "403 Forbidden",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body))), ("Connection", "close")],
    )
    return [body]


class MotoGuard:
    """WSGI middleware in front of moto's app (outermost): the checks above."""

    def __init__(
        self,
        app: WSGIApplication,
        port: int,
        bind_host: str = "127.0.0.1",
        page_origins: Iterable[str] = (),
        page_buckets: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.port = port
        self.bind_host = bind_host
        self.page_origins = frozenset(o.rstrip("/").lower() for o in page_origins)
        self.page_buckets = frozenset(page_buckets)
        self.own_origins = frozenset(
            f"http://{name}:{port}" for name in {*LOOPBACK_NAMES, bind_host.lower()} if name
        )  # moto's own pages (its dashboard under /moto-api/)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not host_allowed(environ.get("HTTP_HOST"), self.port, self.bind_host):
            return _refuse(start_response, "This server answers requests to 127.0.0.1 or localhost only.")
        origin = environ.get("HTTP_ORIGIN")
        site = environ.get("HTTP_SEC_FETCH_SITE")
        if origin is None and site in (None, "none", "same-origin"):
            return self.app(environ, start_response)  # not a cross-origin browser request: an SDK, curl, the CLI
        if origin is not None and origin.rstrip("/").lower() in self.own_origins:
            return self.app(environ, start_response)
        if origin is not None and origin.rstrip("/").lower() not in self.page_origins:
            return _refuse(start_response, "Cross-origin requests are refused: only the page may use this port.")
        if not self._page_request(environ, with_origin=origin is not None):
            return _refuse(start_response, "A web page may only upload to and read objects of the uploads bucket.")
        return self.app(environ, start_response)

    def _page_request(self, environ: WSGIEnvironment, with_origin: bool) -> bool:
        """Is this what the page does on its bucket: a presigned POST, a GET/HEAD of an object, or the
        preflight of one of those."""
        if environ.get("HTTP_X_AMZ_TARGET") or environ.get("HTTP_AUTHORIZATION"):
            return False
        query = environ.get("QUERY_STRING", "")
        if any(name.lower() == "action" for name, _ in parse_qsl(query, keep_blank_values=True)):
            return False  # the query protocol (SQS and others)
        path = str(environ.get("PATH_INFO", ""))
        bucket, _, key = path.lstrip("/").partition("/")
        if bucket not in self.page_buckets:
            return False
        method = str(environ.get("REQUEST_METHOD", "")).upper()
        if method == "OPTIONS":
            wanted = str(environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "")).upper()
            return with_origin and wanted in PAGE_METHODS and (bool(key) or wanted == "POST")
        if method in ("GET", "HEAD"):
            return bool(key)
        if method == "POST" and with_origin:  # the presigned POST: post_policy.py checks its signature
            content_type = str(environ.get("CONTENT_TYPE", "")).lower()
            return not key and content_type.startswith("multipart/form-data")
        return False
