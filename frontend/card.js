// @ts-check
// The model card from GET /model: name, version, labels, how it decides, limitations, metrics, intended use.
// Everything shown comes from the card; a section the card lacks is left out, and keys this file does not
// know are still shown, under a humanised name.

import { el, clear, formatBytes, userText } from "./dom.js";
import { rightRule } from "./decisions.js";

// ---- the card's shape ----------------------------------------------------------------------------
// The types follow the card format (model/*.card.json, written by spotter.modelbuild.cardfile). The page
// does not check a card against them when it arrives, so every field is still tested before use and a
// card that breaks the format is shown as plain JSON, never an error. Keys a section does not name are
// `unknown`: they are rendered generically (renderValue) after the guards below say what they are.

/** @typedef {null | boolean | number | string} Scalar one JSON leaf */

/**
 * The model card (GET /model). Only `labels` and `input` are required by the runtime; every other
 * section may be missing, and a card may carry sections this file does not name.
 * @typedef {object} ModelCardFields
 * @property {string} [name]
 * @property {string} [version]
 * @property {string[]} [labels] in the model's output order
 * @property {CardInput} [input]
 * @property {CardDecision} [decision] binary cards: the operating point
 * @property {string} [disclaimer] shown by header.js, not here
 * @property {unknown} [intended_use] usually a sentence
 * @property {unknown[]} [limitations] usually sentences
 * @property {CardMetrics} [metrics]
 * @typedef {ModelCardFields & Record<string, unknown>} ModelCard
 */

/**
 * @typedef {object} CardInputFields
 * @property {number[]} [size] [width, height] in pixels
 * @property {string} [resize] how a photo is fitted: "center_crop", "pad" or "squash"
 * @typedef {CardInputFields & Record<string, unknown>} CardInput
 */

/**
 * @typedef {object} CardDecisionFields
 * @property {string} [positive] the label given from `threshold` up
 * @property {number} [threshold]
 * @property {number[]} [uncertain_band] [low, high]: scores inside are labelled uncertain
 * @property {string} [chosen_on]
 * @typedef {CardDecisionFields & Record<string, unknown>} CardDecision
 */

/**
 * Metrics: `split` says what was measured on; each version of the model (e.g. float32, int8) is a key of
 * its own, holding its numbers (see isVariant); `full_resolution` is the check on full-size photos.
 * @typedef {object} CardMetricsFields
 * @property {unknown} [split] {name, images, per_class, threshold_chosen_on}, checked by splitSentence
 * @property {string} [positive_class]
 * @property {FullResolution} [full_resolution]
 * @typedef {CardMetricsFields & Record<string, unknown>} CardMetrics
 */

/**
 * The same photos scored at full resolution and as 256 px copies: counts, and one record per photo.
 * @typedef {object} FullResolutionFields
 * @property {number} [images]
 * @property {unknown} [per_class] label -> number of photos
 * @property {string} [positive_class]
 * @property {number} [threshold]
 * @property {number} [right_full]
 * @property {number} [right_256]
 * @property {number} [agree]
 * @property {number} [uncertain_full]
 * @property {number} [uncertain_256]
 * @property {number} [mean_abs_score_difference]
 * @property {string} [resize]
 * @property {unknown} [right_full_by_resize] resize -> photos right
 * @property {unknown[]} [photos] {id, truth, score_full, score_256, ...} each
 * @typedef {FullResolutionFields & Record<string, unknown>} FullResolution
 */

const SHOWN_ELSEWHERE = new Set(["name", "version", "labels", "intended_use", "disclaimer", "metrics", "input", "limitations", "decision"]);

