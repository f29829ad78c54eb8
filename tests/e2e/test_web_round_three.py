"""The researcher's page, round three (issue 27), in Chromium against `spotter up`:

- a batch scored against the researcher's own diagnoses (a CSV dropped, then one chosen): the confusion
  table, sensitivity and specificity with their 95 % intervals, the uncertain ones apart, the rows that
  matched nothing and the images without a diagnosis are exactly what this test computes from the records
  on its own; each row and the detail view say right, wrong or not assessed; a reload shows the same and
  the CSV carries the truths (writes test-results/score-desktop.png and score-phone.png);
- a deleted batch is gone everywhere: its URL is cleared, opening it (or an id never used) says so and
  offers a new batch, and nothing is uploaded into it;
- "My batches" shows the server's counts when shown, and drops a batch deleted elsewhere;
- failed uploads are retried, one and all, once the API answers again;
- one row order, the order chosen, live, after a reload, reopened and in the CSV; a file chosen twice is
  one row and a note; names break at sensible points at 1366 px;
- the card's metrics table fits a 375 px phone; and the counting page (the COCO detector): nothing found
  is said as such, labels do not look like a finding, no dermoscopy samples, no '???' labels.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from browser import CHROMIUM_ARGS, RESULTS, ROOT, TEST_MODEL, chromium_path, open_page, three_photos

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(__file__).resolve().parents[1] / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
DEMO = ROOT / "model" / "skin-lesion-int8.tflite"
DETECTOR = ROOT / "model" / "coco-ssd-mobilenet-v1.tflite"
PETS = ROOT.parent / "shared" / "data" / "detect-samples" / "pets.jpg"  # two dogs
HOPPER = PETS.with_name("grace_hopper.bmp")  # a person (the label the trial saw as a red ▲) and a tie
SAMPLES = ROOT / "frontend" / "samples"
FRONTEND = ROOT / "frontend"
TIMEOUT_MS = 40_000
NOT_ASSESSED = ("uncertain", "out_of_domain")
# Where a file name may break: after these, or before its extension's dot.
BREAK_AFTER = "_- /"


def _axe_violations(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")  # through DevTools: the CSP allows it
    return page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations.map(v => `${v.id} (${v.impact}): ${v.help} -> ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`);
    }""")


def _fixed(value: float, digits: int) -> str:
    """JavaScript's toFixed: the exact binary value, halves up."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def _pct(value: float) -> str:
    return f"{_fixed(value * 100, 1)}%"


def _wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson score 95 % interval, written out here (not imported), rounded to 4 places as the API's."""
    z = 1.959964
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def _api(stack) -> str:
    return stack["api"].rstrip("/")


def _batch(page) -> str:
    return page.locator("#batch-id").inner_text().strip()


def _records(page, stack, batch: str) -> dict[str, dict]:
    return {r["file_name"]: r for r in page.request.get(f"{_api(stack)}/predictions?batch={batch}").json()["items"]}


def _row(page, name: str):
    return page.locator("#results-body tr", has=page.locator(".file-name", has_text=name))


def _names(page) -> list[str]:
    return [name.strip() for name in page.locator("#results-body tr .file-name").all_inner_texts()]


def _download_csv(page, tmp_path: Path, link: str = "#csv-link") -> list[dict]:
    with page.expect_download() as download:
        page.click(link)
    saved = tmp_path / "download.csv"
    download.value.save_as(saved)
    return list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))


def _gray(path: Path, size: int = 96) -> Path:
    from PIL import Image

    Image.new("RGB", (size, size), (128, 128, 128)).save(path)
    return path


def _wait_for_list_item(page, batch: str, text: str):
    """My batches' entry for `batch`, once it says `text`."""
    from playwright.sync_api import expect

    item = page.locator(f'#batches-list li[data-batch="{batch}"]')
    expect(item).to_contain_text(text)
    return item


# ---- scoring ------------------------------------------------------------------------------------


