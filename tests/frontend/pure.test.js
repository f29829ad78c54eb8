// Unit tests for the page's pure parts (no DOM): `node --test tests/frontend/` (make check-frontend runs them).
import { test } from "node:test";
import assert from "node:assert/strict";

import { formatBytes, formatPercent, formatDateTime } from "../../frontend/dom.js";
import { STATUS, STATUS_TEXT, ACTIVE, PROBLEM, FINISHED, statusText, statusOfRecord } from "../../frontend/status.js";
import { counts, progressSummary, entryForFile, entryForRecord, mergeRecord, isNewer, batchFromHash } from "../../frontend/store.js";
import { selectRows, csvFields, csvRecords } from "../../frontend/csv.js";
import { sortBatches, countsText, deletionText } from "../../frontend/batches.js";
import { filterEntries, sortEntries, reasonOf } from "../../frontend/results.js";
import { setLabels, outcomeOf, summaryLine } from "../../frontend/decisions.js";
import { humanize, formatMetric } from "../../frontend/card.js";
import { disclaimerSummary } from "../../frontend/header.js";

/** An entry as the page holds it, with `over` on top. */
function entry(over = {}) {
  const file = { name: "a.jpg", size: 100, type: "image/jpeg" };
  return { ...entryForFile(/** @type {any} */ (file), over.id || "f1", null, 0), ...over };
}

test("formatBytes: binary units, labelled", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(20 * 1024), "20 KiB");
  assert.equal(formatBytes(25 * 1024 * 1024), "25.0 MiB");
  assert.equal(formatBytes(3 * 1024 ** 3), "3.0 GiB");
  assert.equal(formatBytes(undefined), "");
  assert.equal(formatBytes(NaN), "");
});

test("formatPercent: one decimal near the ends, none between", () => {
  assert.equal(formatPercent(0.5), "50%");
  assert.equal(formatPercent(0.05), "5.0%");
  assert.equal(formatPercent(0.999), "99.9%");
  assert.equal(formatPercent("0.5"), "");
  assert.equal(formatPercent(Infinity), "");
});

test("formatDateTime: empty stays empty, nonsense is shown as it is", () => {
  assert.equal(formatDateTime(""), "");
  assert.equal(formatDateTime("not a date"), "not a date");
  assert.match(formatDateTime("2026-11-29T05:20:52Z"), /2026/);
});

test("status vocabulary: every status has words; the sets split it", () => {
  for (const status of Object.values(STATUS)) assert.ok(STATUS_TEXT[status], status);
  assert.deepEqual([...ACTIVE], ["queued", "uploading", "pending"]);
  assert.deepEqual([...PROBLEM], ["rejected", "refused", "failed"]);
  assert.deepEqual([...FINISHED], ["ok", "rejected", "refused", "failed"]);
  for (const status of Object.values(STATUS)) assert.equal(ACTIVE.has(status) !== FINISHED.has(status), true, status);
  assert.equal(statusText("pending"), "Classifying…");
  assert.equal(statusText("mystery"), "mystery");
  assert.equal(statusText("toString"), "toString");
});

test("statusOfRecord: ok and refused as they are, anything else rejected", () => {
  assert.equal(statusOfRecord("ok"), "ok");
  assert.equal(statusOfRecord("refused"), "refused");
  assert.equal(statusOfRecord("rejected"), "rejected");
  assert.equal(statusOfRecord(undefined), "rejected");
});

test("counts and progressSummary", () => {
  const entries = [
    entry({ id: "1", status: "ok" }), entry({ id: "2", status: "uploading", loaded: 40 }),
    entry({ id: "3", status: "refused", file: null }), entry({ id: "4", status: "failed" }),
  ];
  const c = counts(entries);
  assert.equal(c.total, 4);
  assert.equal(c.bytes, 300); // refused files are not sent
  assert.equal(c.sent, 140);
  assert.equal(progressSummary(c), "1 of 3 uploaded, 1 failed, 1 of 1 classified (1 ok, 0 rejected), 1 refused.");
  assert.equal(progressSummary(counts([entry({ status: "ok" })])), "All done: 1 of 1 uploaded, 1 of 1 classified (1 ok, 0 rejected).");
  // every upload failed, the files still here: the Retry button follows the sentence
  const failed = counts([entry({ id: "1", status: "failed" }), entry({ id: "2", status: "failed" })]);
  assert.equal(progressSummary(failed, true), "0 of 2 uploaded, 2 failed:");
  assert.equal(progressSummary(failed, false), "0 of 2 uploaded, 2 failed.");
  assert.equal(progressSummary(counts([])), "");
});

test("mergeRecord: a new status is news, a re-signed image link is not", () => {
  const e = entryForRecord({ object_id: "o1", file_name: "x.png", size: 5 }, 0);
  assert.equal(e.status, "pending");
  assert.equal(mergeRecord(e, { object_id: "o1", status: "ok", label: "benign", image_url: "http://a" }), true);
  assert.equal(e.status, "ok");
  assert.equal(e.name, "x.png");
  assert.equal(mergeRecord(e, { object_id: "o1", status: "ok", label: "benign", image_url: "http://b" }), false);
  const refused = entry({ status: "pending" });
  mergeRecord(refused, { object_id: "o2", status: "refused", reason: "too big" });
  assert.equal(refused.message, "too big");
  const uploading = entry({ status: "uploading" });
  mergeRecord(uploading, { object_id: "o3", status: "ok" });
  assert.equal(uploading.status, "uploading"); // a record does not overtake an upload in flight
  assert.equal(isNewer(e, { classified_at: "" }), true);
});