// Words for the keys cards use; any other key is humanised ("fine_tune" -> "Fine tune").
/** @type {Readonly<Record<string, string>>} */
const NAMES = {
  roc_auc: "ROC AUC", validation_roc_auc: "ROC AUC on validation", validation_auc: "ROC AUC on validation",
  validation_auc_before: "ROC AUC on validation, before", validation_auc_by_l2: "ROC AUC on validation, by L2 strength",
  accuracy: "Accuracy", sensitivity: "Sensitivity", specificity: "Specificity",
  sensitivity_ci95: "Sensitivity, 95% interval", specificity_ci95: "Specificity, 95% interval",
  accuracy_outside_band: "Accuracy outside the uncertain band",
  validation_sensitivity: "Sensitivity on validation", validation_specificity: "Specificity on validation",
  threshold: "Threshold", threshold_rule: "Threshold rule", threshold_chosen_on: "Threshold chosen on",
  uncertain_band: "Uncertain band", uncertain: "Uncertain (inside the band)", n: "Images (n)", images: "Images",
  size_bytes: "File size", latency_ms: "Latency (median)", latency_note: "About the latency", confusion_matrix: "Confusion matrix",
  per_class: "Per class", positive_class: "Positive class", int8_float_top1_agreement: "int8 and float32 agree (top-1)",
  full_resolution: "Full-resolution photos", right_full: "Right at full resolution", right_256: "Right at 256 px",
  agree: "Full resolution and 256 px agree", uncertain_full: "Uncertain at full resolution",
  uncertain_256: "Uncertain at 256 px", mean_abs_score_difference: "Mean absolute score difference, full resolution vs 256 px",
  right_full_by_resize: "Right at full resolution, by resize", resize: "Resize", photos: "Photos",
  id: "Photo", truth: "True label", score_full: "Score, full resolution", score_256: "Score, 256 px",
  positive_full: "Positive, full resolution", positive_256: "Positive, 256 px",
  decision_full: "Decision, full resolution", decision_256: "Decision, 256 px",
  out_of_domain_full: "Out of domain at full resolution", out_of_domain_256: "Out of domain at 256 px",
  distance_full: "Distance from the training photos, full resolution", distance_256: "Distance from the training photos, 256 px",
  domain_check: "Domain check", calibration: "Calibration",
  band: "Uncertain band rule", target: "Target",
  center_crop: "centre crop", pad: "pad", squash: "squash", training_data: "Training data", seed_apps: "Seed apps",
  quantization_aware: "Quantization-aware training", backbone_weights: "Backbone weights", train_views: "Training views",
};
/** @type {Readonly<Record<string, string>>} */
const WORDS = { roc: "ROC", auc: "AUC", ci95: "95% interval", l2: "L2", ms: "ms", id: "ID", qat: "QAT", lr: "learning rate",
  int8: "int8", float32: "float32", uint8: "uint8", top1: "top-1", abs: "absolute", n: "n", icc: "ICC", exif: "EXIF" };
/** @type {Readonly<Record<string, string>>} */
const RESIZE_WORDS = { center_crop: "centre-cropped", pad: "padded", squash: "squashed" };

/** A key as words: "validation_roc_auc" -> "ROC AUC on validation", "fine_tune" -> "Fine tune". @param {string} key */
export function humanize(key) {
  if (NAMES[key]) return NAMES[key];
  const words = String(key).split(/[_\s]+/).filter(Boolean).map((word) => WORDS[word.toLowerCase()] || word);
  const text = words.join(" ");
  return words.length && WORDS[String(key).split(/[_\s]+/)[0].toLowerCase()] ? text : text.charAt(0).toUpperCase() + text.slice(1);
}

// ---- numbers: how one is shown follows its key (or the nearest key above it that says) ---------

/** @type {ReadonlyArray<[string, RegExp]>} */
const KINDS = [
  ["rate", /(^|_)(accuracy|sensitivity|specificity|precision|recall|agreement)(_|$)/],
  ["auc", /auc/],
  ["score", /threshold|score|band/],
  ["bytes", /(^|_)bytes$/],
  ["ms", /(^|_)ms$/],
  ["seconds", /(^|_)seconds$/],
];

/** @param {string[]} path the keys above a number @returns {string} */
function kindOf(path) {
  for (const key of path.slice(-3).reverse()) {
    for (const [kind, pattern] of KINDS) if (pattern.test(String(key))) return kind;
  }
  return "";
}

/** @param {number} value */
function formatNumber(value) {
  if (Number.isInteger(value)) return value.toLocaleString("en");
  return String(Number(value.toPrecision(4)));
}

/**
 * One number as text: rates as % with one decimal, AUC with 3 decimals, scores with 4, units named.
 * @param {number} value
 * @param {string[]} [path] the keys above it, nearest last
 * @returns {string}
 */
