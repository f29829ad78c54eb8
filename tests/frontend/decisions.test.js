// The positive score beside the decision, the decision's sort order, out-of-domain records, and "right"
// against a known diagnosis by the project's one rule (spotter.results.scoring: the decision is the truth;
// uncertain and out-of-domain are neither): `node --test tests/frontend/decisions.test.js`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import {
  setCard, setLabels, outcomeOf, summaryLine, decisionRank, positiveScoreOf, positiveScoreText, scoreAndThreshold,
  outOfDomainSentence, outOfDomainShort, verdictOf, verdictText, rightRule, ruleOf, RIGHT_RULE,
} from "../../frontend/decisions.js";
import { countRight } from "../../frontend/card.js";
import { entryForFile } from "../../frontend/store.js";
import { sortEntries } from "../../frontend/results.js";
import { confirmedText } from "../../frontend/samples.js";
import { countsText } from "../../frontend/batches.js";

const CARD = { labels: ["benign", "malignant"], decision: { positive: "malignant", threshold: 0.3, uncertain_band: [0.2, 0.4] } };
const OOD_RULE = "malignant if its score >= 0.300; uncertain 0.200-0.400; out_of_domain: does not look like a dermoscopy photo;"
  + " not assessed (distance 7.84 from the training photos; at most 3.00 is assessed)";

/** An entry as the page holds it, with `over` on top. */
function entry(over = {}) {
  const file = { name: over.name || "a.jpg", size: 100, type: "image/jpeg" };
  return { ...entryForFile(/** @type {any} */ (file), over.id || "f1", null, 0), ...over };
}

/** A classified record: benign on top with `positive` as the malignant score unless said otherwise. */
function ok(id, decision, positive, over = {}) {
  const top = [{ label: "benign", score: 1 - positive }, { label: "malignant", score: positive }].sort((a, b) => b.score - a.score);
  return entry({ id, status: "ok", record: { decision, label: top[0].label, score: top[0].score, top, positive_score: positive, ...over } });
}

test("the positive score is shown with the threshold, never the top label's alone", () => {
  setCard(CARD);
  const record = { decision: "malignant", label: "benign", score: 0.58, positive_score: 0.42, top: [{ label: "benign", score: 0.58 }, { label: "malignant", score: 0.42 }] };
  assert.equal(positiveScoreOf(record), 0.42);
  assert.equal(positiveScoreText(record), "malignant 0.42, threshold 0.30");
  // a record written before positive_score: the positive label's score from top
  assert.equal(positiveScoreText({ ...record, positive_score: undefined }), "malignant 0.42, threshold 0.30");
  // decimals enough for the score not to read as the threshold; three near 0 and 1
  assert.deepEqual(scoreAndThreshold(0.0739, 0.0742), { score: "0.0739", threshold: "0.0742" });
  assert.deepEqual(scoreAndThreshold(0.5, 0.0742), { score: "0.500", threshold: "0.074" });
  assert.deepEqual(scoreAndThreshold(0.952, 0.5), { score: "0.95", threshold: "0.50" }); // the threshold's decimals
  assert.deepEqual(scoreAndThreshold(0.004, 0.5), { score: "0.00", threshold: "0.50" });
  setCard({ labels: ["red", "green", "blue"] }); // no decision: nothing to show beside it
  assert.equal(positiveScoreOf(record), null);
  assert.equal(positiveScoreText(record), "");
  // no card on the page yet: the record's own rule says which label is positive and where its threshold is
  setCard(null);
  assert.deepEqual(ruleOf({ decision_rule: OOD_RULE }), { positive: "malignant", threshold: 0.3, band: null });
  assert.equal(positiveScoreText({ ...record, decision_rule: OOD_RULE }), "malignant 0.42, threshold 0.30");
});

test("sorting by score sorts by the positive score; by decision: positive, uncertain, negative, out of domain, problems", () => {
  setCard(CARD);
  const entries = [
    ok("b", "benign", 0.1),
    entry({ id: "r", status: "rejected" }),
    ok("o", "out_of_domain", 0.9, { decision_rule: OOD_RULE }),
    ok("m", "malignant", 0.35), // benign on top (0.65): sorted by its malignant score all the same
    entry({ id: "p", status: "pending" }),
    ok("u", "uncertain", 0.25),
    entry({ id: "x", status: "refused" }),
    ok("m2", "malignant", 0.8),
  ];
  assert.deepEqual(sortEntries(entries, "score", "descending").map((e) => e.id), ["o", "m2", "m", "u", "b", "r", "p", "x"]);
  assert.deepEqual(sortEntries(entries, "label", "ascending").map((e) => e.id), ["m", "m2", "u", "b", "o", "r", "x", "p"]);
  assert.deepEqual(decisionRank(entries[4]), null); // not finished: last either way
  assert.deepEqual(sortEntries(entries, "label", "descending").map((e) => e.id), ["x", "r", "o", "b", "u", "m", "m2", "p"]);
  // without a positive label: the card's labels in order, then uncertain and out of domain
  setCard({ labels: ["red", "green", "blue"] });
  const colours = [entry({ id: "u", status: "ok", record: { decision: "uncertain" } }), entry({ id: "b", status: "ok", record: { label: "blue" } }),
    entry({ id: "r", status: "ok", record: { label: "red" } })];
  assert.deepEqual(sortEntries(colours, "label", "ascending").map((e) => e.id), ["r", "b", "u"]);
});

