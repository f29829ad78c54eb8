"""The diagnoses panel and the batch's lifecycle after a second fresh-context trial, in Chromium against a
fake API (Playwright routes; the trial's FakeBackend, with uploads to S3 that can hang or fail):

- the stored diagnoses replaced in another tab: on focus the rows' marks and the open detail view follow;
- Delete of the batch on screen before anything of it is stored asks, stops its uploads, drops the held
  file (never sent) and sends DELETE anyway;
- opening another batch while uploads run asks first; "Stay" keeps everything, "Leave them" drops the
  uploads and the held file, and My batches shows the server's count;
- a file given while uploads failed is held until Retry classified them (or "Apply now");
- a file applied here is applied again to images added later, once they are classified;
- a batch with nothing stored says so honestly, with "Check again";
- the panel's grammar and its lists in the batch's row order.
"""

from __future__ import annotations

import contextlib

import pytest
from test_web_scoring_trial import API, S3, FakeBackend, _drop, _open, _pick, _reply

pytestmark = [pytest.mark.browser]


class Backend(FakeBackend):
    """S3 answers at once ("ok"), never until released ("hang"), or not at all ("fail"); GET /batches/{b}
    is 404 for a batch in `missing`; DELETEs are noted."""

    def __init__(self):
        super().__init__()
        self.s3 = "ok"
        self.hung: list = []
        self.s3_posts = 0
        self.missing: set[str] = set()
        self.deletes: list[str] = []

    def handle(self, route, request):
        url = request.url
        if url.startswith(S3) and request.method == "POST":
            self.s3_posts += 1
            if self.s3 == "hang":
                self.hung.append(route)
                return None
            if self.s3 == "fail":
                return route.abort()
        path = url[len(API) :].split("?")[0] if url.startswith(API) else None
        if path == "/uploads" and self.s3 == "fail":  # the files signed now never land: no record
            before = set(self.records)
            super().handle(route, request)
            for oid in set(self.records) - before:
                self.records[oid]["batch"] = "never-stored"
            return None
        if path and path.startswith("/batches/") and path.count("/") == 2:
            batch = path.split("/")[2]
            if request.method == "DELETE":
                self.deletes.append(batch)
                return route.fulfill(
                    status=200, content_type="application/json", headers={"access-control-allow-origin": "*"},
                    body=f'{{"batch": "{batch}", "deleted": true}}',
                )  # fmt: skip
            if batch in self.missing:
                return route.fulfill(status=404, headers={"access-control-allow-origin": "*"}, body="")
            files = sum(1 for r in self.records.values() if r["batch"] == batch and r["file_name"] not in self.held)
            return route.fulfill(
                status=200,
                content_type="application/json",
                headers={"access-control-allow-origin": "*"},
                body=f'{{"batch": "{batch}", "files": {files}, "images": {files}, "records": {files}, "names": []}}',
            )
        if request.method == "OPTIONS":
            return route.fulfill(
                status=204,
                headers={
                    "access-control-allow-origin": "*",
                    "access-control-allow-headers": "*",
                    "access-control-allow-methods": "GET,POST,PUT,DELETE",
                },
            )
        return super().handle(route, request)


@pytest.fixture
def setup():
    sync_api = pytest.importorskip("playwright.sync_api")
    from browser import CHROMIUM_ARGS, chromium_path

    backend = Backend()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route("**/*", backend.handle)
            yield page, backend, errors, sync_api.expect
            for route in backend.hung:
                with contextlib.suppress(Exception):  # the page may have aborted it already
                    route.abort()
        finally:
            browser.close()


CSV = "file_name,diagnosis\na.jpg,benign\nb.jpg,malignant\nx.jpg,benign\n"


def _row(page, name):
    return page.locator("#results-body tr", has=page.locator(".file-name", has_text=name))