test("batchFromHash", () => {
  assert.equal(batchFromHash("#batch=abc%20d"), "abc d");
  assert.equal(batchFromHash(""), null);
});

test("CSV: rows cut out as they are, quotes and line breaks intact", () => {
  const text = 'object_id,name\r\n1,"a, ""b"""\r\n2,"two\nlines"\r\n3,c\r\n';
  assert.deepEqual(csvFields('1,"a, ""b"""\r\n'), ["1", 'a, "b"']);
  assert.equal(csvRecords(text).length, 4);
  assert.equal(selectRows(text, ["2", "3"]), 'object_id,name\r\n2,"two\nlines"\r\n3,c\r\n');
  assert.equal(selectRows(text, ["3", "2"]), 'object_id,name\r\n3,c\r\n2,"two\nlines"\r\n'); // in the order shown
  assert.equal(selectRows("", ["1"]), "");
});

test("sortBatches: newest created first, an undated one last, ties by id", () => {
  const items = [
    { batch: "b", createdAt: "2026-01-01T00:00:00Z" },
    { batch: "a" },
    { batch: "c", createdAt: "2026-03-01T00:00:00Z" },
    { batch: "d", createdAt: "2026-01-01T00:00:00Z" },
  ];
  assert.deepEqual(sortBatches(items).map((b) => b.batch), ["c", "d", "b", "a"]);
  assert.equal(items[0].batch, "b"); // a copy: the list itself keeps its order
  assert.equal(countsText({ batch: "x", files: 1, byOutcome: { benign: 1 } }), "1 file: 1 benign");
  assert.equal(countsText({ batch: "x" }), "0 files");
});

test("deletionText says what goes", () => {
  const text = deletionText("b1", "", { files: 3, images: 2, records: 3, names: ["a.jpg"] });
  assert.match(text.lines[0], /batch b1\) holds 3 files/);
  assert.match(text.items[1], /1 refusal\)/);
  assert.equal(text.more, 2);
});

test("filterEntries and sortEntries", () => {
  const entries = [
    entry({ id: "1", name: "b.jpg", status: "ok", record: { score: 0.2, label: "benign" } }),
    entry({ id: "2", name: "a.jpg", status: "failed", message: "network error" }),
    entry({ id: "3", name: "c.jpg", status: "pending" }),
  ];
  assert.deepEqual(filterEntries(entries, "", "problem").map((e) => e.id), ["2"]);
  assert.deepEqual(filterEntries(entries, "", "active").map((e) => e.id), ["3"]);
  assert.deepEqual(filterEntries(entries, "NETWORK", "").map((e) => e.id), ["2"]);
  assert.deepEqual(filterEntries(entries, "classifying", "").map((e) => e.id), ["3"]);
  assert.deepEqual(sortEntries(entries, "name", "ascending").map((e) => e.id), ["2", "1", "3"]);
  assert.deepEqual(sortEntries(entries, "score", "descending").map((e) => e.id), ["1", "2", "3"]); // missing last
  assert.equal(reasonOf(entries[1]), "network error");
  assert.equal(reasonOf({ status: "rejected", message: "", record: null }), "the image could not be classified");
});

test("outcomes and the summary line follow the card's labels", () => {
  setLabels(["benign", "malignant"]);
  const ok = (decision) => entry({ status: "ok", record: { decision } });
  // no decision on the card: a label implies no finding (neutral, a shape of its own per label)
  assert.deepEqual(outcomeOf(ok("malignant")), { key: "malignant", text: "malignant", kind: "label-plain-1" });
  assert.equal(outcomeOf(ok("uncertain")).kind, "uncertain");
  const line = summaryLine([ok("malignant"), ok("benign"), ok("benign"), entry({ status: "rejected" }), entry({ status: "pending" })]);
  assert.deepEqual(line.map((p) => p.text), ["2 benign", "1 malignant", "1 rejected"]);
  setLabels([]);
});

test("card helpers: names and numbers", () => {
  assert.equal(humanize("roc_auc"), "ROC AUC");
  assert.equal(humanize("fine_tune"), "Fine tune");
  assert.equal(formatMetric(0.8123, ["sensitivity"]), "81.2%");
  assert.equal(formatMetric(0.91234, ["roc_auc"]), "0.912");
  assert.equal(formatMetric(1234567, ["n"]), "1,234,567");
  assert.equal(formatMetric(150, ["train_seconds"]), "150 s (2.5 min)");
});

test("disclaimerSummary: the first sentence, if short", () => {
  assert.equal(disclaimerSummary("Not a diagnosis. See a doctor."), ": Not a diagnosis.");
  assert.equal(disclaimerSummary("x".repeat(200)), "");
});