@pytest.mark.skipif(not DEMO.exists(), reason="no demo model (make model)")
@pytest.mark.parametrize("browser_stack", [DEMO], ids=["demo"], indirect=True)
def test_a_batch_scored_against_the_researchers_diagnoses(browser_stack, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    listed = json.loads((SAMPLES / "samples.json").read_text(encoding="utf-8"))
    photos = [SAMPLES / s["file"] for s in listed]
    gray = _gray(tmp_path / "no-diagnosis.png")  # in the batch, named by no row of the file
    RESULTS.mkdir(exist_ok=True)

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, TIMEOUT_MS)
            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#model-card h3")).to_be_visible()
            card = page.request.get(f"{_api(browser_stack)}/model").json()
            labels, positive = card["labels"], card["decision"]["positive"]
            negative = next(label for label in labels if label != positive)
            expect(page.locator("#score-panel")).to_be_hidden()  # nothing to score yet

            page.set_input_files("#file-input", [str(p) for p in photos] + [str(gray)])
            expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(len(photos) + 1)
            batch = _batch(page)
            records = _records(page, browser_stack, batch)
            assert set(records) == {p.name for p in photos} | {gray.name}

            # A CSV dropped on the button: one row.
            first = f"file,diagnosis\n{listed[0]['file']},{listed[0]['truth']}\n"
            expect(page.locator("#score-panel")).to_be_visible()
            page.evaluate(
                """(text) => {
                  const dt = new DataTransfer();
                  dt.items.add(new File([text], 'first.csv', {type: 'text/csv'}));
                  const target = document.getElementById('truth-button');
                  for (const type of ['dragenter', 'dragover', 'drop']) {
                    target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
                  }
                }""",
                first,
            )
            decided = records[listed[0]["file"]]["decision"]
            one = (1, 0, 0) if decided == listed[0]["truth"] else (0, 1, 0) if decided in labels else (0, 0, 1)
            expect(page.locator(".score-headline")).to_have_text(
                "1 image with your diagnosis: {} right, {} wrong, {} not assessed.".format(*one)
            )
            expect(page.locator(".score-source")).to_contain_text("Diagnoses from first.csv, given in this tab")

            # The file chosen: header names as a spreadsheet has them, names with and without their
            # extension, a diagnosis in capitals, one that is not a label, two rows that match nothing.
            unknown = listed[1]  # its diagnosis is given as "nevus": not one of the card's labels
            given: dict[str, str] = {}
            rows = []
            for i, sample in enumerate(listed):
                name = sample["file"] if i % 2 == 0 else sample["isic_id"]
                if sample is unknown:
                    rows.append((name, "nevus"))
                    continue
                rows.append((name, sample["truth"].upper() if i == 2 else sample["truth"]))
                given[sample["file"]] = sample["truth"]
            rows += [("ISIC_9999999.jpg", "benign"), ("holiday.png", "malignant")]
            text = "Image ID,Age,Benign_Malignant\n" + "".join(f"{name},40,{truth}\n" for name, truth in rows)
            page.set_input_files(
                "#truth-input", files=[{"name": "diagnoses.csv", "mimeType": "text/csv", "buffer": text.encode()}]
            )
            expect(page.locator(".score-source")).to_contain_text("Diagnoses from diagnoses.csv, given in this tab")

            # What the page must show, computed here from the records and the rows given.
            confusion: dict[str, Counter] = defaultdict(Counter)
            verdicts: dict[str, str] = {}
            for name, truth in given.items():
                decision = records[name]["decision"]
                confusion[truth][decision] += 1
                verdicts[name] = "not assessed" if decision not in labels else "right" if decision == truth else "wrong"
            right = sum(v == "right" for v in verdicts.values())
            wrong = sum(v == "wrong" for v in verdicts.values())
            apart = Counter(records[name]["decision"] for name, v in verdicts.items() if v == "not assessed")

            def assert_score_shown(here: bool = True):
                """`here`: the file was given in this tab (its name and what only it says are shown)."""
                result = page.locator("#score-result")
                expect(result.locator(".score-source")).to_contain_text(
                    "Diagnoses from diagnoses.csv, given in this tab" if here else "Diagnoses stored for this batch."
                )
                expect(result.locator(".score-headline")).to_have_text(
                    f"{len(given)} images with your diagnosis: {right} right, {wrong} wrong, {sum(apart.values())} not assessed."
                )
                expect(result.locator(".score-not-assessed")).to_contain_text(
                    f"{apart['uncertain']} uncertain, {apart['out_of_domain']} out of domain"
                )
                table = result.locator("table.confusion")
                columns = [*labels, *(d for d in NOT_ASSESSED if apart[d])]  # a not-assessed column where some are
                assert [h.get_attribute("data-decision") for h in table.locator("thead th").all()] == columns
                for truth in labels:
                    cells = table.locator(f'tbody tr[data-truth="{truth}"] td')
                    assert [int(c.inner_text()) for c in cells.all()] == [confusion[truth][d] for d in columns], truth
                for measure, label, hit in (("sensitivity", positive, positive), ("specificity", negative, negative)):
                    total = sum(confusion[label][d] for d in labels)
                    dd = result.locator(f'dd[data-measure="{measure}"]')
                    if total == 0:
                        expect(dd).to_have_text(f"not measured: no {label} image was assessed")
                        continue
                    k = confusion[label][hit]
                    low, high = _wilson(k, total)
                    expect(dd).to_have_text(
                        f"{_pct(round(k / total, 4))} (95% interval {_pct(low)} to {_pct(high)}): "
                        f"{k} of {total} assessed {label} images decided {label}"
                    )
                if here:
                    expect(result.locator(".score-unmatched li")).to_have_text(["ISIC_9999999.jpg", "holiday.png"])
                    expect(result.locator(".score-unknown li")).to_have_text([f"{unknown['isic_id']}: nevus"])
                else:  # a reload: the file is not named, nor what only it said
                    expect(result.locator(".score-unmatched, .score-unknown")).to_have_count(0)
                assert sorted(result.locator(".score-without li").all_inner_texts()) == sorted(
                    [unknown["file"], gray.name]
                )
                expect(result.locator(".score-rule")).to_have_text(
                    "Right: the decision is the truth; uncertain and out-of-domain images are neither right nor wrong."
                )
                # each row: the diagnosis given and a mark with its word
                for name, verdict in verdicts.items():
                    mark = _row(page, name).locator(".col-label .truth")
                    expect(mark).to_contain_text(f"your diagnosis: {given[name]}")
                    expect(mark.locator(".verdict")).to_have_text(verdict)
                for name in (unknown["file"], gray.name):  # no diagnosis of yours, nor a sample's (not added as one)
                    expect(_row(page, name).locator(".col-label .truth")).to_have_count(0)

            assert_score_shown()
            assert wrong > 0 and right > 0, verdicts  # the samples include a miss and a false alarm

            # The detail view of a wrong one says so, in words.
            name = next(n for n, v in verdicts.items() if v == "wrong")
            _row(page, name).locator(".file-name").click()
            dialog = page.locator("#detail")
            expect(dialog).to_be_visible()
            expect(dialog.locator("h3", has_text="Your diagnosis")).to_be_visible()
            expect(dialog.locator(".verdict")).to_have_text("wrong")
            if AXE.exists():
                assert not _axe_violations(page), _axe_violations(page)
            page.keyboard.press("Escape")
            expect(dialog).to_be_hidden()
            if AXE.exists():
                assert not _axe_violations(page), _axe_violations(page)
            page.evaluate("document.activeElement.blur(); document.getElementById('score-panel').scrollIntoView()")
            page.screenshot(path=str(RESULTS / "score-desktop.png"))  # docs/screenshots/score-desktop.png

            # A reload shows the same score and marks (GET /batches/{b}/score), and the CSV has the truths.
            page.reload()
            page.wait_for_selector("body[data-ready]")
            expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(len(photos) + 1)
            assert_score_shown(here=False)
            exported = {r["file_name"]: r for r in _download_csv(page, tmp_path)}
            assert {name: r["truth"] for name, r in exported.items()} == {
                **dict.fromkeys(exported, ""),  # no diagnosis: an empty cell
                **given,
            }

            # A phone: the score fits, nothing scrolls sideways, the confusion table whole in its box.
            page.set_viewport_size({"width": 375, "height": 812})
            page.evaluate("document.getElementById('score-panel').scrollIntoView()")
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            fits = page.evaluate(
                "(() => { const t = document.querySelector('table.confusion'); return [t.scrollWidth, t.parentElement.clientWidth]; })()"
            )
            assert fits[0] <= fits[1], fits
            page.screenshot(path=str(RESULTS / "score-phone.png"))  # docs/screenshots/score-phone.png
            assert not errors, errors
        finally:
            browser.close()


