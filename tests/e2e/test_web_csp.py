"""The page under its Content-Security-Policy, in Chromium against `spotter up`: the static server sends
the policy (the same directives CloudFront sends on AWS: tests/integration/test_infra.py), and uploading, viewing
from the bucket, the detail view and the CSV download raise no violation. The upload holds a file
whose name carries U+202E: the refusal the API words with it reads left to right."""

from __future__ import annotations

import pytest
from browser import CHROMIUM_ARGS, RESULT_TIMEOUT_MS, chromium_path, open_page, three_photos

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def test_the_page_works_under_a_strict_csp_with_no_violation(browser_stack, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    photos = three_photos()
    spoof = tmp_path / "report\u202etxt.exe"  # shows as "reportexe.txt" unless isolated
    spoof.write_text("not an image\n")

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, RESULT_TIMEOUT_MS)
            page.add_init_script(WATCH_VIOLATIONS)
            response = page.goto(browser_stack["web"])
            policy = response.headers.get("content-security-policy", "")
            assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy, policy
            assert browser_stack["s3"].rstrip("/") in policy and browser_stack["api"].rstrip("/") in policy
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#model-card h3")).to_be_visible()

            page.set_input_files("#file-input", [*map(str, photos), str(spoof)])
            ok_rows = page.locator('#results-body tr[data-status="ok"]')
            refused = page.locator('#results-body tr[data-status="refused"]')
            expect(ok_rows).to_have_count(3)
            expect(refused).to_have_count(1)
            reason = refused.locator(".reason")
            expect(reason.locator("bdi")).to_have_text(spoof.name)
            assert reason.locator("bdi").evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"

            # reopened: every image now comes from the bucket (moto), through the API's signed links
            page.reload()
            page.wait_for_selector("body[data-ready]")
            expect(ok_rows).to_have_count(3)
            for row in ok_rows.all():
                image = row.locator(".col-image img")
                expect(image).to_be_visible()
                assert browser_stack["s3"].rstrip("/") in (image.get_attribute("src") or "")
                page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
            ok_rows.first.locator(".file-name").click()
            detail_image = page.locator("#detail img")
            expect(detail_image).to_be_visible()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=detail_image.element_handle())
            page.keyboard.press("Escape")
            with page.expect_download() as download:
                page.click("#csv-link")
            assert download.value.path()

            violations = page.evaluate("window.__cspViolations")
            assert violations == [], violations
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            browser.close()
