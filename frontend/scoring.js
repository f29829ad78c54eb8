// @ts-check
// The open batch scored against the researcher's own diagnoses: a CSV (a file name column and a diagnosis
// column; the API matches the headers loosely) is chosen or dropped, sent with PUT /batches/{b}/truth, and
// the answer shown: how many images matched, right and wrong (the project's one rule, decisions.js
// RIGHT_RULE), the uncertain and out-of-domain ones counted apart as not assessed, sensitivity and
// specificity with their 95 % intervals, the confusion table, the rows that matched no image and the images
// without a diagnosis applied. The API keeps the diagnoses with the records (`truth`), so a reload shows the
// same score (GET /batches/{b}/score) and the CSV export carries them. What only the file says (its name,
// the columns read, its rows that matched nothing, fit several images or contradict each other, the
// images that kept the diagnosis stored before) is shown only for a file given in this tab, this session:
// after a reload, or once the stored diagnoses changed elsewhere, the panel shows the server's score under
// a neutral heading. A file given while images of the batch are still uploading or classifying is held
// (app.js) and sent once they are all classified.

import { el, clear, userText } from "./dom.js";
import { OUT_OF_DOMAIN, UNCERTAIN, RIGHT_RULE } from "./decisions.js";

/** @typedef {import("./api.js").BatchScore} BatchScore */

/** The largest diagnoses file the API reads (spotter.results.scoring.MAX_TRUTH_BYTES). */
export const MAX_TRUTH_BYTES = 2 * 1024 * 1024;
/** Names listed under "matched nothing" and "no diagnosis" before "and N more". */
const NAMES_SHOWN = 50;
/** The decisions that are neither right nor wrong, in the order their columns come after the labels. */
const APART = [UNCERTAIN, OUT_OF_DOMAIN];

/** The not-assessed decisions' short names, shown as headers on a phone (abbr, its title the words). */
const SHORT = { [UNCERTAIN]: "unc.", [OUT_OF_DOMAIN]: "OOD" };

/** A column header's words: whole on a wide screen; a not-assessed one abbreviated on a phone.
 * @param {string} decision */
function headerWords(decision) {
  const words = decisionWords(decision);
  const short = /** @type {Record<string, string>} */ (SHORT)[decision];
  if (!short) return userText(words);
  return [el("span", { class: "wide", text: words }), el("abbr", { class: "narrow", title: words, text: short })];
}

/** @param {string} decision */
export function decisionWords(decision) {
  return decision === OUT_OF_DOMAIN ? "out of domain" : decision;
}

/**
 * The confusion table as rows and columns: rows the diagnoses (the card's labels, then any other truth
 * found), columns the decisions (the labels, then uncertain and out of domain where some image is, then
 * anything else found; the sentence above the table names both not-assessed counts, zeros too).
 * @param {BatchScore} score
 * @returns {{truths: string[], decisions: string[], cell: (truth: string, decision: string) => number}}
 */
export function confusionGrid(score) {
  const labels = Array.isArray(score.labels) ? score.labels.map(String) : [];
  const confusion = score.confusion && typeof score.confusion === "object" ? score.confusion : {};
  const truths = [...labels, ...Object.keys(confusion).filter((t) => !labels.includes(t))];
  const found = new Set(Object.values(confusion).flatMap((row) => Object.keys(row || {})));
  const decisions = [...labels, ...APART.filter((d) => found.has(d)), ...[...found].filter((d) => !labels.includes(d) && !APART.includes(d))];
  const cell = (/** @type {string} */ truth, /** @type {string} */ decision) => {
    const n = confusion[truth] && confusion[truth][decision];
    return typeof n === "number" ? n : 0;
  };
  return { truths, decisions, cell };
}

/** A rate as "75.0%" (one decimal). @param {number} value */
function percent(value) {
  return `${(value * 100).toFixed(1)}%`;
}

/**
 * "75.0% (95% interval 40.9% to 92.9%): 6 of 8 assessed malignant images decided malignant", or why not.
 * @param {number | null | undefined} value @param {[number, number] | null | undefined} ci
 * @param {number} hits @param {number} total @param {string} label the diagnosis measured
 */