# ---- a history that never lies -----------------------------------------------------------------


@pytest.mark.parametrize("browser_stack", [TEST_MODEL], ids=["colours"], indirect=True)
def test_a_deleted_batch_is_gone_everywhere_and_nothing_uploads_into_it(browser_stack, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    photos = three_photos()
    api = _api(browser_stack)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, TIMEOUT_MS)
            presigned: list[dict] = []  # every POST /uploads body the page sent
            page.on(
                "request",
                lambda r: (
                    presigned.append(json.loads(r.post_data or "{}"))
                    if r.method == "POST" and r.url.split("?")[0] == f"{api}/uploads"
                    else None
                ),
            )
            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            page.set_input_files("#file-input", [str(photos[0])])
            expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
            batch = _batch(page)
            assert page.evaluate("location.hash") == f"#batch={batch}"

            # Deleted through My batches: gone from the list, the screen and the URL.
            item = _wait_for_list_item(page, batch, "1 file")
            item.get_by_role("button", name="Delete").click()
            page.click("#confirm-ok")
            expect(item).to_have_count(0)
            expect(page.locator("#batch-id")).to_have_text("none yet")
            assert page.evaluate("location.hash") == ""

            # Its old link (a bookmark, F5 on the old URL) says nothing of it is stored and offers a new batch ...
            page.goto("about:blank")
            page.goto(f"{browser_stack['web']}#batch={batch}")
            page.wait_for_selector("body[data-ready]")
            notice = page.locator("#batch-notice")
            expect(notice).to_be_visible()
            expect(notice).to_contain_text(f"No image of batch {batch} is stored: it was deleted")
            expect(notice.get_by_role("button", name="Check again")).to_be_visible()
            expect(notice.get_by_role("button", name="Start a new batch")).to_be_visible()
            expect(page.locator("#batch-id")).to_have_text("none yet")
            assert page.evaluate("location.hash") == ""
            expect(page.locator("#csv-link")).to_be_hidden()
            expect(page.locator(f'#batches-list li[data-batch="{batch}"]')).to_have_count(0)
            if AXE.exists():  # the notice and its button
                assert not _axe_violations(page), _axe_violations(page)

            # ... and a photo chosen now goes into a new batch, never into the deleted one.
            before = len(presigned)
            page.set_input_files("#file-input", [str(photos[1])])
            expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
            expect(notice).to_be_hidden()
            fresh = _batch(page)
            assert fresh != batch
            assert [body.get("batch") for body in presigned[before:]] == [None]  # a new batch, asked for
            assert all(body.get("batch") != batch for body in presigned)
            assert page.request.get(f"{api}/predictions?batch={batch}").json()["items"] == []
            refused = page.request.post(
                f"{api}/uploads",
                data={"batch": batch, "files": [{"name": "late.jpg", "type": "image/jpeg", "size": 9}]},
            )
            assert refused.status == 410, refused.text()

            # An id never used says the same.
            page.goto("about:blank")
            page.goto(f"{browser_stack['web']}#batch=20990101-000000-abcdef")
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#batch-notice")).to_contain_text("No image of batch 20990101-000000-abcdef is stored")
            page.click("#notice-new-batch")
            expect(page.locator("#batch-notice")).to_be_hidden()
            expect(page.locator("#dropzone")).to_be_focused()
            # the browser logs the API's 404 for the gone batch (GET /batches/{b}: nothing stored): that is its answer
            assert [e for e in errors if "status of 404" not in e] == [], errors
        finally:
            browser.close()


