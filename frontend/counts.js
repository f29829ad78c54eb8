// @ts-check
// An object detector's records (task "detect"): objects counted per label, a batch's totals, and the
// boxes as fractions of the photo. The API's values are checked here once; labels stay user text
// (rendered through userText, never as HTML).

import { el, userText, formatPercent } from "./dom.js";
import { STATUS } from "./status.js";

/** @typedef {import("./store.js").ApiRecord} ApiRecord */
/** @typedef {Array<[string, number]>} CountPairs [label, n], most numerous first */
/** @typedef {{label: string, score: number | null, box: [number, number, number, number]}} Box */

/** Whether a record is a detector's (counts and boxes) rather than a classifier's.
 * @param {ApiRecord | null | undefined} record */
export function isDetection(record) {
  return Boolean(record) && /** @type {ApiRecord} */ (record).task === "detect";
}

/** @param {CountPairs} pairs @returns {CountPairs} most numerous first, ties by label */
function ordered(pairs) {
  return pairs.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** A record's counts as [label, n] pairs (whole numbers above 0 only). @param {unknown} counts @returns {CountPairs} */
export function countPairs(counts) {
  if (!counts || typeof counts !== "object" || Array.isArray(counts)) return [];
  /** @type {CountPairs} */
  const pairs = [];
  for (const [label, n] of Object.entries(counts)) {
    if (typeof n === "number" && Number.isInteger(n) && n > 0) pairs.push([label, n]);
  }
  return ordered(pairs);
}

/** How many objects a detection record counted: its `objects`, else the sum of its counts. @param {ApiRecord} record */
export function objectCount(record) {
  if (typeof record.objects === "number" && Number.isInteger(record.objects) && record.objects >= 0) return record.objects;
  return countPairs(record.counts).reduce((sum, [, n]) => sum + n, 0);
}

/** "1 object", "3 objects". @param {number} n */
export function objectsText(n) {
  return `${n} object${n === 1 ? "" : "s"}`;
}

/** "2 dog, 1 person" (plain text, for tests and titles). @param {CountPairs} pairs */
export function countsText(pairs) {
  return pairs.map(([label, n]) => `${n} ${label}`).join(", ");
}

/** The same as nodes, each label its own bidi isolate. @param {CountPairs} pairs @returns {(Node | string)[]} */
export function countsNodes(pairs) {
  return pairs.flatMap(([label, n], i) => [...(i > 0 ? [", "] : []), `${n} `, userText(label)]);
}

/**
 * Objects per label over the classified detection records of a batch; null when it has none (a
 * classifier's batch).
 * @param {Array<{status: string, record?: ApiRecord | null}>} entries
 * @returns {{pairs: CountPairs, objects: number, images: number} | null}
 */
export function batchTotals(entries) {
  /** @type {Map<string, number>} */
  const byLabel = new Map();
  let objects = 0;
  let images = 0;
  for (const entry of entries) {
    const record = entry.record;
    if (entry.status !== STATUS.OK || !record || !isDetection(record)) continue;
    images += 1;
    objects += objectCount(record);
    for (const [label, n] of countPairs(record.counts)) byLabel.set(label, (byLabel.get(label) || 0) + n);
  }
  return images === 0 ? null : { pairs: ordered(Array.from(byLabel.entries())), objects, images };
}

/** @param {unknown} value */
function fraction(value) {
  return typeof value === "number" && Number.isFinite(value) ? Math.max(0, Math.min(1, value)) : null;
}

/** A record's boxes, checked: [x_min, y_min, x_max, y_max] as fractions of the photo, in 0..1, the
 * highest score first as the record keeps them; malformed ones are left out. @param {ApiRecord} record @returns {Box[]} */
export function boxesOf(record) {
  const detections = Array.isArray(record.detections) ? record.detections : [];
  /** @type {Box[]} */
  const boxes = [];
  for (const detection of detections) {
    if (!detection || typeof detection !== "object" || !Array.isArray(detection.box) || detection.box.length !== 4) continue;
    const [x0, y0, x1, y1] = detection.box.map(fraction);
    if (x0 === null || y0 === null || x1 === null || y1 === null || x1 < x0 || y1 < y0) continue;
    const score = typeof detection.score === "number" && Number.isFinite(detection.score) ? detection.score : null;
    boxes.push({ label: String(detection.label ?? ""), score, box: [x0, y0, x1, y1] });
  }
  return boxes;
}

/** @param {number} value a fraction */
function pct(value) {
  return `${Math.round(value * 100)}%`;
}

/** A box drawn over the photo: placed in % of the frame (CSSOM, which the page's CSP allows), its label
 * and score above it (inside it when it touches the top). @param {Box} box */
export function drawnBox(box) {
  const [x0, y0, x1, y1] = box.box;
  const place = `left:${(x0 * 100).toFixed(3)}%;top:${(y0 * 100).toFixed(3)}%;width:${((x1 - x0) * 100).toFixed(3)}%;height:${((y1 - y0) * 100).toFixed(3)}%`;
  return el("div", { class: "box", style: place },
    el("span", { class: `box-label${y0 < 0.08 ? " inside" : ""}` }, userText(box.label), box.score === null ? "" : ` ${formatPercent(box.score)}`));
}

/** A box in words, for the list beside the photo: "dog 82%: 24% to 49% across, 11% to 68% down". @param {Box} box */
export function describedBox(box) {
  const [x0, y0, x1, y1] = box.box;
  return el("li", {}, userText(box.label), box.score === null ? "" : ` ${formatPercent(box.score)}`,
    `: ${pct(x0)} to ${pct(x1)} across, ${pct(y0)} to ${pct(y1)} down`);
}
