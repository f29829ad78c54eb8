"""Who may talk to the local stack's ports: the checks a web page on the same machine would otherwise get past.

The local servers listen on loopback, but every web page the user's browser opens can send requests
there. Two checks close what such a page could do:

- `Host`: each server answers only requests addressed to it by a loopback name and its own port
  (`127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`, the `--host` given): a DNS-rebinding page
  (`evil.example` resolved to 127.0.0.1) sends `Host: evil.example:PORT` and is refused (403).
- moto's port (`MotoGuard`): moto checks no signature and answers any `Origin` with permissive CORS.
  A request from a browser (it carries `Origin`, or `Sec-Fetch-*` headers, whatever their values:
  a script running on moto's own origin is a browser too) is let through only when it is what the
  page does on its uploads bucket: the presigned POST (a multipart form, whose policy and signature
  `post_policy.py` checks) and a GET of an object through a presigned URL whose SigV4 signature,
  expiry and response overrides are checked here (a raster `response-content-type` only), plus the
  CORS preflights of those, from the page's own origin (or, for a GET without `Origin`, an `<img>`,
  from any page: it displays an image whose presigned link it has, as S3 would). Object bytes go to a
  browser with `nosniff` and a `sandbox` Content-Security-Policy, so a file that is also HTML never
  runs as a page. Everything else from a browser (DynamoDB, SQS, moto's own API, a form posting
  `Action=...` as text/plain, a preflight for a JSON API) is refused with 403 and no CORS headers.
  Requests with neither header (boto3, the CLI, curl) pass: any local process may do anything, as it
  holds the local stack's public credentials anyway.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from calendar import timegm
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from spotter.local.post_policy import local_secret

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
PAGE_METHODS = frozenset({"GET", "POST"})
# What a presigned view link may ask an object to be served as: raster images, none scriptable
# (spotter.web.views.VIEW_TYPES signs these).
RASTER_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/bmp"})
_PRESIGN_FIELDS = frozenset(
    {"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires", "x-amz-signedheaders", "x-amz-signature"}
)
_BROWSER_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "sandbox; default-src 'none'"),
    # never cached for another origin's later request (a response to an <img> without Origin, reused
    # for a cross-origin fetch, would carry whatever CORS it had)
    ("Cache-Control", "private, no-store"),
    ("Vary", "Origin"),
)
_REPLACED = frozenset({"x-content-type-options", "content-security-policy", "cache-control", "vary"})
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4's longest


def presigned_get_allowed(
    environ: WSGIEnvironment, secret_for: Callable[[str], str | None] = local_secret, now: float | None = None
) -> bool:
    """Is this GET a presigned URL S3 would honour: SigV4 query signature over exactly this method,
    path, query and host, not expired, and asking for nothing but a raster content type."""
    query = str(environ.get("QUERY_STRING", ""))
    params = parse_qsl(query, keep_blank_values=True)
    names = [name.lower() for name, _ in params]
    if len(names) != len(set(names)) or not set(names) >= _PRESIGN_FIELDS:
        return False
    given = {name.lower(): value for name, value in params}
    # nothing but the signature and the two overrides the API's links carry (no ?acl, ?tagging, other
    # response-* headers, or a download name)
    overrides = ("response-content-type", "response-content-disposition")
    if any(not name.startswith("x-amz-") and name not in overrides for name in names):
        return False
    if given.get("response-content-disposition", "inline").lower() != "inline":
        return False
    if "response-content-type" in given and given["response-content-type"].lower() not in RASTER_TYPES:
        return False
    if given["x-amz-algorithm"] != "AWS4-HMAC-SHA256" or given["x-amz-signedheaders"].lower() != "host":
        return False
    try:
        key_id, date, region, service, terminal = given["x-amz-credential"].split("/")
        signed_at = timegm(time.strptime(given["x-amz-date"], "%Y%m%dT%H%M%SZ"))
        expires = int(given["x-amz-expires"])
    except ValueError:
        return False
    moment = time.time() if now is None else now
    if (
        terminal != "aws4_request"
        or service != "s3"
        or not given["x-amz-date"].startswith(date)
        or not 1 <= expires <= MAX_PRESIGN_SECONDS
        or not signed_at - 900 <= moment <= signed_at + expires
    ):
        return False
    secret = secret_for(key_id)
    host = str(environ.get("HTTP_HOST", ""))
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
    path = raw.split("?", 1)[0] if raw else str(environ.get("PATH_INFO", ""))
    if secret is None or not host or not path.startswith("/"):
        return False
    unsigned = "&".join(part for part in query.split("&") if not part.lower().startswith("x-amz-signature="))
    request = AWSRequest(method=str(environ.get("REQUEST_METHOD", "")).upper(), url=f"http://{host}{path}?{unsigned}")
    request.headers["host"] = host
    request.context["timestamp"] = given["x-amz-date"]
    auth = S3SigV4QueryAuth(Credentials(key_id, secret), service, region, expires=expires)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return hmac.compare_digest(expected, given["x-amz-signature"])


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

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not host_allowed(environ.get("HTTP_HOST"), self.port, self.bind_host):
            return _refuse(start_response, "This server answers requests to 127.0.0.1 or localhost only.")
        origin = environ.get("HTTP_ORIGIN")
        browser = origin is not None or any(name.startswith("HTTP_SEC_FETCH_") for name in environ)
        if not browser:
            return self.app(environ, start_response)  # an SDK, curl, the CLI
        if origin is not None and origin.rstrip("/").lower() not in self.page_origins:
            return _refuse(start_response, "Cross-origin requests are refused: only the page may use this port.")
        if not self._page_request(environ, with_origin=origin is not None):
            return _refuse(
                start_response,
                "A web page may only upload to the uploads bucket through a presigned form and read its "
                "objects through presigned links.",
            )

        page_origin = origin is not None  # checked above: one of the page's

        def hardened(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
            kept = [
                (k, v)
                for k, v in headers
                if k.lower() not in _REPLACED and (page_origin or not k.lower().startswith("access-control-"))
            ]  # CORS only for the page's own origin: moto answers `*` to a request without one
            return start_response(status, kept + list(_BROWSER_HEADERS), exc_info)  # type: ignore[arg-type]

        return self.app(environ, hardened)  # type: ignore[arg-type]

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
        if method == "GET":
            return bool(key) and presigned_get_allowed(environ)
        if method == "POST" and with_origin:  # the presigned POST: post_policy.py checks its signature
            content_type = str(environ.get("CONTENT_TYPE", "")).lower()
            return not key and content_type.startswith("multipart/form-data")
        return False
