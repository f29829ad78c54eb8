"""The researcher's page, round two, in Chromium against `spotter up`: names as chosen, refusals that
stay, the detail view by keyboard, the batch summary, "My batches" (rename, reopen, delete), the CSV of
the rows shown, the phone layout, and an accessibility check (axe-core from npm, loaded from
tests/a11y/node_modules; `make test` installs it, nothing is fetched at test time).

Also writes the README's screenshots to test-results/web-desktop.png and web-phone.png
(`make screenshots` copies them to docs/screenshots/).
"""

from __future__ import annotations

import csv
import json
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from browser import CHROMIUM_ARGS, RESULTS, ROOT, chromium_path, open_page, three_photos

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(__file__).resolve().parents[1] / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
UNICODE_NAME = "Läsion Rücken — Patientin 7 (ü) ✓.jpg"
TIMEOUT_MS = 40_000
FRONTEND = ROOT / "frontend"


def _axe_violations(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluated through DevTools, which the page's Content-Security-Policy (no inline script) allows
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations.map(v => `${v.id} (${v.impact}): ${v.help} -> ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`);
    }""")
    return result


def test_names_refusals_detail_batches_phone_and_accessibility(browser_stack, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    if not AXE.exists():
        pytest.skip("axe-core is not installed: npm ci --prefix tests/a11y (make test does this)")
    photos = three_photos()
    named = tmp_path / UNICODE_NAME
    shutil.copy(photos[0], named)
    from PIL import Image

    local_time = tmp_path / "camera-clock.jpg"  # EXIF capture time without an offset
    with Image.open(photos[1]) as photo:
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = "2026:05:04 10:30:15"
        photo.convert("RGB").save(local_time, "JPEG", quality=90, exif=exif.tobytes())
    heic = tmp_path / "IMG_0042.HEIC"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)
    RESULTS.mkdir(exist_ok=True)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, TIMEOUT_MS)
            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#model-card h3")).to_be_visible()
            card = page.request.get(browser_stack["api"].rstrip("/") + "/model").json()
            if card.get("disclaimer"):  # the demo model's card has one; the small test model's has none
                expect(page.locator("#disclaimer")).to_be_visible()
                expect(page.locator("#disclaimer-details")).to_have_attribute("open", "")  # first view: open

            page.set_input_files("#file-input", [str(named), str(local_time), str(heic)])
            rows = page.locator("#results-body tr")
            ok_rows = page.locator('#results-body tr[data-status="ok"]')
            refused = page.locator('#results-body tr[data-status="refused"]')
            expect(ok_rows).to_have_count(2)
            expect(refused).to_have_count(1)
            expect(refused.locator(".reason")).to_contain_text("HEIC")
            expect(refused.locator(".reason")).to_contain_text("export it as JPEG")
            batch = page.locator("#batch-id").inner_text()
            summary = page.locator("#batch-summary")
            expect(summary).to_contain_text("1 refused")
            # a classifier's batch: no Objects column or object totals (an object detector's only)
            expect(page.locator("#results-table th.col-count")).to_be_hidden()
            expect(page.locator("#results-table th.col-top")).to_be_visible()
            expect(page.locator("#batch-totals")).to_be_hidden()
            for row in ok_rows.all():  # a decision has a word and a shape class, not only a colour
                outcome = row.locator(".outcome")
                assert outcome.inner_text().strip() and "outcome-" in outcome.get_attribute("class")

            # A reload shows the batch again: the name as chosen, and the refusal with its reason.
            page.reload()
            page.wait_for_selector("body[data-ready]")
            if card.get("disclaimer"):
                expect(page.locator("#disclaimer-details")).not_to_have_attribute("open", "")  # seen once: folded
                expect(page.locator("#disclaimer summary")).to_be_visible()
            expect(rows).to_have_count(3)
            expect(page.locator("#results-body .file-name", has_text=UNICODE_NAME)).to_have_count(1)
            expect(refused).to_have_count(1)
            expect(refused).to_contain_text("IMG_0042.HEIC")
            expect(refused.locator(".reason")).to_contain_text("HEIC")
            heic_size = heic.stat().st_size
            expect(refused.locator(".col-name .meta")).to_have_text(f"{heic_size} B")  # the declared size stays
            # The long HEIC advice takes the width of the decision, confidence and top-k cells (empty for a
            # refusal), not the narrow status column: a row about as tall as its thumbnail, not a tower.
            reason_box = refused.locator(".col-reason").bounding_box()
            status_box = refused.locator(".col-status").bounding_box()
            assert reason_box and status_box and reason_box["width"] > 2 * status_box["width"], (reason_box, status_box)
            row_box = refused.bounding_box()
            assert row_box and row_box["height"] <= 140, row_box
            toggle = refused.get_by_role("button", name="Show all")  # the whole reason, on demand
            expect(toggle).to_have_attribute("aria-expanded", "false")
            toggle.click()
            expect(refused.get_by_role("button", name="Show less")).to_have_attribute("aria-expanded", "true")
            expect(page.locator("#detail")).to_be_hidden()  # the button does not open the row
            assert refused.bounding_box()["height"] > row_box["height"]
            refused.get_by_role("button", name="Show less").click()
            expect(toggle).to_be_visible()

            # The detail view, by keyboard: Enter on a row's name, arrows move, Esc closes.
            page.select_option("#filter-status", "ok")
            expect(rows).to_have_count(2)
            first = rows.first.locator(".file-name")
            first.focus()
            page.keyboard.press("Enter")
            dialog = page.locator("#detail")
            expect(dialog).to_be_visible()
            title = page.locator("#detail-title")
            first_title = title.inner_text()
            scores = dialog.locator("table.scores tbody tr")
            if len(card["labels"]) <= 3:  # top-k is 3: every label's score is shown
                expect(scores).to_have_count(len(card["labels"]))
            expect(dialog.locator("#detail-facts")).to_contain_text(card["version"])  # the model version
            expect(dialog.get_by_role("button", name="Show boxes")).to_be_hidden()  # boxes are a detector's
            facts = [dialog.locator("#detail-facts").inner_text()]
            page.keyboard.press("ArrowRight")
            expect(title).not_to_have_text(first_title)
            facts.append(dialog.locator("#detail-facts").inner_text())
            assert any("2026-05-04 10:30:15 (camera's local time, offset unknown)" in f for f in facts), facts
            assert not _axe_violations(page), _axe_violations(page)  # with the dialog open
            page.keyboard.press("Escape")
            expect(dialog).to_be_hidden()
            assert page.evaluate("document.activeElement.classList.contains('file-name')")
            page.select_option("#filter-status", "")
            expect(rows).to_have_count(3)
            names_in_dialog = set()
            ok_rows.first.locator(".file-name").click()
            expect(dialog).to_be_visible()
            for _ in range(3):
                names_in_dialog.add(title.inner_text())
                page.keyboard.press("ArrowRight")
            assert UNICODE_NAME in names_in_dialog and "IMG_0042.HEIC" in names_in_dialog
            page.keyboard.press("Escape")

            # CSV of the rows shown (the refused one only), and of the whole batch.
            page.select_option("#filter-status", "problem")
            expect(rows).to_have_count(1)
            with page.expect_download() as download:
                page.click("#csv-shown")
            shown = tmp_path / "shown.csv"
            download.value.save_as(shown)
            with open(shown, newline="", encoding="utf-8") as handle:
                assert [(r["file_name"], r["status"]) for r in csv.DictReader(handle)] == [("IMG_0042.HEIC", "refused")]
            page.select_option("#filter-status", "")
            with page.expect_download() as download:
                page.click("#csv-link")
            whole = tmp_path / "whole.csv"
            download.value.save_as(whole)
            with open(whole, newline="", encoding="utf-8") as handle:
                whole_rows = list(csv.DictReader(handle))
            names = sorted(r["file_name"] for r in whole_rows)
            assert names == sorted([UNICODE_NAME, local_time.name, "IMG_0042.HEIC"])
            assert [r["size"] for r in whole_rows if r["status"] == "refused"] == [str(heic_size)]

            # My batches: the batch is listed; rename it, start a new batch, reopen it from the list.
            item = page.locator(f'#batches-list li[data-batch="{batch}"]')
            expect(item).to_contain_text("3 files")
            item.get_by_role("button", name="Rename").click()
            page.keyboard.press("Control+A")
            page.keyboard.type("Rücken study")
            page.keyboard.press("Enter")
            expect(item.locator(".batch-open")).to_have_text("Rücken study")
            assert not _axe_violations(page), _axe_violations(page)
            page.evaluate("document.getElementById('results').scrollIntoView()")
            page.screenshot(path=str(RESULTS / "web-desktop.png"))  # the README's: one screen of results
            page.click("#new-batch")
            expect(rows).to_have_count(0)
            item.locator(".batch-open").click()
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#batch-id")).to_have_text(batch)
            expect(rows).to_have_count(3)

            # Phone width: nothing scrolls sideways; after an upload the first result is one scroll away.
            page.set_viewport_size({"width": 375, "height": 812})
            page.click("#new-batch")
            page.set_input_files("#file-input", [str(photos[2])])
            expect(ok_rows).to_have_count(1)
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.evaluate("window.scrollTo(0, 0)")
            page.evaluate("window.scrollBy(0, window.innerHeight)")
            box = rows.first.bounding_box()
            assert box and 0 <= box["y"] < 812 and box["y"] + min(box["height"], 100) <= 812, box
            page.screenshot(path=str(RESULTS / "web-phone.png"))
            rows.first.locator(".file-name").click()
            expect(dialog).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.keyboard.press("Escape")
            page.set_viewport_size({"width": 1280, "height": 900})

            # Reopening the older batch marks it as on screen but keeps the list newest first (by creation).
            newer = page.locator("#batch-id").inner_text()
            listed = page.locator("#batches-list li")
            expect(listed).to_have_count(2)
            assert [li.get_attribute("data-batch") for li in listed.all()] == [newer, batch]
            item.locator(".batch-open").click()
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#batch-id")).to_have_text(batch)
            expect(rows).to_have_count(3)
            expect(item.locator(".batch-open")).to_have_attribute("aria-current", "true")
            page.wait_for_timeout(1000)  # the list's counts are saved half a second after a change
            assert [li.get_attribute("data-batch") for li in listed.all()] == [newer, batch]

            # Delete the first batch: the confirmation says what goes; afterwards the API has nothing.
            item.get_by_role("button", name="Delete").click()
            confirm = page.locator("#confirm-delete")
            expect(confirm).to_be_visible()
            expect(confirm).to_contain_text("2 uploaded images")
            expect(confirm).to_contain_text("3 result records")
            expect(confirm).to_contain_text(UNICODE_NAME)
            page.click("#confirm-ok")
            expect(item).to_have_count(0)
            api = browser_stack["api"].rstrip("/")
            assert page.request.get(f"{api}/predictions?batch={batch}&model=all").json()["items"] == []
            assert page.request.get(f"{api}/batches/{batch}").status == 404
            assert not errors, errors
        finally:
            browser.close()


@pytest.fixture
def static_page():
    """frontend/ from a plain static server (no stack): for what the page renders from one API reply."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(FRONTEND)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _render_card(page, url, card) -> str:
    page.unroute("**/model")
    page.route("**/model", lambda route: route.fulfill(json=card))
    page.goto(url)
    page.wait_for_selector("#model-card h3")
    return page.locator("#model-card").inner_text()