def test_diagnoses_replaced_in_another_tab_reach_the_rows_and_the_detail_view(setup):
    page, backend, errors, expect = setup
    _open(page)
    _pick(page, ["a.jpg", "b.jpg", "c.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(3)
    backend.reply = _reply(
        matched=1, right=1, confusion={"benign": {"benign": 1}}, _truths={"a.jpg": "benign"},
        without_truth=["c.jpg", "b.jpg"], unknown_truths=[{"name": "c.jpg", "truth": "x"}, {"name": "b.jpg", "truth": "y"}],
    )  # fmt: skip
    _drop(page, "#score-title", "mine.csv", CSV)
    expect(_row(page, "a.jpg").locator(".truth")).to_contain_text("your diagnosis: benign")
    result = page.locator("#score-result")
    # one line names the file; the lists follow the rows' order; "a diagnosis"
    expect(page.locator("#truth-status")).to_have_text("")
    assert result.inner_text().count("mine.csv") == 1
    expect(result.locator(".score-without li")).to_have_text(["b.jpg", "c.jpg"])
    expect(result.locator(".score-unknown")).to_contain_text(
        "2 rows have a diagnosis that is not one of the model's labels"
    )
    expect(result.locator(".score-unknown li")).to_have_text(["b.jpg: y", "c.jpg: x"])

    _row(page, "a.jpg").locator(".file-name").click()
    detail = page.locator("#detail")
    expect(detail).to_contain_text("benign")
    # another tab gave another file: a is malignant now
    backend.truths = {"a.jpg": "malignant"}
    backend.score = _reply(matched=1, wrong=1, confusion={"malignant": {"benign": 1}}, per_image={"o0": False})
    page.wait_for_timeout(1100)
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    expect(result.locator(".score-source")).to_have_text("Diagnoses stored for this batch.")
    expect(_row(page, "a.jpg").locator(".truth")).to_contain_text("your diagnosis: malignant")
    expect(_row(page, "a.jpg").locator(".verdict")).to_have_text("wrong")
    expect(detail.locator("#detail-facts")).to_contain_text("malignant")
    assert not errors, errors


def test_delete_before_anything_is_stored_stops_the_uploads_and_drops_the_held_file(setup):
    page, backend, errors, expect = setup
    _open(page)
    _pick(page, ["x.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    backend.s3 = "hang"
    backend.held = {"a.jpg", "b.jpg"}
    _pick(page, ["a.jpg", "b.jpg"])
    expect(page.locator('#results-body tr[data-status="uploading"]')).to_have_count(2)
    _drop(page, "#score-title", "mine.csv", CSV)
    expect(page.locator("#truth-status")).to_contain_text("mine.csv is held here")
    backend.missing = {"b1"}  # nothing of it stored (yet)
    page.click('#batches-list li[data-batch="b1"] button.danger')
    dialog = page.locator("#confirm-delete")
    expect(dialog).to_contain_text("Nothing of this batch is stored yet; stop its 2 uploads?")
    expect(dialog).to_contain_text("mine.csv")
    page.click("#confirm-ok")
    expect(page.locator('#batches-list li[data-batch="b1"]')).to_have_count(0)
    assert backend.deletes == ["b1"]
    posts = backend.s3_posts
    page.wait_for_timeout(2500)
    assert backend.puts == [] and backend.s3_posts == posts
    expect(page.locator('#batches-list li[data-batch="b1"]')).to_have_count(0)
    assert not errors, errors


def test_opening_another_batch_while_uploading_asks_first(setup):
    page, backend, errors, expect = setup
    _open(page)
    _pick(page, ["old.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    page.click("#new-batch")
    _pick(page, ["x.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    backend.s3 = "hang"
    backend.held = {"a.jpg", "b.jpg"}
    _pick(page, ["a.jpg", "b.jpg"])
    expect(page.locator('#results-body tr[data-status="uploading"]')).to_have_count(2)
    _drop(page, "#score-title", "mine.csv", CSV)
    expect(page.locator("#truth-status")).to_contain_text("mine.csv is held here")
    page.wait_for_timeout(700)  # My batches has counted the 3 files on screen
    open_b1 = page.locator('#batches-list li[data-batch="b1"] .batch-open')
    open_b1.click()
    dialog = page.locator("#confirm-delete")
    expect(dialog).to_contain_text(
        "2 files of this batch are still uploading (and your diagnoses file mine.csv is held): leave them?"
        " They will not be stored."
    )
    page.click("#confirm-cancel")  # stay: everything kept
    expect(page.locator('#results-body tr[data-status="uploading"]')).to_have_count(2)
    expect(page.locator("#truth-status")).to_contain_text("mine.csv is held here")
    assert page.evaluate("location.hash") == "#batch=b2"
    open_b1.click()
    page.click("#confirm-ok")
    page.wait_for_function("location.hash === '#batch=b1'")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#results-body tr")).to_have_count(1)
    expect(page.locator('#batches-list li[data-batch="b2"]')).to_contain_text("1 file")
    page.wait_for_timeout(500)
    assert backend.puts == []
    assert not errors, errors


def test_a_file_given_while_uploads_failed_is_held_until_retry_classifies_them(setup):
    page, backend, errors, expect = setup
    _open(page)
    _pick(page, ["x.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    backend.s3 = "fail"
    _pick(page, ["a.jpg", "b.jpg"])
    expect(page.locator('#results-body tr[data-status="failed"]')).to_have_count(2)
    _drop(page, "#score-title", "retry.csv", CSV)
    status = page.locator("#truth-status")
    expect(status).to_contain_text("retry.csv is held until the 2 failed files are retried")
    expect(status.locator("button.apply-now")).to_be_visible()
    page.wait_for_timeout(300)
    assert backend.puts == []
    backend.s3 = "ok"
    backend.reply = _reply(matched=3, right=3, confusion={"benign": {"benign": 3}})
    page.click("#retry-failed")
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(3)
    expect(page.locator("#score-result .score-source")).to_contain_text("Diagnoses from retry.csv")
    assert len(backend.puts) == 1
    assert not errors, errors


def test_apply_now_sends_a_file_held_for_failed_uploads(setup):
    page, backend, errors, expect = setup
    _open(page)
    _pick(page, ["x.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    backend.s3 = "fail"
    _pick(page, ["a.jpg"])
    expect(page.locator('#results-body tr[data-status="failed"]')).to_have_count(1)
    backend.reply = _reply(matched=1, right=1, confusion={"benign": {"benign": 1}})
    _drop(page, "#score-title", "retry.csv", CSV)
    page.click("#truth-status button.apply-now")
    expect(page.locator("#score-result .score-source")).to_contain_text("Diagnoses from retry.csv")
    assert len(backend.puts) == 1
    assert not errors, errors


def test_a_file_applied_here_is_applied_again_to_images_added_later(setup):
    page, backend, errors, expect = setup
    _open(page)
    _pick(page, ["a.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    backend.reply = _reply(
        matched=1, right=1, confusion={"benign": {"benign": 1}}, unmatched_rows=["b.jpg", "x.jpg"],
        _truths={"a.jpg": "benign"},
    )  # fmt: skip
    _drop(page, "#score-title", "mine.csv", CSV)
    expect(page.locator("#score-result .score-unmatched li")).to_have_text(["b.jpg", "x.jpg"])
    backend.held = {"b.jpg"}
    _pick(page, ["b.jpg"])
    status = page.locator("#truth-status")
    expect(status).to_contain_text("mine.csv, applied here before, will be applied again to the new images")
    assert len(backend.puts) == 1
    backend.reply = _reply(
        matched=2, right=1, wrong=1, confusion={"benign": {"benign": 1}, "malignant": {"benign": 1}},
        unmatched_rows=["x.jpg"], _truths={"a.jpg": "benign", "b.jpg": "malignant"},
    )  # fmt: skip
    backend.held = set()
    expect(_row(page, "b.jpg").locator(".truth")).to_contain_text("your diagnosis: malignant")
    assert len(backend.puts) == 2 and backend.puts[1] == CSV
    expect(page.locator("#score-result .score-unmatched li")).to_have_text(["x.jpg"])
    expect(page.locator("#score-result .score-without")).to_have_count(0)
    assert not errors, errors


def test_a_batch_with_nothing_stored_says_so_honestly_and_can_be_checked_again(setup):
    page, backend, errors, expect = setup
    _open(page, "#batch=zzz")
    notice = page.locator("#batch-notice")
    expect(notice).to_contain_text(
        "No image of batch zzz is stored: it was deleted, its first images are still uploading elsewhere, or it never existed"
    )
    assert "gone" not in notice.inner_text()
    backend.records["o9"] = {
        "object_id": "o9", "batch": "zzz", "file_name": "late.jpg", "status": "ok", "label": "benign",
        "decision": "benign", "score": 0.9, "top": [{"label": "benign", "score": 0.9}],
        "classified_at": "2026-11-23T00:00:00.000Z", "uploaded_at": "2026-11-23T00:00:00.000Z",
    }  # fmt: skip
    page.click("#notice-check-again")
    page.wait_for_selector("body[data-ready=true]")
    expect(_row(page, "late.jpg")).to_have_attribute("data-status", "ok")
    expect(notice).to_be_hidden()
    assert not errors, errors