export function formatMetric(value, path = []) {
  const kind = kindOf(path);
  if (kind === "rate" && value >= 0 && value <= 1) return `${(value * 100).toFixed(1)}%`;
  if (kind === "auc" && value >= 0 && value <= 1) return value.toFixed(3);
  if (kind === "score" && !Number.isInteger(value) && value >= 0 && value <= 1) return value.toFixed(4);
  if (kind === "bytes") return formatBytes(value);
  if (kind === "ms") return `${value.toFixed(1)} ms`;
  if (kind === "seconds") return value >= 120 ? `${formatNumber(Math.round(value))} s (${(value / 60).toFixed(1)} min)` : `${formatNumber(value)} s`;
  return formatNumber(value);
}

// The guards and text helpers below are exported for their unit tests (tests/frontend/card.test.js).

/** @param {unknown} value @returns {value is Scalar} */
export function isScalar(value) {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

/** A JSON object (not an array, not null). @param {unknown} value @returns {value is Record<string, unknown>} */
export function isPlainObject(value) {
  return Boolean(value) && typeof value === "object" && !Array.isArray(value);
}

/** Two numbers: an interval or a band. @param {unknown} value @returns {value is [number, number]} */
export function isRange(value) {
  return isList(value) && value.length === 2 && value.every((v) => typeof v === "number");
}

/** Array.isArray, narrowing to unknown[] rather than any[]. @param {unknown} value @returns {value is unknown[]} */
export function isList(value) {
  return Array.isArray(value);
}

/** @param {unknown} value @param {string[]} [path] @returns {string} */
export function scalarText(value, path = []) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") return Number.isFinite(value) ? formatMetric(value, path) : String(value);
  return String(value);
}

/** A value that fits in one table cell: a scalar, or a range such as an interval or a band. @param {unknown} value @param {string[]} path @returns {string} */
export function cellText(value, path) {
  if (isRange(value) && /ci95|band|range|interval/.test(String(path[path.length - 1]))) {
    const [low, high] = value.map((v) => scalarText(v, path));
    return low.endsWith("%") && high.endsWith("%") ? `${low.slice(0, -1)}–${high}` : `${low}–${high}`;
  }
  if (isList(value) && value.every(isScalar) && value.length <= 6) return value.map((v) => scalarText(v, path)).join(", ");
  return scalarText(value, path);
}

/** @param {unknown} value @param {string} [key] */
export function isCell(value, key) {
  return isScalar(value) || (isList(value) && value.every(isScalar) && value.length <= 6
    && !(value.some((v) => typeof v === "string" && v.length > 40)) && key !== "confusion_matrix");
}

/** The labels of the card being rendered, to name a confusion matrix's rows and columns. @type {string[]} */
let cardLabels = [];

/** A confusion matrix with its rows (true label) and columns (predicted label) named. @param {number[][]} matrix @param {string} title */
function confusionMatrix(matrix, title) {
  const n = matrix.length;
  const names = cardLabels.length === n ? cardLabels : matrix.map((_, i) => `class ${i + 1}`);
  return el("div", { class: "table-scroll", tabindex: 0, role: "region", "aria-label": title }, el("table", { class: "matrix" },
    el("caption", {}, el("span", { class: "strong", text: title }), el("br"), "Rows: true label. Columns: predicted label."),
    el("thead", {}, el("tr", {}, el("td", {}), names.map((name) => el("th", { scope: "col" }, "predicted ", userText(name))))),
    el("tbody", {}, matrix.map((row, i) => el("tr", {}, el("th", { scope: "row" }, "true ", userText(names[i])),
      row.map((cell) => el("td", { text: scalarText(cell) })))))));
}

/** A square table of numbers. @param {unknown} value @returns {value is number[][]} */
export function isMatrix(value) {
  return isList(value) && value.length > 0
    && value.every((row) => isList(row) && row.length === value.length && row.every((c) => typeof c === "number"));
}

/** Rows of scalars (a table without names). @param {unknown[]} value @returns {value is Scalar[][]} */
export function isRows(value) {
  return value.every((row) => isList(row) && row.every(isScalar));
}