@pytest.mark.parametrize("browser_stack", [TEST_MODEL], ids=["colours"], indirect=True)
def test_my_batches_shows_the_servers_counts_whenever_it_is_shown(browser_stack, tmp_path):
    requests = pytest.importorskip("requests")
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    photos = three_photos()
    api = _api(browser_stack)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, TIMEOUT_MS)
            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            page.set_input_files("#file-input", [str(photos[0]), str(photos[1])])
            expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(2)
            kept = _batch(page)
            _wait_for_list_item(page, kept, "2 files:")
            page.click("#new-batch")
            page.set_input_files("#file-input", [str(photos[2])])
            expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
            gone = _batch(page)
            _wait_for_list_item(page, gone, "1 file:")  # with its outcome
            page.close()  # the tab is closed; this browser's list still says 2 files and 1 file

            # Elsewhere (another device, a script): one more image into the first batch, the second deleted.
            reply = requests.post(
                f"{api}/uploads",
                json={
                    "batch": kept,
                    "files": [{"name": "third.jpg", "type": "image/jpeg", "size": photos[2].stat().st_size}],
                },
                timeout=10,
            ).json()
            form = reply["uploads"][0]
            sent = requests.post(
                form["url"],
                data=form["fields"],
                files={"file": ("third.jpg", photos[2].read_bytes(), "image/jpeg")},
                timeout=10,
            )
            assert sent.status_code == 204, sent.text
            assert requests.delete(f"{api}/batches/{gone}", timeout=10).status_code == 200
            context = browser.contexts[0]
            probe = context.new_page()
            for _ in range(100):  # the third image is classified
                items = probe.request.get(f"{api}/predictions?batch={kept}").json()["items"]
                if len(items) == 3 and all(i["status"] == "ok" for i in items):
                    break
                probe.wait_for_timeout(200)
            probe.close()

            # The page opened again (same browser): the list is the server's, not what this browser last saw.
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            _wait_for_list_item(page, kept, "3 files")
            expect(page.locator(f'#batches-list li[data-batch="{gone}"]')).to_have_count(0)
            assert not errors, errors
        finally:
            browser.close()