test("an out-of-domain record: its own outcome, the card's sentence, counted apart", () => {
  setCard(CARD);
  const outside = ok("o", "out_of_domain", 0.9, { decision_rule: OOD_RULE });
  assert.deepEqual(outcomeOf(outside), { key: "out_of_domain", text: "out of domain", kind: "out-of-domain" });
  assert.equal(outOfDomainSentence(outside.record),
    "does not look like a dermoscopy photo; not assessed (distance 7.84 from the training photos; at most 3.00 is assessed)");
  assert.equal(outOfDomainShort(outside.record), "does not look like a dermoscopy photo; not assessed");
  assert.equal(outOfDomainSentence(ok("m", "malignant", 0.9).record), "");
  const line = summaryLine([outside, ok("o2", "out_of_domain", 0.1, { decision_rule: OOD_RULE }), ok("m", "malignant", 0.9),
    ok("u", "uncertain", 0.25), entry({ id: "r", status: "rejected" })]);
  assert.deepEqual(line.map((p) => p.text), ["1 malignant", "1 uncertain", "2 out of domain", "1 rejected"]);
  // My batches, from the API's counts (keyed by the records' decisions)
  assert.equal(countsText({ batch: "b", files: 3, byOutcome: { red: 2, out_of_domain: 1 } }), "3 files: 2 red, 1 out of domain");
  setLabels([]);
});

test("right means what the scoring module says: the decision is the truth; uncertain and out of domain are neither", () => {
  setCard(CARD);
  assert.equal(verdictOf(ok("m", "malignant", 0.5).record, "malignant"), "right");
  assert.equal(verdictOf(ok("m", "malignant", 0.5).record, "benign"), "wrong");
  assert.equal(verdictOf(ok("b", "benign", 0.1).record, "malignant"), "wrong");
  // uncertain on either side of the threshold, and out of domain: not assessed (the old rule counted them by side)
  assert.equal(verdictOf(ok("u", "uncertain", 0.35).record, "malignant"), "not-assessed");
  assert.equal(verdictOf(ok("u", "uncertain", 0.25).record, "malignant"), "not-assessed");
  assert.equal(verdictOf(ok("o", "out_of_domain", 0.1, { decision_rule: OOD_RULE }).record, "benign"), "not-assessed");
  assert.equal(verdictText("not-assessed"), "not assessed");
  assert.equal(verdictOf(null, "benign"), null);
  assert.equal(rightRule(), "Right: the decision is the truth; uncertain and out-of-domain images are neither right nor wrong");
  setCard({ labels: ["red", "green"] });
  assert.equal(verdictOf({ label: "red" }, "red"), "right");
  assert.equal(verdictOf({ decision: "uncertain", label: "red" }, "red"), "not-assessed");
  assert.equal(verdictOf({ label: "blue" }, "red"), "not-assessed"); // not one of the card's labels: neither
  setCard(null);
});

test("the rule's words are the scoring module's own (BatchScore.rule)", () => {
  const module = readFileSync(new URL("../../src/spotter/results/scoring.py", import.meta.url), "utf8");
  const said = /RIGHT_RULE = "([^"]+)"/.exec(module);
  assert.ok(said, "spotter/results/scoring.py states its rule as RIGHT_RULE");
  assert.equal(RIGHT_RULE, said[1]);
});

test("the card's full-resolution counts are recomputed from each photo's decision by the one rule", () => {
  const card = JSON.parse(readFileSync(new URL("../../model/skin-lesion-int8.card.json", import.meta.url), "utf8"));
  const full = card.metrics && card.metrics.full_resolution;
  if (!full || !Array.isArray(full.photos)) return; // a card without the check has nothing to count
  setCard(card);
  // each photo's verdict at each resolution, by verdictOf on the decision the card lists for it
  const verdicts = (/** @type {string} */ key) => full.photos.map((p) => verdictOf({ decision: p[key] }, p.truth));
  const right = (/** @type {string} */ key) => verdicts(key).filter((v) => v === "right").length;
  const independent = (/** @type {string} */ key) => full.photos.filter((p) => p[key] === p.truth).length;
  assert.equal(right("decision_full"), independent("decision_full"));
  assert.equal(right("decision_256"), independent("decision_256"));
  assert.deepEqual(countRight(full), { full: right("decision_full"), small: right("decision_256") });
  // an uncertain photo is never right or wrong, whichever side of the threshold its score is on
  for (const photo of full.photos.filter((p) => p.decision_full === "uncertain")) {
    assert.equal(verdictOf({ decision: photo.decision_full }, photo.truth), "not-assessed");
  }
  // a card whose photos lack decisions gives its own counts (countRight: null)
  assert.equal(countRight({ photos: [{ truth: "benign", score_full: 0.1 }] }), null);
  setCard(null);
});

test("a sample's confirmation is said only when the archive states it", () => {
  assert.equal(confirmedText({ diagnosis_confirmed_by: "histopathology" }), " (confirmed by histopathology)");
  assert.equal(confirmedText({ diagnosis_confirmed_by: "not stated" }), "");
  assert.equal(confirmedText({ diagnosis_confirmed_by: null }), "");
  assert.equal(confirmedText({}), "");
});