/** Records whose every value fits in a cell. @param {unknown[]} value @returns {value is Record<string, unknown>[]} */
export function isRecords(value) {
  return value.every((item) => isPlainObject(item) && Object.values(item).every((v) => isCell(v)));
}

/**
 * A list of records (e.g. per-photo results, training history): a compact table, folded when long.
 * @param {Record<string, unknown>[]} items
 * @param {string[]} path
 * @returns {HTMLElement}
 */
function recordsTable(items, path) {
  /** @type {string[]} */
  const columns = [];
  for (const item of items) for (const key of Object.keys(item)) if (!columns.includes(key)) columns.push(key);
  const name = humanize(path[path.length - 1] || "rows");
  const table = el("div", { class: "table-scroll", tabindex: 0, role: "region", "aria-label": name }, el("table", { class: "records" },
    el("thead", {}, el("tr", {}, columns.map((key) => el("th", { scope: "col", text: humanize(key) })))),
    el("tbody", {}, items.map((item) => el("tr", {}, columns.map((key, i) =>
      el(i === 0 ? "th" : "td", { scope: i === 0 ? "row" : null, text: key in item ? cellText(item[key], [...path, key]) : "" })))))));
  if (items.length <= 5) return table;
  return el("details", { class: "more records-details" }, el("summary", { text: `${name}: ${items.length} rows` }), table);
}

/**
 * Any JSON value, as text, a list, a table or a definition list (depth-limited). `path`: the keys above it.
 * @param {unknown} value
 * @param {number} [depth]
 * @param {string[]} [path]
 * @returns {HTMLElement}
 */
export function renderValue(value, depth = 0, path = []) {
  const key = path[path.length - 1];
  if (isScalar(value)) return el("span", { text: scalarText(value, path) });
  if (isList(value)) {
    // sentences (limitations, notes) are a list; short values (a range, a size) stay on one line
    if (value.every(isScalar) && value.some((v) => typeof v === "string" && v.length > 40)) {
      return el("ul", { class: "sentences" }, value.map((v) => el("li", { text: scalarText(v) })));
    }
    if (value.every(isScalar)) return el("span", { text: cellText(value, path) });
    if (isMatrix(value) && /confusion_matrix$/.test(String(key))) return confusionMatrix(value, humanize(key));
    if (isRows(value)) {
      return el("table", { class: "matrix" },
        el("tbody", {}, value.map((row) => el("tr", {}, row.map((cell) => el("td", { text: scalarText(cell, path) }))))));
    }
    if (value.length > 0 && isRecords(value)) {
      return recordsTable(value, path);
    }
    return el("ul", {}, value.map((item) => el("li", {}, renderValue(item, depth + 1, path))));
  }
  if (depth > 6) return el("span", { text: JSON.stringify(value) });
  // JSON that is not a scalar or an array is an object (the cast states it; a card is parsed JSON)
  return el("dl", { class: "kv" },
    Object.entries(/** @type {Record<string, unknown>} */ (value)).flatMap(([name, item]) => [el("dt", { text: humanize(name) }), el("dd", {}, renderValue(item, depth + 1, [...path, name]))]));
}

// ---- metrics -----------------------------------------------------------------------------------

const VARIANT_KEYS = ["roc_auc", "accuracy", "sensitivity", "specificity", "size_bytes", "latency_ms", "confusion_matrix"];

/** An object that measures one version of the model (float32, int8, ...): it has the usual metrics. @param {unknown} value @returns {value is Record<string, unknown>} */
export function isVariant(value) {
  return isPlainObject(value) && VARIANT_KEYS.filter((key) => key in value).length >= 2;
}

/** " (80 benign, 32 malignant)", or "" without counts. @param {unknown} perClass label -> count */
export function classCounts(perClass) {
  if (!isPlainObject(perClass)) return "";
  const parts = Object.entries(perClass).flatMap(([label, n]) => (typeof n === "number" ? [`${formatNumber(n)} ${label}`] : []));
  return parts.length ? ` (${parts.join(", ")})` : "";
}

