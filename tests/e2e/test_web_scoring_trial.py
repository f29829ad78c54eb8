"""The "Your diagnoses" panel after a fresh-context trial, in Chromium against a fake API (Playwright routes):

- a diagnoses file given while images are still classifying is held, said so, and sent once all are done;
- the answer's lists (rows matching several images, images given two diagnoses, images that kept their
  stored diagnosis, the columns read) are shown, and "no diagnosis applied" is said as such;
- the file's name and its own lists are shown only for a file given in this tab: after a reload, or once
  the stored diagnoses changed elsewhere (read again when the tab is focused), the heading is neutral;
- a sample photo's diagnosis marks only photos added with the samples button (kept per batch over a
  reload), never a researcher's own file by its name, and none once the researcher gave their own;
- the confusion table fits a 375 px phone; the whole panel takes a dropped file; a CSV dropped on the
  image drop zone is pointed to the panel, not refused as an image.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from browser import CHROMIUM_ARGS, chromium_path

pytestmark = [pytest.mark.browser]

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
SAMPLES = json.loads((FRONTEND / "samples" / "samples.json").read_text(encoding="utf-8"))
SITE, API, S3 = "http://site.test/", "http://api.test", "http://s3.test/"
CORS = {"access-control-allow-origin": "*", "access-control-expose-headers": "X-Next-Cursor"}
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".json": "application/json"}
LABELS = ["benign", "malignant"]
CARD = {"name": "fake", "version": "1", "task": "classify", "labels": LABELS, "decision": {"positive": "malignant"}}


def _json(route, body, status=200):
    return route.fulfill(status=status, content_type="application/json", headers=CORS, body=json.dumps(body))


class FakeBackend:
    """The API and S3 as routes. Every file signed is classified at once (its record listed) unless its
    name is in `held`; `decision` gives a file's decision (else benign)."""

    def __init__(self):
        self.records: dict[str, dict] = {}  # object id -> record
        self.held: set[str] = set()
        self.decision: dict[str, str] = {}
        self.puts: list[str] = []  # the CSVs sent with PUT /batches/b1/truth
        self.reply: dict = {}  # what PUT answers
        self.score: dict = {"batch": "b1", "labels": LABELS, "matched": 0, "without_truth": []}  # what GET answers
        self.truths: dict[str, str] = {}  # file name -> truth, applied by PUT
        self.batches: set[str] = set()

    def handle(self, route, request):
        url = request.url
        if url.startswith(SITE):
            name = url[len(SITE) :].split("?")[0].split("#")[0] or "index.html"
            if name == "config.json":
                return route.fulfill(status=200, content_type="application/json", body=json.dumps({"apiUrl": API}))
            served = FRONTEND / name
            if not served.is_file():
                return route.fulfill(status=404, body="")
            return route.fulfill(
                status=200, content_type=TYPES.get(served.suffix, "image/jpeg"), body=served.read_bytes()
            )
        if request.method == "OPTIONS":
            return route.fulfill(
                status=204,
                headers={**CORS, "access-control-allow-headers": "*", "access-control-allow-methods": "GET,POST,PUT"},
            )
        path = url[len(API) :].split("?")[0] if url.startswith(API) else None
        if path == "/uploads":
            body = json.loads(request.post_data)
            files, batch = body["files"], body.get("batch") or f"b{len(self.batches) + 1}"
            self.batches.add(batch)
            uploads = []
            for f in files:
                oid = f"o{len(self.records)}"
                self.records[oid] = {
                    "object_id": oid,
                    "batch": batch,
                    "file_name": f["name"],
                    "status": "ok",
                    "label": self.decision.get(f["name"], "benign"),
                    "decision": self.decision.get(f["name"], "benign"),
                    "score": 0.9,
                    "top": [{"label": self.decision.get(f["name"], "benign"), "score": 0.9}],
                    "classified_at": "2026-11-23T00:00:00.000Z",
                    "uploaded_at": f"2026-11-23T00:00:{len(self.records):02d}.000Z",
                }
                uploads.append(
                    {"name": f["name"], "key": f"uploads/{batch}/{oid}", "objectId": oid, "url": S3, "fields": {}}
                )
            return _json(route, {"batch": batch, "expiresIn": 300, "maxBytes": 1 << 25, "uploads": uploads})
        if url.startswith(S3):
            return route.fulfill(status=204, headers=CORS)
        if path == "/predictions":
            batch = parse_qs(urlsplit(url).query).get("batch", [""])[0]
            items = [
                {**r, "truth": self.truths.get(r["file_name"])}
                for r in self.records.values()
                if r["file_name"] not in self.held and r["batch"] == batch
            ]
            return _json(route, {"items": items, "next": None})
        if path == "/model":
            return _json(route, CARD)
        if path == "/batches":
            return _json(route, {"batches": [], "next": None})
        if path and path.endswith("/truth") and request.method == "PUT":
            self.puts.append(json.loads(request.post_data)["csv"])
            self.truths.update(self.reply.get("_truths", {}))
            self.score = {k: v for k, v in self.reply.items() if not k.startswith("_")}
            return _json(route, self.score)
        if path and path.endswith("/score"):
            file_only = ("unmatched_rows", "unknown_truths", "ambiguous_rows", "conflicting_rows", "kept")
            return _json(route, {k: v for k, v in self.score.items() if k not in file_only})
        if path and path.startswith("/batches/"):
            return _json(route, {"batch": path.split("/")[2], "files": len(self.records)})
        return route.fulfill(status=404, headers=CORS, body="")