export function measureText(value, ci, hits, total, label) {
  if (typeof value !== "number" || total === 0) return `not measured: no ${label} image was assessed`;
  const interval = Array.isArray(ci) && ci.length === 2 ? ` (95% interval ${percent(ci[0])} to ${percent(ci[1])})` : "";
  return `${percent(value)}${interval}: ${hits} of ${total} assessed ${label} images decided ${label}`;
}

/** The not-assessed counts, uncertain and out of domain always named: "1 uncertain, 0 out of domain".
 * @param {BatchScore} score */
export function notAssessedText(score) {
  const counts = score.not_assessed && typeof score.not_assessed === "object" ? score.not_assessed : {};
  const named = APART.map((key) => `${counts[key] || 0} ${decisionWords(key)}`);
  const other = Object.entries(counts).filter(([key]) => !APART.includes(key)).map(([key, n]) => `${n} ${decisionWords(key)}`);
  return [...named, ...other].join(", ");
}

/** "6 images matched: 3 right, 2 wrong, 1 not assessed." @param {BatchScore} score */
export function headlineText(score) {
  const matched = score.matched || 0;
  if (matched === 0) return "No classified image of this batch has a diagnosis from your file.";
  const counts = score.not_assessed && typeof score.not_assessed === "object" ? score.not_assessed : {};
  const apart = Object.values(counts).reduce((sum, n) => sum + n, 0);
  return `${matched} image${matched === 1 ? "" : "s"} with your diagnosis: ${score.right || 0} right, ${score.wrong || 0} wrong,`
    + ` ${apart} not assessed.`;
}

/** A sentence and its names, listed inline ("2 rows ... matched no image: a.jpg, b.jpg").
 * @param {string} title @param {string[]} names @param {string} className */
function nameList(title, names, className) {
  const shown = names.slice(0, NAMES_SHOWN);
  return el("div", { class: `score-lists ${className}` },
    el("span", { text: title }), " ",
    el("ul", {}, shown.map((name) => el("li", {}, userText(name)))),
    names.length > shown.length ? el("span", { class: "meta inline", text: ` and ${names.length - shown.length} more` }) : null);
}

/** Where the score's diagnoses come from: the file given in this tab (and the columns read), or the
 * server's store. @param {BatchScore} score @param {string | null} file */
export function sourceText(score, file) {
  if (!file) return "Diagnoses stored for this batch.";
  const names = typeof score.name_column === "string" && score.name_column ? `file names from column “${score.name_column}”` : "";
  const truths = typeof score.truth_column === "string" && score.truth_column ? `the truth from column “${score.truth_column}”` : "";
  const read = [names, truths].filter(Boolean).join(" and ");
  return `Diagnoses from ${file}, given in this tab${read ? `: read the ${read}` : ""}.`;
}

/** `names` in the batch's row order (`order`: its rows' file names); names of no row keep their order, after.
 * @param {string[]} names @param {string[]} order @param {(name: string) => string} [key] */
export function inRowOrder(names, order, key = (name) => name) {
  const at = new Map();
  order.forEach((name, i) => { if (!at.has(name)) at.set(name, i); });
  const rank = (/** @type {string} */ name) => (at.has(key(name)) ? at.get(key(name)) : order.length);
  return names.map((name, i) => ({ name, i })).sort((a, b) => rank(a.name) - rank(b.name) || a.i - b.i).map(({ name }) => name);
}

/** @typedef {{sample?: boolean, truth?: boolean}} RowFacts a row of the batch: added with the samples
 * button; has a diagnosis stored */

/**
 * Names of images (`names`, in row order) told apart where a name is that of several rows of the batch:
 * "a.jpg (row 3)", or "a.jpg (sample)" for a photo added with the samples button. The list's k-th
 * "a.jpg" is the k-th row named so (of those `prefer` picks, when they are as many as the list has).
 * @param {string[]} names @param {string[]} order the rows' file names @param {RowFacts[]} rows
 * @param {(row: RowFacts) => boolean} [prefer] @returns {string[]}
 */
