"""Deleting the batch being uploaded cancels the page's upload queue, in Chromium against `spotter up`.

Twelve photos are chosen; Playwright routing lets the first two uploads to (moto) S3 through and holds
every later one unanswered, and holds the third presign (POST /uploads) after the API has answered it.
With ten files still uploading, ready or being signed, the batch is deleted through "My batches" and
its confirmation dialog; only then are the held requests released. The page must have aborted the
four uploads under way, and send no upload and no presign once the delete is confirmed (the
tombstone makes the classifier discard a late image within seconds, so the storage checks alone
would not see one). And: no object under uploads/<batch>/ (every version), no record of it, GET /batches lists nothing (the
deleted batch is gone and no new one was started), a new POST /uploads into it answers 410, and the
page says the batch was deleted and shows nothing uploading.
"""

from __future__ import annotations

import contextlib
import shutil
import time

import pytest
from browser import CHROMIUM_ARGS, RESULT_TIMEOUT_MS, chromium_path, open_page, three_photos

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FILES = 12
LET_THROUGH = 2  # uploads that reach S3, so the batch has records and "My batches" can delete it
HELD_PRESIGN = 3  # the third POST /uploads is signed by the API but answered to the page after the delete


WATCH_STATUS = """
window.__statusTexts = [];
document.addEventListener('DOMContentLoaded', () => {
  const status = document.getElementById('progress-text');
  new MutationObserver(() => window.__statusTexts.push(status.textContent)).observe(
    status, {childList: true, characterData: true, subtree: true});
});
"""


def _clients(stack):
    boto3 = pytest.importorskip("boto3")
    common = {
        "endpoint_url": stack["s3"],
        "region_name": stack.get("region", "us-east-1"),
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",  # nosec B106: moto's fake credentials
    }
    return boto3.client("s3", **common), boto3.client("dynamodb", **common)


def _stored_keys(s3, bucket: str, prefix: str) -> list[str]:
    """Every object version and delete marker under `prefix`."""
    keys: list[str] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        keys += [v["Key"] for v in page.get("Versions", [])]
        keys += [m["Key"] for m in page.get("DeleteMarkers", [])]
    return keys


def _records_under(dynamodb, table: str, prefix: str) -> list[dict]:
    """Items of the records table with any string attribute under `prefix` (a key under uploads/)."""
    found = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page.get("Items", []):
            if any(isinstance(v, dict) and str(v.get("S", "")).startswith(prefix) for v in item.values()):
                found.append(item)
    return found


