"""Researcher sign-in in the web page: OAuth2 code flow with PKCE, in real Chromium.

The real identity provider is the Cognito hosted UI, which cannot run here. This test serves
frontend/ itself and runs, on 127.0.0.1, a FAKE OAuth2 authorization server (it exists only in
this file) that behaves like Cognito's /oauth2/authorize, /oauth2/token and /logout: it redirects
back with a code and the same state, and its token endpoint checks grant_type, client_id,
redirect_uri and that SHA-256(code_verifier) matches the code_challenge (S256) before returning an
unsigned but well-formed JWT ID token (sub, email, aud, exp, nonce), an access token and a
refresh token. A fake API on a third origin answers like API Gateway (CORS preflight allowing
`authorization`, 401 when told to) and records each request's Authorization header; a fake
storage endpoint stands in for S3's presigned POST.

Asserted: signed out, the page shows "Sign in" and calls no API; sign-in by keyboard goes
through the fake hosted UI with PKCE and state, and the code and state leave the URL; the email
is shown; every API request afterwards carries `Authorization: Bearer <that ID token>` (and the
storage POST carries none); an expired ID token is refreshed with the refresh token (and without
one, the page asks to sign in again); a 401 from the API brings back the sign-in button; sign-out
clears the tokens and goes to /logout with client_id and logout_uri. Without "auth" in
config.json the page shows no sign-in UI and sends no Authorization header.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from browser import CHROMIUM_ARGS, chromium_path

pytestmark = [pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
# The page's sample photos (frontend/samples/samples.json): "Try the samples" uploads each of them.
SAMPLES = len(json.loads((FRONTEND / "samples" / "samples.json").read_text(encoding="utf-8")))
RESULTS = ROOT / "test-results"
CLIENT_ID = "test-client-id"
EMAIL = "researcher@example.org"
SUB = "0c1d2e3f-researcher"
TIMEOUT_MS = 10_000


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned_jwt(claims: dict) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": "fake-idp"}
    return f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}."


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, handler):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(SimpleHTTPRequestHandler):
    world: World

    def log_message(self, *args):  # quiet
        pass

    def send_json(self, status: int, body, extra: dict | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def redirect(self, location: str):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


class SiteHandler(_Handler):
    """frontend/ as static files, with config.json from the test."""

    def do_GET(self):
        if urlsplit(self.path).path == "/config.json":
            self.send_json(200, self.world.config, {"Cache-Control": "no-store"})
        else:
            super().do_GET()


class IdpHandler(_Handler):
    """The fake Cognito hosted UI: /oauth2/authorize, /oauth2/token, /logout."""

    def cors(self) -> dict:
        return {"Access-Control-Allow-Origin": self.world.site.origin}

    def do_OPTIONS(self):
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", self.world.site.origin)
        self.send_header("Access-Control-Allow-Methods", "POST")
        self.send_header("Access-Control-Allow-Headers", "content-type")
        self.end_headers()

    def do_GET(self):
        world = self.world
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/oauth2/authorize":
            world.authorize_requests.append(query)
            problems = [
                name
                for name, ok in [
                    ("response_type", query.get("response_type") == "code"),
                    ("client_id", query.get("client_id") == CLIENT_ID),
                    ("redirect_uri", query.get("redirect_uri") == world.callback),
                    ("scope", set(query.get("scope", "").split()) == {"openid", "email"}),
                    ("code_challenge_method", query.get("code_challenge_method") == "S256"),
                    ("code_challenge", len(query.get("code_challenge", "")) == 43),
                    ("state", bool(query.get("state"))),
                ]
                if not ok
            ]
            if problems:
                self.send_json(400, {"error": "invalid_request", "error_description": f"bad {problems}"})
                return
            code = secrets.token_urlsafe(16)
            world.codes[code] = {
                "challenge": query["code_challenge"],
                "redirect_uri": query["redirect_uri"],
                "nonce": query.get("nonce"),
            }
            self.redirect(f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}")
        elif url.path == "/logout":
            world.logout_requests.append(query)
            if query.get("client_id") != CLIENT_ID or query.get("logout_uri") != world.callback:
                self.send_json(400, {"error": "invalid_request"})
                return
            self.redirect(query["logout_uri"])
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self):
        world = self.world
        if urlsplit(self.path).path != "/oauth2/token":
            self.send_json(404, {"error": "not found"}, self.cors())
            return
        form = {k: v[0] for k, v in parse_qs(self.body().decode()).items()}
        world.token_requests.append(form)

        def refuse(why: str):
            self.send_json(400, {"error": "invalid_grant", "error_description": why}, self.cors())

        if form.get("client_id") != CLIENT_ID:
            return refuse("client_id")
        if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return refuse("content type")
        nonce = None
        if form.get("grant_type") == "authorization_code":
            grant = world.codes.pop(form.get("code", ""), None)  # a code works once
            if grant is None:
                return refuse("unknown code")
            if form.get("redirect_uri") != grant["redirect_uri"]:
                return refuse("redirect_uri")
            verifier = form.get("code_verifier", "")
            if not 43 <= len(verifier) <= 128:
                return refuse("code_verifier length")
            if _b64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
                return refuse("PKCE: SHA-256(code_verifier) does not match code_challenge")
            world.verified_pkce += 1
            nonce = grant["nonce"]
            refresh = secrets.token_urlsafe(24)
            world.refresh_tokens.add(refresh)
        elif form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in world.refresh_tokens:
                return refuse("refresh_token")
            refresh = None  # Cognito keeps the refresh token it issued
        else:
            return refuse("grant_type")
        claims = {
            "sub": SUB,
            "email": EMAIL,
            "email_verified": True,
            "aud": CLIENT_ID,
            "iss": world.idp.origin,
            "token_use": "id",
            "iat": int(time.time()),
            "exp": int(time.time()) + 3600,
            "jti": secrets.token_hex(8),
        }
        if nonce:
            claims["nonce"] = nonce
        id_token = _unsigned_jwt(claims)
        world.id_tokens.append(id_token)
        answer = {
            "id_token": id_token,
            "access_token": _unsigned_jwt({"sub": SUB, "token_use": "access", "client_id": CLIENT_ID}),
            "token_type": "Bearer",
            "expires_in": 3600,
        }
        if refresh:
            answer["refresh_token"] = refresh
        self.send_json(200, answer, self.cors())


class ApiHandler(_Handler):
    """A fake Spotter API behind API Gateway's CORS, and a fake S3 presigned-POST endpoint (/s3)."""

    def cors(self) -> dict:
        return {"Access-Control-Allow-Origin": self.world.site.origin}

    def do_OPTIONS(self):  # preflights never meet the authorizer
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", self.world.site.origin)
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "authorization, content-type")
        self.send_header("Access-Control-Max-Age", "600")
        self.end_headers()

    def record(self, method: str) -> bool:
        """Log the request; False (after answering 401 like the JWT authorizer) when told to refuse."""
        world = self.world
        path = urlsplit(self.path).path
        world.api_requests.append((method, path, self.headers.get("Authorization")))
        if path != "/s3" and world.refuse_api:
            self.send_json(401, {"message": "Unauthorized"}, self.cors())
            return False
        return True

    def do_GET(self):
        world = self.world
        url = urlsplit(self.path)
        if not self.record("GET"):
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/model":
            self.send_json(200, {"name": "Fake model", "version": "1", "labels": ["a", "b"]}, self.cors())
        elif url.path == "/predictions":
            items = [r for r in world.records.values() if r["batch"] == query.get("batch") and r["uploaded"]]
            self.send_json(
                200,
                {"items": [{k: v for k, v in r.items() if k != "uploaded"} for r in items], "next": None},
                self.cors(),
            )
        elif url.path == "/predictions.csv":
            data = b"file_name,status,label\r\n" + b"".join(
                f"{r['file_name']},ok,a\r\n".encode() for r in world.records.values() if r["uploaded"]
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Access-Control-Allow-Origin", world.site.origin)
            self.end_headers()
            self.wfile.write(data)
        else:
            self.send_json(404, {"message": "not found"}, self.cors())

    def do_POST(self):
        world = self.world
        path = urlsplit(self.path).path
        body = self.body()
        if not self.record("POST"):
            return
        if path == "/uploads":
            request = json.loads(body)
            batch = request.get("batch") or "b-test"
            uploads = []
            for file in request["files"]:
                object_id = secrets.token_hex(6)
                world.records[object_id] = {
                    "object_id": object_id,
                    "batch": batch,
                    "file_name": file["name"],
                    "key": f"uploads/{object_id}",
                    "status": "ok",
                    "label": "a",
                    "score": 0.9,
                    "top": [{"label": "a", "score": 0.9}],
                    "classified_at": "2026-01-01T00:00:00Z",
                    "uploaded": False,
                }
                uploads.append(
                    {
                        "name": file["name"],
                        "key": f"uploads/{object_id}",
                        "objectId": object_id,
                        "url": f"{world.api.origin}/s3",
                        "fields": {"key": f"uploads/{object_id}"},
                    }
                )
            self.send_json(200, {"batch": batch, "uploads": uploads, "maxBytes": 10_000_000}, self.cors())
        elif path == "/s3":
            for object_id, record in world.records.items():
                if f"uploads/{object_id}".encode() in body:
                    record["uploaded"] = True
            self.send_response(204)
            self.send_header("Access-Control-Allow-Origin", world.site.origin)
            self.end_headers()
        else:
            self.send_json(404, {"message": "not found"}, self.cors())


class World:
    """The three fake origins (site, IdP, API) and what they saw."""

    def __init__(self):
        self.authorize_requests: list[dict] = []
        self.token_requests: list[dict] = []
        self.logout_requests: list[dict] = []
        self.api_requests: list[tuple[str, str, str | None]] = []
        self.codes: dict[str, dict] = {}
        self.refresh_tokens: set[str] = set()
        self.id_tokens: list[str] = []
        self.verified_pkce = 0
        self.records: dict[str, dict] = {}
        self.refuse_api = False
        self.site = _Server(self._handler(SiteHandler, directory=str(FRONTEND)))
        self.idp = _Server(self._handler(IdpHandler))
        self.api = _Server(self._handler(ApiHandler))
        self.callback = f"{self.site.origin}/"
        self.config: dict = {"apiUrl": self.api.origin}

    def _handler(self, cls, **kwargs):
        handler = type(cls.__name__, (cls,), {"world": self})
        return partial(handler, **kwargs) if kwargs else handler

    def with_auth(self):
        self.config["auth"] = {"userPoolId": "us-east-1_FAKE", "clientId": CLIENT_ID, "domain": self.idp.origin}

    def close(self):
        for server in (self.site, self.idp, self.api):
            server.close()


@pytest.fixture
def world():
    w = World()
    yield w
    w.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium_path()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (its own sessionStorage); page.errors collects page errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    # A 401 is logged by Chromium as a failed resource load; anything else in red is a bug.
    page.on(
        "console",
        lambda msg: (
            page.errors.append(msg.text) if msg.type == "error" and "Failed to load resource" not in msg.text else None
        ),
    )
    yield page
    context.close()


def _session_tokens(page):
    return page.evaluate("JSON.parse(sessionStorage.getItem('spotter.auth.tokens') || 'null')")


def _api_calls(world, since: int = 0):
    return [r for r in world.api_requests[since:] if r[1] != "/s3"]


def test_sign_in_with_pkce_bearer_token_refresh_401_and_sign_out(world, page):
    from playwright.sync_api import expect

    world.with_auth()
    RESULTS.mkdir(exist_ok=True)

    # Signed out: a sign-in button, uploads disabled, and no API call at all.
    page.goto(world.site.origin + "/")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#sign-out")).to_be_hidden()
    expect(page.locator("#auth-signed-in")).to_be_hidden()
    expect(page.locator("#dropzone")).to_be_disabled()
    assert world.api_requests == []
    page.screenshot(path=str(RESULTS / "web-auth-signed-out.png"))
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(RESULTS / "web-auth-signed-out-375.png"))
    page.set_viewport_size({"width": 1280, "height": 900})

    # Sign in by keyboard: skip link, then the sign-in button; the fake hosted UI sends us back.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "sign-in"
    page.keyboard.press("Enter")
    expect(page.locator("#auth-email")).to_have_text(EMAIL)
    expect(page.locator("#sign-out")).to_be_visible()
    expect(page.locator("#sign-in")).to_be_hidden()
    assert page.url == world.callback, "code and state are removed from the URL"
    authorize = world.authorize_requests[-1]
    assert authorize["code_challenge_method"] == "S256" and authorize["nonce"]
    assert world.verified_pkce == 1 and world.token_requests[-1]["grant_type"] == "authorization_code"
    id_token = world.id_tokens[-1]
    tokens = _session_tokens(page)
    assert tokens["idToken"] == id_token and tokens["refreshToken"]
    assert page.evaluate("sessionStorage.getItem('spotter.auth.pending')") is None
    assert page.evaluate("localStorage.length") == 0, "no tokens in localStorage"

    # Every API call now carries the ID token: model card, presign, polling, CSV; S3 gets none.
    expect(page.locator("#model-card h3")).to_contain_text("Fake model")
    page.click("#samples-button")
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(SAMPLES)
    expect(page.locator("#progress-text")).to_contain_text("All done")
    with page.expect_download() as download:
        page.click("#csv-link")
    assert download.value.failure() is None
    calls = _api_calls(world)
    assert {(m, p) for m, p, _ in calls} >= {
        ("GET", "/model"),
        ("POST", "/uploads"),
        ("GET", "/predictions"),
        ("GET", "/predictions.csv"),
    }
    assert all(auth == f"Bearer {id_token}" for _, _, auth in calls), calls
    uploads = [r for r in world.api_requests if r[1] == "/s3"]
    assert len(uploads) == SAMPLES and all(auth is None for _, _, auth in uploads)
    page.screenshot(path=str(RESULTS / "web-auth-signed-in.png"))
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(RESULTS / "web-auth-signed-in-375.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    batch_url = page.url
    assert "#batch=" in batch_url

    # An expired ID token is refreshed with the refresh token before the next API call.
    page.evaluate("""() => {
        const t = JSON.parse(sessionStorage.getItem('spotter.auth.tokens'));
        t.expiresAt = Math.floor(Date.now() / 1000) - 5;
        sessionStorage.setItem('spotter.auth.tokens', JSON.stringify(t));
    }""")
    since = len(world.api_requests)
    page.reload()
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(SAMPLES)  # #batch= reopened
    assert world.token_requests[-1]["grant_type"] == "refresh_token"
    refreshed = world.id_tokens[-1]
    assert refreshed != id_token
    calls = _api_calls(world, since)
    assert calls and all(auth == f"Bearer {refreshed}" for _, _, auth in calls), calls
    expect(page.locator("#auth-email")).to_have_text(EMAIL)

    # A 401 from the API drops the tokens and brings back the sign-in button.
    world.refuse_api = True
    page.click("#samples-button")
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#sign-out")).to_be_hidden()
    expect(page.locator("#alert")).to_contain_text("signed out")
    assert _session_tokens(page) is None
    world.refuse_api = False

    # Expired with no refresh token: sign in again (no API call with a stale token).
    page.click("#sign-in")
    expect(page.locator("#auth-email")).to_have_text(EMAIL)
    assert world.verified_pkce == 2
    page.wait_for_load_state("networkidle")  # the signed-in page's own calls are done before we count
    page.evaluate("""() => {
        const t = JSON.parse(sessionStorage.getItem('spotter.auth.tokens'));
        t.expiresAt = 0; t.refreshToken = null;
        sessionStorage.setItem('spotter.auth.tokens', JSON.stringify(t));
    }""")
    since = len(world.api_requests)
    page.reload()
    expect(page.locator("#sign-in")).to_be_visible()
    assert _api_calls(world, since) == []

    # Sign out: tokens gone, then the hosted UI's /logout with client_id and logout_uri, and back.
    page.click("#sign-in")
    expect(page.locator("#sign-out")).to_be_visible()
    page.locator("#sign-out").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#sign-in")).to_be_visible()
    assert world.logout_requests == [{"client_id": CLIENT_ID, "logout_uri": world.callback}]
    assert page.url.startswith(world.callback)
    assert _session_tokens(page) is None
    assert page.evaluate("localStorage.length") == 0

    assert not page.errors, page.errors


def test_state_mismatch_is_refused(world, page):
    from playwright.sync_api import expect

    world.with_auth()
    page.goto(f"{world.site.origin}/?code=stolen&state=forged")
    expect(page.locator("#alert")).to_contain_text("did not match")
    expect(page.locator("#sign-in")).to_be_visible()
    assert world.token_requests == [], "no code exchange for an unknown state"
    assert page.url == world.callback
    assert not page.errors, page.errors


def test_no_auth_in_config_means_no_sign_in_ui(world, page):
    from playwright.sync_api import expect

    page.goto(world.site.origin + "/")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#model-card h3")).to_contain_text("Fake model")
    expect(page.locator("#auth-bar")).to_be_hidden()
    expect(page.locator("#sign-in")).to_be_hidden()
    expect(page.locator("#dropzone")).to_be_enabled()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "dropzone"
    assert world.api_requests and all(auth is None for _, _, auth in world.api_requests)
    assert world.authorize_requests == [] and world.token_requests == []
    assert not page.errors, page.errors