/** What the metrics were measured on, as a sentence. @param {unknown} split @returns {HTMLParagraphElement | null} */
function splitSentence(split) {
  if (!isPlainObject(split)) return null;
  /** @type {string[]} */
  const words = [];
  if (typeof split.images === "number") {
    words.push(`Measured on ${split.name ? `the ${split.name} split` : "a held-out split"}: ${formatNumber(split.images)} images${classCounts(split.per_class)}.`);
  }
  if (split.threshold_chosen_on) words.push(`Thresholds chosen on ${split.threshold_chosen_on}.`);
  return words.length ? el("p", { text: words.join(" ") }) : null;
}

/** The versions of the model side by side, a row per metric. @param {[string, Record<string, unknown>][]} variants [name, metrics] */
function variantsTable(variants) {
  /** @type {string[]} */
  const rows = [];
  for (const [, values] of variants) {
    for (const [key, v] of Object.entries(values)) {
      if (!isCell(v, key) || rows.includes(key)) continue;
      if (/_ci95$/.test(key) && variants.some(([, other]) => key.replace(/_ci95$/, "") in other)) continue; // beside its value
      rows.push(key);
    }
  }
  /** @param {Record<string, unknown>} values @param {string} key */
  const text = (values, key) => {
    if (!(key in values)) return "";
    const ci = values[`${key}_ci95`];
    const main = cellText(values[key], [key]);
    return isRange(ci) ? `${main} (95%: ${cellText(ci, [`${key}_ci95`])})` : main;
  };
  // On a phone each metric is a block of its own, one line per version (CSS), so no column is off-screen.
  return el("div", { class: "table-scroll", tabindex: 0, role: "region", "aria-label": "Metrics" },
    el("table", { class: "metrics" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Metric" }),
        variants.map(([name]) => el("th", { scope: "col", text: humanize(name) })))),
      el("tbody", {}, rows.map((key) => el("tr", {}, el("th", { scope: "row", text: humanize(key) }),
        variants.map(([name, values]) => el("td", { "data-label": humanize(name), text: text(values, key) })))))));
}

/** The photos of a full-resolution check right at full resolution and at 256 px, by the one rule (the
 * decision is the truth; uncertain and out-of-domain photos are neither), from each photo's decision_full
 * and decision_256; null unless every photo has its truth and both decisions.
 * @param {FullResolution} section @returns {{full: number, small: number} | null} */
export function countRight(section) {
  const photos = Array.isArray(section.photos) ? section.photos : [];
  if (photos.length === 0) return null;
  let full = 0;
  let small = 0;
  for (const photo of photos) {
    if (!isPlainObject(photo) || typeof photo.truth !== "string" || typeof photo.decision_full !== "string"
      || typeof photo.decision_256 !== "string") return null;
    if (photo.decision_full === photo.truth) full += 1;
    if (photo.decision_256 === photo.truth) small += 1;
  }
  return { full, small };
}

/**
 * The full-resolution check: a few sentences of counts, the per-photo table folded below.
 * @param {FullResolution} section
 * @returns {HTMLElement[]}
 */
