// @ts-nocheck -- TODO(issue 19): the model card is walked as arbitrary JSON; type it (a Json typedef) and drop this line
// The model card from GET /model: name, version, labels, how it decides, limitations, metrics, intended use.
// Everything shown comes from the card; a section the card lacks is left out, and keys this file does not
// know are still shown, under a humanised name.

import { el, clear, formatBytes } from "./dom.js";

const SHOWN_ELSEWHERE = new Set(["name", "version", "labels", "intended_use", "disclaimer", "metrics", "input", "limitations", "decision"]);

// Words for the keys cards use; any other key is humanised ("fine_tune" -> "Fine tune").
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
  band: "Uncertain band rule", target: "Target",
  center_crop: "centre crop", pad: "pad", squash: "squash", training_data: "Training data", seed_apps: "Seed apps",
  quantization_aware: "Quantization-aware training", backbone_weights: "Backbone weights", train_views: "Training views",
};
const WORDS = { roc: "ROC", auc: "AUC", ci95: "95% interval", l2: "L2", ms: "ms", id: "ID", qat: "QAT", lr: "learning rate",
  int8: "int8", float32: "float32", uint8: "uint8", top1: "top-1", abs: "absolute", n: "n", icc: "ICC", exif: "EXIF" };
const RESIZE_WORDS = { center_crop: "centre-cropped", pad: "padded", squash: "squashed" };

export function humanize(key) {
  if (NAMES[key]) return NAMES[key];
  const words = String(key).split(/[_\s]+/).filter(Boolean).map((word) => WORDS[word.toLowerCase()] || word);
  const text = words.join(" ");
  return words.length && WORDS[String(key).split(/[_\s]+/)[0].toLowerCase()] ? text : text.charAt(0).toUpperCase() + text.slice(1);
}

// ---- numbers: how one is shown follows its key (or the nearest key above it that says) ---------

const KINDS = [
  ["rate", /(^|_)(accuracy|sensitivity|specificity|precision|recall|agreement)(_|$)/],
  ["auc", /auc/],
  ["score", /threshold|score|band/],
  ["bytes", /(^|_)bytes$/],
  ["ms", /(^|_)ms$/],
  ["seconds", /(^|_)seconds$/],
];

function kindOf(path) {
  for (const key of path.slice(-3).reverse()) {
    for (const [kind, pattern] of KINDS) if (pattern.test(String(key))) return kind;
  }
  return "";
}

function formatNumber(value) {
  if (Number.isInteger(value)) return value.toLocaleString("en");
  return String(Number(value.toPrecision(4)));
}

/** One number as text: rates as % with one decimal, AUC with 3 decimals, scores with 4, units named. */
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

function isScalar(value) {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function isPlainObject(value) {
  return Boolean(value) && typeof value === "object" && !Array.isArray(value);
}

function isRange(value) {
  return Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number");
}

function scalarText(value, path = []) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") return Number.isFinite(value) ? formatMetric(value, path) : String(value);
  return String(value);
}

/** A value that fits in one table cell: a scalar, or a range such as an interval or a band. */
function cellText(value, path) {
  if (isRange(value) && /ci95|band|range|interval/.test(String(path[path.length - 1]))) {
    const [low, high] = value.map((v) => scalarText(v, path));
    return low.endsWith("%") && high.endsWith("%") ? `${low.slice(0, -1)}–${high}` : `${low}–${high}`;
  }
  if (Array.isArray(value) && value.every(isScalar) && value.length <= 6) return value.map((v) => scalarText(v, path)).join(", ");
  return scalarText(value, path);
}

function isCell(value, key) {
  return isScalar(value) || (Array.isArray(value) && value.every(isScalar) && value.length <= 6
    && !(value.some((v) => typeof v === "string" && v.length > 40)) && key !== "confusion_matrix");
}

let cardLabels = [];

/** A confusion matrix with its rows (true label) and columns (predicted label) named. */
function confusionMatrix(matrix, title) {
  const n = matrix.length;
  const names = cardLabels.length === n ? cardLabels : matrix.map((_, i) => `class ${i + 1}`);
  return el("div", { class: "table-scroll", tabindex: 0, role: "region", "aria-label": title }, el("table", { class: "matrix" },
    el("caption", {}, el("span", { class: "strong", text: title }), el("br"), "Rows: true label. Columns: predicted label."),
    el("thead", {}, el("tr", {}, el("td", {}), names.map((name) => el("th", { scope: "col", text: `predicted ${name}` })))),
    el("tbody", {}, matrix.map((row, i) => el("tr", {}, el("th", { scope: "row", text: `true ${names[i]}` }),
      row.map((cell) => el("td", { text: scalarText(cell) })))))));
}

function isMatrix(value) {
  return Array.isArray(value) && value.length > 0
    && value.every((row) => Array.isArray(row) && row.length === value.length && row.every((c) => typeof c === "number"));
}