export function toldApart(names, order, rows, prefer = () => true) {
  /** @type {Map<string, number[]>} */
  const at = new Map();
  order.forEach((name, i) => at.set(name, [...(at.get(name) || []), i]));
  /** @type {Map<string, number>} */
  const wanted = new Map();
  for (const name of names) wanted.set(name, (wanted.get(name) || 0) + 1);
  /** @type {Map<string, number>} */
  const used = new Map();
  return names.map((name) => {
    const all = at.get(name) || [];
    if (all.length < 2) return name;
    const preferred = all.filter((i) => prefer(rows[i] || {}));
    const candidates = preferred.length >= (wanted.get(name) || 0) ? preferred : all;
    const k = used.get(name) || 0;
    used.set(name, k + 1);
    const i = candidates[k];
    if (i === undefined) return name;
    const samples = all.filter((j) => (rows[j] || {}).sample).length;
    return (rows[i] || {}).sample ? `${name} (sample${samples > 1 ? `, row ${i + 1}` : ""})` : `${name} (row ${i + 1})`;
  });
}

/** The score as nodes; `file` names the diagnoses file given in this tab (null: the score stored); `order`
 * the batch's rows' file names, the order the lists of images follow; `rows` what is known of each row (a
 * name repeated in the batch is told apart by its row, or as a sample).
 * @param {BatchScore} score @param {string | null} [file] @param {string[]} [order] @param {RowFacts[]} [rows]
 * @returns {HTMLElement[]} */
export function scoreNodes(score, file = null, order = [], rows = []) {
  /** @type {HTMLElement[]} */
  const out = [el("p", { class: "score-source", text: sourceText(score, file) }),
    el("p", { class: "score-headline", text: headlineText(score) })];
  const labels = Array.isArray(score.labels) ? score.labels.map(String) : [];
  const positive = typeof score.positive === "string" ? score.positive : null;
  const { truths, decisions, cell } = confusionGrid(score);
  if ((score.matched || 0) > 0) {
    out.push(el("p", { class: "score-not-assessed" }, el("span", { class: "strong", text: "Not assessed" }),
      ` (neither right nor wrong): ${notAssessedText(score)}.`));
    if (positive && labels.length === 2) {
      const negative = labels.find((label) => label !== positive) || "";
      const tp = cell(positive, positive);
      const tn = cell(negative, negative);
      out.push(el("dl", { class: "kv score-measures" },
        el("dt", {}, "Sensitivity"),
        el("dd", { "data-measure": "sensitivity" }, measureText(score.sensitivity, score.sensitivity_ci95, tp,
          tp + cell(positive, negative), positive)),
        el("dt", {}, "Specificity"),
        el("dd", { "data-measure": "specificity" }, measureText(score.specificity, score.specificity_ci95, tn,
          tn + cell(negative, positive), negative))));
    }
    // "decided" and "diagnosis" are said to screen readers with each header; the caption says it to the eye
    const head = el("tr", {}, el("td", {}), decisions.map((d) => el("th", { scope: "col", "data-decision": d,
      class: labels.includes(d) ? null : "apart" }, labels.includes(d) ? el("span", { class: "visually-hidden", text: "decided " }) : "",
      headerWords(d))));
    const body = truths.map((truth) => el("tr", { "data-truth": truth },
      el("th", { scope: "row" }, el("span", { class: "visually-hidden", text: "diagnosis " }), userText(truth)),
      decisions.map((d) => el("td", { "data-decision": d, class: [labels.includes(d) ? "" : "apart", d === truth ? "hit" : ""].filter(Boolean).join(" ") || null,
        text: String(cell(truth, d)) }))));
    out.push(el("div", { class: "table-scroll", tabindex: 0, role: "region", "aria-label": "Confusion table" },
      el("table", { class: "confusion" },
        el("caption", {}, "Rows: your diagnosis. Columns: the model's decision (uncertain and out of domain: not assessed",
          el("span", { class: "narrow", text: "; shown as unc. and OOD" }), ")."),
        el("thead", {}, head), el("tbody", {}, body))));
  }
  const strings = (/** @type {unknown} */ list) => inRowOrder(Array.isArray(list) ? list.map(String) : [], order);
  const plural = (/** @type {number} */ n, /** @type {string} */ one, /** @type {string} */ many) => `${n} ${n === 1 ? one : many}`;
  const unmatched = strings(score.unmatched_rows);
  if (unmatched.length) {
    out.push(nameList(`${plural(unmatched.length, "row", "rows")} of your file matched no image of this batch:`,
      unmatched, "score-unmatched"));
  }
  const ambiguous = strings(score.ambiguous_rows);
  if (ambiguous.length) {
    out.push(nameList(`${plural(ambiguous.length, "row fits", "rows fit")} several images and ${ambiguous.length === 1 ? "was" : "were"}`
      + " not applied:", ambiguous, "score-ambiguous"));
  }
  const conflicting = strings(score.conflicting_rows);
  if (conflicting.length) {
    out.push(nameList(`${plural(conflicting.length, "image was", "images were")} given two different diagnoses, neither applied:`,
      toldApart(conflicting, order, rows), "score-conflicting"));
  }
  const unknown = Array.isArray(score.unknown_truths) ? score.unknown_truths.slice() : [];
  const unknownOrder = inRowOrder(unknown.map((u) => String(u.name)), order);
  unknown.sort((a, b) => unknownOrder.indexOf(String(a.name)) - unknownOrder.indexOf(String(b.name)));
  if (unknown.length) {
    out.push(nameList(`${unknown.length} row${unknown.length === 1 ? " has" : "s have"} a diagnosis that is not one of the`
      + ` model's labels (${labels.join(", ")}):`, unknown.map((u) => `${u.name}: ${u.truth}`), "score-unknown"));
  }
  const kept = typeof score.kept === "number" ? score.kept : 0;
  if (kept > 0) {
    out.push(el("p", { class: "score-kept", text: `${plural(kept, "image", "images")} kept the diagnosis stored before`
      + " (your file's value for them is not one of the labels)." }));
  }
  const without = strings(score.without_truth);
  if (without.length) {
    out.push(nameList(`${without.length} classified image${without.length === 1 ? " has" : "s have"} no diagnosis applied:`,
      toldApart(without, order, rows, (row) => !row.truth), "score-without"));
  }
  const rule = typeof score.rule === "string" && score.rule ? score.rule : RIGHT_RULE;
  out.push(el("p", { class: "score-rule", text: `${rule.charAt(0).toUpperCase()}${rule.slice(1)}.` }));
  return out;
}