function fullResolution(section) {
  const s = section;
  const total = typeof s.images === "number" ? s.images : (Array.isArray(s.photos) ? s.photos.length : null);
  const of = total !== null ? ` of ${formatNumber(total)}` : "";
  const resize = s.resize ? ` (${NAMES[s.resize] || humanize(s.resize)})` : "";
  const sentences = [];
  if (total !== null) {
    const rule = s.positive_class && typeof s.threshold === "number" ? `; ${s.positive_class} from a score of ${s.threshold.toFixed(4)}` : "";
    sentences.push(`${formatNumber(total)} photos at full resolution${classCounts(s.per_class)}, each also scored as a 256 px copy${rule}.`);
  }
  // Right and wrong by the project's one rule (decisions.js rightRule: the decision is the truth), counted
  // here from the per-photo decisions where the card lists them; a card without them gives its own counts.
  const counted = countRight(s);
  const right = [];
  const rightFull = counted ? counted.full : s.right_full;
  const right256 = counted ? counted.small : s.right_256;
  if (typeof rightFull === "number") right.push(`${formatNumber(rightFull)}${of} right at full resolution${resize}`);
  if (typeof right256 === "number") right.push(`${formatNumber(right256)}${of} right at 256 px`);
  if (typeof s.agree === "number") right.push(`${formatNumber(s.agree)} agree with 256 px`);
  if (right.length) {
    sentences.push(`${right.join(", ")}.`);
    // what "right" means, in the same words as wherever else the page counts right
    if (counted) sentences.push(`${rightRule()} (counted from each photo's decision).`);
  }
  const unsure = [];
  if (typeof s.uncertain_full === "number") unsure.push(`${formatNumber(s.uncertain_full)} uncertain at full resolution`);
  if (typeof s.uncertain_256 === "number") unsure.push(`${formatNumber(s.uncertain_256)} at 256 px`);
  if (unsure.length) sentences.push(`${unsure.join(", ")}.`);
  const outside = [];
  if (typeof s.out_of_domain_full === "number") outside.push(`${formatNumber(s.out_of_domain_full)} out of domain at full resolution`);
  if (typeof s.out_of_domain_256 === "number") outside.push(`${formatNumber(s.out_of_domain_256)} at 256 px`);
  if (outside.length) sentences.push(`${outside.join(", ")}.`);
  if (typeof s.mean_abs_score_difference === "number") {
    sentences.push(`Mean absolute score difference between the two: ${formatMetric(s.mean_abs_score_difference, ["mean_abs_score_difference"])}.`);
  }
  if (isPlainObject(s.right_full_by_resize)) {
    const parts = Object.entries(s.right_full_by_resize)
      .flatMap(([how, n]) => (typeof n === "number" ? [`${NAMES[how] || humanize(how)} ${formatNumber(n)}`] : []));
    if (parts.length) sentences.push(`Right at full resolution by resize: ${parts.join(", ")}${of}.`);
  }
  const shown = new Set(["images", "per_class", "positive_class", "threshold", "right_full", "right_256", "agree", "uncertain_full",
    "uncertain_256", "out_of_domain_full", "out_of_domain_256", "mean_abs_score_difference", "resize", "right_full_by_resize", "photos"]);
  /** @type {HTMLElement[]} */
  const parts = [el("h5", { text: humanize("full_resolution") })];
  if (sentences.length) parts.push(el("ul", { class: "sentences full-resolution-summary" }, sentences.map((text) => el("li", { text }))));
  if (Array.isArray(s.photos) && s.photos.length > 0) {
    const photos = s.photos.filter(isPlainObject);
    if (photos.length) {
      const table = renderValue(photos, 1, ["full_resolution", "photos"]);
      const details = table.tagName === "DETAILS" ? table
        : el("details", { class: "more records-details" }, el("summary", {}), table);
      const summary = details.querySelector("summary"); // always there: recordsTable and the line above make one
      if (summary) summary.textContent = `Every photo's scores and decisions (${photos.length})`;
      parts.push(details);
    }
  }
  const rest = Object.entries(s).filter(([key]) => !shown.has(key));
  if (rest.length) parts.push(renderValue(Object.fromEntries(rest), 1, ["full_resolution"]));
  return parts;
}

/**
 * Metrics: the split, versions of the model side by side (e.g. float32 vs int8), then the rest.
 * @param {CardMetrics} metrics
 * @returns {HTMLElement | HTMLElement[]}
 */
function renderMetrics(metrics) {
  if (!isPlainObject(metrics)) return renderValue(metrics, 0, ["metrics"]); // a card that breaks the format
  /** @type {HTMLElement[]} */
  const parts = [];
  const split = splitSentence(metrics.split);
  if (split) parts.push(split);
  /** @type {[string, Record<string, unknown>][]} */
  const variants = [];
  for (const [name, v] of Object.entries(metrics)) if (isVariant(v)) variants.push([name, v]);
  const done = new Set(variants.map(([name]) => name));
  if (split) done.add("split");
  if (variants.length > 0) {
    parts.push(variantsTable(variants));
    const matrices = variants.flatMap(([name, v]) => (isMatrix(v.confusion_matrix)
      ? [confusionMatrix(v.confusion_matrix, `Confusion matrix, ${humanize(name)}`)] : []));
    if (matrices.length) parts.push(el("div", { class: "matrices" }, matrices));
    const extras = variants.flatMap(([name, values]) => Object.entries(values)
      .filter(([key, v]) => !isCell(v, key) && !(key === "confusion_matrix" && isMatrix(v)))
      .map(/** @returns {[string, unknown]} */ ([key, v]) => [`${name} ${humanize(key)}`, v]));
    if (extras.length) parts.push(renderValue(Object.fromEntries(extras), 1, ["metrics"]));
  }
  const others = Object.entries(metrics).filter(([key]) => !done.has(key) && key !== "full_resolution");
  if (others.length) parts.push(renderValue(Object.fromEntries(others), 0, ["metrics"]));
  if (isPlainObject(metrics.full_resolution)) parts.push(...fullResolution(metrics.full_resolution));
  else if (metrics.full_resolution !== undefined) parts.push(renderValue({ full_resolution: metrics.full_resolution }, 0, ["metrics"]));
  return parts;
}