# ---- retry -------------------------------------------------------------------------------------


@pytest.mark.parametrize("browser_stack", [TEST_MODEL], ids=["colours"], indirect=True)
def test_failed_uploads_are_retried_one_and_all_once_the_api_answers(browser_stack):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    photos = three_photos()
    api = _api(browser_stack)
    down = {"on": True}

    def uploads(route, request):
        if down["on"]:
            route.abort("connectionrefused")  # the API is away
        else:
            route.continue_()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, TIMEOUT_MS)
            page.route(lambda url: url.split("?")[0] == f"{api}/uploads", uploads)
            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            page.set_input_files("#file-input", [str(p) for p in photos[:2]])
            failed = page.locator('#results-body tr[data-status="failed"]')
            expect(failed).to_have_count(2)
            expect(page.locator("#progress-text")).to_have_text("0 of 2 uploaded, 2 failed:")
            retry_all = page.locator("#retry-failed")
            expect(retry_all).to_be_visible()
            expect(retry_all).to_have_text("Retry")
            expect(retry_all).to_have_accessible_name("Retry the 2 failed uploads")
            expect(page.locator("#alert")).to_be_visible()
            expect(failed.locator("button.retry")).to_have_count(2)
            if AXE.exists():  # the failed rows and their Retry buttons
                assert not _axe_violations(page), _axe_violations(page)
            errors.clear()  # the refused connections, logged as console errors

            down["on"] = False  # the API is back
            first = _row(page, photos[0].name)
            first.get_by_role("button", name=f"Retry uploading {photos[0].name}").click()
            expect(first).to_have_attribute("data-status", "ok")
            expect(failed).to_have_count(1)
            expect(page.locator("#progress-text")).to_contain_text("1 of 2 uploaded, 1 failed")
            expect(page.locator("#alert")).to_be_hidden()
            retry_all.click()
            expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(2)
            expect(retry_all).to_be_hidden()
            expect(page.locator("#progress-text")).to_contain_text("All done: 2 of 2 uploaded")
            batch = _batch(page)
            assert sorted(_records(page, browser_stack, batch)) == sorted(p.name for p in photos[:2])
            assert not errors, errors
        finally:
            browser.close()