def test_deleting_the_batch_being_uploaded_cancels_its_uploads(browser_stack, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    stack = browser_stack
    s3_origin = stack["s3"].rstrip("/")
    api = stack["api"].rstrip("/")
    s3, dynamodb = _clients(stack)

    sources = three_photos()
    photos = []
    for i in range(FILES):
        source = sources[i % len(sources)]
        photo = tmp_path / f"photo-{i:02d}{source.suffix}"
        shutil.copyfile(source, photo)
        photos.append(photo)

    s3_posts: list[str] = []  # every upload POST the page sent (in order)
    held_uploads = []
    presigns: list[str] = []
    held_presign = []
    after_delete: list[str] = []  # requests the page sent once the delete was confirmed
    deleting = {"on": False}
    aborted: list[str] = []  # upload POSTs that ended without an answer (the page aborted them)
    answered: list[str] = []  # upload POSTs S3 answered once the delete was confirmed

    def on_s3(route, request):
        if request.method != "POST":
            route.continue_()
            return
        s3_posts.append(request.url)
        if len(s3_posts) <= LET_THROUGH or deleting["on"]:  # after the delete: straight to S3, as unrouted
            route.continue_()
        else:
            held_uploads.append(route)  # unanswered until the batch is deleted

    def on_api(route, request):
        if request.method == "POST" and request.url.split("?")[0] == f"{api}/uploads":
            presigns.append(request.url)
            if len(presigns) == HELD_PRESIGN:
                held_presign.append(route)
                return
        route.continue_()

    def on_failed(request):
        if request.method == "POST" and request.url.startswith(s3_origin):
            aborted.append(request.failure or "")

    def on_response(response):
        if deleting["on"] and response.request.method == "POST" and response.url.startswith(s3_origin):
            answered.append(f"{response.status} {response.url}")

    def on_request(request):
        to_s3 = request.url.startswith(s3_origin)
        if deleting["on"] and request.method == "POST" and (to_s3 or request.url.split("?")[0] == f"{api}/uploads"):
            after_delete.append(f"{request.method} {request.url}")

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, RESULT_TIMEOUT_MS)
            page.add_init_script(WATCH_STATUS)  # every sentence the status line shows, in order
            page.route(lambda url: url.startswith(s3_origin), on_s3)
            page.route(lambda url: url.startswith(api + "/uploads"), on_api)
            page.on("request", on_request)
            page.on("requestfailed", on_failed)
            page.on("response", on_response)
            page.goto(stack["web"])
            page.wait_for_selector("body[data-ready]")

            page.set_input_files("#file-input", [str(p) for p in photos])
            rows = page.locator("#results-body tr")
            expect(rows).to_have_count(FILES)
            # The two let through are classified (the batch now has records to delete) ...
            ok_rows = page.locator('#results-body tr[data-status="ok"]')
            expect(ok_rows).to_have_count(LET_THROUGH, timeout=RESULT_TIMEOUT_MS)
            # ... four uploads are held under way, and the third chunk's signing is in flight.
            deadline = time.monotonic() + 20
            while (len(held_uploads) < 4 or not held_presign) and time.monotonic() < deadline:
                page.wait_for_timeout(100)
            assert len(held_uploads) == 4 and len(held_presign) == 1, (len(held_uploads), presigns)
            batch = page.locator("#batch-id").inner_text().strip()
            assert batch and batch != "none yet"
            prefix = f"uploads/{batch}/"
            # What the checks below must find gone is there now (they are not vacuous).
            assert len(_stored_keys(s3, stack["bucket"], prefix)) == LET_THROUGH
            assert len(_records_under(dynamodb, stack["table"], prefix)) == LET_THROUGH
            assert [b["batch"] for b in page.request.get(f"{api}/batches").json()["batches"]] == [batch]
            unfinished = page.locator('#results-body tr:not([data-status="ok"])')
            expect(unfinished).to_have_count(FILES - LET_THROUGH)  # ten files still to go
            # The API signs the held chunk now, into the batch; the page gets the answer after the delete.
            signed = held_presign[0].fetch()
            assert signed.status == 200, signed.text()
            assert signed.json()["batch"] == batch

            # Delete it through "My batches" and its confirmation.
            item = page.locator(f'#batches-list li[data-batch="{batch}"]')
            expect(item).to_be_visible()
            item.locator("button.danger").click()
            dialog = page.locator("#confirm-delete")
            expect(dialog).to_be_visible()
            expect(page.locator("#confirm-text")).to_contain_text(batch)
            deleting["on"] = True
            with page.expect_response(
                lambda r: r.request.method == "DELETE" and r.url.split("?")[0] == f"{api}/batches/{batch}"
            ) as deleted:
                page.click("#confirm-ok")
            assert deleted.value.status == 200, deleted.value.text()
            expect(dialog).to_be_hidden()
            page.wait_for_function("() => window.__statusTexts.some((t) => t.includes('The batch was deleted'))")

            # The four uploads under way were aborted by the page, before anything was released.
            deadline = time.monotonic() + 5
            while len(aborted) < len(held_uploads) and time.monotonic() < deadline:
                page.wait_for_timeout(100)
            assert len(aborted) == len(held_uploads), aborted

            # Now release everything held: the signing's answer, then the uploads.
            with contextlib.suppress(Exception):  # the page may have dropped the request already
                held_presign[0].fulfill(response=signed)
            for route in held_uploads:
                with contextlib.suppress(Exception):  # an upload the page aborted has nothing to continue
                    route.continue_()
            page.wait_for_timeout(2500)  # room for anything the page would still send, and for S3 to take it

            assert after_delete == [], after_delete
            assert answered == [], answered
            assert len(s3_posts) == LET_THROUGH + 4, s3_posts
            assert len(presigns) == HELD_PRESIGN, presigns
            assert _stored_keys(s3, stack["bucket"], "uploads/") == []  # the batch's, and no new batch's
            assert _records_under(dynamodb, stack["table"], "uploads/") == []
            listed = page.request.get(f"{api}/batches")
            assert listed.ok, listed.text()
            assert listed.json()["batches"] == [], listed.json()
            again = page.request.post(
                f"{api}/uploads",
                data={"batch": batch, "files": [{"name": "late.jpg", "type": "image/jpeg", "size": 1000}]},
            )
            assert again.status == 410, again.text()

            # The page: the deletion said, nothing uploading, no batch on screen, nothing in My batches.
            # The status line says so and keeps saying it (a counts announcement due from before the
            # delete must not blank it), and said nothing of uploads after it.
            said = page.evaluate("window.__statusTexts")
            after = said[next(i for i, t in enumerate(said) if "The batch was deleted" in t) + 1 :]
            assert not after, said
            expect(page.locator("#progress-text")).to_contain_text("The batch was deleted")
            expect(rows).to_have_count(0)
            expect(page.locator("#progress-section")).to_be_hidden()  # no upload or classify progress left
            expect(page.locator("#batch-id")).to_have_text("none yet")
            expect(page.locator("#batches-list li")).to_have_count(0)
            assert not errors, errors
        finally:
            browser.close()