def test_model_card_renders_rates_sizes_words_and_a_short_full_resolution_summary(static_page):
    """The demo model's card as the page shows it: rates as %, AUC with 3 decimals, sizes in MiB, words
    for keys, the per-photo results summarised and folded; every figure read from the card, none typed
    here. Cards without some sections render too."""
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    card_path = ROOT / "model" / "skin-lesion-int8.card.json"
    if not card_path.exists():
        pytest.skip("no demo model card (make model)")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    metrics = card["metrics"]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            text = _render_card(page, static_page, card)
            box = page.locator("#model-card")

            for raw in ("Right full", "Right 256", "Validation roc auc", "Roc auc", "Size bytes"):
                assert raw not in text, raw
            names = box.locator("dt, thead th, table.metrics tbody th, h4, h5, summary").all_inner_texts()
            assert not [name for name in names if "_" in name], names  # words, never a raw key

            def cell(metric: str, variant: str) -> str:
                table = box.locator("table.metrics")
                column = [h.inner_text() for h in table.locator("thead th").all()].index(variant)
                return (
                    table.locator("tbody tr", has=page.locator("th", has_text=metric))
                    .first.locator("td")
                    .nth(column - 1)
                    .inner_text()
                )

            def pct(fraction: float) -> str:  # one decimal, halves up (as the page's toFixed on these values)
                return f"{(Decimal(repr(fraction)) * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"

            for variant in ("float32", "int8"):
                values = metrics[variant]
                assert cell("Accuracy", variant) == pct(values["accuracy"])
                assert cell("Sensitivity", variant).startswith(f"{pct(values['sensitivity'])} (95%: ")
                assert cell("Specificity", variant).startswith(pct(values["specificity"]))
                assert cell("ROC AUC", variant).startswith(f"{values['roc_auc']:.3f}")  # with its interval, where given
                assert cell("File size", variant) == f"{values['size_bytes'] / 2**20:.1f} MiB"
                assert cell("Threshold", variant) == f"{values['threshold']:.4f}"

            full = metrics["full_resolution"]
            summary = box.locator(".full-resolution-summary")
            # right by the one rule (the decision is the truth), counted from each photo's decision
            right_full = sum(p["decision_full"] == p["truth"] for p in full["photos"])
            right_256 = sum(p["decision_256"] == p["truth"] for p in full["photos"])
            expect(summary).to_contain_text(f"{right_full} of {full['images']} right at full resolution")
            expect(summary).to_contain_text(f"{right_256} of {full['images']} right at 256 px")
            expect(summary).to_contain_text(f"{full['agree']} agree with 256 px")
            photos = box.locator("details", has=page.locator("table.records"), has_text="Every photo")
            expect(photos).to_have_count(1)
            assert photos.get_attribute("open") is None  # folded until asked for
            expect(photos.locator("tbody tr")).to_have_count(len(full["photos"]))
            # was about 6,700 px with the photos field by field; the 2.0 card adds calibration and a domain check
            assert box.bounding_box()["height"] < 3600
            expect(box.locator("table.matrix")).to_have_count(2)  # float32 and int8, labelled
            if AXE.exists():
                photos.locator("summary").click()
                assert not _axe_violations(page), _axe_violations(page)

            # Whatever the card leaves out is left out, without errors or placeholders.
            partial = json.loads(json.dumps(card))
            for key in ("decision", "limitations", "input", "training", "reference"):
                partial.pop(key, None)
            for key in ("full_resolution", "split", "float32"):
                partial["metrics"].pop(key, None)
            minimal = json.loads((ROOT / "tests" / "models" / "colours-int8.card.json").read_text(encoding="utf-8"))
            others: list[dict[str, Any]] = [
                partial,
                minimal,
                {"name": "bare", "version": "0", "labels": [], "metrics": {"full_resolution": {"images": 3}}},
            ]
            for other in others:
                text = _render_card(page, static_page, other)
                assert other["name"] in text
                assert "undefined" not in text and "NaN" not in text and "null" not in text, text
            assert "How it decides" not in _render_card(page, static_page, partial)
            assert not errors, errors
        finally:
            browser.close()


def test_the_samples_are_real_photos_with_their_diagnosis_and_attribution(browser_stack):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    listed = json.loads((FRONTEND / "samples" / "samples.json").read_text(encoding="utf-8"))
    assert {s["truth"] for s in listed} == {"benign", "malignant"}  # a visitor sees both outcomes
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            items = page.locator("#samples-list li")
            expect(items).to_have_count(len(listed))
            for sample in listed:
                item = page.locator("#samples-list li", has_text=sample["isic_id"])
                expect(item).to_contain_text(sample["diagnosis"])
                expect(item).to_contain_text("CC0")
            expect(page.locator("#samples-button")).to_have_text(f"Try {len(listed)} real ISIC sample photos")
            page.click("#samples-button")
            expect(page.locator("#results-body tr")).to_have_count(len(listed))
            for sample in listed:
                expect(page.locator("#results-body")).to_contain_text(sample["file"])
        finally:
            browser.close()