/**
 * The "Your diagnoses" part of the results: the choose/drop button, a status line and the score.
 * @param {{scorePanel: HTMLElement, truthButton: HTMLButtonElement, truthInput: HTMLInputElement,
 *   truthStatus: HTMLElement, scoreResult: HTMLElement}} els
 * @param {{onFile: (file: File) => void}} hooks
 */
export function wireScore(els, { onFile }) {
  const { truthButton: button, truthInput: input } = els;
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    input.value = "";
    if (file) onFile(file);
  });
  const zone = els.scorePanel; // the whole panel takes a dropped file, not only the button
  /** @param {DragEvent} event */
  const hasFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");
  zone.addEventListener("dragover", (event) => {
    if (!hasFiles(event) || !event.dataTransfer) return;
    event.preventDefault();
    event.stopPropagation();
    event.dataTransfer.dropEffect = "copy";
    button.classList.add("dragover");
  });
  zone.addEventListener("dragleave", (event) => {
    if (!(event.relatedTarget instanceof Node && zone.contains(event.relatedTarget))) button.classList.remove("dragover");
  });
  zone.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.stopPropagation();
    button.classList.remove("dragover");
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) onFile(file);
  });
}

/** Forget what earlier versions of the page kept of each diagnoses file (its name and lists, shown after a
 * reload next to a score that may have changed since). @param {Storage | null} storage */
export function forgetOldFileNotes(storage) {
  try {
    if (storage) storage.removeItem("spotter.diagnoses.v1");
  } catch {
    /* storage off */
  }
}

/** @param {{truthStatus: HTMLElement}} els @param {string} text @param {boolean} [error] */
export function sayScoreStatus(els, text, error = false) {
  els.truthStatus.textContent = text;
  els.truthStatus.classList.toggle("error", error);
}

/** A held file's status, with "Apply now". @param {{truthStatus: HTMLElement}} els @param {string} text
 * @param {() => void} onApply */
export function sayHeldStatus(els, text, onApply) {
  sayScoreStatus(els, text);
  const button = el("button", { type: "button", class: "button secondary small apply-now", text: "Apply now" });
  button.addEventListener("click", onApply);
  els.truthStatus.append(" ", button);
}

/** @param {{scoreResult: HTMLElement}} els @param {BatchScore | null} score @param {string | null} [file]
 * @param {string[]} [order] the batch's rows' file names @param {RowFacts[]} [rows] what is known of each row */
export function renderScore(els, score, file = null, order = [], rows = []) {
  const box = clear(els.scoreResult);
  box.hidden = !score;
  if (score) box.append(...scoreNodes(score, file, order, rows));
}
