"""The web page against an API and S3 that misbehave on purpose: real Chromium, a simulated clock.

The page's own files are served as they are; the API and S3 answer through Playwright routes, so a
test can hold a file back for ever, split a CSV over several replies or count presign calls, and
run five minutes of polling in a second.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TypedDict

import pytest
from browser import CHROMIUM_ARGS, chromium_path

pytestmark = [pytest.mark.browser]

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
SITE, API, S3 = "http://site.test/", "http://api.test", "http://s3.test/"
CORS = {"access-control-allow-origin": "*", "access-control-expose-headers": "X-Next-Cursor"}
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".json": "application/json"}


class Calls(TypedDict):
    presign: list[int]  # files per POST /uploads
    predictions: int
    s3: int
    csv: list[str]  # the URLs asked for


class FakeBackend:
    """The API and S3 as routes; `records` is what GET /predictions returns for batch b1."""

    def __init__(self):
        self.calls: Calls = {"presign": [], "predictions": 0, "s3": 0, "csv": []}
        self.records: list[dict] = []
        self.signature = 0

    def handle(self, route, request):
        url = request.url
        if url.startswith(SITE):
            name = url[len(SITE) :].split("?")[0].split("#")[0] or "index.html"
            if name == "config.json":
                return route.fulfill(status=200, content_type="application/json", body=json.dumps({"apiUrl": API}))
            path = FRONTEND / name
            return route.fulfill(
                status=200, content_type=TYPES.get(path.suffix, "application/octet-stream"), body=path.read_bytes()
            )
        if request.method == "OPTIONS":
            return route.fulfill(
                status=204,
                headers={**CORS, "access-control-allow-headers": "*", "access-control-allow-methods": "GET,POST"},
            )
        if url.startswith(f"{API}/uploads"):
            files = json.loads(request.post_data)["files"]
            self.calls["presign"].append(len(files))
            start = sum(self.calls["presign"][:-1])
            uploads = [
                {
                    "name": f["name"],
                    "key": f"uploads/b1/{start + i}",
                    "objectId": f"o{start + i}",
                    "url": S3,
                    "fields": {"key": f"uploads/b1/{start + i}"},
                }
                for i, f in enumerate(files)
            ]
            return _json(route, {"batch": "b1", "expiresIn": 300, "maxBytes": 1 << 25, "uploads": uploads})
        if url.startswith(S3):
            self.calls["s3"] += 1
            return route.fulfill(status=204, headers=CORS)
        if url.startswith(f"{API}/predictions.csv"):
            self.calls["csv"].append(url)
            if "cursor=page2" in url:
                return route.fulfill(
                    status=200, content_type="text/csv", headers=CORS, body="object_id,file_name\no2,c.jpg\n"
                )
            return route.fulfill(
                status=200,
                content_type="text/csv",
                headers={**CORS, "X-Next-Cursor": "page2"},
                body="object_id,file_name\no0,a.jpg\no1,b.jpg\n",
            )
        if url.startswith(f"{API}/predictions") and "model=all" in url and "batch=b1" in url:
            # the page asking whether b1 still exists (its records of any model version): it does
            return _json(route, {"items": [{"object_id": "o0", "file_name": "a.jpg", "status": "ok"}], "next": None})
        if url.startswith(f"{API}/predictions"):
            self.calls["predictions"] += 1
            self.signature += 1  # every reply signs the image links anew, as the real API does
            return _json(
                route,
                {"items": [{**r, "image_url": f"{S3}img?sig={self.signature}"} for r in self.records], "next": None},
            )
        if url.startswith(f"{API}/model"):
            return _json(route, {"name": "fake", "version": "1", "labels": ["x"]})
        if url.split("?")[0] == f"{API}/batches":  # My batches' counts, read when it is shown
            return _json(route, {"batches": [], "next": None})
        if url.startswith(f"{API}/batches/b1/score"):  # no diagnoses given
            return _json(route, {"batch": "b1", "matched": 0, "without_truth": []})
        if url.startswith(f"{API}/batches/b1"):  # b1 holds files (its CSV below), whatever /predictions says
            return _json(
                route, {"batch": "b1", "files": 3, "images": 3, "records": 3, "names": ["a.jpg", "b.jpg", "c.jpg"]}
            )
        return route.fulfill(status=404, body="")


def _json(route, body):
    return route.fulfill(status=200, content_type="application/json", headers=CORS, body=json.dumps(body))


@pytest.fixture
def page_with_backend():
    sync_api = pytest.importorskip("playwright.sync_api")
    backend = FakeBackend()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(accept_downloads=True)
            page.clock.install()
            page.route("**/*", backend.handle)
            yield page, backend
        finally:
            browser.close()


def _open(page, hash_=""):
    page.goto(SITE + "index.html" + hash_)
    page.wait_for_selector("body[data-ready=true]")


def _pick(page, count):
    page.set_input_files(
        "#file-input",
        [{"name": f"{i}.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff" * 10} for i in range(count)],
    )


def test_polling_gives_up_after_five_minutes_without_news(page_with_backend):
    page, backend = page_with_backend
    backend.records = [
        {
            "object_id": "o0",
            "file_name": "0.jpg",
            "status": "ok",
            "label": "x",
            "score": 0.9,
            "top": [{"label": "x", "score": 0.9}],
            "classified_at": "2026-11-23T00:00:00.000Z",
        }
    ]
    _open(page)
    _pick(page, 2)  # o1 never gets a record (its message went to the dead-letter queue, say)
    for _ in range(8 * 60):
        page.clock.run_for(1000)
    assert page.is_visible("#check-again")
    assert "5 minutes" in page.inner_text("#progress-text")
    polls = backend.calls["predictions"]
    assert polls >= 50  # it did poll (every 1.5 s of simulated time, while replies come back in real time)
    for _ in range(60):
        page.clock.run_for(1000)
    assert backend.calls["predictions"] == polls


def test_forms_are_signed_no_faster_than_uploads_start(page_with_backend):
    page, backend = page_with_backend
    _open(page)
    _pick(page, 12)
    for _ in range(30):
        page.clock.run_for(500)
    assert sum(backend.calls["presign"]) == 12 and backend.calls["s3"] == 12
    assert max(backend.calls["presign"]) <= 4  # no signed form waits behind more than one round of uploads


def test_a_csv_in_several_replies_is_saved_whole(page_with_backend, tmp_path):
    page, backend = page_with_backend
    _open(page, "#batch=b1")
    with page.expect_download() as download:
        page.click("#csv-link")
    saved = tmp_path / "batch.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert [r["file_name"] for r in rows] == ["a.jpg", "b.jpg", "c.jpg"]
    assert len(backend.calls["csv"]) == 2 and "cursor=page2" in backend.calls["csv"][1]