# ---- one row order, duplicates, names ---------------------------------------------------------


@pytest.mark.parametrize("browser_stack", [TEST_MODEL], ids=["colours"], indirect=True)
def test_one_row_order_live_reloaded_reopened_and_in_the_csv(browser_stack, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    sources = three_photos()
    # six files, chosen in an order that is neither by name nor by size; the last two are signed and sent
    # after the first four (four at a time), so upload order differs from the order chosen reversed
    chosen = ["f-photo.jpg", "b-photo.jpg", "e-photo.jpg", "a-photo.jpg", "d-photo.jpg", "c-photo.jpg"]
    paths = []
    for i, name in enumerate(chosen):
        path = tmp_path / name
        shutil.copyfile(sources[i % len(sources)], path)
        paths.append(path)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, TIMEOUT_MS)
            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            page.set_input_files("#file-input", [str(p) for p in paths])
            rows = page.locator('#results-body tr[data-status="ok"]')
            expect(rows).to_have_count(len(chosen))
            assert _names(page) == chosen

            # The same file again: one row, and a note.
            page.set_input_files("#file-input", [str(paths[1])])
            expect(page.locator("#drop-note")).to_have_text(
                f"1 file already in this batch was not added again: {chosen[1]}."
            )
            expect(page.locator("#results-body tr")).to_have_count(len(chosen))

            batch = _batch(page)
            page.reload()
            page.wait_for_selector("body[data-ready]")
            expect(rows).to_have_count(len(chosen))
            assert _names(page) == chosen

            page.click("#new-batch")
            expect(page.locator("#results-body tr")).to_have_count(0)
            page.locator(f'#batches-list li[data-batch="{batch}"] .batch-open').click()
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#batch-id")).to_have_text(batch)
            expect(rows).to_have_count(len(chosen))
            assert _names(page) == chosen

            assert [r["file_name"] for r in _download_csv(page, tmp_path)] == chosen
            # the rows shown, as sorted on screen
            page.click('th button[data-sort="name"]')
            page.wait_for_timeout(300)
            assert _names(page) == sorted(chosen)
            assert [r["file_name"] for r in _download_csv(page, tmp_path, "#csv-shown")] == sorted(chosen)
            assert not errors, errors
        finally:
            browser.close()


LINES = """() => [...document.querySelectorAll('#results-body .file-name')].map((button) => {
  const lines = []; let top = null; let line = '';
  const walker = document.createTreeWalker(button, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.length; i += 1) {
      const range = document.createRange(); range.setStart(node, i); range.setEnd(node, i + 1);
      const rect = range.getClientRects()[0];
      if (!rect) continue;
      if (top !== null && rect.top > top + 2) { lines.push(line); line = ''; }
      top = rect.top; line += node.data[i];
    }
  }
  lines.push(line); return lines;
})"""


@pytest.mark.skipif(not DEMO.exists(), reason="no demo model (make model)")
@pytest.mark.parametrize("browser_stack", [DEMO], ids=["demo"], indirect=True)
def test_file_names_break_at_sensible_points_at_1366_px(browser_stack):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    listed = json.loads((SAMPLES / "samples.json").read_text(encoding="utf-8"))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, TIMEOUT_MS, width=1366, height=768)
            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            page.set_input_files("#file-input", [str(SAMPLES / s["file"]) for s in listed])
            expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(len(listed))
            page.wait_for_timeout(300)
            for lines in page.evaluate(LINES):
                name = "".join(lines)
                extension = name[name.rfind(".") :]
                at = 0
                for line in lines[:-1]:  # every break after a separator, or before the extension
                    at += len(line)
                    assert line[-1] in BREAK_AFTER or name[at:] == extension, lines
                assert lines[-1].endswith(extension), lines  # ".jpg" never split
            assert not errors, errors
        finally:
            browser.close()


# ---- the card at 375 px, and the counting page ---------------------------------------------------


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


