// The researcher's page, round three, its pure parts: the batch scored against diagnoses (the confusion
// table, the measures in words), the one row order (kept per batch, applied to reopened rows and the CSV),
// duplicate drops, file names that break at sensible points, and the counting page's words (nothing found,
// neutral labels, no '???' placeholders): `node --test tests/frontend/round_three.test.js`.
import { test } from "node:test";
import assert from "node:assert/strict";

import { nameParts } from "../../frontend/dom.js";
import { entryForFile, entryForRecord, sortOutDuplicates, inChosenOrder, loadOrder, saveOrder, canRetry } from "../../frontend/store.js";
import { orderRows, selectRows } from "../../frontend/csv.js";
import { countsText, outcomeWords } from "../../frontend/batches.js";
import { setCard, outcomeOf, summaryLine, decisionRank } from "../../frontend/decisions.js";
import { realLabels } from "../../frontend/card.js";
import { confusionGrid, measureText, notAssessedText, headlineText } from "../../frontend/scoring.js";

/** A Storage in memory. */
function memoryStorage() {
  const items = new Map();
  return /** @type {Storage} */ (/** @type {unknown} */ ({
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => { items.set(key, String(value)); },
    removeItem: (key) => { items.delete(key); },
  }));
}

/** @param {string} name @param {number} size @param {Record<string, unknown>} [over] */
function picked(name, size, over = {}) {
  return { ...entryForFile(/** @type {any} */ ({ name, size, type: "image/jpeg" }), `f-${name}`, null, 0), ...over };
}

test("a file name breaks after _ and - and before its extension, never inside it", () => {
  assert.deepEqual(nameParts("ISIC_0000032.jpg"), ["ISIC_", "0000032", ".jpg"]);
  assert.deepEqual(nameParts("IMG-2024_01.JPEG"), ["IMG-", "2024_", "01", ".JPEG"]);
  assert.deepEqual(nameParts("noextension"), ["noextension"]);
  assert.deepEqual(nameParts(".hidden"), [".hidden"]);
  assert.equal(nameParts("Läsion Rücken — Patientin 7 (ü) ✓.jpg").join(""), "Läsion Rücken — Patientin 7 (ü) ✓.jpg");
});

test("the same file twice is noted, not added again; a failed one is sent again", () => {
  const entries = [picked("a.jpg", 10), picked("b.jpg", 20, { status: "failed" })];
  const files = /** @type {File[]} */ (/** @type {unknown} */ ([
    { name: "a.jpg", size: 10 }, { name: "a.jpg", size: 11 }, { name: "b.jpg", size: 20 }, { name: "c.jpg", size: 5 }, { name: "c.jpg", size: 5 },
  ]));
  const { fresh, again, duplicates } = sortOutDuplicates(entries, files);
  assert.deepEqual(fresh.map((f) => `${f.name}:${f.size}`), ["a.jpg:11", "c.jpg:5"]); // another size is another file
  assert.deepEqual(again.map((a) => a.entry.name), ["b.jpg"]);
  assert.deepEqual(duplicates.map((f) => f.name), ["a.jpg", "c.jpg"]);
  assert.equal(canRetry(entries[1]), true);
  assert.equal(canRetry({ ...entries[1], file: null }), false); // cancelled with its deleted batch: nothing to send
});

test("one row order: the order chosen, kept per batch; the rest by upload time", () => {
  const storage = memoryStorage();
  saveOrder(storage, "b1", ["o3", "o1", "o2"]);
  saveOrder(storage, "b2", ["x"]);
  assert.deepEqual(loadOrder(storage, "b1"), ["o3", "o1", "o2"]);
  // reopened: the API lists newest first; the rows come back in the order chosen, a stranger after them
  const record = (id, at) => {
    const e = entryForRecord({ object_id: id, file_name: `${id}.jpg` }, 0);
    e.record = { object_id: id, uploaded_at: at };
    return e;
  };
  const listed = [record("o9", "2026-01-01T00:00:09Z"), record("o2", "2026-01-01T00:00:03Z"), record("o8", "2026-01-01T00:00:08Z"),
    record("o1", "2026-01-01T00:00:02Z"), record("o3", "2026-01-01T00:00:01Z")];
  assert.deepEqual(inChosenOrder(listed, loadOrder(storage, "b1")).map((e) => e.objectId), ["o3", "o1", "o2", "o8", "o9"]);
  // another browser (no order kept): upload order
  assert.deepEqual(inChosenOrder(listed, []).map((e) => e.objectId), ["o3", "o1", "o2", "o8", "o9"]);
  saveOrder(storage, "b1", null); // a deleted batch's order is forgotten
  assert.deepEqual(loadOrder(storage, "b1"), []);
  assert.deepEqual(loadOrder(storage, "b2"), ["x"]);
  assert.deepEqual(loadOrder(null, "b2"), []);
});

