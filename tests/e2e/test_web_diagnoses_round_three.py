"""The batch's lifecycle after a third fresh-context trial, in Chromium against a fake API (Playwright routes;
the second trial's Backend, with uploads to S3 that can hang or fail):

- "Start a new batch" stays usable while uploads run (a hung upload never traps the page): it asks first,
  with the same dialog as opening another batch (Stay / Leave them);
- a diagnoses file applied to a batch is applied again to images added after leaving it and coming back
  from My batches in the same tab;
- leaving a batch whose uploads failed (waiting for Retry) asks too;
- after a dialog closes, focus returns to the button that opened it, or to a sensible place;
- reloading or closing the tab while files upload or a diagnoses file is held asks (beforeunload);
- same-named images in the panel's lists are told apart (their row, or "(sample)").
"""

from __future__ import annotations

import pytest
from test_web_diagnoses_round_two import CSV, _row, setup  # noqa: F401 (the fixture)
from test_web_scoring_trial import _drop, _open, _pick, _reply

pytestmark = [pytest.mark.browser]


def _hang_two(page, backend, expect):
    backend.s3 = "hang"
    backend.held = {"a.jpg", "b.jpg"}
    _pick(page, ["a.jpg", "b.jpg"])
    expect(page.locator('#results-body tr[data-status="uploading"]')).to_have_count(2)