def test_the_cards_metrics_table_is_readable_on_a_phone(static_page):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    card_path = ROOT / "model" / "skin-lesion-int8.card.json"
    if not card_path.exists():
        pytest.skip("no demo model card (make model)")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    variants = [name for name in ("float32", "int8") if name in card["metrics"]]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 812})
            page.route("**/model", lambda route: route.fulfill(json=card))
            page.goto(static_page)
            page.wait_for_selector("#model-card h3")
            table = page.locator("#model-card table.metrics")
            expect(table).to_be_visible()
            table.scroll_into_view_if_needed()
            box = table.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, box  # no column off-screen
            # every version's value of every metric is on screen, said with its version's name
            accuracy = table.locator("tbody tr", has=page.locator("th", has_text="Accuracy")).first
            for i, variant in enumerate(variants):
                cell = accuracy.locator("td").nth(i)
                cell_box = cell.bounding_box()
                assert cell_box and cell_box["x"] + cell_box["width"] <= 375, (variant, cell_box)
                label = cell.evaluate("(td) => getComputedStyle(td, '::before').content")
                assert variant in label, label
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            if AXE.exists():
                assert not _axe_violations(page), _axe_violations(page)
        finally:
            browser.close()


@pytest.mark.skipif(not (PETS.exists() and HOPPER.exists()), reason="../shared/data/detect-samples is not present")
@pytest.mark.parametrize("browser_stack", [DETECTOR], ids=["count"], indirect=True)
def test_the_counting_page_says_nothing_found_and_shows_no_finding_or_placeholder(browser_stack, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    gray = _gray(tmp_path / "empty-wall.png", 320)  # nothing to find
    card = json.loads(DETECTOR.with_suffix(".card.json").read_text(encoding="utf-8"))
    real = [label for label in card["labels"] if label.strip("?")]
    assert len(real) < len(card["labels"])  # the label map has '???' placeholders
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, TIMEOUT_MS)
            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#model-card h3")).to_be_visible()

            # (d) About the model: the real labels only, and how many.
            model = page.locator("#model-card")
            expect(model.locator("h4", has_text="Labels")).to_have_text(f"Labels ({len(real)})")
            chips = model.locator("ul.chips li")
            expect(chips).to_have_count(len(real))
            assert "???" not in chips.all_inner_texts()
            # (b) no dermoscopy samples for an object detector
            expect(page.locator("#samples-button")).to_be_hidden()

            page.set_input_files("#file-input", [str(gray), str(PETS), str(HOPPER)])
            expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(3)
            batch = _batch(page)
            records = _records(page, browser_stack, batch)
            assert records[gray.name]["objects"] == 0 and not records[gray.name].get("label"), records[gray.name]
            assert records[PETS.name]["label"] == "dog", records[PETS.name]
            assert records[HOPPER.name]["counts"].get("person") == 1, records[HOPPER.name]

            # (a) nothing found, said as such: the summary, the row, My batches (this page's and the server's)
            summary = page.locator("#batch-summary")
            expect(summary).to_contain_text("1 nothing found")
            expect(summary).to_contain_text("1 dog")
            assert "undefined" not in summary.inner_text()
            expect(_row(page, gray.name).locator(".col-label")).to_contain_text("nothing found")
            item = _wait_for_list_item(page, batch, "nothing found")
            assert "undefined" not in item.inner_text()
            page.goto("about:blank")  # the page again, this batch not on screen: My batches has the server's counts
            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            item = _wait_for_list_item(page, batch, "1 nothing found")
            assert "undefined" not in item.inner_text() and " ok" not in item.inner_text(), item.inner_text()

            page.locator(f'#batches-list li[data-batch="{batch}"] .batch-open').click()
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#batch-id")).to_have_text(batch)
            expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(3)
            # (c) a detector's label is not a finding: no ▲, not the positive decision's red
            for chip in [*summary.locator(".outcome").all(), *page.locator("#results-body .outcome").all()]:
                style = chip.evaluate(
                    "(c) => [getComputedStyle(c, '::before').content, getComputedStyle(c).color, c.className]"
                )
                assert "\u25b2" not in style[0] and style[1] != "rgb(143, 29, 18)", style
                assert "label-positive" not in style[2], style
            if AXE.exists():
                assert not _axe_violations(page), _axe_violations(page)
            assert not errors, errors
        finally:
            browser.close()
