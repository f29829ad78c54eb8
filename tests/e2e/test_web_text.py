"""User-provided text on the page, in Chromium: a file name with U+202E is a bidi isolate and reverses
nothing around it (also inside the refusal the API words with it), and long unbroken names and labels
break, so the phone layout stays 375 px wide. The page is frontend/ from a static server, its API
answered by Playwright routes (one batch, one model card)."""

from __future__ import annotations

import json

import pytest
from browser import CHROMIUM_ARGS, ROOT, chromium_path, open_page

pytestmark = [pytest.mark.browser]

FRONTEND = ROOT / "frontend"
RLO_NAME = "invoice\u202egpj.exe"  # shows as "invoiceexe.jpg" when not isolated
LONG = "x" * 40  # a 40-character label with no break opportunity
LABELS = [f"{LONG}a", f"{LONG}b", f"{LONG}c"]


def _record(i: int, **changes):
    record = {
        "object_id": f"{i:032d}",
        "model": "long@1",
        "model_name": "long",
        "model_version": "1",
        "batch": "b1",
        "source": "web",
        "key": f"uploads/b1/{i:08d}-0000-0000-0000-000000000000-f{i}.jpg",
        "file_name": f"f{i}.jpg",
        "status": "ok",
        "label": LABELS[i % 3],
        "score": 0.91,
        "top": [{"label": label, "score": 0.3} for label in LABELS],
        "uploaded_at": "2026-12-01T10:00:00.000Z",
        "classified_at": "2026-12-01T10:00:01.000Z",
        "size": 1000,
        "image_url": None,
    }
    record.update(changes)
    return record


RECORDS = [
    _record(0, file_name="y" * 60 + ".jpg"),
    _record(1),
    _record(
        2,
        file_name=RLO_NAME,
        status="refused",
        label=None,
        score=None,
        top=None,
        reason=f"{RLO_NAME} is of unknown type, not a raster image Spotter reads: upload JPEG or PNG",
    ),
]
CARD = {"name": "long", "version": "1", "labels": LABELS}


@pytest.fixture(scope="module")
def page_url():
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(FRONTEND)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _open_batch(page, url):
    page.route("**/model", lambda route: route.fulfill(json=CARD))
    page.route("**/predictions?*", lambda route: route.fulfill(json={"items": RECORDS, "next": None}))
    page.route("**/batches/b1", lambda route: route.fulfill(json={"batch": "b1", "files": 3, "images": 2}))
    # My batches reads the server's counts, and a reopened batch its score against diagnoses: none given
    page.route("**/batches", lambda route: route.fulfill(json={"batches": [], "next": None}))
    page.route(
        "**/batches/b1/score", lambda route: route.fulfill(json={"batch": "b1", "matched": 0, "without_truth": []})
    )
    page.add_init_script(
        "localStorage.setItem('spotter.web.batches.v1', "
        + json.dumps(json.dumps([{"batch": "b1", "name": "z" * 50 + "\u202e", "createdAt": "2026-12-01T10:00:00Z"}]))
        + ")"
    )
    page.goto(url + "#batch=b1")
    page.wait_for_selector('#results-body tr[data-status="refused"]')


def test_a_right_to_left_override_in_a_file_name_is_isolated_in_its_cell_and_its_refusal(page_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, 20_000)
            _open_batch(page, page_url)
            row = page.locator('#results-body tr[data-status="refused"]')
            # the name, in its button and in the reason, sits in an element of its own that isolates it
            for holder in (row.locator(".file-name bdi"), row.locator(".reason bdi")):
                assert holder.inner_text() == RLO_NAME
                assert holder.evaluate("e => getComputedStyle(e).unicodeBidi") in ("isolate", "plaintext")
            # the words after the name read left to right: each character right of the one before
            positions = row.locator(".reason").evaluate(
                """reason => {
                    const bdi = reason.querySelector('bdi');
                    const after = bdi.nextSibling;  // the text node " is of unknown type, ..."
                    const range = document.createRange();
                    return [1, 2, 3, 4, 5, 6].map(i => {
                        range.setStart(after, i); range.setEnd(after, i + 1);
                        return range.getBoundingClientRect().left;
                    });
                }"""
            )
            assert positions == sorted(positions) and positions[0] < positions[-1], positions
            # and the name itself is not run into the words: they start right of it
            name_box = row.locator(".reason bdi").bounding_box()
            assert name_box and positions[0] >= name_box["x"] + name_box["width"] - 1, (positions, name_box)
            assert not errors, errors
        finally:
            browser.close()


def test_forty_character_labels_and_long_names_fit_a_375_px_phone(page_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, 20_000, width=375, height=812)
            _open_batch(page, page_url)
            page.wait_for_selector("#model-card h3")
            page.wait_for_selector("#results-body .outcome")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, width
            # the detail view of a row with long labels fits too
            page.locator("#results-body tr[data-status='ok'] .file-name").first.click()
            page.wait_for_selector("#detail table.scores")
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            for selector in ("#detail table.scores", "#detail .kv >> nth=0"):
                box = page.locator(selector).bounding_box()
                assert box and box["x"] + box["width"] <= 375, (selector, box)
            assert not errors, errors
        finally:
            browser.close()
