"""The counting page, in Chromium against `spotter up --model` the shipped COCO SSD detector
(model/coco-ssd-mobilenet-v1.tflite): two real photos with known objects from ../shared (pets.jpg, two
dogs; grace_hopper.bmp, a person and a tie) go in; the results table's Objects column and the batch's
totals count them; the detail view draws each box with its label and score over the photo, lists them
as text too, and its "Show boxes" toggle is a real button, reached and worked by keyboard.

Also writes test-results/count-boxes.png, the detail view with the boxes drawn on pets.jpg (copied to
docs/screenshots/count-boxes.png by `make screenshots`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import CHROMIUM_ARGS, RESULTS, ROOT, chromium_path, open_page

DETECTOR = ROOT / "model" / "coco-ssd-mobilenet-v1.tflite"
DETECT_SAMPLES = ROOT.parent / "shared" / "data" / "detect-samples"
PETS = DETECT_SAMPLES / "pets.jpg"  # two dogs
HOPPER = DETECT_SAMPLES / "grace_hopper.bmp"  # a person and a tie
AXE = Path(__file__).resolve().parents[1] / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
TIMEOUT_MS = 40_000
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not (PETS.exists() and HOPPER.exists()), reason="../shared/data/detect-samples is not present"),
]


def _axe_violations(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")  # through DevTools: the CSP allows it
    return page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations.map(v => `${v.id} (${v.impact}): ${v.help} -> ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`);
    }""")


@pytest.mark.parametrize("browser_stack", [DETECTOR], ids=["count"], indirect=True)
def test_counts_totals_and_boxes_with_a_keyboard_toggle(browser_stack):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    assert DETECTOR.exists(), "the COCO SSD detector ships with the repository"
    RESULTS.mkdir(exist_ok=True)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, TIMEOUT_MS)
            page.add_init_script(WATCH_VIOLATIONS)  # the boxes are placed through CSSOM, which the CSP allows
            response = page.goto(browser_stack["web"])
            policy = response.headers.get("content-security-policy", "")
            assert "style-src 'self'" in policy and "'unsafe-inline'" not in policy, policy
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#model-card h3")).to_be_visible()

            page.set_input_files("#file-input", [str(PETS), str(HOPPER)])
            ok_rows = page.locator('#results-body tr[data-status="ok"]')
            expect(ok_rows).to_have_count(2)
            batch = page.locator("#batch-id").inner_text()
            api = browser_stack["api"].rstrip("/")
            records = {r["file_name"]: r for r in page.request.get(f"{api}/predictions?batch={batch}").json()["items"]}
            pets = records[PETS.name]
            assert pets["task"] == "detect" and pets["counts"] == {"dog": 2}, pets  # what the detector found

            # The Objects column: the count and the counts per label.
            table = page.locator("#results-table")
            expect(table.get_by_role("columnheader", name="Objects")).to_be_visible()
            pets_row = page.locator("#results-body tr", has=page.locator(".file-name", has_text=PETS.name))
            hopper_row = page.locator("#results-body tr", has=page.locator(".file-name", has_text=HOPPER.name))
            expect(pets_row.locator("td.col-count")).to_contain_text("2 objects")
            expect(pets_row.locator("td.col-count")).to_contain_text("2 dog")
            expect(hopper_row.locator("td.col-count")).to_contain_text("1 person, 1 tie")

            # The batch's totals, near its summary: objects per label over the batch.
            totals = page.locator("#batch-totals")
            expect(totals).to_be_visible()
            expect(totals).to_contain_text("2 dog")
            expect(totals).to_contain_text("1 person")
            expect(totals).to_contain_text("4 objects in 2 images")

            # The detail view by keyboard: Enter on the file name opens it, the boxes are drawn (on by default).
            pets_row.locator(".file-name").focus()
            page.keyboard.press("Enter")
            dialog = page.locator("#detail")
            expect(dialog).to_be_visible()
            expect(page.locator("#detail-title")).to_have_text(PETS.name)
            toggle = dialog.get_by_role("button", name="Show boxes")
            expect(toggle).to_have_attribute("aria-pressed", "true")
            boxes = dialog.locator(".box")
            expect(boxes).to_have_count(2)
            for i in range(2):
                expect(boxes.nth(i)).to_be_visible()
                expect(boxes.nth(i).locator(".box-label")).to_contain_text("dog")
                expect(boxes.nth(i).locator(".box-label")).to_contain_text("%")
            # each box sits where the record says, as fractions of the photo shown
            image = dialog.locator("figure img")
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
            shown = image.bounding_box()
            assert shown and shown["width"] > 100, shown
            for i, detection in enumerate(pets["detections"]):
                x0, y0, x1, y1 = detection["box"]
                box = boxes.nth(i).bounding_box()
                assert box, i
                want = {
                    "x": shown["x"] + x0 * shown["width"],
                    "y": shown["y"] + y0 * shown["height"],
                    "width": (x1 - x0) * shown["width"],
                    "height": (y1 - y0) * shown["height"],
                }
                assert all(abs(box[k] - want[k]) <= 3 for k in want), (i, box, want)
            # the boxes as text, for screen readers (the drawing is hidden from them)
            listed = dialog.locator("ol.detections li")
            expect(listed).to_have_count(2)
            for item in listed.all():
                expect(item).to_contain_text("dog")
            assert dialog.locator(".boxes").get_attribute("aria-hidden") == "true"
            if AXE.exists():
                assert not _axe_violations(page), _axe_violations(page)  # with the dialog and its boxes
            dialog.screenshot(path=str(RESULTS / "count-boxes.png"))  # docs/screenshots/count-boxes.png

            # The toggle is reached with Tab and worked with Space and Enter; the boxes go and come back.
            for _ in range(10):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement && document.activeElement.textContent === 'Show boxes'"):
                    break
            expect(toggle).to_be_focused()
            page.keyboard.press("Space")
            expect(toggle).to_have_attribute("aria-pressed", "false")
            expect(boxes.first).to_be_hidden()
            expect(boxes.nth(1)).to_be_hidden()
            expect(listed).to_have_count(2)  # the text list stays
            page.keyboard.press("Enter")
            expect(toggle).to_have_attribute("aria-pressed", "true")
            expect(boxes).to_have_count(2)
            expect(boxes.first).to_be_visible()
            toggle.click()  # and by mouse
            expect(boxes.first).to_be_hidden()
            toggle.click()
            expect(boxes.first).to_be_visible()

            # The detail view's keys still work: an arrow moves to the other photo (its own boxes), Esc
            # closes and gives focus back to a row's file name.
            expect(toggle).to_be_focused()
            page.keyboard.press("ArrowRight")
            expect(page.locator("#detail-title")).to_have_text(HOPPER.name)
            expect(boxes).to_have_count(2)
            expect(dialog.locator(".box-label", has_text="person")).to_have_count(1)
            expect(dialog.locator(".box-label", has_text="tie")).to_have_count(1)
            page.keyboard.press("Escape")
            expect(dialog).to_be_hidden()
            assert page.evaluate("document.activeElement.classList.contains('file-name')")
            violations = page.evaluate("window.__cspViolations")
            assert violations == [], violations
            assert not errors, errors
        finally:
            browser.close()
