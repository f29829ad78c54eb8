"""End to end through the web page: `spotter up`, real Chromium, uploads to (moto) S3, live results, CSV.

Starts the local stack as a subprocess, opens the page it serves, picks three photos, one corrupt
JPEG and one text file by keyboard, waits for three predictions, one rejection (with its reason)
and one refusal, downloads the batch CSV through the page's link, and saves a screenshot to
test-results/web-e2e.png.
"""

from __future__ import annotations

import csv
from collections import Counter

import pytest
from browser import CHROMIUM_ARGS, RESULT_TIMEOUT_MS, RESULTS, chromium_path, open_page, three_photos

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_upload_classify_and_download_csv(browser_stack, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect

    photos = three_photos()
    whole = photos[0].read_bytes()
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(whole[: max(600, len(whole) // 3)])  # a truncated JPEG: header, no end
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image\n")
    RESULTS.mkdir(exist_ok=True)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, RESULT_TIMEOUT_MS)
            # Listening from the start turns file-chooser interception on before the key press below
            # (turned on lazily by expect_file_chooser, it can miss a fast keyboard-opened picker).
            page.on("filechooser", lambda chooser: None)

            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#model-card h3")).to_be_visible()  # the model card from GET /model
            card = page.request.get(browser_stack["api"].rstrip("/") + "/model").json()
            expect(page.locator("#model-card h3")).to_contain_text(card["name"])

            # By keyboard: skip link, the disclaimer's summary (it folds), then the drop zone, a button that
            # opens the file picker.
            page.keyboard.press("Tab")
            if card.get("disclaimer"):  # shown once the card is in: wait for it, or Tab may pass it by
                expect(page.locator("#disclaimer")).to_be_visible()
                page.keyboard.press("Tab")
                assert page.evaluate("document.activeElement.closest('#disclaimer') !== null")
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.id") == "dropzone"
            with page.expect_file_chooser() as chooser:
                page.keyboard.press("Enter")
            chooser.value.set_files([*map(str, photos), str(broken), str(notes)])

            rows = page.locator("#results-body tr")
            expect(rows).to_have_count(5)
            refused = page.locator('#results-body tr[data-status="refused"]')
            expect(refused).to_have_count(1)
            expect(refused).to_contain_text("notes.txt")
            ok_rows = page.locator('#results-body tr[data-status="ok"]')
            rejected = page.locator('#results-body tr[data-status="rejected"]')
            expect(ok_rows).to_have_count(3)
            expect(rejected).to_have_count(1)
            expect(rejected).to_contain_text("broken.jpg")
            assert rejected.locator(".reason").inner_text().strip(), "a rejection shows its reason"
            for i in range(3):
                row = ok_rows.nth(i)
                assert row.locator(".label").inner_text().strip() in card["labels"] + ["uncertain"]  # the decision
                score = row.locator(".score").inner_text().strip()
                if card.get("decision"):  # the positive label's score beside its threshold
                    assert score.startswith(f"{card['decision']['positive']} ") and ", threshold " in score, score
                else:  # the top label's score
                    assert score.endswith("%"), score
                assert row.locator("ol.top li").count() >= 1
                expect(row.locator(".col-image img")).to_be_visible()
            names = {row.locator(".file-name").inner_text() for row in ok_rows.all()}
            assert names == {p.name for p in photos}
            expect(page.locator("#progress-text")).to_contain_text("All done")

            # Sorting by confidence puts the rows with a score first.
            page.click('th button[data-sort="score"]')
            expect(page.locator('th:has(button[data-sort="score"])')).to_have_attribute("aria-sort", "descending")
            expect(rows.first).to_have_attribute("data-status", "ok")

            # The CSV of the batch, through the page's link.
            with page.expect_download() as download:
                page.click("#csv-link")
            csv_path = tmp_path / "batch.csv"
            download.value.save_as(csv_path)
            with open(csv_path, newline="", encoding="utf-8") as handle:
                records = list(csv.DictReader(handle))
            assert len(records) == 5, records  # the refused text file is recorded in the batch too
            assert Counter(r["status"] for r in records) == {"ok": 3, "rejected": 1, "refused": 1}
            assert {r["file_name"] for r in records} == {p.name for p in photos} | {"broken.jpg", "notes.txt"}
            assert all(r["label"] in card["labels"] for r in records if r["status"] == "ok")
            assert all(r["reason"] for r in records if r["status"] == "rejected")

            page.screenshot(path=str(RESULTS / "web-e2e.png"), full_page=True)

            # Another batch's link pasted into the open tab shows that batch; this one's link, this one again.
            batch = page.locator("#batch-id").inner_text()
            page.evaluate("window.location.hash = '#batch=someone-elses-batch'")
            expect(page.locator("#batch-id")).to_have_text("someone-elses-batch")
            expect(rows).to_have_count(0)
            page.evaluate(f"window.location.hash = '#batch={batch}'")
            expect(page.locator("#batch-id")).to_have_text(batch)
            expect(ok_rows).to_have_count(3)
            expect(rejected).to_have_count(1)
            expect(refused).to_have_count(1)  # recorded by the API, so the reopened batch lists it

            # Phone width: no horizontal scrolling.
            page.set_viewport_size({"width": 375, "height": 800})
            page.wait_for_timeout(200)
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.screenshot(path=str(RESULTS / "web-e2e-375.png"), full_page=True)

            assert not errors, errors
        finally:
            browser.close()