@pytest.fixture
def page_with_backend():
    sync_api = pytest.importorskip("playwright.sync_api")
    backend = FakeBackend()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route("**/*", backend.handle)
            yield page, backend, errors
        finally:
            browser.close()


def _open(page, hash_=""):
    page.goto(SITE + "index.html" + hash_)
    page.wait_for_selector("body[data-ready=true]")


def _pick(page, names):
    page.set_input_files(
        "#file-input",
        [{"name": n, "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff" * (10 + i)} for i, n in enumerate(names)],
    )


def _drop(page, selector, name, text):
    page.evaluate(
        """([selector, name, text]) => {
          const dt = new DataTransfer();
          dt.items.add(new File([text], name, {type: 'text/csv'}));
          const target = document.querySelector(selector);
          for (const type of ['dragenter', 'dragover', 'drop']) {
            target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
          }
        }""",
        [selector, name, text],
    )


def _reply(**fields):
    base = {
        "batch": "b1", "labels": LABELS, "positive": "malignant", "matched": 0, "right": 0, "wrong": 0,
        "not_assessed": {"uncertain": 0, "out_of_domain": 0}, "confusion": {}, "unmatched_rows": [],
        "unknown_truths": [], "ambiguous_rows": [], "conflicting_rows": [], "without_truth": [], "kept": 0,
        "name_column": "file_name", "truth_column": "diagnosis", "per_image": {},
    }  # fmt: skip
    return {**base, **fields}