/** A card's labels without the placeholders of a detector's label map ("???": the background line and the
 * class ids nobody uses), which the model never reports. @param {unknown} labels @returns {string[]} */
export function realLabels(labels) {
  return Array.isArray(labels) ? labels.map(String).filter((label) => label.trim() !== "" && !/^\?+$/.test(label.trim())) : [];
}

/**
 * The card into `container` (emptied first).
 * @param {ModelCard} card as GET /model returned it; anything but an object renders as an unnamed model
 * @param {HTMLElement} container
 */
export function renderCard(card, container) {
  clear(container);
  if (!isPlainObject(card)) card = {};
  cardLabels = Array.isArray(card.labels) ? card.labels.map(String) : [];
  const title = el("h3", {}, card.name ? String(card.name) : "Unnamed model",
    card.version ? el("span", { class: "version", text: ` version ${card.version}` }) : null);
  container.append(title);
  if (card.intended_use) {
    container.append(el("h4", { text: "Intended use" }), el("p", {}, renderValue(card.intended_use, 0, ["intended_use"])));
  }
  const labels = realLabels(card.labels);
  if (labels.length > 0) {
    container.append(el("h4", { text: `Labels (${labels.length})` }),
      el("ul", { class: "chips", "aria-label": "Labels the model can predict" },
        labels.map((label) => el("li", {}, userText(label)))));
  }
  if (isPlainObject(card.input)) {
    const size = Array.isArray(card.input.size) && card.input.size.length === 2 ? `${card.input.size[0]} × ${card.input.size[1]} pixels` : "";
    const how = card.input.resize ? RESIZE_WORDS[card.input.resize] || String(card.input.resize) : "";
    if (size) container.append(el("p", { class: "muted", text: `Input: ${size}${how ? `, ${how} to fit` : ""}.` }));
  }
  const d = isPlainObject(card.decision) ? card.decision : null;
  if (d && typeof d.threshold === "number") {
    /** @param {number} v */
    const score = (v) => formatMetric(v, ["threshold"]);
    const band = isRange(d.uncertain_band) ? ` Scores from ${score(d.uncertain_band[0])} to ${score(d.uncertain_band[1])} are labelled uncertain.` : "";
    container.append(el("h4", { text: "How it decides" }),
      el("p", { text: `${d.positive || "The positive label"} when its score is at least ${score(d.threshold)}.${band}${d.chosen_on ? ` Threshold chosen on the ${d.chosen_on}.` : ""}` }));
    const rest = Object.entries(d).filter(([key, value]) => !["positive", "threshold", "uncertain_band", "chosen_on"].includes(key) && value !== null && value !== "");
    if (rest.length) container.append(renderValue(Object.fromEntries(rest), 1, ["decision"]));
  }
  if (Array.isArray(card.limitations) && card.limitations.length > 0) {
    container.append(el("h4", { text: "Limitations" }), el("ul", { class: "sentences" }, card.limitations.map((item) => el("li", {}, renderValue(item, 1, ["limitations"])))));
  }
  if (card.metrics !== undefined && card.metrics !== null) {
    container.append(el("h4", { text: "Metrics" }), el("div", { class: "metrics-wrap" }, renderMetrics(card.metrics)));
  }
  const others = Object.entries(card).filter(([key, value]) => !SHOWN_ELSEWHERE.has(key) && value !== null && value !== "");
  if (others.length > 0) {
    container.append(el("details", { class: "more" }, el("summary", { text: "More about this model" }),
      renderValue(Object.fromEntries(others))));
  }
}
