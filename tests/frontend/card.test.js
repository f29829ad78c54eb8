// Unit tests for the model card's pure helpers (frontend/card.js): the guards that tell what a piece of the
// card's JSON is, and how values become text. `node --test tests/frontend/` (make check-frontend runs them).
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  isScalar, isPlainObject, isRange, isList, isMatrix, isRows, isRecords, isVariant, isCell,
  scalarText, cellText, classCounts, formatMetric,
} from "../../frontend/card.js";

test("isScalar and isPlainObject: JSON leaves and JSON objects", () => {
  for (const value of [null, "", "a", 0, 1.5, true, false]) assert.equal(isScalar(value), true, String(value));
  for (const value of [undefined, [], {}, [1]]) assert.equal(isScalar(value), false, String(value));
  assert.equal(isPlainObject({}), true);
  assert.equal(isPlainObject({ a: 1 }), true);
  for (const value of [null, undefined, [], "x", 3]) assert.equal(isPlainObject(value), false, String(value));
});

test("isList, isRange, isMatrix, isRows: arrays by what they hold", () => {
  assert.equal(isList([]), true);
  assert.equal(isList({ length: 0 }), false);
  assert.equal(isRange([0.1, 0.2]), true);
  for (const value of [[1], [1, 2, 3], [1, "2"], "12", null]) assert.equal(isRange(value), false, JSON.stringify(value));
  assert.equal(isMatrix([[40, 40], [5, 27]]), true);
  for (const value of [[], [[1, 2]], [[1, "a"], [1, 2]], [[1], [2]], [1, 2]]) assert.equal(isMatrix(value), false, JSON.stringify(value));
  assert.equal(isRows([[1, "a", null], [true]]), true);
  assert.equal(isRows([[1], [{}]]), false);
  assert.equal(isRows([1]), false);
});

test("isCell and isRecords: what fits in a table cell, lists of such records", () => {
  for (const value of [null, "x", 3, [1, 2], ["a", "b", "c", "d", "e", "f"]]) assert.equal(isCell(value), true, JSON.stringify(value));
  assert.equal(isCell([1, 2, 3, 4, 5, 6, 7]), false); // too many for one cell
  assert.equal(isCell(["x".repeat(41)]), false); // a sentence
  assert.equal(isCell([[1]]), false);
  assert.equal(isCell({}), false);
  assert.equal(isCell([1, 2], "confusion_matrix"), false);
  assert.equal(isRecords([{ epoch: 1, loss: 0.3 }, { epoch: 2, tags: ["a", "b"] }]), true);
  assert.equal(isRecords([{ epoch: 1, nested: { a: 1 } }]), false);
  assert.equal(isRecords([{ a: 1 }, 2]), false);
});

test("isVariant: an object with at least two of the usual metrics", () => {
  assert.equal(isVariant({ roc_auc: 0.8, accuracy: 0.6, note: "x" }), true);
  assert.equal(isVariant({ size_bytes: 10, latency_ms: 3 }), true);
  assert.equal(isVariant({ accuracy: 0.6 }), false);
  assert.equal(isVariant([["roc_auc"], ["accuracy"]]), false);
  assert.equal(isVariant(null), false);
});

test("scalarText: missing as a dash, booleans as words, numbers by their key", () => {
  assert.equal(scalarText(null), "—");
  assert.equal(scalarText(undefined), "—");
  assert.equal(scalarText(true), "yes");
  assert.equal(scalarText(false), "no");
  assert.equal(scalarText("int8"), "int8");
  assert.equal(scalarText(1234), "1,234");
  assert.equal(scalarText(0.5, ["specificity"]), "50.0%");
  assert.equal(scalarText(Infinity, ["accuracy"]), "Infinity");
});

test("cellText: ranges joined by a dash (one % sign), short lists by commas", () => {
  assert.equal(cellText([0.5, 0.75], ["sensitivity_ci95"]), "50.0–75.0%");
  assert.equal(cellText([0.0464, 0.1167], ["uncertain_band"]), "0.0464–0.1167");
  assert.equal(cellText([224, 224], ["size"]), "224, 224"); // two numbers, but not a range by its key
  assert.equal(cellText(["a", null, true], ["tags"]), "a, —, yes");
  assert.equal(cellText(0.8, ["accuracy"]), "80.0%");
  assert.equal(cellText([1, 2, 3, 4, 5, 6, 7], ["x"]), "1,2,3,4,5,6,7"); // too long for a cell: as String() has it
});

test("classCounts: the numeric counts per class, in the card's order", () => {
  assert.equal(classCounts({ benign: 80, malignant: 32 }), " (80 benign, 32 malignant)");
  assert.equal(classCounts({ a: 1200, b: "x" }), " (1,200 a)");
  assert.equal(classCounts({ b: "x" }), "");
  assert.equal(classCounts({}), "");
  assert.equal(classCounts(null), "");
  assert.equal(classCounts([3, 4]), "");
});

test("formatMetric: scores, sizes, latency and seconds", () => {
  assert.equal(formatMetric(0.0742, ["threshold"]), "0.0742");
  assert.equal(formatMetric(2722104, ["size_bytes"]), "2.6 MiB");
  assert.equal(formatMetric(3.26, ["latency_ms"]), "3.3 ms");
  assert.equal(formatMetric(99.5, ["seconds"]), "99.5 s");
  assert.equal(formatMetric(2, ["roc_auc"]), "2"); // out of [0, 1]: not an AUC, shown as a number
  assert.equal(formatMetric(0.81, ["metrics", "float32", "accuracy"]), "81.0%");
});