def test_a_file_given_while_classifying_is_held_then_applied_with_everything_it_says(page_with_backend):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    page, backend, errors = page_with_backend
    backend.held = {"b.jpg", "c.jpg"}  # still classifying
    _open(page)
    _pick(page, ["a.jpg", "b.jpg", "c.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    expect(page.locator("#score-panel")).to_be_visible()

    # dropped on the panel's heading (the whole panel takes it): held, not sent
    _drop(page, "#score-title", "mine.csv", "file_name,diagnosis\na.jpg,benign\nb.jpg,malignant\nc.jpg,benign\n")
    status = page.locator("#truth-status")
    expect(status).to_contain_text(
        "Your diagnoses will be applied when the 2 images still in progress are classified: keep this page open"
    )
    backend.held = {"c.jpg"}
    expect(status).to_contain_text("when the 1 image still in progress is classified")
    assert backend.puts == []

    backend.reply = _reply(
        matched=2, right=1, wrong=1, confusion={"benign": {"benign": 1}, "malignant": {"benign": 1}},
        ambiguous_rows=["ISIC_1"], conflicting_rows=["c.jpg"], without_truth=["c.jpg"], kept=1,
        name_column="image", truth_column="benign_malignant", unmatched_rows=["nowhere.jpg"],
        _truths={"a.jpg": "benign", "b.jpg": "malignant"},
    )  # fmt: skip
    backend.held = set()  # all classified: the file is sent now, whole
    result = page.locator("#score-result")
    expect(result.locator(".score-source")).to_contain_text("Diagnoses from mine.csv")
    expect(status).to_have_text("")  # the file is named once, by the panel's first line
    assert len(backend.puts) == 1 and "c.jpg,benign" in backend.puts[0]
    result = page.locator("#score-result")
    expect(result.locator(".score-source")).to_have_text(
        "Diagnoses from mine.csv, given in this tab: read the file names from column “image”"
        " and the truth from column “benign_malignant”."
    )
    expect(result.locator(".score-headline")).to_have_text(
        "2 images with your diagnosis: 1 right, 1 wrong, 0 not assessed."
    )
    expect(result.locator(".score-ambiguous")).to_contain_text("1 row fits several images and was not applied: ISIC_1")
    expect(result.locator(".score-conflicting")).to_contain_text(
        "1 image was given two different diagnoses, neither applied: c.jpg"
    )
    expect(result.locator(".score-kept")).to_have_text(
        "1 image kept the diagnosis stored before (your file's value for them is not one of the labels)."
    )
    expect(result.locator(".score-without")).to_contain_text("1 classified image has no diagnosis applied: c.jpg")
    expect(result.locator(".score-unmatched li")).to_have_text(["nowhere.jpg"])
    expect(
        page.locator("#results-body tr", has=page.locator(".file-name", has_text="b.jpg")).locator(".truth")
    ).to_contain_text("your diagnosis: malignant")

    # the tab focused again, the score unchanged: still this file's
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    page.wait_for_timeout(300)
    expect(result.locator(".score-source")).to_contain_text("Diagnoses from mine.csv")

    # another tab replaced the diagnoses: on focus the panel shows the server's, under a neutral heading
    backend.score = _reply(
        matched=1, right=0, wrong=1, confusion={"malignant": {"benign": 1}}, without_truth=["a.jpg", "c.jpg"]
    )
    page.wait_for_timeout(1100)
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    expect(result.locator(".score-source")).to_have_text("Diagnoses stored for this batch.")
    expect(result.locator(".score-headline")).to_have_text(
        "1 image with your diagnosis: 0 right, 1 wrong, 0 not assessed."
    )
    expect(result.locator(".score-unmatched")).to_have_count(0)
    expect(result.locator(".score-kept")).to_have_count(0)
    expect(status).to_have_text("")
    assert "mine.csv" not in result.inner_text()

    # a reload: the stored score, neutral, without the file's lists
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(result.locator(".score-source")).to_have_text("Diagnoses stored for this batch.")
    expect(result.locator(".score-headline")).to_contain_text("1 image with your diagnosis")
    assert "mine.csv" not in page.locator("#score-panel").inner_text()
    assert not errors, errors


def test_sample_diagnoses_mark_only_the_photos_added_with_the_samples_button(page_with_backend):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    page, backend, errors = page_with_backend
    first = SAMPLES[0]
    wrong = next(label for label in LABELS if label != first["truth"])
    backend.decision = {s["file"]: (wrong if s is first else s["truth"]) for s in SAMPLES}

    # a researcher's own photo that has a sample's name: no made-up diagnosis, no sample tally
    _open(page)
    expect(page.locator("#samples-button")).to_contain_text("Try")
    _pick(page, [first["file"]])
    row = page.locator("#results-body tr", has=page.locator(".file-name", has_text=first["file"]))
    expect(row).to_have_attribute("data-status", "ok")
    page.wait_for_timeout(300)
    expect(row.locator(".truth")).to_have_count(0)
    expect(page.locator(".samples-score")).to_be_hidden()

    # the samples, added with the button into a new batch: marked, and still after a reload
    page.click("#new-batch")
    page.click("#samples-button")
    rows = page.locator('#results-body tr[data-status="ok"]')
    expect(rows).to_have_count(len(SAMPLES))
    marked = page.locator("#results-body tr", has=page.locator(".file-name", has_text=first["file"]))
    expect(marked.locator(".truth")).to_contain_text(f"diagnosis: {first['truth']}")
    expect(marked.locator(".verdict")).to_have_text("wrong")
    expect(page.locator(".samples-score")).to_contain_text(f"Sample photos: {len(SAMPLES) - 1} right, 1 wrong")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(rows).to_have_count(len(SAMPLES))
    expect(marked.locator(".truth")).to_contain_text(f"diagnosis: {first['truth']}")

    # the researcher's own diagnoses given (one photo): only the server's truths are shown
    other = SAMPLES[1]
    backend.reply = _reply(
        matched=1, right=1, confusion={other["truth"]: {other["truth"]: 1}}, _truths={other["file"]: other["truth"]},
        without_truth=[s["file"] for s in SAMPLES if s is not other],
    )  # fmt: skip
    page.set_input_files(
        "#truth-input",
        files=[
            {
                "name": "d.csv",
                "mimeType": "text/csv",
                "buffer": f"file,diagnosis\n{other['file']},{other['truth']}\n".encode(),
            }
        ],
    )
    expect(page.locator("#score-result .score-source")).to_contain_text("Diagnoses from d.csv")
    own = page.locator("#results-body tr", has=page.locator(".file-name", has_text=other["file"]))
    expect(own.locator(".truth")).to_contain_text(f"your diagnosis: {other['truth']}")
    expect(marked.locator(".truth")).to_have_count(0)
    expect(page.locator("#results-body .truth")).to_have_count(1)
    expect(page.locator(".samples-score")).to_be_hidden()
    assert not errors, errors


def test_the_confusion_table_fits_a_phone_and_a_csv_on_the_image_zone_is_pointed_to_the_panel(page_with_backend):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    page, backend, errors = page_with_backend
    page.set_viewport_size({"width": 375, "height": 812})
    _open(page)
    _pick(page, ["a.jpg", "b.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(2)

    # a CSV dropped where images go: a hint, no refused row
    _drop(page, "#dropzone", "truth.csv", "file_name,diagnosis\na.jpg,benign\n")
    expect(page.locator("#drop-note")).to_have_text("That looks like a diagnoses file: drop it on Your diagnoses.")
    expect(page.locator("#results-body tr")).to_have_count(2)

    backend.reply = _reply(
        matched=4, right=1, wrong=1, not_assessed={"uncertain": 1, "out_of_domain": 1},
        confusion={"benign": {"benign": 1, "uncertain": 1}, "malignant": {"benign": 1, "out_of_domain": 1}},
    )  # fmt: skip
    _drop(page, "#score-panel .meta", "truth.csv", "file_name,diagnosis\na.jpg,benign\n")
    table = page.locator("#score-result table.confusion")
    expect(table).to_be_visible()
    assert [h.get_attribute("data-decision") for h in table.locator("thead th").all()] == [
        "benign", "malignant", "uncertain", "out_of_domain"
    ]  # fmt: skip
    table.scroll_into_view_if_needed()
    sizes = table.evaluate(
        "(t) => ({table: t.scrollWidth, box: t.parentElement.clientWidth, caption: t.caption.scrollWidth,"
        " captionBox: t.caption.clientWidth, page: document.documentElement.scrollWidth})"
    )
    assert sizes["table"] <= sizes["box"], sizes
    assert sizes["caption"] <= sizes["captionBox"], sizes
    assert sizes["page"] <= 375, sizes
    assert not errors, errors