def test_start_a_new_batch_while_uploading_asks_and_can_leave(setup):  # noqa: F811
    page, backend, errors, expect = setup
    _open(page)
    _pick(page, ["x.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    _hang_two(page, backend, expect)
    new_batch = page.locator("#new-batch")
    expect(new_batch).to_be_enabled()
    new_batch.click()
    dialog = page.locator("#confirm-delete")
    expect(dialog).to_contain_text("2 files of this batch are still uploading: leave them? They will not be stored.")
    expect(page.locator("#confirm-ok")).to_have_text("Leave them")
    expect(page.locator("#confirm-cancel")).to_have_text("Stay")
    page.click("#confirm-cancel")
    expect(page.locator('#results-body tr[data-status="uploading"]')).to_have_count(2)
    new_batch.click()
    page.click("#confirm-ok")
    expect(page.locator("#results-body tr")).to_have_count(0)
    expect(page.locator("#batch-id")).to_have_text("none yet")
    assert not errors, errors


def test_a_file_applied_to_a_batch_is_applied_again_after_leaving_it_and_coming_back(setup):  # noqa: F811
    page, backend, errors, expect = setup
    _open(page)
    _pick(page, ["a.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    backend.reply = _reply(matched=1, right=1, confusion={"benign": {"benign": 1}}, _truths={"a.jpg": "benign"})
    _drop(page, "#score-title", "mine.csv", CSV)
    expect(_row(page, "a.jpg").locator(".truth")).to_contain_text("your diagnosis: benign")
    assert len(backend.puts) == 1
    page.wait_for_timeout(700)  # My batches has counted b1
    page.click("#new-batch")
    expect(page.locator("#results-body tr")).to_have_count(0)
    page.click('#batches-list li[data-batch="b1"] .batch-open')
    expect(_row(page, "a.jpg")).to_have_attribute("data-status", "ok")
    expect(page.locator("#score-result .score-source")).to_contain_text("Diagnoses from mine.csv")
    backend.held = {"b.jpg", "x.jpg"}
    _pick(page, ["b.jpg", "x.jpg"])
    expect(page.locator("#truth-status")).to_contain_text(
        "mine.csv, applied here before, will be applied again to the new images"
    )
    backend.reply = _reply(
        matched=3, right=2, wrong=1, confusion={"benign": {"benign": 2}, "malignant": {"benign": 1}},
        _truths={"a.jpg": "benign", "b.jpg": "malignant", "x.jpg": "benign"},
    )  # fmt: skip
    backend.held = set()
    expect(_row(page, "b.jpg").locator(".truth")).to_contain_text("your diagnosis: malignant")
    assert len(backend.puts) == 2 and backend.puts[1] == CSV
    assert page.evaluate("location.hash") == "#batch=b1"
    assert not errors, errors


def test_leaving_a_batch_whose_uploads_failed_asks(setup):  # noqa: F811
    page, backend, errors, expect = setup
    _open(page)
    _pick(page, ["x.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    backend.s3 = "fail"
    _pick(page, ["a.jpg", "b.jpg"])
    expect(page.locator('#results-body tr[data-status="failed"]')).to_have_count(2)
    page.click("#new-batch")
    dialog = page.locator("#confirm-delete")
    expect(dialog).to_contain_text(
        "2 files of this batch failed and wait for Retry: leave them? They will not be stored."
    )
    page.click("#confirm-cancel")
    expect(page.locator('#results-body tr[data-status="failed"]')).to_have_count(2)
    page.click("#new-batch")
    page.click("#confirm-ok")
    expect(page.locator("#results-body tr")).to_have_count(0)
    assert not errors, errors


def _focused(page):
    return page.evaluate(
        "(() => { const a = document.activeElement;"
        " return a === document.body ? 'BODY' : (a.id || a.className || a.tagName); })()"
    )


def test_focus_returns_after_a_dialog_closes(setup):  # noqa: F811
    page, backend, errors, expect = setup
    _open(page)
    _pick(page, ["old.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    page.wait_for_timeout(700)  # My batches lists b1
    page.click("#new-batch")
    _pick(page, ["x.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    _hang_two(page, backend, expect)
    dialog = page.locator("#confirm-delete")
    # Esc: back on Start a new batch
    page.focus("#new-batch")
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert _focused(page) == "new-batch"
    # Stay, after My batches was drawn afresh meanwhile: back on the batch's open button
    open_b1 = page.locator('#batches-list li[data-batch="b1"] .batch-open')
    open_b1.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_timeout(300)
    page.click("#confirm-cancel")
    page.wait_for_timeout(200)
    assert "batch-open" in _focused(page)
    assert page.evaluate("document.activeElement.closest('li').dataset.batch") == "b1"
    # Leave them: on the results of the batch opened
    page.keyboard.press("Enter")
    page.click("#confirm-ok")
    expect(page.locator("#batch-id")).to_have_text("b1")
    page.wait_for_timeout(200)
    assert _focused(page) == "results"
    # Delete for good of the batch on screen: its item gone, focus on the next batch in the list
    page.wait_for_timeout(600)
    page.locator('#batches-list li[data-batch="b1"] button.danger').focus()
    page.keyboard.press("Enter")
    page.click("#confirm-ok")
    expect(page.locator('#batches-list li[data-batch="b1"]')).to_have_count(0)
    page.wait_for_timeout(200)
    assert "batch-open" in _focused(page)
    assert page.evaluate("document.activeElement.closest('li').dataset.batch") == "b2"
    assert not errors, errors


def _unload_blocked(page):
    return page.evaluate(
        "(() => { const e = new Event('beforeunload', {cancelable: true});"
        " window.dispatchEvent(e); return e.defaultPrevented; })()"
    )


def test_reloading_with_unfinished_work_asks_first(setup):  # noqa: F811
    page, backend, errors, expect = setup
    _open(page)
    assert not _unload_blocked(page)
    _pick(page, ["x.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    assert not _unload_blocked(page)
    _hang_two(page, backend, expect)
    assert _unload_blocked(page)  # uploading
    page.click("#new-batch")
    page.click("#confirm-ok")
    expect(page.locator("#results-body tr")).to_have_count(0)
    assert not _unload_blocked(page)
    backend.s3 = "fail"
    _pick(page, ["c.jpg"])
    expect(page.locator('#results-body tr[data-status="failed"]')).to_have_count(1)
    assert _unload_blocked(page)  # failed, waiting for Retry
    backend.s3 = "ok"
    backend.held = {"c.jpg"}
    page.click("#retry-failed")
    expect(page.locator('#results-body tr[data-status="pending"]')).to_have_count(1)
    _pick(page, ["d.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    assert not _unload_blocked(page)  # c.jpg classifies: nothing is lost on a reload
    _drop(page, "#score-title", "mine.csv", CSV)
    expect(page.locator("#truth-status")).to_contain_text("mine.csv is held here")
    assert _unload_blocked(page)  # a held diagnoses file
    assert not errors, errors


def test_same_named_images_in_the_panels_lists_are_told_apart(setup):  # noqa: F811
    page, backend, errors, expect = setup
    _open(page)
    _pick(page, ["a.jpg"])
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(1)
    _pick(page, ["b.jpg", "a.jpg"])  # another a.jpg (another size): a row of its own
    expect(page.locator('#results-body tr[data-status="ok"]')).to_have_count(3)
    backend.reply = _reply(
        matched=1, right=1, confusion={"malignant": {"benign": 1}}, _truths={"b.jpg": "malignant"},
        without_truth=["a.jpg", "a.jpg"],
    )  # fmt: skip
    _drop(page, "#score-title", "mine.csv", CSV)
    expect(page.locator("#score-result .score-without li")).to_have_text(["a.jpg (row 1)", "a.jpg (row 3)"])
    assert not errors, errors
