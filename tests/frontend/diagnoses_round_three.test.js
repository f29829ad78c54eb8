// Unit tests for the third diagnoses trial's pure parts (no DOM): `node --test tests/frontend/`.
import { test } from "node:test";
import assert from "node:assert/strict";

import { toldApart } from "../../frontend/scoring.js";

test("a name of one row is listed as it is", () => {
  assert.deepEqual(toldApart(["a.jpg", "b.jpg"], ["a.jpg", "b.jpg"], []), ["a.jpg", "b.jpg"]);
});

test("a name of several rows is told apart by its row, a sample as a sample", () => {
  const order = ["ISIC_1.jpg", "x.jpg", "ISIC_1.jpg", "ISIC_1.jpg"];
  const rows = [{ sample: true }, {}, {}, {}];
  assert.deepEqual(toldApart(["ISIC_1.jpg", "ISIC_1.jpg", "ISIC_1.jpg"], order, rows),
    ["ISIC_1.jpg (sample)", "ISIC_1.jpg (row 3)", "ISIC_1.jpg (row 4)"]);
});

test("the rows preferred (no diagnosis) are the ones named, when they are as many as the list has", () => {
  const order = ["a.jpg", "a.jpg", "a.jpg"];
  const rows = [{ truth: true }, {}, { truth: true }];
  assert.deepEqual(toldApart(["a.jpg"], order, rows, (row) => !row.truth), ["a.jpg (row 2)"]);
  // more listed than preferred rows: every row of the name, in order
  assert.deepEqual(toldApart(["a.jpg", "a.jpg"], order, rows, (row) => !row.truth), ["a.jpg (row 1)", "a.jpg (row 2)"]);
});

test("two samples of one name are told apart by their rows too", () => {
  assert.deepEqual(toldApart(["s.jpg", "s.jpg"], ["s.jpg", "s.jpg"], [{ sample: true }, { sample: true }]),
    ["s.jpg (sample, row 1)", "s.jpg (sample, row 2)"]);
});
