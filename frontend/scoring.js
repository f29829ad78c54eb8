// @ts-check
// The open batch scored against the researcher's own diagnoses: a CSV (a file name column and a diagnosis
// column; the API matches the headers loosely) is chosen or dropped, sent with PUT /batches/{b}/truth, and
// the answer shown: how many images matched, right and wrong (the project's one rule, decisions.js
// RIGHT_RULE), the uncertain and out-of-domain ones counted apart as not assessed, sensitivity and
// specificity with their 95 % intervals, the confusion table, the rows that matched no image and the images
// without a diagnosis. The API keeps the diagnoses with the records (`truth`), so a reload shows the same
// (GET /batches/{b}/score) and the CSV export carries them.

import { el, clear, userText } from "./dom.js";
import { OUT_OF_DOMAIN, UNCERTAIN, RIGHT_RULE } from "./decisions.js";

/** @typedef {import("./api.js").BatchScore} BatchScore */

/** The largest diagnoses file the API reads (spotter.results.scoring.MAX_TRUTH_BYTES). */
export const MAX_TRUTH_BYTES = 2 * 1024 * 1024;
/** Names listed under "matched nothing" and "no diagnosis" before "and N more". */
const NAMES_SHOWN = 50;
/** The decisions that are neither right nor wrong, in the order their columns come after the labels. */
const APART = [UNCERTAIN, OUT_OF_DOMAIN];

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

/** The score as nodes. @param {BatchScore} score @returns {HTMLElement[]} */
export function scoreNodes(score) {
  /** @type {HTMLElement[]} */
  const out = [el("p", { class: "score-headline", text: headlineText(score) })];
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
      userText(decisionWords(d)))));
    const body = truths.map((truth) => el("tr", { "data-truth": truth },
      el("th", { scope: "row" }, el("span", { class: "visually-hidden", text: "diagnosis " }), userText(truth)),
      decisions.map((d) => el("td", { "data-decision": d, class: [labels.includes(d) ? "" : "apart", d === truth ? "hit" : ""].filter(Boolean).join(" ") || null,
        text: String(cell(truth, d)) }))));
    out.push(el("div", { class: "table-scroll", tabindex: 0, role: "region", "aria-label": "Confusion table" },
      el("table", { class: "confusion" },
        el("caption", { text: "Rows: your diagnosis. Columns: the model's decision (uncertain and out of domain: not assessed)." }),
        el("thead", {}, head), el("tbody", {}, body))));
  }
  const unmatched = Array.isArray(score.unmatched_rows) ? score.unmatched_rows.map(String) : [];
  if (unmatched.length) {
    out.push(nameList(`${unmatched.length} row${unmatched.length === 1 ? "" : "s"} of your file matched no image of this batch:`,
      unmatched, "score-unmatched"));
  }
  const unknown = Array.isArray(score.unknown_truths) ? score.unknown_truths : [];
  if (unknown.length) {
    out.push(nameList(`${unknown.length} row${unknown.length === 1 ? " has a diagnosis" : "s have diagnoses"} that is not one of the`
      + ` model's labels (${labels.join(", ")}):`, unknown.map((u) => `${u.name}: ${u.truth}`), "score-unknown"));
  }
  const without = Array.isArray(score.without_truth) ? score.without_truth.map(String) : [];
  if (without.length) {
    out.push(nameList(`${without.length} classified image${without.length === 1 ? " has" : "s have"} no diagnosis in your file:`,
      without, "score-without"));
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
  const zone = /** @type {HTMLElement} */ (button.parentElement || button);
  /** @param {DragEvent} event */
  const hasFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");
  zone.addEventListener("dragover", (event) => {
    if (!hasFiles(event) || !event.dataTransfer) return;
    event.preventDefault();
    event.stopPropagation();
    event.dataTransfer.dropEffect = "copy";
    button.classList.add("dragover");
  });
  zone.addEventListener("dragleave", () => button.classList.remove("dragover"));
  zone.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.stopPropagation();
    button.classList.remove("dragover");
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) onFile(file);
  });
}

// What only the diagnoses file knows (its rows that matched no image, its diagnoses that are no label) is
// not stored with the records: the page keeps it per batch beside the file's name, so a reload still says it.
const FILE_KEY = "spotter.diagnoses.v1";
const FILES_KEPT = 50;

/** @typedef {{batch: string, file: string, unmatched_rows: string[], unknown_truths: Array<{name: string, truth: string}>}} FileNotes */

/** @param {Storage | null} storage @returns {FileNotes[]} */
function loadNotes(storage) {
  try {
    const kept = JSON.parse((storage && storage.getItem(FILE_KEY)) || "[]");
    return Array.isArray(kept) ? kept.filter((n) => n && typeof n.batch === "string") : [];
  } catch {
    return [];
  }
}

/** Keep what the diagnoses file `file` said of `batch` beyond the records (null forgets it).
 * @param {Storage | null} storage @param {string} batch @param {string} file @param {BatchScore | null} score */
export function keepFileNotes(storage, batch, file, score) {
  if (!storage) return;
  const others = loadNotes(storage).filter((n) => n.batch !== batch);
  const notes = score ? [{ batch, file, unmatched_rows: score.unmatched_rows || [], unknown_truths: score.unknown_truths || [] }] : [];
  try {
    storage.setItem(FILE_KEY, JSON.stringify([...notes, ...others].slice(0, FILES_KEPT)));
  } catch {
    /* storage full or off: a reload no longer lists the rows that matched nothing */
  }
}

/** The score read back from the records (GET /batches/{b}/score), with what the file said beyond them,
 * kept here when it was given; and the file's name. @param {Storage | null} storage @param {string} batch
 * @param {BatchScore} score @returns {{score: BatchScore, file: string | null}} */
export function withFileNotes(storage, batch, score) {
  const notes = loadNotes(storage).find((n) => n.batch === batch);
  if (!notes) return { score, file: null };
  return { score: { ...score, unmatched_rows: notes.unmatched_rows, unknown_truths: notes.unknown_truths }, file: notes.file };
}

/** @param {{truthStatus: HTMLElement}} els @param {string} text @param {boolean} [error] */
export function sayScoreStatus(els, text, error = false) {
  els.truthStatus.textContent = text;
  els.truthStatus.classList.toggle("error", error);
}

/** @param {{scoreResult: HTMLElement}} els @param {BatchScore | null} score */
export function renderScore(els, score) {
  const box = clear(els.scoreResult);
  box.hidden = !score;
  if (score) box.append(...scoreNodes(score));
}
