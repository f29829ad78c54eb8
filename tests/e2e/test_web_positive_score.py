"""The positive score beside the decision, out-of-domain photos, and "right" by the model card's rule,
in Chromium against `spotter up`.

With the demo model (a card with a positive label and a threshold), the page's sample photos go in:
each row's score reads "<positive label> <score>, threshold <t>" with the record's positive_score (never
the top label's score alone), sorting by it orders by the positive score, sorting by decision puts the
positive decision first, then uncertain, then the other label; each sample is marked right, wrong or not
assessed by the project's one rule (the decision is the diagnosis; uncertain is neither), the counts are
those a test computes from the records, and the page says what right means in the same words as the
card's summary, whose count of right photos is the one a test computes from the card's photos.

With a two-output test model whose card has a domain check (written here to a temporary folder), a
green picture is out of domain: its row says so with its own mark, the detail view gives the card's
sentence and the distance, the batch summary counts it apart, and the CSV carries positive_score and
the decision out_of_domain. axe-core finds nothing wrong with the page or the open dialog.

Writes test-results/positive-score.png, positive-score-detail.png, out-of-domain.png and
out-of-domain-detail.png.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from browser import CHROMIUM_ARGS, RESULTS, ROOT, chromium_path, open_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(__file__).resolve().parents[1] / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
DEMO = ROOT / "model" / "skin-lesion-int8.tflite"
SAMPLES = ROOT / "frontend" / "samples"
TIMEOUT_MS = 40_000
# The domain-check model's card lives in a folder of its own, made before the stack starts (module scope).
DOMAIN_DIR = Path(tempfile.gettempdir()) / f"spotter-domain-model-{os.getpid()}"
DOMAIN_MODEL = DOMAIN_DIR / "domain.tflite"
SENTENCE = "does not look like a test photo; not assessed"
RED, BLUE, GREEN = (220, 30, 30), (30, 40, 220), (30, 200, 40)  # green: 10 x mean green = 7.84 > 3.0


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


def _expected_score_text(positive: str, score: float, threshold: float) -> str:
    """What the page should show: the threshold's decimals (2, or 3 for a threshold under 0.1 or over 0.9)
    for the score too, more (up to 4) where the score would otherwise read as the threshold."""
    digits = 3 if threshold < 0.1 or threshold > 0.9 else 2
    if score != threshold:
        digits = next((d for d in (digits, digits + 1) if _fixed(score, d) != _fixed(threshold, d)), 4)
    return f"{positive} {_fixed(score, digits)}, threshold {_fixed(threshold, digits)}"


def _records(page, stack) -> dict[str, dict]:
    batch = page.locator("#batch-id").inner_text()
    api = stack["api"].rstrip("/")
    return {r["file_name"]: r for r in page.request.get(f"{api}/predictions?batch={batch}").json()["items"]}


def _row(page, name: str):
    return page.locator("#results-body tr", has=page.locator(".file-name", has_text=name))


def _names_in_order(page) -> list[str]:
    return [name.strip() for name in page.locator("#results-body tr .file-name").all_inner_texts()]


def _settled_order(page, ordered, timeout_s: float = 5.0) -> list[str]:
    """The rows' names once `ordered(names)` holds (rows move on the next animation frame after a click),
    or as they are after `timeout_s`, for the assertion to show."""
    deadline = time.monotonic() + timeout_s
    names = _names_in_order(page)
    while not ordered(names) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
        names = _names_in_order(page)
    return names


@pytest.mark.skipif(not DEMO.exists(), reason="no demo model (make model)")
@pytest.mark.parametrize("browser_stack", [DEMO], ids=["demo"], indirect=True)
def test_the_positive_score_sorting_and_right_by_the_cards_rule(browser_stack):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    listed = json.loads((SAMPLES / "samples.json").read_text(encoding="utf-8"))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, TIMEOUT_MS)
            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#model-card h3")).to_be_visible()
            card = page.request.get(browser_stack["api"].rstrip("/") + "/model").json()
            positive, threshold = card["decision"]["positive"], card["decision"]["threshold"]

            # The samples' confirmation is said only where the archive states one.
            samples_text = page.locator("#samples-list").inner_text()
            assert "not stated" not in samples_text, samples_text
            for sample in listed:
                if sample.get("diagnosis_confirmed_by"):
                    expect(page.locator("#samples-list li", has_text=sample["isic_id"])).to_contain_text(
                        f"(confirmed by {sample['diagnosis_confirmed_by']})"
                    )

            page.click("#samples-button")
            expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(len(listed))
            records = _records(page, browser_stack)
            assert set(records) == {s["file"] for s in listed}
            scores = {name: r["positive_score"] for name, r in records.items()}

            # The score column: the positive label's score and the threshold, whatever label is on top.
            for name, record in records.items():
                assert record["decision"] in (*card["labels"], "uncertain"), record
                text = _row(page, name).locator("td.col-score .score").inner_text().strip()
                assert text == _expected_score_text(positive, scores[name], threshold), (name, text, record)
            assert any(r["label"] != positive for r in records.values())  # some have the other label on top

            # Sorting by score: by the positive score, highest first on the first click.
            def by_score(names: list[str], reverse: bool) -> bool:
                order = [scores[name] for name in names]
                return order == sorted(order, reverse=reverse)

            page.click('th button[data-sort="score"]')
            expect(page.locator('th:has(button[data-sort="score"])')).to_have_attribute("aria-sort", "descending")
            names = _settled_order(page, lambda names: by_score(names, True))
            assert by_score(names, True), [(name, scores[name]) for name in names]
            page.click('th button[data-sort="score"]')
            names = _settled_order(page, lambda names: by_score(names, False))
            assert by_score(names, False), [(name, scores[name]) for name in names]

            # Sorting by decision: the positive decision, then uncertain, then the other label.
            rank = {positive: 0, "uncertain": 1}
            page.click('th button[data-sort="label"]')
            expect(page.locator('th:has(button[data-sort="label"])')).to_have_attribute("aria-sort", "ascending")

            def by_decision(names: list[str]) -> bool:
                ranks = [rank.get(records[name]["decision"], 2) for name in names]
                return ranks == sorted(ranks)

            names = _settled_order(page, by_decision)
            assert by_decision(names), [(name, records[name]["decision"]) for name in names]

            # Right, wrong or not assessed: the project's one rule (spotter.results.scoring.is_right): right
            # when the decision is the diagnosis; an uncertain or out-of-domain photo is neither.
            def verdict(decision: str, truth: str) -> str:
                if decision not in card["labels"]:
                    return "not assessed"
                return "right" if decision == truth else "wrong"

            verdicts = {s["file"]: verdict(records[s["file"]]["decision"], s["truth"]) for s in listed}
            for sample in listed:
                item = page.locator("#samples-list li", has_text=sample["isic_id"])
                expect(item.locator(".verdict")).to_have_text(verdicts[sample["file"]])
                expect(_row(page, sample["file"]).locator(".col-label .verdict")).to_have_text(verdicts[sample["file"]])
            right = sum(v == "right" for v in verdicts.values())
            wrong = sum(v == "wrong" for v in verdicts.values())
            tally = page.locator(".samples-score")
            expect(tally).to_contain_text(f"Sample photos: {right} right, {wrong} wrong")
            uncertain = sum(records[s["file"]]["decision"] == "uncertain" for s in listed)
            if uncertain:
                expect(tally).to_contain_text(f"{uncertain} not assessed ({uncertain} uncertain)")
            rule = "Right: the decision is the truth; uncertain and out-of-domain images are neither right nor wrong"
            expect(tally).to_contain_text(rule)
            full = card.get("metrics", {}).get("full_resolution")
            if full:  # the card's count, by the same rule from each photo's decision, in the same words
                right_full = sum(p["decision_full"] == p["truth"] for p in full["photos"])
                summary = page.locator("#model-card .full-resolution-summary")
                expect(summary).to_contain_text(f"{right_full} of {full['images']} right at full resolution")
                expect(summary).to_contain_text(rule)

            # The detail view: the positive score beside the decision and the threshold, and the verdict.
            name = listed[0]["file"]
            _row(page, name).locator(".file-name").click()
            dialog = page.locator("#detail")
            expect(dialog).to_be_visible()
            expect(dialog).to_contain_text(_expected_score_text(positive, scores[name], threshold))
            expect(dialog.locator(".verdict")).to_have_text(verdicts[name])
            RESULTS.mkdir(exist_ok=True)
            page.screenshot(path=str(RESULTS / "positive-score-detail.png"))
            if AXE.exists():
                assert not _axe_violations(page), _axe_violations(page)
            page.keyboard.press("Escape")
            expect(dialog).to_be_hidden()
            page.screenshot(path=str(RESULTS / "positive-score.png"), full_page=True)
            if AXE.exists():
                assert not _axe_violations(page), _axe_violations(page)
            assert not errors, errors
        finally:
            browser.close()


@pytest.fixture(scope="module", autouse=True)
def domain_model() -> Iterator[Path]:
    """The two-output test model with a card: red is positive, a distance over 3.0 is out of domain."""
    DOMAIN_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "tests" / "models" / "domain-float32.tflite", DOMAIN_MODEL)
    card = {
        "name": "domain",
        "version": "1",
        "labels": ["blue", "red"],
        "input": {"size": [32, 32], "scaling": {"range": [0.0, 1.0]}},
        "decision": {"positive": "red", "threshold": 0.5, "uncertain_band": [0.4, 0.6]},
        "domain_check": {"output": "Identity_1", "threshold": 3.0, "sentence": SENTENCE},
    }
    DOMAIN_MODEL.with_suffix(".card.json").write_text(json.dumps(card), encoding="utf-8")
    yield DOMAIN_MODEL
    shutil.rmtree(DOMAIN_DIR, ignore_errors=True)


@pytest.mark.parametrize("browser_stack", [DOMAIN_MODEL], ids=["domain"], indirect=True)
def test_an_out_of_domain_photo_is_shown_counted_and_exported_as_such(browser_stack, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    from PIL import Image

    pictures = {}
    for name, colour in (("green.png", GREEN), ("red.png", RED), ("blue.png", BLUE)):
        pictures[name] = tmp_path / name
        Image.new("RGB", (64, 64), colour).save(pictures[name])
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page, errors = open_page(browser, TIMEOUT_MS)
            page.goto(browser_stack["web"])
            page.wait_for_selector("body[data-ready]")
            expect(page.locator("#model-card h3")).to_contain_text("domain")
            page.set_input_files("#file-input", [str(p) for p in pictures.values()])
            expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(3)
            records = _records(page, browser_stack)
            assert [records[n]["decision"] for n in ("green.png", "red.png", "blue.png")] == [
                "out_of_domain",
                "red",
                "blue",
            ]
            green = records["green.png"]

            # The row: "out of domain" with a mark of its own (not a label's), and the card's sentence.
            outcome = _row(page, "green.png").locator(".col-label .outcome")
            expect(outcome).to_have_text("out of domain")
            expect(_row(page, "green.png").locator(".col-label")).to_contain_text(SENTENCE)

            def mark(locator) -> str:
                return locator.evaluate("e => getComputedStyle(e, '::before').content")

            marks = {mark(_row(page, n).locator(".col-label .outcome")) for n in ("red.png", "blue.png")}
            assert mark(outcome) not in (*marks, "none", "normal", '"\\25C7"', '"◇"'), (mark(outcome), marks)
            # its scores are kept and shown as for any other photo
            expect(_row(page, "green.png").locator("td.col-score .score")).to_have_text(
                _expected_score_text("red", green["positive_score"], 0.5)
            )
            expect(_row(page, "red.png").locator("td.col-score .score")).to_have_text(
                _expected_score_text("red", records["red.png"]["positive_score"], 0.5)
            )

            # The summary counts it apart, with the same mark.
            summary = page.locator("#batch-summary")
            expect(summary).to_contain_text("1 out of domain")
            expect(summary.locator(".outcome-out-of-domain")).to_have_text("1 out of domain")
            expect(summary).to_contain_text("1 red")
            expect(summary).to_contain_text("1 blue")

            # Sorting by decision: the positive label, the other, then out of domain.
            page.click('th button[data-sort="label"]')
            wanted = ["red.png", "blue.png", "green.png"]
            assert _settled_order(page, lambda names: names == wanted) == wanted
            # The filter finds it by the words shown.
            page.fill("#filter-text", "out of domain")
            expect(page.locator("#results-body tr")).to_have_count(1)
            page.fill("#filter-text", "")

            # The detail view: the card's sentence with the distance, and the score kept.
            _row(page, "green.png").locator(".file-name").click()
            dialog = page.locator("#detail")
            expect(dialog).to_be_visible()
            expect(dialog.locator(".ood-note")).to_contain_text(SENTENCE)
            expect(dialog.locator(".ood-note")).to_contain_text(f"distance {green['domain_distance']:.2f}")
            expect(dialog).to_contain_text(_expected_score_text("red", green["positive_score"], 0.5))
            RESULTS.mkdir(exist_ok=True)
            page.screenshot(path=str(RESULTS / "out-of-domain-detail.png"))
            if AXE.exists():
                assert not _axe_violations(page), _axe_violations(page)
            page.keyboard.press("Escape")
            expect(dialog).to_be_hidden()
            page.screenshot(path=str(RESULTS / "out-of-domain.png"), full_page=True)
            if AXE.exists():
                assert not _axe_violations(page), _axe_violations(page)

            # The CSV: positive_score beside the decision, out_of_domain as it is.
            with page.expect_download() as download:
                page.click("#csv-link")
            csv_path = tmp_path / "batch.csv"
            download.value.save_as(csv_path)
            with open(csv_path, newline="", encoding="utf-8") as handle:
                rows = {r["file_name"]: r for r in csv.DictReader(handle)}
            assert "positive_score" in next(iter(rows.values())), list(next(iter(rows.values())))
            assert rows["green.png"]["decision"] == "out_of_domain"
            assert float(rows["green.png"]["positive_score"]) == pytest.approx(green["positive_score"], abs=1e-6)
            assert float(rows["red.png"]["positive_score"]) == pytest.approx(
                records["red.png"]["positive_score"], abs=1e-6
            )
            assert not errors, errors
        finally:
            browser.close()