/** A list of records (e.g. per-photo results, training history): a compact table, folded when long. */
function recordsTable(items, path) {
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

/** Any JSON value, as text, a list, a table or a definition list (depth-limited). `path`: the keys above it. */
export function renderValue(value, depth = 0, path = []) {
  const key = path[path.length - 1];
  if (isScalar(value)) return el("span", { text: scalarText(value, path) });
  if (Array.isArray(value)) {
    // sentences (limitations, notes) are a list; short values (a range, a size) stay on one line
    if (value.every(isScalar) && value.some((v) => typeof v === "string" && v.length > 40)) {
      return el("ul", { class: "sentences" }, value.map((v) => el("li", { text: scalarText(v) })));
    }
    if (value.every(isScalar)) return el("span", { text: cellText(value, path) });
    if (isMatrix(value) && /confusion_matrix$/.test(String(key))) return confusionMatrix(value, humanize(key));
    if (value.every((row) => Array.isArray(row) && row.every(isScalar))) {
      return el("table", { class: "matrix" },
        el("tbody", {}, value.map((row) => el("tr", {}, row.map((cell) => el("td", { text: scalarText(cell, path) }))))));
    }
    if (value.length > 0 && value.every((item) => isPlainObject(item) && Object.values(item).every((v) => isCell(v)))) {
      return recordsTable(value, path);
    }
    return el("ul", {}, value.map((item) => el("li", {}, renderValue(item, depth + 1, path))));
  }
  if (depth > 6) return el("span", { text: JSON.stringify(value) });
  return el("dl", { class: "kv" },
    Object.entries(value).flatMap(([name, item]) => [el("dt", { text: humanize(name) }), el("dd", {}, renderValue(item, depth + 1, [...path, name]))]));
}

// ---- metrics -----------------------------------------------------------------------------------

const VARIANT_KEYS = ["roc_auc", "accuracy", "sensitivity", "specificity", "size_bytes", "latency_ms", "confusion_matrix"];

/** An object that measures one version of the model (float32, int8, ...): it has the usual metrics. */
function isVariant(value) {
  return isPlainObject(value) && VARIANT_KEYS.filter((key) => key in value).length >= 2;
}

function classCounts(perClass) {
  if (!isPlainObject(perClass)) return "";
  const parts = Object.entries(perClass).filter(([, n]) => typeof n === "number").map(([label, n]) => `${formatNumber(n)} ${label}`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

function splitSentence(split) {
  if (!isPlainObject(split)) return null;
  const words = [];
  if (typeof split.images === "number") {
    words.push(`Measured on ${split.name ? `the ${split.name} split` : "a held-out split"}: ${formatNumber(split.images)} images${classCounts(split.per_class)}.`);
  }
  if (split.threshold_chosen_on) words.push(`Thresholds chosen on ${split.threshold_chosen_on}.`);
  return words.length ? el("p", { text: words.join(" ") }) : null;
}

function variantsTable(variants) {
  const rows = [];
  for (const [, values] of variants) {
    for (const [key, v] of Object.entries(values)) {
      if (!isCell(v, key) || rows.includes(key)) continue;
      if (/_ci95$/.test(key) && variants.some(([, other]) => key.replace(/_ci95$/, "") in other)) continue; // beside its value
      rows.push(key);
    }
  }
  const text = (values, key) => {
    if (!(key in values)) return "";
    const ci = values[`${key}_ci95`];
    const main = cellText(values[key], [key]);
    return isRange(ci) ? `${main} (95%: ${cellText(ci, [`${key}_ci95`])})` : main;
  };
  return el("div", { class: "table-scroll", tabindex: 0, role: "region", "aria-label": "Metrics (the table scrolls sideways on narrow screens)" },
    el("table", { class: "metrics" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Metric" }),
        variants.map(([name]) => el("th", { scope: "col", text: humanize(name) })))),
      el("tbody", {}, rows.map((key) => el("tr", {}, el("th", { scope: "row", text: humanize(key) }),
        variants.map(([, values]) => el("td", { text: text(values, key) })))))));
}

/** The full-resolution check: a few sentences of counts, the per-photo table folded below. */
function fullResolution(section) {
  const s = section;
  const num = (key) => (typeof s[key] === "number" ? s[key] : null);
  const total = num("images") ?? (Array.isArray(s.photos) ? s.photos.length : null);
  const of = total !== null ? ` of ${formatNumber(total)}` : "";
  const resize = s.resize ? ` (${NAMES[s.resize] || humanize(s.resize)})` : "";
  const sentences = [];
  if (total !== null) {
    const rule = s.positive_class && typeof s.threshold === "number" ? `; ${s.positive_class} from a score of ${s.threshold.toFixed(4)}` : "";
    sentences.push(`${formatNumber(total)} photos at full resolution${classCounts(s.per_class)}, each also scored as a 256 px copy${rule}.`);
  }
  const right = [];
  if (num("right_full") !== null) right.push(`${formatNumber(s.right_full)}${of} right at full resolution${resize}`);
  if (num("right_256") !== null) right.push(`${formatNumber(s.right_256)}${of} right at 256 px`);
  if (num("agree") !== null) right.push(`${formatNumber(s.agree)} agree with 256 px`);
  if (right.length) sentences.push(`${right.join(", ")}.`);
  const unsure = [];
  if (num("uncertain_full") !== null) unsure.push(`${formatNumber(s.uncertain_full)} uncertain at full resolution`);
  if (num("uncertain_256") !== null) unsure.push(`${formatNumber(s.uncertain_256)} at 256 px`);
  if (unsure.length) sentences.push(`${unsure.join(", ")}.`);
  if (num("mean_abs_score_difference") !== null) {
    sentences.push(`Mean absolute score difference between the two: ${formatMetric(s.mean_abs_score_difference, ["mean_abs_score_difference"])}.`);
  }
  if (isPlainObject(s.right_full_by_resize)) {
    const parts = Object.entries(s.right_full_by_resize).filter(([, n]) => typeof n === "number")
      .map(([how, n]) => `${NAMES[how] || humanize(how)} ${formatNumber(n)}`);
    if (parts.length) sentences.push(`Right at full resolution by resize: ${parts.join(", ")}${of}.`);
  }
  const shown = new Set(["images", "per_class", "positive_class", "threshold", "right_full", "right_256", "agree", "uncertain_full",
    "uncertain_256", "mean_abs_score_difference", "resize", "right_full_by_resize", "photos"]);
  const parts = [el("h5", { text: humanize("full_resolution") })];
  if (sentences.length) parts.push(el("ul", { class: "sentences full-resolution-summary" }, sentences.map((text) => el("li", { text }))));
  if (Array.isArray(s.photos) && s.photos.length > 0) {
    const photos = s.photos.filter(isPlainObject);
    if (photos.length) {
      const table = renderValue(photos, 1, ["full_resolution", "photos"]);
      const details = table.tagName === "DETAILS" ? table
        : el("details", { class: "more records-details" }, el("summary", {}), table);
      details.querySelector("summary").textContent = `Every photo's scores and decisions (${photos.length})`;
      parts.push(details);
    }
  }
  const rest = Object.entries(s).filter(([key]) => !shown.has(key));
  if (rest.length) parts.push(renderValue(Object.fromEntries(rest), 1, ["full_resolution"]));
  return parts;
}

/** Metrics: the split, versions of the model side by side (e.g. float32 vs int8), then the rest. */
function renderMetrics(metrics) {
  if (!isPlainObject(metrics)) return renderValue(metrics, 0, ["metrics"]);
  const parts = [];
  const split = splitSentence(metrics.split);
  if (split) parts.push(split);
  const variants = Object.entries(metrics).filter(([, v]) => isVariant(v));
  const done = new Set(variants.map(([name]) => name));
  if (split) done.add("split");
  if (variants.length > 0) {
    parts.push(variantsTable(variants));
    const matrices = variants.filter(([, v]) => isMatrix(v.confusion_matrix))
      .map(([name, v]) => confusionMatrix(v.confusion_matrix, `Confusion matrix, ${humanize(name)}`));
    if (matrices.length) parts.push(el("div", { class: "matrices" }, matrices));
    const extras = variants.flatMap(([name, values]) => Object.entries(values)
      .filter(([key, v]) => !isCell(v, key) && !(key === "confusion_matrix" && isMatrix(v)))
      .map(([key, v]) => [`${name} ${humanize(key)}`, v]));
    if (extras.length) parts.push(renderValue(Object.fromEntries(extras), 1, ["metrics"]));
  }
  const others = Object.entries(metrics).filter(([key]) => !done.has(key) && key !== "full_resolution");
  if (others.length) parts.push(renderValue(Object.fromEntries(others), 0, ["metrics"]));
  if (isPlainObject(metrics.full_resolution)) parts.push(...fullResolution(metrics.full_resolution));
  else if (metrics.full_resolution !== undefined) parts.push(renderValue({ full_resolution: metrics.full_resolution }, 0, ["metrics"]));
  return parts;
}

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
  if (Array.isArray(card.labels) && card.labels.length > 0) {
    container.append(el("h4", { text: `Labels (${card.labels.length})` }),
      el("ul", { class: "chips", "aria-label": "Labels the model can predict" },
        card.labels.map((label) => el("li", { text: String(label) }))));
  }
  if (isPlainObject(card.input)) {
    const size = Array.isArray(card.input.size) && card.input.size.length === 2 ? `${card.input.size[0]} × ${card.input.size[1]} pixels` : "";
    const how = card.input.resize ? RESIZE_WORDS[card.input.resize] || String(card.input.resize) : "";
    if (size) container.append(el("p", { class: "muted", text: `Input: ${size}${how ? `, ${how} to fit` : ""}.` }));
  }
  if (isPlainObject(card.decision) && typeof card.decision.threshold === "number") {
    const d = card.decision;
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