test("the whole batch's CSV in the page's order, the rows shown in the order shown, quoting kept", () => {
  const text = 'object_id,file_name\r\no9,"z, last"\r\no2,b.jpg\r\no1,"two\nlines"\r\n';
  assert.equal(orderRows(text, ["o1", "o2", "o9"]), 'object_id,file_name\r\no1,"two\nlines"\r\no2,b.jpg\r\no9,"z, last"\r\n');
  assert.equal(orderRows(text, ["o2"]), 'object_id,file_name\r\no2,b.jpg\r\no9,"z, last"\r\no1,"two\nlines"\r\n'); // unknown rows after
  assert.equal(selectRows(text, ["o9", "o2"]), 'object_id,file_name\r\no9,"z, last"\r\no2,b.jpg\r\n');
  assert.equal(orderRows("", ["o1"]), "");
});

test("the confusion table, the measures and the not-assessed counts in words", () => {
  const score = {
    labels: ["benign", "malignant"], positive: "malignant", matched: 7, right: 4, wrong: 2,
    not_assessed: { uncertain: 1 },
    confusion: { benign: { benign: 2, malignant: 1, uncertain: 1 }, malignant: { malignant: 2, benign: 1 } },
    sensitivity: 0.6667, sensitivity_ci95: /** @type {[number, number]} */ ([0.2077, 0.9385]),
    specificity: 0.6667, specificity_ci95: /** @type {[number, number]} */ ([0.2077, 0.9385]),
  };
  const grid = confusionGrid(score);
  assert.deepEqual(grid.truths, ["benign", "malignant"]);
  assert.deepEqual(grid.decisions, ["benign", "malignant", "uncertain"]); // not assessed: a column of its own where some are
  assert.equal(grid.cell("benign", "uncertain"), 1);
  assert.equal(grid.cell("malignant", "out_of_domain"), 0);
  assert.equal(measureText(score.sensitivity, score.sensitivity_ci95, 2, 3, "malignant"),
    "66.7% (95% interval 20.8% to 93.8%): 2 of 3 assessed malignant images decided malignant");
  assert.equal(measureText(null, null, 0, 0, "malignant"), "not measured: no malignant image was assessed");
  assert.equal(notAssessedText(score), "1 uncertain, 0 out of domain");
  assert.equal(headlineText(score), "7 images with your diagnosis: 4 right, 2 wrong, 1 not assessed.");
  assert.equal(headlineText({ matched: 0 }), "No classified image of this batch has a diagnosis from your file.");
  // a truth the card does not know, and a decision it does not either, still get a row and a column
  const odd = confusionGrid({ labels: ["a", "b"], confusion: { c: { d: 1 } } });
  assert.deepEqual(odd.truths, ["a", "b", "c"]);
  assert.deepEqual(odd.decisions, ["a", "b", "d"]);
  assert.deepEqual(confusionGrid({ labels: ["a", "b"], confusion: { a: { out_of_domain: 1 } } }).decisions, ["a", "b", "out_of_domain"]);
});

test("a detector's records: nothing found is said, labels look neutral, '???' placeholders are not labels", () => {
  const coco = { task: "detect", labels: ["???", "person", "bicycle", "???", "dog"] };
  setCard(coco);
  const nothing = { status: "ok", record: { task: "detect", counts: {}, objects: 0 } };
  const dogs = { status: "ok", record: { task: "detect", label: "dog", counts: { dog: 2 }, objects: 2 } };
  const person = { status: "ok", record: { task: "detect", label: "person", counts: { person: 1 }, objects: 1 } };
  assert.deepEqual(outcomeOf(nothing), { key: "nothing_found", text: "nothing found", kind: "nothing" });
  assert.deepEqual(summaryLine([nothing, nothing, dogs]).map((p) => p.text), ["1 dog", "2 nothing found"]);
  for (const entry of [dogs, person]) assert.match(outcomeOf(entry).kind, /^label-plain-\d$/); // never the finding's ▲
  assert.notEqual(decisionRank(nothing), null);
  // My batches: the API counts such records as "ok", this page's own list as "nothing found"
  assert.equal(outcomeWords("ok"), "nothing found");
  assert.equal(countsText({ batch: "b", files: 3, byOutcome: { ok: 2, dog: 1 } }), "3 files: 2 nothing found, 1 dog");
  assert.equal(countsText({ batch: "b", files: 2, byOutcome: { "nothing found": 1, ok: 1 } }), "2 files: 2 nothing found");
  assert.deepEqual(realLabels(coco.labels), ["person", "bicycle", "dog"]);
  assert.deepEqual(realLabels(undefined), []);
  // a card with a positive label: the positive decision looks like a finding, the other like a clearance
  setCard({ labels: ["benign", "malignant"], decision: { positive: "malignant", threshold: 0.3 } });
  assert.equal(outcomeOf({ status: "ok", record: { decision: "malignant" } }).kind, "label-positive");
  assert.equal(outcomeOf({ status: "ok", record: { decision: "benign" } }).kind, "label-negative");
  setCard(null);
});
