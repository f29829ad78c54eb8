// @ts-check
// What each file came to, at a glance: the decided label (or `uncertain`), rejected or refused.
// Every outcome has a text and a shape (CSS ::before, see style.css), never a colour alone.

import { STATUS, FINISHED, UNCERTAIN } from "./status.js";

export { UNCERTAIN };
/** @type {string[]} */
let labels = []; // the model card's labels, in order: each gets its own colour and shape

/** @param {unknown} cardLabels */
export function setLabels(cardLabels) {
  labels = Array.isArray(cardLabels) ? cardLabels.map(String) : [];
}

/** @typedef {{key: string, text: string, kind: string}} Outcome */

/** The outcome of an entry: {key, text, kind} with kind "label-N", "uncertain", "rejected", "refused"...
 * @param {{status: string, record?: import("./store.js").ApiRecord | null}} entry
 * @returns {Outcome} */
export function outcomeOf(entry) {
  const record = entry.record || {};
  if (entry.status === STATUS.OK) {
    const decided = record.decision || record.label;
    if (decided === UNCERTAIN) return { key: UNCERTAIN, text: UNCERTAIN, kind: UNCERTAIN };
    const index = labels.indexOf(String(decided));
    return { key: String(decided), text: String(decided), kind: `label-${index >= 0 ? index % 6 : 5}` };
  }
  return { key: entry.status, text: entry.status, kind: entry.status };
}

/** Outcomes after the labels, in this order. */
const ORDER = ["label", UNCERTAIN, STATUS.REJECTED, STATUS.REFUSED, STATUS.FAILED];

/** "3 benign, 2 malignant, 1 uncertain, 1 rejected" for finished entries (labels in card order). */
/** @param {Array<{status: string, record?: import("./store.js").ApiRecord | null}>} entries
 * @returns {Array<{n: number, outcome: Outcome, text: string}>} */
export function summaryLine(entries) {
  /** @type {Map<string, {n: number, outcome: Outcome}>} */
  const counts = new Map();
  for (const entry of entries) {
    if (!FINISHED.has(entry.status)) continue;
    const outcome = outcomeOf(entry);
    const current = counts.get(outcome.key) || { n: 0, outcome };
    current.n += 1;
    counts.set(outcome.key, current);
  }
  /** @param {Outcome} o */
  const rank = (o) => (o.kind.startsWith("label-") ? labels.indexOf(o.key) : 100 + ORDER.indexOf(o.kind));
  return Array.from(counts.values())
    .sort((a, b) => rank(a.outcome) - rank(b.outcome))
    .map(({ n, outcome }) => ({ n, outcome, text: `${n} ${outcome.text}` }));
}
